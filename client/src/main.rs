//! `tradelog`: keys, signed events, submission, verified provenance, bundle export and offline
//! verification, and full audits of a node's chain.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use tradelog_client::build::{parse_detail, EventSpec};
use tradelog_client::light::{CertifiedHead, ClientError, LightClient};
use tradelog_client::{audit, http, keyfile, standards, terminal, time, timeline};
use tradelog_protocol::membership::{approve, Approval, Change, MembershipBody};
use tradelog_protocol::route::RouteDoc;
use tradelog_protocol::{
    ContainerId, EventBody, Genesis, OrgId, ProofBundle, RouteBundle, Subject, TradeId, Ucr,
};

#[derive(Parser)]
#[command(
    name = "tradelog",
    version,
    about = "tradelog client: keys, signed events, verified provenance, audits"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an ed25519 key file (mode 0600) and print its public key.
    Keygen {
        /// Where to write the key file (never overwritten).
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Build and sign a consignment event; prints the signed event JSON.
    Event(Box<EventArgs>),
    /// Submit signed events (one JSON object, or an array for a batch) to a node.
    ///
    /// Exit status: 0 when every event was admitted (or was already known), 1 when the node
    /// refused the request (or a single event), 2 when some items of a batch were refused
    /// (each is named on standard error; the others were admitted).
    Submit {
        /// The node's API, e.g. http://127.0.0.1:7100.
        #[arg(long)]
        node: String,
        /// File with the signed event(s), or - for standard input.
        file: PathBuf,
    },
    /// Fetch and verify the node's latest certified head.
    Head {
        #[command(flatten)]
        online: Online,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A consignment's verified provenance: its events and its containers' movements (of a
    /// consignment linked to trade identifiers: those of the whole group, PROTOCOL.md 8f).
    Provenance {
        /// The consignment's UCR, or a trade identifier linked to it: `bl:<carrier>:<number>`
        /// (transport document), `bkg:<carrier>:<number>` (booking) or `sscc:<18 digits>`.
        ucr: String,
        #[command(flatten)]
        online: Online,
        /// Print JSON instead of a timeline.
        #[arg(long)]
        json: bool,
        /// Print the verified route as a GS1 EPCIS 2.0 JSON-LD document (docs/STANDARDS.md).
        #[arg(long, conflicts_with = "json")]
        epcis: bool,
    },
    /// Whether an organisation held an AEO status recognised by a customs administration at a
    /// time, verified from the genesis alone (PROTOCOL.md 8h, 9e): its own administration's
    /// authorisation, or another's under a mutual recognition arrangement in force then.
    ///
    /// Exit status: 0 recognised (without --recognised-by: held one), 4 not (the answer
    /// verified either way).
    Aeo {
        /// The organisation (a carrier or platform member id).
        org: String,
        /// The administration whose recognition counts. Without it: the authorisations the
        /// organisation held at that time, from any administration.
        #[arg(long)]
        recognised_by: Option<String>,
        /// The time asked about: RFC 3339 or ms since 1970 (default: now).
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        online: Online,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Countersign the terms of a mutual recognition arrangement as the partner
    /// administration (PROTOCOL.md 8h); prints the `approval` member the issuing
    /// administration puts in its `mra` event.
    CountersignMra {
        /// Key file of the partner administration (one of its current keys).
        #[arg(long)]
        key: PathBuf,
        /// Chain id of the ledger.
        #[arg(long)]
        chain: String,
        /// The administration that records the arrangement (the event's issuer).
        #[arg(long)]
        issuer: String,
        /// The partner administration (this key's organisation).
        #[arg(long)]
        partner: String,
        /// From when: RFC 3339 or ms since 1970.
        #[arg(long)]
        from: String,
        /// Recognised types, comma-separated: customs_simplifications, security_safety.
        #[arg(long, default_value = "security_safety")]
        types: String,
    },
    /// A container's verified history and the consignments it carried.
    Container {
        /// ISO 6346 container number.
        id: String,
        #[command(flatten)]
        online: Online,
        /// Print JSON instead of a timeline.
        #[arg(long)]
        json: bool,
    },
    /// Fetch, verify and save a consignment's route bundle for offline verification.
    Export {
        /// The consignment's UCR, or a trade identifier (as for `provenance`).
        ucr: String,
        #[command(flatten)]
        online: Online,
        /// Where to write the bundle (never overwritten).
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Verify a route or proof bundle offline against a genesis file and print the timeline.
    Verify {
        /// The genesis file of the ledger (the only thing trusted).
        #[arg(long)]
        genesis: PathBuf,
        /// The bundle (route bundle from `export`, or a single proof bundle).
        bundle: PathBuf,
        /// Print the verified events as JSON instead of a timeline.
        #[arg(long)]
        json: bool,
    },
    /// Map a GS1 EPCIS 2.0 or DCSA Track & Trace 2.2/3.0 document to ledger events signed by
    /// the importing organisation; prints them as a JSON array (`tradelog submit` sends it as a
    /// batch) and what became of each source event on stderr.
    ///
    /// Each source event is imported or skipped on its own (a planned or estimated DCSA event,
    /// a TransformationEvent, a code with no tradelog kind, no UCR...); --strict makes one
    /// skipped event refuse the document.
    ///
    /// Exit status: 0 every source event imported; 3 some skipped, the others printed; 1 the
    /// document refused or nothing imported (nothing on stdout).
    Import(Box<ImportArgs>),
    /// Run a connector service that anchors a carrier's feed (docs/OPERATIONS.md "Connectors").
    #[command(subcommand)]
    Connect(ConnectCommand),
    /// Membership on the ledger (PROTOCOL.md 8a): show it verified, approve or sign a change.
    #[command(subcommand)]
    Membership(MembershipCommand),
    /// Reports computed from the ledger, checked against verified provenance.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Check an identifier, or complete it: an ISO 6346 container number (10 characters get
    /// their check digit), a WCO UCR, a UN/LOCODE or an organisation id.
    Id {
        /// The identifier.
        value: String,
        /// What it is (default: guessed from its shape).
        #[arg(long, value_enum)]
        kind: Option<IdKind>,
    },
    /// Selective disclosure of detail fields (PROTOCOL.md 3): check a disclosed value against
    /// an event's commitment, or pick the fields to hand out.
    #[command(subcommand)]
    Disclose(DiscloseCommand),
    /// Download the node's whole chain and re-verify every block, certificate and signature.
    Audit {
        #[command(flatten)]
        online: Online,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum MembershipCommand {
    /// The organisations, their current keys and the validator set at the node's latest head,
    /// verified from the genesis through every recorded change; prints the next `seq`.
    Show {
        #[command(flatten)]
        online: Online,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// As a validator, approve a change: prints `{"validator", "sig"}` for `sign --approval`.
    Approve {
        /// The validator's consensus key file.
        #[arg(long)]
        key: PathBuf,
        /// Chain id of the ledger.
        #[arg(long)]
        chain: String,
        /// The change's sequence number (`membership show` prints the next one).
        #[arg(long)]
        seq: u64,
        /// A file holding the change as JSON, e.g. {"type": "add_key", "org": "...", "key":
        /// "<hex>"}.
        #[arg(long)]
        change: PathBuf,
    },
    /// Build and sign a membership event from a change and its approvals; prints the signed
    /// event JSON for `tradelog submit`.
    Sign {
        /// Key file of the issuer (one of the organisation's current keys).
        #[arg(long)]
        key: PathBuf,
        /// Issuing organisation id.
        #[arg(long)]
        org: String,
        /// Chain id of the ledger.
        #[arg(long)]
        chain: String,
        /// The change's sequence number (`membership show` prints the next one).
        #[arg(long)]
        seq: u64,
        /// A file holding the change as JSON (PROTOCOL.md 8a).
        #[arg(long)]
        change: PathBuf,
        /// A file written by `membership approve` (repeatable).
        #[arg(long = "approval")]
        approvals: Vec<PathBuf>,
        /// Event time: RFC 3339 or milliseconds since 1970 (default: now).
        #[arg(long)]
        time: Option<String>,
    },
}

/// The identifiers `tradelog id` knows.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum IdKind {
    /// ISO 6346 container number, e.g. MSCU1234566.
    Container,
    /// WCO Unique Consignment Reference, e.g. 6NL12345678-SHIP0001.
    Ucr,
    /// UN/LOCODE without the space, e.g. NLRTM.
    Locode,
    /// Organisation id on the ledger, e.g. nl-customs.
    Org,
}

#[derive(Subcommand)]
enum DiscloseCommand {
    /// Check disclosures (from `tradelog event --disclosures`, one object or an array) against
    /// the commitments of an event: a signed event file (its signature is checked), or an event
    /// of a bundle verified against a genesis (then the event is proven to be on the ledger).
    Verify {
        /// The disclosures file.
        #[arg(long)]
        disclosures: PathBuf,
        /// A signed event (JSON).
        #[arg(long, required_unless_present = "bundle", conflicts_with = "bundle")]
        event: Option<PathBuf>,
        /// A route or proof bundle (from `tradelog export`) holding the event.
        #[arg(long, requires_all = ["genesis", "id"])]
        bundle: Option<PathBuf>,
        /// The genesis file the bundle is verified against.
        #[arg(long)]
        genesis: Option<PathBuf>,
        /// The event's id in the bundle.
        #[arg(long)]
        id: Option<String>,
    },
    /// Write only the named fields of a disclosures file, to hand them out one by one.
    Select {
        /// The disclosures file (from `tradelog event --disclosures`).
        #[arg(long)]
        disclosures: PathBuf,
        /// A field to keep (repeatable).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// Where to write the selected disclosures (never overwritten).
        #[arg(short, long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Time release (WCO TRS): arrival -> declaration -> release per consignment, and count,
    /// median and p90 per border post and month; every figure is recomputed from the verified
    /// provenance of the consignments behind it.
    TimeRelease {
        #[command(flatten)]
        online: Online,
        /// Only this border post (UN/LOCODE of the release).
        #[arg(long)]
        border_post: Option<String>,
        /// Only this month of release, YYYY-MM (UTC).
        #[arg(long)]
        period: Option<String>,
        /// Print the node's report as JSON.
        #[arg(long)]
        json: bool,
        /// Do not recompute the figures from verified provenance (faster, trusts the node).
        #[arg(long)]
        no_check: bool,
    },
}

/// How to reach and verify a node.
#[derive(Args)]
struct Online {
    /// The node's API, e.g. http://127.0.0.1:7100.
    #[arg(long)]
    node: String,
    /// The genesis file of the ledger (the only thing trusted).
    #[arg(long)]
    genesis: PathBuf,
    /// File keeping the last verified head between runs: each new answer must extend it.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Key file of a member organisation: every request is signed with it (PROTOCOL.md 12),
    /// as a node with `[api] read_access = "members"` or `"parties"` requires.
    #[arg(long)]
    read_key: Option<PathBuf>,
}

#[derive(clap::Args)]
struct EventArgs {
    /// Key file of the issuer.
    #[arg(long)]
    key: PathBuf,
    /// An unsigned event body as JSON (the `body` member of PROTOCOL.md section 3) to sign
    /// instead of building one from flags; its issuer key must be the key file's.
    #[arg(long, conflicts_with_all = ["org", "chain", "kind", "time", "ucr", "container", "location", "mode", "means", "voyage", "refs", "documents", "details", "reason"])]
    body: Option<PathBuf>,
    /// Issuing organisation id, e.g. blue-anchor-lines.
    #[arg(long, required_unless_present = "body")]
    org: Option<String>,
    /// Chain id of the ledger.
    #[arg(long, required_unless_present = "body")]
    chain: Option<String>,
    /// Event kind: booked, declared, loaded, departed, arrived, discharged, gate_in, gate_out,
    /// transshipped, packed, unpacked, inspected, held, released, seized, delivered,
    /// document_anchored, advance_data, risk_cleared, risk_information_requested,
    /// risk_referred, risk_do_not_load (aeo_status and mra events: --body).
    #[arg(long, required_unless_present = "body")]
    kind: Option<String>,
    /// When it happened: RFC 3339 (2026-03-01T08:30:00Z) or milliseconds since 1970.
    #[arg(long, required_unless_present = "body")]
    time: Option<String>,
    /// Consignment UCR.
    #[arg(long)]
    ucr: Option<String>,
    /// ISO 6346 container number.
    #[arg(long)]
    container: Option<String>,
    /// UN/LOCODE of the place.
    #[arg(long)]
    location: Option<String>,
    /// Transport mode: sea, air, road, rail, inland_waterway.
    #[arg(long)]
    mode: Option<String>,
    /// Means of transport (IMO number, flight, plate).
    #[arg(long)]
    means: Option<String>,
    /// Voyage or trip reference.
    #[arg(long)]
    voyage: Option<String>,
    /// Id of an earlier event (repeatable).
    #[arg(long = "ref")]
    refs: Vec<String>,
    /// Anchored document as kind:alg:digest (repeatable).
    #[arg(long = "document")]
    documents: Vec<String>,
    /// Detail field as name=value, committed with a random salt (repeatable).
    #[arg(long = "detail")]
    details: Vec<String>,
    /// Where to write the detail disclosures (name, value, salt); required with --detail.
    #[arg(long)]
    disclosures: Option<PathBuf>,
    /// A risk outcome's reason code (kinds risk_cleared, risk_information_requested,
    /// risk_referred, risk_do_not_load; PROTOCOL.md 8i).
    #[arg(long)]
    reason: Option<String>,
}

/// The standard an imported document follows.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ImportFormat {
    /// GS1 EPCIS 2.0 JSON/JSON-LD `EPCISDocument` or `EPCISQueryDocument`.
    Epcis,
    /// DCSA Track & Trace 2.2 or 3.0 event, or an array of events.
    Dcsa,
}

/// How `tradelog import` reports what became of each source event (on stderr).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ImportReport {
    /// One line per source event: `imported [3] (eventID ...) -> 1 event`,
    /// `skipped [4] (eventID ...): <reason>`.
    Text,
    /// `{"imported": n, "skipped": m, "events": [{"path", "source_id", "outcome",
    /// "ledger_events", "reason"}]}`.
    Json,
}

#[derive(clap::Subcommand)]
enum ConnectCommand {
    /// DCSA Track & Trace 2.2/3.0: receive subscription callbacks and/or poll an events
    /// endpoint, map, sign and submit every event, through a durable outbox (nothing is lost
    /// when the node or the connector is down or killed; re-delivery adds nothing).
    Dcsa(Box<ConnectArgs>),
}

#[derive(clap::Args)]
struct ConnectArgs {
    /// The node's API (http://host:port).
    #[arg(long)]
    node: String,
    /// Key file of the importing organisation (the carrier whose feed it is).
    #[arg(long)]
    key: PathBuf,
    /// Importing organisation id.
    #[arg(long)]
    org: String,
    /// Chain id of the ledger.
    #[arg(long)]
    chain: String,
    /// Data directory: outbox/, cursor, refused.jsonl (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// Receive subscription callbacks on this address (host:port); GET /metrics and
    /// /health are served there too.
    #[arg(long)]
    listen: Option<String>,
    /// The callback path.
    #[arg(long, default_value = "/notifications")]
    callback_path: String,
    /// File holding the subscription's shared secret: callbacks must carry
    /// Notification-Signature: sha256=<HMAC-SHA256 of the body>.
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// Poll a T&T events endpoint (http://host:port/path?query), following its cursor.
    #[arg(long)]
    poll: Option<String>,
    /// Seconds between polls when there is no next page.
    #[arg(long, default_value_t = 30)]
    interval: u64,
    /// A UCR for every event.
    #[arg(long)]
    ucr: Option<String>,
    /// The reference that carries the UCR: booking, transport-document or reference:TYPE.
    #[arg(long)]
    ucr_from: Option<String>,
    /// The Track & Trace version, when the structure does not tell (2.2 or 3.0).
    #[arg(long)]
    dcsa_version: Option<String>,
    /// Do not record the `linked` events that bind the UCR, transport documents and bookings
    /// an event names together (recorded by default: provenance by any of them is the same).
    #[arg(long)]
    no_link: bool,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The document's standard.
    #[arg(long, value_enum)]
    format: ImportFormat,
    /// The document (its SHA-256 is anchored in every event).
    file: PathBuf,
    /// Key file of the importing organisation.
    #[arg(long)]
    key: PathBuf,
    /// Importing organisation id.
    #[arg(long)]
    org: String,
    /// Chain id of the ledger.
    #[arg(long)]
    chain: String,
    /// A UCR for every event of the document (an event naming another is refused).
    #[arg(long)]
    ucr: Option<String>,
    /// DCSA: the reference that carries the UCR: booking, transport-document, or
    /// reference:TYPE (FF, SI, PO, CR, AAO). EPCIS: the business transaction type (e.g. bol)
    /// whose identifier ends with the UCR.
    #[arg(long)]
    ucr_from: Option<String>,
    /// EPCIS: map a readPoint/bizLocation id to a UN/LOCODE, as ID=LOCODE (repeatable).
    #[arg(long = "location")]
    locations: Vec<String>,
    /// DCSA: the Track & Trace version, 2.2 or 3.0, when the document's structure does not
    /// tell (events of the other version are then skipped). Default: detected.
    #[arg(long)]
    dcsa_version: Option<String>,
    /// EPCIS: the carrier (organisation id) whose bills of lading the `bol` business
    /// transactions are; each becomes the trade identifier bl:<carrier>:<number>.
    #[arg(long)]
    carrier: Option<String>,
    /// DCSA: also record a `linked` event for each set of UCR, transport documents and
    /// bookings an event names together (the carrier links its own documents, PROTOCOL.md 8f).
    #[arg(long)]
    link: bool,
    /// All or nothing: the first skipped source event refuses the document (exit 1).
    #[arg(long)]
    strict: bool,
    /// The report on stderr of what became of each source event.
    #[arg(long, value_enum, default_value = "text")]
    report: ImportReport,
}

/// `println!` that returns the write error instead of panicking (a closed pipe, as with
/// `tradelog ... | head`, ends the command quietly: see `main`).
macro_rules! out {
    ($($t:tt)*) => {
        writeln!(std::io::stdout().lock(), $($t)*)?
    };
}

fn main() {
    match run(Cli::parse()) {
        Ok(()) => {}
        Err(e) => {
            let closed = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if closed {
                // The reader of our output went away (`| head`): nothing left to say.
                std::process::exit(0);
            }
            // Errors can quote a node's message: escaped like everything else it sends.
            eprintln!("error: {}", terminal::text(&format!("{e:#}")));
            // A proven fork is not an ordinary failure: print the evidence and use its own code.
            if let Some(ClientError::Fork(evidence)) = e.downcast_ref::<ClientError>() {
                if let Ok(json) = pretty(&serde_json::json!({ "fork": evidence })) {
                    println!("{json}");
                }
                std::process::exit(3);
            }
            std::process::exit(1);
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Keygen { out } => {
            let key = keyfile::generate().context("no operating-system randomness")?;
            keyfile::write(&out, &key)?;
            out!("{}", key.public());
        }
        Command::Event(a) => event(*a)?,
        Command::Id { value, kind } => id(&value, kind)?,
        Command::Disclose(cmd) => disclose(cmd)?,
        Command::Submit { node, file } => submit(&node, &file)?,
        Command::Head { online, json } => {
            let mut client = online.client()?;
            let h = client.head()?;
            online.save(&client)?;
            if json {
                out!(
                    "{}",
                    pretty(
                        &serde_json::json!({"verified": true, "hash": h.head.hash(), "head": h.head, "certificate": h.certificate})
                    )?
                );
            } else {
                out!(
                    "head #{} {} — {} events, log root {}, index root {}, time {}, certified by {} validators ✓",
                    h.head.height,
                    h.head.hash(),
                    h.head.log_size,
                    h.head.log_root,
                    h.head.index_root,
                    time::format_time(h.head.time),
                    h.certificate.signatures.len()
                );
            }
        }
        Command::Provenance {
            ucr,
            online,
            json,
            epcis,
        } => {
            let subject = route_subject(&ucr)?;
            let mut client = online.client()?;
            let route = client.provenance_of(&subject)?;
            online.save(&client)?;
            if epcis {
                out!("{}", pretty(&standards::export::to_epcis(&route))?);
            } else if json {
                out!("{}", pretty(&timeline::route_json(&route))?);
            } else {
                print!("{}", timeline::render_route(&route));
            }
        }
        Command::Aeo {
            org,
            recognised_by,
            at,
            online,
            json,
        } => {
            let holder: OrgId = org.parse().map_err(|e| anyhow::anyhow!("org: {e}"))?;
            let by: OrgId = match &recognised_by {
                Some(y) => y
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--recognised-by: {e}"))?,
                None => holder.clone(),
            };
            let at = match &at {
                Some(t) => time::parse_time(t).map_err(|e| anyhow::anyhow!("--at: {e}"))?,
                None => time::now_ms(),
            };
            let mut client = online.client()?;
            let (r, head) = client.aeo(&holder, &by, at)?;
            online.save(&client)?;
            // Without --recognised-by the question is whether it held any authorisation.
            let yes = if recognised_by.is_some() {
                r.recognised
            } else {
                !r.held.is_empty()
            };
            if json {
                out!("{}", pretty(&r)?);
            } else if recognised_by.is_some() {
                print!("{}", timeline::render_recognition(&r, head.head.height));
            } else {
                print!("{}", timeline::render_held(&r, head.head.height));
            }
            if !yes {
                std::process::exit(4);
            }
        }
        Command::CountersignMra {
            key,
            chain,
            issuer,
            partner,
            from,
            types,
        } => {
            let sk = keyfile::read(&key)?;
            let issuer: OrgId = issuer
                .parse()
                .map_err(|e| anyhow::anyhow!("--issuer: {e}"))?;
            let partner: OrgId = partner
                .parse()
                .map_err(|e| anyhow::anyhow!("--partner: {e}"))?;
            let from = time::parse_time(&from).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
            let mut list = Vec::new();
            for t in types.split(',') {
                list.push(
                    serde_json::from_value::<tradelog_protocol::aeo::AeoType>(serde_json::json!(
                        t.trim()
                    ))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "--types: {t:?} is not customs_simplifications or security_safety"
                        )
                    })?,
                );
            }
            list.sort();
            list.dedup();
            let approval =
                tradelog_protocol::aeo::countersign(&chain, &issuer, &partner, from, &list, &sk)
                    .map_err(|e| anyhow::anyhow!("terms: {e}"))?;
            out!("{}", pretty(&approval)?);
        }
        Command::Container { id, online, json } => {
            let id: ContainerId = id.parse().map_err(|e| anyhow::anyhow!("container: {e}"))?;
            let mut client = online.client()?;
            let view = client.container(&id)?;
            online.save(&client)?;
            if json {
                let mut v = timeline::provenance_json(&view.provenance);
                v["consignments"] = serde_json::json!(view.consignments);
                out!("{}", pretty(&v)?);
            } else {
                print!("{}", timeline::render(&view.provenance));
                let list: Vec<String> = view
                    .consignments
                    .iter()
                    .map(|u| terminal::text(u.as_str()).into_owned())
                    .collect();
                out!(
                    "consignments carried: {}",
                    if list.is_empty() {
                        "none".into()
                    } else {
                        list.join(", ")
                    }
                );
            }
        }
        Command::Export { ucr, online, out } => {
            let subject = route_subject(&ucr)?;
            let mut client = online.client()?;
            let (doc, route) = client.route_doc(&subject)?;
            online.save(&client)?;
            // One route bundle, the pages of a large route as a JSON array, or a group's (9b).
            let json = match &doc {
                RouteDoc::Pages(pages) if pages.len() == 1 => serde_json::to_vec_pretty(&pages[0])?,
                RouteDoc::Pages(pages) => serde_json::to_vec_pretty(pages)?,
                RouteDoc::Group(g) => serde_json::to_vec_pretty(g)?,
            };
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| {
                    format!(
                        "-o: cannot create {} (it is never overwritten)",
                        out.display()
                    )
                })?;
            f.write_all(&json)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!(
                "wrote {} ({} bytes): {} route events, {} containers, verified against head #{}",
                out.display(),
                json.len(),
                route.timeline.len(),
                route.containers.len(),
                route.consignment.head.height
            );
        }
        Command::Verify {
            genesis,
            bundle,
            json,
        } => verify(&genesis, &bundle, json)?,
        Command::Import(a) => import(*a)?,
        Command::Connect(ConnectCommand::Dcsa(a)) => connect_dcsa(*a)?,
        Command::Report(ReportCommand::TimeRelease {
            online,
            border_post,
            period,
            json,
            no_check,
        }) => {
            let post: Option<tradelog_protocol::UnLocode> = border_post
                .map(|p| p.parse())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--border-post: {e}"))?;
            if let Some(m) = period.as_deref().filter(|m| !time::is_month(m)) {
                bail!(
                    "--period: {:?} is not a month YYYY-MM (year from 1970, month 01-12)",
                    terminal::text(m)
                );
            }
            let mut client = online.client()?;
            let report = tradelog_client::report::time_release(
                &mut client,
                post.as_ref(),
                period.as_deref(),
                !no_check,
            )?;
            online.save(&client)?;
            if json {
                out!("{}", pretty(&report.json)?);
            } else {
                print!("{}", tradelog_client::report::render(&report));
            }
        }
        Command::Membership(m) => membership(m)?,
        Command::Audit { online, quiet } => {
            let mut client = online.client()?;
            let mut last = std::time::Instant::now();
            let report = audit::audit(&mut client, |h, tip, events| {
                let now = std::time::Instant::now();
                if !quiet && (h == tip || now.duration_since(last).as_millis() >= 200) {
                    last = now;
                    let width = 40;
                    let done = (h * width as u64)
                        .checked_div(tip)
                        .map_or(width, |d| d as usize);
                    eprint!(
                        "\r[{}{}] block {h}/{tip}, {events} events",
                        "#".repeat(done),
                        ".".repeat(width - done)
                    );
                    if h == tip {
                        eprintln!();
                    }
                }
            })?;
            online.save(&client)?;
            let rate = report.events as f64 / report.seconds.max(1e-9);
            out!(
                "AUDIT PASSED: {} blocks, {} events re-verified up to head #{} {} (log root {}) in {:.2} s ({:.0} events/s)",
                report.blocks,
                report.events,
                report.tip.head.height,
                report.tip.head.hash(),
                report.tip.head.log_root,
                report.seconds,
                rate
            );
        }
    }
    Ok(())
}

impl Online {
    fn client(&self) -> Result<LightClient> {
        let genesis = read_genesis(&self.genesis)?;
        let mut client = LightClient::new(genesis, &self.node).context("--node")?;
        if let Some(key) = &self.read_key {
            client = client.with_signer(keyfile::read(key).context("--read-key")?);
        }
        let Some(path) = &self.state else {
            return Ok(client);
        };
        if !path.exists() {
            return Ok(client);
        }
        let raw = read_limited(path, 1 << 20)?;
        let trusted: CertifiedHead = serde_json::from_slice(&raw)
            .with_context(|| format!("--state {}: not a saved head", path.display()))?;
        client
            .with_trusted(trusted)
            .with_context(|| format!("--state {}: the saved head does not verify", path.display()))
    }

    /// Saves the client's trusted head atomically (temporary file, then rename).
    fn save(&self, client: &LightClient) -> Result<()> {
        let (Some(path), Some(head)) = (&self.state, client.trusted()) else {
            return Ok(());
        };
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(head)?)
            .and_then(|()| std::fs::rename(&tmp, path))
            .with_context(|| format!("--state {}: cannot save", path.display()))
    }
}

fn submit(node: &str, file: &PathBuf) -> Result<()> {
    let endpoint: http::Endpoint = node.parse().context("--node")?;
    let max = 16u64 << 20;
    let body = if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(std::io::stdin(), max + 1),
            &mut buf,
        )
        .context("cannot read standard input")?;
        if buf.len() as u64 > max {
            bail!("standard input is over {max} bytes");
        }
        buf
    } else {
        read_limited(file, max)?
    };
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let path = match first {
        Some(b'[') => "/v1/events/batch",
        Some(b'{') => "/v1/events",
        _ => bail!(
            "{}: expected a signed event (JSON object) or an array of them",
            file.display()
        ),
    };
    let r = endpoint.post_json(path, &body)?;
    let text = String::from_utf8_lossy(&r.body);
    if r.status >= 400 {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        let code = v["error"]["code"].as_str().unwrap_or("unknown");
        let msg = v["error"]["message"]
            .as_str()
            .map_or_else(|| text.to_string(), str::to_owned);
        bail!("node refused ({} {code}): {msg}", r.status);
    }
    out!("{}", terminal::answer(&text));
    if path == "/v1/events/batch" {
        let refused = refused_items(&r.body);
        if !refused.is_empty() {
            for (i, code, msg) in &refused {
                eprintln!(
                    "item {i} refused ({}): {}",
                    terminal::text(code),
                    terminal::text(msg)
                );
            }
            eprintln!(
                "error: {} of the batch's items refused (the others were admitted)",
                refused.len()
            );
            std::process::exit(2);
        }
    }
    Ok(())
}

/// The items of a batch answer (`{"results": [...]}`) that carry an error: (position, code,
/// message). An answer that is not that shape counts as one refusal at position 0.
fn refused_items(body: &[u8]) -> Vec<(usize, String, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let Some(results) = v["results"].as_array() else {
        return vec![(
            0,
            "unknown".into(),
            "the node's answer has no results".into(),
        )];
    };
    results
        .iter()
        .enumerate()
        .filter(|(_, r)| !r["error"].is_null())
        .map(|(i, r)| {
            (
                i,
                r["error"]["code"].as_str().unwrap_or("unknown").to_owned(),
                r["error"]["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// A bundle file verified against a genesis file: a route bundle or a single proof bundle.
enum VerifiedFile {
    Route(tradelog_protocol::Route),
    Bundle(tradelog_protocol::Provenance),
}

fn verify_file(genesis: &PathBuf, bundle: &PathBuf) -> Result<VerifiedFile> {
    let genesis = read_genesis(genesis)?;
    let b = read_limited(
        bundle,
        4 * tradelog_protocol::bundle::MAX_BUNDLE_BYTES as u64,
    )?;
    let v: serde_json::Value =
        serde_json::from_slice(&b).with_context(|| format!("{}: not JSON", bundle.display()))?;
    if v.get("subjects").is_some() {
        // The route of a group of linked subjects (PROTOCOL.md 9b, version 3).
        let route = tradelog_protocol::route::GroupRoute::from_json(&b)?
            .verify(&genesis)
            .context("group route bundle does NOT verify")?;
        return Ok(VerifiedFile::Route(route));
    }
    if v.get("consignment").is_some() {
        let route = RouteBundle::from_json(&b)?
            .verify(&genesis)
            .context("route bundle does NOT verify")?;
        return Ok(VerifiedFile::Route(route));
    }
    if let Some(pages) = v.as_array() {
        // The pages of a large route (PROTOCOL.md 9b), as `tradelog export` writes them.
        let pages = pages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                RouteBundle::from_json(p.to_string().as_bytes())
                    .with_context(|| format!("{}: page {i}", bundle.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        let route = tradelog_protocol::route::verify_pages(&pages, &genesis)
            .context("route pages do NOT verify")?;
        return Ok(VerifiedFile::Route(route));
    }
    let p = ProofBundle::from_json(&b)?
        .verify(&genesis)
        .context("bundle does NOT verify")?;
    Ok(VerifiedFile::Bundle(p))
}

fn verify(genesis: &PathBuf, bundle: &PathBuf, json: bool) -> Result<()> {
    match verify_file(genesis, bundle)? {
        VerifiedFile::Route(route) if json => out!("{}", pretty(&timeline::route_json(&route))?),
        VerifiedFile::Route(route) => {
            print!("{}", timeline::render_route(&route));
            out!("VERIFIED");
        }
        VerifiedFile::Bundle(p) if json => out!("{}", pretty(&timeline::provenance_json(&p))?),
        VerifiedFile::Bundle(p) => {
            print!("{}", timeline::render(&p));
            out!("VERIFIED");
        }
    }
    Ok(())
}

/// `value` as pretty JSON for the terminal: exact JSON, with the characters JSON allows raw
/// that a terminal would act on (DEL, C1 controls, bidirectional overrides) as `\uXXXX`.
fn pretty<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    Ok(terminal::json(&serde_json::to_string_pretty(value)?).into_owned())
}

/// Reads and validates a genesis file (the one thing a verifier trusts).
fn read_genesis(path: &PathBuf) -> Result<Genesis> {
    let g = read_limited(path, 16 << 20)?;
    Genesis::from_json(&g)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("--genesis {}", path.display()))
}

fn read_limited(path: &PathBuf, max: u64) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > max {
        bail!("{} is {len} bytes, the limit is {max}", path.display());
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn event(a: EventArgs) -> Result<()> {
    let key = keyfile::read(&a.key)?;
    if let Some(path) = &a.body {
        let raw = read_limited(path, tradelog_protocol::event::MAX_EVENT_JSON_BYTES as u64)?;
        let body: EventBody = serde_json::from_slice(&raw)
            .with_context(|| format!("--body {}: not an event body", path.display()))?;
        if body.issuer.key != key.public() {
            bail!(
                "--body {}: body.issuer.key {} is not the public key of --key ({})",
                path.display(),
                body.issuer.key,
                key.public()
            );
        }
        let event = body
            .sign(&key)
            .with_context(|| format!("--body {}", path.display()))?;
        writeln!(std::io::stdout().lock(), "{}", event.to_json())?;
        return Ok(());
    }
    let missing = |f: &str| anyhow::anyhow!("--{f}: required (or give --body)");
    let mut details = Vec::new();
    for d in &a.details {
        let (name, value) = parse_detail(d)?;
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).context("no operating-system randomness")?;
        details.push((name, value, salt));
    }
    if !details.is_empty() && a.disclosures.is_none() {
        bail!("--disclosures: required with --detail, or the values could never be disclosed");
    }
    let spec = EventSpec {
        chain: a.chain.ok_or_else(|| missing("chain"))?,
        kind: a.kind.ok_or_else(|| missing("kind"))?,
        time: time::parse_time(&a.time.ok_or_else(|| missing("time"))?).context("--time")?,
        org: a.org.ok_or_else(|| missing("org"))?,
        ucr: a.ucr,
        container: a.container,
        location: a.location,
        mode: a.mode,
        means: a.means,
        voyage: a.voyage,
        refs: a.refs,
        documents: a.documents,
        details,
        reason: a.reason,
    };
    let (body, disclosures) = spec.into_body(key.public())?;
    let event = body.sign(&key)?;
    if let Some(path) = a.disclosures {
        std::fs::write(&path, serde_json::to_string_pretty(&disclosures)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", event.to_json())?;
    Ok(())
}

/// `tradelog id`: what the identifier is, whether it is valid, and its parts.
fn id(value: &str, kind: Option<IdKind>) -> Result<()> {
    use tradelog_protocol::ids::{iso6346_check_digit, IdError, OrgId, UnLocode};
    let kind = kind.unwrap_or_else(|| guess_id_kind(value));
    // The error quotes the value: escaped, as everything printed that the user did not write.
    let bad = |e: IdError| anyhow::anyhow!("{}", terminal::text(&e.to_string()));
    let shown = terminal::text(value);
    match kind {
        IdKind::Container => {
            let complete = if value.len() == 10 {
                let digit = iso6346_check_digit(value.as_bytes())
                    .with_context(|| format!("container number {shown}: not A-Z and 0-9"))?;
                format!("{value}{digit}")
            } else {
                value.to_owned()
            };
            let c: ContainerId = complete.parse().map_err(bad)?;
            let s = c.as_str();
            if value.len() == 10 {
                out!("container number {s}: check digit {} added", &s[10..]);
            } else {
                out!("container number {s}: valid");
            }
            out!(
                "  owner {}, category {} ({}), serial {}, check digit {}",
                &s[..3],
                &s[3..4],
                match &s[3..4] {
                    "U" => "freight container",
                    "J" => "detachable equipment",
                    _ => "trailer or chassis",
                },
                &s[4..10],
                &s[10..]
            );
        }
        IdKind::Ucr => {
            let u: Ucr = value.parse().map_err(bad)?;
            let s = u.as_str();
            out!("UCR {s}: valid");
            out!(
                "  year digit {}, country {}, reference {}",
                &s[..1],
                &s[1..3],
                &s[3..]
            );
        }
        IdKind::Locode => {
            let l: UnLocode = value.parse().map_err(bad)?;
            let s = l.as_str();
            out!("UN/LOCODE {s}: valid form");
            out!("  country {}, location {}", &s[..2], &s[2..]);
        }
        IdKind::Org => {
            let o: OrgId = value.parse().map_err(bad)?;
            out!("organisation id {}: valid form", o.as_str());
        }
    }
    Ok(())
}

/// The kind an identifier's shape suggests: 10 or 11 characters with U, J or Z fourth is a
/// container, 5 capitals a UN/LOCODE, a leading digit a UCR, otherwise an organisation id.
fn guess_id_kind(value: &str) -> IdKind {
    let b = value.to_ascii_uppercase().into_bytes();
    let container = matches!(b.len(), 10 | 11)
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && matches!(b[3], b'U' | b'J' | b'Z')
        && b[4..].iter().all(u8::is_ascii_digit);
    if container {
        IdKind::Container
    } else if b.first().is_some_and(u8::is_ascii_digit) {
        IdKind::Ucr
    } else if value.len() == 5 && value.bytes().all(|c| c.is_ascii_alphanumeric()) {
        IdKind::Locode
    } else {
        IdKind::Org
    }
}

/// Reads a disclosures file: one disclosure object or an array of them.
fn read_disclosures(path: &PathBuf) -> Result<Vec<serde_json::Value>> {
    let raw = read_limited(path, 1 << 20)?;
    let v: serde_json::Value = serde_json::from_slice(&raw)
        .with_context(|| format!("--disclosures {}: not JSON", path.display()))?;
    let list = match v {
        serde_json::Value::Array(a) => a,
        o @ serde_json::Value::Object(_) => vec![o],
        _ => bail!(
            "--disclosures {}: expected a disclosure object or an array of them",
            path.display()
        ),
    };
    if list.is_empty() {
        bail!("--disclosures {}: no disclosures in it", path.display());
    }
    Ok(list)
}

fn disclose(cmd: DiscloseCommand) -> Result<()> {
    use tradelog_protocol::disclosure::Disclosure;
    match cmd {
        DiscloseCommand::Verify {
            disclosures,
            event,
            bundle,
            genesis,
            id,
        } => {
            let list = read_disclosures(&disclosures)?;
            let (ev, proven) = match (event, bundle, genesis, id) {
                (Some(path), ..) => {
                    let raw =
                        read_limited(&path, tradelog_protocol::event::MAX_EVENT_JSON_BYTES as u64)?;
                    let ev = tradelog_protocol::Event::from_json(&raw)
                        .with_context(|| format!("--event {}", path.display()))?;
                    ev.verify_signature()
                        .with_context(|| format!("--event {}: signature", path.display()))?;
                    (ev, None)
                }
                (None, Some(bundle), Some(genesis), Some(id)) => {
                    let id: tradelog_protocol::EventId =
                        id.parse().map_err(|e| anyhow::anyhow!("--id: {e}"))?;
                    let (events, head) = verified_events(&genesis, &bundle)?;
                    let (index, ev) = events
                        .into_iter()
                        .find(|(_, e)| e.id() == id)
                        .with_context(|| format!("--id {id}: no such event in the bundle"))?;
                    (ev, Some((index, head)))
                }
                _ => bail!("give --event, or --bundle with --genesis and --id"),
            };
            let mut failed = 0;
            for (i, d) in list.into_iter().enumerate() {
                let d: Disclosure = serde_json::from_value(d)
                    .with_context(|| format!("--disclosures: item {i}"))?;
                let name = terminal::text(&d.name).into_owned();
                match d.verify(ev.body()) {
                    Ok(()) => out!(
                        "{name} = {:?}: matches the commitment ✓",
                        terminal::text(&d.value)
                    ),
                    Err(e) => {
                        failed += 1;
                        out!("{name}: DOES NOT MATCH: {}", terminal::text(&e.to_string()));
                    }
                }
            }
            match proven {
                Some((index, head)) => out!(
                    "event {} by {}: signature checked, on the ledger at log index {index} (head #{head}, verified from the genesis)",
                    ev.id(),
                    terminal::text(ev.body().issuer.org.as_str())
                ),
                None => out!(
                    "event {} by {}: signature checked (not proven to be on the ledger: use --bundle)",
                    ev.id(),
                    terminal::text(ev.body().issuer.org.as_str())
                ),
            }
            if failed > 0 {
                bail!("{failed} disclosure(s) do not match the event");
            }
        }
        DiscloseCommand::Select {
            disclosures,
            names,
            out,
        } => {
            let list = read_disclosures(&disclosures)?;
            let mut picked = Vec::new();
            for name in &names {
                let d = list
                    .iter()
                    .find(|d| d["name"].as_str() == Some(name.as_str()))
                    .with_context(|| format!("--name {name}: no such field in the disclosures"))?;
                picked.push(d.clone());
            }
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| {
                    format!("--out {}: cannot create (never overwritten)", out.display())
                })?;
            f.write_all(serde_json::to_string_pretty(&picked)?.as_bytes())?;
            f.write_all(b"\n")?;
            out!(
                "{} disclosure(s) written to {}",
                picked.len(),
                out.display()
            );
        }
    }
    Ok(())
}

/// The events of a route or proof bundle verified against a genesis, with the head height.
fn verified_events(
    genesis: &PathBuf,
    bundle: &PathBuf,
) -> Result<(Vec<(u64, tradelog_protocol::Event)>, u64)> {
    Ok(match verify_file(genesis, bundle)? {
        VerifiedFile::Route(route) => {
            let head = route.consignment.head.height;
            let events = route.timeline.into_iter().map(|(i, e, _)| (i, e)).collect();
            (events, head)
        }
        VerifiedFile::Bundle(p) => (p.events, p.head.height),
    })
}

fn read_change(path: &PathBuf) -> Result<Change> {
    let raw = read_limited(path, 1 << 20)?;
    serde_json::from_slice(&raw)
        .with_context(|| format!("--change {}: not a membership change", path.display()))
}

fn membership(cmd: MembershipCommand) -> Result<()> {
    match cmd {
        MembershipCommand::Show { online, json } => {
            let mut client = online.client()?;
            let v = client.membership()?;
            online.save(&client)?;
            if json {
                let orgs: Vec<_> = v.membership.orgs().collect();
                out!(
                    "{}",
                    pretty(&serde_json::json!({
                        "verified": true,
                        "head": v.head.head,
                        "next_seq": v.changes + 1,
                        "organisations": orgs,
                        "validators": v.validators,
                        "next_validators": v.next_validators,
                    }))?
                );
                return Ok(());
            }
            print!("{}", timeline::render_membership(&v));
        }
        MembershipCommand::Approve {
            key,
            chain,
            seq,
            change,
        } => {
            let key = keyfile::read(&key)?;
            let change = read_change(&change)?;
            let a = approve(&chain, seq, &change, &key);
            out!("{}", serde_json::to_string(&a)?);
        }
        MembershipCommand::Sign {
            key,
            org,
            chain,
            seq,
            change,
            approvals,
            time,
        } => {
            let key = keyfile::read(&key)?;
            let change = read_change(&change)?;
            let mut list: Vec<Approval> = Vec::new();
            for path in &approvals {
                let raw = read_limited(path, 1 << 16)?;
                list.push(
                    serde_json::from_slice(&raw).with_context(|| {
                        format!("--approval {}: not an approval", path.display())
                    })?,
                );
            }
            let time = match time {
                Some(t) => time::parse_time(&t).context("--time")?,
                None => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .context("system clock before 1970")?
                    .as_millis() as u64,
            };
            let body = EventBody {
                v: tradelog_protocol::event::EVENT_VERSION,
                chain,
                ucr: None,
                container: None,
                kind: tradelog_protocol::EventKind::Membership,
                time,
                location: None,
                transport: None,
                refs: Vec::new(),
                documents: Vec::new(),
                details: Default::default(),
                issuer: tradelog_protocol::Issuer {
                    org: org.parse().map_err(|e| anyhow::anyhow!("--org: {e}"))?,
                    key: key.public(),
                },
                parties: None,
                source: None,
                ids: None,
                retracts: None,
                aeo: None,
                mra: None,
                reason: None,
                offset: None,
                membership: Some(MembershipBody {
                    seq,
                    change,
                    approvals: list,
                }),
            };
            let event = body.sign(&key).context("membership event")?;
            out!("{}", event.to_json());
        }
    }
    Ok(())
}

fn import(a: ImportArgs) -> Result<()> {
    use standards::{dcsa, epcis};
    let (key, target, ucr) = import_setup(&a.key, &a.org, a.chain, a.ucr.as_deref())?;
    let bytes = read_limited(&a.file, standards::MAX_DOCUMENT_BYTES as u64)?;
    let imported = match a.format {
        ImportFormat::Epcis => {
            if a.dcsa_version.is_some() {
                bail!("--dcsa-version: only for --format dcsa");
            }
            let mut locations = std::collections::BTreeMap::new();
            for l in &a.locations {
                let (id, code) = l
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--location: expected ID=LOCODE"))?;
                let code = code
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--location {id}: {e}"))?;
                locations.insert(id.to_owned(), code);
            }
            let opts = epcis::EpcisOptions {
                ucr,
                ucr_biz_transaction: a.ucr_from,
                locations,
                carrier: a
                    .carrier
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--carrier: {e}"))?,
            };
            epcis::import_each(&bytes, &target, &opts)
        }
        ImportFormat::Dcsa => {
            if !a.locations.is_empty() {
                bail!("--location: only for --format epcis (DCSA carries UN/LOCODEs)");
            }
            if a.carrier.is_some() {
                bail!("--carrier: only for --format epcis (a DCSA feed's documents are the importing carrier's)");
            }
            let ucr_from = ucr_source(a.ucr_from.as_deref())?;
            let version = dcsa_version(a.dcsa_version.as_deref())?;
            dcsa::import_each(
                &bytes,
                &target,
                &dcsa::DcsaOptions {
                    link: a.link,
                    ucr_from,
                    ucr,
                },
                version,
            )
        }
    }
    .with_context(|| format!("{}", a.file.display()))?;
    let code = imported.exit_code();
    let (n_imported, n_skipped) = (imported.imported(), imported.skipped());
    if a.strict {
        if let Some(first) = imported.events.iter().find_map(|e| match &e.outcome {
            standards::Outcome::Skipped(err) => Some(err.clone()),
            standards::Outcome::Imported(_) => None,
        }) {
            return Err(anyhow::Error::new(first)).with_context(|| {
                format!(
                    "{} refused (--strict, and {n_skipped} of its {} source events would be \
                     skipped); the first",
                    a.file.display(),
                    n_skipped + n_imported
                )
            });
        }
    }
    // Source ids and reasons quote the document: escaped like everything else it carries.
    match a.report {
        ImportReport::Text => {
            for line in imported.report_lines() {
                eprintln!("{}", terminal::text(&line));
            }
        }
        ImportReport::Json => eprintln!("{}", pretty(&imported.report_json())?),
    }
    if code == standards::EXIT_REFUSED {
        bail!(
            "{}: none of its {n_skipped} source events imported",
            a.file.display()
        );
    }
    let events = imported
        .bodies
        .into_iter()
        .map(|b| b.sign(&key))
        .collect::<Result<Vec<_>, _>>()?;
    out!("{}", serde_json::to_string_pretty(&events)?);
    std::io::stdout().flush()?;
    if a.report == ImportReport::Text {
        eprintln!(
            "{} events from {n_imported} of {} source events of {} (SHA-256 anchored){}",
            events.len(),
            n_imported + n_skipped,
            a.file.display(),
            if n_skipped > 0 {
                format!("; {n_skipped} skipped")
            } else {
                String::new()
            }
        );
    }
    if code != standards::EXIT_ALL_IMPORTED {
        std::process::exit(code);
    }
    Ok(())
}

/// The key, issuer and fixed UCR of an import or connector (`--key`, `--org`, `--chain`,
/// `--ucr`), each refusal naming its flag.
fn import_setup(
    key: &std::path::Path,
    org: &str,
    chain: String,
    ucr: Option<&str>,
) -> Result<(
    tradelog_protocol::SecretKey,
    standards::ImportTarget,
    Option<Ucr>,
)> {
    let key = keyfile::read(key)?;
    let target = standards::ImportTarget {
        chain,
        issuer: tradelog_protocol::Issuer {
            org: org.parse().map_err(|e| anyhow::anyhow!("--org: {e}"))?,
            key: key.public(),
        },
    };
    let ucr = ucr
        .map(str::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--ucr: {e}"))?;
    Ok((key, target, ucr))
}

/// `--dcsa-version` of a DCSA import or connector.
fn dcsa_version(text: Option<&str>) -> Result<Option<standards::dcsa::DcsaVersion>> {
    text.map(str::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--dcsa-version: {e}"))
}

/// `--ucr-from` of a DCSA import or connector.
fn ucr_source(text: Option<&str>) -> Result<Option<standards::dcsa::UcrSource>> {
    use standards::dcsa::UcrSource;
    Ok(match text {
        None => None,
        Some("booking") => Some(UcrSource::Booking),
        Some("transport-document") => Some(UcrSource::TransportDocument),
        Some(other) => match other.strip_prefix("reference:") {
            Some(t) => Some(UcrSource::Reference(t.to_owned())),
            None => bail!("--ucr-from: expected booking, transport-document or reference:TYPE"),
        },
    })
}

/// `tradelog connect dcsa`: runs until killed.
fn connect_dcsa(a: ConnectArgs) -> Result<()> {
    use tradelog_client::connect;
    let (key, target, ucr) = import_setup(&a.key, &a.org, a.chain, a.ucr.as_deref())?;
    let version = dcsa_version(a.dcsa_version.as_deref())?;
    if a.listen.is_none() && a.poll.is_none() {
        bail!("--listen, --poll: give at least one (where notifications come from)");
    }
    let poll = match a.poll.as_deref() {
        None => None,
        Some(url) => {
            let rest = url
                .strip_prefix("http://")
                .ok_or_else(|| anyhow::anyhow!("--poll: expected http://host:port/path"))?;
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            let endpoint: http::Endpoint =
                format!("http://{authority}").parse().context("--poll")?;
            Some((endpoint, path.to_owned()))
        }
    };
    let secret = a
        .secret_file
        .as_ref()
        .map(|p| read_limited(p, 4096).map(|s| s.trim_ascii().to_vec()))
        .transpose()?;
    if !a.callback_path.starts_with('/') {
        bail!("--callback-path: must start with '/'");
    }
    let cfg = connect::Config {
        node: a.node.parse().context("--node")?,
        key,
        target,
        opts: standards::dcsa::DcsaOptions {
            link: !a.no_link,
            ucr_from: ucr_source(a.ucr_from.as_deref())?,
            ucr,
        },
        version,
        dir: a.dir,
        listen: a.listen,
        callback_path: a.callback_path,
        secret,
        poll,
        interval: std::time::Duration::from_secs(a.interval.max(1)),
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    connect::run(cfg, stop, std::sync::Arc::default())?;
    Ok(())
}

/// The subject of `provenance` and `export`: a UCR, or a trade identifier (`bl:`, `bkg:`,
/// `sscc:`), each checked with its own rules.
fn route_subject(text: &str) -> anyhow::Result<Subject> {
    if ["bl:", "bkg:", "sscc:"].iter().any(|p| text.starts_with(p)) {
        let id: TradeId = text
            .parse()
            .map_err(|e| anyhow::anyhow!("trade identifier: {e}"))?;
        return Ok(Subject::Identifier(id));
    }
    let ucr: Ucr = text.parse().map_err(|e| {
        anyhow::anyhow!("UCR: {e} (or give a trade identifier: bl:<carrier>:<number>, bkg:<carrier>:<number>, sscc:<18 digits>)")
    })?;
    Ok(Subject::Consignment(ucr))
}

#[cfg(test)]
mod submit_tests {
    use super::refused_items;

    /// Issue 14 item 4: `submit` used to exit 0 when items of a batch were refused.
    #[test]
    fn refused_batch_items_are_found_by_position() {
        let body = br#"{"results":[{"id":"aa","status":"pending"},{"error":{"code":"not_a_party","message":"body.issuer.org: x"}},{"id":"bb","status":"committed","index":3},{"id":"cc","error":{"code":"bad_signature","message":"sig"}}]}"#;
        let got = refused_items(body);
        assert_eq!(
            got,
            vec![
                (1, "not_a_party".into(), "body.issuer.org: x".into()),
                (3, "bad_signature".into(), "sig".into())
            ]
        );
        assert!(refused_items(br#"{"results":[{"id":"aa","status":"pending"}]}"#).is_empty());
        assert_eq!(refused_items(b"[]").len(), 1);
    }
}

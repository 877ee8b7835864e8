//! `tradelog`: keys, signed events and offline verification of proof bundles.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tradelog_client::build::{parse_detail, EventSpec};
use tradelog_client::{keyfile, time, timeline};
use tradelog_protocol::{Genesis, ProofBundle};

#[derive(Parser)]
#[command(
    name = "tradelog",
    version,
    about = "tradelog client: keys, signed events, verification"
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
    /// Verify a proof bundle offline against a genesis file and print the timeline.
    Verify {
        /// The genesis file of the ledger (the only thing trusted).
        #[arg(long)]
        genesis: PathBuf,
        /// The proof bundle.
        bundle: PathBuf,
        /// Print the verified events as JSON instead of a timeline.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct EventArgs {
    /// Key file of the issuer.
    #[arg(long)]
    key: PathBuf,
    /// Issuing organisation id, e.g. blue-anchor-lines.
    #[arg(long)]
    org: String,
    /// Chain id of the ledger.
    #[arg(long)]
    chain: String,
    /// Event kind: booked, declared, loaded, departed, arrived, discharged, gate_in, gate_out,
    /// transshipped, packed, unpacked, inspected, held, released, seized, delivered,
    /// document_anchored.
    #[arg(long)]
    kind: String,
    /// When it happened: RFC 3339 (2026-03-01T08:30:00Z) or milliseconds since 1970.
    #[arg(long)]
    time: String,
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
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Keygen { out } => {
            let key = keyfile::generate().context("no operating-system randomness")?;
            keyfile::write(&out, &key)?;
            println!("{}", key.public());
        }
        Command::Event(a) => event(*a)?,
        Command::Verify {
            genesis,
            bundle,
            json,
        } => {
            let g = read_limited(&genesis, 16 << 20)?;
            let genesis = Genesis::from_json(&g)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("genesis {}", genesis.display()))?;
            let b = read_limited(&bundle, tradelog_protocol::bundle::MAX_BUNDLE_BYTES as u64)?;
            let bundle = ProofBundle::from_json(&b)?;
            let p = bundle.verify(&genesis).context("bundle does NOT verify")?;
            if json {
                let events: Vec<_> = p
                    .events
                    .iter()
                    .map(|(i, e)| serde_json::json!({"index": i, "id": e.id(), "event": e}))
                    .collect();
                let out = serde_json::json!({"verified": true, "subject": p.subject, "head": p.head, "events": events});
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print!("{}", timeline::render(&p));
                println!("VERIFIED");
            }
        }
    }
    Ok(())
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
        chain: a.chain,
        kind: a.kind,
        time: time::parse_time(&a.time).context("--time")?,
        org: a.org,
        ucr: a.ucr,
        container: a.container,
        location: a.location,
        mode: a.mode,
        means: a.means,
        voyage: a.voyage,
        refs: a.refs,
        documents: a.documents,
        details,
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

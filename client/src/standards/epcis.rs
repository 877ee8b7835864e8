//! GS1 EPCIS 2.0 JSON/JSON-LD import: an `EPCISDocument` (events in `epcisBody.eventList`) or
//! an `EPCISQueryDocument` (a query's results, events in
//! `epcisBody.queryResults.resultsBody.eventList`) whose `ObjectEvent`, `AggregationEvent` and
//! `TransactionEvent`s become ledger event bodies, each source event imported or skipped on
//! its own ([`import_each`]): a `TransformationEvent` or `AssociationEvent`, a bizStep with no
//! tradelog kind, an event naming no consignment... is skipped with the reason.
//!
//! - kind: from `bizStep` (bare CBV 2.0 value, `urn:epcglobal:cbv:bizstep:` URN or
//!   `https://ref.gs1.org/cbv/BizStep-` URI) by PROTOCOL.md 3.4; where CBV has no exact code
//!   (`booked`, `declared`, `released`, `document_anchored`, `seized`) the tradelog extension
//!   member `tl:kind` (prefix bound to [`TL_NAMESPACE`] in `@context`) names the kind, and it
//!   must agree with the bizStep the table gives for it;
//! - container: every `urn:epc:id:bic:<ISO 6346>` in `epcList`, `parentID`, `childEPCs`
//!   (SSCC, GRAI, SGTIN... do not name containers and are not imported); an event naming several
//!   containers becomes one ledger event per container;
//! - UCR: `https://tradelog.example/ucr/<UCR>` in those lists, the `bizTransactionList` entry of
//!   a configured type ([`EpcisOptions::ucr_biz_transaction`]), or a fixed UCR; they must agree;
//! - location: `bizLocation.id`, else `readPoint.id`, when it is `urn:un:locode:<UN/LOCODE>` or
//!   listed in [`EpcisOptions::locations`] (e.g. an SGLN mapped to its port);
//! - time: `eventTime` with its offset, to milliseconds since 1970 UTC.

use std::collections::BTreeMap;

use serde_json::Value;
use tradelog_protocol::event::{EventBody, EventKind, EVENT_VERSION};
use tradelog_protocol::ids::TradeId;
use tradelog_protocol::{ContainerId, Ucr, UnLocode};

use super::{
    anchor, checked, invalid, parse_bounded, rfc3339_ms, unsupported, ImportError, ImportTarget,
    Imported, Node, BIC_URI_PREFIX, LOCODE_URI_PREFIX, MAX_IMPORTED_EVENTS, TL_NAMESPACE,
    UCR_URI_PREFIX,
};

/// Document kind of the anchor every imported EPCIS event carries.
pub const EPCIS_DOCUMENT_KIND: &str = "epcis_document";

/// How identifiers the standard does not carry in tradelog's form are found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpcisOptions {
    /// A UCR for every event (e.g. given on the command line); an event naming another is refused.
    pub ucr: Option<Ucr>,
    /// Take the UCR from the `bizTransactionList` entry of this type (CBV BTT such as `bol`,
    /// `inv`, `po`, in any of its three spellings): the part after the last `:` or `/` of
    /// its `bizTransaction` URI must be a UCR.
    pub ucr_biz_transaction: Option<String>,
    /// `readPoint`/`bizLocation` ids (e.g. `urn:epc:id:sgln:...`) mapped to UN/LOCODEs.
    pub locations: BTreeMap<String, UnLocode>,
    /// The carrier whose bills of lading the `bizTransactionList` entries of type `bol` are:
    /// each becomes the trade identifier `bl:<carrier>:<number>` (the part after the last `:`
    /// or `/`; PROTOCOL.md 8f). None: `bol` entries name no identifier.
    pub carrier: Option<tradelog_protocol::OrgId>,
}

const BIZSTEP_PREFIXES: [&str; 2] = [
    "urn:epcglobal:cbv:bizstep:",
    "https://ref.gs1.org/cbv/BizStep-",
];
const DISP_PREFIXES: [&str; 2] = ["urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"];
const BTT_PREFIXES: [&str; 2] = ["urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"];

fn bare<'s>(s: &'s str, prefixes: &[&str]) -> &'s str {
    prefixes.iter().find_map(|p| s.strip_prefix(p)).unwrap_or(s)
}

/// The CBV 2.0 bizStep tradelog writes for each kind (PROTOCOL.md 3.4, docs/STANDARDS.md).
pub fn bizstep_of(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Loaded => "loading",
        EventKind::Departed => "departing",
        EventKind::Arrived => "arriving",
        EventKind::Discharged => "unloading",
        EventKind::GateIn => "receiving",
        EventKind::GateOut => "shipping",
        EventKind::Transshipped => "transporting",
        EventKind::Packed => "packing",
        EventKind::Unpacked => "unpacking",
        EventKind::Inspected => "inspecting",
        EventKind::Held | EventKind::Seized => "holding",
        // The consignee takes possession: CBV accepting ("an object changes possession").
        EventKind::Delivered => "accepting",
        // A booking, a declaration, a customs release and an anchored document are business
        // transactions, not physical steps: no CBV bizStep fits, the kind is in tl:kind.
        EventKind::Booked
        | EventKind::Declared
        | EventKind::Released
        | EventKind::DocumentAnchored
        | EventKind::Linked
        | EventKind::Retracted
        | EventKind::AdvanceData
        | EventKind::RiskCleared
        | EventKind::RiskInformationRequested
        | EventKind::RiskReferred
        | EventKind::RiskDoNotLoad
        | EventKind::AeoStatus
        | EventKind::Mra
        | EventKind::Membership => "other",
    }
}

/// The CBV 2.0 disposition tradelog writes for each kind, where one fits (docs/STANDARDS.md).
pub fn disposition_of(kind: EventKind) -> Option<&'static str> {
    Some(match kind {
        EventKind::Loaded
        | EventKind::Departed
        | EventKind::Arrived
        | EventKind::Transshipped
        | EventKind::GateOut => "in_transit",
        EventKind::Packed => "container_closed",
        EventKind::Unpacked => "container_open",
        EventKind::Held => "unavailable",
        EventKind::Seized => "non_sellable_other",
        EventKind::Released => "available",
        _ => return None,
    })
}

/// The bizStep exports before the CBV review wrote for a kind, still accepted with `tl:kind`
/// so that those documents import as they were written.
fn earlier_bizstep_of(kind: EventKind) -> Option<&'static str> {
    match kind {
        EventKind::Booked => Some("accepting"),
        EventKind::Delivered => Some("receiving"),
        _ => None,
    }
}

/// The kind a bizStep means without the `tl:kind` extension; `None` for `other` (the extension
/// is required) and for steps tradelog does not import.
fn kind_of_bizstep(step: &str, disposition: Option<&str>) -> Option<EventKind> {
    Some(match step {
        "accepting" => EventKind::Delivered,
        "loading" => EventKind::Loaded,
        "departing" => EventKind::Departed,
        "arriving" => EventKind::Arrived,
        "unloading" => EventKind::Discharged,
        "receiving" => EventKind::GateIn,
        "shipping" => EventKind::GateOut,
        "transporting" => EventKind::Transshipped,
        "packing" => EventKind::Packed,
        "unpacking" => EventKind::Unpacked,
        "inspecting" => EventKind::Inspected,
        "holding" if disposition == Some("non_sellable_other") => EventKind::Seized,
        "holding" => EventKind::Held,
        _ => return None,
    })
}

/// Every `prefix` → IRI binding of the document's context (for the event hash's extension
/// members).
fn context_prefixes(context: &Value) -> Vec<(String, String)> {
    let objects: Vec<&serde_json::Map<String, Value>> = match context {
        Value::Object(m) => vec![m],
        Value::Array(a) => a.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    objects
        .into_iter()
        .flat_map(|m| m.iter())
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// The tradelog extension member `name` of an event, under any bound prefix or as a full IRI.
fn tl_member<'a>(event: &Node<'a>, prefixes: &[String], name: &str) -> Option<Node<'a>> {
    prefixes
        .iter()
        .find_map(|p| event.get(&format!("{p}:{name}")))
        .or_else(|| event.get(&format!("{TL_NAMESPACE}{name}")))
}

/// Maps an EPCIS 2.0 document (its exact bytes), all or nothing: the bodies if every event
/// maps, else the first skipped event's error ([`Imported::strict`] of [`import_each`]).
pub fn import(
    bytes: &[u8],
    target: &ImportTarget,
    opts: &EpcisOptions,
) -> Result<Vec<EventBody>, ImportError> {
    import_each(bytes, target, opts)?.strict()
}

/// Maps an `EPCISDocument` or `EPCISQueryDocument` (its exact bytes) event by event: unsigned
/// ledger event bodies in document order, each anchoring the document's SHA-256 (kind
/// [`EPCIS_DOCUMENT_KIND`] for both), and what became of every source event. Refused as a
/// whole: too large, not JSON, another document type or schema version, no `@context`, no
/// events, more than [`MAX_IMPORTED_EVENTS`] source or ledger events.
pub fn import_each(
    bytes: &[u8],
    target: &ImportTarget,
    opts: &EpcisOptions,
) -> Result<Imported, ImportError> {
    let doc = parse_bounded(bytes)?;
    let root = Node::root(&doc);
    root.require_object()?;
    let (ty, ty_path) = match root.opt_str("type")? {
        Some(t) => t,
        None if root.get("isA").is_some() => {
            return Err(unsupported(
                "isA",
                "isA",
                "pre-release EPCIS 2.0 draft; the standard's member is \"type\"",
            ))
        }
        None => {
            return Err(ImportError::Missing {
                path: "type".into(),
            })
        }
    };
    // The JSON schema (EPCIS-Document-JSON-Schema.json) requires schemaVersion and
    // creationDate of an EPCISDocument only; a query document's are checked when present.
    let query = match ty {
        "EPCISDocument" => false,
        "EPCISQueryDocument" => true,
        other => {
            return Err(unsupported(
                &ty_path,
                other,
                "expected \"EPCISDocument\" or \"EPCISQueryDocument\"",
            ))
        }
    };
    let version = if query {
        root.get("schemaVersion")
    } else {
        Some(root.req("schemaVersion")?)
    };
    match version.as_ref().map(|v| (v, v.v)) {
        None => {}
        Some((_, Value::String(s))) if s == "2.0" => {}
        Some((v, Value::String(s))) => {
            return Err(unsupported(
                &v.path,
                s,
                "only EPCIS schemaVersion \"2.0\" is imported",
            ))
        }
        Some((v, other)) => {
            return Err(invalid(
                &v.path,
                &other.to_string(),
                "schemaVersion is the string \"2.0\"",
            ))
        }
    }
    let context = root.req("@context")?;
    if !(context.v.is_string() || context.v.is_array() || context.v.is_object()) {
        return Err(ImportError::Type {
            path: context.path,
            expected: "a string, an array or an object",
        });
    }
    let bindings = context_prefixes(context.v);
    // The prefixes bound to TL_NAMESPACE (`tl` by convention).
    let prefixes: Vec<String> = bindings
        .iter()
        .filter(|(_, iri)| iri == TL_NAMESPACE)
        .map(|(p, _)| p.clone())
        .collect();
    let created = if query {
        root.opt_str("creationDate")?
    } else {
        Some(root.req_str("creationDate")?)
    };
    if let Some((created, created_path)) = created {
        rfc3339_ms(&created_path, created)?;
    }
    let body = root.req("epcisBody")?;
    let list = if query {
        body.req("queryResults")?
            .req("resultsBody")?
            .req("eventList")?
    } else {
        body.req("eventList")?
    };
    let events = list.items()?;
    if events.is_empty() {
        return Err(invalid(&list.path, "[]", "no events to import"));
    }
    if events.len() > MAX_IMPORTED_EVENTS {
        return Err(ImportError::TooMany {
            path: list.path,
            count: events.len(),
            max: MAX_IMPORTED_EVENTS,
        });
    }
    let document = anchor(EPCIS_DOCUMENT_KIND, bytes);
    let mut out = Imported::default();
    for e in &events {
        // The eventID, else the CBV 2.0 event hash ID (the same for the same event however it
        // is serialised), so a document imported again adds nothing (PROTOCOL.md 8e).
        let source_id =
            e.v.get("eventID")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| super::epcis_hash::event_hash(e.v, &bindings));
        let source = super::source_of("epcis", source_id.as_deref());
        let declared = e.get("errorDeclaration");
        let result = map_event(e, &prefixes, target, opts, &document).and_then(|bodies| {
            bodies
                .into_iter()
                .map(|mut b| match &declared {
                    // The erroneous event declared again with an errorDeclaration: a
                    // `retracted` event naming it by its source (PROTOCOL.md 8g), with its
                    // subjects, at the declaration time. It carries no `source` itself (its
                    // eventID is the retracted event's).
                    Some(d) => {
                        let (t, t_path) = d.req_str("declarationTime")?;
                        let Some(retracted) = source.clone() else {
                            return Err(ImportError::Missing {
                                path: format!("{}.eventID", e.path()),
                            });
                        };
                        b.time = rfc3339_ms(&t_path, t)?;
                        b.kind = EventKind::Retracted;
                        b.location = None;
                        b.retracts = Some(tradelog_protocol::event::Retracts::Source(retracted));
                        checked(e.path(), b)
                    }
                    None => {
                        b.source = source.clone();
                        checked(e.path(), b)
                    }
                })
                .collect()
        });
        out.push(&list.path, e.path(), source_id, result)?;
    }
    Ok(out)
}

/// Identifiers found in one event's EPC lists.
#[derive(Default)]
struct Ids {
    containers: Vec<ContainerId>,
    ucr: Option<(Ucr, String)>,
    /// Trade identifiers: SSCCs (`urn:epc:id:sscc:` or a GS1 Digital Link with AI 00) and,
    /// with a carrier, its bills of lading (`bol` business transactions).
    trade_ids: Vec<TradeId>,
}

/// The SSCC of an EPC URI `urn:epc:id:sscc:<company prefix>.<serial reference>` (the serial
/// reference starts with the extension digit; the check digit is computed, GS1 Tag Data
/// Standard 2.x section 6.3.2) or of a GS1 Digital Link `https://<host>/00/<18 digits>`.
pub fn sscc_of(uri: &str) -> Option<Result<TradeId, String>> {
    if let Some(rest) = uri.strip_prefix("urn:epc:id:sscc:") {
        let Some((prefix, serial)) = rest.split_once('.') else {
            return Some(Err(
                "an SSCC EPC URI is urn:epc:id:sscc:<company prefix>.<serial reference>".into(),
            ));
        };
        let Some(sscc) = super::epcis_hash::sscc_digits(prefix, serial) else {
            return Some(Err(
                "company prefix and serial reference are 17 digits together".into(),
            ));
        };
        return Some(TradeId::sscc(&sscc).map_err(|e| e.to_string()));
    }
    let rest = uri
        .strip_prefix("https://")
        .or(uri.strip_prefix("http://"))?;
    let (_, path) = rest.split_once('/')?;
    let digits = path.strip_prefix("00/")?;
    let digits = digits.split(['/', '?']).next().unwrap_or(digits);
    Some(TradeId::sscc(digits).map_err(|e| e.to_string()))
}

impl Ids {
    /// Records `ucr`, found as `raw` at `path`; a different UCR already found is an error.
    fn add_ucr(&mut self, ucr: Ucr, raw: &str, path: String) -> Result<(), ImportError> {
        match &self.ucr {
            Some((u, first)) if *u != ucr => Err(invalid(
                &path,
                raw,
                format!("a second UCR; {first} names {u}"),
            )),
            Some(_) => Ok(()),
            None => {
                self.ucr = Some((ucr, path));
                Ok(())
            }
        }
    }

    fn add_uri(&mut self, uri: &str, path: String) -> Result<(), ImportError> {
        if let Some(c) = uri.strip_prefix(BIC_URI_PREFIX) {
            let c: ContainerId = c.parse().map_err(|e| invalid(&path, uri, format!("{e}")))?;
            if !self.containers.contains(&c) {
                self.containers.push(c);
            }
        } else if let Some(u) = uri.strip_prefix(UCR_URI_PREFIX) {
            let u: Ucr = u.parse().map_err(|e| invalid(&path, uri, format!("{e}")))?;
            self.add_ucr(u, uri, path)?;
        } else if let Some(sscc) = sscc_of(uri) {
            let sscc = sscc.map_err(|e| invalid(&path, uri, e))?;
            if !self.trade_ids.contains(&sscc) {
                self.trade_ids.push(sscc);
            }
        }
        Ok(())
    }
}

fn map_event(
    e: &Node<'_>,
    prefixes: &[String],
    target: &ImportTarget,
    opts: &EpcisOptions,
    document: &tradelog_protocol::event::Document,
) -> Result<Vec<EventBody>, ImportError> {
    e.require_object()?;
    let (ty, ty_path) = e.req_str("type")?;
    match ty {
        "ObjectEvent" | "AggregationEvent" | "TransactionEvent" => {}
        "TransformationEvent" | "AssociationEvent" => {
            return Err(unsupported(
                &ty_path,
                ty,
                "only ObjectEvent, AggregationEvent and TransactionEvent are imported",
            ))
        }
        other => return Err(invalid(&ty_path, other, "not an EPCIS 2.0 event type")),
    }
    let (action, action_path) = e.req_str("action")?;
    if !matches!(action, "ADD" | "OBSERVE" | "DELETE") {
        return Err(invalid(
            &action_path,
            action,
            "action is ADD, OBSERVE or DELETE",
        ));
    }
    let (time, time_path) = e.req_str("eventTime")?;
    let time = rfc3339_ms(&time_path, time)?;
    let offset = match e.opt_str("eventTimeZoneOffset")? {
        Some((o, path)) => Some(super::normal_offset(o).ok_or_else(|| {
            invalid(
                &path,
                o,
                "a time zone offset is +hh:mm or -hh:mm within 14:00",
            )
        })?),
        None => None,
    };
    let (step_raw, step_path) = e.req_str("bizStep")?;
    let step = bare(step_raw, &BIZSTEP_PREFIXES);
    let disposition = e
        .opt_str("disposition")?
        .map(|(d, _)| bare(d, &DISP_PREFIXES));
    if step != "other" && kind_of_bizstep(step, disposition).is_none() {
        return Err(unsupported(
            &step_path,
            step_raw,
            "no tradelog kind for this bizStep (see docs/STANDARDS.md)",
        ));
    }
    let kind = match tl_member(e, prefixes, "kind") {
        Some(k) => {
            let name = k.str()?;
            let kind: EventKind = serde_json::from_value(Value::String(name.to_owned()))
                .map_err(|_| invalid(&k.path, name, "not a tradelog event kind"))?;
            if bizstep_of(kind) != step && earlier_bizstep_of(kind) != Some(step) {
                return Err(invalid(
                    &step_path,
                    step_raw,
                    format!(
                        "{} {} is written with bizStep {:?}",
                        k.path,
                        kind.as_str(),
                        bizstep_of(kind)
                    ),
                ));
            }
            kind
        }
        None => kind_of_bizstep(step, disposition).ok_or_else(|| {
            unsupported(
                &step_path,
                step_raw,
                "bizStep other needs the tl:kind extension naming the tradelog kind",
            )
        })?,
    };
    if kind.requires_ucr_and_container() {
        let want = if kind == EventKind::Packed {
            "ADD"
        } else {
            "DELETE"
        };
        if ty != "AggregationEvent" || action != want {
            return Err(invalid(
                &step_path,
                step_raw,
                format!(
                    "{} is imported from an AggregationEvent with action {want}",
                    kind.as_str()
                ),
            ));
        }
    }

    let mut ids = Ids::default();
    if let Some(u) = &opts.ucr {
        ids.add_ucr(u.clone(), u.as_str(), "--ucr".into())?;
    }
    if let Some(p) = e.get("parentID") {
        let uri = p.str()?;
        ids.add_uri(uri, p.path.clone())?;
    }
    for list in ["epcList", "childEPCs"] {
        if let Some(l) = e.get(list) {
            for item in l.items()? {
                ids.add_uri(item.str()?, item.path.clone())?;
            }
        }
    }
    if let Some(l) = e.get("bizTransactionList") {
        for bt in l.items()? {
            let (value, value_path) = bt.req_str("bizTransaction")?;
            ids.add_uri(value, value_path.clone())?;
            let Some((t, _)) = bt.opt_str("type")? else {
                continue;
            };
            let as_ucr = opts
                .ucr_biz_transaction
                .as_deref()
                .is_some_and(|w| bare(w, &BTT_PREFIXES) == bare(t, &BTT_PREFIXES));
            if let (Some(carrier), "bol", false) = (&opts.carrier, bare(t, &BTT_PREFIXES), as_ucr) {
                let last = value.rsplit([':', '/']).next().unwrap_or(value);
                let bl = TradeId::transport_document(carrier, last).map_err(|err| {
                    invalid(
                        &value_path,
                        value,
                        format!("not a tradelog B/L number: {}", err.reason),
                    )
                })?;
                if !ids.trade_ids.contains(&bl) {
                    ids.trade_ids.push(bl);
                }
            }
            let Some(want) = &opts.ucr_biz_transaction else {
                continue;
            };
            if bare(t, &BTT_PREFIXES) == bare(want, &BTT_PREFIXES) {
                let last = value.rsplit([':', '/']).next().unwrap_or(value);
                let u: Ucr = last
                    .parse()
                    .map_err(|err| invalid(&value_path, value, format!("{err}")))?;
                ids.add_ucr(u, value, value_path)?;
            }
        }
    }
    let ucr = ids.ucr.map(|(u, _)| u);
    let mut trade_ids = ids.trade_ids;
    trade_ids.sort();
    if trade_ids.len() > tradelog_protocol::event::MAX_IDS {
        return Err(unsupported(
            e.path(),
            ty,
            format!(
                "names {} SSCCs and bills of lading; a ledger event names at most {}",
                trade_ids.len(),
                tradelog_protocol::event::MAX_IDS
            ),
        ));
    }
    let trade_ids = (!trade_ids.is_empty()).then_some(trade_ids);
    if ucr.is_none() && ids.containers.is_empty() && trade_ids.is_none() {
        return Err(invalid(
            e.path(),
            ty,
            "names no consignment, container or SSCC: give a https://tradelog.example/ucr/, \
             urn:epc:id:bic: or urn:epc:id:sscc: identifier, a bizTransaction mapping, or a \
             fixed UCR",
        ));
    }

    let place = match e.get("bizLocation").or_else(|| e.get("readPoint")) {
        Some(n) => {
            let (id, id_path) = n.req_str("id")?;
            let mapped = match id.strip_prefix(LOCODE_URI_PREFIX) {
                Some(code) => Some(
                    code.parse::<UnLocode>()
                        .map_err(|err| invalid(&id_path, id, format!("{err}")))?,
                ),
                None => opts.locations.get(id).cloned(),
            };
            if mapped.is_none() && kind.requires_location() {
                return Err(unsupported(
                    &id_path,
                    id,
                    format!(
                        "{} needs a UN/LOCODE: use {LOCODE_URI_PREFIX}<code> or map this id",
                        kind.as_str()
                    ),
                ));
            }
            mapped
        }
        None if kind.requires_location() => {
            return Err(ImportError::Missing {
                path: format!("{}.readPoint", e.path()),
            })
        }
        None => None,
    };

    let body = |container: Option<ContainerId>| EventBody {
        v: EVENT_VERSION,
        chain: target.chain.clone(),
        ucr: ucr.clone(),
        container,
        kind,
        time,
        location: place.clone(),
        transport: None,
        refs: Vec::new(),
        documents: vec![document.clone()],
        details: BTreeMap::new(),
        issuer: target.issuer.clone(),
        parties: None,
        source: None,
        ids: trade_ids.clone(),
        retracts: None,
        aeo: None,
        mra: None,
        reason: None,
        offset: offset.clone(),
        membership: None,
    };
    let bodies: Vec<EventBody> = if ids.containers.is_empty() {
        vec![body(None)]
    } else {
        ids.containers.into_iter().map(|c| body(Some(c))).collect()
    };
    bodies.into_iter().map(|b| checked(e.path(), b)).collect()
}

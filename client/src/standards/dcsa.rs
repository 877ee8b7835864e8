//! DCSA Track & Trace 2.2 and 3.0 import: one event object, or the array `GET /v2/events`,
//! `GET /v3/events` and the 3.0 subscription callback (`POST {callbackUrl}`) carry, becomes
//! ledger event bodies, each source event imported or skipped on its own ([`import_each`]).
//!
//! The version is read from the structure (`dcsa_version.rs`): a 2.2 event is flat (`eventType`,
//! `eventClassifierCode`, ... at its top), a 3.0 event is `{"metadata": {eventID, eventType,
//! retractedEventID, publisher, ...}, "payload": {...}}` with the business fields in `payload`.
//! A document mixing both, or showing neither, is refused unless the version is given.
//! Between the versions (field names in `dcsa_version::Dialect`): 3.0 moves `eventType` and `eventID` to
//! `metadata`; `documentReferences` `{documentReferenceType, documentReferenceValue}` become
//! `relatedDocumentReferences` `{type, value}`; `references` `{referenceType, referenceValue}`
//! become `{type, value}`; a shipment event's `documentID` becomes `documentReference`; the
//! customs document `CUS` becomes `CUC` (Customs Clearance); the transport call's place is only
//! `transportCall.location.UNLocationCode` and its voyages `carrierImportVoyageNumber` /
//! `carrierExportVoyageNumber`; a barge call names its craft in `barge`; an equipment event
//! away from a transport call has its own `facilityTypeCode`; and an event may be a retraction
//! (`metadata.retractedEventID`, no payload).
//!
//! - `TRANSPORT` `ARRI`/`DEPA` → `arrived`/`departed`, with the transport call's vessel
//!   (`IMO` + `vesselIMONumber`) and voyage (import voyage on arrival, export voyage on departure);
//! - `EQUIPMENT` `LOAD`/`DISC`/`GTIN`/`GTOT`/`STUF`/`STRP`/`INSP` → `loaded`/`discharged`/
//!   `gate_in`/`gate_out`/`packed`/`unpacked`/`inspected`, and `DROP` at a customer location
//!   (`facilityTypeCode` `CLOC`) → `delivered`; the container is `equipmentReference` (ISO 6346);
//! - `SHIPMENT` `CONF` on `BKG` → `booked`, `SUBM` on `CUS` (3.0 `CUC`) → `declared`,
//!   `HOLD`/`RELS` on `CUS` (3.0 `CUC`) → `held`/`released`, `ISSU` on any document →
//!   `document_anchored`;
//! - only actual events (`eventClassifierCode` `ACT`): planned and estimated ones are skipped,
//!   as are 3.0 retractions (not imported yet) and codes with no tradelog kind;
//! - UCR: DCSA has no UCR member. It comes from the reference [`DcsaOptions::ucr_from`] names
//!   (booking, transport document or a `references` type), whose value must be a UCR, or from a
//!   fixed UCR; sources that disagree, or none, skip the event;
//! - location: `eventLocation.UNLocationCode`, else `transportCall.UNLocationCode` (2.2), else
//!   `transportCall.location.UNLocationCode`; shipment events carry none and none is invented
//!   (a customs release without a place is measured at the border post of the consignment's
//!   arrival, `tradelog_protocol::trs`); time: `eventDateTime` with its offset.

use std::collections::BTreeMap;

use tradelog_protocol::event::{
    EventBody, EventKind, Retracts, Transport, TransportMode, EVENT_VERSION,
};
use tradelog_protocol::{ContainerId, TradeId, Ucr, UnLocode};

pub use super::dcsa_version::{DcsaVersion, UnknownVersion};

use super::dcsa_version::{detect, Dialect, V2_2, V3_0};
use super::{
    anchor, checked, invalid, parse_bounded, rfc3339_ms, unsupported, ImportError, ImportTarget,
    Imported, Node, MAX_IMPORTED_EVENTS,
};

/// Anchor kind for a document holding one DCSA event (either version).
pub const DCSA_EVENT_KIND: &str = "dcsa_event";
/// Anchor kind for a document holding an array of DCSA events (either version).
pub const DCSA_EVENT_LIST_KIND: &str = "dcsa_event_list";

/// Which DCSA reference carries the consignment's UCR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UcrSource {
    /// The carrier booking reference: a document reference of type `BKG` (2.2
    /// `documentReferences`, 3.0 `relatedDocumentReferences`), or the document of a shipment
    /// event on `BKG` (2.2 `documentID`, 3.0 `documentReference`).
    Booking,
    /// The transport document reference: the same, of type `TRD`.
    TransportDocument,
    /// A shipper's reference: `references` of this type (`FF`, `SI`, `PO`, `CR`, `AAO`).
    Reference(String),
}

/// How the UCR is found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DcsaOptions {
    /// The reference holding the UCR; none: only [`DcsaOptions::ucr`].
    pub ucr_from: Option<UcrSource>,
    /// A UCR for every event; an event whose reference names another is skipped.
    pub ucr: Option<Ucr>,
    /// Also record, once per document and set, a `linked` event binding the UCR and the
    /// transport documents and bookings an event names together (PROTOCOL.md 8f: the carrier
    /// links its own documents), so that provenance by any of them gives the same route.
    pub link: bool,
}

/// The `source` of the `linked` events an import records: with the subjects it names, its
/// 8e source key, so the same link recorded again from another document is answered with the
/// first.
pub const LINK_SOURCE: (&str, &str) = ("tradelog", "link");

/// Maps a DCSA T&T 2.2 or 3.0 document (its exact bytes), all or nothing: the bodies if every
/// event maps, else the first skipped event's error ([`Imported::strict`] of [`import_each`]
/// with the version detected).
pub fn import(
    bytes: &[u8],
    target: &ImportTarget,
    opts: &DcsaOptions,
) -> Result<Vec<EventBody>, ImportError> {
    import_each(bytes, target, opts, None)?.strict()
}

/// Maps a DCSA T&T document (its exact bytes) event by event: unsigned ledger event bodies in
/// document order, each anchoring the document's SHA-256, and what became of every source
/// event. `version` overrides detection. Refused as a whole: too large, not JSON, neither an
/// object nor an array, no events or more than [`MAX_IMPORTED_EVENTS`], version not told.
pub fn import_each(
    bytes: &[u8],
    target: &ImportTarget,
    opts: &DcsaOptions,
    version: Option<DcsaVersion>,
) -> Result<Imported, ImportError> {
    import_each_known(bytes, target, opts, version, &Default::default())
}

/// [`import_each`], where `known` holds the first ledger body of source events imported from
/// earlier documents, by event id: a 3.0 retraction of one of them (a later notification, as a
/// feed sends it) takes its subjects from there (the connector keeps them, `DIR/sources.jsonl`).
pub fn import_each_known(
    bytes: &[u8],
    target: &ImportTarget,
    opts: &DcsaOptions,
    version: Option<DcsaVersion>,
    known: &std::collections::HashMap<String, EventBody>,
) -> Result<Imported, ImportError> {
    let doc = parse_bounded(bytes)?;
    let root = Node::root(&doc);
    let (events, kind) = if doc.is_array() {
        (root.items()?, DCSA_EVENT_LIST_KIND)
    } else {
        root.require_object()?;
        (vec![root], DCSA_EVENT_KIND)
    };
    if events.is_empty() {
        return Err(invalid("$", "[]", "no events to import"));
    }
    if events.len() > MAX_IMPORTED_EVENTS {
        return Err(ImportError::TooMany {
            path: "$".into(),
            count: events.len(),
            max: MAX_IMPORTED_EVENTS,
        });
    }
    let version = match version {
        Some(v) => v,
        None => detect(&events)?,
    };
    let document = anchor(kind, bytes);
    let mut out = Imported::default();
    // The bodies imported so far, by source event id: a 3.0 retraction names its event by id
    // and carries no payload, so its subjects are those of the retracted event.
    let mut mapped: std::collections::HashMap<String, EventBody> = Default::default();
    // The sets already linked in this document.
    let mut linked: std::collections::HashSet<(Option<Ucr>, Vec<TradeId>)> = Default::default();
    for e in &events {
        // The id where the version puts it, else where the other one does (an event of the
        // other version, skipped, is still named).
        let (v2_id, v3_id) = (id_at(e, &["eventID"]), id_at(e, &["metadata", "eventID"]));
        let (source_id, result) = match version {
            DcsaVersion::V2_2 => (v2_id.or(v3_id), map_v2(e, target, opts)),
            DcsaVersion::V3_0 => (v3_id.or(v2_id), map_v3(e, target, opts, &mapped, known)),
        };
        let result = result.and_then(|mut b| {
            b.documents = vec![document.clone()];
            b.source = super::source_of("dcsa", source_id.as_deref());
            checked(e.path(), b).map(|b| vec![b])
        });
        if let (Ok(bodies), Some(id)) = (&result, &source_id) {
            if let Some(b) = bodies.first() {
                mapped.insert(id.clone(), b.clone());
            }
        }
        let result = match result {
            Ok(mut bodies) if opts.link => {
                if let Some(link) = bodies.first().and_then(|b| link_of(b, &mut linked)) {
                    if let Ok(link) = checked(e.path(), link) {
                        bodies.push(link);
                    }
                }
                Ok(bodies)
            }
            other => other,
        };
        out.push("$", e.path(), source_id, result)?;
    }
    Ok(out)
}

/// The `linked` event of `b`'s UCR and identifiers, if it names at least two of them and
/// this document has not linked that set yet.
fn link_of(
    b: &EventBody,
    linked: &mut std::collections::HashSet<(Option<Ucr>, Vec<TradeId>)>,
) -> Option<EventBody> {
    if b.kind == EventKind::Retracted {
        return None;
    }
    let ids = b.ids.clone()?;
    if usize::from(b.ucr.is_some()) + ids.len() < 2 || !linked.insert((b.ucr.clone(), ids.clone()))
    {
        return None;
    }
    let mut l = b.clone();
    l.kind = EventKind::Linked;
    l.container = None;
    l.location = None;
    l.transport = None;
    l.details = BTreeMap::new();
    l.source = Some(tradelog_protocol::event::Source {
        standard: LINK_SOURCE.0.into(),
        id: LINK_SOURCE.1.into(),
    });
    Some(l)
}

/// A DCSA 3.x retraction (`metadata.retractedEventID`) of `retracted`, an event of the same
/// document imported before it: a `retracted` ledger event naming it by its source (8g), with
/// its subjects, at the retraction's `eventCreatedDateTime`.
fn retraction_of(
    meta: &Node<'_>,
    id: &str,
    retracted: &EventBody,
) -> Result<EventBody, ImportError> {
    let (time, time_path) = meta.req_str("eventCreatedDateTime")?;
    let time = rfc3339_ms(&time_path, time)?;
    let mut b = retracted.clone();
    b.kind = EventKind::Retracted;
    b.time = time;
    b.location = None;
    b.transport = None;
    b.retracts = Some(Retracts::Source(tradelog_protocol::event::Source {
        standard: "dcsa".into(),
        id: id.to_owned(),
    }));
    Ok(b)
}

/// The string at `keys` below `e`, if there is one.
fn id_at(e: &Node<'_>, keys: &[&str]) -> Option<String> {
    let mut v = e.v;
    for k in keys {
        v = v.get(k)?;
    }
    v.as_str().map(str::to_owned)
}

fn map_v2(
    e: &Node<'_>,
    target: &ImportTarget,
    opts: &DcsaOptions,
) -> Result<EventBody, ImportError> {
    e.require_object()?;
    map_event(e, None, target, opts, &V2_2)
}

fn map_v3(
    e: &Node<'_>,
    target: &ImportTarget,
    opts: &DcsaOptions,
    mapped: &std::collections::HashMap<String, EventBody>,
    known: &std::collections::HashMap<String, EventBody>,
) -> Result<EventBody, ImportError> {
    e.require_object()?;
    let meta = e.req("metadata")?;
    meta.require_object()?;
    if let Some(r) = meta.get("retractedEventID") {
        let id = r.v.as_str().map_or_else(|| r.v.to_string(), str::to_owned);
        return match mapped.get(&id).or_else(|| known.get(&id)) {
            Some(retracted) => retraction_of(&meta, &id, retracted),
            None => Err(unsupported(
                &r.path,
                &id,
                "DCSA 3.0: a retraction of an event this document did not import (its \
                 subjects are unknown here); import the retraction with the event it retracts, \
                 or through tradelog connect, which keeps the events it imported",
            )),
        };
    }
    let (ty, ty_path) = meta.req_str("eventType")?;
    let payload = e.req("payload")?;
    payload.require_object()?;
    if let Some((p, p_path)) = payload.opt_str("eventType")? {
        if p != ty {
            return Err(invalid(
                &p_path,
                p,
                format!("DCSA 3.0: {ty_path} is {ty:?}"),
            ));
        }
    }
    map_event(&payload, Some((ty, ty_path)), target, opts, &V3_0)
}

fn kind_of(e: &Node<'_>, ty: &str, ty_path: &str, d: &Dialect) -> Result<EventKind, ImportError> {
    let v = d.version;
    match ty {
        "TRANSPORT" => {
            let (code, path) = e.req_str("transportEventTypeCode")?;
            match code {
                "ARRI" => Ok(EventKind::Arrived),
                "DEPA" => Ok(EventKind::Departed),
                other => Err(invalid(
                    &path,
                    other,
                    format!("DCSA {v}: transportEventTypeCode is ARRI or DEPA"),
                )),
            }
        }
        "EQUIPMENT" => {
            let (code, path) = e.req_str("equipmentEventTypeCode")?;
            match code {
                "LOAD" => Ok(EventKind::Loaded),
                "DISC" => Ok(EventKind::Discharged),
                "GTIN" => Ok(EventKind::GateIn),
                "GTOT" => Ok(EventKind::GateOut),
                "STUF" => Ok(EventKind::Packed),
                "STRP" => Ok(EventKind::Unpacked),
                "INSP" => Ok(EventKind::Inspected),
                "DROP" => {
                    let facility = e
                        .get("transportCall")
                        .and_then(|t| t.get("facilityTypeCode"))
                        .or_else(|| e.get("facilityTypeCode"))
                        .and_then(|f| f.v.as_str().map(str::to_owned));
                    if facility.as_deref() == Some("CLOC") {
                        Ok(EventKind::Delivered)
                    } else {
                        Err(unsupported(
                            &path,
                            code,
                            format!(
                                "DCSA {v}: DROP is imported as delivered only at a customer \
                                 location (facilityTypeCode CLOC)"
                            ),
                        ))
                    }
                }
                other if d.other_equipment.contains(&other) => Err(unsupported(
                    &path,
                    other,
                    format!("DCSA {v}: no tradelog kind for this equipment event"),
                )),
                other => Err(invalid(
                    &path,
                    other,
                    format!("not a DCSA {v} equipmentEventTypeCode"),
                )),
            }
        }
        "SHIPMENT" => {
            let (code, path) = e.req_str("shipmentEventTypeCode")?;
            let (doc, doc_path) = e.req_str("documentTypeCode")?;
            let customs = d.customs;
            match (code, doc) {
                ("CONF", "BKG") => Ok(EventKind::Booked),
                ("SUBM", c) if c == customs => Ok(EventKind::Declared),
                ("HOLD", c) if c == customs => Ok(EventKind::Held),
                ("RELS", c) if c == customs => Ok(EventKind::Released),
                ("ISSU", _) => Ok(EventKind::DocumentAnchored),
                ("CONF" | "SUBM" | "HOLD" | "RELS", _) => Err(unsupported(
                    &doc_path,
                    doc,
                    format!(
                        "DCSA {v}: {code} is imported only on document {} (a carrier's own \
                         release or hold is not a customs decision)",
                        if code == "CONF" { "BKG" } else { customs }
                    ),
                )),
                (other, _) => Err(unsupported(
                    &path,
                    other,
                    format!(
                        "DCSA {v}: no tradelog kind for this shipment event (CONF, SUBM, HOLD, \
                         RELS, ISSU are imported)"
                    ),
                )),
            }
        }
        other => Err(unsupported(
            ty_path,
            other,
            format!("DCSA {v}: eventType is TRANSPORT, EQUIPMENT or SHIPMENT"),
        )),
    }
}

/// The values of the references `source` names, each with its path.
fn references(
    e: &Node<'_>,
    source: &UcrSource,
    d: &Dialect,
) -> Result<Vec<(String, String)>, ImportError> {
    let mut out = Vec::new();
    let doc_type = match source {
        UcrSource::Booking => Some("BKG"),
        UcrSource::TransportDocument => Some("TRD"),
        UcrSource::Reference(_) => None,
    };
    let [list_key, type_key, value_key, want] = match (source, doc_type) {
        (_, Some(want)) => [d.doc_refs[0], d.doc_refs[1], d.doc_refs[2], want],
        (UcrSource::Reference(want), None) => [d.refs[0], d.refs[1], d.refs[2], want.as_str()],
        _ => return Ok(out),
    };
    if let Some(list) = e.get(list_key) {
        for r in list.items()? {
            let (t, _) = r.req_str(type_key)?;
            if t == want {
                let (v, p) = r.req_str(value_key)?;
                out.push((v.to_owned(), p));
            }
        }
    }
    if let Some(want) = doc_type {
        if let Some((t, _)) = e.opt_str("documentTypeCode")? {
            if t == want {
                let (v, p) = e.req_str(d.document_id)?;
                out.push((v.to_owned(), p));
            }
        }
    }
    Ok(out)
}

/// The trade identifiers the event names (PROTOCOL.md 8f): its transport documents (`TRD`) and
/// bookings (`BKG`) from `documentReferences` and, of a shipment event, its own document,
/// qualified by `carrier` (the organisation importing its own feed). A reference that is not a
/// valid number (lowercase, spaces, longer than 35) is refused, naming it: identifiers are
/// never normalised. A reference that `--ucr-from` reads as the UCR is not also an identifier.
fn ids_of(
    e: &Node<'_>,
    d: &Dialect,
    opts: &DcsaOptions,
    carrier: &tradelog_protocol::OrgId,
) -> Result<Option<Vec<TradeId>>, ImportError> {
    let mut out: Vec<TradeId> = Vec::new();
    for (source, make) in [
        (
            UcrSource::TransportDocument,
            TradeId::transport_document as fn(&_, &str) -> _,
        ),
        (UcrSource::Booking, TradeId::booking),
    ] {
        if opts.ucr_from.as_ref() == Some(&source) {
            continue;
        }
        for (value, path) in references(e, &source, d)? {
            let id = make(carrier, &value).map_err(|err| {
                invalid(
                    &path,
                    &value,
                    format!("not a tradelog {source:?} number: {}", err.reason),
                )
            })?;
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out.sort();
    if out.len() > tradelog_protocol::event::MAX_IDS {
        return Err(unsupported(
            e.path(),
            "documentReferences",
            format!(
                "{} transport documents and bookings; a ledger event names at most {}",
                out.len(),
                tradelog_protocol::event::MAX_IDS
            ),
        ));
    }
    Ok((!out.is_empty()).then_some(out))
}

fn ucr_of(e: &Node<'_>, opts: &DcsaOptions, d: &Dialect) -> Result<Option<Ucr>, ImportError> {
    let mut found: Option<(Ucr, String)> = opts.ucr.clone().map(|u| (u, "--ucr".to_owned()));
    let Some(source) = &opts.ucr_from else {
        return Ok(found.map(|(u, _)| u));
    };
    for (value, path) in references(e, source, d)? {
        let u: Ucr = value
            .parse()
            .map_err(|err| invalid(&path, &value, format!("not a UCR: {err}")))?;
        match &found {
            Some((first, at)) if *first != u => {
                return Err(invalid(
                    &path,
                    &value,
                    format!("a second UCR; {at} gives {first}"),
                ))
            }
            Some(_) => {}
            None => found = Some((u, path)),
        }
    }
    Ok(found.map(|(u, _)| u))
}

fn locode(n: &Node<'_>) -> Result<UnLocode, ImportError> {
    let s = n.str()?;
    s.parse()
        .map_err(|err| invalid(&n.path, s, format!("{err}")))
}

fn location_of(e: &Node<'_>) -> Result<Option<UnLocode>, ImportError> {
    if let Some(code) = e.get("eventLocation").and_then(|l| l.get("UNLocationCode")) {
        return locode(&code).map(Some);
    }
    let Some(call) = e.get("transportCall") else {
        return Ok(None);
    };
    if let Some(code) = call.get("UNLocationCode") {
        return locode(&code).map(Some);
    }
    match call.get("location").and_then(|l| l.get("UNLocationCode")) {
        Some(code) => locode(&code).map(Some),
        None => Ok(None),
    }
}

fn is_means(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 35
        && s.bytes().all(|c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'/')
        })
}

fn transport_of(
    e: &Node<'_>,
    kind: EventKind,
    d: &Dialect,
) -> Result<Option<Transport>, ImportError> {
    let Some(call) = e.get("transportCall") else {
        return Ok(None);
    };
    // 3.0 names a barge in `barge`, whose IMO number is optional: without it, no transport.
    let craft = match call.get("vessel") {
        Some(v) => v,
        None => match call.get("barge") {
            Some(b) if d.version == DcsaVersion::V3_0 && b.get("vesselIMONumber").is_some() => b,
            _ => return Ok(None),
        },
    };
    let (mode_code, mode_path) = call.req_str("modeOfTransport")?;
    let mode = match mode_code {
        "VESSEL" => TransportMode::Sea,
        "BARGE" => TransportMode::InlandWaterway,
        "RAIL" => TransportMode::Rail,
        "TRUCK" => TransportMode::Road,
        other => {
            return Err(invalid(
                &mode_path,
                other,
                "modeOfTransport is VESSEL, BARGE, RAIL or TRUCK",
            ))
        }
    };
    let (imo, imo_path) = craft.req_str("vesselIMONumber")?;
    if imo.len() != 7 || !imo.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(&imo_path, imo, "an IMO number is 7 digits"));
    }
    let voyage_keys = if kind == EventKind::Arrived {
        d.arrival_voyages
    } else {
        d.departure_voyages
    };
    let mut voyage = None;
    for k in voyage_keys {
        if let Some((v, p)) = call.opt_str(k)? {
            if !is_means(v) {
                return Err(invalid(
                    &p,
                    v,
                    "a tradelog voyage is 1-35 characters of A-Z, 0-9, '-', '.', '/'",
                ));
            }
            voyage = Some(v.to_owned());
            break;
        }
    }
    Ok(Some(Transport {
        mode,
        means: format!("IMO{imo}"),
        voyage,
    }))
}

/// Maps one event: `e` is the 2.2 event or the 3.0 payload; `ty` the 3.0 `metadata.eventType`
/// (2.2 reads `eventType` from `e`).
fn map_event(
    e: &Node<'_>,
    ty: Option<(&str, String)>,
    target: &ImportTarget,
    opts: &DcsaOptions,
    d: &Dialect,
) -> Result<EventBody, ImportError> {
    let v = d.version;
    let (class, class_path) = e.req_str("eventClassifierCode")?;
    if class != "ACT" {
        return Err(unsupported(
            &class_path,
            class,
            format!(
                "DCSA {v}: only actual events (ACT) enter the ledger; planned (PLN) and \
                 estimated (EST) ones do not"
            ),
        ));
    }
    let (ty, ty_path) = match ty {
        Some(t) => t,
        None => e.req_str("eventType")?,
    };
    let kind = kind_of(e, ty, &ty_path, d)?;
    let (time_text, time_path) = e.req_str("eventDateTime")?;
    let time = rfc3339_ms(&time_path, time_text)?;
    let offset = super::offset_of(time_text);
    let container = match e.opt_str("equipmentReference")? {
        Some((c, path)) => Some(c.parse::<ContainerId>().map_err(|err| {
            invalid(
                &path,
                c,
                format!("{err} (non-ISO 6346 equipment is not imported)"),
            )
        })?),
        None if ty == "EQUIPMENT" => {
            return Err(ImportError::Missing {
                path: e.child_path("equipmentReference"),
            })
        }
        None => None,
    };
    let ucr = ucr_of(e, opts, d)?;
    let ids = ids_of(e, d, opts, &target.issuer.org)?;
    if ucr.is_none() && ids.is_none() && (container.is_none() || kind.requires_ucr_and_container())
    {
        // Named at the list the reference was looked for in (absent, or without that type).
        return Err(match &opts.ucr_from {
            None => invalid(
                e.path(),
                kind.as_str(),
                "no UCR, equipment, transport document or booking: give the reference that \
                 carries a UCR (--ucr-from) or a fixed UCR",
            ),
            Some(s) => invalid(
                &e.child_path(match s {
                    UcrSource::Reference(_) => d.refs[0],
                    _ => d.doc_refs[0],
                }),
                kind.as_str(),
                format!("no UCR: the event has no {s:?} reference"),
            ),
        });
    }
    let location = location_of(e)?;
    if location.is_none() && kind.requires_location() {
        return Err(ImportError::Missing {
            path: e.child_path(d.location_member),
        });
    }
    Ok(EventBody {
        v: EVENT_VERSION,
        chain: target.chain.clone(),
        ucr,
        container,
        kind,
        time,
        location,
        transport: transport_of(e, kind, d)?,
        refs: Vec::new(),
        documents: Vec::new(),
        details: BTreeMap::new(),
        issuer: target.issuer.clone(),
        parties: None,
        source: None,
        ids,
        retracts: None,
        aeo: None,
        mra: None,
        reason: None,
        offset,
        membership: None,
    })
}

//! DCSA Track & Trace 2.2 import: one event object, or the array `GET /v2/events` answers,
//! becomes ledger event bodies.
//!
//! - `TRANSPORT` `ARRI`/`DEPA` → `arrived`/`departed`, with the transport call's vessel
//!   (`IMO` + `vesselIMONumber`) and voyage (import voyage on arrival, export voyage on departure);
//! - `EQUIPMENT` `LOAD`/`DISC`/`GTIN`/`GTOT`/`STUF`/`STRP`/`INSP` → `loaded`/`discharged`/
//!   `gate_in`/`gate_out`/`packed`/`unpacked`/`inspected`, and `DROP` at a customer location
//!   (`facilityTypeCode` `CLOC`) → `delivered`; the container is `equipmentReference` (ISO 6346);
//! - `SHIPMENT` `CONF` on `BKG` → `booked`, `SUBM` on `CUS` → `declared`, `HOLD`/`RELS` on `CUS`
//!   → `held`/`released`, `ISSU` on any document → `document_anchored`;
//! - only actual events (`eventClassifierCode` `ACT`): planned and estimated ones are refused;
//! - UCR: DCSA has no UCR member. It comes from the reference [`DcsaOptions::ucr_from`] names
//!   (booking, transport document or a `references` type), whose value must be a UCR, or from a
//!   fixed UCR; sources that disagree are refused;
//! - location: `eventLocation.UNLocationCode`, else `transportCall.UNLocationCode`, else
//!   `transportCall.location.UNLocationCode`; shipment events carry none and none is invented
//!   (a customs release without a place is measured at the border post of the consignment's
//!   arrival, `tradelog_protocol::trs`); time: `eventDateTime` with its offset.

use std::collections::BTreeMap;

use tradelog_protocol::event::{EventBody, EventKind, Transport, TransportMode, EVENT_VERSION};
use tradelog_protocol::{ContainerId, Ucr, UnLocode};

use super::{
    anchor, checked, invalid, parse_bounded, rfc3339_ms, unsupported, ImportError, ImportTarget,
    Node, MAX_IMPORTED_EVENTS,
};

/// Anchor kind for a document holding one DCSA event.
pub const DCSA_EVENT_KIND: &str = "dcsa_event";
/// Anchor kind for a document holding an array of DCSA events.
pub const DCSA_EVENT_LIST_KIND: &str = "dcsa_event_list";

/// Which DCSA reference carries the consignment's UCR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UcrSource {
    /// The carrier booking reference: `documentReferences` of type `BKG`, or `documentID` of a
    /// shipment event on document `BKG`.
    Booking,
    /// The transport document reference: `documentReferences` of type `TRD`, or `documentID`
    /// of a shipment event on document `TRD`.
    TransportDocument,
    /// A shipper's reference: `references` of this `referenceType` (`FF`, `SI`, `PO`, `CR`,
    /// `AAO`).
    Reference(String),
}

/// How the UCR is found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DcsaOptions {
    /// The reference holding the UCR; none: only [`DcsaOptions::ucr`].
    pub ucr_from: Option<UcrSource>,
    /// A UCR for every event; an event whose reference names another is refused.
    pub ucr: Option<Ucr>,
}

/// Maps a DCSA T&T 2.2 document (its exact bytes) to unsigned ledger event bodies in document
/// order, each anchoring the document's SHA-256.
pub fn import(
    bytes: &[u8],
    target: &ImportTarget,
    opts: &DcsaOptions,
) -> Result<Vec<EventBody>, ImportError> {
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
    let document = anchor(kind, bytes);
    events
        .iter()
        .map(|e| {
            let mut b = map_event(e, target, opts)?;
            b.documents = vec![document.clone()];
            checked(e.path(), b)
        })
        .collect()
}

fn kind_of(e: &Node<'_>) -> Result<EventKind, ImportError> {
    let (ty, ty_path) = e.req_str("eventType")?;
    match ty {
        "TRANSPORT" => {
            let (code, path) = e.req_str("transportEventTypeCode")?;
            match code {
                "ARRI" => Ok(EventKind::Arrived),
                "DEPA" => Ok(EventKind::Departed),
                other => Err(invalid(
                    &path,
                    other,
                    "transportEventTypeCode is ARRI or DEPA",
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
                        .and_then(|f| f.v.as_str().map(str::to_owned));
                    if facility.as_deref() == Some("CLOC") {
                        Ok(EventKind::Delivered)
                    } else {
                        Err(unsupported(
                            &path,
                            code,
                            "DROP is imported as delivered only at a customer location \
                             (transportCall.facilityTypeCode CLOC)",
                        ))
                    }
                }
                "PICK" | "RSEA" | "RMVD" => Err(unsupported(
                    &path,
                    code,
                    "no tradelog kind for this equipment event",
                )),
                other => Err(invalid(&path, other, "not a DCSA equipmentEventTypeCode")),
            }
        }
        "SHIPMENT" => {
            let (code, path) = e.req_str("shipmentEventTypeCode")?;
            let (doc, doc_path) = e.req_str("documentTypeCode")?;
            match (code, doc) {
                ("CONF", "BKG") => Ok(EventKind::Booked),
                ("SUBM", "CUS") => Ok(EventKind::Declared),
                ("HOLD", "CUS") => Ok(EventKind::Held),
                ("RELS", "CUS") => Ok(EventKind::Released),
                ("ISSU", _) => Ok(EventKind::DocumentAnchored),
                ("CONF" | "SUBM" | "HOLD" | "RELS", _) => Err(unsupported(
                    &doc_path,
                    doc,
                    format!(
                        "{code} is imported only on document {} (a carrier's own release or hold \
                         is not a customs decision)",
                        if code == "CONF" { "BKG" } else { "CUS" }
                    ),
                )),
                (other, _) => Err(unsupported(
                    &path,
                    other,
                    "no tradelog kind for this shipment event (CONF, SUBM, HOLD, RELS, ISSU are \
                     imported)",
                )),
            }
        }
        other => Err(unsupported(
            &ty_path,
            other,
            "eventType is TRANSPORT, EQUIPMENT or SHIPMENT",
        )),
    }
}

/// The values of the references `source` names, each with its path.
fn references(e: &Node<'_>, source: &UcrSource) -> Result<Vec<(String, String)>, ImportError> {
    let mut out = Vec::new();
    let doc_type = match source {
        UcrSource::Booking => Some("BKG"),
        UcrSource::TransportDocument => Some("TRD"),
        UcrSource::Reference(_) => None,
    };
    if let Some(want) = doc_type {
        if let Some(list) = e.get("documentReferences") {
            for r in list.items()? {
                let (t, _) = r.req_str("documentReferenceType")?;
                if t == want {
                    let (v, p) = r.req_str("documentReferenceValue")?;
                    out.push((v.to_owned(), p));
                }
            }
        }
        if let Some((t, _)) = e.opt_str("documentTypeCode")? {
            if t == want {
                let (v, p) = e.req_str("documentID")?;
                out.push((v.to_owned(), p));
            }
        }
    }
    if let UcrSource::Reference(want) = source {
        if let Some(list) = e.get("references") {
            for r in list.items()? {
                let (t, _) = r.req_str("referenceType")?;
                if t == want {
                    let (v, p) = r.req_str("referenceValue")?;
                    out.push((v.to_owned(), p));
                }
            }
        }
    }
    Ok(out)
}

fn ucr_of(e: &Node<'_>, opts: &DcsaOptions) -> Result<Option<Ucr>, ImportError> {
    let mut found: Option<(Ucr, String)> = opts.ucr.clone().map(|u| (u, "--ucr".to_owned()));
    let Some(source) = &opts.ucr_from else {
        return Ok(found.map(|(u, _)| u));
    };
    for (value, path) in references(e, source)? {
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

fn transport_of(e: &Node<'_>, kind: EventKind) -> Result<Option<Transport>, ImportError> {
    let Some(call) = e.get("transportCall") else {
        return Ok(None);
    };
    let Some(vessel) = call.get("vessel") else {
        return Ok(None);
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
    let (imo, imo_path) = vessel.req_str("vesselIMONumber")?;
    if imo.len() != 7 || !imo.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(&imo_path, imo, "an IMO number is 7 digits"));
    }
    let voyage_keys: &[&str] = if kind == EventKind::Arrived {
        &[
            "importVoyageNumber",
            "exportVoyageNumber",
            "carrierVoyageNumber",
        ]
    } else {
        &[
            "exportVoyageNumber",
            "carrierVoyageNumber",
            "importVoyageNumber",
        ]
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

fn map_event(
    e: &Node<'_>,
    target: &ImportTarget,
    opts: &DcsaOptions,
) -> Result<EventBody, ImportError> {
    e.require_object()?;
    let (class, class_path) = e.req_str("eventClassifierCode")?;
    if class != "ACT" {
        return Err(unsupported(
            &class_path,
            class,
            "only actual events (ACT) enter the ledger; planned and estimated ones do not",
        ));
    }
    let kind = kind_of(e)?;
    let (time, time_path) = e.req_str("eventDateTime")?;
    let time = rfc3339_ms(&time_path, time)?;
    let container = match e.opt_str("equipmentReference")? {
        Some((c, path)) => Some(c.parse::<ContainerId>().map_err(|err| {
            invalid(
                &path,
                c,
                format!("{err} (non-ISO 6346 equipment is not imported)"),
            )
        })?),
        None if matches!(
            e.v.get("eventType").and_then(|t| t.as_str()),
            Some("EQUIPMENT")
        ) =>
        {
            return Err(ImportError::Missing {
                path: format!("{}equipmentReference", prefix(e)),
            })
        }
        None => None,
    };
    let ucr = ucr_of(e, opts)?;
    if ucr.is_none() && (container.is_none() || kind.requires_ucr_and_container()) {
        return Err(invalid(
            e.path(),
            kind.as_str(),
            match &opts.ucr_from {
                None => "no UCR: give the reference that carries it (--ucr-from) or a fixed UCR"
                    .to_owned(),
                Some(s) => format!("no UCR: the event has no {s:?} reference"),
            },
        ));
    }
    let location = location_of(e)?;
    if location.is_none() && kind.requires_location() {
        return Err(ImportError::Missing {
            path: format!("{}transportCall.UNLocationCode", prefix(e)),
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
        transport: transport_of(e, kind)?,
        refs: Vec::new(),
        documents: Vec::new(),
        details: BTreeMap::new(),
        issuer: target.issuer.clone(),
        parties: None,
        source: None,
        membership: None,
    })
}

/// `"[3]."` for the fourth event of an array, `""` for a single event.
fn prefix(e: &Node<'_>) -> String {
    if e.path().starts_with('[') {
        format!("{}.", e.path())
    } else {
        String::new()
    }
}

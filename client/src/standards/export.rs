//! EPCIS 2.0 export of a verified consignment route: an `EPCISDocument` (JSON-LD) with one event
//! per route timeline entry, in timeline order.
//!
//! - `packed`/`unpacked` → `AggregationEvent` `ADD`/`DELETE` with `parentID` the container
//!   (`urn:epc:id:bic:<ISO 6346>`) and `childEPCs` the consignment; every other kind →
//!   `ObjectEvent` `OBSERVE` whose `epcList` holds the consignment and the container;
//! - the consignment is the URI `https://tradelog.example/ucr/<UCR>` (EPCIS 2.0 accepts any URI
//!   as an instance identifier);
//! - `eventID` is `https://tradelog.example/event/<event id hex>` (a URI, as EPCIS 2.0
//!   requires; not an `ni:` hash URI because the id is BLAKE3 of tradelog's signing message, not
//!   the CBV event hash), repeated as `tl:eventId`;
//! - `bizStep` and `disposition` per the table in docs/STANDARDS.md (PROTOCOL.md 3.4), plus
//!   `tl:kind` with the exact kind (needed where the CBV has no exact code);
//! - `readPoint.id` is `urn:un:locode:<UN/LOCODE>`; `eventTime` is UTC with offset `+00:00`;
//!   `recordTime` is the time of the block that recorded the event, where the bundle proves it;
//! - extension members `tl:issuer`, `tl:logIndex`, `tl:transport`, `tl:documents`,
//!   `tl:refs` and, for a container's own movement, `tl:viaContainer`.
//!
//! `creationDate` is the time of the head the route was verified against, so the export is a
//! pure function of the route.

use serde_json::{json, Map, Value};
use tradelog_protocol::event::EventKind;
use tradelog_protocol::route::Source;
use tradelog_protocol::Route;

use super::epcis::{bizstep_of, disposition_of};
use super::{BIC_URI_PREFIX, EVENT_URI_PREFIX, LOCODE_URI_PREFIX, TL_NAMESPACE, UCR_URI_PREFIX};
use crate::time::format_time;

/// The normative EPCIS 2.0 JSON-LD context.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

pub(crate) fn rfc3339_millis(ms: u64) -> String {
    let s = format_time(ms - ms % 1000);
    // format_time omits zero milliseconds; EPCIS examples always carry them.
    format!("{}.{:03}Z", s.trim_end_matches('Z'), ms % 1000)
}

/// The route as an EPCIS 2.0 `EPCISDocument`.
pub fn to_epcis(route: &Route) -> Value {
    let time_of = |index: u64| {
        route
            .timeline
            .iter()
            .find(|(i, _, _)| *i == index)
            .map(|(_, e, _)| e.body().time)
    };
    let events: Vec<Value> = route
        .timeline
        .iter()
        // Links and retractions are ledger bookkeeping, not EPCIS events: a retraction shows as
        // the retracted event's errorDeclaration (PROTOCOL.md 8g). Advance data and risk
        // outcomes are customs filings and decisions, not supply-chain visibility events
        // (PROTOCOL.md 3.4: not exported).
        .filter(|(_, e, _)| {
            let k = e.body().kind;
            !matches!(
                k,
                EventKind::Linked | EventKind::Retracted | EventKind::AdvanceData
            ) && !k.is_risk_outcome()
        })
        .map(|(index, event, source)| {
            let b = event.body();
            let mut m = Map::new();
            let aggregation = matches!(b.kind, EventKind::Packed | EventKind::Unpacked);
            let ucr_uri = b.ucr.as_ref().map(|u| format!("{UCR_URI_PREFIX}{u}"));
            let bic_uri = b.container.as_ref().map(|c| format!("{BIC_URI_PREFIX}{c}"));
            m.insert(
                "type".into(),
                json!(if aggregation {
                    "AggregationEvent"
                } else {
                    "ObjectEvent"
                }),
            );
            m.insert(
                "eventID".into(),
                json!(format!("{EVENT_URI_PREFIX}{}", event.id())),
            );
            m.insert("eventTime".into(), json!(rfc3339_millis(b.time)));
            // EPCIS recordTime: when the ledger recorded it (its block's certified time).
            if let Some(r) = route.recorded_at(*index) {
                m.insert("recordTime".into(), json!(rfc3339_millis(r.time)));
            }
            // The offset the source gave (3.2 `offset`), else UTC.
            m.insert(
                "eventTimeZoneOffset".into(),
                json!(b.offset.as_deref().unwrap_or("+00:00")),
            );
            if aggregation {
                m.insert(
                    "action".into(),
                    json!(if b.kind == EventKind::Packed {
                        "ADD"
                    } else {
                        "DELETE"
                    }),
                );
                m.insert("parentID".into(), json!(bic_uri));
                m.insert(
                    "childEPCs".into(),
                    json!(ucr_uri.into_iter().collect::<Vec<_>>()),
                );
            } else {
                m.insert("action".into(), json!("OBSERVE"));
                let epcs: Vec<String> = ucr_uri.into_iter().chain(bic_uri).collect();
                m.insert("epcList".into(), json!(epcs));
            }
            m.insert("bizStep".into(), json!(bizstep_of(b.kind)));
            if let Some(d) = disposition_of(b.kind) {
                m.insert("disposition".into(), json!(d));
            }
            if let Some(l) = &b.location {
                m.insert(
                    "readPoint".into(),
                    json!({ "id": format!("{LOCODE_URI_PREFIX}{l}") }),
                );
            }
            m.insert("tl:kind".into(), json!(b.kind.as_str()));
            m.insert("tl:eventId".into(), json!(event.id().to_hex()));
            m.insert("tl:logIndex".into(), json!(index));
            m.insert("tl:issuer".into(), json!(b.issuer.org));
            if let Some(t) = &b.transport {
                m.insert("tl:transport".into(), json!(t));
            }
            if !b.documents.is_empty() {
                m.insert("tl:documents".into(), json!(b.documents));
            }
            if !b.refs.is_empty() {
                m.insert(
                    "tl:refs".into(),
                    json!(b.refs.iter().map(|r| r.to_hex()).collect::<Vec<_>>()),
                );
            }
            if let Source::Container(c) = source {
                m.insert("tl:viaContainer".into(), json!(c));
            }
            if let Some(by) = route.retracted_by(*index) {
                let mut d = Map::new();
                if let Some(t) = time_of(by) {
                    d.insert("declarationTime".into(), json!(rfc3339_millis(t)));
                }
                d.insert("reason".into(), json!("incorrect_data"));
                d.insert("tl:retractionLogIndex".into(), json!(by));
                m.insert("errorDeclaration".into(), Value::Object(d));
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "@context": [EPCIS_CONTEXT, { "tl": TL_NAMESPACE }],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": rfc3339_millis(route.consignment.head.time),
        "epcisBody": { "eventList": events },
    })
}

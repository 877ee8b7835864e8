//! The consignment event: its body, canonical signing bytes, id, signature and structural rules.
//!
//! Wire form (JSON): `{"body": {...}, "sig": "<128 hex>"}`. The signed message is
//! `"tradelog/event/v1" || 0x00 || JCS(body)` and the event id is BLAKE3 of that message, so the
//! same body always has the same id whatever signature accompanies it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::aeo::{AeoRecord, MraRecord};
use crate::hash::Hash;
pub use crate::ids::{is_chain_id, EventId};
use crate::ids::{ContainerId, OrgId, TradeId, Ucr, UnLocode};
use crate::jcs::{self, JcsError, MAX_SAFE_INTEGER};
use crate::keys::{BadSignature, PublicKey, SecretKey, Signature};
use crate::members::MembershipBody;

/// Signature domain of events.
pub const EVENT_DOMAIN: &[u8] = b"tradelog/event/v1";
/// The only body format version defined.
pub const EVENT_VERSION: u32 = 1;
/// Largest accepted JSON text of one signed event, checked before parsing: room for the largest
/// membership event (below) with whitespace.
pub const MAX_EVENT_JSON_BYTES: usize = 256 * 1024;
/// Largest canonical body of an event other than a membership event.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest canonical body of a membership event: a `set_validators` change listing the largest
/// validator set (256 validators, organisation ids of 64 characters) with an approval by every
/// validator in force (256), and every other member at its limit, takes about 110 KiB.
pub const MAX_MEMBERSHIP_BODY_BYTES: usize = 128 * 1024;
/// Most references to earlier events.
pub const MAX_REFS: usize = 16;
/// Most organisations one event names in `parties`.
pub const MAX_PARTIES: usize = 16;
/// Most trade identifiers one event names in `ids`.
pub const MAX_IDS: usize = 16;
/// Most anchored documents.
pub const MAX_DOCUMENTS: usize = 16;
/// Most committed detail fields.
pub const MAX_DETAILS: usize = 32;

/// What happened to the consignment or container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Transport booked with a carrier.
    Booked,
    /// Declaration lodged with customs (export, import, transit or entry summary).
    Declared,
    /// Loaded onto a means of transport.
    Loaded,
    /// Means of transport departed.
    Departed,
    /// Means of transport arrived.
    Arrived,
    /// Discharged from a means of transport.
    Discharged,
    /// Entered a terminal or facility gate.
    GateIn,
    /// Left a terminal or facility gate.
    GateOut,
    /// Moved from one means of transport to another at an intermediate place.
    Transshipped,
    /// Packed (stuffed) into a container.
    Packed,
    /// Unpacked (stripped) from a container.
    Unpacked,
    /// Inspected by customs.
    Inspected,
    /// Held by customs.
    Held,
    /// Released by customs.
    Released,
    /// Seized by customs.
    Seized,
    /// Delivered to the consignee.
    Delivered,
    /// A document anchored by its hash.
    DocumentAnchored,
    /// The UCR and trade identifiers the event names are one consignment (PROTOCOL.md 8f).
    Linked,
    /// An earlier event of the same issuer did not happen as recorded (PROTOCOL.md 8g).
    Retracted,
    /// A customs administration records an organisation's AEO authorisation state (8h).
    AeoStatus,
    /// Two customs administrations record a mutual recognition arrangement (8h).
    Mra,
    /// Advance electronic data for a consignment, before loading or arrival (8i).
    AdvanceData,
    /// Pre-arrival risk assessment: cleared (8i).
    RiskCleared,
    /// Pre-arrival risk assessment: the filer is asked for more information (8i).
    RiskInformationRequested,
    /// Pre-arrival risk assessment: referred for inspection on arrival (8i).
    RiskReferred,
    /// Pre-arrival risk assessment: do not load (8i).
    RiskDoNotLoad,
    /// A membership change: keys, organisations, validators (PROTOCOL.md 8a).
    Membership,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 27] = [
        EventKind::Booked,
        EventKind::Declared,
        EventKind::Loaded,
        EventKind::Departed,
        EventKind::Arrived,
        EventKind::Discharged,
        EventKind::GateIn,
        EventKind::GateOut,
        EventKind::Transshipped,
        EventKind::Packed,
        EventKind::Unpacked,
        EventKind::Inspected,
        EventKind::Held,
        EventKind::Released,
        EventKind::Seized,
        EventKind::Delivered,
        EventKind::DocumentAnchored,
        EventKind::Linked,
        EventKind::Retracted,
        EventKind::AeoStatus,
        EventKind::Mra,
        EventKind::AdvanceData,
        EventKind::RiskCleared,
        EventKind::RiskInformationRequested,
        EventKind::RiskReferred,
        EventKind::RiskDoNotLoad,
        EventKind::Membership,
    ];

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Booked => "booked",
            EventKind::Declared => "declared",
            EventKind::Loaded => "loaded",
            EventKind::Departed => "departed",
            EventKind::Arrived => "arrived",
            EventKind::Discharged => "discharged",
            EventKind::GateIn => "gate_in",
            EventKind::GateOut => "gate_out",
            EventKind::Transshipped => "transshipped",
            EventKind::Packed => "packed",
            EventKind::Unpacked => "unpacked",
            EventKind::Inspected => "inspected",
            EventKind::Held => "held",
            EventKind::Released => "released",
            EventKind::Seized => "seized",
            EventKind::Delivered => "delivered",
            EventKind::DocumentAnchored => "document_anchored",
            EventKind::Linked => "linked",
            EventKind::Retracted => "retracted",
            EventKind::AeoStatus => "aeo_status",
            EventKind::Mra => "mra",
            EventKind::AdvanceData => "advance_data",
            EventKind::RiskCleared => "risk_cleared",
            EventKind::RiskInformationRequested => "risk_information_requested",
            EventKind::RiskReferred => "risk_referred",
            EventKind::RiskDoNotLoad => "risk_do_not_load",
            EventKind::Membership => "membership",
        }
    }

    /// Physical movements and inspections happen somewhere: `location` is required.
    pub fn requires_location(self) -> bool {
        !matches!(
            self,
            EventKind::Booked
                | EventKind::Declared
                | EventKind::Held
                | EventKind::Released
                | EventKind::Seized
                | EventKind::DocumentAnchored
                | EventKind::Linked
                | EventKind::Retracted
                | EventKind::AeoStatus
                | EventKind::Mra
                | EventKind::AdvanceData
                | EventKind::RiskCleared
                | EventKind::RiskInformationRequested
                | EventKind::RiskReferred
                | EventKind::RiskDoNotLoad
                | EventKind::Membership
        )
    }

    /// The four pre-arrival risk assessment outcomes (8i).
    pub fn is_risk_outcome(self) -> bool {
        matches!(
            self,
            EventKind::RiskCleared
                | EventKind::RiskInformationRequested
                | EventKind::RiskReferred
                | EventKind::RiskDoNotLoad
        )
    }

    /// Kinds about an organisation rather than goods (8h): no consignment, container, trade
    /// identifier, place or transport.
    pub fn is_organisation_record(self) -> bool {
        matches!(self, EventKind::AeoStatus | EventKind::Mra)
    }

    /// Packing and unpacking relate a consignment (its UCR or trade identifiers) to a
    /// container: both are required.
    pub fn requires_ucr_and_container(self) -> bool {
        matches!(self, EventKind::Packed | EventKind::Unpacked)
    }
}

/// The detail fields every `advance_data` event commits to (8i), in the order of the spec.
pub const ADVANCE_FIELDS: [&str; 7] = [
    "hs_code",
    "declared_value",
    "currency",
    "consignor_country",
    "consignee_country",
    "item_count",
    "gross_weight_kg",
];

/// Mode of transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportMode {
    /// Maritime.
    Sea,
    /// Air.
    Air,
    /// Road.
    Road,
    /// Rail.
    Rail,
    /// Inland waterway.
    InlandWaterway,
}

/// The means of transport and voyage an event refers to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Transport {
    /// Mode of transport.
    pub mode: TransportMode,
    /// Identifier of the means: IMO number (`IMO9321483`), flight, plate or train number.
    pub means: String,
    /// Voyage or trip reference, if any.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub voyage: Option<String>,
}

/// Where an imported event came from: the standard and the source's own event id (PROTOCOL.md
/// 3.2, 8e). One organisation records one source event once per consignment and container, so
/// a feed delivered twice does not write its history twice.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Source {
    /// The standard, `[a-z0-9_]{1,32}`: `dcsa` (Track & Trace `eventID`), `epcis` (EPCIS 2.0
    /// `eventID`, or the canonical event hash of an event without one).
    pub standard: String,
    /// The source's event id: 1-256 characters of printable ASCII (`!` to `~`).
    pub id: String,
}

/// Longest source event id, in bytes.
pub const MAX_SOURCE_ID: usize = 256;

impl Source {
    /// Checks the member's rules (3.2).
    pub fn check(&self) -> Result<(), EventError> {
        if !is_code(&self.standard, 32) {
            return Err(field(
                "source.standard",
                format!(
                    "{:?} must be 1-32 characters of a-z, 0-9, '_'",
                    self.standard
                ),
            ));
        }
        if self.id.is_empty()
            || self.id.len() > MAX_SOURCE_ID
            || !self.id.bytes().all(|c| (b'!'..=b'~').contains(&c))
        {
            return Err(field(
                "source.id",
                format!("must be 1-{MAX_SOURCE_ID} characters of printable ASCII ('!' to '~')"),
            ));
        }
        Ok(())
    }
}

/// The event a `retracted` event retracts (3.2, 8g): by its id, or by its source event id (the
/// issuer's earlier event with this source and the same subjects).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Retracts {
    /// `{"event": <event id>}`.
    Event(EventId),
    /// `{"source": {"standard", "id"}}`.
    Source(Source),
}

impl std::fmt::Display for Retracts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retracts::Event(id) => write!(f, "{id}"),
            Retracts::Source(s) => write!(f, "{} {:?}", s.standard, s.id),
        }
    }
}

/// Hash algorithm of an anchored document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestAlg {
    /// SHA-256 of the document file.
    Sha256,
    /// BLAKE3 of the document file.
    Blake3,
}

/// A document anchored by its hash; the document itself never enters the ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Document {
    /// Document type code, `[a-z0-9_]{1,32}`, e.g. `commercial_invoice`, `bill_of_lading`.
    pub kind: String,
    /// Hash algorithm.
    pub alg: DigestAlg,
    /// The 32-byte digest.
    pub digest: Hash,
}

/// The organisation and key that sign an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Issuer {
    /// Issuing organisation.
    pub org: OrgId,
    /// The organisation's key that signed.
    pub key: PublicKey,
}

/// The signed content of an event. Field order here is irrelevant: JCS sorts members.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct EventBody {
    /// Format version, always 1.
    pub v: u32,
    /// Chain id of the ledger this event is meant for (no replay across chains).
    pub chain: String,
    /// Consignment, if the event concerns one.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub ucr: Option<Ucr>,
    /// Container, if the event concerns one.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub container: Option<ContainerId>,
    /// What happened.
    pub kind: EventKind,
    /// When it happened: milliseconds since 1970-01-01T00:00:00Z.
    pub time: u64,
    /// Where it happened.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub location: Option<UnLocode>,
    /// The local time offset where it happened, as the source gave it (`+01:00`; 3.2).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub offset: Option<String>,
    /// Means of transport and voyage.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub transport: Option<Transport>,
    /// Ids of earlier events this one follows from (always present, may be empty).
    pub refs: Vec<EventId>,
    /// Anchored documents (always present, may be empty).
    pub documents: Vec<Document>,
    /// Salted commitments to detail fields, by field name (always present, may be empty;
    /// a name given twice is refused).
    #[serde(deserialize_with = "unique_map")]
    pub details: BTreeMap<String, Hash>,
    /// Trade identifiers the event concerns (3.2, 8f): 1 to [`MAX_IDS`] in ascending order,
    /// each once; the event is indexed under each.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub ids: Option<Vec<TradeId>>,
    /// Who signs.
    pub issuer: Issuer,
    /// Organisations this event makes parties of its consignment (section 8c; rules 2): 1 to
    /// [`MAX_PARTIES`] member ids in ascending order, each once; only with `ucr`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parties: Option<Vec<OrgId>>,
    /// The event a `retracted` event retracts (present exactly for that kind; 8g).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub retracts: Option<Retracts>,
    /// The standard and event id this event was imported from (3.2; 8e: one organisation
    /// records a source event once per consignment and container).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub source: Option<Source>,
    /// The change a `membership` event makes (present exactly when `kind` is `membership`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub membership: Option<MembershipBody>,
    /// The authorisation state an `aeo_status` event records (present exactly for that kind;
    /// 8h).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub aeo: Option<AeoRecord>,
    /// The arrangement an `mra` event records (present exactly for that kind; 8h).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub mra: Option<MraRecord>,
    /// The reason code of a risk outcome, `[a-z0-9_]{1,32}` (present exactly for the four
    /// outcome kinds; 8i).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub reason: Option<String>,
}

/// A JSON object whose member names must be unique (RFC 8785 inputs are I-JSON).
fn unique_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Hash>, D::Error> {
    struct Visit;
    impl<'de> serde::de::Visitor<'de> for Visit {
        type Value = BTreeMap<String, Hash>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of detail commitments")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = m.next_entry::<String, Hash>()? {
                if out.len() >= MAX_DETAILS {
                    return Err(serde::de::Error::custom(format!(
                        "more than {MAX_DETAILS} details"
                    )));
                }
                if out.insert(k.clone(), v).is_some() {
                    return Err(serde::de::Error::custom(format!(
                        "detail {k:?} appears twice"
                    )));
                }
            }
            Ok(out)
        }
    }
    d.deserialize_map(Visit)
}

pub(crate) use crate::wire::present;

/// Why an event was refused. Messages name the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The JSON text is longer than the limit (checked before parsing).
    #[error("event JSON is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Bytes given.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// The canonical body `JCS(body)` is longer than the limit of its kind.
    #[error("body: the canonical body is {size} bytes, the limit is {max}")]
    BodyTooLarge {
        /// Bytes of `JCS(body)`.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// Not valid JSON, or a field has the wrong type or value.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// Unknown format version.
    #[error("body.v: version {0} is not supported (expected 1)")]
    Version(u32),
    /// A field breaks a structural rule.
    #[error("body.{field}: {reason}")]
    Field {
        /// The field's name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No canonical form.
    #[error("body has no canonical form: {0}")]
    Canonical(#[from] JcsError),
    /// The signature does not verify against `body.issuer.key`.
    #[error("sig: {0}")]
    Signature(#[from] BadSignature),
}

fn field(field: &'static str, reason: impl Into<String>) -> EventError {
    EventError::Field {
        field,
        reason: reason.into(),
    }
}

fn is_code(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn is_means(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 35
        && s.bytes().all(|c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'/')
        })
}

/// The minutes east of UTC of a `+HH:MM`/`-HH:MM` offset (3.2), or `None` if it breaks the
/// rule (`HH` 00-14, `MM` 00-59, at most 14:00, no `-00:00`).
pub fn offset_minutes(o: &str) -> Option<i32> {
    let b = o.as_bytes();
    if b.len() != 6 || b[3] != b':' || !matches!(b[0], b'+' | b'-') {
        return None;
    }
    let digits = |x: &[u8]| -> Option<i32> {
        x.iter().try_fold(0i32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i32::from(c - b'0'))
        })
    };
    let (h, m) = (digits(&b[1..3])?, digits(&b[4..6])?);
    let total = h * 60 + m;
    if m > 59 || total > 14 * 60 || (b[0] == b'-' && total == 0) {
        return None;
    }
    Some(if b[0] == b'-' { -total } else { total })
}

impl EventBody {
    /// Checks the structural rules (everything but signature, membership and chain id).
    pub fn validate(&self) -> Result<(), EventError> {
        if self.v != EVENT_VERSION {
            return Err(EventError::Version(self.v));
        }
        if !is_chain_id(&self.chain) {
            return Err(field("chain", "must be 1-64 characters of a-z, 0-9, '-'"));
        }
        if self.kind == EventKind::Membership {
            if self.membership.is_none() {
                return Err(field("membership", "required for kind membership"));
            }
            if self.ucr.is_some() || self.container.is_some() || self.ids.is_some() {
                return Err(field(
                    "ucr",
                    "a membership event names no consignment, container or trade identifier",
                ));
            }
            if self.location.is_some() || self.transport.is_some() {
                return Err(field(
                    "location",
                    "a membership event has no location or transport",
                ));
            }
        } else if self.membership.is_some() {
            return Err(field("membership", "only allowed for kind membership"));
        } else if self.kind.is_organisation_record() {
            self.validate_organisation_record()?;
        } else if self.ucr.is_none() && self.container.is_none() && self.ids.is_none() {
            return Err(field(
                "ucr",
                "an event needs a ucr, a container or trade identifiers (ids)",
            ));
        }
        if let Some(ids) = &self.ids {
            if ids.is_empty() || ids.len() > MAX_IDS {
                return Err(field("ids", format!("1 to {MAX_IDS} trade identifiers")));
            }
            if ids.windows(2).any(|w| w[0] >= w[1]) {
                return Err(field(
                    "ids",
                    "trade identifiers must be in ascending order, each once",
                ));
            }
        }
        if self.kind == EventKind::Linked {
            if self.container.is_some() {
                return Err(field(
                    "container",
                    "a linked event links a ucr and trade identifiers, never a container",
                ));
            }
            let named = usize::from(self.ucr.is_some()) + self.ids.as_ref().map_or(0, Vec::len);
            if named < 2 {
                return Err(field(
                    "ids",
                    "a linked event names at least two of ucr and ids together",
                ));
            }
        }
        if self.kind.requires_ucr_and_container() {
            // The consignment packed is named by its UCR or by its trade identifiers (8f: a
            // carrier's stuffing event names the booking, not a UCR).
            if self.ucr.is_none() && self.ids.is_none() {
                return Err(field(
                    "ucr",
                    format!("required for kind {} (or ids)", self.kind.as_str()),
                ));
            }
            if self.container.is_none() {
                return Err(field(
                    "container",
                    format!("required for kind {}", self.kind.as_str()),
                ));
            }
        }
        if self.kind.requires_location() && self.location.is_none() {
            return Err(field(
                "location",
                format!("required for kind {}", self.kind.as_str()),
            ));
        }
        if self.time == 0 || self.time > MAX_SAFE_INTEGER {
            return Err(field(
                "time",
                "must be milliseconds since 1970 in 1..=2^53-1",
            ));
        }
        if let Some(o) = &self.offset {
            if self.kind == EventKind::Membership {
                return Err(field("offset", "a membership event has no offset"));
            }
            if offset_minutes(o).is_none() {
                return Err(field(
                    "offset",
                    format!("{o:?} must be +HH:MM or -HH:MM within 14:00, +00:00 for UTC"),
                ));
            }
        }
        if let Some(t) = &self.transport {
            if !is_means(&t.means) {
                return Err(field(
                    "transport.means",
                    "must be 1-35 characters of A-Z, 0-9, '-', '.', '/'",
                ));
            }
            if let Some(v) = &t.voyage {
                if !is_means(v) {
                    return Err(field(
                        "transport.voyage",
                        "must be 1-35 characters of A-Z, 0-9, '-', '.', '/'",
                    ));
                }
            }
        }
        if let Some(p) = &self.parties {
            if self.ucr.is_none() {
                return Err(field("parties", "only allowed with a ucr"));
            }
            if p.is_empty() || p.len() > MAX_PARTIES {
                return Err(field(
                    "parties",
                    format!("1 to {MAX_PARTIES} organisations"),
                ));
            }
            if p.windows(2).any(|w| w[0] >= w[1]) {
                return Err(field(
                    "parties",
                    "organisations must be in ascending order, each once",
                ));
            }
        }
        if self.aeo.is_some() && self.kind != EventKind::AeoStatus {
            return Err(field("aeo", "only allowed for kind aeo_status"));
        }
        if self.mra.is_some() && self.kind != EventKind::Mra {
            return Err(field("mra", "only allowed for kind mra"));
        }
        let outcome = self.kind.is_risk_outcome();
        match (&self.reason, outcome) {
            (None, true) => {
                return Err(field(
                    "reason",
                    format!("required for kind {}", self.kind.as_str()),
                ))
            }
            (Some(_), false) => {
                return Err(field("reason", "only allowed for the risk outcome kinds"))
            }
            (Some(r), true) if !is_code(r, 32) => {
                return Err(field(
                    "reason",
                    format!("{r:?} must be 1-32 characters of a-z, 0-9, '_'"),
                ))
            }
            _ => {}
        }
        if (outcome || self.kind == EventKind::AdvanceData) && self.ucr.is_none() {
            return Err(field(
                "ucr",
                format!("required for kind {}", self.kind.as_str()),
            ));
        }
        if outcome && self.refs.is_empty() {
            return Err(field(
                "refs",
                "a risk outcome refers to the advance_data event it assesses",
            ));
        }
        if self.kind == EventKind::AdvanceData {
            if let Some(f) = ADVANCE_FIELDS
                .iter()
                .find(|f| !self.details.contains_key(**f))
            {
                return Err(field(
                    "details",
                    format!(
                        "advance_data commits to {}: {f:?} is missing",
                        ADVANCE_FIELDS.join(", ")
                    ),
                ));
            }
        }
        match (&self.retracts, self.kind == EventKind::Retracted) {
            (None, true) => return Err(field("retracts", "required for kind retracted")),
            (Some(_), false) => return Err(field("retracts", "only allowed for kind retracted")),
            (Some(Retracts::Source(s)), true) => s.check().map_err(|e| match e {
                EventError::Field { reason, .. } => field("retracts.source", reason),
                other => other,
            })?,
            _ => {}
        }
        if let Some(src) = &self.source {
            if self.kind == EventKind::Membership {
                return Err(field("source", "a membership event has no source"));
            }
            src.check()?;
        }
        if self.refs.len() > MAX_REFS {
            return Err(field("refs", format!("at most {MAX_REFS} references")));
        }
        let mut refs = self.refs.clone();
        refs.sort();
        if refs.windows(2).any(|w| w[0] == w[1]) {
            return Err(field("refs", "an event is referenced twice"));
        }
        if self.documents.len() > MAX_DOCUMENTS {
            return Err(field(
                "documents",
                format!("at most {MAX_DOCUMENTS} documents"),
            ));
        }
        if self.kind == EventKind::DocumentAnchored && self.documents.is_empty() {
            return Err(field(
                "documents",
                "document_anchored needs at least one document",
            ));
        }
        if let Some(d) = self.documents.iter().find(|d| !is_code(&d.kind, 32)) {
            return Err(field(
                "documents.kind",
                format!("{:?} must be 1-32 characters of a-z, 0-9, '_'", d.kind),
            ));
        }
        if self.details.len() > MAX_DETAILS {
            return Err(field("details", format!("at most {MAX_DETAILS} fields")));
        }
        if let Some(name) = self.details.keys().find(|n| !is_code(n, 64)) {
            return Err(field(
                "details",
                format!("field name {name:?} must be 1-64 characters of a-z, 0-9, '_'"),
            ));
        }
        Ok(())
    }

    /// The rules of an `aeo_status` or `mra` body (8h): its member, and nothing about goods.
    fn validate_organisation_record(&self) -> Result<(), EventError> {
        if self.ucr.is_some() || self.container.is_some() || self.ids.is_some() {
            return Err(field(
                "ucr",
                format!(
                    "a {} event names no consignment, container or trade identifier",
                    self.kind.as_str()
                ),
            ));
        }
        if self.location.is_some() || self.transport.is_some() || self.offset.is_some() {
            return Err(field(
                "location",
                format!(
                    "a {} event has no location, offset or transport",
                    self.kind.as_str()
                ),
            ));
        }
        if self.parties.is_some() || self.source.is_some() {
            return Err(field(
                "parties",
                format!("a {} event has no parties or source", self.kind.as_str()),
            ));
        }
        let checked = match (self.kind, &self.aeo, &self.mra) {
            (EventKind::AeoStatus, Some(r), _) => r.check(),
            (EventKind::AeoStatus, None, _) => Err(("aeo", "required for kind aeo_status".into())),
            (_, _, Some(r)) => r.check(),
            (_, _, None) => Err(("mra", "required for kind mra".into())),
        };
        checked.map_err(|(f, reason)| field(f, reason))
    }

    /// `JCS(body)` through the generic path: serialize to a JSON value, then canonicalize.
    /// [`EventBody::signing_bytes`] writes the same bytes directly; tests compare the two.
    pub fn canonical_via_value(&self) -> Result<Vec<u8>, EventError> {
        let value = serde_json::to_value(self).map_err(|e| EventError::Malformed(e.to_string()))?;
        Ok(jcs::canonicalize(&value)?)
    }

    /// `JCS(body)` written member by member in RFC 8785 order (member names sorted; all names
    /// are ASCII, so UTF-16 order is byte order), without building a JSON value: the parse of
    /// every event (admission, audit, sync) computes it. Strings go through the JCS string
    /// writer; a `membership` member (rare) goes through the generic path.
    fn canonical(&self) -> Result<Vec<u8>, EventError> {
        use jcs::write_str as s;
        let mut o = Vec::with_capacity(512);
        o.push(b'{');
        if let Some(a) = &self.aeo {
            o.extend_from_slice(b"\"aeo\":");
            generic(a, &mut o)?;
            o.push(b',');
        }
        o.extend_from_slice(b"\"chain\":");
        s(&self.chain, &mut o);
        if let Some(c) = &self.container {
            o.extend_from_slice(b",\"container\":");
            s(c.as_str(), &mut o);
        }
        o.extend_from_slice(b",\"details\":{");
        for (i, (name, commitment)) in self.details.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            s(name, &mut o);
            o.push(b':');
            quoted_hex(commitment.as_bytes(), &mut o);
        }
        o.extend_from_slice(b"},\"documents\":[");
        for (i, d) in self.documents.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            o.extend_from_slice(b"{\"alg\":");
            s(
                match d.alg {
                    DigestAlg::Sha256 => "sha256",
                    DigestAlg::Blake3 => "blake3",
                },
                &mut o,
            );
            o.extend_from_slice(b",\"digest\":");
            quoted_hex(d.digest.as_bytes(), &mut o);
            o.extend_from_slice(b",\"kind\":");
            s(&d.kind, &mut o);
            o.push(b'}');
        }
        o.push(b']');
        if let Some(ids) = &self.ids {
            o.extend_from_slice(b",\"ids\":[");
            for (i, t) in ids.iter().enumerate() {
                if i > 0 {
                    o.push(b',');
                }
                s(t.as_str(), &mut o);
            }
            o.push(b']');
        }
        o.extend_from_slice(b",\"issuer\":{\"key\":");
        quoted_hex(&self.issuer.key.to_bytes(), &mut o);
        o.extend_from_slice(b",\"org\":");
        s(self.issuer.org.as_str(), &mut o);
        o.extend_from_slice(b"},\"kind\":");
        s(self.kind.as_str(), &mut o);
        if let Some(l) = &self.location {
            o.extend_from_slice(b",\"location\":");
            s(l.as_str(), &mut o);
        }
        if let Some(m) = &self.membership {
            o.extend_from_slice(b",\"membership\":");
            generic(m, &mut o)?;
        }
        if let Some(m) = &self.mra {
            o.extend_from_slice(b",\"mra\":");
            generic(m, &mut o)?;
        }
        if let Some(off) = &self.offset {
            o.extend_from_slice(b",\"offset\":");
            s(off, &mut o);
        }
        if let Some(parties) = &self.parties {
            o.extend_from_slice(b",\"parties\":[");
            for (i, p) in parties.iter().enumerate() {
                if i > 0 {
                    o.push(b',');
                }
                s(p.as_str(), &mut o);
            }
            o.push(b']');
        }
        if let Some(r) = &self.reason {
            o.extend_from_slice(b",\"reason\":");
            s(r, &mut o);
        }
        o.extend_from_slice(b",\"refs\":[");
        for (i, r) in self.refs.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            quoted_hex(r.as_bytes(), &mut o);
        }
        o.push(b']');
        if let Some(r) = &self.retracts {
            o.extend_from_slice(b",\"retracts\":{");
            match r {
                Retracts::Event(id) => {
                    o.extend_from_slice(b"\"event\":");
                    quoted_hex(id.as_bytes(), &mut o);
                }
                Retracts::Source(src) => {
                    o.extend_from_slice(b"\"source\":{\"id\":");
                    s(&src.id, &mut o);
                    o.extend_from_slice(b",\"standard\":");
                    s(&src.standard, &mut o);
                    o.push(b'}');
                }
            }
            o.push(b'}');
        }
        if let Some(src) = &self.source {
            o.extend_from_slice(b",\"source\":{\"id\":");
            s(&src.id, &mut o);
            o.extend_from_slice(b",\"standard\":");
            s(&src.standard, &mut o);
            o.push(b'}');
        }
        o.extend_from_slice(b",\"time\":");
        if self.time > MAX_SAFE_INTEGER {
            return Err(jcs::JcsError::Number("$.time".into()).into());
        }
        o.extend_from_slice(self.time.to_string().as_bytes());
        if let Some(t) = &self.transport {
            o.extend_from_slice(b",\"transport\":{\"means\":");
            s(&t.means, &mut o);
            o.extend_from_slice(b",\"mode\":");
            s(
                match t.mode {
                    TransportMode::Sea => "sea",
                    TransportMode::Air => "air",
                    TransportMode::Road => "road",
                    TransportMode::Rail => "rail",
                    TransportMode::InlandWaterway => "inland_waterway",
                },
                &mut o,
            );
            if let Some(v) = &t.voyage {
                o.extend_from_slice(b",\"voyage\":");
                s(v, &mut o);
            }
            o.push(b'}');
        }
        if let Some(u) = &self.ucr {
            o.extend_from_slice(b",\"ucr\":");
            s(u.as_str(), &mut o);
        }
        o.extend_from_slice(b",\"v\":");
        o.extend_from_slice(self.v.to_string().as_bytes());
        o.push(b'}');
        Ok(o)
    }

    /// `EVENT_DOMAIN || 0x00 || JCS(body)`: the exact bytes the issuer signs.
    pub fn signing_bytes(&self) -> Result<Vec<u8>, EventError> {
        let canon = self.canonical()?;
        let max = if self.kind == EventKind::Membership {
            MAX_MEMBERSHIP_BODY_BYTES
        } else {
            MAX_BODY_BYTES
        };
        if canon.len() > max {
            return Err(EventError::BodyTooLarge {
                size: canon.len(),
                max,
            });
        }
        let mut msg = Vec::with_capacity(EVENT_DOMAIN.len() + 1 + canon.len());
        msg.extend_from_slice(EVENT_DOMAIN);
        msg.push(0);
        msg.extend_from_slice(&canon);
        Ok(msg)
    }

    /// Validates, then signs with `key` (which should be `issuer.key`'s secret).
    pub fn sign(self, key: &SecretKey) -> Result<Event, EventError> {
        self.validate()?;
        let message = self.signing_bytes()?;
        let sig = key.sign(&message);
        Ok(Event::assemble(self, sig, message))
    }
}

/// Leading bytes of an event's canonical wire form.
const WIRE_HEAD: &[u8] = b"{\"body\":";
/// Bytes between the canonical body and the signature's hex in the canonical wire form.
const WIRE_SIG: &[u8] = b",\"sig\":\"";
/// Bytes of the canonical wire form after the body: `,"sig":"` + 128 hex + `"}`.
const WIRE_TAIL_LEN: usize = WIRE_SIG.len() + 128 + 2;

/// Appends `JCS(value)` through the generic path (the rare members: membership, aeo, mra).
fn generic(value: &impl Serialize, out: &mut Vec<u8>) -> Result<(), EventError> {
    let value = serde_json::to_value(value).map_err(|e| EventError::Malformed(e.to_string()))?;
    out.extend_from_slice(&jcs::canonicalize(&value)?);
    Ok(())
}

/// Appends the lowercase hex of `bytes` (no allocation: the canonical writer's hot path).
fn push_hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

/// Appends `"<hex>"`: a JSON string of lowercase hex needs no escaping.
fn quoted_hex(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    push_hex(bytes, out);
    out.push(b'"');
}

/// A structurally valid signed event: an immutable shared value (cloning it is a reference
/// count), with its id, signing bytes and canonical wire bytes computed once, when it is built.
///
/// Holding an `Event` means the body passed [`EventBody::validate`]; the signature is checked
/// separately by [`Event::verify_signature`] (membership and role checks need ledger state).
/// Two events are equal when their ids and signatures are: the id covers the whole body.
#[derive(Clone)]
pub struct Event(Arc<Inner>);

struct Inner {
    body: EventBody,
    sig: Signature,
    id: EventId,
    message: Vec<u8>,
    /// `{"body":JCS(body),"sig":"<hex>"}`: the JCS form of the wire object.
    wire: Box<[u8]>,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.0.id)
            .field("body", &self.0.body)
            .field("sig", &self.0.sig)
            .finish()
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        self.0.id == other.0.id && self.0.sig == other.0.sig
    }
}

impl Eq for Event {}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
struct WireEvent {
    body: EventBody,
    sig: Signature,
}

/// The id and signature of an event in canonical wire form, read without parsing it (see
/// [`Event::peek_canonical`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peeked {
    /// BLAKE3 of the signing message built from the bytes found where the canonical body sits.
    pub id: EventId,
    /// The signature.
    pub sig: Signature,
}

impl Event {
    fn assemble(body: EventBody, sig: Signature, message: Vec<u8>) -> Event {
        let id = Hash::of(&[&message]);
        let canon = &message[EVENT_DOMAIN.len() + 1..];
        let mut wire = Vec::with_capacity(WIRE_HEAD.len() + canon.len() + WIRE_TAIL_LEN);
        wire.extend_from_slice(WIRE_HEAD);
        wire.extend_from_slice(canon);
        wire.extend_from_slice(WIRE_SIG);
        push_hex(&sig.to_bytes(), &mut wire);
        wire.extend_from_slice(b"\"}");
        Event(Arc::new(Inner {
            body,
            sig,
            id,
            message,
            wire: wire.into_boxed_slice(),
        }))
    }

    /// Builds from parts, checking the structural rules (not the signature).
    pub fn new(body: EventBody, sig: Signature) -> Result<Event, EventError> {
        body.validate()?;
        let message = body.signing_bytes()?;
        Ok(Event::assemble(body, sig, message))
    }

    /// Parses the JSON wire form (any JSON text with the two members), bounding its size
    /// before parsing.
    pub fn from_json(bytes: &[u8]) -> Result<Event, EventError> {
        if bytes.len() > MAX_EVENT_JSON_BYTES {
            return Err(EventError::TooLarge {
                size: bytes.len(),
                max: MAX_EVENT_JSON_BYTES,
            });
        }
        let wire: WireEvent =
            serde_json::from_slice(bytes).map_err(|e| EventError::Malformed(e.to_string()))?;
        Event::new(wire.body, wire.sig)
    }

    /// Reads the id and signature of an event in canonical wire form without parsing it: the
    /// signing message is built from the bytes where the canonical body sits and hashed.
    /// `None` if the bytes do not have the canonical shape.
    ///
    /// For bytes that are not canonical the id is meaningless, but it can only equal a known
    /// event's id if the bytes hold that event's canonical body (BLAKE3 is collision
    /// resistant), so a receiver may drop bytes whose `(id, sig)` it already holds, before any
    /// parsing, and must parse the rest ([`Event::from_json`]).
    pub fn peek_canonical(bytes: &[u8]) -> Option<Peeked> {
        let n = bytes.len();
        if n > MAX_EVENT_JSON_BYTES
            || n < WIRE_HEAD.len() + 2 + WIRE_TAIL_LEN
            || !bytes.starts_with(WIRE_HEAD)
            || !bytes.ends_with(b"\"}")
            || &bytes[n - WIRE_TAIL_LEN..n - WIRE_TAIL_LEN + WIRE_SIG.len()] != WIRE_SIG
        {
            return None;
        }
        let hex = std::str::from_utf8(&bytes[n - 130..n - 2]).ok()?;
        let sig = Signature::from_bytes(&crate::hash::decode_hex::<64>(hex).ok()?);
        let body = &bytes[WIRE_HEAD.len()..n - WIRE_TAIL_LEN];
        let id = Hash::of(&[EVENT_DOMAIN, &[0], body]);
        Some(Peeked { id, sig })
    }

    /// The canonical JSON wire form: `{"body":JCS(body),"sig":"<hex>"}`, the JCS (RFC 8785)
    /// form of the wire object. Nodes store, gossip and serve these bytes.
    pub fn wire(&self) -> &[u8] {
        &self.0.wire
    }

    /// The canonical JSON wire form as a string (see [`Event::wire`]).
    pub fn to_json(&self) -> String {
        String::from_utf8_lossy(&self.0.wire).into_owned()
    }

    /// The signed body.
    pub fn body(&self) -> &EventBody {
        &self.0.body
    }

    /// The issuer's signature.
    pub fn sig(&self) -> &Signature {
        &self.0.sig
    }

    /// The event id.
    pub fn id(&self) -> EventId {
        self.0.id
    }

    /// The signed message `EVENT_DOMAIN || 0x00 || JCS(body)`.
    pub fn message(&self) -> &[u8] {
        &self.0.message
    }

    /// Checks the signature against `body.issuer.key` (PROTOCOL.md section 1).
    pub fn verify_signature(&self) -> Result<(), EventError> {
        Ok(self
            .0
            .body
            .issuer
            .key
            .verify(&self.0.message, &self.0.sig)?)
    }

    /// The log leaf data: `id (32 bytes) || signature (64 bytes)`.
    pub fn leaf_data(&self) -> [u8; 96] {
        let mut out = [0u8; 96];
        out[..32].copy_from_slice(self.0.id.as_bytes());
        out[32..].copy_from_slice(&self.0.sig.to_bytes());
        out
    }
}

impl Serialize for Event {
    /// Writes the canonical wire form (the kept bytes, through serde_json's raw values).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The kept bytes are UTF-8 JSON by construction (written from a validated body).
        let text = std::str::from_utf8(&self.0.wire).map_err(serde::ser::Error::custom)?;
        let raw = serde_json::value::RawValue::from_string(text.to_owned())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = WireEvent::deserialize(d)?;
        Event::new(wire.body, wire.sig).map_err(serde::de::Error::custom)
    }
}

crate::wire::object_only!(Transport, Source, Document, Issuer, EventBody, WireEvent);

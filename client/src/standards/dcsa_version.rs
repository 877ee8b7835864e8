//! The DCSA Track & Trace versions [`super::dcsa`] reads: which one a document is (from its
//! events' structure: 2.2 flat, 3.0 `metadata` + `payload`), and the member names and codes that
//! differ between them ([`Dialect`]), from `tnt/v2` and `tnt/v3/tnt.yaml` with
//! `domain/event/event_domain_v3.1.0.yaml` of the DCSA OpenAPI repository.

use std::fmt;
use std::str::FromStr;

use super::{invalid, ImportError, Node};

/// A DCSA Track & Trace version tradelog reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcsaVersion {
    /// 2.2: flat events.
    V2_2,
    /// 3.0: `metadata` + `payload` events.
    V3_0,
}

impl DcsaVersion {
    /// `"2.2"` or `"3.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DcsaVersion::V2_2 => "2.2",
            DcsaVersion::V3_0 => "3.0",
        }
    }
}

impl fmt::Display for DcsaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version string other than `2.2` and `3.0`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DCSA version {0:?}: expected 2.2 or 3.0")]
pub struct UnknownVersion(pub String);

impl FromStr for DcsaVersion {
    type Err = UnknownVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "2.2" => Ok(DcsaVersion::V2_2),
            "3.0" => Ok(DcsaVersion::V3_0),
            other => Err(UnknownVersion(other.to_owned())),
        }
    }
}

/// The member names and code values that differ between the versions.
pub(crate) struct Dialect {
    pub(crate) version: DcsaVersion,
    /// Document references: list, type member, value member.
    pub(crate) doc_refs: [&'static str; 3],
    /// Shipper references: list, type member, value member.
    pub(crate) refs: [&'static str; 3],
    /// A shipment event's own document reference.
    pub(crate) document_id: &'static str,
    /// The document type of customs events.
    pub(crate) customs: &'static str,
    /// Voyage members, in order of preference, on arrival and otherwise.
    pub(crate) arrival_voyages: &'static [&'static str],
    pub(crate) departure_voyages: &'static [&'static str],
    /// Where a missing place is looked for first (for the error).
    pub(crate) location_member: &'static str,
    /// Equipment codes of the version with no tradelog kind.
    pub(crate) other_equipment: &'static [&'static str],
}

pub(crate) const V2_2: Dialect = Dialect {
    version: DcsaVersion::V2_2,
    doc_refs: [
        "documentReferences",
        "documentReferenceType",
        "documentReferenceValue",
    ],
    refs: ["references", "referenceType", "referenceValue"],
    document_id: "documentID",
    customs: "CUS",
    arrival_voyages: &[
        "importVoyageNumber",
        "exportVoyageNumber",
        "carrierVoyageNumber",
    ],
    departure_voyages: &[
        "exportVoyageNumber",
        "carrierVoyageNumber",
        "importVoyageNumber",
    ],
    location_member: "transportCall.UNLocationCode",
    other_equipment: &["PICK", "RSEA", "RMVD"],
};

pub(crate) const V3_0: Dialect = Dialect {
    version: DcsaVersion::V3_0,
    doc_refs: ["relatedDocumentReferences", "type", "value"],
    refs: ["references", "type", "value"],
    document_id: "documentReference",
    customs: "CUC",
    arrival_voyages: &["carrierImportVoyageNumber", "carrierExportVoyageNumber"],
    departure_voyages: &["carrierExportVoyageNumber", "carrierImportVoyageNumber"],
    location_member: "transportCall.location.UNLocationCode",
    other_equipment: &[
        "PICK", "AVPU", "AVDO", "RSEA", "RMVD", "CUSS", "CUSI", "CUSR", "CROS",
    ],
};

/// The version one event's shape shows: 3.0 has `metadata` (and no flat `eventType` /
/// `eventClassifierCode`), 2.2 the flat members and no `metadata`; anything else shows none.
fn shape(e: &Node<'_>) -> Option<DcsaVersion> {
    let meta = e.get("metadata").is_some();
    let flat = e.get("eventType").is_some() || e.get("eventClassifierCode").is_some();
    match (meta, flat) {
        (true, false) => Some(DcsaVersion::V3_0),
        (false, true) => Some(DcsaVersion::V2_2),
        _ => None,
    }
}

/// The version of a document's events, from their structure. Refused when the events show
/// both versions, or none (give the version, [`super::dcsa::import_each`]'s `version`).
pub(crate) fn detect(events: &[Node<'_>]) -> Result<DcsaVersion, ImportError> {
    let mut first: Option<(DcsaVersion, &str)> = None;
    for e in events {
        let Some(v) = shape(e) else { continue };
        match first {
            None => first = Some((v, e.path())),
            Some((w, at)) if w != v => {
                return Err(invalid(
                    e.path(),
                    &format!("DCSA {v}"),
                    format!(
                        "{at} is a DCSA {w} event and this one {v}: one version per document \
                         (give the version, --dcsa-version, to import its events and skip the \
                         others)"
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    first.map(|(v, _)| v).ok_or_else(|| {
        invalid(
            "$",
            "",
            "cannot tell the DCSA version: no event has 2.2's top-level eventType or 3.0's \
             metadata (give --dcsa-version 2.2 or 3.0)",
        )
    })
}

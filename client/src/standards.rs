//! Import from and export to the two supply-chain event standards tradelog meets in the field:
//! GS1 EPCIS 2.0 JSON/JSON-LD ([`epcis`], export in [`export`]) and DCSA Track & Trace 2.2 and
//! 3.0 ([`dcsa`]). The mapping tables and what is skipped are in `docs/STANDARDS.md`; the
//! kind/code correspondence is `docs/PROTOCOL.md` section 3.4.
//!
//! Importers are pure: they take the document's exact bytes and return unsigned
//! [`EventBody`] values issued by the importing organisation (the caller signs them with
//! [`EventBody::sign`]). Every body anchors the original document by the SHA-256 of those bytes.
//! Sizes are bounded before parsing, and every refusal names the JSON path of the offending field.
//!
//! Real feeds mix what the ledger takes with what it does not (a carrier's estimated arrival
//! next to the actual one, a `TransformationEvent` among object events), so each *source event*
//! is imported or skipped on its own: `import_each` ([`dcsa::import_each`],
//! [`epcis::import_each`]) returns an [`Imported`]: the bodies and one [`SourceEvent`] per source
//! event saying where it is, its id, and what became of it. Only document-level problems (not
//! JSON, too large, no events, not the document type, an unsupported version) refuse the whole
//! document. `import` keeps all-or-nothing: [`Imported::strict`].

use std::ops::Range;

use serde_json::{json, Value};
use sha2::Digest as _;
use tradelog_protocol::event::{DigestAlg, Document, EventBody, Issuer, Source};
use tradelog_protocol::Hash;

pub mod dcsa;
mod dcsa_version;
pub mod epcis;
pub mod epcis_hash;
pub mod export;

/// Largest document accepted for import, checked before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024 * 1024;
/// Most ledger events one imported document may produce.
pub const MAX_IMPORTED_EVENTS: usize = 10_000;

/// The namespace of tradelog's EPCIS extension members (`tl:kind`, `tl:eventId`, ...) and of the
/// URIs it mints for consignments (`https://tradelog.example/ucr/<UCR>`).
pub const TL_NAMESPACE: &str = "https://tradelog.example/epcis/";
/// Prefix of the URI naming a consignment by its UCR in EPCIS identifier lists.
pub const UCR_URI_PREFIX: &str = "https://tradelog.example/ucr/";
/// Prefix of the URI naming a tradelog event by its id (EPCIS `eventID`).
pub const EVENT_URI_PREFIX: &str = "https://tradelog.example/event/";
/// TDS 2.x EPC URI of an ISO 6346 (BIC) container number.
pub const BIC_URI_PREFIX: &str = "urn:epc:id:bic:";
/// URI form of a UN/LOCODE in EPCIS `readPoint`/`bizLocation` (tradelog convention).
pub const LOCODE_URI_PREFIX: &str = "urn:un:locode:";

/// The `source` of a ledger event imported from the source event `id` of `standard` (PROTOCOL.md
/// 3.2, 8e): the node records each source event once per issuer, consignment and container, so
/// importing a document again adds nothing. Events without an id carry no `source`.
pub(crate) fn source_of(standard: &str, id: Option<&str>) -> Option<Source> {
    id.map(|id| Source {
        standard: standard.to_owned(),
        id: id.to_owned(),
    })
}

/// Who the imported events are for and from: the target chain and the importing organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportTarget {
    /// Chain id of the ledger.
    pub chain: String,
    /// The importing organisation and the key it will sign with.
    pub issuer: Issuer,
}

/// Why a document was refused. `path` is the JSON path of the offending member, e.g.
/// `epcisBody.eventList[2].bizStep` or `[0].equipmentReference` (`$` is the document itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The document is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("document is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Bytes given.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// A required member is absent (or `null`).
    #[error("{path}: missing")]
    Missing {
        /// Where.
        path: String,
    },
    /// A member has the wrong JSON type.
    #[error("{path}: expected {expected}")]
    Type {
        /// Where.
        path: String,
        /// The JSON type wanted.
        expected: &'static str,
    },
    /// A well-formed value tradelog does not import.
    #[error("{path}: unsupported value {value:?} ({reason})")]
    Unsupported {
        /// Where.
        path: String,
        /// The value (cut to 80 characters).
        value: String,
        /// Why, and what would be accepted.
        reason: String,
    },
    /// A value that breaks the standard's or tradelog's rules.
    #[error("{path}: invalid value {value:?}: {reason}")]
    Invalid {
        /// Where.
        path: String,
        /// The value (cut to 80 characters).
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// Too many events.
    #[error("{path}: {count} events, the limit is {max}")]
    TooMany {
        /// Where.
        path: String,
        /// Events found (or produced).
        count: usize,
        /// Limit.
        max: usize,
    },
}

/// `tradelog import` exit status when every source event was imported.
pub const EXIT_ALL_IMPORTED: i32 = 0;
/// `tradelog import` exit status when the document was refused, or no source event imported.
pub const EXIT_REFUSED: i32 = 1;
/// `tradelog import` exit status when some source events were skipped and the others printed.
pub const EXIT_SOME_SKIPPED: i32 = 3;

/// What became of one source event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Mapped to the ledger events at these positions of [`Imported::bodies`] (one or more:
    /// an EPCIS event naming several containers gives one per container).
    Imported(Range<usize>),
    /// Not imported, and why (the error names the field).
    Skipped(ImportError),
}

/// One event of the source document and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEvent {
    /// Its JSON path in the document: `[3]`, `$` (a document that is one event),
    /// `epcisBody.eventList[2]`.
    pub path: String,
    /// Its id in the source, when it has one: DCSA `eventID` (3.0: `metadata.eventID`), EPCIS
    /// `eventID`.
    pub source_id: Option<String>,
    /// Imported or skipped.
    pub outcome: Outcome,
}

/// A document's import: the ledger event bodies, in document order, and what became of each
/// source event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// The unsigned bodies of the imported source events.
    pub bodies: Vec<EventBody>,
    /// One entry per source event, in document order.
    pub events: Vec<SourceEvent>,
}

impl Imported {
    /// Records a source event's outcome; refuses the document when the bodies would exceed
    /// [`MAX_IMPORTED_EVENTS`] (`list` is the path of the event list).
    pub(crate) fn push(
        &mut self,
        list: &str,
        path: &str,
        source_id: Option<String>,
        result: Result<Vec<EventBody>, ImportError>,
    ) -> Result<(), ImportError> {
        let outcome = match result {
            Ok(bodies) => {
                let start = self.bodies.len();
                if start + bodies.len() > MAX_IMPORTED_EVENTS {
                    return Err(ImportError::TooMany {
                        path: list.to_owned(),
                        count: start + bodies.len(),
                        max: MAX_IMPORTED_EVENTS,
                    });
                }
                self.bodies.extend(bodies);
                Outcome::Imported(start..self.bodies.len())
            }
            Err(e) => Outcome::Skipped(e),
        };
        self.events.push(SourceEvent {
            path: path.to_owned(),
            source_id,
            outcome,
        });
        Ok(())
    }

    /// Source events imported.
    pub fn imported(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Imported(_)))
            .count()
    }

    /// Source events skipped.
    pub fn skipped(&self) -> usize {
        self.events.len() - self.imported()
    }

    /// All or nothing: the bodies if every source event was imported, else the first skipped
    /// event's error.
    pub fn strict(self) -> Result<Vec<EventBody>, ImportError> {
        match self.events.into_iter().find_map(|e| match e.outcome {
            Outcome::Skipped(err) => Some(err),
            Outcome::Imported(_) => None,
        }) {
            Some(err) => Err(err),
            None => Ok(self.bodies),
        }
    }

    /// The exit status `tradelog import` gives this outcome: [`EXIT_ALL_IMPORTED`],
    /// [`EXIT_SOME_SKIPPED`], or [`EXIT_REFUSED`] when nothing was imported.
    pub fn exit_code(&self) -> i32 {
        match (self.imported(), self.skipped()) {
            (0, _) => EXIT_REFUSED,
            (_, 0) => EXIT_ALL_IMPORTED,
            _ => EXIT_SOME_SKIPPED,
        }
    }

    /// The report as JSON: `{"imported", "skipped", "events": [{"path", "source_id",
    /// "outcome": "imported"|"skipped", "ledger_events": [positions], "reason"}]}`.
    pub fn report_json(&self) -> Value {
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| {
                let (outcome, positions, reason) = match &e.outcome {
                    Outcome::Imported(r) => ("imported", r.clone().collect(), None),
                    Outcome::Skipped(err) => ("skipped", Vec::new(), Some(err.to_string())),
                };
                json!({
                    "path": e.path,
                    "source_id": e.source_id,
                    "outcome": outcome,
                    "ledger_events": positions,
                    "reason": reason,
                })
            })
            .collect();
        json!({
            "imported": self.imported(),
            "skipped": self.skipped(),
            "events": events,
        })
    }

    /// The report as text, one line per source event:
    /// `imported [3] (eventID ...) -> 1 event`, `skipped [4] (eventID ...): <reason>`.
    pub fn report_lines(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| {
                let id = match &e.source_id {
                    Some(id) => format!(" (eventID {id})"),
                    None => String::new(),
                };
                match &e.outcome {
                    Outcome::Imported(r) => format!(
                        "imported {}{id} -> {} event{}",
                        e.path,
                        r.len(),
                        if r.len() == 1 { "" } else { "s" }
                    ),
                    Outcome::Skipped(err) => format!("skipped {}{id}: {err}", e.path),
                }
            })
            .collect()
    }
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

pub(crate) fn unsupported(path: &str, value: &str, reason: impl Into<String>) -> ImportError {
    ImportError::Unsupported {
        path: path.to_owned(),
        value: cut(value),
        reason: reason.into(),
    }
}

pub(crate) fn invalid(path: &str, value: &str, reason: impl Into<String>) -> ImportError {
    ImportError::Invalid {
        path: path.to_owned(),
        value: cut(value),
        reason: reason.into(),
    }
}

/// Bounds the size, then parses.
pub(crate) fn parse_bounded(bytes: &[u8]) -> Result<Value, ImportError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ImportError::TooLarge {
            size: bytes.len(),
            max: MAX_DOCUMENT_BYTES,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| ImportError::NotJson(e.to_string()))
}

/// The anchor every imported event carries: SHA-256 of the exact bytes given.
pub fn anchor(kind: &str, bytes: &[u8]) -> Document {
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&sha2::Sha256::digest(bytes));
    Document {
        kind: kind.to_owned(),
        alg: DigestAlg::Sha256,
        digest: Hash(digest),
    }
}

/// An RFC 3339 date-time with a time-zone offset (`Z` or `±hh:mm`) to milliseconds since 1970.
/// Fractions beyond milliseconds are truncated.
pub(crate) fn rfc3339_ms(path: &str, s: &str) -> Result<u64, ImportError> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(path, s, "not an RFC 3339 date-time"));
    }
    let ms = crate::time::parse_time(s).map_err(|e| invalid(path, s, e.to_string()))?;
    if ms == 0 {
        return Err(invalid(path, s, "must be after 1970-01-01T00:00:00Z"));
    }
    Ok(ms)
}

/// The time offset of an RFC 3339 date-time as tradelog's `offset` member (3.2): its trailing
/// `±hh:mm`, or `+00:00` for `Z`; `None` if it has neither or the offset breaks the rule.
pub(crate) fn offset_of(s: &str) -> Option<String> {
    if s.ends_with('Z') || s.ends_with('z') {
        return Some("+00:00".into());
    }
    let tail = s.get(s.len().checked_sub(6)?..)?;
    normal_offset(tail)
}

/// A source's `±hh:mm` offset as tradelog writes it: `-00:00` (RFC 3339's "unknown local
/// offset", which EPCIS allows) is UTC, `+00:00`; `None` if it is no offset within 14:00.
pub(crate) fn normal_offset(o: &str) -> Option<String> {
    if o == "-00:00" {
        return Some("+00:00".into());
    }
    tradelog_protocol::event::offset_minutes(o).map(|_| o.to_owned())
}

/// Validates a finished body, naming the source event's path on failure.
pub(crate) fn checked(path: &str, body: EventBody) -> Result<EventBody, ImportError> {
    match body.validate() {
        Ok(()) => Ok(body),
        Err(e) => Err(ImportError::Invalid {
            path: path.to_owned(),
            value: body.kind.as_str().to_owned(),
            reason: format!("the mapped event breaks a ledger rule: {e}"),
        }),
    }
}

/// A JSON value together with its path, so every error can name where it happened.
pub(crate) struct Node<'a> {
    pub(crate) v: &'a Value,
    pub(crate) path: String,
}

impl<'a> Node<'a> {
    pub(crate) fn root(v: &'a Value) -> Node<'a> {
        Node {
            v,
            path: String::new(),
        }
    }

    /// The path of this node, `$` for the root.
    pub(crate) fn path(&self) -> &str {
        if self.path.is_empty() {
            "$"
        } else {
            &self.path
        }
    }

    pub(crate) fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Member `key`, if present and not `null`.
    pub(crate) fn get(&self, key: &str) -> Option<Node<'a>> {
        match self.v.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(Node {
                v,
                path: self.child_path(key),
            }),
        }
    }

    /// Member `key`, required.
    pub(crate) fn req(&self, key: &str) -> Result<Node<'a>, ImportError> {
        self.get(key).ok_or_else(|| ImportError::Missing {
            path: self.child_path(key),
        })
    }

    pub(crate) fn str(&self) -> Result<&'a str, ImportError> {
        self.v.as_str().ok_or_else(|| ImportError::Type {
            path: self.path().to_owned(),
            expected: "a string",
        })
    }

    /// Required string member.
    pub(crate) fn req_str(&self, key: &str) -> Result<(&'a str, String), ImportError> {
        let n = self.req(key)?;
        Ok((n.str()?, n.path))
    }

    /// Optional string member.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<(&'a str, String)>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(n) => Ok(Some((n.str()?, n.path))),
        }
    }

    pub(crate) fn require_object(&self) -> Result<(), ImportError> {
        if self.v.is_object() {
            Ok(())
        } else {
            Err(ImportError::Type {
                path: self.path().to_owned(),
                expected: "an object",
            })
        }
    }

    /// The elements of an array, each with its path.
    pub(crate) fn items(&self) -> Result<Vec<Node<'a>>, ImportError> {
        let a = self.v.as_array().ok_or_else(|| ImportError::Type {
            path: self.path().to_owned(),
            expected: "an array",
        })?;
        Ok(a.iter()
            .enumerate()
            .map(|(i, v)| Node {
                v,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }
}

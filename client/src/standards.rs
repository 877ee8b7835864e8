//! Import from and export to the two supply-chain event standards tradelog meets in the field:
//! GS1 EPCIS 2.0 JSON/JSON-LD ([`epcis`], export in [`export`]) and DCSA Track & Trace 2.2
//! ([`dcsa`]). The mapping tables and what is refused are in `docs/STANDARDS.md`; the kind/code
//! correspondence is `docs/PROTOCOL.md` section 3.4.
//!
//! Importers are pure: they take the document's exact bytes and return unsigned
//! [`EventBody`] values issued by the importing organisation (the caller signs them with
//! [`EventBody::sign`]). Every body anchors the original document by the SHA-256 of those bytes.
//! Sizes are bounded before parsing, and every refusal names the JSON path of the offending field.

use serde_json::Value;
use sha2::Digest as _;
use tradelog_protocol::event::{DigestAlg, Document, EventBody, Issuer};
use tradelog_protocol::Hash;

pub mod dcsa;
pub mod epcis;
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

    fn child_path(&self, key: &str) -> String {
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

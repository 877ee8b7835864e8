//! Selective disclosure of event detail fields.
//!
//! An event body carries, per detail field, only a salted commitment
//! `BLAKE3("tradelog/detail/v1" || 0x00 || salt (16) || len(name) (u32) || name || len(value) (u32) || value)`.
//! The issuer keeps the values and salts and can reveal any one field by handing out its
//! [`Disclosure`]; the other fields stay hidden, and the salt stops guessing of short values.

use crate::event::EventBody;
use crate::hash::{decode_hex, Hash};

/// Domain of detail commitments.
pub const DETAIL_DOMAIN: &[u8] = b"tradelog/detail/v1";
/// Largest disclosed value, in bytes.
pub const MAX_DETAIL_VALUE: usize = 4096;

/// The commitment to one detail field.
pub fn commit_detail(name: &str, value: &str, salt: &[u8; 16]) -> Hash {
    Hash::domain(
        DETAIL_DOMAIN,
        &[
            salt,
            &(name.len() as u32).to_be_bytes(),
            name.as_bytes(),
            &(value.len() as u32).to_be_bytes(),
            value.as_bytes(),
        ],
    )
}

/// A revealed detail field: name, value and the salt of its commitment (32 lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Disclosure {
    /// Field name.
    pub name: String,
    /// Field value (UTF-8 text).
    pub value: String,
    /// The 16-byte salt, hex.
    pub salt: String,
}

/// Why a disclosure does not match an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureError {
    /// The event commits to no field of that name.
    #[error("event has no detail field {0:?}")]
    NoSuchField(String),
    /// Salt not 32 lowercase hex characters.
    #[error("salt: {0}")]
    Salt(String),
    /// Value longer than the limit.
    #[error("value of {0:?} is longer than {MAX_DETAIL_VALUE} bytes")]
    TooLong(String),
    /// Value or salt does not match the commitment.
    #[error("disclosed value of {0:?} does not match the event's commitment")]
    Mismatch(String),
}

impl Disclosure {
    /// Builds a disclosure and returns it with its commitment.
    pub fn new(name: &str, value: &str, salt: &[u8; 16]) -> (Disclosure, Hash) {
        let d = Disclosure {
            name: name.into(),
            value: value.into(),
            salt: hex::encode(salt),
        };
        (d, commit_detail(name, value, salt))
    }

    /// Checks this disclosure against the commitment in `body.details`.
    pub fn verify(&self, body: &EventBody) -> Result<(), DisclosureError> {
        let committed = body
            .details
            .get(&self.name)
            .ok_or_else(|| DisclosureError::NoSuchField(self.name.clone()))?;
        if self.value.len() > MAX_DETAIL_VALUE {
            return Err(DisclosureError::TooLong(self.name.clone()));
        }
        let salt =
            decode_hex::<16>(&self.salt).map_err(|e| DisclosureError::Salt(e.to_string()))?;
        if commit_detail(&self.name, &self.value, &salt) == *committed {
            Ok(())
        } else {
            Err(DisclosureError::Mismatch(self.name.clone()))
        }
    }
}

crate::wire::object_only!(Disclosure);

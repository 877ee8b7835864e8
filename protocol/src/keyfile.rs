//! The key file format, `{"public": "<hex>", "secret": "<hex seed>"}` (docs/OPERATIONS.md
//! section 1): encoding and checked decoding only. Reading and writing the files (mode 0600,
//! never overwritten, refused when others may read them: ADR 005) is each binary's business.

use serde::{Deserialize, Serialize};

use crate::hash::decode_hex;
use crate::keys::{PublicKey, SecretKey};

/// Largest key file accepted, bytes (checked before parsing).
pub const MAX_KEY_FILE_BYTES: usize = 4096;

/// Why a key file's contents were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFormatError {
    /// Over [`MAX_KEY_FILE_BYTES`].
    #[error("larger than {MAX_KEY_FILE_BYTES} bytes")]
    TooLarge,
    /// Not the JSON object `{"public", "secret"}`.
    #[error("{0}")]
    Json(String),
    /// `secret` is not 64 lowercase hex characters.
    #[error("secret: {0}")]
    Secret(String),
    /// `public` is not the public key of `secret`.
    #[error("public does not match secret")]
    Mismatch,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    public: PublicKey,
    secret: String,
}

/// The key file text of `key` (pretty JSON, without a final newline).
pub fn encode(key: &SecretKey) -> String {
    let kf = KeyFile {
        public: key.public(),
        secret: hex::encode(key.to_seed()),
    };
    // A struct of two strings always serializes.
    serde_json::to_string_pretty(&kf).unwrap_or_default()
}

/// The key in a key file's bytes, checking its size, shape and that `public` matches `secret`.
pub fn decode(text: &[u8]) -> Result<SecretKey, KeyFormatError> {
    if text.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyFormatError::TooLarge);
    }
    let kf: KeyFile =
        serde_json::from_slice(text).map_err(|e| KeyFormatError::Json(e.to_string()))?;
    let seed = decode_hex::<32>(&kf.secret).map_err(|e| KeyFormatError::Secret(e.to_string()))?;
    let key = SecretKey::from_seed(&seed);
    if key.public() != kf.public {
        return Err(KeyFormatError::Mismatch);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_and_bad_files_are_refused_by_name() {
        let key = SecretKey::from_seed(&[3; 32]);
        let text = encode(&key);
        assert_eq!(decode(text.as_bytes()).unwrap().public(), key.public());
        let other = encode(&SecretKey::from_seed(&[4; 32]));
        let (pub_a, pub_b) = (
            key.public().to_hex(),
            SecretKey::from_seed(&[4; 32]).public().to_hex(),
        );
        assert_eq!(
            decode(other.replace(&pub_b, &pub_a).as_bytes()).unwrap_err(),
            KeyFormatError::Mismatch
        );
        assert_eq!(decode(&[b' '; 5000]).unwrap_err(), KeyFormatError::TooLarge);
        assert!(matches!(decode(b"{}"), Err(KeyFormatError::Json(_))));
        let short = text.replace(&hex::encode([3u8; 32]), "0303");
        assert!(matches!(
            decode(short.as_bytes()),
            Err(KeyFormatError::Secret(_))
        ));
        assert!(!format!("{:?}", decode(b"[]")).contains("0303"));
    }
}

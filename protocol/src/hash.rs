//! 32-byte BLAKE3 digests, their lowercase-hex JSON form, and domain-separated hashing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Length in bytes of every hash in the protocol.
pub const HASH_LEN: usize = 32;

/// A BLAKE3 digest. Its JSON form is exactly 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; HASH_LEN]);

/// Why a hex string is not a valid hash, key or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// Wrong number of characters.
    #[error("expected {expected} lowercase hex characters, got {got}")]
    Length {
        /// Characters required.
        expected: usize,
        /// Characters given.
        got: usize,
    },
    /// A character outside `0-9a-f` (uppercase is refused: the form is canonical).
    #[error("invalid character at position {0}: only lowercase hex 0-9a-f is allowed")]
    Char(usize),
}

/// Decodes exactly `N` bytes from `2N` lowercase hex characters.
pub fn decode_hex<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    if s.len() != 2 * N {
        return Err(HexError::Length {
            expected: 2 * N,
            got: s.len(),
        });
    }
    if let Some(pos) = s
        .bytes()
        .position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(HexError::Char(pos));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| HexError::Char(0))?;
    Ok(out)
}

impl Hash {
    /// The all-zero hash, used as "none" (the parent of the first head, an empty index).
    pub const ZERO: Hash = Hash([0u8; HASH_LEN]);

    /// BLAKE3 of the concatenation of `parts`.
    pub fn of(parts: &[&[u8]]) -> Hash {
        let mut h = blake3::Hasher::new();
        for p in parts {
            h.update(p);
        }
        Hash(*h.finalize().as_bytes())
    }

    /// BLAKE3 of `domain || 0x00 || parts...`: the protocol's domain-separated hash.
    pub fn domain(domain: &[u8], parts: &[&[u8]]) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(domain);
        h.update(&[0u8]);
        for p in parts {
            h.update(p);
        }
        Hash(*h.finalize().as_bytes())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_hex::<HASH_LEN>(s).map(Hash)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_strict_lowercase() {
        let h = Hash::of(&[b"abc"]);
        assert_eq!(h.to_hex().parse::<Hash>(), Ok(h));
        assert_eq!(
            h.to_hex().to_uppercase().parse::<Hash>(),
            Err(HexError::Char(
                h.to_hex()
                    .find(|c: char| c.is_ascii_alphabetic())
                    .unwrap_or(0)
            ))
        );
        assert!(matches!("00".parse::<Hash>(), Err(HexError::Length { .. })));
    }

    #[test]
    fn domain_hash_is_tag_zero_then_parts() {
        assert_eq!(Hash::domain(b"t", &[b"x"]), Hash::of(&[b"t\0x"]));
        assert_ne!(Hash::domain(b"t", &[b"x"]), Hash::domain(b"u", &[b"x"]));
    }
}

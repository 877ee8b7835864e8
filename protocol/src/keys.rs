//! Ed25519 keys and signatures with their hex JSON forms. Keys are vetted where they are
//! parsed (canonical encoding, not of small order); signatures are valid under the ZIP-215 rules
//! ([`zip215`], PROTOCOL.md section 1), checked one at a time ([`PublicKey::verify`]) or in
//! batches ([`verify_batch`]) with the same verdict on every input. Signing is ed25519-dalek's.

pub mod zip215;

pub use zip215::verify_batch;

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::Signer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hash::{decode_hex, HexError};

/// Why a key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not 64 lowercase hex characters.
    #[error("public key: {0}")]
    Hex(HexError),
    /// Not a valid compressed Edwards point.
    #[error("public key is not a valid ed25519 point")]
    NotAPoint,
    /// A valid point in a non-canonical encoding (y >= p).
    #[error("public key is not canonically encoded")]
    NotCanonical,
    /// A small-order ("weak") key that any signature could match.
    #[error("public key has small order and is refused")]
    Weak,
}

/// A signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ed25519 signature does not verify (ZIP-215 rules)")]
pub struct BadSignature;

/// An ed25519 public key. JSON: 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_bytes().cmp(&other.to_bytes())
    }
}

/// Most decompressed keys remembered per thread (a ledger has few issuer keys, each seen in
/// every one of its events; decompression costs a field inversion).
const KEY_CACHE_MAX: usize = 4096;

thread_local! {
    static KEY_CACHE: std::cell::RefCell<std::collections::HashMap<[u8; 32], PublicKey>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

impl PublicKey {
    /// Parses 32 bytes, refusing invalid and small-order points. Valid keys are remembered per
    /// thread, so parsing the same key again costs a lookup, not a decompression.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        if let Some(k) = KEY_CACHE.with(|c| c.borrow().get(bytes).copied()) {
            return Ok(k);
        }
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotAPoint)?;
        if key.is_weak() {
            return Err(KeyError::Weak);
        }
        if key.to_edwards().compress().to_bytes() != *bytes {
            return Err(KeyError::NotCanonical);
        }
        let key = PublicKey(key);
        KEY_CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= KEY_CACHE_MAX {
                c.clear();
            }
            c.insert(*bytes, key);
        });
        Ok(key)
    }

    /// The 32-byte compressed encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Verifies `sig` over `msg` under the ZIP-215 rules (PROTOCOL.md section 1); the key
    /// itself was vetted when it was parsed. Accepts every signature `verify_strict` accepts.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), BadSignature> {
        if zip215::verify(self, msg, sig) {
            Ok(())
        } else {
            Err(BadSignature)
        }
    }

    /// The decompressed point (kept with the key: no decompression per verification).
    fn point(&self) -> curve25519_dalek::edwards::EdwardsPoint {
        self.0.to_edwards()
    }

    /// The underlying dalek key.
    pub fn as_dalek(&self) -> &ed25519_dalek::VerifyingKey {
        &self.0
    }
}

/// Which of `events` have a signature that does not verify (by position), checked as one batch
/// ([`verify_batch`]): the verdict on each equals [`crate::Event::verify_signature`]'s.
pub fn signature_failures<'a>(events: impl Iterator<Item = &'a crate::Event>) -> Vec<bool> {
    let events: Vec<&crate::Event> = events.collect();
    let items: Vec<_> = events
        .iter()
        .map(|e| (&e.body().issuer.key, e.message(), e.sig()))
        .collect();
    let mut bad = vec![false; items.len()];
    if let Err(positions) = verify_batch(&items) {
        for p in positions {
            if let Some(b) = bad.get_mut(p) {
                *b = true;
            }
        }
    }
    bad
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PublicKey::from_bytes(&decode_hex::<32>(s).map_err(KeyError::Hex)?)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An ed25519 signature. JSON: 128 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    /// From the 64-byte encoding `R || S`.
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Signature(ed25519_dalek::Signature::from_bytes(bytes))
    }

    /// The 64-byte encoding `R || S`.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl FromStr for Signature {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_hex::<64>(s).map(|b| Signature::from_bytes(&b))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse()
            .map_err(|e: HexError| serde::de::Error::custom(format!("signature: {e}")))
    }
}

/// An ed25519 secret key. `Debug` never prints the secret.
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl SecretKey {
    /// From a 32-byte seed (RFC 8032 private key). Randomness is the caller's business.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SecretKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed. Handle with care.
    pub fn to_seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The secret scalar `a` (`A = [a]B`), for crafting test vectors.
    pub(crate) fn to_dalek_scalar(&self) -> curve25519_dalek::scalar::Scalar {
        self.0.to_scalar()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `msg` (pure RFC 8032 Ed25519, deterministic).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public={}, secret=<redacted>)", self.public())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_tamper() {
        let sk = SecretKey::from_seed(&[7u8; 32]);
        let sig = sk.sign(b"hello");
        assert!(sk.public().verify(b"hello", &sig).is_ok());
        assert_eq!(sk.public().verify(b"hellO", &sig), Err(BadSignature));
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (y = 1) has small order.
        let mut id = [0u8; 32];
        id[0] = 1;
        assert_eq!(PublicKey::from_bytes(&id), Err(KeyError::Weak));
    }

    #[test]
    fn non_canonical_keys_are_refused() {
        // y = p + 2 encodes the same point as y = 2 (if it is one); either way it is refused.
        let mut b = [0xffu8; 32];
        b[0] = 0xed + 2;
        b[31] = 0x7f;
        assert!(PublicKey::from_bytes(&b).is_err());
        // Every y = p + k (k < 19) that decodes to a point of large order is refused as
        // non-canonical; at least one such encoding exists.
        let mut refused = 0;
        for k in 0u8..19 {
            let mut b = [0xffu8; 32];
            b[0] = 0xed + k;
            b[31] = 0x7f;
            let dalek = ed25519_dalek::VerifyingKey::from_bytes(&b);
            if dalek.is_ok_and(|d| !d.is_weak()) {
                assert_eq!(
                    PublicKey::from_bytes(&b),
                    Err(KeyError::NotCanonical),
                    "y = p + {k}"
                );
                refused += 1;
            }
        }
        assert!(refused > 0);
        let good = SecretKey::from_seed(&[3u8; 32]).public();
        assert_eq!(PublicKey::from_bytes(&good.to_bytes()), Ok(good));
    }

    #[test]
    fn debug_redacts_secret() {
        let sk = SecretKey::from_seed(&[9u8; 32]);
        let s = format!("{sk:?}");
        assert!(s.contains("redacted"));
        assert!(!s.contains(&hex::encode([9u8; 32])));
    }

    #[test]
    fn batch_finds_the_bad_item() {
        let keys: Vec<SecretKey> = (0..5u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
        let pubs: Vec<PublicKey> = keys.iter().map(|k| k.public()).collect();
        let msgs: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10]).collect();
        let mut sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        let items: Vec<_> = (0..5)
            .map(|i| (&pubs[i], msgs[i].as_slice(), &sigs[i]))
            .collect();
        assert_eq!(verify_batch(&items), Ok(()));
        sigs[3] = keys[3].sign(b"other");
        let items: Vec<_> = (0..5)
            .map(|i| (&pubs[i], msgs[i].as_slice(), &sigs[i]))
            .collect();
        assert_eq!(verify_batch(&items), Err(vec![3]));
        // Every bad item is found, the rest pass.
        sigs[0] = keys[0].sign(b"other");
        sigs[4] = keys[1].sign(&msgs[4]);
        let items: Vec<_> = (0..5)
            .map(|i| (&pubs[i], msgs[i].as_slice(), &sigs[i]))
            .collect();
        assert_eq!(verify_batch(&items), Err(vec![0, 3, 4]));
        assert_eq!(verify_batch(&[]), Ok(()));
    }
}

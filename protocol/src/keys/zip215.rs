//! Ed25519 signature validity under the ZIP-215 rules (PROTOCOL.md section 1), single and batch.
//!
//! A signature `R || S` on `M` under the encoding `A` is valid iff `S < L`, `A` and `R` decode as
//! curve points (non-canonical encodings, `y >= p` or `x = 0` with the sign bit set, are
//! accepted, and so are points of small order), and `[8]([S]B - R - [k]A)` is the identity, with
//! `k = SHA-512(R || A || M) mod L` over the bytes as given. The cofactor `[8]` is what lets a
//! batch agree with single verification on every input: a batch sums cofactored equations, and
//! a torsion component that a cofactorless single check would see is invisible to both.
//!
//! tradelog accepts a signature iff its key passed key vetting where it was parsed
//! ([`crate::keys::PublicKey::from_bytes`]: canonical, not of small order) and this equation
//! holds. [`verify_raw`] is the equation alone, for test vectors and cross-checks.

use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

use super::{PublicKey, Signature};

/// Domain of the batch coefficients' hash (not a signed domain: nothing is signed with it).
const BATCH_DOMAIN: &[u8] = b"tradelog/zip215-batch/v1";

/// A failed sub-batch of at most this many items is checked item by item.
const SINGLES_BELOW: usize = 4;

/// The ZIP-215 decoding of a point: RFC 8032 5.1.3 without its two canonicity checks.
/// curve25519-dalek 4 decodes exactly so: the field element is read from the low 255 bits
/// without a range check (so `y >= p` is reduced), and `x = 0` with the sign bit set negates 0.
pub fn decode_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*bytes).decompress()
}

/// `S` as a scalar if it is canonical (`S < L`).
fn canonical_scalar(bytes: &[u8; 32]) -> Option<Scalar> {
    Option::from(Scalar::from_canonical_bytes(*bytes))
}

/// `k = SHA-512(R || A || M) mod L`.
fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(msg);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&h.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// One signature ready for the equation: its decoded `R`, canonical `S` and challenge `k`.
#[derive(Clone, Copy)]
struct Prepared {
    r: EdwardsPoint,
    r_bytes: [u8; 32],
    s: Scalar,
    k: Scalar,
}

impl Prepared {
    /// `None` if `S >= L` or `R` does not decode: the signature is invalid whatever the key.
    fn new(a_bytes: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> Option<Prepared> {
        let mut r_bytes = [0u8; 32];
        r_bytes.copy_from_slice(&sig[..32]);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&sig[32..]);
        let s = canonical_scalar(&s_bytes)?;
        let r = decode_point(&r_bytes)?;
        Some(Prepared {
            r,
            r_bytes,
            s,
            k: challenge(&r_bytes, a_bytes, msg),
        })
    }

    /// `[8]([S]B - R - [k]A) == identity`.
    fn holds(&self, a: &EdwardsPoint) -> bool {
        let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&self.k, &-a, &self.s);
        (sb_minus_ka - self.r).mul_by_cofactor().is_identity()
    }
}

/// The ZIP-215 verdict on raw bytes: `A` decoded like `R` (small-order and non-canonical
/// encodings allowed), no key vetting. tradelog's rule adds the key vetting of
/// [`PublicKey::from_bytes`]; use [`PublicKey::verify`] for that.
pub fn verify_raw(a: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    match (decode_point(a), Prepared::new(a, msg, sig)) {
        (Some(point), Some(p)) => p.holds(&point),
        _ => false,
    }
}

/// Single verification under a vetted key.
pub(super) fn verify(key: &PublicKey, msg: &[u8], sig: &Signature) -> bool {
    let a = key.to_bytes();
    Prepared::new(&a, msg, &sig.to_bytes()).is_some_and(|p| p.holds(&key.point()))
}

/// A prepared item of a batch, with its position in the caller's list.
struct Item {
    pos: usize,
    a: EdwardsPoint,
    a_bytes: [u8; 32],
    p: Prepared,
}

/// Verifies many `(key, message, signature)` triples under the ZIP-215 rules; the verdict on
/// each item equals [`PublicKey::verify`]'s. `Err` lists the positions of every invalid item,
/// in increasing order, so a caller refuses each bad item alone and admits the rest.
///
/// The batch equation is `[8](-(Σ z_i S_i) B + Σ z_i R_i + Σ_A (Σ_{i: A_i = A} z_i k_i) A) ==
/// identity` (terms of one key are summed, so a block whose events come from few issuers costs
/// little more than its `R`s). When it fails, the batch is split in halves, each checked the
/// same way, down to single checks, so every invalid item is found.
///
/// The 128-bit coefficients `z_i` are derived, not drawn (this crate has no randomness): they
/// are BLAKE3 output over the whole (sub-)batch, every item's `R`, `A`, `S` and `k` in order
/// (`k` covers the message). Why that is sound: if every item is valid, each cofactored term
/// is the identity, so the equation holds for any `z` (a batch never refuses a valid item).
/// If item `j` is invalid, its cofactored error `E_j = [8](S_j B - R_j - k_j A_j)` is a
/// non-identity point of the prime-order subgroup, so for any values of the other terms at
/// most one of the `2^128` values of `z_j` makes the sum vanish. The `z` are fixed by the
/// hash only after every item is, so (BLAKE3 as a random oracle) one try at a crafted batch
/// succeeds with probability at most `2^-128`, and `q` hash evaluations of grinding at most
/// `q · 2^-128`: the same bound as coefficients drawn at random after the items are chosen.
pub fn verify_batch(items: &[(&PublicKey, &[u8], &Signature)]) -> Result<(), Vec<usize>> {
    let mut bad = Vec::new();
    let mut prepared = Vec::with_capacity(items.len());
    for (pos, (key, msg, sig)) in items.iter().enumerate() {
        let a_bytes = key.to_bytes();
        match Prepared::new(&a_bytes, msg, &sig.to_bytes()) {
            Some(p) => prepared.push(Item {
                pos,
                a: key.point(),
                a_bytes,
                p,
            }),
            None => bad.push(pos),
        }
    }
    find_bad(&prepared, &mut bad, false);
    if bad.is_empty() {
        Ok(())
    } else {
        bad.sort_unstable();
        Err(bad)
    }
}

/// Pushes the positions of the invalid items of `items` onto `bad`; true if it found any.
/// `failing` says the batch equation over `items` is already known to fail: the caller's
/// batch failed and its other half was all valid (valid items never make an equation fail),
/// so checking it again would only repeat the answer.
fn find_bad(items: &[Item], bad: &mut Vec<usize>, failing: bool) -> bool {
    if items.len() < SINGLES_BELOW {
        let before = bad.len();
        bad.extend(
            items
                .iter()
                .filter(|it| !it.p.holds(&it.a))
                .map(|it| it.pos),
        );
        return bad.len() > before;
    }
    if !failing && batch_holds(items) {
        return false;
    }
    let (left, right) = items.split_at(items.len() / 2);
    let in_left = find_bad(left, bad, false);
    let in_right = find_bad(right, bad, !in_left);
    in_left || in_right
}

/// The coefficients `z_i` of a batch: `16 · n` bytes of BLAKE3 XOF output over
/// `BATCH_DOMAIN || 0x00 || u64(n) || (R_i || A_i || S_i || k_i) for each i`, read as
/// little-endian 128-bit integers.
fn coefficients(items: &[Item]) -> Vec<Scalar> {
    let mut h = blake3::Hasher::new();
    h.update(BATCH_DOMAIN);
    h.update(&[0]);
    h.update(&(items.len() as u64).to_be_bytes());
    for it in items {
        h.update(&it.p.r_bytes);
        h.update(&it.a_bytes);
        h.update(it.p.s.as_bytes());
        h.update(it.p.k.as_bytes());
    }
    let mut xof = h.finalize_xof();
    items
        .iter()
        .map(|_| {
            let mut z = [0u8; 32];
            xof.fill(&mut z[..16]);
            Scalar::from_bytes_mod_order(z)
        })
        .collect()
}

/// The batch equation over `items` (at least one).
fn batch_holds(items: &[Item]) -> bool {
    let z = coefficients(items);
    let mut s_sum = Scalar::ZERO;
    let mut by_key: HashMap<[u8; 32], usize> = HashMap::new();
    let mut key_points: Vec<EdwardsPoint> = Vec::new();
    let mut key_scalars: Vec<Scalar> = Vec::new();
    for (it, z) in items.iter().zip(&z) {
        s_sum += z * it.p.s;
        let slot = *by_key.entry(it.a_bytes).or_insert_with(|| {
            key_points.push(it.a);
            key_scalars.push(Scalar::ZERO);
            key_points.len() - 1
        });
        key_scalars[slot] += z * it.p.k;
    }
    let scalars = std::iter::once(-s_sum)
        .chain(z.iter().copied())
        .chain(key_scalars);
    let points = std::iter::once(ED25519_BASEPOINT_POINT)
        .chain(items.iter().map(|it| it.p.r))
        .chain(key_points);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

/// The 14 encodings the ZIP-215 test suites combine (`14 x 14` pairs of `A` and `R`): the
/// canonical encodings of the eight points of small order (the torsion subgroup `E[8]`), then
/// the six non-canonical encodings that decode to one of them (`y + p` for the points with
/// `y < 19`, i.e. `y = 0` and `y = 1`, with either sign bit; `x = 0` with the sign bit set for
/// the two points with `x = 0`). Each group is sorted as 256-bit little-endian integers.
/// Computed, not typed in.
pub fn small_order_encodings() -> Vec<[u8; 32]> {
    let le = |b: &[u8; 32]| {
        let mut r = *b;
        r.reverse();
        r
    };
    let mut canonical: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
        .iter()
        .map(|p| p.compress().to_bytes())
        .collect();
    canonical.sort_by_key(le);
    // p = 2^255 - 19, little-endian.
    let mut field_p = [0xffu8; 32];
    field_p[0] = 0xed;
    field_p[31] = 0x7f;
    let mut candidates: Vec<[u8; 32]> = Vec::new();
    for y in [0u8, 1] {
        for sign in [0u8, 0x80] {
            let mut e = field_p;
            e[0] += y;
            e[31] |= sign;
            candidates.push(e);
        }
    }
    candidates.extend(canonical.iter().map(|c| {
        let mut e = *c;
        e[31] ^= 0x80;
        e
    }));
    // Keep the encodings that decode to a small-order point and are not its canonical encoding
    // (flipping the sign bit of a point with x != 0 gives the canonical encoding of its
    // negation: dropped here).
    let mut non_canonical: Vec<[u8; 32]> = candidates
        .into_iter()
        .filter(|e| {
            decode_point(e).is_some_and(|q| q.is_small_order() && q.compress().to_bytes() != *e)
        })
        .collect();
    non_canonical.sort_by_key(le);
    non_canonical.dedup();
    canonical.extend(non_canonical);
    canonical
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;

    #[test]
    fn the_fourteen_small_order_encodings() {
        let e = small_order_encodings();
        assert_eq!(e.len(), 14);
        let mut sorted = e.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 14, "distinct");
        for (i, b) in e.iter().enumerate() {
            let p = decode_point(b).unwrap();
            assert!(p.is_small_order(), "{i}");
            assert_eq!(
                p.compress().to_bytes() == *b,
                i < 8,
                "canonical iff among the first 8"
            );
        }
        // Sorted: the canonical encoding of y = 0 (an order-4 point) comes first.
        assert_eq!(e[0], [0u8; 32]);
    }

    #[test]
    fn honest_signatures_verify_and_tampered_ones_do_not() {
        let sk = SecretKey::from_seed(&[5u8; 32]);
        let sig = sk.sign(b"msg");
        assert!(verify_raw(&sk.public().to_bytes(), b"msg", &sig.to_bytes()));
        assert!(!verify_raw(
            &sk.public().to_bytes(),
            b"msG",
            &sig.to_bytes()
        ));
        let mut s = sig.to_bytes();
        s[40] ^= 1;
        assert!(!verify_raw(&sk.public().to_bytes(), b"msg", &s));
    }
}

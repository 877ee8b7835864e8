//! ZIP-215 signature validity (PROTOCOL.md section 1): every edge-case vector of section 11 is
//! checked against `ed25519-consensus` (an independent ZIP-215 implementation, a dev-dependency
//! only), and random inputs, honest and crafted, get the same verdict from our single check,
//! our batch check and `ed25519-consensus`; everything `verify_strict` accepts stays valid.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use sha2::{Digest, Sha512};
use tradelog_protocol::keys::zip215::{small_order_encodings, verify_raw};
use tradelog_protocol::keys::{verify_batch, PublicKey, SecretKey, Signature};
use tradelog_protocol::vectors;

/// The verdict of `ed25519-consensus` (ZIP-215, no key vetting).
fn consensus(a: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    match ed25519_consensus::VerificationKey::try_from(*a) {
        Ok(vk) => vk
            .verify(&ed25519_consensus::Signature::from(*sig), msg)
            .is_ok(),
        Err(_) => false,
    }
}

/// tradelog's verdict: key vetting, then ZIP-215.
fn tradelog(a: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    PublicKey::from_bytes(a).is_ok_and(|k| k.verify(msg, &Signature::from_bytes(sig)).is_ok())
}

/// ed25519-dalek's `verify_strict` (the rule before ZIP-215).
fn strict(a: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(a).is_ok_and(|k| {
        k.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
            .is_ok()
    })
}

fn hex32(s: &str) -> [u8; 32] {
    let mut b = [0u8; 32];
    hex::decode_to_slice(s, &mut b).unwrap();
    b
}

fn hex64(s: &str) -> [u8; 64] {
    let mut b = [0u8; 64];
    hex::decode_to_slice(s, &mut b).unwrap();
    b
}

fn sig(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(r);
    out[32..].copy_from_slice(s);
    out
}

/// Splits `"zip215=<bits> tradelog=<bits>"`.
fn bits(verdict: &str) -> (Vec<bool>, Vec<bool>) {
    let (raw, trade) = verdict.split_once(' ').unwrap();
    let b = |s: &str, prefix: &str| -> Vec<bool> {
        s.strip_prefix(prefix)
            .unwrap()
            .chars()
            .map(|c| c == '1')
            .collect()
    };
    (b(raw, "zip215="), b(trade, "tradelog="))
}

#[test]
fn small_order_vectors_all_196_pairs() {
    let v = vectors::compute().unwrap().values;
    let msg = hex::decode(&v["zip215_message"]).unwrap();
    let enc: Vec<[u8; 32]> = (0..14)
        .map(|i| {
            hex32(
                v[format!("zip215_small_order_{i:02}").as_str()]
                    .split(' ')
                    .next()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(enc, small_order_encodings());
    let mut cases = 0;
    for (i, a) in enc.iter().enumerate() {
        let (raw, trade) = bits(&v[format!("zip215_small_order_verdicts_a{i:02}").as_str()]);
        assert_eq!((raw.len(), trade.len()), (14, 14));
        for (j, r) in enc.iter().enumerate() {
            let s = sig(r, &[0u8; 32]);
            assert_eq!(
                raw[j],
                consensus(a, &msg, &s),
                "A {i} R {j}: ed25519-consensus"
            );
            assert_eq!(raw[j], verify_raw(a, &msg, &s), "A {i} R {j}: ours");
            assert!(
                raw[j],
                "A {i} R {j}: ZIP-215 accepts every small-order pair with S = 0"
            );
            assert_eq!(trade[j], tradelog(a, &msg, &s), "A {i} R {j}: tradelog");
            assert!(
                !trade[j],
                "A {i}: a small-order key is refused by key vetting"
            );
            assert!(!strict(a, &msg, &s), "A {i} R {j}: verify_strict refuses");
            cases += 1;
        }
        assert!(
            PublicKey::from_bytes(a).is_err(),
            "key vetting refuses A {i}"
        );
    }
    assert_eq!(cases, 196);
}

#[test]
fn non_canonical_s_is_refused() {
    let v = vectors::compute().unwrap().values;
    let msg = hex::decode(&v["zip215_message"]).unwrap();
    let a = hex32(v["zip215_small_order_00"].split(' ').next().unwrap());
    // S = L on every small-order R: the non-canonical encoding of zero is refused.
    let mut l = (Scalar::ZERO - Scalar::ONE).to_bytes();
    l[0] += 1;
    let (raw, trade) = bits(&v["zip215_s_equal_l_verdicts_a00"]);
    for (j, r) in small_order_encodings().iter().enumerate() {
        let s = sig(r, &l);
        assert!(
            !raw[j] && !consensus(&a, &msg, &s) && !verify_raw(&a, &msg, &s),
            "R {j}"
        );
        assert!(!trade[j]);
    }
    // RFC 8032 test 1 with S + L: the equation holds mod L, but S is not canonical.
    let key = hex32(&v["public_key"]);
    let bad = hex64(&v["zip215_non_canonical_s_signature"]);
    let good = SecretKey::from_seed(&hex32(vectors::RFC8032_SEED))
        .sign(b"")
        .to_bytes();
    assert_eq!(good[..32], bad[..32]);
    assert_eq!(
        v["zip215_non_canonical_s_verdicts"],
        "zip215=10 tradelog=10"
    );
    assert!(consensus(&key, b"", &good) && !consensus(&key, b"", &bad));
    assert!(verify_raw(&key, b"", &good) && !verify_raw(&key, b"", &bad));
    assert!(tradelog(&key, b"", &good) && !tradelog(&key, b"", &bad));
}

#[test]
fn torsion_in_r_or_in_the_key_is_accepted_where_verify_strict_refuses() {
    let v = vectors::compute().unwrap().values;
    let msg = hex::decode(&v["zip215_message"]).unwrap();
    let key = hex32(&v["public_key"]);
    let mixed_key = hex32(&v["zip215_mixed_order_a_key"]);
    for (a, s, verdict) in [
        (
            key,
            hex64(&v["zip215_mixed_order_r_signature"]),
            &v["zip215_mixed_order_r_verdict"],
        ),
        (
            mixed_key,
            hex64(&v["zip215_mixed_order_a_signature"]),
            &v["zip215_mixed_order_a_verdict"],
        ),
    ] {
        assert_eq!(verdict, "zip215=1 tradelog=1");
        assert!(consensus(&a, &msg, &s));
        assert!(verify_raw(&a, &msg, &s));
        assert!(tradelog(&a, &msg, &s), "the key passes vetting");
        assert!(
            !strict(&a, &msg, &s),
            "verify_strict (cofactorless) refuses"
        );
    }
    // The mixed-order key is vetted: canonical and not of small order, but not torsion-free.
    let k = PublicKey::from_bytes(&mixed_key).unwrap();
    assert!(!k.as_dalek().to_edwards().is_torsion_free());
}

/// A signature by secret scalar `a` on `msg` under the key `[a]B + t_key`, with nonce point
/// `[r]B + t_r`: honest when both torsion points are the identity.
fn craft(
    a: Scalar,
    t_key: &EdwardsPoint,
    r: Scalar,
    t_r: &EdwardsPoint,
    msg: &[u8],
) -> ([u8; 32], [u8; 64]) {
    let key = (EdwardsPoint::mul_base(&a) + t_key).compress().to_bytes();
    let big_r = (EdwardsPoint::mul_base(&r) + t_r).compress().to_bytes();
    let mut h = Sha512::new();
    h.update(big_r);
    h.update(key);
    h.update(msg);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&h.finalize());
    let k = Scalar::from_bytes_mod_order_wide(&wide);
    (key, sig(&big_r, (r + k * a).as_bytes()))
}

/// How a generated case is made.
#[derive(Debug, Clone)]
enum Case {
    Honest,
    FlipBit(usize),
    TorsionInR(usize),
    TorsionInKey(usize),
    SPlusL,
    SmallOrderR(usize),
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        Just(Case::Honest),
        (0usize..512).prop_map(Case::FlipBit),
        (1usize..8).prop_map(Case::TorsionInR),
        (1usize..8).prop_map(Case::TorsionInKey),
        Just(Case::SPlusL),
        (0usize..14).prop_map(Case::SmallOrderR),
    ]
}

fn make(seed: [u8; 32], msg: &[u8], case: &Case) -> ([u8; 32], [u8; 64]) {
    let sk = SecretKey::from_seed(&seed);
    let honest = (sk.public().to_bytes(), sk.sign(msg).to_bytes());
    let scalar = |tag: &[u8]| {
        let mut wide = [0u8; 64];
        wide.copy_from_slice(
            &Sha512::new()
                .chain_update(tag)
                .chain_update(seed)
                .finalize(),
        );
        Scalar::from_bytes_mod_order_wide(&wide)
    };
    let id = EdwardsPoint::default();
    match case {
        Case::Honest => honest,
        Case::FlipBit(b) => {
            let (a, mut s) = honest;
            s[b / 8] ^= 1 << (b % 8);
            (a, s)
        }
        Case::TorsionInR(t) => craft(scalar(b"a"), &id, scalar(b"r"), &EIGHT_TORSION[*t], msg),
        Case::TorsionInKey(t) => craft(scalar(b"a"), &EIGHT_TORSION[*t], scalar(b"r"), &id, msg),
        Case::SPlusL => {
            let (a, s) = honest;
            let mut x = [0u8; 32];
            x.copy_from_slice(&s[32..]);
            let mut l = (Scalar::ZERO - Scalar::ONE).to_bytes();
            l[0] += 1;
            let mut carry = 0u16;
            for (xi, li) in x.iter_mut().zip(l) {
                let sum = u16::from(*xi) + u16::from(li) + carry;
                *xi = sum as u8;
                carry = sum >> 8;
            }
            let mut r = [0u8; 32];
            r.copy_from_slice(&s[..32]);
            (a, sig(&r, &x))
        }
        Case::SmallOrderR(j) => {
            let (a, s) = honest;
            let mut x = [0u8; 32];
            x.copy_from_slice(&s[32..]);
            (a, sig(&small_order_encodings()[*j], &x))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Single, batch and ed25519-consensus agree on every generated item; what verify_strict
    /// accepts, ZIP-215 and tradelog accept.
    #[test]
    fn single_batch_and_consensus_agree(
        items in proptest::collection::vec(
            (any::<[u8; 32]>(), proptest::collection::vec(any::<u8>(), 0..40), case()),
            1..16,
        )
    ) {
        let made: Vec<([u8; 32], Vec<u8>, [u8; 64])> = items
            .iter()
            .map(|(seed, msg, c)| {
                let (a, s) = make(*seed, msg, c);
                (a, msg.clone(), s)
            })
            .collect();
        for (a, msg, s) in &made {
            let ours = verify_raw(a, msg, s);
            prop_assert_eq!(ours, consensus(a, msg, s));
            if strict(a, msg, s) {
                prop_assert!(ours && tradelog(a, msg, s));
            }
        }
        // The batch, over the items whose key passes vetting, finds exactly the invalid ones.
        let keyed: Vec<(PublicKey, &[u8], Signature)> = made
            .iter()
            .filter_map(|(a, msg, s)| {
                Some((PublicKey::from_bytes(a).ok()?, msg.as_slice(), Signature::from_bytes(s)))
            })
            .collect();
        let refs: Vec<(&PublicKey, &[u8], &Signature)> =
            keyed.iter().map(|(k, m, s)| (k, *m, s)).collect();
        let expected: Vec<usize> = refs
            .iter()
            .enumerate()
            .filter(|(_, (k, m, s))| k.verify(m, s).is_err())
            .map(|(i, _)| i)
            .collect();
        let got = verify_batch(&refs);
        if expected.is_empty() {
            prop_assert_eq!(got, Ok(()));
        } else {
            prop_assert_eq!(got, Err(expected));
        }
    }
}

#[test]
fn a_large_batch_with_crafted_items_finds_every_bad_one() {
    // 300 honest signatures (Pippenger territory), torsion-crafted ones that ZIP-215 accepts,
    // and a few invalid ones spread out: the batch names exactly the invalid ones.
    let mut made = Vec::new();
    for i in 0..300u32 {
        // Seven keys, so the batch sums the terms of each key.
        let seed = [(i % 7) as u8; 32];
        let c = match i % 50 {
            7 => Case::TorsionInR(3),
            8 => Case::TorsionInKey(5),
            13 => Case::FlipBit(300),
            29 => Case::SPlusL,
            _ => Case::Honest,
        };
        let msg = i.to_be_bytes().to_vec();
        let (a, s) = make(seed, &msg, &c);
        made.push((
            PublicKey::from_bytes(&a).unwrap(),
            msg,
            Signature::from_bytes(&s),
        ));
    }
    let refs: Vec<(&PublicKey, &[u8], &Signature)> =
        made.iter().map(|(k, m, s)| (k, m.as_slice(), s)).collect();
    let expected: Vec<usize> = (0..300).filter(|i| matches!(i % 50, 13 | 29)).collect();
    assert_eq!(verify_batch(&refs), Err(expected));
    let good: Vec<_> = refs
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(i % 50, 13 | 29))
        .map(|(_, r)| *r)
        .collect();
    assert_eq!(verify_batch(&good), Ok(()));
}

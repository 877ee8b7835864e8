//! JSON-decoded `index::IndexProof` verified against arbitrary roots and keys.
//!
//! Input: `selector (1 byte) || key (32 bytes) || root (32 bytes) || proof JSON`; short inputs
//! are zero-padded. `verify` and `verify_entry` must not panic. As an oracle, the proof is also
//! checked against a real index of 32 subjects: for the key picked by the selector (one of the
//! subjects if `selector < 32`, else the input key), it must verify under the real root exactly
//! when it equals the honest proof, and then return the real entry's value hash.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tradelog_protocol::index::{Index, IndexEntry, IndexProof, Subject};
use tradelog_protocol::sample::{sample_container, sample_ucr};
use tradelog_protocol::Hash;

struct Fixture {
    index: Index,
    subjects: Vec<Subject>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut index = Index::new();
        let mut subjects = Vec::new();
        for n in 0..16u32 {
            subjects.push(Subject::Consignment(sample_ucr(n)));
            subjects.push(Subject::Container(sample_container(n)));
        }
        for (i, s) in subjects.iter().enumerate() {
            for e in 0..=(i % 3) {
                index.record(s, &Hash::of(&[&(i as u64).to_be_bytes(), &[e as u8]]));
            }
        }
        Fixture { index, subjects }
    })
}

fn hash_at(data: &[u8], at: usize) -> Hash {
    let mut h = [0u8; 32];
    if let Some(part) = data.get(at..) {
        let n = part.len().min(32);
        h[..n].copy_from_slice(&part[..n]);
    }
    Hash(h)
}

fuzz_target!(|data: &[u8]| {
    let selector = data.first().copied().unwrap_or(0);
    let key = hash_at(data, 1);
    let root = hash_at(data, 33);
    let Some(json) = data.get(65..) else {
        return;
    };
    let Ok(proof) = serde_json::from_slice::<IndexProof>(json) else {
        return;
    };
    let f = fixture();
    let _ = proof.verify(&root, &key);
    let _ = proof.verify(&Hash::ZERO, &key);
    let subject = &f.subjects[usize::from(selector) % f.subjects.len()];
    let _ = proof.verify_entry(&root, subject, &IndexEntry::default());

    let real_root = f.index.root();
    let real_key = if usize::from(selector) < f.subjects.len() {
        subject.key()
    } else {
        key
    };
    let honest = f.index.prove(&real_key);
    let result = proof.verify(&real_root, &real_key);
    assert_eq!(
        result.is_ok(),
        proof == honest,
        "index proof accepted/refused wrongly: {proof:?} -> {result:?}, honest {honest:?}"
    );
    if let Ok(found) = result {
        let expected = f.index.get(&real_key).map(|e| e.value_hash());
        assert_eq!(found, expected, "index proof returned the wrong value hash");
    }
});

//! The subject index: presence and absence proofs, tampering, agreement with a plain map.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use proptest::prelude::*;
use tradelog_protocol::index::{IndexProofError, ProofLeaf};
use tradelog_protocol::sample::{sample_container, sample_ucr};
use tradelog_protocol::{Hash, Index, IndexEntry, Subject};

fn id(i: u64) -> Hash {
    Hash::of(&[&i.to_be_bytes()])
}

#[test]
fn empty_index_proves_absence() {
    let idx = Index::new();
    assert_eq!(idx.root(), Hash::ZERO);
    let key = Subject::Consignment(sample_ucr(1)).key();
    assert_eq!(idx.prove(&key).verify(&idx.root(), &key), Ok(None));
}

#[test]
fn presence_absence_and_tamper() {
    let mut idx = Index::new();
    let mut model: HashMap<Subject, Vec<Hash>> = HashMap::new();
    for i in 0..500u64 {
        let s = if i % 3 == 0 {
            Subject::Container(sample_container((i % 40) as u32))
        } else {
            Subject::Consignment(sample_ucr((i % 70) as u32))
        };
        idx.record(&s, &id(i));
        model.entry(s).or_default().push(id(i));
    }
    assert_eq!(idx.len(), model.len() as u64);
    let root = idx.root();
    for (s, ids) in &model {
        let key = s.key();
        let entry = IndexEntry::over(ids);
        assert_eq!(idx.get(&key), Some(entry));
        let p = idx.prove(&key);
        assert_eq!(p.verify(&root, &key), Ok(Some(entry.value_hash())));
        assert_eq!(p.verify_entry(&root, s, &entry), Ok(true));
        // Claiming one event fewer is refused.
        let short = IndexEntry::over(&ids[..ids.len() - 1]);
        assert_eq!(p.verify_entry(&root, s, &short), Ok(false));
        // Any sibling altered breaks the proof.
        for k in 0..p.siblings.len() {
            let mut t = p.clone();
            t.siblings[k].0[5] ^= 0x10;
            assert!(t.verify(&root, &key).is_err());
        }
        // Claiming absence with the path cut short fails.
        let mut t = p.clone();
        t.leaf = None;
        assert!(t.verify(&root, &key).is_err());
    }
    // Absent subjects are proven absent, and a present leaf cannot be relabelled.
    for n in 1000..1050u32 {
        let key = Subject::Consignment(sample_ucr(n)).key();
        let p = idx.prove(&key);
        assert_eq!(p.verify(&root, &key), Ok(None));
        if let Some(leaf) = p.leaf {
            let mut t = p.clone();
            t.leaf = Some(ProofLeaf {
                key,
                value_hash: leaf.value_hash,
            });
            assert!(t.verify(&root, &key).is_err());
        }
    }
}

#[test]
fn off_path_leaf_is_refused() {
    let mut idx = Index::new();
    for i in 0..64 {
        idx.record(&Subject::Consignment(sample_ucr(i)), &id(u64::from(i)));
    }
    let a = Subject::Consignment(sample_ucr(1)).key();
    let b = Subject::Consignment(sample_ucr(2)).key();
    let mut p = idx.prove(&a);
    p.leaf = idx.prove(&b).leaf;
    assert!(matches!(
        p.verify(&idx.root(), &a),
        Err(IndexProofError::OffPath | IndexProofError::Mismatch)
    ));
}

#[test]
fn snapshots_are_independent() {
    let mut idx = Index::new();
    let s = Subject::Consignment(sample_ucr(7));
    idx.record(&s, &id(1));
    let snap = idx.clone();
    idx.record(&s, &id(2));
    assert_eq!(snap.get(&s.key()).map(|e| e.count), Some(1));
    assert_eq!(idx.get(&s.key()).map(|e| e.count), Some(2));
    assert_ne!(snap.root(), idx.root());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn root_is_order_independent_across_subjects(n in 1u32..200, seed in any::<u64>()) {
        // Entries of distinct subjects commute; the root depends only on the final entries.
        let subjects: Vec<Subject> = (0..n).map(|i| Subject::Consignment(sample_ucr(i))).collect();
        let mut a = Index::new();
        for (i, s) in subjects.iter().enumerate() { a.record(s, &id(i as u64)); }
        let mut order: Vec<usize> = (0..subjects.len()).collect();
        let mut x = seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut b = Index::new();
        for i in order { b.record(&subjects[i], &id(i as u64)); }
        prop_assert_eq!(a.root(), b.root());
    }
}

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

/// The index root computed from scratch from the spec (PROTOCOL.md section 5), independent of
/// [`Index`]: the keys with their value hashes, sorted by key, under the subtree at `depth`.
fn reference_root(entries: &[(Hash, Hash)], depth: usize) -> Hash {
    match entries {
        [] => Hash::ZERO,
        [(key, value)] => Hash::of(&[&[0x02], key.as_bytes(), value.as_bytes()]),
        _ => {
            let bit = |k: &Hash| (k.0[depth / 8] >> (7 - depth % 8)) & 1 == 1;
            let split = entries.partition_point(|(k, _)| !bit(k));
            let (l, r) = entries.split_at(split);
            let (l, r) = (reference_root(l, depth + 1), reference_root(r, depth + 1));
            Hash::of(&[&[0x03], l.as_bytes(), r.as_bytes()])
        }
    }
}

fn subject(n: u8) -> Subject {
    if n.is_multiple_of(4) {
        Subject::Container(sample_container(u32::from(n)))
    } else {
        Subject::Consignment(sample_ucr(u32::from(n)))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Records hashed in batches (the root read only at the end of each batch, snapshots taken
    /// between batches) give the same roots, entries and proofs as records hashed one by one,
    /// and both equal the root computed from scratch from the spec; snapshots never change.
    #[test]
    fn batched_records_equal_per_event_records(
        ops in proptest::collection::vec((0u8..48, any::<bool>()), 1..400),
    ) {
        let mut per_event = Index::new();
        let mut batched = Index::new();
        let mut model: HashMap<Subject, Vec<Hash>> = HashMap::new();
        let mut snapshots: Vec<(Index, Hash)> = Vec::new();
        for (i, (n, end_of_batch)) in ops.iter().enumerate() {
            let (s, e) = (subject(*n), id(i as u64));
            per_event.record(&s, &e);
            let root = per_event.root();
            batched.record(&s, &e);
            model.entry(s).or_default().push(e);
            if *end_of_batch {
                prop_assert_eq!(batched.root(), root);
                snapshots.push((batched.clone(), root));
            }
        }
        let root = batched.root();
        prop_assert_eq!(root, per_event.root());
        let mut entries: Vec<(Hash, Hash)> = model
            .iter()
            .map(|(s, ids)| (s.key(), IndexEntry::over(ids).value_hash()))
            .collect();
        entries.sort();
        prop_assert_eq!(root, reference_root(&entries, 0));
        prop_assert_eq!(batched.len(), model.len() as u64);
        for (s, ids) in &model {
            let entry = IndexEntry::over(ids);
            prop_assert_eq!(batched.get(&s.key()), Some(entry));
            let p = batched.prove(&s.key());
            prop_assert_eq!(&p, &per_event.prove(&s.key()));
            prop_assert_eq!(p.verify_entry(&root, s, &entry), Ok(true));
        }
        for (snap, root) in &snapshots {
            prop_assert_eq!(snap.root(), *root);
        }
    }
}

#[test]
fn a_snapshot_whose_hashes_were_never_read_is_not_changed_by_later_records() {
    let s = Subject::Consignment(sample_ucr(3));
    let mut idx = Index::new();
    for i in 0..100 {
        idx.record(&Subject::Consignment(sample_ucr(i)), &id(u64::from(i)));
    }
    // No root read yet: the snapshot shares nodes whose hashes are still to be computed.
    let snap = idx.clone();
    for i in 100..200 {
        idx.record(&s, &id(i));
    }
    let mut expected = Index::new();
    for i in 0..100 {
        expected.record(&Subject::Consignment(sample_ucr(i)), &id(u64::from(i)));
    }
    assert_eq!(snap.root(), expected.root());
    assert_eq!(snap.get(&s.key()).map(|e| e.count), Some(1));
    assert_eq!(idx.get(&s.key()).map(|e| e.count), Some(101));
    assert_ne!(idx.root(), snap.root());
}

/// A key that shares its first `bits` bits with `base` (to crowd one bucket or one subtree).
fn near(base: &Hash, salt: u64, bits: usize) -> Hash {
    let mut k = Hash::of(&[&salt.to_be_bytes()]);
    for d in 0..bits.min(256) {
        let (byte, shift) = (d / 8, 7 - d % 8);
        let b = (base.0[byte] >> shift) & 1;
        k.0[byte] = (k.0[byte] & !(1 << shift)) | (b << shift);
    }
    k
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// The bucketed index (any number of upper bits, batches staged then applied) has the same
    /// root, entries and proofs as the reference index after every batch, for present and
    /// absent keys, including keys crowded into one bucket or sharing long prefixes; a proof on
    /// a staged batch equals the proof after it is applied, and staging changes nothing.
    #[test]
    fn bucketed_index_equals_the_reference(
        bits in 0u8..10,
        ops in proptest::collection::vec((0u16..300, 0u8..4, any::<bool>()), 1..300),
    ) {
        use tradelog_protocol::index::buckets::{MemIndex, Update};
        let base = Hash::of(&[b"crowd"]);
        let key_of = |n: u16, kind: u8| match kind {
            0 => near(&base, u64::from(n), 40),           // one long shared prefix
            1 => near(&base, u64::from(n), usize::from(n % 24)), // prefixes of every length
            _ => subject(n as u8).key(),
        };
        let mut reference = Index::new();
        let mut bucketed = MemIndex::new(bits);
        let mut batch: Vec<Update> = Vec::new();
        let mut keys: Vec<Hash> = Vec::new();
        for (i, (n, kind, end)) in ops.iter().enumerate() {
            let key = key_of(*n, *kind);
            let e = id(i as u64);
            reference.record_key(&key, &e);
            batch.push(Update { key, id: e, position: i as u64 });
            keys.push(key);
            if *end || i + 1 == ops.len() {
                let before = bucketed.root();
                let staged = bucketed.stage(&batch);
                prop_assert_eq!(bucketed.root(), before);
                prop_assert_eq!(staged.root(), reference.root());
                for k in keys.iter().take(8) {
                    let p = bucketed.prove_staged(Some(&staged), k);
                    prop_assert_eq!(&p, &reference.prove(k));
                }
                bucketed.apply(&staged);
                prop_assert_eq!(bucketed.root(), reference.root());
                batch.clear();
            }
        }
        prop_assert_eq!(bucketed.len(), reference.len());
        let root = reference.root();
        for (j, k) in keys.iter().enumerate() {
            prop_assert_eq!(bucketed.get(k), reference.get(k));
            let p = bucketed.prove(k);
            prop_assert_eq!(&p, &reference.prove(k));
            prop_assert!(p.verify(&root, k).is_ok());
            let absent = near(k, j as u64 + 1_000_000, 30);
            prop_assert_eq!(bucketed.prove(&absent), reference.prove(&absent));
        }
    }
}

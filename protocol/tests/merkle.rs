//! Merkle log proofs: exhaustive over small trees, tampering always detected, proptest on larger.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use tradelog_protocol::merkle::{
    empty_root, leaf_hash, root_of, ConsistencyProof, InclusionProof, MerkleLog,
};
use tradelog_protocol::Hash;

fn log_of(n: u64) -> (MerkleLog, Vec<Hash>) {
    let mut log = MerkleLog::new();
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    for l in &leaves {
        log.push(*l);
    }
    (log, leaves)
}

fn flip(h: &Hash) -> Hash {
    let mut b = h.0;
    b[0] ^= 1;
    Hash(b)
}

#[test]
fn incremental_root_matches_definition() {
    let (log, leaves) = log_of(300);
    for n in 0..=300u64 {
        assert_eq!(
            log.root_at(n),
            Some(root_of(&leaves[..n as usize])),
            "size {n}"
        );
    }
    assert_eq!(MerkleLog::new().root(), empty_root());
}

#[test]
fn every_inclusion_proof_up_to_300_verifies_and_every_tamper_fails() {
    let (log, leaves) = log_of(300);
    for size in 1..=300u64 {
        let root = log.root_at(size).unwrap();
        for index in 0..size {
            let p = log.prove_inclusion(index, size).unwrap();
            let leaf = leaves[index as usize];
            assert_eq!(p.verify(&leaf, &root), Ok(()), "index {index} size {size}");
            // Wrong leaf, wrong root.
            assert!(p.verify(&flip(&leaf), &root).is_err());
            assert!(p.verify(&leaf, &flip(&root)).is_err());
            // Each path element altered.
            for k in 0..p.path.len() {
                let mut t = p.clone();
                t.path[k] = flip(&t.path[k]);
                assert!(t.verify(&leaf, &root).is_err(), "tampered path[{k}]");
            }
            // Path shortened or lengthened.
            if !p.path.is_empty() {
                let mut t = p.clone();
                t.path.pop();
                assert!(t.verify(&leaf, &root).is_err());
            }
            let mut t = p.clone();
            t.path.push(leaf);
            assert!(t.verify(&leaf, &root).is_err());
            // Claimed at a different index.
            if size > 1 {
                let mut t = p.clone();
                t.index = (index + 1) % size;
                assert!(t.verify(&leaf, &root).is_err());
            }
        }
    }
}

#[test]
fn every_consistency_proof_up_to_64_verifies_and_every_tamper_fails() {
    let (log, _) = log_of(64);
    for second in 0..=64u64 {
        let r2 = log.root_at(second).unwrap();
        for first in 0..=second {
            let r1 = log.root_at(first).unwrap();
            let p = log.prove_consistency(first, second).unwrap();
            assert_eq!(p.verify(&r1, &r2), Ok(()), "{first} -> {second}");
            if first < second {
                assert!(
                    p.verify(&flip(&r1), &r2).is_err(),
                    "{first}->{second} first root"
                );
                // The empty tree is a prefix of every tree: nothing binds the second root then.
                if first > 0 {
                    assert!(
                        p.verify(&r1, &flip(&r2)).is_err(),
                        "{first}->{second} second root"
                    );
                }
            }
            for k in 0..p.path.len() {
                let mut t = p.clone();
                t.path[k] = flip(&t.path[k]);
                assert!(t.verify(&r1, &r2).is_err(), "{first}->{second} path[{k}]");
            }
            if !p.path.is_empty() {
                let mut t = p.clone();
                t.path.pop();
                assert!(t.verify(&r1, &r2).is_err());
            }
            let mut t = p.clone();
            t.path.push(r1);
            assert!(t.verify(&r1, &r2).is_err(), "{first}->{second} extended");
            // A proof for other sizes does not carry over.
            if first > 0 && first + 1 < second {
                let mut t = p.clone();
                t.first += 1;
                assert!(t.verify(&r1, &r2).is_err());
            }
        }
    }
}

#[test]
fn a_rewritten_history_is_not_consistent() {
    let (log, mut leaves) = log_of(20);
    leaves[3] = leaf_hash(b"rewritten");
    let mut forged = MerkleLog::new();
    for l in &leaves {
        forged.push(*l);
    }
    let p = forged.prove_consistency(10, 20).unwrap();
    // The honest size-10 root cannot be extended to the forged size-20 root.
    assert!(p.verify(&log.root_at(10).unwrap(), &forged.root()).is_err());
}

#[test]
fn proofs_refuse_out_of_range() {
    let (log, leaves) = log_of(5);
    assert!(log.prove_inclusion(5, 5).is_none());
    assert!(log.prove_inclusion(0, 6).is_none());
    let p = InclusionProof {
        index: 5,
        size: 5,
        path: vec![],
    };
    assert!(p.verify(&leaves[0], &log.root()).is_err());
    let c = ConsistencyProof {
        first: 6,
        second: 5,
        path: vec![],
    };
    assert!(c.verify(&log.root(), &log.root()).is_err());
    let long = InclusionProof {
        index: 0,
        size: 5,
        path: vec![Hash::ZERO; 200],
    };
    assert!(long.verify(&leaves[0], &log.root()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_proofs_verify(size in 1u64..5000, a in any::<u64>(), b in any::<u64>()) {
        let (log, leaves) = log_of(size);
        let index = a % size;
        let root = log.root();
        let p = log.prove_inclusion(index, size).unwrap();
        prop_assert!(p.verify(&leaves[index as usize], &root).is_ok());
        let first = b % (size + 1);
        let c = log.prove_consistency(first, size).unwrap();
        prop_assert!(c.verify(&log.root_at(first).unwrap(), &root).is_ok());
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<InclusionProof>(&json).unwrap(), p);
    }
}

#[test]
fn truncate_then_regrow_gives_the_same_log() {
    let (full, leaves) = log_of(300);
    for n in [0u64, 1, 2, 3, 64, 127, 128, 129, 299] {
        let mut log = full.clone();
        log.truncate(n);
        assert_eq!(log.size(), n);
        assert_eq!(log.root(), full.root_at(n).unwrap(), "size {n}");
        for l in &leaves[n as usize..] {
            log.push(*l);
        }
        assert_eq!(log.root(), full.root());
        assert_eq!(log.prove_inclusion(5, 300), full.prove_inclusion(5, 300));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The frontier (O(log n) hashes) gives the same root as the full log after every append,
    /// reports exactly the complete subtrees each append finishes (what a store keeps), and is
    /// rebuilt from any prefix of a log's stored subtrees.
    #[test]
    fn frontier_agrees_with_the_full_log(n in 1usize..700, cut in 0usize..700) {
        use tradelog_protocol::merkle::{Frontier, HashSource};
        let mut log = MerkleLog::new();
        let mut frontier = Frontier::new();
        let mut produced = Vec::new();
        for i in 0..n {
            let leaf = leaf_hash(&(i as u64).to_be_bytes());
            log.push(leaf);
            let mut out = Vec::new();
            prop_assert_eq!(frontier.push(leaf, &mut out), i as u64);
            prop_assert_eq!(frontier.root(), log.root());
            for node in &out {
                prop_assert_eq!(Ok(node.hash), log.subtree(node.level, node.index));
            }
            produced.extend(out);
        }
        // Every complete subtree of the log was produced exactly once.
        let complete: usize = (0..12).map(|k| n >> k).sum();
        prop_assert_eq!(produced.len(), complete);
        let size = (cut % n + 1) as u64;
        let rebuilt = Frontier::of(&log, size).unwrap();
        prop_assert_eq!(rebuilt.size(), size);
        prop_assert_eq!(Some(rebuilt.root()), log.root_at(size));
    }
}

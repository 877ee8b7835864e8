//! JSON-decoded `merkle::ConsistencyProof` verified against arbitrary roots.
//!
//! Input: `first_root (32 bytes) || second_root (32 bytes) || proof JSON`; short inputs are
//! zero-padded. `verify` must not panic. As an oracle, the proof is also checked against the
//! real roots of a 1024-leaf log at its (first, second): it must verify exactly when it equals
//! the honest consistency proof.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tradelog_protocol::merkle::{leaf_hash, ConsistencyProof, MerkleLog};
use tradelog_protocol::Hash;

const LOG_SIZE: u64 = 1024;

fn log() -> &'static MerkleLog {
    static LOG: OnceLock<MerkleLog> = OnceLock::new();
    LOG.get_or_init(|| {
        let mut log = MerkleLog::new();
        for i in 0..LOG_SIZE {
            log.push(leaf_hash(&i.to_be_bytes()));
        }
        log
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
    let first_root = hash_at(data, 0);
    let second_root = hash_at(data, 32);
    let Some(json) = data.get(64..) else {
        return;
    };
    let Ok(proof) = serde_json::from_slice::<ConsistencyProof>(json) else {
        return;
    };
    let _ = proof.verify(&first_root, &second_root);
    let _ = proof.verify(&first_root, &first_root);

    let log = log();
    if proof.first <= proof.second && proof.second <= LOG_SIZE {
        let (Some(r1), Some(r2)) = (log.root_at(proof.first), log.root_at(proof.second)) else {
            panic!("log roots missing for sizes {} {}", proof.first, proof.second);
        };
        let honest = log.prove_consistency(proof.first, proof.second);
        let ok = proof.verify(&r1, &r2).is_ok();
        assert_eq!(
            ok,
            honest.as_ref() == Some(&proof),
            "consistency proof accepted/refused wrongly: {proof:?}, honest {honest:?}"
        );
    }
});

//! JSON-decoded `merkle::InclusionProof` verified against arbitrary hashes.
//!
//! Input: `leaf (32 bytes) || root (32 bytes) || proof JSON`; short inputs are zero-padded.
//! `verify` must not panic on any proof, leaf or root. As an oracle, the same proof is also
//! checked against a real 1024-leaf log: for its own (index, size) and the real leaf and root,
//! it must verify exactly when it equals the honest proof (anything else is a forgery).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tradelog_protocol::merkle::{leaf_hash, InclusionProof, MerkleLog};
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
    let leaf = hash_at(data, 0);
    let root = hash_at(data, 32);
    let Some(json) = data.get(64..) else {
        return;
    };
    let Ok(proof) = serde_json::from_slice::<InclusionProof>(json) else {
        return;
    };
    let _ = proof.verify(&leaf, &root);
    let _ = proof.verify(&leaf, &leaf);

    let log = log();
    if proof.size <= LOG_SIZE && proof.index < proof.size {
        let (Some(real_leaf), Some(real_root)) = (log.leaf(proof.index), log.root_at(proof.size))
        else {
            panic!("log lookups failed for index {} size {}", proof.index, proof.size);
        };
        let honest = log.prove_inclusion(proof.index, proof.size);
        let ok = proof.verify(&real_leaf, &real_root).is_ok();
        assert_eq!(
            ok,
            honest.as_ref() == Some(&proof),
            "inclusion proof accepted/refused wrongly: {proof:?}, honest {honest:?}"
        );
    }
});

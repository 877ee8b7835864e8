//! `ProofBundle::from_json` on arbitrary bytes, then `verify` against the sample genesis.
//!
//! Neither may panic. A parsed bundle must survive a JSON round trip unchanged. Because the
//! fuzzer cannot forge the validators' precommits, each parsed bundle is also re-certified with
//! the (public, deterministic) sample validator keys and verified again, so the event, inclusion
//! proof and index checks behind the certificate check are reached too.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tradelog_protocol::sample::SampleNetwork;
use tradelog_protocol::{Certificate, ProofBundle, SecretKey};

fn net() -> &'static SampleNetwork {
    static NET: OnceLock<SampleNetwork> = OnceLock::new();
    NET.get_or_init(|| SampleNetwork::new(4).expect("sample network"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = ProofBundle::from_json(data) else {
        return;
    };
    let net = net();
    let genesis = &net.genesis;
    let verified = bundle.verify(genesis);

    let json = match serde_json::to_string(&bundle) {
        Ok(j) => j,
        Err(e) => panic!("parsed bundle does not serialize: {e}"),
    };
    match ProofBundle::from_json(json.as_bytes()) {
        Ok(again) => assert_eq!(again, bundle, "bundle changed after a JSON round trip"),
        Err(e) => panic!("re-encoded bundle does not parse: {e}\nre-encoded: {json}"),
    }

    // Re-certify the head (same chain id and validator set as the genesis) with 3 of the 4
    // sample validators, a quorum, and verify again.
    let mut recert = bundle.clone();
    recert.head.chain = genesis.chain.clone();
    recert.head.validators = genesis.validator_set().hash();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    recert.certificate = Certificate::sign(&recert.head, bundle.certificate.round, &keys);
    let reverified = recert.verify(genesis);
    if verified.is_ok() && bundle.head.validators == genesis.validator_set().hash() {
        // The head already named the genesis set (no validator-set transition before it), so
        // only the certificate changed: still valid. A head under a later set (PROTOCOL.md 9d)
        // is no longer valid once it names the genesis set.
        assert!(
            reverified.is_ok(),
            "valid bundle refused after re-certification: {reverified:?}"
        );
    }
});

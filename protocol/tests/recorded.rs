//! Recorded times (PROTOCOL.md 9 step 7): a version-3 bundle proves the block that committed
//! each event, so a verifier shows when the ledger recorded it beside the event's own time;
//! every lie about a block is refused, and version-2 bundles keep verifying without them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::bundle::{BundleError, Recorded};
use tradelog_protocol::head::CertificateError;
use tradelog_protocol::sample::{consignment_route, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, Ledger, ProofBundle, SecretKey, Subject};

const T0: u64 = 1_767_225_600_000;
const HOUR: u64 = 3_600_000;

/// Consignment 0's route in four blocks; the last block is recorded two days after the
/// events it holds say they happened (a late entry).
fn ledger(net: &SampleNetwork) -> (Ledger, Certificate) {
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let route = consignment_route(net, 0, T0).unwrap();
    let mut ledger = Ledger::new(&net.genesis);
    for (i, chunk) in route.chunks(4).enumerate() {
        let latest = chunk.iter().map(|e| e.body().time).max().unwrap();
        let time = if i == 3 {
            latest + 48 * HOUR
        } else {
            latest + 1000
        };
        let head = ledger.append_block(chunk.to_vec(), time).unwrap();
        ledger.certify(head.height, Certificate::sign(&head, 0, &keys));
    }
    let head = ledger.head().unwrap().clone();
    (ledger, Certificate::sign(&head, 0, &keys))
}

fn bundle(net: &SampleNetwork) -> (Ledger, ProofBundle) {
    let (ledger, cert) = ledger(net);
    let b = ledger
        .bundle(&Subject::Consignment(sample_ucr(0)), cert)
        .unwrap();
    (ledger, b)
}

fn refused(net: &SampleNetwork, b: &ProofBundle) -> BundleError {
    let json = serde_json::to_vec(b).unwrap();
    ProofBundle::from_json(&json)
        .unwrap()
        .verify(&net.genesis)
        .unwrap_err()
}

#[test]
fn every_event_gets_its_blocks_height_and_time() {
    let net = SampleNetwork::new(4).unwrap();
    let (ledger, b) = bundle(&net);
    assert_eq!(b.version, 3);
    assert_eq!(b.blocks.as_ref().unwrap().len(), 4);
    let p = b.verify(&net.genesis).unwrap();
    assert_eq!(p.recorded.len(), 14);
    for (k, ((index, e), rec)) in p.events.iter().zip(&p.recorded).enumerate() {
        let height = (k / 4) as u64 + 1;
        let head = ledger.head_at(height).unwrap();
        assert_eq!(
            *rec,
            Some(Recorded {
                height,
                time: head.time
            }),
            "event {k} at log index {index}"
        );
        if height == 4 {
            assert!(head.time - e.body().time >= 48 * HOUR);
        }
    }
}

#[test]
fn a_version_2_bundle_verifies_without_recorded_times_and_may_not_carry_blocks() {
    let net = SampleNetwork::new(4).unwrap();
    let (_, mut b) = bundle(&net);
    let blocks = b.blocks.take();
    b.version = 2;
    let p = b.verify(&net.genesis).unwrap();
    assert!(p.recorded.iter().all(Option::is_none));
    // Version 3 requires the member; version 2 may not carry it, not even empty.
    b.version = 3;
    assert!(matches!(refused(&net, &b), BundleError::Malformed(_)));
    b.version = 2;
    b.blocks = Some(Vec::new());
    assert!(matches!(refused(&net, &b), BundleError::Malformed(_)));
    b.blocks = blocks;
    assert!(matches!(refused(&net, &b), BundleError::Malformed(_)));
    b.version = 4;
    assert!(matches!(refused(&net, &b), BundleError::Version(4)));
}

#[test]
fn a_block_left_out_leaves_its_events_unproven() {
    let net = SampleNetwork::new(4).unwrap();
    let (_, mut b) = bundle(&net);
    b.blocks.as_mut().unwrap().remove(1);
    let p = b.verify(&net.genesis).unwrap();
    let unproven: Vec<usize> = (0..p.recorded.len())
        .filter(|&k| p.recorded[k].is_none())
        .collect();
    assert_eq!(unproven, [4, 5, 6, 7]);
}

#[test]
fn every_lie_about_a_block_is_refused() {
    let net = SampleNetwork::new(4).unwrap();
    let (ledger, honest) = bundle(&net);
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let block =
        |e: &BundleError, p: usize| matches!(e, BundleError::Block { pos, .. } if *pos == p);

    // A later block time (the entry looks late): the certificate no longer certifies it.
    let mut b = honest.clone();
    b.blocks.as_mut().unwrap()[1].head.time += 48 * HOUR;
    assert!(matches!(
        refused(&net, &b),
        BundleError::BlockCertificate {
            pos: 1,
            err: CertificateError::WrongHead { .. }
        }
    ));

    // Re-signed by keys that are not the validators: refused the same way.
    let mut b = honest.clone();
    let outsider = SecretKey::from_seed(&[7; 32]);
    b.blocks.as_mut().unwrap()[1].certificate =
        Certificate::sign(&b.blocks.as_mut().unwrap()[1].head, 0, &[&outsider]);
    assert!(matches!(
        refused(&net, &b),
        BundleError::BlockCertificate { pos: 1, .. }
    ));

    // A block's events claimed by a later block: its prev is then not the head before it.
    let mut b = honest.clone();
    b.blocks.as_mut().unwrap()[2].prev = Some(ledger.head_at(1).unwrap().clone());
    assert!(block(&refused(&net, &b), 2));

    // The block before dropped, so the later block holds the earlier events too.
    let mut b = honest.clone();
    b.blocks.as_mut().unwrap()[1].prev = None;
    assert!(block(&refused(&net, &b), 1));

    // At height 1, prev must be null.
    let mut b = honest.clone();
    b.blocks.as_mut().unwrap()[0].prev = Some(ledger.head_at(1).unwrap().clone());
    assert!(block(&refused(&net, &b), 0));

    // `prev` is a required member (null at height 1).
    let json = serde_json::to_string(&honest).unwrap();
    let missing = json.replacen(",\"prev\":null", "", 1);
    assert_ne!(missing, json);
    assert!(ProofBundle::from_json(missing.as_bytes()).is_err());

    // Out of height order, or repeated.
    let mut b = honest.clone();
    b.blocks.as_mut().unwrap().swap(0, 1);
    assert!(block(&refused(&net, &b), 1));
    let mut b = honest.clone();
    b.blocks.as_mut().unwrap()[1] = b.blocks.as_mut().unwrap()[0].clone();
    assert!(block(&refused(&net, &b), 1));

    // A block that holds none of the bundle's events (another consignment's block).
    let (mut other, _) = self::ledger(&net);
    let extra = consignment_route(&net, 1, T0 + 200 * HOUR).unwrap();
    let h5 = other.append_block(extra, T0 + 1053 * HOUR).unwrap();
    let c5 = Certificate::sign(&h5, 0, &keys);
    other.certify(5, c5.clone());
    let mut b = other
        .bundle(&Subject::Consignment(sample_ucr(0)), c5.clone())
        .unwrap();
    b.verify(&net.genesis).unwrap();
    b.blocks
        .as_mut()
        .unwrap()
        .push(tradelog_protocol::bundle::BlockProof {
            head: h5.clone(),
            certificate: c5,
            prev: Some(other.head_at(4).unwrap().clone()),
        });
    assert!(block(&refused(&net, &b), 4));

    // A block head that is not the bundle's head at the bundle head's height.
    let mut b = honest.clone();
    let last = b.blocks.as_ref().unwrap().len() - 1;
    b.blocks.as_mut().unwrap()[last].head.index_root = tradelog_protocol::Hash([9; 32]);
    b.blocks.as_mut().unwrap()[last].certificate =
        Certificate::sign(&b.blocks.as_mut().unwrap()[last].head, 0, &keys);
    assert!(block(&refused(&net, &b), last));

    // More blocks than events.
    let mut b = honest.clone();
    let extra: Vec<_> = b.blocks.clone().unwrap();
    b.blocks
        .as_mut()
        .unwrap()
        .extend(extra.iter().cloned().cycle().take(11));
    assert!(matches!(refused(&net, &b), BundleError::Block { .. }));
}

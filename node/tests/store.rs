//! The disk store: blocks survive a reopen that reads a bounded tail; proofs read from disk
//! equal the in-memory reference's; a torn tail left by a crash is cut; a corrupted last block
//! is detected and dropped; garbage collection and checkpoints keep the index right; a data dir
//! of the first storage format is migrated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use tradelog_node::block::{Block, CommittedBlock};
use tradelog_node::ledger::NodeLedger;
use tradelog_node::store::buckets::Tuning;
use tradelog_node::store::{legacy, Store, StoreConfig};
use tradelog_protocol::sample::{consignment_route, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, EventId, LedgerState, SecretKey, Subject};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tradelog-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `n` certified blocks of one consignment route each (consignment `i` in block `i`), and the
/// reference state after them.
fn blocks(net: &SampleNetwork, n: u32) -> (Vec<CommittedBlock>, LedgerState) {
    blocks_of(net, n, 1)
}

/// Like [`blocks`], with each route spread over `parts` consecutive blocks (so subjects are
/// updated again in later blocks).
fn blocks_of(net: &SampleNetwork, n: u32, parts: usize) -> (Vec<CommittedBlock>, LedgerState) {
    let mut state = LedgerState::new(&net.genesis);
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let bs = (0..n as usize * parts)
        .map(|k| {
            let i = (k / parts) as u32;
            let route = consignment_route(net, i, net.genesis.time).unwrap();
            let per = route.len().div_ceil(parts);
            let events: Vec<_> = route.chunks(per).nth(k % parts).unwrap().to_vec();
            let time = route.iter().map(|e| e.body().time).max().unwrap() + k as u64;
            let (head, _) = state
                .apply_block(&events, time, &|_: &EventId| false)
                .unwrap();
            CommittedBlock {
                certificate: Certificate::sign(&head, 0, &keys),
                head,
                events,
            }
        })
        .collect();
    (bs, state)
}

fn open(d: &Path, net: &SampleNetwork, config: StoreConfig) -> NodeLedger {
    NodeLedger::open(net.genesis.clone(), d, config).unwrap().0
}

fn commit(ledger: &NodeLedger, b: &CommittedBlock) {
    let block = Block {
        head: b.head.clone(),
        events: b.events.clone(),
    };
    ledger.commit(&block, &b.certificate, None).unwrap();
}

/// Every subject's bundle from the ledger verifies and equals the reference's.
fn same_as_reference(ledger: &NodeLedger, state: &LedgerState, net: &SampleNetwork, n: u32) {
    let (head, cert) = ledger.certified().unwrap();
    assert_eq!(Some(&head), state.head());
    for i in 0..n {
        for subject in [
            Subject::Consignment(sample_ucr(i)),
            Subject::Container(sample_container(i)),
        ] {
            let bundle = ledger.provenance(&subject).unwrap().unwrap();
            assert_eq!(bundle.head, head);
            assert_eq!(bundle.certificate, cert);
            assert_eq!(bundle.index_proof, state.index().prove(&subject.key()));
            for pe in &bundle.events {
                assert_eq!(
                    Some(pe.proof.clone()),
                    state
                        .log()
                        .prove_inclusion(pe.index, head.log_size)
                        .map(|p| p.path)
                );
            }
            bundle.verify(&net.genesis).unwrap();
        }
    }
}

#[test]
fn blocks_survive_reopen_and_proofs_equal_the_reference() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("reopen");
    let (bs, state) = blocks(&net, 3);
    {
        let ledger = open(&d, &net, StoreConfig::default());
        for b in &bs {
            commit(&ledger, b);
        }
        // A block that does not follow the tip is refused, and changes nothing.
        let again = Block {
            head: bs[0].head.clone(),
            events: bs[0].events.clone(),
        };
        assert!(ledger.commit(&again, &bs[0].certificate, None).is_err());
        assert_eq!(ledger.height(), 3);
    }
    let (ledger, opened) =
        NodeLedger::open(net.genesis.clone(), &d, StoreConfig::default()).unwrap();
    assert_eq!((opened.height, opened.cut_from), (3, None));
    let store = ledger.store();
    assert_eq!(store.tip(), 3);
    assert_eq!(store.block(2).unwrap(), Some(bs[1].clone()));
    // The served JSON, built from the stored bytes, is exactly the block's serialization.
    for (h, b) in (1u64..).zip(&bs) {
        assert_eq!(
            store.block_json(h).unwrap(),
            Some(serde_json::to_vec(b).unwrap())
        );
    }
    assert_eq!(store.block_json(4).unwrap(), None);
    let ev = &bs[1].events[4];
    assert_eq!(store.event(&ev.id()).unwrap(), Some((14 + 4, ev.clone())));
    assert_eq!(store.event(&EventId::of(&[b"nothing"])).unwrap(), None);
    same_as_reference(&ledger, &state, &net, 3);
    let route = ledger
        .consignment_route(&sample_ucr(1), 0, None)
        .unwrap()
        .unwrap();
    route.verify(&net.genesis).unwrap();
    let (first_root, second_root) = (
        state.log().root_at(14).unwrap(),
        state.log().root_at(42).unwrap(),
    );
    let (proof, a, b) = ledger.consistency(14, 42).unwrap().unwrap();
    assert_eq!((a, b), (first_root, second_root));
    assert_eq!(Some(proof), state.log().prove_consistency(14, 42));
    assert!(ledger.consistency(14, 43).unwrap().is_none());
    drop(ledger);
    // Another ledger's genesis is refused on this data dir.
    let mut other = net.genesis.clone();
    other.chain = "other-ledger".into();
    let err = NodeLedger::open(other, &d, StoreConfig::default()).unwrap_err();
    assert!(err.to_string().contains("belongs to genesis"), "{err}");
}

/// Small segments and checkpoints: the index's garbage is collected, checkpoints are written
/// and segments deleted, and every reopen (checkpoint plus replay) gives the same state.
#[test]
fn garbage_collection_and_checkpoints_keep_the_index() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("gc");
    let config = StoreConfig {
        tuning: Tuning {
            segment_bytes: 2 << 10,
            checkpoint_bytes: 2 << 10,
        },
        ..StoreConfig::default()
    };
    let n = 40;
    let (bs, state) = blocks_of(&net, n, 4);
    let mut ledger = open(&d, &net, config);
    for (i, b) in bs.iter().enumerate() {
        commit(&ledger, b);
        if i % 23 == 22 {
            drop(ledger);
            ledger = open(&d, &net, config);
            assert_eq!(ledger.height(), i as u64 + 1);
        }
    }
    same_as_reference(&ledger, &state, &net, n);
    let segments = std::fs::read_dir(d.join("index")).unwrap().count();
    let (bytes, live) = ledger.store().disk_usage().index;
    assert!(d.join("index").join("checkpoint").exists());
    assert!(
        bytes < 3 * live + 3 * (2 << 10),
        "index holds {bytes} bytes for {live} live ({segments} files)"
    );
    drop(ledger);
    let ledger = open(&d, &net, config);
    same_as_reference(&ledger, &state, &net, n);
}

#[test]
fn a_torn_tail_left_by_a_crash_is_cut() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("torn");
    let (bs, state) = blocks(&net, 3);
    {
        let ledger = open(&d, &net, StoreConfig::default());
        commit(&ledger, &bs[0]);
        commit(&ledger, &bs[1]);
    }
    // A crash after block 3's files were written but before its record: bytes past what block
    // 2 recorded, in every file.
    for f in [
        "events/data",
        "events/offsets",
        "tiles/level-00",
        "index/000000.seg",
        "ids/000000.seg",
        "blocks/data",
        "blocks/offsets",
    ] {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(d.join(f))
            .unwrap();
        file.write_all(&[0xAB; 100]).unwrap();
    }
    let (ledger, opened) =
        NodeLedger::open(net.genesis.clone(), &d, StoreConfig::default()).unwrap();
    assert_eq!((opened.height, opened.cut_from), (2, None));
    commit(&ledger, &bs[2]);
    same_as_reference(&ledger, &state, &net, 3);
}

#[test]
fn a_corrupted_last_block_is_dropped_and_taken_again() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("corrupt");
    let (bs, state) = blocks(&net, 3);
    {
        let ledger = open(&d, &net, StoreConfig::default());
        for b in &bs {
            commit(&ledger, b);
        }
        ledger.store().corrupt_event_for_test(28 + 3).unwrap();
    }
    let (ledger, opened) =
        NodeLedger::open(net.genesis.clone(), &d, StoreConfig::default()).unwrap();
    assert_eq!((opened.height, opened.cut_from), (2, Some(3)));
    assert_eq!(ledger.certified().unwrap().0, bs[1].head);
    assert!(ledger.store().block(3).unwrap().is_none());
    assert!(ledger
        .store()
        .event(&bs[2].events[0].id())
        .unwrap()
        .is_none());
    // Consignment 2's events were all in block 3: nothing of it is left.
    assert!(ledger
        .provenance(&Subject::Consignment(sample_ucr(2)))
        .unwrap()
        .unwrap()
        .events
        .is_empty());
    // The node takes the block again (as fetched from peers).
    commit(&ledger, &bs[2]);
    same_as_reference(&ledger, &state, &net, 3);
}

#[test]
fn a_data_dir_of_the_first_format_is_migrated() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("legacy");
    let (bs, state) = blocks(&net, 4);
    legacy::write_for_test(&d, &bs).unwrap();
    assert!(legacy::is_legacy(&d));
    let (ledger, opened) =
        NodeLedger::open(net.genesis.clone(), &d, StoreConfig::default()).unwrap();
    assert_eq!(opened.height, 4);
    assert!(!legacy::is_legacy(&d));
    assert!(!d.join("db").exists(), "the old files are removed");
    same_as_reference(&ledger, &state, &net, 4);
    drop(ledger);
    let ledger = open(&d, &net, StoreConfig::default());
    assert_eq!(ledger.height(), 4);
}

/// The child of [`killed_between_the_files_and_the_block_record`]: commits blocks into the dir
/// it is given until the failpoint aborts it. Does nothing when run as an ordinary test.
#[test]
fn child_commits_until_the_failpoint() {
    let Ok(d) = std::env::var("TRADELOG_STORE_CHILD") else {
        return;
    };
    let net = SampleNetwork::new(4).unwrap();
    let (bs, _) = blocks(&net, 3);
    let ledger = open(Path::new(&d), &net, StoreConfig::default());
    for b in &bs {
        commit(&ledger, b);
    }
    panic!("the failpoint did not fire");
}

/// A process killed after block 3's files were written and synced but before its record
/// (the one moment between the two): reopened, the store is at block 2 with nothing of block 3,
/// and takes block 3 again.
#[test]
fn killed_between_the_files_and_the_block_record() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("killed");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_commits_until_the_failpoint",
            "--nocapture",
        ])
        .env("TRADELOG_STORE_CHILD", &d)
        .env("TRADELOG_FAILPOINT", "before-block-record:3")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("failpoint before-block-record at block 3"),
        "{stderr}"
    );
    let (bs, state) = blocks(&net, 3);
    let data_before = std::fs::metadata(d.join("events").join("data"))
        .unwrap()
        .len();
    let (ledger, opened) =
        NodeLedger::open(net.genesis.clone(), &d, StoreConfig::default()).unwrap();
    assert_eq!((opened.height, opened.cut_from), (2, None));
    let data_after = std::fs::metadata(d.join("events").join("data"))
        .unwrap()
        .len();
    assert!(data_after < data_before, "block 3's events were cut");
    assert!(ledger
        .store()
        .event(&bs[2].events[0].id())
        .unwrap()
        .is_none());
    commit(&ledger, &bs[2]);
    same_as_reference(&ledger, &state, &net, 3);
}

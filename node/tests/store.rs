//! The sled store: blocks survive a reopen, a corrupted tail is detected and cut off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_node::store::{
    check_genesis, open_state, CommittedBlock, SledStore, Store, StoreError,
};
use tradelog_protocol::sample::{consignment_route, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, LedgerState, SecretKey, Subject};

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tradelog-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn blocks(net: &SampleNetwork, n: u32) -> Vec<CommittedBlock> {
    let mut state = LedgerState::new(&net.genesis);
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    (0..n)
        .map(|i| {
            let events = consignment_route(net, i, net.genesis.time).unwrap();
            let time = events.iter().map(|e| e.body().time).max().unwrap() + u64::from(i);
            let (head, _) = state
                .apply_block(&events, time, &|_: &tradelog_protocol::EventId| false)
                .unwrap();
            CommittedBlock {
                certificate: Certificate::sign(&head, 0, &keys),
                head,
                events,
            }
        })
        .collect()
}

#[test]
fn blocks_survive_reopen_and_serve_subjects() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("reopen");
    let bs = blocks(&net, 3);
    {
        let store = SledStore::open(&d).unwrap();
        check_genesis(&store, &net.genesis).unwrap();
        for b in &bs {
            store.commit(b).unwrap();
        }
        assert!(matches!(
            store.commit(&bs[0]),
            Err(StoreError::NotNext { got: 1, tip: 3 })
        ));
    }
    let store = SledStore::open(&d).unwrap();
    check_genesis(&store, &net.genesis).unwrap();
    let (state, rec) = open_state(&store, &net.genesis).unwrap();
    assert_eq!(rec.height, 3);
    assert!(rec.cut_from.is_none());
    assert_eq!(state.head(), Some(&bs[2].head));
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
    let subject = Subject::Consignment(sample_ucr(1));
    let got = store
        .subject_events(&subject, state.head().unwrap().log_size)
        .unwrap();
    assert_eq!(got.len(), 14);
    assert!(store.subject_events(&subject, 16).unwrap().len() == 2);
    // The bundle built from the store verifies.
    let membership = state
        .membership_proof(
            store
                .subject_events(&Subject::Membership, state.head().unwrap().log_size)
                .unwrap(),
            |_| None,
        )
        .unwrap();
    let bundle = state
        .bundle(&subject, got, bs[2].certificate.clone(), membership)
        .unwrap();
    assert!(bundle.verify(&net.genesis).is_ok());
    // Another ledger's genesis is refused on this data dir.
    let mut other = net.genesis.clone();
    other.chain = "other-ledger".into();
    assert!(check_genesis(&store, &other).is_err());
}

#[test]
fn corrupted_tail_is_cut_and_state_rebuilt() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("torn");
    let bs = blocks(&net, 3);
    let store = SledStore::open(&d).unwrap();
    for b in &bs {
        store.commit(b).unwrap();
    }
    // Replace an event of block 2 by another valid event: the recomputed root no longer matches.
    let other = consignment_route(&net, 9, net.genesis.time)
        .unwrap()
        .remove(0);
    store
        .corrupt_event_for_test(14 + 3, other.to_json().as_bytes())
        .unwrap();
    drop(store);
    let store = SledStore::open(&d).unwrap();
    let (state, rec) = open_state(&store, &net.genesis).unwrap();
    assert_eq!(rec.cut_from, Some(2));
    assert_eq!(rec.height, 1);
    assert_eq!(store.tip().unwrap(), 1);
    assert_eq!(state.head(), Some(&bs[0].head));
    assert!(store.block(2).unwrap().is_none());
    assert!(store.event(&bs[2].events[0].id()).unwrap().is_none());
    // The node can take the missing blocks again (as fetched from peers).
    store.commit(&bs[1]).unwrap();
    store.commit(&bs[2]).unwrap();
    let (state, rec) = open_state(&store, &net.genesis).unwrap();
    assert_eq!((rec.height, rec.cut_from), (3, None));
    assert_eq!(state.head(), Some(&bs[2].head));

    // Garbage bytes instead of JSON are detected the same way.
    store.corrupt_event_for_test(30, b"\x00garbage").unwrap();
    let (_, rec) = open_state(&store, &net.genesis).unwrap();
    assert_eq!(rec.cut_from, Some(3));
}

#[test]
fn cut_tail_leaves_no_orphaned_index_entries() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("orphans");
    let bs = blocks(&net, 2);
    let store = SledStore::open(&d).unwrap();
    for b in &bs {
        store.commit(b).unwrap();
    }
    store.corrupt_event_for_test(14, b"not json").unwrap();
    let (_, rec) = open_state(&store, &net.genesis).unwrap();
    assert_eq!(rec.cut_from, Some(2));
    // Consignment 1's events were all in block 2: nothing of it is left, and no lookup fails.
    let s = Subject::Consignment(sample_ucr(1));
    assert!(store.subject_events(&s, u64::MAX).unwrap().is_empty());
    assert_eq!(
        store
            .subject_events(&Subject::Consignment(sample_ucr(0)), u64::MAX)
            .unwrap()
            .len(),
        14
    );
    assert!(store.event_at(14).unwrap().is_none());
}

//! A node's admission keeps the consignment party rule over its disk store (PROTOCOL.md 8c),
//! and a route naming more containers than one bundle holds is served in verified pages at
//! one head (9b) instead of being refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use tradelog_node::block::Block;
use tradelog_node::ledger::{BlockError, NodeLedger, RouteError};
use tradelog_node::store::StoreConfig;
use tradelog_protocol::roles::AuthError;
use tradelog_protocol::route::{verify_pages, MAX_ROUTE_CONTAINERS, ROUTE_PAGE_VERSION};
use tradelog_protocol::sample::{self, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, Event, EventId, EventKind, LedgerError, SecretKey, Ucr};

const HOUR: u64 = 3_600_000;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tradelog-parties-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn event(
    net: &SampleNetwork,
    org: &str,
    kind: EventKind,
    n: u32,
    ucr: &Ucr,
    parties: &[&str],
) -> Event {
    let mut b = sample::body(kind, net.genesis.time + HOUR + u64::from(n)).unwrap();
    b.ucr = Some(ucr.clone());
    b.location = Some("NLRTM".parse().unwrap());
    if kind == EventKind::Packed {
        b.container = Some(sample_container(n));
    }
    if !parties.is_empty() {
        b.parties = Some(parties.iter().map(|p| p.parse().unwrap()).collect());
    }
    net.sign(org, b).unwrap()
}

/// Checks `events` as the next block on `ledger` and commits them.
fn commit(ledger: &NodeLedger, net: &SampleNetwork, events: Vec<Event>) {
    let time = events.iter().map(|e| e.body().time).max().unwrap();
    let preview = ledger.preview(&events, time, &|_: &EventId| false).unwrap();
    let head = preview.head().clone();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let cert = Certificate::sign(&head, 0, &keys);
    ledger
        .commit(&Block { head, events }, &cert, Some(preview))
        .unwrap();
}

#[test]
fn admission_over_the_store_refuses_an_outsider_and_admits_parties() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("admission");
    let (ledger, _) = NodeLedger::open(net.genesis.clone(), &d, StoreConfig::default()).unwrap();
    let ucr = sample_ucr(1);
    commit(
        &ledger,
        &net,
        vec![event(
            &net,
            "shopfast",
            EventKind::Booked,
            0,
            &ucr,
            &["blue-anchor-lines"],
        )],
    );
    assert_eq!(ledger.parties(&ucr).unwrap().len(), 2);
    // B5/B6 against a node: an unrelated carrier's events are refused by the committed parties.
    let outsider = event(
        &net,
        "north-star-shipping",
        EventKind::Arrived,
        1,
        &ucr,
        &[],
    );
    let r = ledger.preview(
        std::slice::from_ref(&outsider),
        outsider.body().time,
        &|_: &EventId| false,
    );
    assert!(
        matches!(
            r,
            Err(BlockError::Rules(LedgerError::Auth(
                AuthError::NotAParty { .. }
            )))
        ),
        "{r:?}"
    );
    let r = ledger.with_chain(|chain, parties| chain.authorize(&outsider, parties));
    assert!(matches!(
        r,
        Err(LedgerError::Auth(AuthError::NotAParty { .. }))
    ));
    // The named carrier is admitted; after a restart the parties are read back from the log.
    commit(
        &ledger,
        &net,
        vec![event(
            &net,
            "blue-anchor-lines",
            EventKind::Arrived,
            2,
            &ucr,
            &[],
        )],
    );
    drop(ledger);
    let (ledger, _) = NodeLedger::open(net.genesis.clone(), &d, StoreConfig::default()).unwrap();
    let r = ledger.with_chain(|chain, parties| chain.authorize(&outsider, parties));
    assert!(matches!(
        r,
        Err(LedgerError::Auth(AuthError::NotAParty { .. }))
    ));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_route_larger_than_one_bundle_is_served_in_verified_pages_at_one_head() {
    let net = SampleNetwork::new(4).unwrap();
    let d = dir("pages");
    let (ledger, _) = NodeLedger::open(net.genesis.clone(), &d, StoreConfig::default()).unwrap();
    let ucr = sample_ucr(2);
    let n = MAX_ROUTE_CONTAINERS as u32 + 44; // 300 containers: two pages
    let mut events = vec![event(&net, "shopfast", EventKind::Booked, 0, &ucr, &[])];
    events.extend((1..=n).map(|i| event(&net, "shopfast", EventKind::Packed, i, &ucr, &[])));
    commit(&ledger, &net, events);
    let first = ledger.consignment_route(&ucr, 0, None).unwrap().unwrap();
    assert_eq!(first.version, ROUTE_PAGE_VERSION);
    assert_eq!(first.containers.len(), MAX_ROUTE_CONTAINERS);
    let height = first.consignment.head.height;
    let second = ledger
        .consignment_route(&ucr, MAX_ROUTE_CONTAINERS as u64, Some(height))
        .unwrap()
        .unwrap();
    assert_eq!(second.containers.len(), 44);
    let route = verify_pages(&[first.clone(), second.clone()], &net.genesis).unwrap();
    assert_eq!(route.containers.len(), n as usize);
    // A page alone, the pages out of order, or one missing do not verify.
    assert!(first.verify(&net.genesis).is_err());
    assert!(verify_pages(&[second.clone(), first.clone()], &net.genesis).is_err());
    // Not a page start, beyond the last page: refused with a reason.
    assert!(matches!(
        ledger.consignment_route(&ucr, 100, None),
        Err(RouteError::Page(_))
    ));
    assert!(matches!(
        ledger.consignment_route(&ucr, 512, None),
        Err(RouteError::Page(_))
    ));
    // After another block, a page asked for at the old head is refused (409 in the API), so a
    // client never mixes heads.
    commit(
        &ledger,
        &net,
        vec![event(
            &net,
            "shopfast",
            EventKind::Delivered,
            n + 1,
            &ucr,
            &[],
        )],
    );
    let r = ledger.consignment_route(&ucr, MAX_ROUTE_CONTAINERS as u64, Some(height));
    assert!(matches!(r, Err(RouteError::HeadMoved { .. })), "{r:?}");
    let _ = std::fs::remove_dir_all(&d);
}

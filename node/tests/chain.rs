//! The node's ledger: block validation re-checks what the mempool did not vouch for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_node::block::Block;
use tradelog_node::chain::Chain;
use tradelog_protocol::sample::{consignment_route, SampleNetwork};
use tradelog_protocol::{Certificate, Event, LedgerState, SecretKey};

fn open(name: &str, net: &SampleNetwork) -> std::sync::Arc<Chain> {
    let d = std::env::temp_dir().join(format!("tradelog-chain-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    Chain::open(
        net.genesis.clone(),
        &d,
        1000,
        tradelog_node::store::StoreConfig::default(),
    )
    .unwrap()
    .0
}

fn forge(e: &Event) -> Event {
    let mut j = e.to_json();
    let at = j.find("\"sig\":\"").unwrap() + 7;
    let c = if &j[at..at + 1] == "0" { "1" } else { "0" };
    j.replace_range(at..at + 1, c);
    Event::from_json(j.as_bytes()).unwrap()
}

/// A block whose head is computed without any check (as a lying proposer would).
fn unchecked_block(net: &SampleNetwork, events: Vec<Event>, time: u64) -> Block {
    let mut s = LedgerState::new(&net.genesis);
    let (head, _) = s.append_checked(&events, time);
    Block { head, events }
}

#[test]
fn a_block_with_a_forged_signature_is_refused_even_if_its_twin_is_pending() {
    let net = SampleNetwork::new(4).unwrap();
    let chain = open("forged", &net);
    let events = consignment_route(&net, 1, net.genesis.time).unwrap();
    let time = events.iter().map(|e| e.body().time).max().unwrap();
    let now = time + 1;
    for e in &events[..5] {
        chain.submit(e.clone(), now).unwrap();
    }
    // Same content, other signature: same id as a pending event, but the bytes differ.
    let mut bad = events[..5].to_vec();
    bad[2] = forge(&events[2]);
    assert_eq!(bad[2].id(), events[2].id());
    let block = unchecked_block(&net, bad, time);
    assert!(
        chain.validate(&block).is_err(),
        "a forged signature was accepted"
    );
    // Events the mempool never saw are verified too.
    let mut fresh = events[5..].to_vec();
    fresh[0] = forge(&events[5]);
    assert!(chain.validate(&unchecked_block(&net, fresh, time)).is_err());
    // The honest block validates and commits.
    let good = chain.propose(100, time).unwrap();
    assert_eq!(good.events.len(), 5);
    chain.validate(&good).unwrap();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    chain
        .commit(&good, Certificate::sign(&good.head, 0, &keys))
        .unwrap();
    assert_eq!(chain.height(), 1);
    assert_eq!(chain.mempool_len(), 0);
}

#[test]
fn commit_applies_the_decided_block_whichever_proposals_were_validated() {
    let net = SampleNetwork::new(4).unwrap();
    let chain = open("previews", &net);
    let events = consignment_route(&net, 2, net.genesis.time).unwrap();
    // The other proposal's events: another consignment's first four, booking first, so the
    // party rule (PROTOCOL.md 8c) admits them in either block order.
    let others = consignment_route(&net, 3, net.genesis.time).unwrap();
    let time = events
        .iter()
        .chain(&others)
        .map(|e| e.body().time)
        .max()
        .unwrap();
    for e in &events[..5] {
        chain.submit(e.clone(), time + 1).unwrap();
    }
    // Two proposals for height 1: this node's own, and another with other events.
    let own = chain.propose(100, time).unwrap();
    let other = unchecked_block(&net, others[..4].to_vec(), time);
    chain.validate(&other).unwrap();
    chain.validate(&own).unwrap();
    // The other proposal's events were verified by its validation: they are pending now.
    assert_eq!(chain.mempool_len(), 9);
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    chain
        .commit(&other, Certificate::sign(&other.head, 0, &keys))
        .unwrap();
    assert_eq!(chain.certified().unwrap().0, other.head);
    // The next block builds on the decided one, and agrees with a plain replay of both.
    let next = chain.propose(100, time + 1).unwrap();
    assert_eq!(next.head.prev, other.head.hash());
    assert_eq!(next.events.len(), 5);
    chain
        .commit(&next, Certificate::sign(&next.head, 0, &keys))
        .unwrap();
    let mut replay = LedgerState::new(&net.genesis);
    replay
        .apply_block(&other.events, time, &|_: &tradelog_protocol::EventId| false)
        .unwrap();
    let (head, _) = replay
        .apply_block(&next.events, time + 1, &|_: &tradelog_protocol::EventId| {
            false
        })
        .unwrap();
    assert_eq!(chain.certified().unwrap().0, head);
    assert_eq!(chain.mempool_len(), 0);
}

#[tokio::test]
async fn events_pending_waits_for_the_first_admitted_event() {
    let net = SampleNetwork::new(4).unwrap();
    let chain = open("pending", &net);
    let events = consignment_route(&net, 3, net.genesis.time).unwrap();
    let waiter = tokio::spawn({
        let chain = chain.clone();
        async move { chain.events_pending().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!waiter.is_finished(), "woke with an empty mempool");
    let submitter = chain.clone();
    let e = events[0].clone();
    tokio::task::spawn_blocking(move || submitter.submit(e, u64::MAX / 2).unwrap())
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
        .await
        .expect("not woken by the admitted event")
        .unwrap();
    // With an event pending it resolves at once.
    tokio::time::timeout(std::time::Duration::from_secs(1), chain.events_pending())
        .await
        .unwrap();
}

/// A carrier's event that reaches this node before the platform's booking it follows (another
/// node got the booking) is admitted and waits for it, instead of being built into a block on
/// its own, where it would open the consignment and lock the platform out (PROTOCOL.md 8c);
/// the byzantine and devnet tests submitted a route round-robin over four nodes and hit this.
#[test]
fn an_event_waits_for_the_events_it_refs_that_are_not_in_the_log_yet() {
    use tradelog_node::chain::REF_WAIT_MS;
    let net = SampleNetwork::new(4).unwrap();
    let chain = open("refs", &net);
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let route = consignment_route(&net, 4, net.genesis.time).unwrap();
    let now = route[3].body().time + 1;
    // The carrier's packed and gate-in (events 2, 3) arrive first; they ref the platform's
    // document (1), which refs the booking (0).
    chain.submit(route[2].clone(), now).unwrap();
    chain.submit(route[3].clone(), now).unwrap();
    assert!(
        chain.propose(100, now).is_none_or(|b| b.events.is_empty()),
        "an event was built into a block before the events it refs"
    );
    assert_eq!(chain.mempool_len(), 2);
    // The platform's events arrive: one block, in causal order, and the carrier is a party.
    chain.submit(route[0].clone(), now).unwrap();
    chain.submit(route[1].clone(), now).unwrap();
    let block = chain.propose(100, now + 1).unwrap();
    let ids: Vec<_> = block.events.iter().map(Event::id).collect();
    assert_eq!(ids, route[..4].iter().map(Event::id).collect::<Vec<_>>());
    chain.validate(&block).unwrap();
    chain
        .commit(&block, Certificate::sign(&block.head, 0, &keys))
        .unwrap();
    // An outsider's event with a ref that never comes waits REF_WAIT_MS, then the party rule
    // drops it.
    let mut b = route[2].body().clone();
    b.refs = vec![tradelog_protocol::Hash([7; 32])];
    b.time = now;
    let stray = net.sign("north-star-shipping", b).unwrap();
    chain.submit(stray.clone(), now).unwrap();
    assert!(chain
        .propose(100, now + 2)
        .is_none_or(|b| b.events.is_empty()));
    assert_eq!(chain.mempool_len(), 1);
    let later = now + REF_WAIT_MS + 1;
    assert!(chain
        .propose(100, later)
        .is_none_or(|b| b.events.is_empty()));
    assert_eq!(
        chain.mempool_len(),
        0,
        "the outsider's event was not dropped"
    );
    // Gossiped again by a peer that still holds it, it is refused: it does not wait twice (it
    // came back every 30 s on all four nodes of the faults test).
    assert!(chain.submit(stray, later).is_err());
    assert_eq!(chain.mempool_len(), 0);
}

/// Issue 13 item 3: the time-release report measures on event time and lists the steps
/// recorded more than 24 hours after it, with the block that recorded them; a node bundle
/// proves every event's block (version 3).
/// A node that is not proposing drops the pending events no block can take (their wait is over,
/// a ref never came, the party rule refuses them) by itself: in the faults test, 4 such events
/// sat in one validator's mempool for over 2 minutes of idle 30 s heights until its turn to
/// propose (CI stop 25, and again locally). Events still within their wait, or whose ref is
/// pending, stay.
#[test]
fn events_whose_refs_never_come_are_dropped_without_proposing() {
    use tradelog_node::chain::REF_WAIT_MS;
    let net = SampleNetwork::new(4).unwrap();
    let chain = open("sweep", &net);
    let route = consignment_route(&net, 7, net.genesis.time).unwrap();
    let now = route.iter().map(|e| e.body().time).max().unwrap() + 1;
    // The booking is committed; the carrier's event follows an event nobody has.
    chain.submit(route[0].clone(), now).unwrap();
    let block = chain.propose(100, now).unwrap();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    chain
        .commit(&block, Certificate::sign(&block.head, 0, &keys))
        .unwrap();
    let stray = |n: u8, org: &str| {
        let mut b = route[2].body().clone();
        b.refs = vec![tradelog_protocol::Hash([n; 32])];
        net.sign(org, b).unwrap()
    };
    // rhine-barge is a party (the booking names it), blue-anchor-lines is not.
    let outsider = stray(7, "blue-anchor-lines");
    let party = stray(8, "rhine-barge");
    chain.submit(outsider.clone(), now).unwrap();
    chain.submit(party.clone(), now).unwrap();
    // An outsider's event whose ref is pending waits for that ref's decision.
    let mut b = route[3].body().clone();
    b.refs = vec![outsider.id()];
    let follower = net.sign("blue-anchor-lines", b).unwrap();
    chain
        .submit(follower.clone(), now + REF_WAIT_MS / 2)
        .unwrap();
    assert_eq!(chain.mempool_len(), 3);
    assert_eq!(
        chain.sweep(now + REF_WAIT_MS - 1),
        0,
        "still within the wait"
    );
    assert_eq!(chain.sweep(now + REF_WAIT_MS + 1), 1);
    assert!(chain.status(&outsider.id()).unwrap().is_none());
    assert!(
        chain.status(&party.id()).unwrap().is_some(),
        "a party's event stays"
    );
    // The follower's ref is gone now; it is dropped once its own wait is over.
    assert_eq!(chain.sweep(now + REF_WAIT_MS + 2), 0);
    assert_eq!(chain.sweep(now + REF_WAIT_MS / 2 + REF_WAIT_MS + 1), 1);
    assert_eq!(chain.mempool_len(), 1);
    // A dropped event may not wait again.
    assert!(chain.submit(outsider, now + 2 * REF_WAIT_MS).is_err());
    // An outsider's event admitted while its ref was pending, whose ref then committed: the
    // party rule alone decides once the wait is over (the second case the faults test met).
    let t = now + 3 * REF_WAIT_MS;
    let mut b = route[1].body().clone();
    b.refs = vec![route[0].id()];
    b.documents[0].digest = tradelog_protocol::Hash([9; 32]);
    let doc = net.sign("shopfast", b).unwrap();
    let mut b = route[2].body().clone();
    b.refs = vec![doc.id()];
    let late = net.sign("blue-anchor-lines", b).unwrap();
    chain.submit(doc.clone(), t).unwrap();
    chain.submit(late.clone(), t).unwrap();
    let block = chain.propose(100, t).unwrap();
    assert!(block.events.contains(&doc) && !block.events.contains(&late));
    chain
        .commit(&block, Certificate::sign(&block.head, 0, &keys))
        .unwrap();
    assert_eq!(chain.sweep(t + REF_WAIT_MS - 1), 0);
    assert_eq!(chain.sweep(t + REF_WAIT_MS + 1), 1);
    assert!(chain.status(&late.id()).unwrap().is_none());
}

#[test]
fn late_entries_are_listed_by_the_time_release_report_and_proven_by_bundles() {
    use tradelog_node::trs::TimeRelease;
    use tradelog_protocol::Subject;
    let net = SampleNetwork::new(4).unwrap();
    let chain = open("late", &net);
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let route = consignment_route(&net, 6, net.genesis.time).unwrap();
    let commit = |events: &[Event], time: u64| {
        for e in events {
            chain.submit(e.clone(), time).unwrap();
        }
        let block = chain.propose(100, time).unwrap();
        assert_eq!(block.events.len(), events.len());
        chain
            .commit(&block, Certificate::sign(&block.head, 0, &keys))
            .unwrap();
    };
    let latest = |es: &[Event]| es.iter().map(|e| e.body().time).max().unwrap();
    // Up to the declaration at the port on time; customs' inspection and release (and the
    // barge) two days after they happened.
    let (on_time, late) = route.split_at(10);
    commit(on_time, latest(on_time) + 1000);
    let late_at = latest(late) + 48 * 3_600_000;
    commit(late, late_at);

    let mut trs = TimeRelease::new();
    trs.refresh(chain.store(), route.len() as u64).unwrap();
    let report = trs.report(None, None);
    assert_eq!(report.rows.len(), 1);
    let released = &report.rows[0].release;
    let listed: Vec<_> = report.late_recorded.iter().map(|l| l.id).collect();
    assert_eq!(listed, [released.id], "only the release is a late step");
    assert_eq!(report.late_recorded[0].recorded, late_at);
    assert_eq!(report.late_recorded[0].height, 2);
    assert_eq!(report.groups[0].late_rows, 1);
    // The figure is on event time: the release's own time, not its block's.
    assert_eq!(
        report.rows[0].arrival_to_release,
        released.time - report.rows[0].arrival.time
    );

    let bundle = chain
        .ledger()
        .provenance(&Subject::Consignment(route[0].body().ucr.clone().unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(bundle.blocks.as_ref().unwrap().len(), 2);
    let p = bundle.verify(&net.genesis).unwrap();
    let heights: Vec<u64> = p.recorded.iter().map(|r| r.unwrap().height).collect();
    assert_eq!(heights, [[1u64; 10].as_slice(), &[2; 4]].concat());
    assert!(p.recorded[13].unwrap().is_late(p.events[13].1.body().time));
}

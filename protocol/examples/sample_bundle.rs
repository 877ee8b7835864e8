//! Writes a sample genesis, a proof bundle for consignment 1 of the sample network and a route
//! bundle for it (with its container's bundle) to the given directory
//! (`cargo run -p tradelog-protocol --example sample_bundle -- DIR [pages]`). The container also has an
//! event before the consignment was packed and one after delivery (both outside the route) and a
//! transshipment while the consignment was in it (inside the route).
//!
//! The ledger also records membership changes (PROTOCOL.md 8a), so the bundles carry a membership
//! proof (9d) with something to prove:
//!
//! - consignment 1's carrier, North Star Shipping, rotates its key in mid-voyage: `add_key` of a
//!   new key signed with its old key (height 4), then `revoke_key` of the old key signed with the
//!   new one (height 5); its events before (heights 1, 3) are signed with the old key, those after
//!   (height 6) with the new one;
//! - the auditor records a `set_validators` change approved by 3 of the 4 genesis validators
//!   (height 7, still certified by the genesis set): the fourth genesis validator leaves and
//!   Rhine Barge's node joins; the last block (height 8) is certified by the new set.
//!
//! Every head is certified ([`Ledger::certify`]) so that the membership proof has its transition.
//! The dev keys are derived from public names (`sample::dev_key`): `org/<id>`,
//! `validator/<id>` and `rotated/north-star-shipping` for the carrier's new key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use tradelog_protocol::sample::{
    self, consignment_route, dev_key, sample_container, sample_ucr, SampleNetwork,
};
use tradelog_protocol::{Certificate, Change, Event, EventKind, Ledger, SecretKey};

/// Consignment 1's carrier (odd consignments go with North Star Shipping via Hamburg).
const CARRIER: &str = "north-star-shipping";

/// `event` re-signed by its issuer with `key` (the same body, another issuer key).
fn resign(event: &Event, key: &SecretKey) -> Event {
    let mut b = event.body().clone();
    b.issuer.key = key.public();
    b.sign(key).unwrap()
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let net = SampleNetwork::new(4).unwrap();
    let mut ledger = Ledger::new(&net.genesis);
    let t0 = net.genesis.time;
    let hour = 3_600_000;
    let old_key = net.org_keys[CARRIER].clone();
    let new_key = dev_key(&format!("rotated/{CARRIER}"));
    let genesis_signers: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let newcomer = dev_key("validator/rhine-barge");
    let new_signers = [&net.validator_keys[0], &net.validator_keys[1], &newcomer];

    let container_event = |kind, time, place: &str, key: &SecretKey| {
        let mut b = sample::body(kind, time).unwrap();
        b.container = Some(sample_container(1));
        b.location = Some(place.parse().unwrap());
        b.issuer.org = CARRIER.parse().unwrap();
        b.issuer.key = key.public();
        b.sign(key).unwrap()
    };
    let mut time = t0;
    // Appends a block and certifies its head with `signers` (the set in force at its height).
    let mut block = |ledger: &mut Ledger, events: Vec<Event>, signers: &[&SecretKey]| {
        time = time.max(events.iter().map(|e| e.body().time).max().unwrap()) + 1;
        let head = ledger.append_block(events, time).unwrap();
        ledger.certify(head.height, Certificate::sign(&head, 0, signers));
        head
    };

    // Height 1: the container's gate-in before the consignment, old carrier key.
    let gate_in = container_event(EventKind::GateIn, t0, "CNSHA", &old_key);
    block(&mut ledger, vec![gate_in], &genesis_signers);
    // Height 2: consignment 0 (Blue Anchor Lines).
    let route0 = consignment_route(&net, 0, t0 + hour).unwrap();
    block(&mut ledger, route0, &genesis_signers);
    // Height 3: consignment 1 up to departure from Shanghai, carrier events under the old key.
    let route1 = consignment_route(&net, 1, t0 + hour).unwrap();
    let (before, after) = route1.split_at(7);
    assert!(before
        .iter()
        .all(|e| e.body().issuer.key != new_key.public()));
    block(&mut ledger, before.to_vec(), &genesis_signers);
    // Heights 4 and 5: the carrier rotates its key at sea (no approvals: its own keys).
    let org = CARRIER.parse().unwrap();
    let add = Change::AddKey {
        org,
        key: new_key.public(),
    };
    let e = net
        .membership_event(CARRIER, &old_key, 1, add, &[], t0 + 100 * hour)
        .unwrap();
    block(&mut ledger, vec![e], &genesis_signers);
    let revoke = Change::RevokeKey {
        org: CARRIER.parse().unwrap(),
        key: old_key.public(),
    };
    let e = net
        .membership_event(CARRIER, &new_key, 2, revoke, &[], t0 + 101 * hour)
        .unwrap();
    block(&mut ledger, vec![e], &genesis_signers);
    // Height 6: the rest of consignment 1, the carrier's events under the new key, and the
    // container's transshipment (inside the route) and later gate-out (outside it).
    let mut events: Vec<Event> = after
        .iter()
        .map(|e| {
            if e.body().issuer.org.as_str() == CARRIER {
                resign(e, &new_key)
            } else {
                e.clone()
            }
        })
        .collect();
    events.push(container_event(
        EventKind::Transshipped,
        t0 + 300 * hour,
        "ESALG",
        &new_key,
    ));
    // An outsider's container event inside the window: Blue Anchor Lines is no party of
    // consignment 1, so its event stays in the container's history but out of the route (8c).
    let mut outsider = sample::body(EventKind::GateIn, t0 + 301 * hour).unwrap();
    outsider.container = Some(sample_container(1));
    outsider.location = Some("ESALG".parse().unwrap());
    events.push(net.sign("blue-anchor-lines", outsider).unwrap());
    events.push(container_event(
        EventKind::GateOut,
        t0 + 900 * hour,
        "DEDUI",
        &new_key,
    ));
    block(&mut ledger, events, &genesis_signers);
    // Height 7: the auditor records a new validator set approved by 3 of the 4 genesis
    // validators: North Star Shipping's node leaves, Rhine Barge's joins. Height 7 is still
    // certified by the genesis set.
    let set = net
        .validators_with(3, &[("rhine-barge", newcomer.public())])
        .unwrap();
    let change = Change::SetValidators {
        validators: set.clone(),
    };
    let e = net
        .membership_event(
            "eu-audit",
            &net.org_keys["eu-audit"],
            3,
            change,
            &genesis_signers,
            t0 + 901 * hour,
        )
        .unwrap();
    let h7 = block(&mut ledger, vec![e], &genesis_signers);
    assert_eq!(h7.validators, net.genesis.validators.hash());
    // Height 8, certified by the new set: consignment 2 and a document for consignment 1.
    let mut events = consignment_route(&net, 2, t0 + hour).unwrap();
    let mut doc = sample::body(EventKind::DocumentAnchored, t0 + 902 * hour).unwrap();
    doc.ucr = Some(sample_ucr(1));
    doc.documents = consignment_route(&net, 1, t0 + hour).unwrap()[1]
        .body()
        .documents
        .clone();
    events.push(net.sign("shopfast", doc).unwrap());
    let head = block(&mut ledger, events, &new_signers);
    assert_eq!(head.validators, set.hash());

    let certificate = Certificate::sign(&head, 0, &new_signers);
    let route = ledger.route_bundle(&sample_ucr(1), certificate).unwrap();
    let bundle = &route.consignment;
    assert_eq!(bundle.membership.events.len(), 3);
    assert_eq!(bundle.membership.transitions.len(), 1);
    let verified = route.verify(&net.genesis).unwrap();
    assert_eq!(verified.timeline.len(), bundle.events.len() + 1);
    let write = |name: &str, json: String| std::fs::write(format!("{dir}/{name}"), json).unwrap();
    write(
        "genesis.json",
        serde_json::to_string_pretty(&net.genesis).unwrap(),
    );
    write(
        "bundle.json",
        serde_json::to_string_pretty(&bundle).unwrap(),
    );
    write("route.json", serde_json::to_string_pretty(&route).unwrap());
    let timeline: Vec<_> = verified
        .timeline
        .iter()
        .map(|(i, e, s)| serde_json::json!({"index": i, "id": e.id(), "source": s}))
        .collect();
    write(
        "route-timeline.json",
        serde_json::to_string_pretty(&timeline).unwrap(),
    );
    write_outsider_and_pages(
        &net,
        &write,
        std::env::args().nth(2).as_deref() == Some("pages"),
    );
    println!("wrote {dir}/genesis.json, bundle.json, route.json, route-timeline.json, route-outsider.json (and route-pages.json)");
}

/// Two more routes on ledgers of the same genesis: `route-outsider.json`, where validators that
/// ignored the party rule (8c) committed an outsider's event into consignment 3 (every verifier
/// must refuse it), and `route-pages.json`, the two pages (9b) of consignment 4's route, which
/// names 300 containers (2 MB: only with a second argument `pages`).
fn write_outsider_and_pages(net: &SampleNetwork, write: &impl Fn(&str, String), pages: bool) {
    let t0 = net.genesis.time;
    let hour = 3_600_000;
    let signers: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let mut forged = Ledger::new(&net.genesis);
    let mut route = consignment_route(net, 3, t0).unwrap();
    let mut b = sample::body(EventKind::Arrived, t0 + 2 * hour).unwrap();
    b.ucr = Some(sample_ucr(3));
    b.location = Some("NLRTM".parse().unwrap());
    route.insert(2, net.sign("blue-anchor-lines", b).unwrap());
    let time = route.iter().map(|e| e.body().time).max().unwrap();
    let head = forged.append_unchecked(route, time);
    let bad = forged
        .route_bundle(&sample_ucr(3), Certificate::sign(&head, 0, &signers))
        .unwrap();
    assert!(bad.verify(&net.genesis).is_err());
    write(
        "route-outsider.json",
        serde_json::to_string_pretty(&bad).unwrap(),
    );
    if !pages {
        return;
    }
    let mut large = Ledger::new(&net.genesis);
    let ucr = sample_ucr(4);
    let mut events = Vec::new();
    for n in 0..=300u32 {
        let kind = if n == 0 {
            EventKind::Booked
        } else {
            EventKind::Packed
        };
        let mut b = sample::body(kind, t0 + hour + u64::from(n)).unwrap();
        b.ucr = Some(ucr.clone());
        if n > 0 {
            b.container = Some(sample_container(1000 + n));
            b.location = Some("CNSHA".parse().unwrap());
        }
        events.push(net.sign("shopfast", b).unwrap());
    }
    let time = events.iter().map(|e| e.body().time).max().unwrap();
    let head = large.append_block(events, time).unwrap();
    let pages = large
        .route_pages(&ucr, Certificate::sign(&head, 0, &signers))
        .unwrap();
    assert_eq!(pages.len(), 2);
    tradelog_protocol::route::verify_pages(&pages, &net.genesis).unwrap();
    write(
        "route-pages.json",
        serde_json::to_string_pretty(&pages).unwrap(),
    );
}

//! Writes a sample genesis, a proof bundle for consignment 1 of the sample network and a route
//! bundle for it (with its container's bundle) to the given directory
//! (`cargo run -p tradelog-protocol --example sample_bundle -- DIR`). The container also has an
//! event before the consignment was packed and one after delivery (both outside the route) and a
//! transshipment while the consignment was in it (inside the route).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use tradelog_protocol::sample::{
    self, consignment_route, sample_container, sample_ucr, SampleNetwork,
};
use tradelog_protocol::{Certificate, EventKind, Ledger};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let net = SampleNetwork::new(4).unwrap();
    let mut ledger = Ledger::new(&net.genesis);
    let t0 = net.genesis.time;
    let hour = 3_600_000;
    let container_event = |kind, time, place: &str| {
        let mut b = sample::body(kind, time).unwrap();
        b.container = Some(sample_container(1));
        b.location = Some(place.parse().unwrap());
        net.sign("north-star-shipping", b).unwrap()
    };
    ledger
        .append_block(vec![container_event(EventKind::GateIn, t0, "CNSHA")], t0)
        .unwrap();
    let mut time = t0;
    for n in 0..3 {
        let mut events = consignment_route(&net, n, t0 + hour).unwrap();
        if n == 1 {
            events.push(container_event(
                EventKind::Transshipped,
                t0 + 300 * hour,
                "ESALG",
            ));
            events.push(container_event(
                EventKind::GateOut,
                t0 + 900 * hour,
                "DEDUI",
            ));
        }
        time = time.max(events.iter().map(|e| e.body().time).max().unwrap()) + 1;
        ledger.append_block(events, time).unwrap();
    }
    let head = ledger.head().unwrap().clone();
    let keys: Vec<_> = net.validator_keys.iter().take(3).collect();
    let certificate = Certificate::sign(&head, 0, &keys);
    let route = ledger.route_bundle(&sample_ucr(1), certificate).unwrap();
    let bundle = &route.consignment;
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
    println!("wrote {dir}/genesis.json, bundle.json, route.json and route-timeline.json");
}

//! Four validator processes and an observer on 127.0.0.1: events from several organisations
//! replicate, every node reaches the same log root, and bad events are refused with a clear
//! error and leave nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tradelog_node::devnet::{self, http, DevnetOptions};
use tradelog_protocol::sample::{self, consignment_route, sample_ucr, SampleNetwork};
use tradelog_protocol::{EventKind, ProofBundle};
use tradelog_tests::net::{json, now_ms, submit, Net};
use tradelog_tests::{bin_dir, scratch};

/// The stories run one at a time: ten debug-build nodes on two cores would starve each other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn start(name: &str, base: u16) -> Net {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let opts = DevnetOptions {
        dir: scratch(name),
        api_base: base,
        consensus_base: base + 100,
        gossip_base: base + 200,
        consignments: 0,
        observer: true,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let children = devnet::spawn(&exe, &nodes).unwrap();
    let net = Net { nodes, children };
    devnet::wait_healthy(&net.nodes, Duration::from_secs(60)).unwrap();
    net
}

#[test]
fn four_validators_and_an_observer_agree_and_refuse_bad_events() {
    let _serial = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let net = start("network", 17300);
    let sample = SampleNetwork::new(4).unwrap();
    let t0 = now_ms() - 40 * 86_400_000;

    // Three consignments' routes: a platform, two carriers, a barge operator, two customs
    // administrations; each event sent to a different node.
    let all: Vec<usize> = (0..net.nodes.len()).collect();
    let want = submit_routes(&net, &sample, 0..3, t0, &all);
    wait_all(&net, &all, want);

    // Every node (the observer included) has the same log root at that size.
    let roots: Vec<String> = all.iter().map(|&i| root(&net, i, want)).collect();
    assert!(
        roots.windows(2).all(|w| w[0] == w[1]),
        "roots differ: {roots:?}"
    );

    // Each node serves a provenance bundle that verifies offline against the genesis.
    for n in &net.nodes {
        let (status, body) = http(
            &n.api,
            "GET",
            &format!("/v1/consignments/{}", sample_ucr(1)),
            None,
        )
        .unwrap();
        assert_eq!(status, 200);
        let bundle = ProofBundle::from_json(&body).unwrap();
        let p = bundle.verify(&sample.genesis).unwrap();
        assert_eq!(p.events.len(), 14, "{}", n.moniker);
    }

    // Bad events get a clear 4xx error and are written nowhere.
    let mut forged = consignment_route(&sample, 7, t0)
        .unwrap()
        .remove(0)
        .to_json();
    let sig_at = forged.find("\"sig\":\"").unwrap() + 7;
    let flipped = if &forged[sig_at..sig_at + 1] == "0" {
        "1"
    } else {
        "0"
    };
    forged.replace_range(sig_at..sig_at + 1, flipped);
    let stranger = sample::dev_key("stranger");
    let mut b = sample::body(EventKind::Arrived, t0).unwrap();
    b.ucr = Some(sample_ucr(8));
    b.location = Some("NLRTM".parse().unwrap());
    b.issuer.org = "blue-anchor-lines".parse().unwrap();
    b.issuer.key = stranger.public();
    let unknown = b.sign(&stranger).unwrap().to_json();
    let mut r = sample::body(EventKind::Released, t0).unwrap();
    r.ucr = Some(sample_ucr(9));
    let forbidden = sample.sign("blue-anchor-lines", r).unwrap().to_json();
    for (body, code) in [
        (forged, "bad_signature"),
        (unknown, "unknown_issuer"),
        (forbidden, "forbidden_kind"),
    ] {
        let (status, resp) = http(
            &net.nodes[0].api,
            "POST",
            "/v1/events",
            Some(body.as_bytes()),
        )
        .unwrap();
        assert_eq!(status, 422, "{}", String::from_utf8_lossy(&resp));
        let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(!v["error"]["message"].as_str().unwrap_or("").is_empty());
    }
    // Nothing more was committed anywhere, and the refused events are unknown on every node.
    std::thread::sleep(Duration::from_secs(2));
    for n in &net.nodes {
        assert_eq!(devnet::log_size(&n.api), want, "{}", n.moniker);
        let health = json(&n.api, "/health");
        assert_eq!(health["mempool"], 0, "{}: {health}", n.moniker);
    }
}

fn restart(net: &mut Net, i: usize) {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let mut fresh = devnet::spawn(&exe, &net.nodes[i..=i]).unwrap();
    net.children[i] = fresh.remove(0);
    devnet::wait_healthy(&net.nodes[i..=i], Duration::from_secs(60)).unwrap();
}

fn stop(net: &mut Net, i: usize) {
    let _ = net.children[i].kill();
    let _ = net.children[i].wait();
}

fn submit_routes(
    net: &Net,
    sample: &SampleNetwork,
    consignments: std::ops::Range<u32>,
    t0: u64,
    to: &[usize],
) -> u64 {
    let mut n = 0;
    for c in consignments {
        for (i, e) in consignment_route(sample, c, t0 + u64::from(c) * 1000)
            .unwrap()
            .iter()
            .enumerate()
        {
            submit(&net.nodes[to[i % to.len()]], e);
            n += 1;
        }
    }
    n
}

fn wait_all(net: &Net, nodes: &[usize], size: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while nodes
        .iter()
        .any(|&i| devnet::log_size(&net.nodes[i].api) < size)
    {
        assert!(
            Instant::now() < deadline,
            "log size {size} not reached on {nodes:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn root(net: &Net, i: usize, size: u64) -> String {
    json(
        &net.nodes[i].api,
        &format!("/v1/consistency?first={size}&second={size}"),
    )["first_root"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_validator_restarts_from_its_data_dir_and_recovers_a_corrupted_tail_from_peers() {
    let _serial = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut net = start("restart", 17600);
    let sample = SampleNetwork::new(4).unwrap();
    let t0 = now_ms() - 40 * 86_400_000;
    let all: Vec<usize> = (0..net.nodes.len()).collect();
    let mut size = submit_routes(&net, &sample, 0..2, t0, &all);
    wait_all(&net, &all, size);

    // Validator 3 stops; the other three keep committing (3 of 4 is a quorum).
    stop(&mut net, 3);
    size += submit_routes(&net, &sample, 2..4, t0, &[0, 1, 2]);
    wait_all(&net, &[0, 1, 2, 4], size);
    // It restarts on its data dir written by the previous run and catches up from its peers.
    restart(&mut net, 3);
    wait_all(&net, &all, size);
    assert_eq!(root(&net, 3, size), root(&net, 0, size));

    // Its store is damaged while it is down: the last block's first event is replaced.
    stop(&mut net, 3);
    {
        let (store, _) = tradelog_node::store::DiskStore::open(
            &net.nodes[3].dir.join("data").join("ledger"),
            &sample.genesis,
            tradelog_node::store::StoreConfig::default(),
        )
        .unwrap();
        use tradelog_node::store::Store;
        let record = store.record(store.tip()).unwrap().unwrap();
        store.corrupt_event_for_test(record.first).unwrap();
    }
    restart(&mut net, 3);
    let log = std::fs::read_to_string(net.nodes[3].dir.join("node.log")).unwrap();
    assert!(
        log.contains("did not verify and were dropped"),
        "corruption not reported"
    );
    size += submit_routes(&net, &sample, 4..5, t0, &all);
    wait_all(&net, &all, size);
    assert_eq!(root(&net, 3, size), root(&net, 0, size));
    let bundle = http(
        &net.nodes[3].api,
        "GET",
        &format!("/v1/consignments/{}", sample_ucr(3)),
        None,
    )
    .unwrap()
    .1;
    assert_eq!(
        ProofBundle::from_json(&bundle)
            .unwrap()
            .verify(&sample.genesis)
            .unwrap()
            .events
            .len(),
        14
    );
}

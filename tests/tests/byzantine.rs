//! One of four validator processes equivocates inside consensus: for every prevote and
//! precommit it signs for a block, it also signs one for nil at the same height and round and
//! sends both to every peer (Malachite's Byzantine network proxy, built in only with the
//! test-only `byzantine` feature and switched on by `[testing] equivocate = "votes"`).
//!
//! The three honest validators run the normal build. They must catch it (their consensus
//! engines see two votes by one key for one slot), keep the pair as `double_sign` evidence that
//! verifies offline with the genesis alone and names exactly that key, serve it at
//! `GET /v1/evidence`, and stay safe and live: new events keep committing, every node serves
//! the same certified blocks and log root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tradelog_node::config::{Config, Equivocate};
use tradelog_node::devnet::{self, http, DevnetNode, DevnetOptions};
use tradelog_protocol::evidence::DoubleSign;
use tradelog_protocol::sample::{consignment_route, SampleNetwork};
use tradelog_protocol::{Certificate, Head, PublicKey};
use tradelog_tests::net::{json, now_ms, submit, Net};
use tradelog_tests::{bin_dir, byzantine_node, scratch};

/// Ports 19000-19399 belong to this file.
const API_BASE: u16 = 19000;
/// The equivocating validator (devnet order: the sample organisations' validators).
const BYZANTINE: usize = 2;
/// Generous: two cores shared with builds and other tests.
const DEADLINE: Duration = Duration::from_secs(120);

/// The three honest nodes.
fn honest(net: &Net) -> impl Iterator<Item = &DevnetNode> {
    net.nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != BYZANTINE)
        .map(|(_, n)| n)
}

/// Submits consignment `c`'s 14 events, round robin over every node; returns how many.
fn submit_route(net: &Net, sample: &SampleNetwork, c: u32, t0: u64) -> u64 {
    let events = consignment_route(sample, c, t0 + u64::from(c) * 1000).unwrap();
    for (i, e) in events.iter().enumerate() {
        submit(&net.nodes[i % net.nodes.len()], e);
    }
    events.len() as u64
}

/// Waits until every node's certified log holds at least `size` events.
fn wait_committed(net: &Net, size: u64) {
    let deadline = Instant::now() + DEADLINE;
    while let Some(n) = net.nodes.iter().find(|n| devnet::log_size(&n.api) < size) {
        assert!(
            Instant::now() < deadline,
            "{} did not commit {size} events within {DEADLINE:?}; see {}",
            n.moniker,
            n.dir.join("node.log").display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn root(node: &DevnetNode, size: u64) -> String {
    json(
        &node.api,
        &format!("/v1/consistency?first={size}&second={size}"),
    )["first_root"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn evidence(node: &DevnetNode) -> Vec<serde_json::Value> {
    json(&node.api, "/v1/evidence")["evidence"]
        .as_array()
        .unwrap()
        .clone()
}

/// A normal build refuses the Byzantine switch, naming the key, before it opens anything.
fn assert_normal_build_refuses(exe: &std::path::Path, node: &DevnetNode) {
    let mut child = Command::new(exe)
        .arg("run")
        .arg("--config")
        .arg(node.dir.join("config.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a normal build ran with [testing] equivocate set");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("testing.equivocate") && stderr.contains("`byzantine` cargo feature"),
        "{stderr}"
    );
    assert!(
        !node.dir.join("data").exists(),
        "the refused node created its data dir"
    );
}

#[test]
fn an_equivocating_validator_is_caught_and_the_honest_three_stay_safe_and_live() {
    let started = Instant::now();
    let honest_exe = bin_dir().unwrap().join("tradelog-node");
    let byzantine_exe = byzantine_node().unwrap();
    let built = started.elapsed();

    let opts = DevnetOptions {
        dir: scratch("byzantine"),
        api_base: API_BASE,
        consensus_base: API_BASE + 100,
        gossip_base: API_BASE + 200,
        consignments: 0,
        observer: false,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let sample = SampleNetwork::new(4).unwrap();
    let genesis = &sample.genesis;

    // Validator 2 is told to equivocate.
    let liar = &nodes[BYZANTINE];
    let config_path = liar.dir.join("config.toml");
    let mut config = Config::load(&config_path).unwrap();
    config.testing.equivocate = Some(Equivocate::Votes);
    std::fs::write(&config_path, config.to_toml()).unwrap();
    let liar_key: PublicKey = tradelog_client::keyfile::read(&liar.dir.join("node.key"))
        .unwrap()
        .public();
    assert!(genesis.validator_set().get(&liar_key).is_some());
    assert_normal_build_refuses(&honest_exe, liar);

    // Three honest validators (normal build) and the liar (byzantine build).
    let mut children = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let exe = if i == BYZANTINE {
            &byzantine_exe
        } else {
            &honest_exe
        };
        children.extend(devnet::spawn(exe, std::slice::from_ref(n)).unwrap());
    }
    let net = Net { nodes, children };
    devnet::wait_healthy(&net.nodes, DEADLINE).unwrap();
    let t0 = now_ms() - 40 * 86_400_000;

    // Events are submitted (a consignment's route at a time) until every honest node has
    // caught the liar; each batch commits on all four nodes.
    let mut size = 0;
    let mut next = 0;
    let deadline = Instant::now() + DEADLINE;
    while honest(&net).any(|n| evidence(n).is_empty()) {
        assert!(
            Instant::now() < deadline,
            "equivocation not detected by every honest node within {DEADLINE:?} ({next} \
             consignments committed)"
        );
        size += submit_route(&net, &sample, next, t0);
        next += 1;
        wait_committed(&net, size);
    }
    let detected_after = next;

    // (d) live: with the liar still running and still equivocating, another route commits
    // everywhere.
    size += submit_route(&net, &sample, next, t0);
    wait_committed(&net, size);

    // (d) safe: one history. Every node serves the same certified block at every height up
    // to the lowest tip, each certificate verifies under the genesis validator set, each head
    // extends the previous one, and the log roots at the final size are equal.
    let tips: Vec<u64> = net
        .nodes
        .iter()
        .map(|n| json(&n.api, "/v1/head")["head"]["height"].as_u64().unwrap())
        .collect();
    let tip = *tips.iter().min().unwrap();
    let mut prev = genesis.hash();
    for h in 1..=tip {
        let mut heads = Vec::new();
        for n in &net.nodes {
            let b = json(&n.api, &format!("/v1/blocks/{h}"));
            let head: Head = serde_json::from_value(b["head"].clone()).unwrap();
            let cert: Certificate = serde_json::from_value(b["certificate"].clone()).unwrap();
            cert.verify(&head, genesis.validator_set())
                .unwrap_or_else(|e| panic!("{} block {h}: {e}", n.moniker));
            heads.push(head);
        }
        assert!(
            heads.windows(2).all(|w| w[0] == w[1]),
            "height {h}: nodes serve different heads: {heads:?}"
        );
        assert_eq!(heads[0].prev, prev, "height {h} does not extend {}", h - 1);
        prev = heads[0].hash();
    }
    let roots: Vec<String> = net.nodes.iter().map(|n| root(n, size)).collect();
    assert!(
        roots.windows(2).all(|w| w[0] == w[1]),
        "roots differ: {roots:?}"
    );

    // (b), (c): every record served by every honest node, from the whole run, is a double sign
    // by exactly the liar, and verifies with nothing but the genesis.
    let mut kinds = std::collections::BTreeSet::new();
    let mut records = 0;
    for n in honest(&net) {
        for r in evidence(n) {
            assert_eq!(r["source"], "consensus", "{}: {r}", n.moniker);
            assert_eq!(
                r["equivocators"],
                serde_json::json!([liar_key.to_hex()]),
                "{}: {r}",
                n.moniker
            );
            assert_eq!(r["suspects"], serde_json::json!([]), "{}: {r}", n.moniker);
            let d: DoubleSign =
                serde_json::from_value(r["evidence"]["double_sign"].clone()).unwrap();
            d.verify(&genesis.chain, genesis.validator_set())
                .unwrap_or_else(|e| panic!("{}: evidence does not verify: {e}: {r}", n.moniker));
            assert_eq!(d.first.validator, liar_key);
            assert_eq!(d.first.height, r["height"].as_u64().unwrap());
            // One of the two votes is the real one, for a block; the other is for nil.
            assert!(
                (d.first.value == tradelog_protocol::Hash::ZERO)
                    != (d.second.value == tradelog_protocol::Hash::ZERO),
                "{r}"
            );
            kinds.insert(format!("{:?}", d.first.kind));
            records += 1;
        }
    }
    assert!(records >= 3, "{records} records");
    // What is served is what `POST /v1/evidence` takes: a node that holds a record knows it
    // (200, same id).
    let first = honest(&net).next().unwrap();
    let r = evidence(first).remove(0);
    let (status, body) = http(
        &first.api,
        "POST",
        "/v1/evidence",
        Some(r["evidence"].to_string().as_bytes()),
    )
    .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let again: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(again["id"], r["id"]);
    // No node, the liar's included, holds anything against an honest validator.
    let liar_only = serde_json::json!([liar_key.to_hex()]);
    for r in evidence(&net.nodes[BYZANTINE]) {
        assert_eq!(r["equivocators"], liar_only, "{r}");
    }

    // The liar did equivocate on purpose, not by accident of the build.
    let log = std::fs::read_to_string(net.nodes[BYZANTINE].dir.join("node.log")).unwrap();
    assert!(
        log.contains("TEST ONLY: this validator equivocates"),
        "{}",
        net.nodes[BYZANTINE].dir.join("node.log").display()
    );

    println!(
        "byzantine: built in {built:?}; caught by all 3 honest nodes after {detected_after} \
         consignment(s); {records} double-sign records ({kinds:?}); {size} events committed, \
         {tip} heights identical on all 4 nodes; total {:?}",
        started.elapsed()
    );
}

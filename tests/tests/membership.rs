//! Membership on the ledger, end to end (PROTOCOL.md 8a, 9d): on a devnet of four validators and
//! the auditor's observer, a carrier rotates its key and revokes the old one, then the partner
//! administrations approve a new validator set that adds the observer's key. The test then stops
//! a genesis validator: the chain keeps committing only if the former observer now votes. A light
//! client that trusts nothing but the genesis follows the change and verifies the provenance,
//! and a bundle verifies offline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tradelog_client::light::LightClient;
use tradelog_node::devnet::{self, http, DevnetNode, DevnetOptions};
use tradelog_protocol::membership::Change;
use tradelog_protocol::sample::{self, dev_key, sample_ucr, SampleNetwork};
use tradelog_protocol::{Event, EventKind, ProofBundle, SecretKey};
use tradelog_tests::net::{now_ms, post_event, Net};
use tradelog_tests::{bin_dir, run, scratch};

fn json(node: &DevnetNode, path: &str) -> serde_json::Value {
    let (status, body) = http(&node.api, "GET", path, None).unwrap();
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// Submits `e` to `to` and waits until every node in `on` has committed it.
fn commit(net: &Net, to: usize, on: &[usize], e: &Event) {
    let (status, body) = post_event(&net.nodes[to], e);
    assert!(status == 202 || status == 200, "{status} {body}");
    let deadline = Instant::now() + Duration::from_secs(120);
    for &i in on {
        loop {
            let (s, b) = http(
                &net.nodes[i].api,
                "GET",
                &format!("/v1/events/{}", e.id()),
                None,
            )
            .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
            if s == 200 && v["status"] == "committed" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "event {} not committed on {}: {s} {v}",
                e.id(),
                net.nodes[i].moniker
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Runs the `tradelog` CLI; returns its standard output, failing the test on an error.
fn cli(args: &[&str]) -> String {
    let out = run("tradelog", args).unwrap();
    assert!(
        out.status.success(),
        "tradelog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn booked(key: &SecretKey, n: u32, t: u64) -> Event {
    let mut b = sample::body(EventKind::Booked, t).unwrap();
    b.ucr = Some(sample_ucr(n));
    b.issuer = tradelog_protocol::Issuer {
        org: "blue-anchor-lines".parse().unwrap(),
        key: key.public(),
    };
    b.sign(key).unwrap()
}

#[test]
fn keys_rotate_and_a_new_validator_set_takes_over() {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let opts = DevnetOptions {
        dir: scratch("membership"),
        api_base: 19400,
        consensus_base: 19500,
        gossip_base: 19600,
        consignments: 0,
        observer: true,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let children = devnet::spawn(&exe, &nodes).unwrap();
    let mut net = Net { nodes, children };
    devnet::wait_healthy(&net.nodes, Duration::from_secs(60)).unwrap();
    let observer = net.nodes.iter().position(|n| !n.validator).unwrap();
    let all: Vec<usize> = (0..net.nodes.len()).collect();
    let sample = SampleNetwork::new(4).unwrap();
    let t0 = now_ms() - 86_400_000;

    // 1. Key rotation: blue-anchor-lines adds a key with its own (old) key, books with the new
    //    key, then revokes the old key; the old key is refused from then on, on every node.
    let old = sample.org_keys["blue-anchor-lines"].clone();
    let new = dev_key("rotated/blue-anchor-lines");
    commit(&net, 0, &all, &booked(&old, 1, t0));
    let add = Change::AddKey {
        org: "blue-anchor-lines".parse().unwrap(),
        key: new.public(),
    };
    let e = sample
        .membership_event("blue-anchor-lines", &old, 1, add, &[], t0 + 1)
        .unwrap();
    commit(&net, 1, &all, &e);
    commit(&net, 2, &all, &booked(&new, 1, t0 + 2));
    let revoke = Change::RevokeKey {
        org: "blue-anchor-lines".parse().unwrap(),
        key: old.public(),
    };
    let e = sample
        .membership_event("blue-anchor-lines", &new, 2, revoke, &[], t0 + 3)
        .unwrap();
    commit(&net, 3, &all, &e);
    for n in &net.nodes {
        let (status, body) = post_event(n, &booked(&old, 2, t0 + 4));
        assert_eq!(status, 422, "{}: {body}", n.moniker);
        assert_eq!(body["error"]["code"], "unknown_issuer", "{body}");
    }
    // A change nobody approved is refused with a precise error; a stale sequence number too.
    let stranger_key = Change::AddKey {
        org: "shopfast".parse().unwrap(),
        key: dev_key("intruder").public(),
    };
    let e = sample
        .membership_event("blue-anchor-lines", &new, 3, stranger_key, &[], t0 + 5)
        .unwrap();
    let (status, body) = post_event(&net.nodes[0], &e);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "membership_change", "{body}");

    // 2. A new validator set: the four genesis validators and the auditor's node, approved by
    //    three of the four administrations' validators.
    let observer_key = dev_key("org/eu-audit");
    let set = sample
        .validators_with(4, &[("eu-audit", observer_key.public())])
        .unwrap();
    //    Built with the CLI as the administrations would: each validator approves the change
    //    with its node key, Dutch customs signs the event with its organisation key.
    let work = opts.dir.join("cli");
    std::fs::create_dir_all(&work).unwrap();
    let change = work.join("change.json");
    let change_json = serde_json::to_string(&Change::SetValidators {
        validators: set.clone(),
    })
    .unwrap();
    std::fs::write(&change, change_json).unwrap();
    let mut approvals = Vec::new();
    for n in net.nodes.iter().filter(|n| n.validator).take(3) {
        let key = n.dir.join("node.key");
        let out = cli(&[
            "membership",
            "approve",
            "--key",
            key.to_str().unwrap(),
            "--chain",
            sample::SAMPLE_CHAIN,
            "--seq",
            "3",
            "--change",
            change.to_str().unwrap(),
        ]);
        let path = work.join(format!("approval-{}.json", n.moniker));
        std::fs::write(&path, out).unwrap();
        approvals.push(path);
    }
    let nl_key = work.join("nl-customs.key");
    tradelog_client::keyfile::write(&nl_key, &sample.org_keys["nl-customs"]).unwrap();
    let time = (t0 + 6).to_string();
    let mut args = vec![
        "membership",
        "sign",
        "--key",
        nl_key.to_str().unwrap(),
        "--org",
        "nl-customs",
        "--chain",
        sample::SAMPLE_CHAIN,
        "--seq",
        "3",
        "--change",
        change.to_str().unwrap(),
        "--time",
        &time,
    ];
    for a in &approvals {
        args.extend(["--approval", a.to_str().unwrap()]);
    }
    let e = Event::from_json(cli(&args).trim().as_bytes()).unwrap();
    commit(&net, 0, &all, &e);

    // 3. Stop a genesis validator: 4 of 5 remain, a quorum only with the former observer.
    let _ = net.children[0].kill();
    let _ = net.children[0].wait();
    let alive: Vec<usize> = (1..net.nodes.len()).collect();
    let after = booked(&new, 3, t0 + 7);
    commit(&net, 1, &alive, &after);
    let head = json(&net.nodes[1], "/v1/head");
    assert_eq!(head["head"]["validators"], set.hash().to_hex(), "{head}");
    let signers: Vec<String> = head["certificate"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["validator"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        signers.contains(&observer_key.public().to_hex()),
        "the former observer signs: {signers:?}"
    );

    // 4. A light client trusting only the genesis follows the change and verifies the whole
    //    provenance, events under the old and the new key; a bundle verifies offline.
    let mut client = LightClient::new(
        sample.genesis.clone(),
        &format!("http://{}", net.nodes[observer].api),
    )
    .unwrap();
    let h = client.head().unwrap();
    assert_eq!(h.head.validators, set.hash());
    let route = client.provenance(&sample_ucr(1)).unwrap();
    assert_eq!(
        route.timeline.len(),
        2,
        "booked with the old key, then the new one"
    );
    let (status, body) = http(
        &net.nodes[2].api,
        "GET",
        &format!("/v1/consignments/{}", sample_ucr(3)),
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    let bundle = ProofBundle::from_json(&body).unwrap();
    assert_eq!(bundle.membership.transitions.len(), 1);
    assert_eq!(bundle.membership.events.len(), 3);
    let p = bundle.verify(&sample.genesis).unwrap();
    assert_eq!(p.events.len(), 1);

    // `tradelog membership show` verifies the same from the genesis file alone.
    let genesis = net.nodes[1].dir.join("genesis.json");
    let shown: serde_json::Value = serde_json::from_str(&cli(&[
        "membership",
        "show",
        "--node",
        &format!("http://{}", net.nodes[2].api),
        "--genesis",
        genesis.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(shown["next_seq"], 4, "{shown}");
    assert_eq!(shown["validators"].as_array().unwrap().len(), 5, "{shown}");
    let bal = shown["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "blue-anchor-lines")
        .unwrap();
    assert_eq!(
        bal["keys"],
        serde_json::json!([new.public().to_hex()]),
        "{shown}"
    );

    // A full audit replays the chain across the change: heads after it are checked under the
    // new set, each membership event under the rules in force at its position.
    let audit = cli(&[
        "audit",
        "--node",
        &format!("http://{}", net.nodes[3].api),
        "--genesis",
        genesis.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(audit.contains("AUDIT PASSED"), "{audit}");
    drop(net);
}

/// Issue 17.1: a validator's node key is rotated through a committed `set_validators` change
/// (three of four approvals); that node restarts with its new key and votes again, and no other
/// node restarts. With another validator stopped afterwards, blocks commit only if the rotated
/// node votes, and an event submitted to it commits everywhere (its gossip is admitted).
#[test]
fn a_validator_node_key_rotates_without_restarting_anyone_else() {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let opts = DevnetOptions {
        dir: scratch("rotate-node-key"),
        api_base: 19900,
        consensus_base: 19910,
        gossip_base: 19920,
        consignments: 0,
        observer: false,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let children = devnet::spawn(&exe, &nodes).unwrap();
    let mut net = Net { nodes, children };
    devnet::wait_healthy(&net.nodes, Duration::from_secs(60)).unwrap();
    let sample = SampleNetwork::new(4).unwrap();
    let t0 = now_ms() - 86_400_000;
    let all: Vec<usize> = (0..4).collect();

    // Validator 3 gets a new node key; the other three approve the new set.
    let rotated = dev_key("rotated/validator-3");
    let org3 = sample::SAMPLE_ORGS[3].0;
    let set = sample
        .validators_with(3, &[(org3, rotated.public())])
        .unwrap();
    let approvers: Vec<&SecretKey> = sample.validator_keys.iter().take(3).collect();
    let e = sample
        .membership_event(
            "nl-customs",
            &sample.org_keys["nl-customs"],
            1,
            Change::SetValidators {
                validators: set.clone(),
            },
            &approvers,
            t0,
        )
        .unwrap();
    commit(&net, 0, &all, &e);

    // Only validator 3 restarts, with its new key.
    let _ = net.children[3].kill();
    let _ = net.children[3].wait();
    let key = net.nodes[3].dir.join("node.key");
    std::fs::remove_file(&key).unwrap();
    tradelog_client::keyfile::write(&key, &rotated).unwrap();
    net.children[3] = devnet::spawn(&exe, &net.nodes[3..4]).unwrap().remove(0);
    devnet::wait_healthy(&net.nodes[3..4], Duration::from_secs(60)).unwrap();

    // An event sent to the rotated node commits on every node.
    commit(
        &net,
        3,
        &all,
        &booked(&sample.org_keys["blue-anchor-lines"], 5, t0 + 1),
    );

    // Stop validator 0: 3 of 4 remain, a quorum only with the rotated node's vote.
    let _ = net.children[0].kill();
    let _ = net.children[0].wait();
    let alive = [1, 2, 3];
    commit(
        &net,
        1,
        &alive,
        &booked(&sample.org_keys["blue-anchor-lines"], 6, t0 + 2),
    );
    let head = json(&net.nodes[1], "/v1/head");
    assert_eq!(head["head"]["validators"], set.hash().to_hex(), "{head}");
    let signers: Vec<String> = head["certificate"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["validator"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        signers.contains(&rotated.public().to_hex()),
        "the rotated key signs: {signers:?}"
    );
    drop(net);
}

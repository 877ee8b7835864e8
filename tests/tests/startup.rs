//! What a node says when it starts among peers: its genesis hash; peers not up yet as a WARN with
//! the retry schedule (not Malachite's ERROR); a port in use as the first and only error; a peer
//! of another genesis refused with both hashes named, once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tradelog_node::devnet::{self, DevnetNode, DevnetOptions};
use tradelog_protocol::Genesis;
use tradelog_tests::net::Net;
use tradelog_tests::{bin_dir, scratch};

fn log(node: &DevnetNode) -> String {
    std::fs::read_to_string(node.dir.join("node.log")).unwrap_or_default()
}

fn genesis_hash(node: &DevnetNode) -> String {
    let bytes = std::fs::read(node.dir.join("genesis.json")).unwrap();
    Genesis::from_json(&bytes).unwrap().hash().to_hex()
}

/// Waits until `node`'s log has a line containing each of `what`; returns the line.
fn wait_line(node: &DevnetNode, what: &[&str], timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(l) = log(node)
            .lines()
            .find(|l| what.iter().all(|w| l.contains(w)))
        {
            return l.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{}: no line with {what:?} in\n{}",
            node.moniker,
            log(node)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn devnet(name: &str, base: u16) -> Vec<DevnetNode> {
    devnet::prepare(&DevnetOptions {
        dir: scratch(name),
        api_base: base,
        consensus_base: base + 10,
        gossip_base: base + 20,
        consignments: 0,
        observer: false,
    })
    .unwrap()
}

#[test]
fn peers_not_up_yet_are_a_warning_with_the_retry_schedule() {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let nodes = devnet("dial", 19800);
    let children = devnet::spawn(&exe, &nodes[..1]).unwrap();
    let net = Net {
        nodes: nodes[..1].to_vec(),
        children,
    };
    let node = &net.nodes[0];
    let g = wait_line(node, &["genesis "], Duration::from_secs(30));
    assert!(
        g.contains(" INFO ") && g.contains(&format!(": genesis {} ", genesis_hash(node))),
        "{g}"
    );
    // A round of retries takes about 19 s (1 + 2 + 3 + 5 + 8).
    let line = wait_line(node, &["is not reachable yet"], Duration::from_secs(60));
    assert!(line.contains(" WARN "), "{line}");
    assert!(line.contains("retries after 1, 2, 3, 5, 8 s"), "{line}");
    let all = log(node);
    assert!(!all.contains("Failed to dial peer"), "{all}");
    assert!(!all.contains(" ERROR "), "{all}");
}

#[test]
fn a_port_in_use_is_reported_first_and_alone() {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let nodes = devnet("port", 19830);
    // Something else holds node 0's gossip port.
    let _squatter = std::net::TcpListener::bind("127.0.0.1:19850").unwrap();
    let mut children = devnet::spawn(&exe, &nodes[..1]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = children[0].try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the node kept running:\n{}",
            log(&nodes[0])
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success());
    let all = log(&nodes[0]);
    let errors: Vec<&str> = all
        .lines()
        .filter(|l| l.contains("ERROR") || l.starts_with("error"))
        .collect();
    assert_eq!(
        errors,
        vec!["error: gossip.listen: port 19850 (127.0.0.1:19850) is already in use by another process; stop it or choose another port in the config"],
        "{all}"
    );
    assert!(
        !all.contains("Liveness failure") && !all.contains("wal_reset"),
        "{all}"
    );
}

#[test]
fn a_peer_of_another_genesis_is_refused_naming_both_hashes() {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let nodes = devnet("genesis", 19860);
    // Node 1 was given a genesis made separately: same members and keys, another time.
    let path = nodes[1].dir.join("genesis.json");
    let mut g: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    g["time"] = (g["time"].as_u64().unwrap() + 1).into();
    std::fs::write(&path, g.to_string()).unwrap();
    let (ours, theirs) = (genesis_hash(&nodes[0]), genesis_hash(&nodes[1]));
    assert_ne!(ours, theirs);
    let children = devnet::spawn(&exe, &nodes[..2]).unwrap();
    let net = Net {
        nodes: nodes[..2].to_vec(),
        children,
    };
    let want =
        format!("genesis mismatch: the peer runs genesis {theirs}, this node runs genesis {ours}");
    let gossip = wait_line(
        &net.nodes[0],
        &["gossip peer with key", &want],
        Duration::from_secs(30),
    );
    assert!(
        gossip.contains(" WARN ") && gossip.contains(&want),
        "{gossip}"
    );
    let consensus = wait_line(
        &net.nodes[0],
        &["consensus peer", &want],
        Duration::from_secs(30),
    );
    assert!(consensus.contains(&want), "{consensus}");
    // Both sides keep redialling; the refusal is logged once.
    std::thread::sleep(Duration::from_secs(6));
    let all = log(&net.nodes[0]);
    assert_eq!(
        all.lines()
            .filter(|l| l.contains("gossip peer") && l.contains(&want))
            .count(),
        1,
        "{all}"
    );
    assert_eq!(
        all.lines()
            .filter(|l| l.contains("consensus peer") && l.contains(&want))
            .count(),
        1,
        "{all}"
    );
}

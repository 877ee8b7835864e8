//! Backup and restore, as an operator does it: a devnet commits sample consignments; a backup is
//! taken from a running validator over its API; a second run continues it; then a validator is
//! stopped, its data dir wiped, the backup restored into it, and restarted. It catches up with
//! the blocks committed after the backup and serves the same consignment as the others.
//! Along the way `/health/ready` answers 200 on the running devnet, and promtool (where
//! installed) accepts a real `/metrics` scrape of it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tradelog_node::devnet::{self, http, log_size, DevnetOptions};
use tradelog_protocol::sample::{consignment_route, sample_ucr, SampleNetwork};
use tradelog_tests::net::{json, now_ms, submit, Net};
use tradelog_tests::{bin_dir, run, scratch};

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn height(api: &str) -> u64 {
    json(api, "/v1/head")["head"]["height"].as_u64().unwrap()
}

fn node_cmd(args: &[&str]) -> String {
    let out = run("tradelog-node", args).unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "tradelog-node {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn a_backup_from_a_running_node_restores_a_wiped_validator() {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let dir = scratch("backup");
    let opts = DevnetOptions {
        dir: dir.join("devnet"),
        api_base: 19800,
        consensus_base: 19820,
        gossip_base: 19840,
        consignments: 0,
        observer: false,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let children = devnet::spawn(&exe, &nodes).unwrap();
    let mut net = Net { nodes, children };
    devnet::wait_healthy(&net.nodes, Duration::from_secs(60)).unwrap();
    let start = now_ms() - 40 * 86_400_000;
    let events = devnet::load(&net.nodes, 2, start, Duration::from_secs(120)).unwrap();

    // A running devnet node is ready.
    wait_until("node 0 ready", Duration::from_secs(30), || {
        matches!(
            http(&net.nodes[0].api, "GET", "/health/ready", None),
            Ok((200, _))
        )
    });

    // promtool, where installed, accepts a real scrape of a running validator (CI installs it).
    let (status, scraped) = http(&net.nodes[0].api, "GET", "/metrics", None).unwrap();
    assert_eq!(status, 200);
    std::fs::write(dir.join("metrics.prom"), &scraped).unwrap();
    if let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&scraped).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert!(
            std::env::var_os("TRADELOG_REQUIRE_PROMTOOL").is_none(),
            "promtool is required but not installed"
        );
    }

    // Back up node 0 while it runs; a second run with nothing new copies nothing.
    let backup = dir.join("backup");
    let node0 = format!("http://{}", net.nodes[0].api);
    let genesis = net.nodes[0].dir.join("genesis.json");
    let args = [
        "backup",
        "--node",
        &node0,
        "--genesis",
        genesis.to_str().unwrap(),
        "--out",
        backup.to_str().unwrap(),
    ];
    let backed_up = height(&net.nodes[0].api);
    let first = node_cmd(&args);
    assert!(
        first.contains(&format!("height {backed_up} (was 0)")),
        "{first}"
    );
    let again = node_cmd(&args);
    assert!(again.contains(" 0 events copied"), "{again}");

    // Stop validator 3, wipe its data, restore the backup into it.
    let _ = net.children[3].kill();
    let _ = net.children[3].wait();
    let data = net.nodes[3].dir.join("data");
    std::fs::remove_dir_all(&data).unwrap();
    let config = net.nodes[3].dir.join("config.toml");
    let restored = node_cmd(&[
        "restore",
        "--config",
        config.to_str().unwrap(),
        "--from",
        backup.to_str().unwrap(),
    ]);
    assert!(
        restored.contains(&format!("restored height {backed_up}")),
        "{restored}"
    );
    // Restoring again over the restored ledger is refused.
    let out = run(
        "tradelog-node",
        &[
            "restore",
            "--config",
            config.to_str().unwrap(),
            "--from",
            backup.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("never overwrites"));

    // Meanwhile the other three commit another consignment.
    let sample = SampleNetwork::new(4).unwrap();
    let more = consignment_route(&sample, 7, start + 86_400_000).unwrap();
    for e in &more {
        submit(&net.nodes[0], e);
    }
    let want = events + more.len() as u64;
    wait_until(
        "the three commit the new events",
        Duration::from_secs(60),
        || log_size(&net.nodes[0].api) >= want,
    );

    // Restart the restored validator: it catches up and serves what the others serve.
    net.children[3] = devnet::spawn(&exe, &net.nodes[3..=3]).unwrap().remove(0);
    devnet::wait_healthy(&net.nodes[3..=3], Duration::from_secs(60)).unwrap();
    wait_until(
        "the restored node catches up",
        Duration::from_secs(90),
        || log_size(&net.nodes[3].api) >= want,
    );
    wait_until("same height", Duration::from_secs(30), || {
        height(&net.nodes[3].api) == height(&net.nodes[0].api)
    });
    for ucr in [sample_ucr(0), sample_ucr(7)] {
        let path = format!("/v1/consignments/{ucr}");
        let (a, b) = (
            json(&net.nodes[0].api, &path),
            json(&net.nodes[3].api, &path),
        );
        assert_eq!(a["events"], b["events"], "{ucr}");
        assert!(!b["events"].as_array().unwrap().is_empty(), "{ucr}");
    }
}

//! A full disk stops a node at once, and its log says why first (issue 13, B4).
//!
//! A one-validator node (it commits alone) runs with its data dir on a 32 MiB tmpfs of its own
//! (`unshare -rm`: a user and mount namespace, no root needed where user namespaces are
//! allowed; CI sets TRADELOG_REQUIRE_UNSHARE=1 so that a missing `unshare` fails there). It
//! commits a consignment, a slow client holds a connection (300 answers it never reads), then
//! the test fills the tmpfs (through `/proc/<pid>/root`) and submits a batch of events. The node must
//! exit within seconds with a non-zero status, its first error line naming "No space left on
//! device" and the file under its data dir, without a flood of engine failures after it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tradelog_node::config::Config;
use tradelog_node::devnet::{http, log_size};
use tradelog_protocol::sample::{consignment_route, SampleNetwork};
use tradelog_tests::net::now_ms;
use tradelog_tests::{bin_dir, scratch};

const API: &str = "127.0.0.1:19700";

/// Kills the node if the test fails half-way.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn unshare_works() -> bool {
    Command::new("unshare")
        .args(["-rm", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn post(path: &str, body: &[u8]) -> u16 {
    http(API, "POST", path, Some(body)).map_or(0, |(s, _)| s)
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn a_full_disk_stops_the_node_at_once_with_the_cause_and_the_file_first() {
    if !unshare_works() {
        assert!(
            std::env::var_os("TRADELOG_REQUIRE_UNSHARE").is_none(),
            "TRADELOG_REQUIRE_UNSHARE is set but `unshare -rm` does not work here"
        );
        eprintln!("SKIPPED: `unshare -rm` (user and mount namespaces) is not available");
        return;
    }
    let bin = bin_dir().unwrap().join("tradelog-node");
    let dir = scratch("disk-full");
    let net = SampleNetwork::new(1).unwrap();
    std::fs::write(
        dir.join("genesis.json"),
        serde_json::to_string_pretty(&net.genesis).unwrap(),
    )
    .unwrap();
    tradelog_client::keyfile::write(&dir.join("node.key"), &net.validator_keys[0]).unwrap();
    let mut c = Config {
        moniker: "full".into(),
        ..Config::default()
    };
    c.api.listen = API.into();
    // The slow client must be cut by the shutdown deadline, not by its write timeout.
    c.api.write_timeout_ms = 120_000;
    c.api.shutdown_timeout_ms = 1_000;
    c.consensus.listen = "/ip4/127.0.0.1/tcp/19710".into();
    c.consensus.propose_timeout_ms = 500;
    c.consensus.vote_timeout_ms = 300;
    c.gossip.listen = "/ip4/127.0.0.1/tcp/19720".into();
    std::fs::write(dir.join("config.toml"), c.to_toml()).unwrap();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let log = std::fs::File::create(dir.join("node.log")).unwrap();
    let child = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            r#"mount -t tmpfs -o size=32m tradelog-disk-full "$1/data" && exec "$2" run --config "$1/config.toml""#,
            "sh",
        ])
        .arg(&dir)
        .arg(&bin)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut node = Node(child);

    // A committed consignment.
    let started = Instant::now();
    while !matches!(http(API, "GET", "/health", None), Ok((200, _))) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the node did not start:\n{}",
            log_tail(&dir)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let t0 = now_ms() - 40 * 86_400_000;
    let first = consignment_route(&net, 0, t0).unwrap();
    for e in &first {
        assert_eq!(post("/v1/events", e.to_json().as_bytes()), 202);
    }
    while log_size(API) < first.len() as u64 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "nothing committed:\n{}",
            log_tail(&dir)
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // A client that asks and never reads holds a connection.
    let mut slow = TcpStream::connect(API).unwrap();
    let ask = format!("GET /openapi.json HTTP/1.1\r\nHost: {API}\r\n\r\n");
    slow.write_all(ask.repeat(300).as_bytes()).unwrap();

    // The disk fills up.
    let inside = format!("/proc/{}/root{}", node.0.id(), data.display());
    let mut filler = std::fs::File::create(Path::new(&inside).join("filler")).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let full = loop {
        if let Err(e) = filler.write_all(&chunk) {
            break e;
        }
    };
    assert_eq!(full.raw_os_error(), Some(28), "{full}");
    drop(filler);

    // More events, in one batch so that the next block (about 14 kB) needs new pages of the
    // full disk wherever it is written first: the node's own proposal (sled) or, once decided,
    // the block's event files. Which of the two fails first depends on the slack in the files'
    // last pages; the node must stop either way.
    let filled = Instant::now();
    let logged_before = std::fs::metadata(dir.join("node.log")).unwrap().len() as usize;
    let second = consignment_route(&net, 1, t0).unwrap();
    let batch: Vec<String> = second.iter().map(|e| e.to_json()).collect();
    let _ = post(
        "/v1/events/batch",
        format!("[{}]", batch.join(",")).as_bytes(),
    );
    let status = loop {
        if let Some(status) = node.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            filled.elapsed() < Duration::from_secs(30),
            "the node still runs 30 s after its disk filled up:\n{}",
            log_tail(&dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = filled.elapsed();
    assert!(!status.success(), "{status}");
    // The slow client was closed too.
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut sink = vec![0u8; 1 << 16];
    while matches!(slow.read(&mut sink), Ok(n) if n > 0) {}

    // What the node logged once its disk was full. A one-validator network has no peer to
    // publish to, and the engine says so at every message (`NoPeersSubscribedToTopic`), full
    // disk or not: that noise of this test's network is left out.
    let log = std::fs::read_to_string(dir.join("node.log")).unwrap();
    let log: Vec<&str> = log
        .get(logged_before..)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.contains("NoPeersSubscribedToTopic"))
        .collect();
    let log = log.join("\n");
    let errors: Vec<(usize, &str)> = log
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("ERROR") || l.starts_with("error:"))
        .collect();
    let (at, first_error) = *errors
        .first()
        .unwrap_or_else(|| panic!("no error logged:\n{}", log_tail(&dir)));
    assert!(
        first_error.contains("No space left on device")
            && first_error.contains(&data.display().to_string()),
        "the first error line does not name the cause and the file: {first_error}\n{}",
        log_tail(&dir)
    );
    let after = log.lines().count() - at;
    assert!(
        after <= 25 && !log.contains("panicked"),
        "{after} lines after the first error:\n{}",
        log_tail(&dir)
    );
    assert!(
        took < Duration::from_secs(15),
        "stopped {took:?} after the disk filled up"
    );
    eprintln!(
        "stopped {took:?} after the disk filled up; first error line: {first_error}; {after} lines from it to the end"
    );
}

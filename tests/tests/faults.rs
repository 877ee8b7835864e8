//! Crash faults under load: while three submitters keep sending events to every node, a random
//! validator is killed with SIGKILL and restarted, CRASH_CYCLES times (3 by default; the long run
//! is `scripts/faults-long.sh`); then all four are killed at once and restarted. Afterwards every
//! node has the same log root, every event that was reported committed is in every node's log at
//! the same position, and the network still commits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tradelog_node::devnet::{self, http, DevnetNode, DevnetOptions};
use tradelog_protocol::sample::{consignment_route, SampleNetwork};
use tradelog_protocol::EventId;
use tradelog_tests::{bin_dir, scratch};

struct Net {
    nodes: Vec<DevnetNode>,
    children: Mutex<Vec<Child>>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in self.children.lock().unwrap().iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Net {
    fn kill(&self, i: usize) {
        let mut children = self.children.lock().unwrap();
        let _ = children[i].kill(); // SIGKILL: no shutdown path runs
        let _ = children[i].wait();
    }

    fn restart(&self, i: usize) {
        let exe = bin_dir().unwrap().join("tradelog-node");
        let fresh = devnet::spawn(&exe, &self.nodes[i..=i]).unwrap().remove(0);
        self.children.lock().unwrap()[i] = fresh;
        devnet::wait_healthy(&self.nodes[i..=i], Duration::from_secs(60)).unwrap();
    }
}

/// A small deterministic generator (xorshift64*), seeded from CRASH_SEED or the clock.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn status(api: &str, id: &EventId) -> Option<(String, Option<u64>)> {
    let (code, body) = http(api, "GET", &format!("/v1/events/{id}"), None).ok()?;
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    Some((v["status"].as_str()?.to_owned(), v["index"].as_u64()))
}

fn root(api: &str, size: u64) -> Option<String> {
    let (code, body) = http(
        api,
        "GET",
        &format!("/v1/consistency?first={size}&second={size}"),
        None,
    )
    .ok()?;
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    v["first_root"].as_str().map(str::to_owned)
}

/// Polls `state` until it is `Ok`; on timeout the panic shows the last state it reported.
fn wait_until(what: &str, timeout: Duration, mut state: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + timeout;
    while let Err(last) = state() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last: {last}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn ok_if(ok: bool, state: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(state())
    }
}

#[test]
fn killed_validators_lose_no_committed_event() {
    let cycles: usize = std::env::var("CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("faults: {cycles} kill -9 cycles, CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let exe = bin_dir().unwrap().join("tradelog-node");
    let opts = DevnetOptions {
        dir: scratch("faults"),
        api_base: 18300,
        consensus_base: 18400,
        gossip_base: 18500,
        consignments: 0,
        observer: false,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let children = devnet::spawn(&exe, &nodes).unwrap();
    let net = Arc::new(Net {
        nodes,
        children: Mutex::new(children),
    });
    devnet::wait_healthy(&net.nodes, Duration::from_secs(60)).unwrap();

    // Three submitters, each with its own consignments, to every node in turn; an event refused
    // or unanswered (its node is down) is sent to the next node.
    let stop = Arc::new(AtomicBool::new(false));
    let accepted: Arc<Mutex<Vec<EventId>>> = Arc::default();
    let sent = Arc::new(AtomicU64::new(0));
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        - 50 * 86_400_000;
    let submitters: Vec<_> = (0..3u32)
        .map(|s| {
            let (net, stop, accepted, sent) =
                (net.clone(), stop.clone(), accepted.clone(), sent.clone());
            std::thread::spawn(move || {
                let sample = SampleNetwork::new(4).unwrap();
                let mut n = s * 100_000;
                let mut target = s as usize;
                while !stop.load(Ordering::Relaxed) {
                    for e in consignment_route(&sample, n, t0 + u64::from(n)).unwrap() {
                        let body = e.to_json();
                        for _ in 0..8 {
                            target = (target + 1) % 4;
                            let api = &net.nodes[target].api;
                            if let Ok((200 | 202, _)) =
                                http(api, "POST", "/v1/events", Some(body.as_bytes()))
                            {
                                accepted.lock().unwrap().push(e.id());
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    n += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();

    // Receipts: events some node reported committed, with the position it reported.
    let mut receipts: BTreeMap<EventId, u64> = BTreeMap::new();
    let mut take_receipts = |net: &Net, alive: &[usize]| {
        let ids: Vec<EventId> = accepted
            .lock()
            .unwrap()
            .iter()
            .filter(|id| !receipts.contains_key(*id))
            .copied()
            .collect();
        for id in &ids {
            let api = &net.nodes[alive[receipts.len() % alive.len()]].api;
            if let Some((s, Some(index))) = status(api, id) {
                if s == "committed" {
                    receipts.insert(*id, index);
                }
            }
        }
    };

    for cycle in 0..cycles {
        std::thread::sleep(Duration::from_millis(1000 + rng.below(1500)));
        let victim = rng.below(4) as usize;
        let alive: Vec<usize> = (0..4).filter(|&i| i != victim).collect();
        net.kill(victim);
        eprintln!("cycle {cycle}: killed validator {victim}");
        std::thread::sleep(Duration::from_millis(500 + rng.below(2000)));
        take_receipts(&net, &alive);
        net.restart(victim);
    }

    // All four at once.
    std::thread::sleep(Duration::from_millis(1500));
    for i in 0..4 {
        net.kill(i);
    }
    eprintln!("killed all four validators");
    for i in 0..4 {
        net.restart(i);
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    for s in submitters {
        s.join().unwrap();
    }

    // Everything accepted and still pending settles; then every node agrees.
    let all: Vec<usize> = (0..4).collect();
    let size = |i: usize| devnet::log_size(&net.nodes[i].api);
    wait_until("mempools to drain", Duration::from_secs(120), || {
        let health: Vec<serde_json::Value> = net
            .nodes
            .iter()
            .map(|n| {
                http(&n.api, "GET", "/health", None)
                    .ok()
                    .and_then(|(_, b)| serde_json::from_slice(&b).ok())
                    .unwrap_or_default()
            })
            .collect();
        ok_if(health.iter().all(|v| v["mempool"] == 0), || {
            format!("{health:?} (node logs: {})", opts.dir.display())
        })
    });
    wait_until("equal log sizes", Duration::from_secs(120), || {
        let s: Vec<u64> = all.iter().map(|&i| size(i)).collect();
        ok_if(s.windows(2).all(|w| w[0] == w[1]), || format!("{s:?}"))
    });
    take_receipts(&net, &all);
    let final_size = size(0);
    let roots: Vec<Option<String>> = all
        .iter()
        .map(|&i| root(&net.nodes[i].api, final_size))
        .collect();
    assert!(
        roots[0].is_some() && roots.windows(2).all(|w| w[0] == w[1]),
        "{roots:?}"
    );
    assert!(!receipts.is_empty(), "no event was committed under load");
    for (id, index) in &receipts {
        for n in &net.nodes {
            assert_eq!(
                status(&n.api, id),
                Some(("committed".to_owned(), Some(*index))),
                "{id} committed at {index} is not there on {}",
                n.moniker
            );
        }
    }
    eprintln!(
        "faults: {} events sent, {} receipts checked on 4 nodes, final log size {final_size}",
        sent.load(Ordering::Relaxed),
        receipts.len()
    );

    // And the network still commits.
    let sample = SampleNetwork::new(4).unwrap();
    let extra = consignment_route(&sample, 999_999, t0).unwrap();
    for e in &extra {
        let (code, _) = http(
            &net.nodes[0].api,
            "POST",
            "/v1/events",
            Some(e.to_json().as_bytes()),
        )
        .unwrap();
        assert_eq!(code, 202);
    }
    let want = final_size + extra.len() as u64;
    wait_until(
        "commits after the restarts",
        Duration::from_secs(60),
        || {
            let s: Vec<u64> = all.iter().map(|&i| size(i)).collect();
            ok_if(s.iter().all(|&n| n >= want), || {
                format!("{s:?}, want {want}")
            })
        },
    );
}

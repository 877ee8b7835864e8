//! Throughput of a 4-validator devnet on this machine: sustained committed events/s and
//! submit-to-commit latency, next to the single-core signature-check limit measured in the same
//! run. Run: `cargo bench -p tradelog-node --bench throughput` (env: EVENTS, CLIENTS, BATCH).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tradelog_node::devnet::{self, http, DevnetOptions};
use tradelog_protocol::sample::{consignment_route, SampleNetwork};
use tradelog_protocol::Event;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// User + system CPU seconds of a process so far (Linux `/proc/<pid>/stat`, fields 14 and 15,
/// in clock ticks of 1/100 s); 0 where unavailable.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // rest starts at field 3 (state): utime is field 14, stime field 15.
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; nothing to list here
    }
    let events_wanted = env("EVENTS", 60_000);
    let clients = env("CLIENTS", 8);
    let batch = env("BATCH", 500);

    // 1. The events: sample consignment routes (14 events each), signed up front.
    let net = SampleNetwork::new(4).unwrap();
    let t0 = now_ms() - 40 * 86_400_000;
    let mut events: Vec<Event> = Vec::with_capacity(events_wanted + 14);
    let mut n = 0u32;
    while events.len() < events_wanted {
        events.extend(consignment_route(&net, n, t0 + u64::from(n)).unwrap());
        n += 1;
    }
    events.truncate(events_wanted);

    // 2. The single-core limit: strict signature checks on one thread, same events.
    let sample = &events[..events.len().min(20_000)];
    let start = Instant::now();
    for e in sample {
        e.verify_signature().unwrap();
    }
    let sig_rate = sample.len() as f64 / start.elapsed().as_secs_f64();

    // 3. The devnet (release binary): 4 validators, and the observer with OBSERVER set.
    // The release binary cargo builds with this bench (same invocation, same features: a
    // nested `cargo build` here would rebuild the dependency graph with other features).
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tradelog-node"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .join("target")
        });
    let opts = DevnetOptions {
        dir: target.join("bench-devnet"),
        api_base: 19100,
        consensus_base: 19200,
        gossip_base: 19300,
        consignments: 0,
        observer: std::env::var("OBSERVER").is_ok(),
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let mut children = devnet::spawn(&exe, &nodes).unwrap();
    devnet::wait_healthy(&nodes, Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_secs(3)); // let the consensus network settle

    // 4. Closed-loop clients: submit a batch to a validator, wait until its last event is
    //    committed there, repeat.
    let queue: Arc<Mutex<VecDeque<Vec<Event>>>> = Arc::new(Mutex::new(
        events.chunks(batch).map(<[Event]>::to_vec).collect(),
    ));
    let latencies = Arc::new(Mutex::new(Vec::<(f64, usize)>::new()));
    let rejected = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (queue, latencies, rejected) = (queue.clone(), latencies.clone(), rejected.clone());
            let api = nodes[c % 4].api.clone();
            std::thread::spawn(move || loop {
                let Some(b) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let body = format!(
                    "[{}]",
                    b.iter().map(Event::to_json).collect::<Vec<_>>().join(",")
                );
                let t = Instant::now();
                let (status, resp) =
                    http(&api, "POST", "/v1/events/batch", Some(body.as_bytes())).unwrap();
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
                let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
                let bad = v["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r.get("error").is_some())
                    .count();
                *rejected.lock().unwrap() += bad;
                let last = b.last().unwrap().id();
                loop {
                    let (s, r) = http(&api, "GET", &format!("/v1/events/{last}"), None).unwrap();
                    if s == 200
                        && serde_json::from_slice::<serde_json::Value>(&r).unwrap()["status"]
                            == "committed"
                    {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                latencies
                    .lock()
                    .unwrap()
                    .push((t.elapsed().as_secs_f64(), b.len()));
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();

    // 5. Every node has everything, with one log root.
    let total = events.len() as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while nodes.iter().any(|n| devnet::log_size(&n.api) < total) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let roots: Vec<String> = nodes
        .iter()
        .map(|n| {
            let (_, b) = http(
                &n.api,
                "GET",
                &format!("/v1/consistency?first={total}&second={total}"),
                None,
            )
            .unwrap();
            serde_json::from_slice::<serde_json::Value>(&b).unwrap()["first_root"]
                .as_str()
                .unwrap_or("-")
                .to_owned()
        })
        .collect();
    let (_, head) = http(&nodes[0].api, "GET", "/v1/head", None).unwrap();
    let height = serde_json::from_slice::<serde_json::Value>(&head).unwrap()["head"]["height"]
        .as_u64()
        .unwrap_or(0);
    // CPU time of the node processes over the whole run (user + system), from /proc.
    let node_cpu: f64 = children.iter().map(|c| cpu_seconds(c.id())).sum();
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }

    // Per-event latency: each event gets its batch's submit-to-commit time.
    let mut per_event: Vec<f64> = Vec::new();
    for (l, n) in latencies.lock().unwrap().iter() {
        per_event.extend(std::iter::repeat_n(*l, *n));
    }
    per_event.sort_by(f64::total_cmp);
    let rate = total as f64 / elapsed;
    println!(
        "tradelog throughput bench: 4 validators{} on {} cores",
        if opts.observer { " + 1 observer" } else { "" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  events                 {total} ({} rejected), {clients} clients, batches of {batch}",
        rejected.lock().unwrap()
    );
    println!("  committed              {rate:.0} events/s over {elapsed:.1} s, {height} blocks");
    println!(
        "  submit-to-commit       p50 {:.3} s, p99 {:.3} s, max {:.3} s",
        percentile(&per_event, 50.0),
        percentile(&per_event, 99.0),
        per_event.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  single-core sig check  {sig_rate:.0} events/s (strict ed25519, one thread, same run)"
    );
    println!(
        "  ratio                  {:.2} of one core's signature limit",
        rate / sig_rate
    );
    println!(
        "  node CPU               {node_cpu:.1} s in all ({:.0} us per committed event, all nodes)",
        node_cpu * 1e6 / total as f64
    );
    println!(
        "  log roots agree        {}",
        roots.windows(2).all(|w| w[0] == w[1])
    );
    assert!(
        roots.windows(2).all(|w| w[0] == w[1]),
        "nodes disagree: {roots:?}"
    );
}

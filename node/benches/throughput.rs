//! Throughput of a 4-validator devnet on this machine, on the node's real storage with a ledger
//! that already holds `LEDGER` events (default 1,000,000; built once into the target dir and
//! copied into each node's data dir), printing in one run:
//!
//! * the signature limits of one core on the same events: batched ZIP-215 and strict single;
//! * a closed-loop saturation run (`CLIENTS` clients, `BATCH` events per batch, `EVENTS` events):
//!   committed events/s;
//! * an open-loop run at a fixed offered rate (`OFFERED` events/s, default 80 % of the measured
//!   saturation, for `OPEN_SECS` seconds): each batch is sent on its schedule whatever the
//!   commits, and each event's submit-to-commit latency is taken from the block that commits it
//!   (a poller reads every block as it appears), so queueing of the bench's own making does not
//!   count;
//! * node CPU per committed event per node (the four processes' CPU over each run / events / 4);
//! * with `JOIN=1` (default), a fifth node (the auditor's observer) started with an empty data
//!   dir: how fast it catches up to the tip from its peers.
//!
//! Run: `cargo bench -p tradelog-node --bench throughput`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tradelog_node::devnet::{self, http, ledger, DevnetOptions};
use tradelog_protocol::sample::{consignment_route, SampleNetwork};
use tradelog_protocol::{keys, Event, EventId};

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
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn head(api: &str) -> (u64, u64) {
    let Ok((200, b)) = http(api, "GET", "/v1/head", None) else {
        return (0, 0);
    };
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
    (
        v["head"]["height"].as_u64().unwrap_or(0),
        v["head"]["log_size"].as_u64().unwrap_or(0),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name() != "BUILT" {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn batch_body(events: &[Event]) -> Vec<u8> {
    let mut body = vec![b'['];
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(e.wire());
    }
    body.push(b']');
    body
}

fn post(api: &str, events: &[Event]) -> usize {
    let (status, resp) = http(api, "POST", "/v1/events/batch", Some(&batch_body(events))).unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("error").is_some())
        .count()
}

/// Watches node `api`'s blocks from `height` on and records when each event id first appears
/// committed, until `stop`.
fn poll_commits(
    api: String,
    mut height: u64,
    seen: Arc<Mutex<HashMap<EventId, Instant>>>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let (tip, _) = head(&api);
        while height < tip {
            height += 1;
            let Ok((200, b)) = http(&api, "GET", &format!("/v1/blocks/{height}"), None) else {
                height -= 1;
                break;
            };
            let at = Instant::now();
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
            let mut seen = seen.lock().unwrap();
            for e in v["events"].as_array().into_iter().flatten() {
                // serde_json's map is sorted and compact: this is the canonical wire form, whose
                // id is read without parsing the event.
                let wire = serde_json::to_vec(e).unwrap();
                if let Some(p) = Event::peek_canonical(&wire) {
                    seen.entry(p.id).or_insert(at);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; nothing to list here
    }
    let events_wanted = env("EVENTS", 60_000);
    let clients = env("CLIENTS", 8);
    let batch = env("BATCH", 500);
    let ledger_events = env("LEDGER", 1_000_000) as u64;
    let open_secs = env("OPEN_SECS", 20);
    let join = env("JOIN", 1) == 1;
    let net = SampleNetwork::new(4).unwrap();

    // 1. A ledger of LEDGER events, built once (the scale bench shares it).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .join("target")
        });
    let source = target
        .join("tmp")
        .join(format!("bench-ledger-{ledger_events}"));
    if ledger_events > 0 {
        let built = ledger::ledger(&net, ledger_events, &source).unwrap();
        if let Some(s) = built.seconds {
            eprintln!("built a ledger of {} events in {s:.0} s", built.events);
        }
    }

    // 2. The events: sample consignment routes (14 events each), signed up front, later than
    //    the ledger's consignments (other times, so other ids).
    let t0 = now_ms() - 40 * 86_400_000;
    let sign = |from: u32, count: usize| {
        let mut out: Vec<Event> = Vec::with_capacity(count + 14);
        let mut n = from;
        while out.len() < count {
            out.extend(consignment_route(&net, n, t0 + u64::from(n)).unwrap());
            n += 1;
        }
        out.truncate(count);
        (out, n)
    };
    let (events, next_n) = sign(0, events_wanted);

    // 3. One core's limits on the same events: ZIP-215 batches of 1024, strict single checks.
    let sample = &events[..events.len().min(20_000)];
    let start = Instant::now();
    for chunk in sample.chunks(1024) {
        let items: Vec<_> = chunk
            .iter()
            .map(|e| (&e.body().issuer.key, e.message(), e.sig()))
            .collect();
        keys::verify_batch(&items).unwrap();
    }
    let batch_rate = sample.len() as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for e in sample {
        e.body()
            .issuer
            .key
            .as_dalek()
            .verify_strict(
                e.message(),
                &ed25519_dalek::Signature::from_bytes(&e.sig().to_bytes()),
            )
            .unwrap();
    }
    let strict_rate = sample.len() as f64 / start.elapsed().as_secs_f64();

    // 4. The devnet (release binary): 4 validators, each starting from a copy of the ledger; the
    //    observer's config is written too, for the join run.
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tradelog-node"));
    let opts = DevnetOptions {
        dir: target.join("bench-devnet"),
        api_base: 19100,
        consensus_base: 19200,
        gossip_base: 19300,
        consignments: 0,
        observer: join,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    if ledger_events > 0 {
        for n in nodes.iter().filter(|n| n.validator) {
            copy_dir(&source, &n.dir.join("data").join("ledger"));
        }
    }
    let validators: Vec<_> = nodes.iter().filter(|n| n.validator).cloned().collect();
    let mut children = devnet::spawn(&exe, &validators).unwrap();
    devnet::wait_healthy(&validators, Duration::from_secs(120)).unwrap();
    std::thread::sleep(Duration::from_secs(3)); // let the consensus network settle
    let (h0, size0) = head(&validators[0].api);
    let pids: Vec<u32> = children.iter().map(|c| c.id()).collect();
    let cpu = || pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>();

    // 5. Closed loop: submit a batch to a validator, wait until its last event is committed
    //    there, repeat.
    let queue: Arc<Mutex<VecDeque<Vec<Event>>>> = Arc::new(Mutex::new(
        events.chunks(batch).map(<[Event]>::to_vec).collect(),
    ));
    let latencies = Arc::new(Mutex::new(Vec::<(f64, usize)>::new()));
    let rejected = Arc::new(Mutex::new(0usize));
    let cpu0 = cpu();
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (queue, latencies, rejected) = (queue.clone(), latencies.clone(), rejected.clone());
            let api = validators[c % 4].api.clone();
            std::thread::spawn(move || loop {
                let Some(b) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let t = Instant::now();
                *rejected.lock().unwrap() += post(&api, &b);
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
    let closed_s = started.elapsed().as_secs_f64();
    let closed_cpu = cpu() - cpu0;
    let total = events.len() as u64;
    let saturation = total as f64 / closed_s;
    let mut closed_lat: Vec<f64> = Vec::new();
    for (l, n) in latencies.lock().unwrap().iter() {
        closed_lat.extend(std::iter::repeat_n(*l, *n));
    }
    closed_lat.sort_by(f64::total_cmp);
    let (h1, _) = head(&validators[0].api);

    // 6. Open loop at the offered rate: four senders (one per validator) send a batch every
    //    tick on a fixed schedule; a poller reads each new block of validator 0 and records when
    //    every event was committed.
    let offered = env("OFFERED", (saturation * 0.8) as usize).max(100);
    let (open_events, _) = sign(next_n, offered * open_secs);
    let tick = Duration::from_millis(50);
    let per_tick = (offered as f64 * tick.as_secs_f64() / 4.0).ceil() as usize;
    let seen: Arc<Mutex<HashMap<EventId, Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (api, seen, stop) = (validators[0].api.clone(), seen.clone(), stop.clone());
        std::thread::spawn(move || poll_commits(api, h1, seen, stop))
    };
    let sent: Arc<Mutex<Vec<(EventId, Instant)>>> = Arc::default();
    let open_rejected = Arc::new(Mutex::new(0usize));
    let cpu1 = cpu();
    let open_start = Instant::now();
    let shares: Vec<Vec<Event>> = (0..4)
        .map(|k| open_events.iter().skip(k).step_by(4).cloned().collect())
        .collect();
    let senders: Vec<_> = shares
        .into_iter()
        .zip(&validators)
        .map(|(share, node)| {
            let (api, sent, rejected) = (node.api.clone(), sent.clone(), open_rejected.clone());
            std::thread::spawn(move || {
                for (i, chunk) in share.chunks(per_tick).enumerate() {
                    let due = open_start + tick * i as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let at = Instant::now();
                    *rejected.lock().unwrap() += post(&api, chunk);
                    let mut sent = sent.lock().unwrap();
                    sent.extend(chunk.iter().map(|e| (e.id(), at)));
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let send_s = open_start.elapsed().as_secs_f64();
    let want = sent.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.lock().unwrap().len() < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let open_s = open_start.elapsed().as_secs_f64();
    let open_cpu = cpu() - cpu1;
    stop.store(true, Ordering::Relaxed);
    poller.join().unwrap();
    let mut open_lat: Vec<f64> = {
        let seen = seen.lock().unwrap();
        sent.lock()
            .unwrap()
            .iter()
            .filter_map(|(id, at)| seen.get(id).map(|c| c.duration_since(*at).as_secs_f64()))
            .collect()
    };
    let committed_open = open_lat.len();
    open_lat.sort_by(f64::total_cmp);

    // 7. Every validator has everything, with one log root.
    let (_, size) = head(&validators[0].api);
    let deadline = Instant::now() + Duration::from_secs(60);
    while validators.iter().any(|n| head(&n.api).1 < size) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let roots: Vec<String> = validators
        .iter()
        .map(|n| {
            let (_, b) = http(
                &n.api,
                "GET",
                &format!("/v1/consistency?first={size}&second={size}"),
                None,
            )
            .unwrap();
            serde_json::from_slice::<serde_json::Value>(&b).unwrap()["first_root"]
                .as_str()
                .unwrap_or("-")
                .to_owned()
        })
        .collect();
    let (height, _) = head(&validators[0].api);

    // 8. Join: the observer starts with an empty data dir and catches up from its peers.
    let mut join_line = String::from("not run (JOIN=0)");
    if join {
        let observer = nodes.iter().find(|n| !n.validator).unwrap().clone();
        let cpu_v = cpu();
        let t = Instant::now();
        let mut child = devnet::spawn(&exe, std::slice::from_ref(&observer)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(1800);
        let mut done = 0;
        while Instant::now() < deadline {
            done = head(&observer.api).1;
            if done >= size {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let secs = t.elapsed().as_secs_f64();
        let joiner_cpu = child.first().map_or(0.0, |c| cpu_seconds(c.id()));
        let served_cpu = cpu() - cpu_v;
        join_line = format!(
            "{done} of {size} events in {secs:.1} s = {:.0} events/s (joining node CPU {:.1} s = {:.1} us per event; the 4 serving nodes {:.1} s)",
            done as f64 / secs,
            joiner_cpu,
            joiner_cpu * 1e6 / done.max(1) as f64,
            served_cpu
        );
        children.push(child.pop().unwrap());
    }
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }

    println!(
        "tradelog throughput bench: 4 validators on {} cores, ledger of {size0} events at the start (height {h0})",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("  one core, same events   ZIP-215 batches of 1024: {batch_rate:.0} sig/s; strict single: {strict_rate:.0} sig/s");
    println!(
        "  closed loop             {total} events ({} rejected), {clients} clients x {batch}: {saturation:.0} events/s over {closed_s:.1} s, {} blocks; p50 {:.3} s, p99 {:.3} s (queueing included)",
        rejected.lock().unwrap(),
        h1 - h0,
        percentile(&closed_lat, 50.0),
        percentile(&closed_lat, 99.0)
    );
    println!(
        "                          node CPU {closed_cpu:.1} s = {:.1} us per committed event per node",
        closed_cpu * 1e6 / total as f64 / 4.0
    );
    println!(
        "  open loop               offered {offered} events/s for {send_s:.1} s ({want} sent, {} rejected, {committed_open} committed in {open_s:.1} s)",
        open_rejected.lock().unwrap()
    );
    println!(
        "                          submit-to-commit p50 {:.3} s, p99 {:.3} s, max {:.3} s",
        percentile(&open_lat, 50.0),
        percentile(&open_lat, 99.0),
        open_lat.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "                          node CPU {open_cpu:.1} s = {:.1} us per committed event per node",
        open_cpu * 1e6 / committed_open.max(1) as f64 / 4.0
    );
    println!("  join                    {join_line}");
    println!(
        "  log roots agree         {} (height {height})",
        roots.windows(2).all(|w| w[0] == w[1])
    );
    assert!(
        roots.windows(2).all(|w| w[0] == w[1]),
        "nodes disagree: {roots:?}"
    );
}

//! Scale benchmark of the node's storage: ledgers of 1M, 3M and 10M events (env `SIZES`, comma
//! separated), built once into the target dir and reused. For each size a fresh child process
//! opens the ledger as a node does and measures: open time, RSS after open, disk bytes per event
//! (by part), provenance queries (the route of a random consignment, built and serialized as
//! `GET /v1/consignments/{ucr}/route` serves it) with a cold cache (the node's caches cleared
//! before every query, and the OS page cache dropped first when the process may) and a warm one
//! (the files read once into the OS page cache, as on a running node with the RAM for it, and the
//! node's caches kept),
//! RSS after 1,000 queries, and state-append throughput (log + index, signatures excluded:
//! events signed before the clock starts; blocks of 1,000 events committed with every file
//! synced; the index files read once beforehand, as a running node has them in the OS page
//! cache), after which the appended blocks are rolled back.
//!
//! Run: `cargo bench -p tradelog-tests --bench scale` (env `SIZES`, `QUERIES`, `APPEND`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use tradelog_node::block::Block;
use tradelog_node::devnet::ledger::{self as ledgers, BLOCK};
use tradelog_node::ledger::NodeLedger;
use tradelog_node::store::buckets::Tuning;
use tradelog_node::store::{Store, StoreConfig};
use tradelog_protocol::sample::{sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, Event};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (VmRSS, VmHWM) of this process in MiB.
fn rss() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A deterministic sequence of consignment numbers in `0..n`.
struct Picks(u64);

impl Picks {
    fn next(&mut self, n: u64) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n.max(1)) as u32
    }
}

fn dir_of(events: u64) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-ledger-{events}"))
}

/// Tries to drop the OS page cache (root only); true if it did.
fn drop_os_cache() -> bool {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

fn query_ms(ledger: &NodeLedger, n: u32) -> f64 {
    let t = Instant::now();
    let subject = tradelog_protocol::Subject::Consignment(sample_ucr(n));
    let route = ledger.route(&subject, 0, None).unwrap().unwrap();
    let bytes = serde_json::to_vec(&route).unwrap();
    assert!(bytes.len() > 1000);
    t.elapsed().as_secs_f64() * 1e3
}

/// The measurements of one size, in this (child) process.
fn measure(events: u64, dir: &Path) {
    let net = SampleNetwork::new(4).unwrap();
    let queries = env("QUERIES", 1000);
    let append = env("APPEND", 50_000);
    let consignments = events / 14;
    let cold_os = drop_os_cache();
    let (rss0, _) = rss();
    let config = StoreConfig {
        // No checkpoint while appending, so the appended blocks can be rolled back.
        tuning: Tuning {
            checkpoint_bytes: u64::MAX,
            ..Tuning::default()
        },
        ..StoreConfig::default()
    };
    let t = Instant::now();
    let (ledger, opened) = NodeLedger::open(net.genesis.clone(), dir, config).unwrap();
    let open_s = t.elapsed().as_secs_f64();
    let (rss_open, _) = rss();
    {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kinds: Vec<String> = status
            .lines()
            .filter(|l| l.starts_with("RssAnon") || l.starts_with("RssFile"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        eprintln!("after open: {}", kinds.join(", "));
    }
    let usage = ledger.store().disk_usage();
    let tip = ledger.store().tip();
    let size = ledger.certified().unwrap().0.log_size;

    // Cold: the node's caches cleared before every query (and the OS cache dropped before the
    // first, when allowed), random consignments.
    let mut picks = Picks(events);
    let mut cold = Vec::new();
    for _ in 0..queries.min(200) {
        ledger.store().clear_caches();
        cold.push(query_ms(&ledger, picks.next(consignments)));
    }
    // The risk-outcome feed (PROTOCOL.md 8i): one request's page of positions read cold (just
    // after the cold queries), then pages at random positions warm, below.
    let filer: tradelog_protocol::OrgId = "shopfast".parse().unwrap();
    let page = tradelog_node::api::customs::MAX_SCAN;
    let feed_page = |from: u64| {
        let t = Instant::now();
        let (found, next) = ledger.outcomes_for(&filer, from, page).unwrap();
        assert_eq!(next, (from + page).min(size));
        assert!(found.is_empty(), "the sample ledgers hold no outcomes");
        t.elapsed().as_secs_f64() * 1000.0
    };
    ledger.store().clear_caches();
    let feed_cold = feed_page(size.saturating_sub(page) / 2);
    // Warm: a running node's files are in the OS page cache (read them once, untimed) and its
    // own caches are kept; random consignments.
    let t_read = Instant::now();
    let mut read_bytes = 0u64;
    for part in ["events", "tiles", "index", "ids", "blocks"] {
        for f in std::fs::read_dir(dir.join(part)).unwrap().flatten() {
            use std::io::Read;
            let mut file = std::fs::File::open(f.path()).unwrap();
            let mut buf = vec![0u8; 1 << 20];
            while let Ok(n) = file.read(&mut buf) {
                if n == 0 {
                    break;
                }
                read_bytes += n as u64;
            }
        }
    }
    eprintln!(
        "  read {read_bytes} bytes of files into the page cache in {:.1} s",
        t_read.elapsed().as_secs_f64()
    );
    let mut warm = Vec::new();
    for _ in 0..queries {
        warm.push(query_ms(&ledger, picks.next(consignments)));
    }
    let mut feed_warm: Vec<f64> = (0..20)
        .map(|_| feed_page(u64::from(picks.next(size.saturating_sub(page)))))
        .collect();
    feed_warm.sort_by(f64::total_cmp);
    cold.sort_by(f64::total_cmp);
    warm.sort_by(f64::total_cmp);
    let (rss_queries, hwm) = rss();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kinds: Vec<String> = status
        .lines()
        .filter(|l| {
            l.starts_with("RssAnon") || l.starts_with("RssFile") || l.starts_with("Threads")
        })
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    eprintln!("after queries: {}", kinds.join(", "));
    let structures_mb = ledger.store().memory_bytes() as f64 / (1 << 20) as f64;

    // State append: pre-signed events of new consignments, then blocks staged and committed
    // (synced), timed; then rolled back.
    let mut fresh: Vec<Event> = Vec::with_capacity(append as usize);
    let mut n = consignments as u32 + 10;
    while (fresh.len() as u64) < append {
        fresh.extend(ledgers::route(&net, n));
        n += 1;
    }
    let keys: Vec<_> = net.validator_keys.iter().take(3).collect();
    let mut time = ledger.certified().unwrap().0.time;
    let t = Instant::now();
    for chunk in fresh.chunks(BLOCK) {
        time = time.max(chunk.iter().map(|e| e.body().time).max().unwrap()) + 1;
        let preview = ledger.stage_unchecked(chunk, time).unwrap();
        let head = preview.head().clone();
        let cert = Certificate::sign(&head, 0, &keys);
        let block = Block {
            head,
            events: chunk.to_vec(),
        };
        ledger.commit(&block, &cert, Some(preview)).unwrap();
    }
    let append_s = t.elapsed().as_secs_f64();
    ledger.store().rollback_for_bench(tip).unwrap();

    let per = |b: u64| b as f64 / size as f64;
    println!(
        "RESULT {{\"events\":{size},\"open_s\":{open_s:.3},\"replayed\":{},\"rss_before_mb\":{rss0:.1},\"rss_open_mb\":{rss_open:.1},\"rss_queries_mb\":{rss_queries:.1},\"hwm_mb\":{hwm:.1},\"index_structures_mb\":{structures_mb:.1},\
\"disk_per_event\":{:.1},\"events_b\":{:.1},\"offsets_b\":{:.1},\"tiles_b\":{:.1},\"index_b\":{:.1},\"index_live_b\":{:.1},\"ids_b\":{:.1},\"ids_live_b\":{:.1},\"blocks_b\":{:.1},\"meta_b\":{:.1},\
\"cold_os\":{cold_os},\"cold_p50\":{:.2},\"cold_p99\":{:.2},\"warm_p50\":{:.2},\"warm_p99\":{:.2},\"append_events_s\":{:.0},\"append_events\":{},\
\"feed_page\":{page},\"feed_cold_ms\":{feed_cold:.1},\"feed_warm_p50_ms\":{:.1},\"feed_warm_max_ms\":{:.1}}}",
        opened.replayed,
        per(usage.total()),
        per(usage.events),
        per(usage.offsets),
        per(usage.tiles),
        per(usage.index.0),
        per(usage.index.1),
        per(usage.ids.0),
        per(usage.ids.1),
        per(usage.blocks),
        per(usage.meta),
        percentile(&cold, 50.0),
        percentile(&cold, 99.0),
        percentile(&warm, 50.0),
        percentile(&warm, 99.0),
        fresh.len() as f64 / append_s,
        fresh.len(),
        percentile(&feed_warm, 50.0),
        percentile(&feed_warm, 100.0),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(p) = args.iter().position(|a| a == "--measure") {
        let events: u64 = args[p + 1].parse().unwrap();
        let dir = args
            .get(p + 2)
            .map_or_else(|| dir_of(events), PathBuf::from);
        measure(events, &dir);
        return;
    }
    // `MIGRATE_FROM=<dir of a first-format ledger> MIGRATE_EVENTS=<its events>`: copy it, open the
    // copy (the one-time migration, timed), then measure it like a built ledger.
    if let Ok(from) = std::env::var("MIGRATE_FROM") {
        let events = env("MIGRATE_EVENTS", 1_000_000);
        let to = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("migrated-{events}"));
        let _ = std::fs::remove_dir_all(&to);
        let status = Command::new("cp")
            .args(["-r", &from])
            .arg(&to)
            .status()
            .unwrap();
        assert!(status.success());
        let net = SampleNetwork::new(4).unwrap();
        let t = Instant::now();
        let (ledger, opened) =
            NodeLedger::open(net.genesis.clone(), &to, StoreConfig::default()).unwrap();
        println!(
            "migrated {} blocks ({events} events) in {:.1} s; head {}",
            opened.height,
            t.elapsed().as_secs_f64(),
            ledger.certified().unwrap().0.hash()
        );
        drop(ledger);
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--measure", &events.to_string()])
            .arg(&to)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        match text.lines().find(|l| l.starts_with("RESULT ")) {
            Some(l) => println!("{}", &l[7..]),
            None => eprintln!("{}", String::from_utf8_lossy(&out.stderr)),
        }
        return;
    }
    let sizes: Vec<u64> = std::env::var("SIZES")
        .unwrap_or_else(|_| "1000000,3000000,10000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let net = SampleNetwork::new(4).unwrap();
    for events in sizes {
        let dir = dir_of(events);
        eprintln!("ledger of {events} events in {} ...", dir.display());
        let built = ledgers::ledger(&net, events, &dir).unwrap();
        if let Some(s) = built.seconds {
            eprintln!(
                "  built in {s:.0} s ({:.0} events/s, signing on a second thread)",
                built.events as f64 / s
            );
        }
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--measure", &events.to_string()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        match text.lines().find(|l| l.starts_with("RESULT ")) {
            Some(l) => println!("{}", &l[7..]),
            None => {
                eprintln!("{}", String::from_utf8_lossy(&out.stderr));
                panic!("measurement of {events} failed");
            }
        }
    }
}

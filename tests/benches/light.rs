//! Light-client benchmark on a ledger of EVENTS (default 1,000,000) events served by a real node
//! API over loopback HTTP: time to query and fully verify a consignment with 20 events (its route
//! with its container), proof bytes per event, and full-audit speed in events/s.
//! Run: `cargo bench -p tradelog-tests --bench light` (env EVENTS, QUERIES). The ledger is built
//! once into the target dir and reused by later runs of the same size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tradelog_client::audit::audit;
use tradelog_client::light::LightClient;
use tradelog_node::api::{serve, ApiState};
use tradelog_node::chain::Chain;
use tradelog_node::devnet::ledger::{self as ledgers, TARGET};
use tradelog_node::metrics::Metrics;
use tradelog_node::store::StoreConfig;
use tradelog_protocol::sample::{sample_ucr, SampleNetwork};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system) this process used so far, from `/proc/self/stat` (0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Clock ticks per second: 100 on Linux (USER_HZ).
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let events = env("EVENTS", 1_000_000);
    let queries = env("QUERIES", 50);
    let net = SampleNetwork::new(4).unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-ledger-{events}"));
    eprintln!("ledger of {events} events in {} ...", dir.display());
    let built = ledgers::ledger(&net, events as u64, &dir).unwrap();
    if let Some(s) = built.seconds {
        eprintln!("  built in {s:.0} s");
    }
    let total = built.events;

    let opened = Instant::now();
    let (chain, _) = Chain::open(net.genesis.clone(), &dir, 1000, StoreConfig::default()).unwrap();
    eprintln!(
        "node opened the ledger in {:.2} s",
        opened.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = ApiState {
        chain: chain.clone(),
        metrics: Arc::new(Metrics::new()),
        accepted: None,
        // The bench asks as fast as it can from one address: no rate limit.
        limits: tradelog_node::api::Limits {
            rate_per_sec: u32::MAX,
            burst: u32::MAX,
            ..Default::default()
        },
        trs: Default::default(),
        cors: Default::default(),
        fatal: Default::default(),
        access: Default::default(),
    };
    rt.spawn(serve(listener, state, std::future::pending()));

    // Query + verify, each with a fresh client (nothing cached).
    let ucr = sample_ucr(TARGET);
    let mut times = Vec::new();
    let (mut route_events, mut own, mut bytes, mut event_bytes) = (0, 0, 0, 0);
    for _ in 0..=queries {
        let t = Instant::now();
        let mut client = LightClient::new(net.genesis.clone(), &url).unwrap();
        let (mut pages, route) = client.route_bundle(&ucr).unwrap();
        let bundle = pages.remove(0);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        own = route.consignment.events.len();
        route_events = bundle.consignment.events.len()
            + bundle
                .containers
                .iter()
                .map(|c| c.events.len())
                .sum::<usize>();
        bytes = serde_json::to_vec(&bundle).unwrap().len();
        event_bytes = std::iter::once(&bundle.consignment)
            .chain(&bundle.containers)
            .flat_map(|b| &b.events)
            .map(|pe| pe.event.to_json().len())
            .sum::<usize>();
    }
    times.remove(0); // warm-up
    times.sort_by(f64::total_cmp);
    // Verification alone, on the same bundle.
    let client = LightClient::new(net.genesis.clone(), &url).unwrap();
    let mut c2 = client;
    let (pages, _) = c2.route_bundle(&ucr).unwrap();
    let t = Instant::now();
    for _ in 0..queries {
        tradelog_protocol::route::verify_pages(&pages, &net.genesis).unwrap();
    }
    let verify_ms = t.elapsed().as_secs_f64() * 1e3 / queries as f64;
    // The consignment's own proof bundle, to size proofs per event.
    let single = c2
        .endpoint()
        .get(&format!("/v1/consignments/{ucr}"))
        .unwrap()
        .body
        .len();

    println!("light client on a ledger of {total} events (disk store, node API on loopback, 2 API worker threads)");
    println!(
        "  provenance of {ucr}: {own} own events + container = {route_events} proven events; query+verify over {queries} fresh clients: p50 {:.2} ms, p99 {:.2} ms; verify alone {verify_ms:.2} ms",
        percentile(&times, 50.0),
        percentile(&times, 99.0)
    );
    println!(
        "  proof size: route bundle {bytes} B = {} B per proven event, of which the events themselves {} B and proofs (inclusion paths, heads, certificates, index proofs) {} B; consignment bundle alone {single} B = {} B per event",
        bytes / route_events.max(1),
        event_bytes / route_events.max(1),
        (bytes - event_bytes) / route_events.max(1),
        single / own.max(1)
    );

    // Full audit through the API.
    let mut client = LightClient::new(net.genesis.clone(), &url).unwrap();
    let cpu_before = cpu_seconds();
    let report = audit(&mut client, |_, _, _| {}).unwrap();
    let cpu = cpu_seconds() - cpu_before;
    println!(
        "  audit: {} blocks, {} events in {:.1} s = {:.0} events/s (replay thread busy {:.1} s; CPU of client and server {:.1} s = {:.1} us per event; {} fetch/verify workers)",
        report.blocks,
        report.events,
        report.seconds,
        report.events as f64 / report.seconds,
        report.replay_seconds,
        cpu,
        cpu * 1e6 / report.events.max(1) as f64,
        std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8)
    );
    rt.shutdown_background();
}

//! `tradelog-node devnet`: a 4-validator network plus an observer on this machine, as real
//! processes, loaded with sample consignments from three carriers, a platform and two customs
//! administrations.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tradelog_protocol::sample::{self, consignment_route, dev_key, SampleNetwork, SAMPLE_ORGS};
use tradelog_protocol::{Event, SecretKey};

use crate::config::Config;

pub mod ledger;

/// Devnet layout and load.
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    /// Root directory (wiped of previous node data).
    pub dir: PathBuf,
    /// First HTTP port; node i listens on base + i.
    pub api_base: u16,
    /// First consensus port.
    pub consensus_base: u16,
    /// First gossip port.
    pub gossip_base: u16,
    /// Sample consignments to load (about 15 events each).
    pub consignments: u32,
    /// Also run the auditor's observer node.
    pub observer: bool,
}

/// One node of the devnet.
#[derive(Debug, Clone)]
pub struct DevnetNode {
    /// Name.
    pub moniker: String,
    /// Node directory.
    pub dir: PathBuf,
    /// HTTP address.
    pub api: String,
    /// Validator (or observer).
    pub validator: bool,
}

fn write_key(path: &Path, key: &SecretKey) -> Result<()> {
    let _ = std::fs::remove_file(path);
    crate::keyfile::write(path, key)?;
    Ok(())
}

/// Writes genesis, keys and configs for 4 validators (and the observer) under `opts.dir`.
pub fn prepare(opts: &DevnetOptions) -> Result<Vec<DevnetNode>> {
    let net = SampleNetwork::new(4).context("sample network")?;
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("cannot create {}", opts.dir.display()))?;
    let genesis = serde_json::to_string_pretty(&net.genesis)?;
    // The organisations' (insecure, publicly derived) event keys, for trying the CLI: signing
    // events and membership changes (README).
    let keys = opts.dir.join("keys");
    std::fs::create_dir_all(&keys)?;
    for (org, key) in &net.org_keys {
        write_key(&keys.join(format!("{org}.key")), key)?;
    }
    // Nodes: the four validator organisations, then the auditor as an observer.
    let mut members: Vec<(String, SecretKey, bool)> = SAMPLE_ORGS
        .iter()
        .zip(&net.validator_keys)
        .map(|((id, _, _), k)| (id.to_string(), k.clone(), true))
        .collect();
    if opts.observer {
        members.push(("eu-audit".into(), dev_key("org/eu-audit"), false));
    }
    let n = members.len() as u16;
    let addr = |base: u16, i: u16| format!("/ip4/127.0.0.1/tcp/{}", base + i);
    let mut nodes = Vec::new();
    for (i, (name, key, validator)) in members.into_iter().enumerate() {
        let i = i as u16;
        let dir = opts.dir.join(&name);
        let _ = std::fs::remove_dir_all(dir.join("data"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("genesis.json"), &genesis)?;
        write_key(&dir.join("node.key"), &key)?;
        let mut c = Config {
            moniker: name.clone(),
            ..Config::default()
        };
        c.api.listen = format!("127.0.0.1:{}", opts.api_base + i);
        // The devnet is a demo: its reads stay open (explorer, SDK samples without keys).
        c.api.read_access = crate::config::ReadAccess::Open;
        // Every devnet client (tests, load, the throughput bench) is 127.0.0.1: one rate-limit
        // bucket for all of them, so the limit is raised (not switched off) here.
        c.api.rate_limit_per_sec = 100_000;
        c.api.rate_limit_burst = 100_000;
        // Likewise one address holds every connection: no per-address cap below the global one.
        c.api.max_connections_per_ip = c.api.max_connections;
        // The throughput bench drives the devnet as fast as it goes with the sample
        // organisations: their admission quotas are raised (not switched off) too.
        c.admission.org_events_per_sec = 1_000_000;
        c.admission.org_burst_events = 1_000_000;
        c.admission.org_bytes_per_sec = 1 << 30;
        c.admission.org_burst_bytes = 1 << 30;
        c.admission.org_max_pending = c.gossip.mempool_capacity;
        c.consensus.listen = addr(opts.consensus_base, i);
        c.consensus.peers = (0..n)
            .filter(|j| *j != i)
            .map(|j| addr(opts.consensus_base, j))
            .collect();
        c.consensus.propose_timeout_ms = 500;
        c.consensus.vote_timeout_ms = 300;
        c.consensus.sync_interval_ms = 1000;
        c.gossip.listen = addr(opts.gossip_base, i);
        c.gossip.peers = (0..n)
            .filter(|j| *j != i)
            .map(|j| addr(opts.gossip_base, j))
            .collect();
        std::fs::write(dir.join("config.toml"), c.to_toml())?;
        nodes.push(DevnetNode {
            moniker: name,
            dir,
            api: c.api.listen.clone(),
            validator,
        });
    }
    Ok(nodes)
}

/// Starts `exe run --config <node>/config.toml` for every node, logging to `<node>/node.log`.
pub fn spawn(exe: &Path, nodes: &[DevnetNode]) -> Result<Vec<Child>> {
    let mut children = Vec::new();
    for node in nodes {
        let log = std::fs::File::create(node.dir.join("node.log"))?;
        let child = Command::new(exe)
            .arg("run")
            .arg("--config")
            .arg(node.dir.join("config.toml"))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {}", node.moniker))?;
        children.push(child);
    }
    Ok(children)
}

/// A minimal HTTP/1.1 request (the devnet talks to its own nodes on loopback only).
pub fn http(addr: &str, method: &str, path: &str, body: Option<&[u8]>) -> Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or(&[]);
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("malformed HTTP response")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("malformed HTTP status")?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..pos]).trim(), 16).unwrap_or(0);
        if size == 0 || b.len() < pos + 2 + size {
            break;
        }
        out.extend_from_slice(&b[pos + 2..pos + 2 + size]);
        b = &b[(pos + 4 + size).min(b.len())..];
    }
    out
}

/// Waits until every node answers `/health`.
pub fn wait_healthy(nodes: &[DevnetNode], timeout: Duration) -> Result<()> {
    let start = Instant::now();
    for n in nodes {
        loop {
            if matches!(http(&n.api, "GET", "/health", None), Ok((200, _))) {
                break;
            }
            if start.elapsed() > timeout {
                bail!(
                    "{} did not become healthy; see {}",
                    n.moniker,
                    n.dir.join("node.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

/// Log size of a node's latest certified head (0 if none yet).
pub fn log_size(api: &str) -> u64 {
    match http(api, "GET", "/v1/head", None) {
        Ok((200, body)) => serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["head"]["log_size"].as_u64())
            .unwrap_or(0),
        _ => 0,
    }
}

/// Submits the sample consignments' events, each to a node of its issuer's choice (round robin),
/// and waits until every node has committed them. Returns the number of events.
pub fn load(
    nodes: &[DevnetNode],
    consignments: u32,
    start_ms: u64,
    timeout: Duration,
) -> Result<u64> {
    let net = SampleNetwork::new(4).context("sample network")?;
    let mut events = Vec::new();
    for n in 0..consignments {
        events.extend(
            consignment_route(&net, n, start_ms + u64::from(n) * 60_000).context("sample route")?,
        );
    }
    load_events(nodes, events, timeout)
}

/// The devnet's customs sample (`tradelog-node devnet`): the AEO and arrangement records of
/// `tradelog_protocol::sample::customs_records`, then `consignments` routes with advance data,
/// risk outcomes and durations that vary (`sample::customs_route`), their starts spread evenly
/// over 30 days from `start_ms` (at most 2 days apart), so releases fall in more than one month.
/// A route takes at most 40 days: `start_ms` 75 days ago keeps every event in the past.
pub fn customs_sample(consignments: u32, start_ms: u64) -> Result<Vec<Event>> {
    let net = SampleNetwork::new(4).context("sample network")?;
    let mut events = sample::customs_records(&net, start_ms).context("sample records")?;
    let day = 86_400_000u64;
    let spacing = (30 * day / u64::from(consignments.max(1))).min(2 * day);
    for n in 0..consignments {
        events.extend(
            sample::customs_route(&net, n, start_ms + u64::from(n) * spacing)
                .context("sample route")?,
        );
    }
    Ok(events)
}

/// Submits `events` in time order, each to a node (round robin), and waits until every node has
/// committed them. Returns the number of events.
pub fn load_events(nodes: &[DevnetNode], mut events: Vec<Event>, timeout: Duration) -> Result<u64> {
    events.sort_by_key(|e| e.body().time);
    for (i, e) in events.iter().enumerate() {
        let node = &nodes[i % nodes.len()];
        let (status, body) = http(
            &node.api,
            "POST",
            "/v1/events",
            Some(e.to_json().as_bytes()),
        )?;
        if !(200..300).contains(&status) {
            bail!(
                "{} refused a sample event ({status}): {}",
                node.moniker,
                String::from_utf8_lossy(&body)
            );
        }
    }
    let want = events.len() as u64;
    let start = Instant::now();
    while nodes.iter().any(|n| log_size(&n.api) < want) {
        if start.elapsed() > timeout {
            bail!("sample events not committed on every node within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(want)
}

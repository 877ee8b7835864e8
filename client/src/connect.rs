//! `tradelog connect dcsa`: a carrier's Track & Trace feed anchored on the ledger as a service.
//!
//! Notifications arrive by the DCSA subscription callback (`POST` of a list of events to
//! `--listen`, optionally HMAC-signed) and/or by polling a T&T events endpoint with a cursor.
//! Each received document is first written to a durable *outbox* (a file written, synced and
//! renamed into `DIR/outbox/` before the sender answers 2xx or the poller moves its cursor), then
//! mapped ([`crate::standards::dcsa`]), signed and submitted in one batch; its file is removed
//! only once the node has answered every item and every admitted event is committed (a node
//! killed before its block loses its mempool, so "admitted" is not enough). A crash or `kill -9` of the connector or of the
//! node loses nothing: the next start resends what is in the outbox, and resending is
//! idempotent (the same document maps to the same bodies, Ed25519 signatures are deterministic,
//! so the node answers 200 for events it has; a feed re-delivering an event, serialised
//! differently, is answered with the first by its source id, PROTOCOL.md 8e).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tradelog_protocol::SecretKey;

use crate::http::Endpoint;
use crate::standards::dcsa::{self, DcsaOptions, DcsaVersion};
use crate::standards::ImportTarget;

/// Largest notification body accepted (checked before reading it).
pub const MAX_NOTIFICATION_BYTES: usize = 16 << 20;
/// Largest request head (request line and headers).
const MAX_HEAD_BYTES: usize = 16 << 10;
/// Connections served at once; beyond, a new one is answered 503 and closed.
const MAX_CONNECTIONS: usize = 32;
/// A client has this long to send its request, and to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Events per batch sent to the node (its limit is 1000).
const BATCH: usize = 500;
/// Answers that say "try again later": the document stays in the outbox.
const RETRY_CODES: [&str; 6] = [
    "mempool_full",
    "rate_limited",
    "unavailable",
    "no_certified_head",
    "storage",
    // A retraction whose event is not committed yet (PROTOCOL.md 8g).
    "invalid_retraction",
];
/// A document whose items are refused for a retryable reason is given up after this many
/// attempts (its refusals are then recorded like permanent ones).
const MAX_ATTEMPTS: u32 = 20;
/// How long admitted events may take to be committed before the document is submitted again.
const COMMIT_WAIT: Duration = Duration::from_secs(60);
/// An admitted event the node has not known for this long is taken as lost and submitted again.
const LOST_AFTER: Duration = Duration::from_secs(5);

/// What the connector does.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node events are submitted to.
    pub node: Endpoint,
    /// The importing organisation's event key.
    pub key: SecretKey,
    /// Chain and issuer of the events.
    pub target: ImportTarget,
    /// How the UCR is found (optional: events are recorded under their B/L, booking and
    /// equipment otherwise).
    pub opts: DcsaOptions,
    /// The DCSA version of notifications, when their structure does not tell.
    pub version: Option<DcsaVersion>,
    /// The data directory (outbox, cursor, refused items).
    pub dir: PathBuf,
    /// Where to receive subscription callbacks, if at all (`host:port`).
    pub listen: Option<String>,
    /// The callback path.
    pub callback_path: String,
    /// The shared secret of the subscription: callbacks must carry
    /// `Notification-Signature: sha256=<hex HMAC-SHA256 of the body>`.
    pub secret: Option<Vec<u8>>,
    /// A T&T events endpoint to poll, and its path (`/v3/events?...`).
    pub poll: Option<(Endpoint, String)>,
    /// Time between polls when the feed has no next page.
    pub interval: Duration,
}

/// Counters, served at `GET /metrics` of the listener (Prometheus text format).
#[derive(Debug, Default)]
pub struct Metrics {
    received: AtomicU64,
    rejected: AtomicU64,
    polled: AtomicU64,
    submitted: AtomicU64,
    refused: AtomicU64,
    skipped: AtomicU64,
    retries: AtomicU64,
    pending: AtomicU64,
    last_success_ms: AtomicU64,
}

impl Metrics {
    fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let rows = [
            (
                "tradelog_connector_notifications_received_total",
                "counter",
                "Callback documents written to the outbox.",
                get(&self.received),
            ),
            (
                "tradelog_connector_notifications_rejected_total",
                "counter",
                "Callback requests refused (size, signature, JSON).",
                get(&self.rejected),
            ),
            (
                "tradelog_connector_pages_polled_total",
                "counter",
                "Polled pages written to the outbox.",
                get(&self.polled),
            ),
            (
                "tradelog_connector_events_submitted_total",
                "counter",
                "Ledger events the node admitted or already had.",
                get(&self.submitted),
            ),
            (
                "tradelog_connector_events_refused_total",
                "counter",
                "Ledger events the node refused for good (DIR/refused.jsonl).",
                get(&self.refused),
            ),
            (
                "tradelog_connector_source_events_skipped_total",
                "counter",
                "Source events the mapping skipped (DIR/refused.jsonl).",
                get(&self.skipped),
            ),
            (
                "tradelog_connector_retries_total",
                "counter",
                "Submissions retried (node down, busy, or an event not yet committed).",
                get(&self.retries),
            ),
            (
                "tradelog_connector_outbox_documents",
                "gauge",
                "Documents in the outbox, not yet answered by the node.",
                get(&self.pending),
            ),
            (
                "tradelog_connector_last_success_timestamp_ms",
                "gauge",
                "When the node last answered a whole document.",
                get(&self.last_success_ms),
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, v) in rows {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        }
        out
    }
}

/// Why the connector stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The data directory or a file in it.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConnectError + '_ {
    move |source| ConnectError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The durable queue of received documents: `DIR/outbox/<seq>.json`, oldest first.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    next: Mutex<u64>,
}

impl Outbox {
    /// Opens (or creates) the outbox under `dir`, removing files a crash left half-written.
    pub fn open(dir: &Path) -> Result<Outbox, ConnectError> {
        let dir = dir.join("outbox");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut next = 0;
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let path = entry.map_err(io(&dir))?.path();
            match seq_of(&path) {
                Some(n) => next = next.max(n + 1),
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        Ok(Outbox {
            dir,
            next: Mutex::new(next),
        })
    }

    /// Writes a document durably (synced file, then renamed into place, then the directory
    /// synced); only then may its receipt be acknowledged.
    pub fn put(&self, bytes: &[u8]) -> Result<u64, ConnectError> {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let seq = *next;
        write_atomic(&self.dir.join(format!("{seq:020}.json")), bytes)?;
        *next = seq + 1;
        Ok(seq)
    }

    /// The documents waiting, oldest first.
    pub fn pending(&self) -> Result<Vec<PathBuf>, ConnectError> {
        let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(&self.dir)
            .map_err(io(&self.dir))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter_map(|p| Some((seq_of(&p)?, p)))
            .collect();
        out.sort();
        Ok(out.into_iter().map(|(_, p)| p).collect())
    }

    /// Removes an answered document.
    pub fn done(&self, path: &Path) -> Result<(), ConnectError> {
        std::fs::remove_file(path).map_err(io(path))?;
        sync_dir(&self.dir)
    }
}

fn seq_of(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".json")?.parse().ok()
}

fn sync_dir(dir: &Path) -> Result<(), ConnectError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// Writes `bytes` to `path` atomically and durably.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ConnectError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(d) = path.parent() {
        sync_dir(d)?;
    }
    Ok(())
}

/// The source events the connector imported, by event id, with their first ledger body
/// (`DIR/sources.jsonl`, one `{"id", "body"}` per line, appended and synced): a later DCSA 3.0
/// retraction names its event by id only. At most [`MAX_KNOWN`] are held in memory.
#[derive(Debug, Default)]
struct Known {
    map: std::collections::HashMap<String, tradelog_protocol::EventBody>,
}

/// Most source events remembered for retractions.
const MAX_KNOWN: usize = 1_000_000;

impl Known {
    fn load(dir: &Path) -> Known {
        let mut k = Known::default();
        let Ok(text) = std::fs::read_to_string(dir.join("sources.jsonl")) else {
            return k;
        };
        for line in text.lines() {
            // A torn last line (a crash while appending) is skipped.
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let (Some(id), Ok(body)) = (
                v["id"].as_str(),
                serde_json::from_value::<tradelog_protocol::EventBody>(v["body"].clone()),
            ) else {
                continue;
            };
            if k.map.len() < MAX_KNOWN {
                k.map.insert(id.to_owned(), body);
            }
        }
        k
    }

    fn add(&mut self, dir: &Path, id: &str, body: &tradelog_protocol::EventBody) {
        if self.map.contains_key(id) || self.map.len() >= MAX_KNOWN {
            return;
        }
        self.map.insert(id.to_owned(), body.clone());
        append_line(
            &dir.join("sources.jsonl"),
            &serde_json::json!({"id": id, "body": body}),
        );
    }
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Runs the connector until `stop` is set (never, for the command): the listener and poller
/// threads feed the outbox, this thread drains it.
pub fn run(cfg: Config, stop: Arc<AtomicBool>, metrics: Arc<Metrics>) -> Result<(), ConnectError> {
    std::fs::create_dir_all(&cfg.dir).map_err(io(&cfg.dir))?;
    let outbox = Arc::new(Outbox::open(&cfg.dir)?);
    let left = outbox.pending()?.len();
    eprintln!(
        "connect: outbox {} ({left} documents waiting), node {}",
        cfg.dir.join("outbox").display(),
        cfg.node
    );
    if let Some(addr) = &cfg.listen {
        let listener = TcpListener::bind(addr).map_err(|source| ConnectError::Io {
            path: format!("--listen {addr}"),
            source,
        })?;
        eprintln!(
            "connect: receiving DCSA notifications at http://{}{}",
            listener
                .local_addr()
                .map_or_else(|_| addr.clone(), |a| a.to_string()),
            cfg.callback_path
        );
        let (outbox, metrics, cfg2) = (outbox.clone(), metrics.clone(), cfg.clone());
        std::thread::spawn(move || serve(listener, &cfg2, &outbox, &metrics));
    }
    if let Some((endpoint, path)) = cfg.poll.clone() {
        let (outbox, metrics, dir, stop) = (
            outbox.clone(),
            metrics.clone(),
            cfg.dir.clone(),
            stop.clone(),
        );
        let interval = cfg.interval;
        std::thread::spawn(move || {
            poll(&endpoint, &path, &dir, interval, &outbox, &metrics, &stop)
        });
    }
    let mut attempts: std::collections::HashMap<PathBuf, u32> = Default::default();
    let mut known = Known::load(&cfg.dir);
    let mut backoff = Duration::from_millis(200);
    while !stop.load(Ordering::Relaxed) {
        let pending = outbox.pending()?;
        metrics
            .pending
            .store(pending.len() as u64, Ordering::Relaxed);
        let Some(path) = pending.into_iter().next() else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let n = attempts.entry(path.clone()).or_insert(0);
        *n += 1;
        match send(&cfg, &path, &metrics, *n >= MAX_ATTEMPTS, &mut known) {
            Ok(()) => {
                outbox.done(&path)?;
                attempts.remove(&path);
                metrics
                    .last_success_ms
                    .store(crate::time::now_ms(), Ordering::Relaxed);
                backoff = Duration::from_millis(200);
            }
            Err(why) => {
                metrics.retries.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "connect: {}: {why}; retrying in {} ms",
                    path.display(),
                    backoff.as_millis()
                );
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
    Ok(())
}

/// Appends a line to `DIR/refused.jsonl` (synced): what was refused for good, and why.
fn record_refused(dir: &Path, line: &serde_json::Value) {
    append_line(&dir.join("refused.jsonl"), line);
}

/// Appends `line` and a newline to `path`, synced; a failure is logged (the record is advisory:
/// the outbox, not these files, is what must not lose anything).
fn append_line(path: &Path, line: &serde_json::Value) {
    let r = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| {
            f.write_all(format!("{line}\n").as_bytes())?;
            f.sync_all()
        });
    if let Err(e) = r {
        eprintln!("connect: cannot write {}: {e}", path.display());
    }
}

/// Maps, signs and submits one outbox document. `Ok` once the node answered every item for
/// good (admitted, known, or refused for a reason retrying cannot change, or `give_up`); `Err`
/// to keep the document and try again.
fn send(
    cfg: &Config,
    path: &Path,
    metrics: &Metrics,
    give_up: bool,
    known: &mut Known,
) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let imported = match dcsa::import_each_known(
        &bytes,
        &cfg.target,
        &cfg.opts,
        cfg.version,
        &known.map,
    ) {
        Ok(i) => i,
        Err(e) => {
            // Not a DCSA document at all: retrying changes nothing.
            record_refused(
                &cfg.dir,
                &serde_json::json!({"document": path.file_name().and_then(|n| n.to_str()), "refused": e.to_string()}),
            );
            metrics.skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
    };
    for line in imported.report_lines() {
        if line.starts_with("skipped") {
            metrics.skipped.fetch_add(1, Ordering::Relaxed);
            record_refused(
                &cfg.dir,
                &serde_json::json!({"document": path.file_name().and_then(|n| n.to_str()), "skipped": line}),
            );
        }
    }
    let events = imported
        .bodies
        .iter()
        .map(|b| {
            b.clone()
                .sign(&cfg.key)
                .map_err(|e| format!("cannot sign: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut retry = false;
    let mut admitted: Vec<tradelog_protocol::EventId> = Vec::new();
    for chunk in events.chunks(BATCH) {
        let body = format!(
            "[{}]",
            chunk
                .iter()
                .map(|e| e.to_json())
                .collect::<Vec<_>>()
                .join(",")
        );
        let r = cfg
            .node
            .post_json("/v1/events/batch", body.as_bytes())
            .map_err(|e| format!("node: {e}"))?;
        if r.status != 200 {
            return Err(format!(
                "node answered {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&r.body).map_err(|e| format!("node answer: {e}"))?;
        let results = v["results"]
            .as_array()
            .ok_or("node answer has no results")?;
        for (e, r) in chunk.iter().zip(results) {
            match r["error"]["code"].as_str() {
                None => {
                    metrics.submitted.fetch_add(1, Ordering::Relaxed);
                    // The id the node keeps (the first of a repeated source, 8e).
                    let kept = r["id"]
                        .as_str()
                        .and_then(|h| h.parse::<tradelog_protocol::EventId>().ok())
                        .unwrap_or_else(|| e.id());
                    admitted.push(kept);
                }
                Some(code) if RETRY_CODES.contains(&code) && !give_up => retry = true,
                Some(code) => {
                    metrics.refused.fetch_add(1, Ordering::Relaxed);
                    record_refused(
                        &cfg.dir,
                        &serde_json::json!({"document": path.file_name().and_then(|n| n.to_str()), "event": e.id(), "code": code, "message": r["error"]["message"]}),
                    );
                }
            }
        }
    }
    if retry {
        return Err("the node asked to retry some events later".into());
    }
    // Admitted is not yet committed: a node killed before its block loses its mempool. The
    // document leaves the outbox only once every admitted event is in a committed block.
    let submitted = Instant::now();
    let deadline = submitted + COMMIT_WAIT;
    let mut waiting: Vec<String> = admitted.iter().map(|id| id.to_hex()).collect();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for id in waiting {
            let r = cfg
                .node
                .get(&format!("/v1/events/{id}"))
                .map_err(|e| format!("node: {e} (submitting again)"))?;
            if r.status == 404 && submitted.elapsed() > LOST_AFTER {
                // The node lost it (restarted before its block): submit again now. (Right
                // after admission an event in a block being committed may be in neither the
                // mempool nor the store for a moment, hence the grace.)
                return Err(format!(
                    "event {id} is no longer known to the node (submitting again)"
                ));
            }
            let committed = (r.status == 200)
                .then(|| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
                .flatten()
                .is_some_and(|v| v["status"] == "committed");
            if !committed {
                still.push(id);
            }
        }
        waiting = still;
        if waiting.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} admitted events not committed after {} s (submitting again)",
                waiting.len(),
                COMMIT_WAIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // What later retractions need (a DCSA 3.0 retraction carries no payload): the first body of
    // each imported source event, kept once its events are committed.
    for ev in &imported.events {
        if let (Some(id), crate::standards::Outcome::Imported(r)) = (&ev.source_id, &ev.outcome) {
            if let Some(b) = events.get(r.start).map(|e| e.body()) {
                known.add(&cfg.dir, id, b);
            }
        }
    }
    eprintln!(
        "connect: {}: {} source events, {} ledger events answered",
        path.display(),
        imported.events.len(),
        events.len()
    );
    Ok(())
}

/// Polls a T&T events endpoint: each page with events goes to the outbox, then the cursor the
/// page gave (`Next-Page-Cursor`, DCSA 3.0; or the `cursor` of a 2.2 `Next-Page` URL) is saved
/// (`DIR/cursor`), so a restart resumes after the last page kept.
fn poll(
    endpoint: &Endpoint,
    path: &str,
    dir: &Path,
    interval: Duration,
    outbox: &Outbox,
    metrics: &Metrics,
    stop: &AtomicBool,
) {
    let cursor_file = dir.join("cursor");
    while !stop.load(Ordering::Relaxed) {
        let cursor = std::fs::read_to_string(&cursor_file).ok();
        let url = match &cursor {
            Some(c) if !c.is_empty() => {
                let sep = if path.contains('?') { '&' } else { '?' };
                format!("{path}{sep}cursor={}", crate::light::segment(c.trim()))
            }
            _ => path.to_owned(),
        };
        let next = match endpoint.get(&url) {
            Ok(r) if r.status == 200 => {
                let is_list = serde_json::from_slice::<serde_json::Value>(&r.body)
                    .ok()
                    .and_then(|v| v.as_array().map(Vec::len));
                match is_list {
                    Some(0) => {}
                    Some(_) => match outbox.put(&r.body) {
                        Ok(_) => {
                            metrics.polled.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            eprintln!("connect: poll: {e}");
                            std::thread::sleep(interval);
                            continue;
                        }
                    },
                    None => eprintln!("connect: poll {url}: the answer is not a JSON list"),
                }
                r.header("next-page-cursor").map(str::to_owned).or_else(|| {
                    let u = r.header("next-page")?;
                    let q = u.split_once('?')?.1;
                    q.split('&')
                        .find_map(|kv| kv.strip_prefix("cursor="))
                        .map(str::to_owned)
                })
            }
            Ok(r) => {
                eprintln!("connect: poll {url}: {}", r.status);
                None
            }
            Err(e) => {
                eprintln!("connect: poll {url}: {e}");
                None
            }
        };
        match next {
            Some(c) => {
                if let Err(e) = write_atomic(&cursor_file, c.as_bytes()) {
                    eprintln!("connect: poll: {e}");
                }
            }
            None => std::thread::sleep(interval),
        }
    }
}

/// The callback listener: one thread per connection, at most [`MAX_CONNECTIONS`].
fn serve(listener: TcpListener, cfg: &Config, outbox: &Arc<Outbox>, metrics: &Arc<Metrics>) {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::SeqCst);
            let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
            let _ = answer(&mut stream, 503, "too_many_connections", "try again later");
            continue;
        }
        let (open, outbox, metrics, cfg) =
            (open.clone(), outbox.clone(), metrics.clone(), cfg.clone());
        std::thread::spawn(move || {
            let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
            let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
            handle(&mut stream, &cfg, &outbox, &metrics);
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

fn answer(stream: &mut TcpStream, status: u16, code: &str, message: &str) -> std::io::Result<()> {
    let body = if status == 204 {
        String::new()
    } else {
        serde_json::json!({"error": {"code": code, "message": message}}).to_string()
    };
    let reason = match status {
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn handle(stream: &mut TcpStream, cfg: &Config, outbox: &Outbox, metrics: &Metrics) {
    let started = Instant::now();
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut r = BufReader::new(clone);
    let mut head = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = match (&mut r)
            .take((MAX_HEAD_BYTES - head.len().min(MAX_HEAD_BYTES)) as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(n) => n,
            Err(_) => {
                let _ = answer(stream, 408, "timeout", "the request did not arrive in time");
                return;
            }
        };
        head.extend_from_slice(&line);
        if n == 0 || head.len() > MAX_HEAD_BYTES || started.elapsed() > IO_TIMEOUT {
            let _ = answer(stream, 400, "bad_request", "request head too large or cut");
            return;
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        if text.is_empty() {
            break;
        }
        lines.push(text);
    }
    let request_line = lines.first().cloned().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let header = |name: &str| {
        lines[1..].iter().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    match (method, target) {
        ("GET", "/metrics") => {
            let body = metrics.render();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return;
        }
        ("GET", "/health") => {
            let body = r#"{"status":"ok"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return;
        }
        ("POST", t) if t == cfg.callback_path => {}
        ("HEAD", t) if t == cfg.callback_path => {
            // DCSA subscriptions check the callback URL with HEAD.
            let _ = answer(stream, 204, "", "");
            return;
        }
        _ => {
            let _ = answer(stream, 404, "no_route", &format!("{method} {target}"));
            return;
        }
    }
    let reject = |stream: &mut TcpStream, status: u16, code: &str, message: &str| {
        metrics.rejected.fetch_add(1, Ordering::Relaxed);
        let _ = answer(stream, status, code, message);
    };
    let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) else {
        return reject(stream, 411, "length_required", "Content-Length: required");
    };
    if len > MAX_NOTIFICATION_BYTES {
        return reject(
            stream,
            413,
            "too_large",
            &format!("the body is {len} bytes, the limit is {MAX_NOTIFICATION_BYTES}"),
        );
    }
    let mut body = Vec::new();
    if r.take(len as u64).read_to_end(&mut body).is_err() || body.len() != len {
        return reject(stream, 408, "timeout", "the body did not arrive in time");
    }
    if let Some(secret) = &cfg.secret {
        let want = hex::encode(hmac_sha256(secret, &body));
        let got = header("notification-signature").unwrap_or_default();
        let got = got
            .strip_prefix("sha256=")
            .unwrap_or(&got)
            .to_ascii_lowercase();
        // Compared in full, whatever the first difference (no early exit).
        let same = got.len() == want.len()
            && got
                .bytes()
                .zip(want.bytes())
                .fold(0u8, |d, (a, b)| d | (a ^ b))
                == 0;
        if !same {
            return reject(
                stream,
                401,
                "signature_invalid",
                "Notification-Signature: not the HMAC-SHA256 of the body with the subscription secret",
            );
        }
    }
    if serde_json::from_slice::<serde_json::Value>(&body)
        .map(|v| !v.is_array())
        .unwrap_or(true)
    {
        return reject(
            stream,
            400,
            "invalid_json",
            "the body must be a JSON list of DCSA events",
        );
    }
    match outbox.put(&body) {
        Ok(_) => {
            metrics.received.fetch_add(1, Ordering::Relaxed);
            let _ = answer(stream, 204, "", "");
        }
        Err(e) => {
            eprintln!("connect: {e}");
            let _ = answer(stream, 503, "storage", "the outbox could not be written");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test cases 2 and 6 (a key longer than the block).
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn the_outbox_keeps_documents_in_order_across_a_reopen() {
        let dir = std::env::temp_dir().join(format!("tradelog-outbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let o = Outbox::open(&dir).unwrap();
        o.put(b"[1]").unwrap();
        o.put(b"[2]").unwrap();
        // A crash between write and rename leaves a .tmp file: dropped on open.
        std::fs::write(dir.join("outbox/00000000000000000007.tmp"), b"half").unwrap();
        let o = Outbox::open(&dir).unwrap();
        let p = o.pending().unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(std::fs::read(&p[0]).unwrap(), b"[1]");
        o.done(&p[0]).unwrap();
        o.put(b"[3]").unwrap();
        let p = o.pending().unwrap();
        let got: Vec<Vec<u8>> = p.iter().map(|p| std::fs::read(p).unwrap()).collect();
        assert_eq!(got, vec![b"[2]".to_vec(), b"[3]".to_vec()]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

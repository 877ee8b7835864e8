//! Node metrics in the Prometheus text format 0.0.4, without a metrics crate: atomics for the
//! counters and gauges, one small mutex for the submit-to-commit latency histogram.
//!
//! The latency of an event is measured from [`Metrics::submitted`] (this node's API accepted it)
//! to [`Metrics::committed`] (a block holding it was committed). Events this node did not accept
//! itself (gossip, sync) count as committed but have no latency sample. The map of events waiting
//! for their commit is bounded: past [`PENDING_CAPACITY`] entries the oldest are forgotten.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use tradelog_protocol::EventId;

pub mod vitals;

pub use vitals::{ConsensusMessage, Direction, Network, Vitals};

/// Most events whose submit time is remembered; beyond it the oldest are dropped.
pub const PENDING_CAPACITY: usize = 1_000_000;

/// Upper bounds, in seconds, of the latency histogram's buckets (the `+Inf` bucket is implied).
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// HTTP status classes counted, in the order of [`Metrics::render`].
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Submit times of events not yet committed, oldest first, bounded.
#[derive(Debug)]
struct Pending {
    at: HashMap<EventId, Instant>,
    /// Insertion order; may hold ids already committed (skipped when met, compacted when long).
    order: VecDeque<EventId>,
    capacity: usize,
}

impl Pending {
    fn insert(&mut self, id: EventId, at: Instant) {
        if self.capacity == 0 || self.at.contains_key(&id) {
            return;
        }
        while self.at.len() >= self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.at.remove(&old);
                }
                None => break,
            }
        }
        self.at.insert(id, at);
        self.order.push_back(id);
    }

    fn take(&mut self, id: &EventId) -> Option<Instant> {
        let at = self.at.remove(id)?;
        // Committed ids stay in `order` until met at its front or compacted away here, so the
        // queue never grows past twice the live entries (plus a little slack).
        while self.order.front().is_some_and(|f| !self.at.contains_key(f)) {
            self.order.pop_front();
        }
        if self.order.len() > 2 * self.at.len() + 1024 {
            let live = &self.at;
            self.order.retain(|i| live.contains_key(i));
        }
        Some(at)
    }
}

/// A fixed-bucket histogram.
#[derive(Debug)]
pub(crate) struct Histogram {
    /// Upper bounds of the buckets (the `+Inf` bucket is implied).
    bounds: &'static [f64],
    /// Per-bucket counts (not cumulative); the last slot is `+Inf`.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    pub(crate) fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    pub(crate) fn observe(&mut self, value: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get_mut(slot) {
            *c += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    /// The histogram's lines (HELP, TYPE, cumulative buckets, sum, count).
    pub(crate) fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} histogram\n");
        let mut cumulative = 0u64;
        for (bound, n) in self.bounds.iter().zip(self.counts.iter()) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum {}", self.sum);
        let _ = writeln!(out, "{name}_count {}", self.count);
    }
}

/// A label value with `\\`, `"` and line feeds escaped (text format 0.0.4).
pub(crate) fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug)]
struct Latency {
    pending: Pending,
    histogram: Histogram,
}

/// The node's metrics. Shared as `Arc<Metrics>`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    height: AtomicU64,
    events_committed: AtomicU64,
    blocks_committed: AtomicU64,
    mempool: AtomicU64,
    http: [AtomicU64; 5],
    events_accepted: AtomicU64,
    rate_limited: AtomicU64,
    latency: Mutex<Latency>,
    /// Time (ms since 1970) of the last committed block's head; 0 before the first.
    last_commit_ms: AtomicU64,
    /// Peers, messages, rounds, precommits and this node's voting.
    pub vitals: Vitals,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Fresh metrics remembering up to [`PENDING_CAPACITY`] submit times.
    pub fn new() -> Metrics {
        Metrics::with_capacity(PENDING_CAPACITY)
    }

    /// Fresh metrics remembering up to `capacity` submit times.
    pub fn with_capacity(capacity: usize) -> Metrics {
        Metrics {
            height: AtomicU64::new(0),
            events_committed: AtomicU64::new(0),
            blocks_committed: AtomicU64::new(0),
            mempool: AtomicU64::new(0),
            http: Default::default(),
            events_accepted: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            latency: Mutex::new(Latency {
                pending: Pending {
                    at: HashMap::new(),
                    order: VecDeque::new(),
                    capacity,
                },
                histogram: Histogram::new(&LATENCY_BUCKETS),
            }),
            last_commit_ms: AtomicU64::new(0),
            vitals: Vitals::new(),
        }
    }

    fn latency(&self) -> MutexGuard<'_, Latency> {
        lock(&self.latency)
    }

    /// This node's API accepted the new event `id` at `at` (counted; a resubmission keeps the
    /// first time).
    pub fn submitted(&self, id: EventId, at: Instant) {
        self.events_accepted.fetch_add(1, Ordering::Relaxed);
        self.latency().pending.insert(id, at);
    }

    /// The API refused a request for its client's rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A block with these events was committed at `at`: counts the block and its events and
    /// observes the latency of each event this node accepted itself.
    pub fn committed(&self, ids: &[EventId], at: Instant) {
        self.blocks_committed.fetch_add(1, Ordering::Relaxed);
        self.events_committed
            .fetch_add(ids.len() as u64, Ordering::Relaxed);
        let mut l = self.latency();
        for id in ids {
            if let Some(t) = l.pending.take(id) {
                l.histogram
                    .observe(at.saturating_duration_since(t).as_secs_f64());
            }
        }
    }

    /// Sets the height gauge (last committed block).
    pub fn set_height(&self, height: u64) {
        self.height.store(height, Ordering::Relaxed);
    }

    /// Sets the mempool gauge (pending events).
    pub fn set_mempool(&self, events: usize) {
        self.mempool.store(events as u64, Ordering::Relaxed);
    }

    /// Sets the gossip peers gauge (`tradelog_peers{network="gossip"}`; see
    /// [`Vitals::set_peers`] for either network).
    pub fn set_peers(&self, peers: usize) {
        self.vitals.set_peers(Network::Gossip, peers);
    }

    /// Sets the time (ms since 1970) of the last committed block's head.
    pub fn set_last_commit(&self, head_time_ms: u64) {
        self.last_commit_ms.store(head_time_ms, Ordering::Relaxed);
    }

    /// Counts one HTTP response by its status class (statuses outside 100-599 are not counted).
    pub fn http_response(&self, status: u16) {
        if let Some(c) = (status / 100)
            .checked_sub(1)
            .and_then(|i| self.http.get(usize::from(i)))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Submit times currently remembered (for tests and debugging).
    pub fn pending_latencies(&self) -> usize {
        self.latency().pending.at.len()
    }

    /// The metrics in the Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let mut scalar = |name: &str, kind: &str, help: &str, v: &AtomicU64| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n",
                v.load(Ordering::Relaxed)
            );
        };
        scalar(
            "tradelog_height",
            "gauge",
            "Height of the last committed block.",
            &self.height,
        );
        scalar(
            "tradelog_events_committed_total",
            "counter",
            "Events committed since the node started.",
            &self.events_committed,
        );
        scalar(
            "tradelog_blocks_committed_total",
            "counter",
            "Blocks committed since the node started.",
            &self.blocks_committed,
        );
        scalar(
            "tradelog_mempool_events",
            "gauge",
            "Events waiting in the mempool.",
            &self.mempool,
        );
        scalar(
            "tradelog_events_accepted_total",
            "counter",
            "New events this node's API admitted to the mempool.",
            &self.events_accepted,
        );
        scalar(
            "tradelog_http_rate_limited_total",
            "counter",
            "HTTP requests refused with 429 for the client's rate limit.",
            &self.rate_limited,
        );

        self.latency().histogram.render(
            &mut out,
            "tradelog_commit_latency_seconds",
            "Time from this node accepting an event to committing it.",
        );
        let last = self.last_commit_ms.load(Ordering::Relaxed);
        let name = "tradelog_last_commit_timestamp_seconds";
        let _ = write!(
            out,
            "# HELP {name} Time of the last committed block's head (its proposer's clock), seconds since 1970; 0 before the first block.\n# TYPE {name} gauge\n{name} {}\n",
            last as f64 / 1000.0
        );
        let name = "tradelog_last_commit_age_seconds";
        let age = if last == 0 {
            0.0
        } else {
            crate::chain::now_ms().saturating_sub(last) as f64 / 1000.0
        };
        let _ = write!(
            out,
            "# HELP {name} Seconds since the last committed block's head time (0 before the first block). An idle network commits no block: alert on it only with events pending.\n# TYPE {name} gauge\n{name} {age}\n"
        );
        self.vitals.render(&mut out);

        let name = "tradelog_http_requests_total";
        let _ = write!(
            out,
            "# HELP {name} HTTP API responses by status class.\n# TYPE {name} counter\n"
        );
        for (class, v) in CLASSES.iter().zip(self.http.iter()) {
            let _ = writeln!(
                out,
                "{name}{{class=\"{class}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// Prometheus lines for a time-release report: per border post and month of release, the count
/// and the median and 90th percentile (nearest rank) of each interval, in seconds.
pub fn time_release(report: &crate::trs::TrsReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP tradelog_time_release_seconds Time release (WCO TRS) per border post and month of release: nearest-rank median (percentile=\"50\") and 90th percentile (percentile=\"90\")"
    );
    let _ = writeln!(out, "# TYPE tradelog_time_release_seconds gauge");
    for g in report.groups.iter().map(|g| &g.figures) {
        for (interval, s) in [
            ("arrival_to_declaration", &g.arrival_to_declaration),
            ("declaration_to_release", &g.declaration_to_release),
            ("arrival_to_release", &g.arrival_to_release),
        ] {
            for (q, v) in [("50", s.median), ("90", s.p90)] {
                let _ = writeln!(
                    out,
                    "tradelog_time_release_seconds{{border_post=\"{}\",period=\"{}\",interval=\"{interval}\",percentile=\"{q}\"}} {}",
                    g.border_post,
                    g.period,
                    v as f64 / 1000.0
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "# HELP tradelog_time_release_consignments Consignments measured per border post and month of release"
    );
    let _ = writeln!(out, "# TYPE tradelog_time_release_consignments gauge");
    for g in report.groups.iter().map(|g| &g.figures) {
        let _ = writeln!(
            out,
            "tradelog_time_release_consignments{{border_post=\"{}\",period=\"{}\"}} {}",
            g.border_post, g.period, g.arrival_to_release.count
        );
    }
    let _ = writeln!(
        out,
        "# HELP tradelog_time_release_excluded Consignments with release-relevant events but no measurement"
    );
    let _ = writeln!(out, "# TYPE tradelog_time_release_excluded gauge");
    let _ = writeln!(
        out,
        "tradelog_time_release_excluded {}",
        report.excluded.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tradelog_protocol::Hash;

    use super::*;

    fn id(n: u32) -> EventId {
        Hash::of(&[&n.to_be_bytes()])
    }

    /// The value of the sample line `series` (name with labels) in `text`.
    fn value(text: &str, series: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map(str::to_owned)
    }

    #[test]
    fn render_fresh_metrics_is_complete_prometheus_text() {
        let m = Metrics::new();
        let text = m.render();
        for (name, kind) in [
            ("tradelog_height", "gauge"),
            ("tradelog_events_committed_total", "counter"),
            ("tradelog_blocks_committed_total", "counter"),
            ("tradelog_mempool_events", "gauge"),
            ("tradelog_peers", "gauge"),
            ("tradelog_events_accepted_total", "counter"),
            ("tradelog_http_rate_limited_total", "counter"),
            ("tradelog_commit_latency_seconds", "histogram"),
            ("tradelog_http_requests_total", "counter"),
            ("tradelog_peer_height_max", "gauge"),
            ("tradelog_messages_total", "counter"),
            ("tradelog_consensus_rounds_per_height", "histogram"),
            ("tradelog_precommits_missed_total", "counter"),
            ("tradelog_missed_heights_in_a_row", "gauge"),
            ("tradelog_last_vote_height", "gauge"),
            ("tradelog_last_commit_timestamp_seconds", "gauge"),
            ("tradelog_last_commit_age_seconds", "gauge"),
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name} HELP");
            assert!(
                text.contains(&format!("# TYPE {name} {kind}\n")),
                "{name} TYPE"
            );
        }
        assert_eq!(value(&text, "tradelog_height").as_deref(), Some("0"));
        assert_eq!(
            value(
                &text,
                "tradelog_commit_latency_seconds_bucket{le=\"0.005\"}"
            )
            .as_deref(),
            Some("0")
        );
        assert_eq!(
            value(&text, "tradelog_commit_latency_seconds_bucket{le=\"+Inf\"}").as_deref(),
            Some("0")
        );
        assert!(text.ends_with('\n'));
        // Every non-comment line is `series value` with a numeric value.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = line.rsplit_once(' ').unwrap();
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn counters_gauges_and_status_classes() {
        let m = Metrics::new();
        m.set_height(7);
        m.set_mempool(3);
        m.set_peers(2);
        for s in [200, 202, 404, 422, 503, 99, 600] {
            m.http_response(s);
        }
        m.committed(&[id(1), id(2)], Instant::now());
        m.committed(&[], Instant::now());
        let text = m.render();
        for (series, v) in [
            ("tradelog_height", "7"),
            ("tradelog_mempool_events", "3"),
            ("tradelog_peers{network=\"gossip\"}", "2"),
            ("tradelog_peers{network=\"consensus\"}", "0"),
            ("tradelog_events_committed_total", "2"),
            ("tradelog_blocks_committed_total", "2"),
            ("tradelog_http_requests_total{class=\"1xx\"}", "0"),
            ("tradelog_http_requests_total{class=\"2xx\"}", "2"),
            ("tradelog_http_requests_total{class=\"4xx\"}", "2"),
            ("tradelog_http_requests_total{class=\"5xx\"}", "1"),
            // Events this node never saw submitted have no latency sample.
            ("tradelog_commit_latency_seconds_count", "0"),
        ] {
            assert_eq!(value(&text, series).as_deref(), Some(v), "{series}");
        }
    }

    #[test]
    fn latency_histogram_is_cumulative() {
        let m = Metrics::new();
        let t0 = Instant::now();
        m.submitted(id(1), t0);
        m.submitted(id(2), t0);
        m.submitted(id(3), t0);
        // A resubmission keeps the first time.
        m.submitted(id(1), t0 + Duration::from_secs(5));
        m.committed(&[id(1), id(2)], t0 + Duration::from_millis(30));
        m.committed(&[id(3)], t0 + Duration::from_secs(20));
        // Committed twice (or never submitted here): no second sample.
        m.committed(&[id(1)], t0 + Duration::from_secs(1));
        let text = m.render();
        let b = |le: &str| {
            value(
                &text,
                &format!("tradelog_commit_latency_seconds_bucket{{le=\"{le}\"}}"),
            )
        };
        assert_eq!(b("0.025").as_deref(), Some("0"));
        assert_eq!(b("0.05").as_deref(), Some("2"));
        assert_eq!(b("10").as_deref(), Some("2"));
        assert_eq!(b("+Inf").as_deref(), Some("3"));
        assert_eq!(
            value(&text, "tradelog_commit_latency_seconds_count").as_deref(),
            Some("3")
        );
        let sum: f64 = value(&text, "tradelog_commit_latency_seconds_sum")
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 20.06).abs() < 1e-9, "{sum}");
        assert_eq!(m.pending_latencies(), 0);
    }

    #[test]
    fn pending_map_is_bounded_and_drops_the_oldest() {
        let m = Metrics::with_capacity(3);
        let t0 = Instant::now();
        for n in 0..5 {
            m.submitted(id(n), t0);
        }
        assert_eq!(m.pending_latencies(), 3);
        // 0 and 1 were dropped: committing them observes nothing.
        m.committed(&[id(0), id(1)], t0);
        assert_eq!(
            value(&m.render(), "tradelog_commit_latency_seconds_count").as_deref(),
            Some("0")
        );
        m.committed(&[id(2), id(3), id(4)], t0);
        assert_eq!(
            value(&m.render(), "tradelog_commit_latency_seconds_count").as_deref(),
            Some("3")
        );
        // Out-of-order commits do not let the insertion queue grow without bound.
        let m = Metrics::with_capacity(10);
        for n in 0..10_000 {
            m.submitted(id(n), t0);
            if n % 2 == 1 {
                m.committed(&[id(n)], t0);
            }
        }
        let l = m.latency();
        assert!(l.pending.at.len() <= 10);
        assert!(l.pending.order.len() <= 2 * 10 + 1024 + 1);
    }

    /// A certificate naming `signers` (the signatures are not checked here).
    fn certificate(
        height: u64,
        round: u32,
        signers: &[&tradelog_protocol::SecretKey],
    ) -> tradelog_protocol::Certificate {
        tradelog_protocol::Certificate {
            height,
            round,
            head: Hash([0; 32]),
            signatures: signers
                .iter()
                .map(|k| tradelog_protocol::head::CommitSig {
                    validator: k.public(),
                    sig: tradelog_protocol::Signature::from_bytes(&[0; 64]),
                })
                .collect(),
        }
    }

    /// Every decided certificate counts a missed precommit for each validator of the set it
    /// lacks, labelled by key and organisation; rounds per height are round + 1.
    #[test]
    fn missed_precommits_and_rounds_per_height() {
        let net = tradelog_protocol::sample::SampleNetwork::new(4).unwrap();
        let set = net.genesis.validator_set();
        let k = &net.validator_keys;
        let m = Metrics::new();
        m.vitals.know_validators(set);
        // The count of validator key `k[i]`.
        let missed = |text: &str, i: usize| {
            let v = set
                .validators()
                .iter()
                .find(|v| v.key == k[i].public())
                .unwrap();
            value(
                text,
                &format!(
                    "tradelog_precommits_missed_total{{validator=\"{}\",org=\"{}\"}}",
                    v.key, v.org
                ),
            )
        };
        let text = m.render();
        for i in 0..4 {
            assert_eq!(missed(&text, i).as_deref(), Some("0"), "{i}");
        }
        m.vitals
            .decided(&certificate(1, 0, &[&k[0], &k[1], &k[2]]), set);
        m.vitals
            .decided(&certificate(2, 2, &[&k[0], &k[1], &k[3]]), set);
        m.vitals
            .decided(&certificate(3, 0, &[&k[0], &k[1], &k[2]]), set);
        let text = m.render();
        assert_eq!(missed(&text, 0).as_deref(), Some("0"));
        assert_eq!(missed(&text, 2).as_deref(), Some("1"));
        assert_eq!(missed(&text, 3).as_deref(), Some("2"));
        let b = |le: &str| {
            value(
                &text,
                &format!("tradelog_consensus_rounds_per_height_bucket{{le=\"{le}\"}}"),
            )
        };
        assert_eq!(b("1").as_deref(), Some("2"));
        assert_eq!(b("2").as_deref(), Some("2"));
        assert_eq!(b("3").as_deref(), Some("3"));
        assert_eq!(
            value(&text, "tradelog_consensus_rounds_per_height_sum").as_deref(),
            Some("5")
        );
    }

    /// A validator's own voting: a height it signed or voted in resets the run of missed
    /// heights; a height decided without it adds one.
    #[test]
    fn own_votes_and_missed_heights() {
        let net = tradelog_protocol::sample::SampleNetwork::new(4).unwrap();
        let set = net.genesis.validator_set();
        let k = &net.validator_keys;
        let m = Metrics::new();
        m.vitals.set_key(k[3].public());
        m.vitals
            .decided(&certificate(1, 0, &[&k[0], &k[1], &k[3]]), set);
        assert_eq!(m.vitals.snapshot().last_vote_height, 1);
        m.vitals
            .decided(&certificate(2, 0, &[&k[0], &k[1], &k[2]]), set);
        m.vitals
            .decided(&certificate(3, 0, &[&k[0], &k[1], &k[2]]), set);
        let s = m.vitals.snapshot();
        assert_eq!((s.last_vote_height, s.missed_in_a_row), (1, 2));
        // It voted at height 4 (its precommit came too late for the certificate): no miss.
        m.vitals.voted(4);
        m.vitals
            .decided(&certificate(4, 0, &[&k[0], &k[1], &k[2]]), set);
        let s = m.vitals.snapshot();
        assert_eq!((s.last_vote_height, s.missed_in_a_row), (4, 0));
        let text = m.render();
        assert_eq!(
            value(&text, "tradelog_last_vote_height").as_deref(),
            Some("4")
        );
        assert_eq!(
            value(&text, "tradelog_missed_heights_in_a_row").as_deref(),
            Some("0")
        );
    }

    #[test]
    fn peers_tips_and_messages_per_network() {
        let m = Metrics::new();
        m.set_peers(3);
        m.vitals.set_peers(Network::Consensus, 2);
        m.vitals.peer_tip("a".into(), 7);
        m.vitals.peer_tip("b".into(), 9);
        m.vitals.gossip_message(Direction::Received);
        m.vitals.gossip_message(Direction::Received);
        m.vitals
            .consensus_message(ConsensusMessage::Vote, Direction::Sent);
        m.vitals
            .consensus_message(ConsensusMessage::Proposal, Direction::Received);
        let text = m.render();
        for (series, v) in [
            ("tradelog_peers{network=\"gossip\"}", "3"),
            ("tradelog_peers{network=\"consensus\"}", "2"),
            ("tradelog_peer_height_max", "9"),
            (
                "tradelog_messages_total{network=\"gossip\",kind=\"events\",direction=\"received\"}",
                "2",
            ),
            (
                "tradelog_messages_total{network=\"consensus\",kind=\"vote\",direction=\"sent\"}",
                "1",
            ),
            (
                "tradelog_messages_total{network=\"consensus\",kind=\"proposal\",direction=\"received\"}",
                "1",
            ),
        ] {
            assert_eq!(value(&text, series).as_deref(), Some(v), "{series}");
        }
        m.vitals.peer_gone("b");
        assert_eq!(m.vitals.snapshot().known_peer_height, Some(7));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}

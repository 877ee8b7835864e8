//! The node's log: `tracing` to stderr, with a few of Malachite's records told in the node's own
//! words.
//!
//! Malachite reports normal events in terms that look fatal or say nothing an operator can act
//! on. [`init`] installs a layer ([`Remap`]) that drops those records before any output and logs
//! what they mean instead (target `tradelog_node::peers`):
//!
//! - `Failed to dial peer None at [..] after 5 trials` (ERROR, `arc_malachitebft_discovery`): a
//!   consensus peer that is not up yet. Logged at WARN with the retry schedule; only the 1st,
//!   2nd, 4th, 8th… round of one address at WARN, the others at DEBUG.
//! - `Incompatible protocol version, disconnecting peer` (WARN, `arc_malachitebft_network`): the
//!   consensus protocol name carries the genesis hash ([`crate::consensus::protocol_name`]), so
//!   this is a peer of another genesis. Logged once per peer and version with both hashes.
//!
//! The layer decides in `event_enabled` (no other layer sees the original record) and hands the
//! new line to a thread that logs it: `tracing` does not dispatch an event from inside another.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The default filter: INFO for the node, WARN for Malachite and libp2p.
pub const DEFAULT_FILTER: &str = "info,arc_malachitebft=warn,libp2p=warn";

static GENESIS: OnceLock<String> = OnceLock::new();

/// Records this node's genesis hash (hex) for the genesis-mismatch lines. Set once, at start.
pub fn set_genesis(hash: &str) {
    let _ = GENESIS.set(hash.to_owned());
}

/// Installs the node's subscriber: `RUST_LOG` (or [`DEFAULT_FILTER`]), [`Remap`], plain text
/// on stderr. Does nothing if a subscriber is already installed.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let (tx, rx) = mpsc::channel::<(Level, String)>();
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(Remap::new(tx))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .try_init()
        .is_ok();
    if installed {
        let _ = std::thread::Builder::new()
            .name("log-remap".into())
            .spawn(move || {
                for (level, line) in rx {
                    match level {
                        Level::WARN => tracing::warn!(target: "tradelog_node::peers", "{line}"),
                        Level::INFO => tracing::info!(target: "tradelog_node::peers", "{line}"),
                        _ => tracing::debug!(target: "tradelog_node::peers", "{line}"),
                    }
                }
            });
    }
}

/// The fields of a record, formatted.
#[derive(Debug, Default)]
struct Fields(Vec<(&'static str, String)>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }
}

/// What a Malachite record means, in the node's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remapped {
    /// A consensus peer could not be dialled in a whole round of retries.
    DialRound {
        /// The addresses dialled, as Malachite printed them.
        addrs: String,
        /// Retries in the round.
        retries: u32,
    },
    /// A consensus message had no connected peer to go to (normal while peers start).
    NoPeers,
    /// One dial attempt of a consensus peer failed (Malachite logs each at ERROR).
    DialAttempt {
        /// libp2p's error.
        error: String,
    },
    /// A consensus peer sent another protocol name (another genesis) and was disconnected.
    Incompatible {
        /// Its peer id.
        peer: String,
        /// The protocol name it sent.
        protocol: String,
    },
}

/// The delays between dial attempts of one round: Malachite's Fibonacci backoff from 1 s.
pub fn retry_delays(retries: u32) -> Vec<Duration> {
    // As `arc_malachitebft_discovery::util::FibonacciBackoff`: 1, 2, 3, 5, 8 … s.
    let (mut current, mut next) = (1u64, 1u64);
    (0..retries)
        .map(|_| {
            (current, next) = (next, current.saturating_add(next));
            Duration::from_secs(current)
        })
        .collect()
}

/// Recognises the records [`Remap`] replaces.
pub fn recognise(target: &str, level: Level, fields: &[(&str, &str)]) -> Option<Remapped> {
    let get = |name: &str| fields.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    if target.starts_with("arc_malachitebft_discovery") && level == Level::ERROR {
        let msg = get("message")?;
        let rest = msg.strip_prefix("Failed to dial peer ")?;
        let (_, rest) = rest.split_once(" at ")?;
        let (addrs, rest) = rest.rsplit_once(" after ")?;
        let retries = rest.strip_suffix(" trials")?.parse().ok()?;
        return Some(Remapped::DialRound {
            addrs: addrs.to_owned(),
            retries,
        });
    }
    if target.starts_with("arc_malachitebft_network")
        && level == Level::ERROR
        && get("message")? == "Error publishing message: NoPeersSubscribedToTopic"
    {
        return Some(Remapped::NoPeers);
    }
    if target.starts_with("arc_malachitebft_network") && level == Level::ERROR {
        let error = get("message")?.strip_prefix("Error dialing peer: ")?;
        return Some(Remapped::DialAttempt {
            error: error.to_owned(),
        });
    }
    if target.starts_with("arc_malachitebft_network")
        && level == Level::WARN
        && get("message")? == "Incompatible protocol version, disconnecting peer"
    {
        return Some(Remapped::Incompatible {
            peer: get("peer_id")?.to_owned(),
            protocol: get("protocol_version")?.trim_matches('"').to_owned(),
        });
    }
    None
}

/// The genesis hash a consensus protocol name names.
fn genesis_of(protocol: &str) -> Option<&str> {
    protocol.strip_prefix("/tradelog/consensus/1/genesis/")
}

/// The line that replaces a dial round's ERROR.
pub fn dial_line(addrs: &str, retries: u32, round: u32) -> String {
    let delays: Vec<String> = retry_delays(retries)
        .iter()
        .map(|d| d.as_secs().to_string())
        .collect();
    let total: u64 = retry_delays(retries).iter().map(Duration::as_secs).sum();
    let mut line = format!(
        "consensus peer at {addrs} is not reachable yet (normal while peers start): dialled {} times over about {total} s (retries after {} s); dialling it again in the same rounds until it answers",
        retries + 1,
        delays.join(", "),
    );
    if round > 1 {
        let _ = write!(line, " (round {round})");
    }
    line
}

/// The line that replaces Malachite's incompatible-version warning.
pub fn incompatible_line(peer: &str, protocol: &str, ours: Option<&str>) -> String {
    match (genesis_of(protocol), ours) {
        (Some(theirs), Some(ours)) => format!(
            "consensus peer {peer} disconnected: genesis mismatch: the peer runs genesis {theirs}, this node runs genesis {ours}; check that both hosts were given the same genesis.json"
        ),
        _ => format!(
            "consensus peer {peer} disconnected: it speaks consensus protocol {protocol:?}, this node {:?} (another genesis, or a version this one cannot talk to)",
            ours.map(|h| format!("/tradelog/consensus/1/genesis/{h}")).unwrap_or_default()
        ),
    }
}

/// The layer that replaces Malachite's records (see the module documentation).
pub struct Remap {
    tx: Mutex<mpsc::Sender<(Level, String)>>,
    rounds: Mutex<HashMap<String, u32>>,
    attempts: std::sync::atomic::AtomicU64,
    seen: Mutex<HashSet<(String, String)>>,
}

impl Remap {
    fn new(tx: mpsc::Sender<(Level, String)>) -> Remap {
        Remap {
            tx: Mutex::new(tx),
            rounds: Mutex::new(HashMap::new()),
            attempts: std::sync::atomic::AtomicU64::new(0),
            seen: Mutex::new(HashSet::new()),
        }
    }

    fn emit(&self, level: Level, line: String) {
        let _ = crate::chain::lock(&self.tx).send((level, line));
    }
}

impl<S: Subscriber> Layer<S> for Remap {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if !meta.target().starts_with("arc_malachitebft_") {
            return true;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let pairs: Vec<(&str, &str)> = fields.0.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let Some(what) = recognise(meta.target(), *meta.level(), &pairs) else {
            return true;
        };
        match what {
            Remapped::DialRound { addrs, retries } => {
                let round = {
                    let mut rounds = crate::chain::lock(&self.rounds);
                    let r = rounds.entry(addrs.clone()).or_default();
                    *r += 1;
                    *r
                };
                let level = if round.is_power_of_two() {
                    Level::WARN
                } else {
                    Level::DEBUG
                };
                self.emit(level, dial_line(&addrs, retries, round));
            }
            Remapped::NoPeers => self.emit(
                Level::DEBUG,
                "consensus message not sent: no consensus peer connected yet".into(),
            ),
            Remapped::DialAttempt { error } => {
                // The first at WARN with the schedule; each round's end is told per address.
                let n = self
                    .attempts
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let level = if n == 0 { Level::WARN } else { Level::DEBUG };
                self.emit(level, format!(
                    "consensus peer not reachable yet (normal while peers start): {error}; retried after 1, 2, 3, 5 and 8 s, then in such rounds until it answers"
                ));
            }
            Remapped::Incompatible { peer, protocol } => {
                let first = crate::chain::lock(&self.seen).insert((peer.clone(), protocol.clone()));
                let level = if first { Level::WARN } else { Level::DEBUG };
                let line = incompatible_line(&peer, &protocol, GENESIS.get().map(String::as_str));
                self.emit(level, line);
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Malachite's record, as its discovery crate writes it, becomes our line with the
    /// schedule; anything else is left alone.
    #[test]
    fn a_dial_round_is_recognised_and_told_with_its_schedule() {
        let msg = r#"Failed to dial peer None at ["/ip4/127.0.0.1/tcp/27101"] after 5 trials"#;
        let got = recognise(
            "arc_malachitebft_discovery::handlers::dial",
            Level::ERROR,
            &[("message", msg)],
        );
        assert_eq!(
            got,
            Some(Remapped::DialRound {
                addrs: r#"["/ip4/127.0.0.1/tcp/27101"]"#.into(),
                retries: 5
            })
        );
        let line = dial_line(r#"["/ip4/127.0.0.1/tcp/27101"]"#, 5, 1);
        assert!(
            line.contains("dialled 6 times over about 19 s (retries after 1, 2, 3, 5, 8 s)"),
            "{line}"
        );
        assert!(!line.contains("(round"), "{line}");
        assert!(dial_line("[]", 5, 2).ends_with("(round 2)"));
        for (target, level, msg) in [
            (
                "arc_malachitebft_discovery::handlers::dial",
                Level::WARN,
                msg,
            ),
            ("arc_malachitebft_engine", Level::ERROR, msg),
            (
                "arc_malachitebft_discovery::handlers::dial",
                Level::ERROR,
                "Error dialing peer None at [] : x",
            ),
        ] {
            assert_eq!(recognise(target, level, &[("message", msg)]), None);
        }
    }

    #[test]
    fn an_incompatible_peer_is_told_with_both_genesis_hashes() {
        let got = recognise(
            "arc_malachitebft_network",
            Level::WARN,
            &[
                (
                    "message",
                    "Incompatible protocol version, disconnecting peer",
                ),
                ("peer_id", "12D3KooWabc"),
                ("protocol_version", "\"/tradelog/consensus/1/genesis/aa11\""),
            ],
        )
        .unwrap();
        let Remapped::Incompatible { peer, protocol } = got else {
            panic!("{got:?}")
        };
        let line = incompatible_line(&peer, &protocol, Some("bb22"));
        assert!(
            line.contains(
                "genesis mismatch: the peer runs genesis aa11, this node runs genesis bb22"
            ),
            "{line}"
        );
        let old = incompatible_line("p", "/malachitebft-core-consensus/v1beta1", Some("bb22"));
        assert!(old.contains("another genesis, or a version"), "{old}");
    }
}

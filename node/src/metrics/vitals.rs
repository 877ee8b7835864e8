//! What a node knows of its two networks and of its own part in consensus: peers per network,
//! the tips its consensus peers announce (for the sync lag), the messages it sends and receives,
//! the round each height was decided in, which validators' precommits each decided certificate
//! lacks, and whether this node's own key is voting. Fed by the gossip task, the consensus event
//! and network observers (`consensus/observe.rs`) and the app's commit path; read by
//! `GET /health/ready` ([`crate::health`]) and rendered into `/metrics`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tradelog_protocol::{Certificate, PublicKey, ValidatorSet};

use super::{label, lock, Histogram};

/// Upper bounds of the rounds-per-height histogram (a height decided in round 0 took 1 round).
pub const ROUND_BUCKETS: [f64; 6] = [1.0, 2.0, 3.0, 4.0, 6.0, 10.0];

/// Consecutive decided heights, in a validator set holding this node's key, that this node
/// neither voted in nor signed the certificate of, before it counts as not voting. One is
/// tolerated: a height the others decide before this node's vote is out is not a fault.
pub const MISSED_HEIGHTS_NOT_VOTING: u64 = 2;

/// The two peer-to-peer networks of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Event gossip (the node's own libp2p swarm).
    Gossip,
    /// Malachite consensus (votes, proposals, value sync).
    Consensus,
}

impl Network {
    /// The `network` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Gossip => "gossip",
            Network::Consensus => "consensus",
        }
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from a peer.
    Received,
    /// Sent (published) by this node.
    Sent,
}

/// Consensus messages counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsensusMessage {
    /// A prevote or precommit.
    Vote,
    /// A signed proposal (its block travels as proposal parts, not counted here).
    Proposal,
}

/// This node's view of its own voting, for readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Voting {
    /// Highest height at which this node published a vote or its key signed the certificate.
    last_vote_height: u64,
    /// Decided heights in a row, with this node's key in the set, without its vote.
    missed_in_a_row: u64,
}

/// Missed precommits of one validator key.
#[derive(Debug, Clone, Default)]
struct Missed {
    org: String,
    missed: u64,
}

/// A snapshot of the vitals, for `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Connected, allowed gossip peers.
    pub gossip_peers: u64,
    /// Connected consensus peers.
    pub consensus_peers: u64,
    /// The highest tip a connected consensus peer announced (value-sync status), if any did.
    pub known_peer_height: Option<u64>,
    /// This node's consensus key, once consensus started.
    pub key: Option<PublicKey>,
    /// Highest height this node voted at (or signed the certificate of) since it started.
    pub last_vote_height: u64,
    /// Decided heights in a row, in a set holding this node's key, without its vote.
    pub missed_in_a_row: u64,
}

/// The vitals. Shared inside [`super::Metrics`].
#[derive(Debug)]
pub struct Vitals {
    gossip_peers: AtomicU64,
    consensus_peers: AtomicU64,
    /// Consensus peer (libp2p id) → the tip height it last announced.
    tips: Mutex<HashMap<String, u64>>,
    key: Mutex<Option<PublicKey>>,
    voting: Mutex<Voting>,
    /// Validator key (hex) → missed precommits, for every key of a set seen at a commit.
    missed: Mutex<BTreeMap<String, Missed>>,
    rounds: Mutex<Histogram>,
    /// [gossip, consensus vote, consensus proposal] × [received, sent].
    messages: [[AtomicU64; 2]; 3],
}

fn slot(d: Direction) -> usize {
    match d {
        Direction::Received => 0,
        Direction::Sent => 1,
    }
}

impl Default for Vitals {
    fn default() -> Self {
        Vitals::new()
    }
}

impl Vitals {
    /// Fresh vitals.
    pub fn new() -> Vitals {
        Vitals {
            gossip_peers: AtomicU64::new(0),
            consensus_peers: AtomicU64::new(0),
            tips: Mutex::default(),
            key: Mutex::default(),
            voting: Mutex::default(),
            missed: Mutex::default(),
            rounds: Mutex::new(Histogram::new(&ROUND_BUCKETS)),
            messages: Default::default(),
        }
    }

    /// Sets the connected-peers gauge of `network`.
    pub fn set_peers(&self, network: Network, peers: usize) {
        let g = match network {
            Network::Gossip => &self.gossip_peers,
            Network::Consensus => &self.consensus_peers,
        };
        g.store(peers as u64, Ordering::Relaxed);
    }

    /// A consensus peer announced its tip (Malachite's value-sync status).
    pub fn peer_tip(&self, peer: String, tip: u64) {
        lock(&self.tips).insert(peer, tip);
    }

    /// A consensus peer disconnected: its tip no longer counts.
    pub fn peer_gone(&self, peer: &str) {
        lock(&self.tips).remove(peer);
    }

    /// This node's consensus key (the engine votes with it at heights whose set holds it).
    pub fn set_key(&self, key: PublicKey) {
        *lock(&self.key) = Some(key);
    }

    /// Counts an event-gossip message (a batch of events).
    pub fn gossip_message(&self, direction: Direction) {
        self.messages[0][slot(direction)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a consensus message.
    pub fn consensus_message(&self, kind: ConsensusMessage, direction: Direction) {
        let row = match kind {
            ConsensusMessage::Vote => 1,
            ConsensusMessage::Proposal => 2,
        };
        self.messages[row][slot(direction)].fetch_add(1, Ordering::Relaxed);
    }

    /// This node published a vote at `height`.
    pub fn voted(&self, height: u64) {
        let mut v = lock(&self.voting);
        v.last_vote_height = v.last_vote_height.max(height);
        v.missed_in_a_row = 0;
    }

    /// A block was decided with `certificate`, under `set` (the validator set of its height):
    /// observes its rounds, counts a missed precommit for every validator of the set whose
    /// signature the certificate lacks, and this node's own vote.
    pub fn decided(&self, certificate: &Certificate, set: &ValidatorSet) {
        lock(&self.rounds).observe(f64::from(certificate.round.saturating_add(1)));
        let signed = |k: &PublicKey| certificate.signatures.iter().any(|s| s.validator == *k);
        {
            let mut missed = lock(&self.missed);
            for v in set.validators() {
                let m = missed.entry(v.key.to_hex()).or_default();
                m.org = v.org.to_string();
                if !signed(&v.key) {
                    m.missed += 1;
                }
            }
        }
        let Some(own) = *lock(&self.key) else { return };
        if !set.validators().iter().any(|v| v.key == own) {
            return;
        }
        let mut v = lock(&self.voting);
        if signed(&own) || v.last_vote_height >= certificate.height {
            v.last_vote_height = v.last_vote_height.max(certificate.height);
            v.missed_in_a_row = 0;
        } else {
            v.missed_in_a_row += 1;
        }
    }

    /// Lists every validator of `set` in the missed-precommits counter (at 0 if new), so the
    /// series exist before the first miss.
    pub fn know_validators(&self, set: &ValidatorSet) {
        let mut missed = lock(&self.missed);
        for v in set.validators() {
            missed.entry(v.key.to_hex()).or_default().org = v.org.to_string();
        }
    }

    /// The current values.
    pub fn snapshot(&self) -> Snapshot {
        let voting = *lock(&self.voting);
        Snapshot {
            gossip_peers: self.gossip_peers.load(Ordering::Relaxed),
            consensus_peers: self.consensus_peers.load(Ordering::Relaxed),
            known_peer_height: lock(&self.tips).values().copied().max(),
            key: *lock(&self.key),
            last_vote_height: voting.last_vote_height,
            missed_in_a_row: voting.missed_in_a_row,
        }
    }

    /// The vitals' lines of the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let name = "tradelog_peers";
        let _ = write!(
            out,
            "# HELP {name} Connected peers per network (gossip: allowed event-gossip peers; consensus: Malachite peers).\n# TYPE {name} gauge\n"
        );
        for (network, g) in [
            (Network::Gossip, &self.gossip_peers),
            (Network::Consensus, &self.consensus_peers),
        ] {
            let _ = writeln!(
                out,
                "{name}{{network=\"{}\"}} {}",
                network.as_str(),
                g.load(Ordering::Relaxed)
            );
        }

        let name = "tradelog_peer_height_max";
        let _ = write!(
            out,
            "# HELP {name} Highest tip height a connected consensus peer announced (0 if none did).\n# TYPE {name} gauge\n{name} {}\n",
            lock(&self.tips).values().copied().max().unwrap_or(0)
        );

        let name = "tradelog_messages_total";
        let _ = write!(
            out,
            "# HELP {name} Peer-to-peer messages by network, kind and direction (gossip: event batches; consensus: signed votes and proposals).\n# TYPE {name} counter\n"
        );
        for (row, (network, kind)) in [
            ("gossip", "events"),
            ("consensus", "vote"),
            ("consensus", "proposal"),
        ]
        .iter()
        .enumerate()
        {
            for (d, direction) in ["received", "sent"].iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{name}{{network=\"{network}\",kind=\"{kind}\",direction=\"{direction}\"}} {}",
                    self.messages[row][d].load(Ordering::Relaxed)
                );
            }
        }

        lock(&self.rounds).render(
            out,
            "tradelog_consensus_rounds_per_height",
            "Rounds each committed height took (1: decided in its first round).",
        );

        let name = "tradelog_precommits_missed_total";
        let _ = write!(
            out,
            "# HELP {name} Committed heights whose certificate lacks this validator's precommit, counted under the validator set of each height.\n# TYPE {name} counter\n"
        );
        for (key, m) in lock(&self.missed).iter() {
            let _ = writeln!(
                out,
                "{name}{{validator=\"{}\",org=\"{}\"}} {}",
                label(key),
                label(&m.org),
                m.missed
            );
        }

        let voting = *lock(&self.voting);
        let name = "tradelog_missed_heights_in_a_row";
        let _ = write!(
            out,
            "# HELP {name} Decided heights in a row, with this node's key in the validator set, that it did not vote in.\n# TYPE {name} gauge\n{name} {}\n",
            voting.missed_in_a_row
        );
        let name = "tradelog_last_vote_height";
        let _ = write!(
            out,
            "# HELP {name} Highest height this node voted at or signed the certificate of since it started.\n# TYPE {name} gauge\n{name} {}\n",
            voting.last_vote_height
        );
    }
}

//! `GET /health/live`, `GET /health/ready` and the `GET /health` summary.
//!
//! Live means the process serves HTTP. Ready means the node does its job: it has peers on both
//! networks (gossip and consensus), it is not syncing (its height is within [`SYNC_LAG_READY`]
//! of the highest tip a consensus peer announced), and, if its key is in the validator set, it
//! votes (it did not miss [`MISSED_HEIGHTS_NOT_VOTING`] decided heights in a row). The answer
//! names every reason it is not ready. The figures come from the ledger and from the vitals the
//! gossip task and the consensus observers keep ([`crate::metrics::Vitals`]).

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tradelog_protocol::{PublicKey, ValidatorSet};

use super::{json, ApiState};
use crate::metrics::vitals::{Snapshot, MISSED_HEIGHTS_NOT_VOTING};

/// A node more than this many heights behind the highest tip a peer announced is syncing.
pub const SYNC_LAG_READY: u64 = 2;

/// Connected peers per network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Peers {
    /// Allowed event-gossip peers.
    pub gossip: u64,
    /// Consensus (Malachite) peers.
    pub consensus: u64,
}

/// This node's part in consensus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Voting {
    /// This node's consensus key (absent until consensus started).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PublicKey>,
    /// The key is in the validator set of the next height.
    pub validator: bool,
    /// A validator that votes: it voted at, or signed the certificate of, the recent heights.
    /// False for a node that is not a validator.
    pub signing: bool,
    /// Highest height this node voted at (or signed the certificate of) since it started.
    pub last_vote_height: u64,
    /// Decided heights in a row, with its key in the set, that it did not vote in.
    pub missed_heights_in_a_row: u64,
}

/// Why a node is not ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// `no_peers`, `syncing` or `not_voting`.
    pub code: &'static str,
    /// What is wrong, with the figures.
    pub message: String,
}

/// The body of `/health`, `/health/ready`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// Always `"ok"` (the process answers; kept for clients of earlier releases).
    pub status: &'static str,
    /// Height of the last committed block.
    pub height: u64,
    /// Pending events.
    pub mempool: usize,
    /// Ready: no reason below.
    pub ready: bool,
    /// Why it is not ready (empty when ready).
    pub reasons: Vec<Reason>,
    /// Connected peers per network.
    pub peers: Peers,
    /// Highest tip a connected consensus peer announced (value-sync status); absent if none did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_peer_height: Option<u64>,
    /// `known_peer_height - height`, 0 when ahead or unknown.
    pub sync_lag: u64,
    /// Seconds since the last committed block's head time; absent before the first block. An
    /// idle network commits no block, so this grows while nothing is submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_commit_age_seconds: Option<f64>,
    /// This node's part in consensus.
    pub voting: Voting,
}

/// The ledger's side of a report.
#[derive(Debug, Clone)]
pub struct LedgerView {
    /// Last committed height.
    pub height: u64,
    /// Pending events.
    pub mempool: usize,
    /// Head time (ms since 1970) of the last committed block, if any.
    pub last_commit_ms: Option<u64>,
    /// The validator set of the next height.
    pub validators: ValidatorSet,
}

/// The health report from the ledger's view and the vitals at `now_ms`.
pub fn report(ledger: &LedgerView, vitals: &Snapshot, now_ms: u64) -> Health {
    let set = ledger.validators.validators();
    let validator = vitals.key.is_some_and(|k| set.iter().any(|v| v.key == k));
    // A network of one validator, this node, needs no peer.
    let alone = validator && set.len() == 1;
    let not_voting = validator && vitals.missed_in_a_row >= MISSED_HEIGHTS_NOT_VOTING;
    let sync_lag = vitals
        .known_peer_height
        .map_or(0, |p| p.saturating_sub(ledger.height));
    let mut reasons = Vec::new();
    if !alone && (vitals.gossip_peers == 0 || vitals.consensus_peers == 0) {
        let mut missing = Vec::new();
        if vitals.gossip_peers == 0 {
            missing.push("gossip");
        }
        if vitals.consensus_peers == 0 {
            missing.push("consensus");
        }
        reasons.push(Reason {
            code: "no_peers",
            message: format!(
                "no peer connected on the {} network{} (gossip {}, consensus {}): check the peers' addresses, the firewall, and that the peers hold keys of this genesis",
                missing.join(" and "),
                if missing.len() > 1 { "s" } else { "" },
                vitals.gossip_peers,
                vitals.consensus_peers
            ),
        });
    }
    if sync_lag > SYNC_LAG_READY {
        reasons.push(Reason {
            code: "syncing",
            message: format!(
                "height {} is {sync_lag} behind the peers' tip {} (ready within {SYNC_LAG_READY})",
                ledger.height,
                vitals.known_peer_height.unwrap_or(0)
            ),
        });
    }
    if not_voting {
        reasons.push(Reason {
            code: "not_voting",
            message: format!(
                "this node's key is a validator's but it did not vote in the last {} decided heights (last vote at height {})",
                vitals.missed_in_a_row, vitals.last_vote_height
            ),
        });
    }
    Health {
        status: "ok",
        height: ledger.height,
        mempool: ledger.mempool,
        ready: reasons.is_empty(),
        reasons,
        peers: Peers {
            gossip: vitals.gossip_peers,
            consensus: vitals.consensus_peers,
        },
        known_peer_height: vitals.known_peer_height,
        sync_lag,
        last_commit_age_seconds: ledger
            .last_commit_ms
            .map(|t| now_ms.saturating_sub(t) as f64 / 1000.0),
        voting: Voting {
            key: vitals.key,
            validator,
            signing: validator && !not_voting,
            last_vote_height: vitals.last_vote_height,
            missed_heights_in_a_row: vitals.missed_in_a_row,
        },
    }
}

/// The report of this node now.
pub fn current(state: &ApiState) -> Health {
    let ledger = LedgerView {
        height: state.chain.height(),
        mempool: state.chain.mempool_len(),
        last_commit_ms: state.chain.certified().map(|(h, _)| h.time),
        validators: state.chain.next_validators(),
    };
    report(
        &ledger,
        &state.metrics.vitals.snapshot(),
        crate::chain::now_ms(),
    )
}

/// The report's gauges for `/metrics`: ready, validator, signing, sync lag.
pub fn render(h: &Health, out: &mut String) {
    for (name, help, v) in [
        (
            "tradelog_ready",
            "1 if GET /health/ready answers 200 (peers on both networks, not syncing, voting if a validator).",
            u64::from(h.ready),
        ),
        (
            "tradelog_validator",
            "1 if this node's key is in the validator set of the next height.",
            u64::from(h.voting.validator),
        ),
        (
            "tradelog_signing",
            "1 if this node is a validator and votes.",
            u64::from(h.voting.signing),
        ),
        (
            "tradelog_sync_lag_blocks",
            "Highest tip a consensus peer announced minus this node's height (0 if none is ahead).",
            h.sync_lag,
        ),
    ] {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
        );
    }
}

/// `GET /health`: the summary, always 200 while the node serves.
pub(super) async fn health(State(state): State<ApiState>) -> Response {
    json(StatusCode::OK, &current(&state))
}

/// `GET /health/live`: 200 while the process serves HTTP.
pub(super) async fn live() -> Response {
    #[derive(Serialize)]
    struct Live {
        status: &'static str,
    }
    json(StatusCode::OK, &Live { status: "live" })
}

/// `GET /health/ready`: 200 when ready, 503 with the reasons otherwise.
pub(super) async fn ready(State(state): State<ApiState>) -> Response {
    let h = current(&state);
    let status = if h.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(status, &h)
}

#[cfg(test)]
mod tests {
    use tradelog_protocol::sample::SampleNetwork;

    use super::*;

    fn view(height: u64) -> (LedgerView, Vec<PublicKey>) {
        let net = SampleNetwork::new(4).unwrap();
        let set = net.genesis.validator_set();
        let keys = set.validators().iter().map(|v| v.key).collect();
        (
            LedgerView {
                height,
                mempool: 0,
                last_commit_ms: Some(1_000),
                validators: set.clone(),
            },
            keys,
        )
    }

    fn vitals(key: Option<PublicKey>) -> Snapshot {
        Snapshot {
            gossip_peers: 3,
            consensus_peers: 3,
            known_peer_height: Some(10),
            key,
            last_vote_height: 10,
            missed_in_a_row: 0,
        }
    }

    fn codes(h: &Health) -> Vec<&'static str> {
        h.reasons.iter().map(|r| r.code).collect()
    }

    #[test]
    fn a_connected_voting_validator_in_step_is_ready() {
        let (ledger, keys) = view(10);
        let h = report(&ledger, &vitals(Some(keys[0])), 3_500);
        assert!(h.ready, "{h:?}");
        assert!(h.voting.validator && h.voting.signing);
        assert_eq!(h.sync_lag, 0);
        assert_eq!(h.last_commit_age_seconds, Some(2.5));
    }

    #[test]
    fn each_reason_is_named() {
        let (ledger, keys) = view(10);
        let mut v = vitals(Some(keys[1]));
        v.consensus_peers = 0;
        let h = report(&ledger, &v, 0);
        assert_eq!(codes(&h), ["no_peers"]);
        assert!(h.reasons[0].message.contains("consensus network"));
        assert!(!h.reasons[0].message.contains("gossip and"));

        // Within the bound is in step; beyond it is syncing.
        let (ledger, _) = view(8);
        assert!(report(&ledger, &vitals(Some(keys[1])), 0).ready);
        let (ledger, _) = view(7);
        let h = report(&ledger, &vitals(Some(keys[1])), 0);
        assert_eq!(codes(&h), ["syncing"]);
        assert_eq!(h.sync_lag, 3);

        let (ledger, _) = view(10);
        let mut v = vitals(Some(keys[2]));
        v.missed_in_a_row = MISSED_HEIGHTS_NOT_VOTING;
        let h = report(&ledger, &v, 0);
        assert_eq!(codes(&h), ["not_voting"]);
        assert!(h.voting.validator && !h.voting.signing);
        // One missed height is tolerated.
        v.missed_in_a_row = MISSED_HEIGHTS_NOT_VOTING - 1;
        assert!(report(&ledger, &v, 0).ready);

        // Everything at once, in order.
        let (ledger, _) = view(0);
        let mut v = vitals(Some(keys[3]));
        v.gossip_peers = 0;
        v.consensus_peers = 0;
        v.missed_in_a_row = 5;
        let h = report(&ledger, &v, 0);
        assert_eq!(codes(&h), ["no_peers", "syncing", "not_voting"]);
        assert!(h.reasons[0]
            .message
            .contains("gossip and consensus networks"));
    }

    #[test]
    fn an_observer_is_never_not_voting() {
        let (ledger, _) = view(10);
        let other = tradelog_protocol::sample::dev_key("org/eu-audit").public();
        let mut v = vitals(Some(other));
        v.missed_in_a_row = 9;
        let h = report(&ledger, &v, 0);
        assert!(h.ready);
        assert!(!h.voting.validator && !h.voting.signing);
        // Before consensus started there is no key: not a validator either.
        let h = report(&ledger, &vitals(None), 0);
        assert!(h.ready && !h.voting.validator);
    }
}

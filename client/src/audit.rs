//! Full audit: download every block from a node and re-verify the whole chain from the genesis:
//! each block's quorum certificate, every event's signature, issuer and role, the admission rules,
//! and that replaying the events reproduces each served head (log root, index root, prev link).
//! The first fault is reported precisely (height, event position, what failed).
//!
//! Blocks are fetched, parsed and signature-checked by one worker per core (block `h` by worker
//! `(h - 1) % n`) and applied in height order on the calling thread.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::RwLock;
use std::time::Instant;

use serde::Deserialize;
use tradelog_protocol::keys::verify_batch;
use tradelog_protocol::ledger::Known;
use tradelog_protocol::{Certificate, Event, EventId, Head, LedgerState, ValidatorSet};

use crate::light::{CertifiedHead, ClientError, LightClient};

/// Blocks each worker may hold ahead of the applier.
const AHEAD: usize = 4;

/// Why an audit stopped.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The node could not be asked, or its latest head did not verify.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The chain is faulty at a block.
    #[error("block #{height}: {what}")]
    Fault {
        /// Height of the first faulty block.
        height: u64,
        /// What failed.
        what: String,
    },
}

/// What a successful audit verified.
#[derive(Debug, Clone)]
pub struct AuditReport {
    /// The audited tip, certified.
    pub tip: CertifiedHead,
    /// Blocks verified.
    pub blocks: u64,
    /// Events verified.
    pub events: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Seconds the calling thread spent replaying blocks (the rest it waited for workers).
    pub replay_seconds: f64,
}

#[derive(Deserialize)]
struct BlockJson {
    head: Head,
    certificate: Certificate,
    events: Vec<Event>,
    /// Set by the worker when it verified the certificate under a validator set the replay had
    /// already proven; otherwise the replay verifies it under the set in force.
    #[serde(skip)]
    certified: bool,
}

/// Validator sets the replay has proven so far (the genesis set first): a `set_validators`
/// change (PROTOCOL.md 8a) adds the set of the heights after its block.
type Proven = RwLock<Vec<ValidatorSet>>;

/// A block whose certificate and signatures were checked by a worker.
type Checked = Result<BlockJson, AuditError>;

/// Everything about a block that needs no earlier block: parse, certificate, signatures.
fn fetch_and_check(client: &LightClient, sets: &Proven, height: u64) -> Checked {
    let fault = |what: String| AuditError::Fault { height, what };
    let r = client
        .endpoint()
        .get(&format!("/v1/blocks/{height}"))
        .map_err(|e| AuditError::Client(e.into()))?;
    if r.status != 200 {
        return Err(fault(format!(
            "the node does not serve it (HTTP {}): {}",
            r.status,
            String::from_utf8_lossy(&r.body)
                .chars()
                .take(300)
                .collect::<String>()
        )));
    }
    let mut b: BlockJson =
        serde_json::from_slice(&r.body).map_err(|e| fault(format!("malformed block JSON: {e}")))?;
    if b.head.height != height {
        return Err(fault(format!(
            "the node served block #{} instead",
            b.head.height
        )));
    }
    // The replay checks that the head names the set in force (it recomputes the head), so a
    // proven set with the named hash is the set in force.
    let set = sets
        .read()
        .map_err(|_| fault("validator sets unavailable".into()))?
        .iter()
        .find(|s| s.hash() == b.head.validators)
        .cloned();
    if let Some(set) = set {
        b.certificate
            .verify(&b.head, &set)
            .map_err(|e| fault(format!("certificate: {e}")))?;
        b.certified = true;
    }
    let items: Vec<_> = b
        .events
        .iter()
        .map(|e| (&e.body().issuer.key, e.message(), e.sig()))
        .collect();
    if let Err(bad) = verify_batch(&items) {
        let i = bad.first().copied().unwrap_or(0);
        let id = b.events.get(i).map(Event::id);
        return Err(fault(format!(
            "events[{i}] (id {}): signature does not verify",
            id.map_or_else(String::new, |id| id.to_string())
        )));
    }
    Ok(b)
}

/// Ids already in the replayed log; signatures were checked by the workers.
struct Replayed<'a>(&'a HashSet<EventId>);

impl Known for Replayed<'_> {
    fn in_log(&self, id: &EventId) -> bool {
        self.0.contains(id)
    }
    fn signature_checked(&self, _event: &Event) -> bool {
        true
    }
}

fn worker(
    client: &LightClient,
    sets: &Proven,
    first: u64,
    step: u64,
    tip: u64,
    stop: &AtomicBool,
    out: std::sync::mpsc::SyncSender<Checked>,
) {
    let mut h = first;
    while h <= tip && !stop.load(Ordering::Relaxed) {
        let checked = fetch_and_check(client, sets, h);
        let failed = checked.is_err();
        if out.send(checked).is_err() || failed {
            return;
        }
        h += step;
    }
}

/// Audits the node's whole chain up to its latest certified head (which must extend the
/// client's trusted head). `progress(height, tip, events)` is called after each block.
pub fn audit(
    client: &mut LightClient,
    mut progress: impl FnMut(u64, u64, u64),
) -> Result<AuditReport, AuditError> {
    let started = Instant::now();
    let tip = client.head()?;
    let tip_height = tip.head.height;
    let genesis = client.genesis().clone();
    // Replays only: the log's frontier instead of the whole log (no proofs are made here).
    let mut state = LedgerState::without_proofs(&genesis);
    let mut ids: HashSet<EventId> = HashSet::new();
    let mut events = 0u64;
    let mut replay = std::time::Duration::ZERO;
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8) as u64;
    let stop = AtomicBool::new(false);
    let sets: Proven = RwLock::new(vec![genesis.validator_set().clone()]);
    let client: &LightClient = client;
    let result = std::thread::scope(|scope| {
        let mut inboxes: Vec<Receiver<Checked>> = Vec::new();
        for w in 0..workers {
            let (tx, rx) = sync_channel(AHEAD);
            inboxes.push(rx);
            let (stop, sets) = (&stop, &sets);
            scope.spawn(move || worker(client, sets, w + 1, workers, tip_height, stop, tx));
        }
        let r = (|| -> Result<(), AuditError> {
            for height in 1..=tip_height {
                let inbox = &inboxes[((height - 1) % workers) as usize];
                let block = inbox.recv().map_err(|_| AuditError::Fault {
                    height,
                    what: "worker stopped without an answer".into(),
                })??;
                let fault = |what: String| AuditError::Fault { height, what };
                let replay_start = Instant::now();
                if !block.certified {
                    block
                        .certificate
                        .verify(&block.head, state.validators())
                        .map_err(|e| fault(format!("certificate: {e}")))?;
                }
                let (head, _) = state
                    .apply_block(&block.events, block.head.time, &Replayed(&ids))
                    .map_err(|e| fault(format!("replaying its events: {e}")))?;
                if head != block.head {
                    return Err(fault(format!(
                        "served head {} differs from the head its events produce {} \
                         (log root {} vs {}, index root {} vs {})",
                        block.head.hash(),
                        head.hash(),
                        block.head.log_root,
                        head.log_root,
                        block.head.index_root,
                        head.index_root
                    )));
                }
                ids.extend(block.events.iter().map(Event::id));
                // Only a membership event can change the set (and the workers read the list).
                let changes = block.events.iter().any(|e| e.body().membership.is_some());
                if changes {
                    if let Ok(mut proven) = sets.write() {
                        if !proven.contains(state.validators()) {
                            proven.push(state.validators().clone());
                        }
                    }
                }
                replay += replay_start.elapsed();
                events += block.events.len() as u64;
                progress(height, tip_height, events);
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        drop(inboxes);
        r
    });
    result?;
    if state.head() != Some(&tip.head) && tip_height > 0 {
        return Err(AuditError::Fault {
            height: tip_height,
            what: "the replayed chain does not end at the node's certified head".into(),
        });
    }
    Ok(AuditReport {
        tip,
        blocks: tip_height,
        events,
        seconds: started.elapsed().as_secs_f64(),
        replay_seconds: replay.as_secs_f64(),
    })
}

//! The node's ledger: storage, in-memory consensus state, the certified head and the mempool,
//! behind one handle shared by the API, gossip and consensus.
//!
//! Order of effects on commit: persist the block (fsynced batch), then apply it to the state,
//! then publish the new certified head, then drop its events from the mempool. A failed write
//! is returned as an error and the caller stops the node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tradelog_protocol::ledger::{Known, LedgerError, MAX_CLOCK_SKEW_MS};
use tradelog_protocol::{
    Certificate, ConsistencyProof, Event, EventId, EventKind, Genesis, Hash, Head, LedgerState,
    MembershipProof, Preview, ProofBundle, Signature, Subject, ValidatorSet,
};

use crate::mempool::{Inserted, Mempool, MempoolFull};
use crate::store::{
    check_genesis, open_state, CommittedBlock, Recovery, SledStore, Store, StoreError,
};

/// A block as proposed and voted on: the head it produces and its events.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// The head after the block.
    pub head: Head,
    /// The events, in log order.
    pub events: Vec<Event>,
}

/// Why a submitted event was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Refused by the ledger rules.
    #[error(transparent)]
    Rejected(#[from] LedgerError),
    /// Too far in the future of this node's clock.
    #[error(
        "body.time: {time} is more than {MAX_CLOCK_SKEW_MS} ms ahead of this node's clock ({now})"
    )]
    Future {
        /// Event time.
        time: u64,
        /// Node clock.
        now: u64,
    },
    /// No room.
    #[error(transparent)]
    Full(#[from] MempoolFull),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a known event is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventStatus {
    /// In the log at this position.
    Committed {
        /// Log position.
        index: u64,
    },
    /// Waiting in the mempool.
    Pending,
}

/// The outcome of an accepted submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The event id.
    pub id: EventId,
    /// Where it is now.
    pub status: EventStatus,
    /// False if this exact event was already known (idempotent resubmission).
    pub new: bool,
}

/// What a node knows: events in its store are in the log; events in its mempool had their
/// signatures verified at admission, so block validation does not verify them again.
struct Pending<'a> {
    chain: &'a Chain,
    pending: &'a Mempool,
}

impl Known for Pending<'_> {
    fn in_log(&self, id: &EventId) -> bool {
        self.chain.in_log(id)
    }
    fn signature_checked(&self, event: &Event) -> bool {
        self.pending.contains_exact(event)
    }
}

/// The shared ledger of one node.
#[derive(Debug)]
pub struct Chain {
    genesis: Genesis,
    store: SledStore,
    state: RwLock<LedgerState>,
    certified: RwLock<Option<(Head, Certificate)>>,
    mempool: Mutex<Mempool>,
    /// Wakes [`Chain::events_pending`] when an event enters the mempool.
    arrivals: tokio::sync::Notify,
    /// Blocks this node built or validated, by head hash, with the index they produce: commit
    /// reuses it instead of indexing the block's events again.
    previews: Mutex<HashMap<Hash, Preview>>,
}

/// Most block previews kept (one per proposal seen at the current height).
const MAX_PREVIEWS: usize = 16;

/// This node's clock: milliseconds since 1970 (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Locks a mutex, taking it over from a thread that panicked while holding it.
pub(crate) fn lock<T>(l: &Mutex<T>) -> MutexGuard<'_, T> {
    l.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Chain {
    /// Opens the data dir, replays and verifies every stored block.
    pub fn open(
        genesis: Genesis,
        dir: &std::path::Path,
        mempool_capacity: usize,
    ) -> Result<(Arc<Chain>, Recovery), StoreError> {
        let store = SledStore::open(dir)?;
        check_genesis(&store, &genesis)?;
        let (state, recovery) = open_state(&store, &genesis)?;
        let certified = match store.tip()? {
            0 => None,
            h => store.header(h)?,
        };
        let chain = Chain {
            genesis,
            store,
            state: RwLock::new(state),
            certified: RwLock::new(certified),
            mempool: Mutex::new(Mempool::new(mempool_capacity)),
            arrivals: tokio::sync::Notify::new(),
            previews: Mutex::new(HashMap::new()),
        };
        Ok((Arc::new(chain), recovery))
    }

    /// The genesis document.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The store.
    pub fn store(&self) -> &SledStore {
        &self.store
    }

    fn in_log(&self, id: &EventId) -> bool {
        // A storage error counts as "known": the event is refused rather than duplicated.
        self.store.event(id).map_or(true, |e| e.is_some())
    }

    /// Admits an event into the mempool (rules of PROTOCOL.md section 8 plus the clock skew),
    /// or reports where it already is. `now` is this node's clock in ms.
    pub fn submit(&self, event: Event, now: u64) -> Result<Submitted, SubmitError> {
        let id = event.id();
        if let Some((index, _)) = self.store.event(&id)? {
            return Ok(Submitted {
                id,
                status: EventStatus::Committed { index },
                new: false,
            });
        }
        if lock(&self.mempool).contains(&id) {
            return Ok(Submitted {
                id,
                status: EventStatus::Pending,
                new: false,
            });
        }
        if event.body().time > now.saturating_add(MAX_CLOCK_SKEW_MS) {
            return Err(SubmitError::Future {
                time: event.body().time,
                now,
            });
        }
        read(&self.state).check_event(&event, &|_: &EventId| false)?;
        let new = lock(&self.mempool).insert(event)? == Inserted::New;
        if new {
            self.arrivals.notify_waiters();
        }
        Ok(Submitted {
            id,
            status: EventStatus::Pending,
            new,
        })
    }

    /// Status of a known event.
    pub fn status(&self, id: &EventId) -> Result<Option<(EventStatus, Event)>, StoreError> {
        if let Some((index, e)) = self.store.event(id)? {
            return Ok(Some((EventStatus::Committed { index }, e)));
        }
        let pending = lock(&self.mempool).get(id);
        Ok(pending.map(|e| (EventStatus::Pending, e)))
    }

    /// Builds the next block from up to `max_events` pending events at block time `time`
    /// (`None` only if `time` is before the last head's). Events that are no longer admissible
    /// are dropped from the mempool; events too far ahead of `time` stay pending.
    pub fn propose(&self, max_events: usize, time: u64) -> Option<Block> {
        let candidates = lock(&self.mempool).peek(max_events);
        let state = write(&self.state);
        let (mut events, mut dropped): (Vec<Event>, Vec<EventId>) = (Vec::new(), Vec::new());
        for e in candidates {
            if e.body().time > time.saturating_add(MAX_CLOCK_SKEW_MS) {
                continue;
            }
            if self.in_log(&e.id()) {
                dropped.push(e.id());
            } else {
                events.push(e);
            }
        }
        let pending = lock(&self.mempool);
        let known = Pending {
            chain: self,
            pending: &pending,
        };
        let preview = match state.preview(&events, time, &known) {
            Ok(preview) => preview,
            Err(_) => {
                // Keep only the events that pass on their own (membership may have changed),
                // and at most one membership change, placed last: then no event of the block
                // depends on a change made earlier in it, and each passes as it did alone.
                let (ok, bad): (Vec<Event>, Vec<Event>) = events
                    .into_iter()
                    .partition(|e| state.check_event(e, &known).is_ok());
                dropped.extend(bad.iter().map(Event::id));
                let (mut plain, changes): (Vec<Event>, Vec<Event>) = ok
                    .into_iter()
                    .partition(|e| e.body().kind != EventKind::Membership);
                plain.extend(changes.into_iter().take(1));
                events = plain;
                state.preview(&events, time, &known).ok()?
            }
        };
        drop(pending);
        drop(state);
        lock(&self.mempool).remove(dropped.iter());
        let head = preview.head().clone();
        self.keep_preview(preview);
        Some(Block { head, events })
    }

    /// Checks a proposed block: its events are admissible and its head is the one they produce.
    pub fn validate(&self, block: &Block) -> Result<(), String> {
        let state = write(&self.state);
        let expected_height = state.head().map_or(1, |h| h.height + 1);
        if block.head.height != expected_height {
            return Err(format!(
                "block height {} is not the next height {expected_height}",
                block.head.height
            ));
        }
        let preview = state
            .preview(
                &block.events,
                block.head.time,
                &Pending {
                    chain: self,
                    pending: &lock(&self.mempool),
                },
            )
            .map_err(|e| e.to_string())?;
        if preview.head() != &block.head {
            return Err(format!(
                "block head {} differs from the recomputed head {}",
                block.head.hash(),
                preview.head().hash()
            ));
        }
        drop(state);
        self.keep_preview(preview);
        // Events whose signatures this validation just checked join the mempool (room
        // permitting), so their gossip copies, arriving later, are not verified again; they
        // leave it with the block that commits them.
        let mut pending = lock(&self.mempool);
        for e in &block.events {
            if !pending.contains(&e.id()) && pending.insert(e.clone()).is_err() {
                break;
            }
        }
        Ok(())
    }

    fn keep_preview(&self, preview: Preview) {
        let mut previews = lock(&self.previews);
        if previews.len() >= MAX_PREVIEWS {
            previews.clear();
        }
        previews.insert(preview.head().hash(), preview);
    }

    /// Persists and applies a decided block with its certificate.
    pub fn commit(&self, block: &Block, certificate: Certificate) -> Result<(), StoreError> {
        let mut state = write(&self.state);
        let committed = CommittedBlock {
            head: block.head.clone(),
            certificate: certificate.clone(),
            events: block.events.clone(),
        };
        self.store.commit(&committed)?;
        let preview = lock(&self.previews).remove(&block.head.hash());
        let (head, _) = match preview.and_then(|p| state.apply_preview(&block.events, p)) {
            Some(applied) => applied,
            None => state.append_checked(&block.events, block.head.time),
        };
        // Previews of this height's other proposals can no longer apply.
        lock(&self.previews).retain(|_, p| p.head().height > head.height);
        if head != block.head {
            return Err(StoreError::Corrupt {
                key: format!("block {}", block.head.height),
                reason: "decided head differs from the locally computed head".into(),
            });
        }
        *write(&self.certified) = Some((head, certificate));
        drop(state);
        lock(&self.mempool).remove(
            block
                .events
                .iter()
                .map(|e| e.id())
                .collect::<Vec<_>>()
                .iter(),
        );
        Ok(())
    }

    /// The latest certified head and its certificate.
    pub fn certified(&self) -> Option<(Head, Certificate)> {
        read(&self.certified).clone()
    }

    /// Height of the last committed block (0 before the first).
    pub fn height(&self) -> u64 {
        read(&self.state).head().map_or(0, |h| h.height)
    }

    /// Pending events.
    pub fn mempool_len(&self) -> usize {
        lock(&self.mempool).len()
    }

    /// Resolves once the mempool holds an event (at once if it already does).
    pub async fn events_pending(&self) {
        loop {
            let notified = self.arrivals.notified();
            tokio::pin!(notified);
            // Registered before the check, so an event admitted in between still wakes us.
            notified.as_mut().enable();
            if self.mempool_len() > 0 {
                return;
            }
            notified.await;
        }
    }

    /// Up to `max` pending events, oldest first.
    pub fn pending(&self, max: usize) -> Vec<Event> {
        lock(&self.mempool).peek(max)
    }

    /// The pending event with this id and exactly this signature, if any.
    pub fn pending_exact(&self, id: &EventId, sig: &Signature) -> Option<Event> {
        lock(&self.mempool).get_exact(id, sig)
    }

    /// The proof bundle of a subject against the latest certified head.
    pub fn provenance(&self, subject: &Subject) -> Result<Option<ProofBundle>, StoreError> {
        let state = read(&self.state);
        let Some((head, cert)) = self.certified() else {
            return Ok(None);
        };
        if state.head() != Some(&head) {
            return Ok(None);
        }
        let events = self.store.subject_events(subject, head.log_size)?;
        let Some(membership) = self.membership_proof(&state, &head)? else {
            return Ok(None);
        };
        Ok(state.bundle(subject, events, cert, membership))
    }

    /// The membership proof (PROTOCOL.md 9d) at `head`, the head of `state`.
    fn membership_proof(
        &self,
        state: &LedgerState,
        head: &Head,
    ) -> Result<Option<MembershipProof>, StoreError> {
        let events = self
            .store
            .subject_events(&Subject::Membership, head.log_size)?;
        let mut certified = Vec::new();
        for t in state.transitions() {
            if let Some(hc) = self.store.header(t.height)? {
                certified.push((t.height, hc));
            }
        }
        Ok(state.membership_proof(events, |h| {
            certified
                .iter()
                .find(|(height, _)| *height == h)
                .map(|(_, hc)| hc.clone())
        }))
    }

    /// The latest certified head, its certificate and the membership proof at it: what a
    /// light client needs to follow validator-set and key changes from the genesis alone.
    pub fn membership(&self) -> Result<Option<(Head, Certificate, MembershipProof)>, StoreError> {
        let state = read(&self.state);
        let Some((head, cert)) = self.certified() else {
            return Ok(None);
        };
        if state.head() != Some(&head) {
            return Ok(None);
        }
        Ok(self
            .membership_proof(&state, &head)?
            .map(|m| (head, cert, m)))
    }

    /// The membership in force after the last committed block.
    pub fn current_membership(&self) -> tradelog_protocol::Membership {
        read(&self.state).membership().clone()
    }

    /// The validator set of the next height (changed by `set_validators` membership events).
    pub fn next_validators(&self) -> ValidatorSet {
        read(&self.state).validators().clone()
    }

    /// Consistency proof between two log sizes of the current log.
    pub fn consistency(&self, first: u64, second: u64) -> Option<ConsistencyProof> {
        read(&self.state).log().prove_consistency(first, second)
    }

    /// Log root at a size of the current log.
    pub fn root_at(&self, size: u64) -> Option<tradelog_protocol::Hash> {
        read(&self.state).log().root_at(size)
    }
}

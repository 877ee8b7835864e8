//! The node's ledger handle shared by the API, gossip and consensus: the ledger over its disk
//! store ([`crate::ledger`]), the mempool ([`crate::mempool`], with its wake-up), and the
//! previews of blocks this node built or validated (so a commit does not compute them again).
//!
//! Admission verifies signatures in batches, outside every lock; block validation batch-verifies
//! the events it does not hold already verified in its mempool. Order of effects on commit:
//! persist the block (synced files, then its record), then swap in the new state, then drop
//! its events from the mempool. A failed write is returned as an error and the caller stops
//! the node.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tradelog_protocol::ledger::{Known, LedgerError, MAX_CLOCK_SKEW_MS};
use tradelog_protocol::roles::AuthError;
use tradelog_protocol::{
    keys, Certificate, ChainState, ConsistencyProof, Event, EventError, EventId, EventKind,
    Genesis, Hash, Head, MembershipProof, ProofBundle, PublicKey, Signature, Subject, ValidatorSet,
};

use crate::block::Block;
use crate::ledger::{BlockError, NodeLedger, NodePreview, RouteError};
use crate::mempool::{Inserted, Mempool, MempoolError, Quota};
use crate::store::{DiskStore, Opened, Store, StoreConfig, StoreError};

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
    /// No room, or the issuing organisation is over its quota or share.
    #[error(transparent)]
    Mempool(#[from] MempoolError),
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
    /// Set when the event given was not added because `id`, the event the ledger keeps, has
    /// the same source key (PROTOCOL.md 8e): the id of the event given.
    pub given: Option<EventId>,
}

/// What a node knows while it checks a block: events in its store are in the log; events in
/// its mempool, and those of `verified`, had their signatures verified.
struct Pending<'a> {
    ledger: &'a NodeLedger,
    pending: &'a Mempool,
    verified: &'a HashSet<(EventId, [u8; 64])>,
}

impl Known for Pending<'_> {
    fn in_log(&self, id: &EventId) -> bool {
        // The mempool never holds a committed event (see `Chain::commits`): no lookup needed.
        !self.pending.contains(id) && self.ledger.in_log(id)
    }
    fn signature_checked(&self, event: &Event) -> bool {
        self.pending.contains_exact(event)
            || self
                .verified
                .contains(&(event.id(), event.sig().to_bytes()))
    }
}

/// Which of `events` have valid signatures (PROTOCOL.md section 1), verified as one batch
/// (split over the machine's cores when large); a bad signature fails only its own event.
pub fn verify_signatures_of(events: &[&Event]) -> Vec<bool> {
    const PER_THREAD: usize = 256;
    let check = |chunk: &[&Event]| -> Vec<bool> {
        keys::signature_failures(chunk.iter().copied())
            .into_iter()
            .map(|bad| !bad)
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if events.len() < 2 * PER_THREAD || threads < 2 {
        return check(events);
    }
    let per = events.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = events
            .chunks(per)
            .map(|c| s.spawn(move || check(c)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// The node keys the peer gates admit (gossip: [`crate::gossip`]), as of the last committed
/// block: published by [`Chain::peer_keys`] and changed by the commit of a block that holds a
/// membership change, so an added, rotated or revoked key takes effect where it binds (a key
/// change at the next log position, a validator set at the next height) without a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerKeys {
    /// Every current event key of the membership and every key of the next height's validators.
    pub allowed: BTreeSet<PublicKey>,
    /// Revoked event keys that are not allowed otherwise, each with the log position of the
    /// membership event that revoked it (for the refusal's message).
    pub revoked: BTreeMap<PublicKey, u64>,
}

impl PeerKeys {
    /// The keys admitted in `state`.
    pub fn of(state: &ChainState) -> PeerKeys {
        let allowed: BTreeSet<PublicKey> = state
            .membership()
            .orgs()
            .flat_map(|o| o.keys.iter().copied())
            .chain(state.validators().validators().iter().map(|v| v.key))
            .collect();
        let revoked = state
            .membership()
            .revoked()
            .filter(|(k, _, _)| !allowed.contains(*k))
            .map(|(k, _, at)| (*k, at))
            .collect();
        PeerKeys { allowed, revoked }
    }
}

/// Block previews by head hash (one per proposal seen at the current height).
#[derive(Debug, Default)]
struct Previews(Mutex<HashMap<Hash, NodePreview>>);

/// Most block previews kept.
const MAX_PREVIEWS: usize = 16;

/// How long an event may wait in the mempool for an event it `refs` that this node's log does
/// not hold yet (ms). Events of one consignment reach nodes by different paths: a carrier's
/// event can reach a node before the platform's booking it follows (and that makes the carrier
/// a party, docs/PROTOCOL.md 8c). Within this time such an event is admitted even if its issuer
/// is not yet a party, and left out of blocks until the events it refs are in the log or
/// earlier in the block; after it, its refs no longer hold it back and the party rule decides.
pub const REF_WAIT_MS: u64 = 30_000;

impl Previews {
    fn keep(&self, preview: NodePreview) {
        let mut p = lock(&self.0);
        if p.len() >= MAX_PREVIEWS {
            p.clear();
        }
        p.insert(preview.head().hash(), preview);
    }

    fn take(&self, head: &Hash) -> Option<NodePreview> {
        lock(&self.0).remove(head)
    }

    fn forget_up_to(&self, height: u64) {
        lock(&self.0).retain(|_, p| p.head().height > height);
    }
}

/// The shared ledger of one node.
#[derive(Debug)]
pub struct Chain {
    ledger: NodeLedger,
    mempool: Mutex<Mempool>,
    /// Wakes [`Chain::events_pending`] when an event enters the mempool.
    arrivals: tokio::sync::Notify,
    previews: Previews,
    /// Blocks committed: bumped after a block is visible in the store and before its events
    /// leave the mempool. Admission that looked events up in an earlier epoch looks them up
    /// again before it inserts them, so the mempool never holds a committed event.
    commits: std::sync::atomic::AtomicU64,
    /// The keys the peer gates admit, updated by commits that change the membership.
    peer_keys: tokio::sync::watch::Sender<PeerKeys>,
    /// The log size after the last commit: long-polling readers wait on it.
    committed: tokio::sync::watch::Sender<u64>,
    /// Events that waited [`REF_WAIT_MS`] for the events they ref and were then dropped by the
    /// party rule: admission no longer lets them wait (a peer re-gossiping one would otherwise
    /// keep it coming back every 30 s). Bounded: cleared when it reaches [`MAX_WAITED`].
    waited: Mutex<HashSet<EventId>>,
}

/// Most event ids [`Chain`] remembers as having waited once.
const MAX_WAITED: usize = 65_536;

/// This node's clock: milliseconds since 1970 (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Locks a mutex, taking it over from a thread that panicked while holding it.
pub(crate) fn lock<T>(l: &Mutex<T>) -> MutexGuard<'_, T> {
    l.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Chain {
    /// Opens the data dir (see [`NodeLedger::open`]).
    pub fn open(
        genesis: Genesis,
        dir: &std::path::Path,
        mempool_capacity: usize,
        store: StoreConfig,
    ) -> Result<(Arc<Chain>, Opened), StoreError> {
        let (ledger, opened) = NodeLedger::open(genesis, dir, store)?;
        let (peer_keys, _) = tokio::sync::watch::channel(PeerKeys::of(&ledger.chain()));
        let (committed, _) =
            tokio::sync::watch::channel(ledger.certified().map_or(0, |(h, _)| h.log_size));
        let chain = Chain {
            peer_keys,
            committed,
            ledger,
            mempool: Mutex::new(Mempool::new(mempool_capacity)),
            arrivals: tokio::sync::Notify::new(),
            previews: Previews::default(),
            commits: std::sync::atomic::AtomicU64::new(0),
            waited: Mutex::new(HashSet::new()),
        };
        Ok((Arc::new(chain), opened))
    }

    /// Sets the per-organisation admission quota (config `[admission]`; default: none).
    pub fn set_quota(&self, quota: Quota) {
        lock(&self.mempool).set_quota(quota);
    }

    /// The genesis document.
    pub fn genesis(&self) -> &Genesis {
        self.ledger.genesis()
    }

    /// The store.
    pub fn store(&self) -> &DiskStore {
        self.ledger.store()
    }

    /// The ledger.
    pub fn ledger(&self) -> &NodeLedger {
        &self.ledger
    }

    /// Admits one event (see [`Chain::submit_many`]).
    pub fn submit(&self, event: Event, now: u64) -> Result<Submitted, SubmitError> {
        self.submit_many(vec![event], now)
            .pop()
            .unwrap_or(Err(SubmitError::Store(StoreError::Corrupt {
                key: "submit".into(),
                reason: "no result".into(),
            })))
    }

    /// Admits events into the mempool (rules of PROTOCOL.md section 8 plus the clock skew), or
    /// reports where each already is; one result per event, in order. Events already held are
    /// answered before any signature work; the others' signatures are verified as one batch,
    /// with no lock held. `now` is this node's clock in ms.
    pub fn submit_many(&self, events: Vec<Event>, now: u64) -> Vec<Result<Submitted, SubmitError>> {
        let epoch = self.commits.load(std::sync::atomic::Ordering::SeqCst);
        let mut out: Vec<Option<Result<Submitted, SubmitError>>> =
            (0..events.len()).map(|_| None).collect();
        let mut todo: Vec<usize> = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let id = event.id();
            let known = match self.store().position(&id) {
                Err(e) => Some(Err(e.into())),
                Ok(Some(index)) => Some(Ok(Submitted {
                    id,
                    status: EventStatus::Committed { index },
                    new: false,
                    given: None,
                })),
                Ok(None) if lock(&self.mempool).contains(&id) => Some(Ok(Submitted {
                    id,
                    status: EventStatus::Pending,
                    new: false,
                    given: None,
                })),
                Ok(None) if event.body().time > now.saturating_add(MAX_CLOCK_SKEW_MS) => {
                    Some(Err(SubmitError::Future {
                        time: event.body().time,
                        now,
                    }))
                }
                Ok(None) => None,
            };
            match known {
                Some(r) => out[i] = Some(r),
                None => todo.push(i),
            }
        }
        // Whether each event refs one this node's log does not hold (looked up before the
        // ledger's state is read: the store lookup takes the same lock).
        let unknown_ref: HashSet<usize> = todo
            .iter()
            .copied()
            .filter(|&i| events[i].body().refs.iter().any(|r| !self.in_log(r)))
            .collect();
        let mut same: HashMap<usize, EventId> = HashMap::new();
        self.ledger.with_chain(|chain: &ChainState, parties| {
            todo.retain(|&i| match chain.authorize(&events[i], parties) {
                Ok(()) => true,
                // The ledger keeps the first event of a source (8e): once the signature
                // verified, the answer is that event.
                Err(LedgerError::SameSource { first, .. }) => {
                    same.insert(i, first);
                    true
                }
                // Not a party yet, but it follows an event this node's log does not hold: the
                // event naming it a party may be on its way (REF_WAIT_MS); block building
                // decides.
                // Likewise a risk outcome whose advance data (8i) this node has not committed.
                Err(LedgerError::Auth(AuthError::NotAParty { .. }) | LedgerError::Outcome(_))
                    if unknown_ref.contains(&i)
                        && !lock(&self.waited).contains(&events[i].id()) =>
                {
                    true
                }
                Err(e) => {
                    out[i] = Some(Err(e.into()));
                    false
                }
            });
        });
        // An organisation over its quota or share is refused before any signature work (its
        // quota is charged only below, once the signature verified: events forged in its name
        // cannot use it up).
        {
            let mut pool = lock(&self.mempool);
            todo.retain(|&i| match pool.would_admit(&events[i], now) {
                None => true,
                Some(_) if same.contains_key(&i) => true,
                Some(refused) => {
                    out[i] = Some(Err(refused.into()));
                    false
                }
            });
        }
        let to_verify: Vec<&Event> = todo.iter().map(|&i| &events[i]).collect();
        let valid = verify_signatures_of(&to_verify);
        let mut admitted = false;
        {
            let mut pool = lock(&self.mempool);
            let recheck = self.commits.load(std::sync::atomic::Ordering::SeqCst) != epoch;
            for (&i, ok) in todo.iter().zip(valid) {
                let event = &events[i];
                if recheck {
                    match self.store().position(&event.id()) {
                        Ok(Some(index)) => {
                            out[i] = Some(Ok(Submitted {
                                id: event.id(),
                                status: EventStatus::Committed { index },
                                new: false,
                                given: None,
                            }));
                            continue;
                        }
                        Err(e) => {
                            out[i] = Some(Err(e.into()));
                            continue;
                        }
                        Ok(None) => {}
                    }
                }
                if let (Some(first), true) = (same.get(&i), ok) {
                    out[i] = Some(self.same_source(*first, event.id()));
                    continue;
                }
                out[i] = Some(if !ok {
                    Err(LedgerError::Event(
                        event
                            .verify_signature()
                            .err()
                            .unwrap_or(EventError::Malformed("signature".into())),
                    )
                    .into())
                } else {
                    match pool.insert(event.clone(), now) {
                        Ok(Inserted::SameSource(first)) => Ok(Submitted {
                            id: first,
                            status: EventStatus::Pending,
                            new: false,
                            given: Some(event.id()),
                        }),
                        Ok(inserted) => {
                            admitted |= inserted == Inserted::New;
                            Ok(Submitted {
                                id: event.id(),
                                status: EventStatus::Pending,
                                new: inserted == Inserted::New,
                                given: None,
                            })
                        }
                        Err(refused) => Err(refused.into()),
                    }
                });
            }
        }
        if admitted {
            self.arrivals.notify_waiters();
        }
        out.into_iter()
            .map(|r| {
                r.unwrap_or(Err(SubmitError::Store(StoreError::Corrupt {
                    key: "submit".into(),
                    reason: "no result".into(),
                })))
            })
            .collect()
    }

    /// The answer for an event whose source key (8e) `first` already holds in the log.
    fn same_source(&self, first: EventId, given: EventId) -> Result<Submitted, SubmitError> {
        let status = match self.store().position(&first)? {
            Some(index) => EventStatus::Committed { index },
            None => EventStatus::Pending,
        };
        Ok(Submitted {
            id: first,
            status,
            new: false,
            given: Some(given),
        })
    }

    /// Status of a known event.
    pub fn status(&self, id: &EventId) -> Result<Option<(EventStatus, Event)>, StoreError> {
        if let Some((index, e)) = self.store().event(id)? {
            return Ok(Some((EventStatus::Committed { index }, e)));
        }
        let pending = lock(&self.mempool).get(id);
        Ok(pending.map(|e| (EventStatus::Pending, e)))
    }

    /// True if the event is in the committed log.
    pub fn in_log(&self, id: &EventId) -> bool {
        self.ledger.in_log(id)
    }

    /// Builds the next block from up to `max_events` pending events at block time `time`
    /// (`None` only if `time` is before the last head's). Events that are no longer admissible
    /// are dropped from the mempool; events too far ahead of `time` stay pending.
    pub fn propose(&self, max_events: usize, time: u64) -> Option<Block> {
        // The candidates, and when each entered the mempool (read under one lock).
        let (candidates, arrived, pending): (Vec<Event>, HashMap<EventId, u64>, usize) = {
            let pool = lock(&self.mempool);
            let candidates = pool.peek(max_events);
            let arrived = candidates
                .iter()
                .map(|e| (e.id(), pool.arrived(&e.id()).unwrap_or(0)))
                .collect();
            (candidates, arrived, pool.len())
        };
        let offered = candidates.len();
        let (mut events, mut dropped): (Vec<Event>, Vec<EventId>) = (Vec::new(), Vec::new());
        // Events left for a later block, and those that follow one of them (refs): the
        // candidates come in causal order, so one forward pass keeps it.
        // An event whose refs are neither in the log nor earlier in the block waits for them
        // (up to REF_WAIT_MS after it arrived).
        let mut held: HashSet<EventId> = HashSet::new();
        // The first event held back, and why (for the log).
        let mut first_held: Option<(EventId, &'static str)> = None;
        let mut taken: HashSet<EventId> = HashSet::new();
        let waiting = |e: &Event| {
            let at = arrived.get(&e.id()).copied().unwrap_or(0);
            time < at.saturating_add(REF_WAIT_MS)
        };
        for e in candidates {
            let refs = &e.body().refs;
            let why = if e.body().time > time.saturating_add(MAX_CLOCK_SKEW_MS) {
                Some("its time is ahead of the block's")
            } else if refs.iter().any(|r| held.contains(r)) {
                Some("it refs an event held back")
            } else if refs.iter().any(|r| !taken.contains(r) && !self.in_log(r)) && waiting(&e) {
                Some("it waits for events it refs")
            } else {
                None
            };
            if let Some(why) = why {
                first_held.get_or_insert((e.id(), why));
                held.insert(e.id());
                continue;
            }
            if self.in_log(&e.id()) {
                dropped.push(e.id());
            } else {
                taken.insert(e.id());
                events.push(e);
            }
        }
        let verified = HashSet::new();
        let preview = {
            let pending = lock(&self.mempool);
            let known = Pending {
                ledger: &self.ledger,
                pending: &pending,
                verified: &verified,
            };
            match self.ledger.preview(&events, time, &known) {
                Ok(preview) => preview,
                Err(_) => {
                    // Keep the events that are admissible in order after the ones kept before
                    // them (membership may have changed; a consignment's parties may be named
                    // by an earlier event of the block), drop the others.
                    let (kept, refused) = self
                        .ledger
                        .with_chain(|chain, parties| chain.select(events, time, &known, parties));
                    for (e, why) in &refused {
                        tracing::debug!(event = %e.id(), %why, "dropped from the block being built");
                    }
                    // Not a party yet while the events it refs may still come: it stays. Once
                    // its wait is over it is dropped, and may not wait again.
                    let mut gave_up = Vec::new();
                    for (e, why) in &refused {
                        if matches!(why, LedgerError::Auth(AuthError::NotAParty { .. })) {
                            if waiting(e) {
                                continue;
                            }
                            gave_up.push(e.id());
                        }
                        dropped.push(e.id());
                    }
                    if !gave_up.is_empty() {
                        let mut w = lock(&self.waited);
                        if w.len() + gave_up.len() > MAX_WAITED {
                            w.clear();
                        }
                        w.extend(gave_up);
                    }
                    events = kept;
                    match self.ledger.preview(&events, time, &known) {
                        Ok(preview) => preview,
                        Err(why) => {
                            tracing::warn!(%why, events = events.len(), "no block: the events kept for it are not admissible together");
                            return None;
                        }
                    }
                }
            }
        };
        if events.len() < pending {
            let (first, why) = first_held.map_or((String::new(), ""), |(id, why)| {
                let age = time.saturating_sub(arrived.get(&id).copied().unwrap_or(0));
                (format!("{id} (in the mempool for {age} ms)"), why)
            });
            tracing::debug!(
                pending,
                offered,
                taken = events.len(),
                held = held.len(),
                dropped = dropped.len(),
                first_held = %first,
                why,
                "the block leaves pending events"
            );
        }
        lock(&self.mempool).remove(dropped.iter());
        let head = preview.head().clone();
        self.previews.keep(preview);
        Some(Block { head, events })
    }

    /// Drops the pending events that can never be built into a block: their wait for the events
    /// they ref is over (arrived more than [`REF_WAIT_MS`] before `now`), none of their refs is
    /// pending (each is in the log or lost), and the party rule refuses them. They may not wait
    /// again (`waited`). [`Chain::propose`] drops them too, but only on this node's turn to
    /// propose, which idle heights (`empty_block_interval_ms`) can put minutes away; meanwhile
    /// they would be gossiped again to peers that refuse them. Returns how many were dropped.
    pub fn sweep(&self, now: u64) -> usize {
        let old = lock(&self.mempool).waiting_since(now.saturating_sub(REF_WAIT_MS));
        if old.is_empty() {
            return 0;
        }
        let refused: Vec<EventId> = self.ledger.with_chain(|chain, parties| {
            old.iter()
                .filter(|e| {
                    matches!(
                        chain.authorize(e, parties),
                        Err(LedgerError::Auth(AuthError::NotAParty { .. }))
                    )
                })
                .map(Event::id)
                .collect()
        });
        if refused.is_empty() {
            return 0;
        }
        let mut pool = lock(&self.mempool);
        // A ref that arrived meanwhile lets the event wait for its decision.
        let gone: Vec<EventId> = refused
            .into_iter()
            .filter(|id| {
                pool.get(id)
                    .is_some_and(|e| !e.body().refs.iter().any(|r| pool.contains(r)))
            })
            .collect();
        pool.remove(gone.iter());
        let mut w = lock(&self.waited);
        if w.len() + gone.len() > MAX_WAITED {
            w.clear();
        }
        let n = gone.len();
        if n > 0 {
            tracing::debug!(dropped = n, "pending events the party rule refuses dropped");
        }
        w.extend(gone);
        n
    }

    /// Checks a proposed block: its events are admissible and its head is the one they produce.
    /// The signatures of events this node does not hold verified are checked as one batch.
    pub fn validate(&self, block: &Block) -> Result<(), String> {
        self.check(block, true)
    }

    /// Checks a block that value sync delivered with a commit certificate the engine already
    /// verified under this height's validator set: every rule but the events' signatures, which
    /// the validators that certified it checked (docs/adr/004-state-on-disk.md says why this is
    /// safe); `verify_signatures` checks them too.
    pub fn validate_certified(&self, block: &Block, verify_signatures: bool) -> Result<(), String> {
        self.check(block, verify_signatures)
    }

    fn check(&self, block: &Block, verify_signatures: bool) -> Result<(), String> {
        let expected_height = self.height() + 1;
        if block.head.height != expected_height {
            return Err(format!(
                "block height {} is not the next height {expected_height}",
                block.head.height
            ));
        }
        let unverified: Vec<&Event> = {
            let pool = lock(&self.mempool);
            block
                .events
                .iter()
                .filter(|e| !pool.contains_exact(e))
                .collect()
        };
        if verify_signatures {
            let valid = verify_signatures_of(&unverified);
            if let Some(bad) = unverified.iter().zip(&valid).find(|(_, ok)| !**ok) {
                return Err(format!(
                    "event {}: sig: the signature does not verify",
                    bad.0.id()
                ));
            }
        }
        // Verified now, or (certified blocks) vouched for by the certificate's signers.
        let verified: HashSet<(EventId, [u8; 64])> = unverified
            .iter()
            .map(|e| (e.id(), e.sig().to_bytes()))
            .collect();
        let preview = {
            let pending = lock(&self.mempool);
            self.ledger
                .preview(
                    &block.events,
                    block.head.time,
                    &Pending {
                        ledger: &self.ledger,
                        pending: &pending,
                        verified: &verified,
                    },
                )
                .map_err(|e: BlockError| e.to_string())?
        };
        if preview.head() != &block.head {
            return Err(format!(
                "block head {} differs from the recomputed head {}",
                block.head.hash(),
                preview.head().hash()
            ));
        }
        self.previews.keep(preview);
        // Events whose signatures this validation just checked join the mempool (room
        // permitting), so their gossip copies, arriving later, are not verified again; they
        // leave it with the block that commits them.
        if !verify_signatures {
            return Ok(());
        }
        let mut pending = lock(&self.mempool);
        for e in unverified {
            if !pending.contains(&e.id()) && pending.insert_checked(e.clone()).is_err() {
                break;
            }
        }
        Ok(())
    }

    /// Persists and applies a decided block with its certificate.
    pub fn commit(&self, block: &Block, certificate: Certificate) -> Result<(), StoreError> {
        let preview = self.previews.take(&block.head.hash());
        self.ledger.commit(block, &certificate, preview)?;
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.committed.send_replace(block.head.log_size);
        self.previews.forget_up_to(block.head.height);
        if block
            .events
            .iter()
            .any(|e| e.body().kind == EventKind::Membership)
        {
            let keys = PeerKeys::of(&self.ledger.chain());
            self.peer_keys.send_if_modified(|k| {
                let changed = *k != keys;
                *k = keys;
                changed
            });
        }
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
        self.ledger.certified()
    }

    /// Height of the last committed block (0 before the first).
    pub fn height(&self) -> u64 {
        self.ledger.height()
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

    /// Up to `max` pending events, in block order (round-robin across issuers).
    pub fn pending(&self, max: usize) -> Vec<Event> {
        lock(&self.mempool).peek(max)
    }

    /// The pending event with this id and exactly this signature, if any.
    pub fn pending_exact(&self, id: &EventId, sig: &Signature) -> Option<Event> {
        lock(&self.mempool).get_exact(id, sig)
    }

    /// True if this node already holds the event with this id and signature, pending or
    /// committed (gossip drops such copies before parsing them).
    pub fn holds(&self, id: &EventId, sig: &Signature) -> bool {
        if lock(&self.mempool).get_exact(id, sig).is_some() {
            return true;
        }
        match self.store().position(id) {
            Ok(Some(pos)) => self
                .store()
                .wire_at(pos)
                .ok()
                .flatten()
                .and_then(|w| Event::peek_canonical(&w))
                .is_some_and(|p| p.sig == *sig),
            _ => false,
        }
    }

    /// The proof bundle of a subject against the latest certified head.
    pub fn provenance(&self, subject: &Subject) -> Result<Option<ProofBundle>, StoreError> {
        self.ledger.provenance(subject)
    }

    /// The route of a consignment at the latest certified head, or the page of it from
    /// `containers_from` (see [`NodeLedger::route`]).
    pub fn route(
        &self,
        subject: &Subject,
        containers_from: u64,
        at_height: Option<u64>,
    ) -> Result<Option<crate::ledger::ServedRoute>, RouteError> {
        self.ledger.route(subject, containers_from, at_height)
    }

    /// The latest certified head, its certificate and the membership proof at it: what a
    /// light client needs to follow validator-set and key changes from the genesis alone.
    pub fn membership(&self) -> Result<Option<(Head, Certificate, MembershipProof)>, StoreError> {
        self.ledger.membership()
    }

    /// The membership in force after the last committed block.
    pub fn current_membership(&self) -> tradelog_protocol::Membership {
        self.ledger.chain().membership().clone()
    }

    /// The log size after the last commit; the receiver sees every commit.
    pub fn committed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// The proof bundles of several subjects at one certified head.
    pub fn provenances(
        &self,
        subjects: &[Subject],
    ) -> Result<Option<Vec<ProofBundle>>, StoreError> {
        self.ledger.provenances(subjects)
    }

    /// The keys the peer gates admit now; the receiver sees every change a commit makes.
    pub fn peer_keys(&self) -> tokio::sync::watch::Receiver<PeerKeys> {
        self.peer_keys.subscribe()
    }

    /// The validator set of the next height (changed by `set_validators` membership events).
    pub fn next_validators(&self) -> ValidatorSet {
        self.ledger.chain().validators().clone()
    }

    /// Consistency proof between two log sizes up to the certified head's, with both roots.
    pub fn consistency(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Option<(ConsistencyProof, Hash, Hash)>, StoreError> {
        self.ledger.consistency(first, second)
    }
}

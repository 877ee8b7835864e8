//! The ledger state machine: admission rules for events and the effect of a block on the log,
//! the subject index and the head. Pure: the node persists what it computes.
//!
//! [`ChainState`] is the small part every implementation keeps in memory (membership,
//! validators, last head); [`LedgerState`] adds the whole log and index in memory (the
//! reference; a node keeps them on disk) and [`Ledger`] the events themselves, for tools,
//! tests and the demo.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::bundle::{BlockProof, ProofBundle, ProvenEvent, BUNDLE_VERSION};
use crate::event::{Event, EventBody, EventError, EventId, EventKind, Retracts};
use crate::hash::Hash;
use crate::head::{Certificate, Head, ValidatorSet};
use crate::ids::Ucr;
use crate::index::buckets::{MemIndex, Staged, Update};
use crate::index::{IndexEntry, IndexProof, Subject};
use crate::membership::{
    Change, ChangeError, MembershipBody, MembershipProof, ProvenChange, Transition,
};
use crate::merkle::{leaf_hash, Frontier, MerkleLog};
use crate::parties::{self, Committed, Consignments, Parties};
use crate::retractions::{self, Target};
use crate::roles::{AuthError, Genesis, Membership};
use crate::route::{containers_named, group_of, paginate, GroupRoute, RouteBundle};
use crate::sources::SourceKey;

/// How far an event's time may lie after its block's time (10 minutes).
pub const MAX_CLOCK_SKEW_MS: u64 = crate::head::MAX_EVENT_AHEAD_MS;

/// Why an event or block was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Structural or signature problem.
    #[error(transparent)]
    Event(#[from] EventError),
    /// Membership or permission problem.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A membership change that is not allowed.
    #[error(transparent)]
    Change(#[from] ChangeError),
    /// The event is already in the log.
    #[error("event {0} is already in the log")]
    Duplicate(EventId),
    /// The block time goes backwards (or before the genesis time).
    #[error("block time {got} is before the previous head's (or genesis) time {prev}")]
    Time {
        /// Proposed time.
        got: u64,
        /// Previous head's.
        prev: u64,
    },
    /// A consignment's parties could not be read (storage); the event is neither admitted
    /// nor refused by the rules.
    #[error("consignment parties unavailable: {0}")]
    Unavailable(String),
    /// A `retracted` event breaks 8g (no such earlier event, another issuer's, other
    /// subjects, a retraction or membership event, or one retracted before).
    #[error("body.retracts: {0}")]
    Retraction(String),
    /// A risk outcome that assesses no advance data of its consignment (8i).
    #[error(transparent)]
    Outcome(#[from] crate::advance::OutcomeError),
    /// The issuer already recorded this source event for the same consignment and container
    /// (8e): the ledger keeps the first.
    #[error(
        "body.source: {} already recorded {} event {:?} for this consignment and container as event {first}",
        .key.org, .key.source.standard, .key.source.id
    )]
    SameSource {
        /// The event that holds the source key.
        first: EventId,
        /// The key.
        key: Box<SourceKey>,
    },
    /// An event claims to happen after its block, beyond the allowed clock skew.
    #[error("event {id} has time {time}, more than {MAX_CLOCK_SKEW_MS} ms after its block time {block_time}")]
    FutureEvent {
        /// The event.
        id: EventId,
        /// Its time.
        time: u64,
        /// The block's time.
        block_time: u64,
    },
}

/// What the caller already knows about events: which are in the log, and whose signatures it
/// already checked (at mempool admission, say), so a block's events are not
/// verified twice. A closure `Fn(&EventId) -> bool` answers "in the log" and knows no signature.
pub trait Known {
    /// True if the event is already in the log.
    fn in_log(&self, id: &EventId) -> bool;
    /// True if this exact event (same id *and* same signature bytes: the id does not cover the
    /// signature) was already verified (PROTOCOL.md section 1).
    fn signature_checked(&self, _event: &Event) -> bool {
        false
    }
}

impl<F: Fn(&EventId) -> bool> Known for F {
    fn in_log(&self, id: &EventId) -> bool {
        self(id)
    }
}

/// `known`, plus the events of a block whose signatures one batch verification (ZIP-215,
/// same verdict as single verification) found valid. An event the batch refuses is left to the
/// single check of the admission rules, which reports it in its place in the block.
struct Batched<'a, K> {
    known: &'a K,
    valid: HashSet<(EventId, [u8; 64])>,
}

impl<'a, K: Known> Batched<'a, K> {
    fn verify(events: &[Event], known: &'a K) -> Self {
        let unchecked: Vec<&Event> = events
            .iter()
            .filter(|e| !known.signature_checked(e))
            .collect();
        let bad = crate::keys::signature_failures(unchecked.iter().copied());
        let valid = unchecked
            .iter()
            .zip(bad)
            .filter(|(_, bad)| !bad)
            .map(|(e, _)| (e.id(), e.sig().to_bytes()))
            .collect();
        Batched { known, valid }
    }
}

impl<K: Known> Known for Batched<'_, K> {
    fn in_log(&self, id: &EventId) -> bool {
        self.known.in_log(id)
    }
    fn signature_checked(&self, event: &Event) -> bool {
        self.known.signature_checked(event)
            || self.valid.contains(&(event.id(), event.sig().to_bytes()))
    }
}

/// The subjects an event is indexed under: its consignment, then its container, then each of
/// its trade identifiers; a membership event is indexed under the membership subject, an
/// `aeo_status` event under its holder's organisation subject and an `mra` event under both
/// administrations' (8h).
pub fn subjects(event: &Event) -> impl Iterator<Item = Subject> + '_ {
    let b = event.body();
    b.ucr
        .iter()
        .map(|u| Subject::Consignment(u.clone()))
        .chain(b.container.iter().map(|c| Subject::Container(c.clone())))
        .chain(
            b.ids
                .iter()
                .flatten()
                .map(|t| Subject::Identifier(t.clone())),
        )
        .chain(b.membership.iter().map(|_| Subject::Membership))
        .chain(
            b.aeo
                .iter()
                .map(|r| Subject::Organisation(r.holder.clone())),
        )
        .chain(b.mra.iter().flat_map(|m| {
            [
                Subject::Organisation(b.issuer.org.clone()),
                Subject::Organisation(m.partner.clone()),
            ]
        }))
}

fn membership_of(event: &Event) -> Option<&MembershipBody> {
    let b = event.body();
    (b.kind == EventKind::Membership)
        .then_some(b.membership.as_ref())
        .flatten()
}

/// A block that changed the validator set: its height and the membership subject's index
/// entry and proof at its head (the caller adds the head and its certificate).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TransitionRecord {
    /// Height of the block that recorded the change.
    pub height: u64,
    /// The membership entry at that head.
    pub index_entry: IndexEntry,
    /// Its proof under that head's index root.
    pub index_proof: IndexProof,
}

/// The index updates of a block's events, in log order, the first event at log position
/// `first`: one per subject of each event ([`subjects`]).
pub fn index_updates(events: &[Event], first: u64) -> Vec<Update> {
    let mut out = Vec::with_capacity(events.len() * 2);
    for (i, e) in events.iter().enumerate() {
        for s in subjects(e) {
            out.push(Update {
                key: s.key(),
                id: e.id(),
                position: first + i as u64,
            });
        }
    }
    out
}

/// The small part of the consensus state that every implementation keeps in memory whatever
/// the history's length: the genesis, the membership and validators in force, the last head,
/// the validator-set transitions and the number of membership events. The log and the subject
/// index are kept beside it (in memory in [`LedgerState`], on disk in a node).
///
/// Cloning is cheap (the membership, the validators and the transitions are shared until a
/// membership change copies them), so a block's effect is computed as a new `ChainState` and
/// applied by replacing the old one.
#[derive(Debug, Clone)]
pub struct ChainState {
    genesis_hash: Hash,
    genesis_time: u64,
    membership: Arc<Membership>,
    validators: Arc<ValidatorSet>,
    head: Option<Head>,
    transitions: Arc<Vec<TransitionRecord>>,
    membership_count: u64,
}

impl ChainState {
    /// The state at genesis (no blocks).
    pub fn new(genesis: &Genesis) -> ChainState {
        ChainState {
            genesis_hash: genesis.hash(),
            genesis_time: genesis.time,
            membership: Arc::new(genesis.membership()),
            validators: Arc::new(genesis.validator_set().clone()),
            head: None,
            transitions: Arc::new(Vec::new()),
            membership_count: 0,
        }
    }

    /// The state of a stored ledger: `head` is its last head, `changes` every membership event
    /// with its log position, in log order (so the membership and validators are rebuilt by
    /// applying them), and
    /// `transitions` the recorded validator-set transitions. A node rebuilds its state at start
    /// this way from a handful of records instead of replaying the log.
    pub fn restore(
        genesis: &Genesis,
        head: Option<Head>,
        changes: &[(u64, Event)],
        transitions: Vec<TransitionRecord>,
    ) -> ChainState {
        let mut state = ChainState::new(genesis);
        let membership = Arc::make_mut(&mut state.membership);
        for (at, m) in changes
            .iter()
            .filter_map(|(at, e)| Some((*at, membership_of(e)?)))
        {
            if let Some(set) = membership.apply_change(&m.change, at) {
                state.validators = Arc::new(set);
            }
        }
        state.membership_count = changes.len() as u64;
        state.head = head;
        state.transitions = Arc::new(transitions);
        state
    }

    /// Admission check of one event as the next in the log: chain id, issuer, key, role,
    /// consignment parties (`consignments` says who they are so far, section 8c), signature
    /// (unless `known` already checked it), not already in the log (`known` answers that), and
    /// for a membership event the change rules of PROTOCOL.md 8a.
    pub fn check_event(
        &self,
        event: &Event,
        known: &impl Known,
        consignments: &impl Consignments,
    ) -> Result<(), LedgerError> {
        let before =
            self.parties_before(event, consignments, &HashMap::new(), &mut HashMap::new())?;
        self.check_event_under(
            event,
            known,
            &self.membership,
            self.membership_count + 1,
            &before,
        )?;
        source_unused(event, consignments, &HashMap::new())?;
        retraction_ok(event, consignments, &InBlock::default())?;
        outcome_ok(event, consignments, &InBlock::default())
    }

    /// The checks of [`ChainState::check_event`] except the signature and the duplicate
    /// lookup: what admission checks before it verifies a batch's signatures together.
    pub fn authorize(
        &self,
        event: &Event,
        consignments: &impl Consignments,
    ) -> Result<(), LedgerError> {
        self.membership.authorize(event.body())?;
        if let Some(m) = membership_of(event) {
            self.membership.check_change(
                m,
                &event.body().issuer.org,
                &self.validators,
                self.membership_count + 1,
            )?;
        }
        let before =
            self.parties_before(event, consignments, &HashMap::new(), &mut HashMap::new())?;
        parties::admit(&self.membership, &before, event.body())?;
        source_unused(event, consignments, &HashMap::new())?;
        retraction_ok(event, consignments, &InBlock::default())?;
        outcome_ok(event, consignments, &InBlock::default())
    }

    /// The parties of the event's consignment before it: from `in_block` (as earlier events of
    /// the same block left them), else from `read` (what `consignments` answered before in this
    /// walk), else from `consignments`, asked once per consignment and kept in `read`; empty if
    /// the rules have none or it names no consignment.
    fn parties_before(
        &self,
        event: &Event,
        consignments: &impl Consignments,
        in_block: &HashMap<Ucr, Parties>,
        read: &mut HashMap<Ucr, Parties>,
    ) -> Result<Parties, LedgerError> {
        let Some(ucr) = event.body().ucr.as_ref() else {
            return Ok(Parties::new());
        };
        if !parties::applies(&self.membership) {
            return Ok(Parties::new());
        }
        if let Some(p) = in_block.get(ucr).or_else(|| read.get(ucr)) {
            return Ok(p.clone());
        }
        let p = consignments
            .parties(ucr)
            .map_err(LedgerError::Unavailable)?;
        read.insert(ucr.clone(), p.clone());
        Ok(p)
    }

    /// `next_seq` is the sequence number the event must carry if it is a membership event,
    /// `before` the parties of its consignment so far. Returns the parties after it, if they
    /// change.
    fn check_event_under(
        &self,
        event: &Event,
        known: &impl Known,
        membership: &Membership,
        next_seq: u64,
        before: &Parties,
    ) -> Result<Option<Parties>, LedgerError> {
        membership.authorize(event.body())?;
        if let Some(m) = membership_of(event) {
            membership.check_change(m, &event.body().issuer.org, &self.validators, next_seq)?;
        }
        let after = parties::admit(membership, before, event.body())?;
        if !known.signature_checked(event) {
            event.verify_signature()?;
        }
        if known.in_log(&event.id()) {
            return Err(LedgerError::Duplicate(event.id()));
        }
        Ok(after)
    }

    /// Checks a whole block: time rules, every event admissible, no event twice. Returns the
    /// consignments whose parties the block changes, with their parties after it.
    pub fn check_block(
        &self,
        events: &[Event],
        time: u64,
        known: &impl Known,
        consignments: &impl Consignments,
    ) -> Result<HashMap<Ucr, Parties>, LedgerError> {
        let mut changed = HashMap::new();
        self.walk_block(
            events,
            time,
            known,
            consignments,
            &mut changed,
            &mut |_, e| Err(e),
        )?;
        Ok(changed)
    }

    /// The events of `events` that make a valid block at `time` when taken in order, each
    /// skipped if it is not admissible after the ones kept before it: `(kept, refused)`, the
    /// refused with their reason. A second validator-set change is neither kept nor refused
    /// (it waits for a later block). For block building.
    pub fn select(
        &self,
        events: Vec<Event>,
        time: u64,
        known: &impl Known,
        consignments: &impl Consignments,
    ) -> (Vec<Event>, Vec<(Event, LedgerError)>) {
        let mut skipped: Vec<(usize, LedgerError)> = Vec::new();
        let mut changed = HashMap::new();
        // The walk cannot fail: every refusal is recorded and the event skipped.
        let _ = self.walk_block(
            &events,
            time,
            known,
            consignments,
            &mut changed,
            &mut |i, e| {
                skipped.push((i, e));
                Ok(())
            },
        );
        let mut kept = Vec::with_capacity(events.len());
        let mut refused = Vec::new();
        let mut skip = skipped.into_iter().peekable();
        for (i, e) in events.into_iter().enumerate() {
            match skip.next_if(|(j, _)| *j == i) {
                Some((_, LedgerError::Change(ChangeError::SetValidatorsTwice))) => {}
                Some((_, err)) => refused.push((e, err)),
                None => kept.push(e),
            }
        }
        (kept, refused)
    }

    /// The consignments whose parties already-checked `events` change as the next block, with
    /// their parties after it (no signature is verified).
    pub fn party_changes(
        &self,
        events: &[Event],
        consignments: &impl Consignments,
    ) -> HashMap<Ucr, Parties> {
        struct Trusted;
        impl Known for Trusted {
            fn in_log(&self, _: &EventId) -> bool {
                false
            }
            fn signature_checked(&self, _: &Event) -> bool {
                true
            }
        }
        let mut changed = HashMap::new();
        if parties::applies(&self.membership) {
            let time = events
                .iter()
                .map(|e| e.body().time)
                .max()
                .unwrap_or(0)
                .max(self.head.as_ref().map_or(self.genesis_time, |h| h.time));
            let _ = self.walk_block(
                events,
                time,
                &Trusted,
                consignments,
                &mut changed,
                &mut |_, _| Ok(()),
            );
        }
        changed
    }

    /// Checks the events of a block in order; `refuse(i, why)` decides what a refused event
    /// does: `Err` ends the walk (block validation), `Ok` skips the event (block building).
    fn walk_block(
        &self,
        events: &[Event],
        time: u64,
        known: &impl Known,
        consignments: &impl Consignments,
        changed: &mut HashMap<Ucr, Parties>,
        refuse: &mut impl FnMut(usize, LedgerError) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        let prev_time = self.head.as_ref().map_or(self.genesis_time, |p| p.time);
        if time < prev_time {
            return Err(LedgerError::Time {
                got: time,
                prev: prev_time,
            });
        }
        let known = &Batched::verify(events, known);
        let mut in_block = HashSet::with_capacity(events.len());
        // A membership change binds the events after it, in this block too: such a block is
        // checked against a working copy of the membership.
        let mut working: Option<Membership> = None;
        let mut next_seq = self.membership_count + 1;
        let mut sets_validators = false;
        let mut at = self.head.as_ref().map_or(0, |h| h.log_size);
        // Each consignment's committed parties are read once per block, however many of its
        // events the block holds.
        let mut read = HashMap::new();
        // Source keys (8e) taken by earlier events of this block, and what 8g needs of them.
        let mut sourced: HashMap<SourceKey, EventId> = HashMap::new();
        let mut earlier = InBlock::default();
        for (i, e) in events.iter().enumerate() {
            if e.body().time > time.saturating_add(MAX_CLOCK_SKEW_MS) {
                refuse(
                    i,
                    LedgerError::FutureEvent {
                        id: e.id(),
                        time: e.body().time,
                        block_time: time,
                    },
                )?;
                continue;
            }
            if in_block.contains(&e.id()) {
                refuse(i, LedgerError::Duplicate(e.id()))?;
                continue;
            }
            let membership = working.as_ref().unwrap_or(&self.membership);
            let checked = self
                .parties_before(e, consignments, changed, &mut read)
                .and_then(|before| self.check_event_under(e, known, membership, next_seq, &before))
                .and_then(|after| source_unused(e, consignments, &sourced).map(|()| after))
                .and_then(|after| retraction_ok(e, consignments, &earlier).map(|()| after))
                .and_then(|after| outcome_ok(e, consignments, &earlier).map(|()| after));
            let after = match checked {
                Ok(after) => after,
                Err(err) => {
                    refuse(i, err)?;
                    continue;
                }
            };
            if let Some(m) = membership_of(e) {
                if matches!(m.change, Change::SetValidators { .. }) {
                    // One per block (8a), so each change has its own transition (9d).
                    if sets_validators {
                        refuse(i, LedgerError::Change(ChangeError::SetValidatorsTwice))?;
                        continue;
                    }
                    sets_validators = true;
                }
                working
                    .get_or_insert_with(|| (*self.membership).clone())
                    .apply_change(&m.change, at);
                next_seq += 1;
            }
            if let (Some(after), Some(ucr)) = (after, e.body().ucr.as_ref()) {
                changed.insert(ucr.clone(), after);
            }
            if let Some(key) = SourceKey::of(e.body()) {
                sourced.insert(key.clone(), e.id());
                earlier.sourced.insert(key, e.id());
            }
            earlier.record(e, consignments);
            in_block.insert(e.id());
            at += 1;
        }
        Ok(())
    }

    /// The head of the next block, given its time and the log and index after it.
    pub fn next_head(&self, time: u64, log_size: u64, log_root: Hash, index_root: Hash) -> Head {
        Head {
            chain: self.membership.chain().to_owned(),
            height: self.head.as_ref().map_or(1, |h| h.height + 1),
            time,
            prev: self.head.as_ref().map_or(self.genesis_hash, Head::hash),
            log_size,
            log_root,
            index_root,
            validators: self.validators.hash(),
        }
    }

    /// The state after a block with `events` and head `head`: the membership changes applied
    /// (a new validator set takes over after `head`), and, if the set changed, the transition
    /// recorded with the membership entry and proof at `head` (asked of `membership_at` only
    /// then).
    pub fn after<E>(
        &self,
        events: &[Event],
        head: &Head,
        membership_at: impl FnOnce() -> Result<(IndexEntry, IndexProof), E>,
    ) -> Result<ChainState, E> {
        let mut next = self.clone();
        next.head = Some(head.clone());
        // The block's events end the log at `head.log_size`.
        let first = head.log_size.saturating_sub(events.len() as u64);
        let changes: Vec<(u64, &MembershipBody)> = (first..)
            .zip(events)
            .filter_map(|(at, e)| Some((at, membership_of(e)?)))
            .collect();
        if changes.is_empty() {
            return Ok(next);
        }
        next.membership_count += changes.len() as u64;
        let membership = Arc::make_mut(&mut next.membership);
        let mut new_set = None;
        for (at, m) in changes {
            if let Some(set) = membership.apply_change(&m.change, at) {
                new_set = Some(set);
            }
        }
        if let Some(set) = new_set {
            next.validators = Arc::new(set);
            let (index_entry, index_proof) = membership_at()?;
            Arc::make_mut(&mut next.transitions).push(TransitionRecord {
                height: head.height,
                index_entry,
                index_proof,
            });
        }
        Ok(next)
    }

    /// The last head, if any block was applied.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// The membership.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The validator set of the next block.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// The blocks that changed the validator set, in height order.
    pub fn transitions(&self) -> &[TransitionRecord] {
        &self.transitions
    }

    /// Membership events in the log so far.
    pub fn membership_count(&self) -> u64 {
        self.membership_count
    }

    /// The genesis hash (parent of the first head).
    pub fn genesis_hash(&self) -> Hash {
        self.genesis_hash
    }

    /// The genesis time (no block time may be earlier).
    pub fn genesis_time(&self) -> u64 {
        self.genesis_time
    }
}

/// A block's effect computed by [`LedgerState::preview`] without changing the state: its head,
/// its leaves, the subject index and the chain state after it. [`LedgerState::apply_preview`]
/// applies it by swapping these in.
#[derive(Debug, Clone)]
pub struct Preview {
    head: Head,
    leaves: Vec<Hash>,
    frontier: Frontier,
    index: Staged,
    chain: ChainState,
    parties: HashMap<Ucr, Parties>,
    sources: Vec<(SourceKey, EventId)>,
    targets: InBlock,
}

impl Preview {
    /// The head the block produces.
    pub fn head(&self) -> &Head {
        &self.head
    }
}

/// The consensus-relevant state kept in memory: the [`ChainState`], the whole Merkle log and
/// the subject index. Events themselves live elsewhere ([`Ledger`]). This is the reference
/// implementation (tools, tests, the audit); a node keeps the log and index on disk.
#[derive(Debug, Clone)]
pub struct LedgerState {
    chain: ChainState,
    frontier: Frontier,
    /// Every subtree hash, for proofs; stays empty in a state made [`LedgerState::without_proofs`].
    log: MerkleLog,
    keep_log: bool,
    index: MemIndex,
    /// Every consignment's parties (section 8c; empty under rules 1) and source keys (8e).
    committed: Committed,
}

impl LedgerState {
    /// The state at genesis (no blocks).
    pub fn new(genesis: &Genesis) -> LedgerState {
        LedgerState {
            chain: ChainState::new(genesis),
            frontier: Frontier::new(),
            log: MerkleLog::new(),
            keep_log: true,
            index: MemIndex::default(),
            committed: Committed::default(),
        }
    }

    /// A state that replays and checks blocks but keeps only the log's frontier (O(log n)
    /// hashes) instead of the whole log, so it cannot prove inclusion: for audits and store
    /// verification of long ledgers. [`LedgerState::log`] stays empty.
    pub fn without_proofs(genesis: &Genesis) -> LedgerState {
        LedgerState {
            keep_log: false,
            ..LedgerState::new(genesis)
        }
    }

    /// The chain state (membership, validators, head, transitions).
    pub fn chain(&self) -> &ChainState {
        &self.chain
    }

    /// Admission check of one event as the next in the log (see [`ChainState::check_event`]).
    pub fn check_event(&self, event: &Event, known: &impl Known) -> Result<(), LedgerError> {
        self.chain.check_event(event, known, &self.committed)
    }

    /// Membership events in the log so far.
    pub fn membership_count(&self) -> u64 {
        self.chain.membership_count()
    }

    /// The parties of a consignment so far (section 8c; empty under rules 1).
    pub fn parties(&self, ucr: &Ucr) -> Parties {
        self.committed.parties.get(ucr).cloned().unwrap_or_default()
    }

    /// Checks a whole block: time rules, every event admissible, no event twice.
    pub fn check_block(
        &self,
        events: &[Event],
        time: u64,
        known: &impl Known,
    ) -> Result<(), LedgerError> {
        self.chain
            .check_block(events, time, known, &self.committed)
            .map(drop)
    }

    /// The effect of already-checked events as the next block at `time`, leaving the state
    /// unchanged; `parties` are the consignments' parties the block changes.
    fn effect(&self, events: &[Event], time: u64, parties: HashMap<Ucr, Parties>) -> Preview {
        let first = self.frontier.size();
        let mut frontier = self.frontier.clone();
        let mut nodes = Vec::new();
        let leaves: Vec<Hash> = events
            .iter()
            .map(|e| {
                let leaf = leaf_hash(&e.leaf_data());
                frontier.push(leaf, &mut nodes);
                nodes.clear();
                leaf
            })
            .collect();
        let index = self.index.stage(&index_updates(events, first));
        let head = self
            .chain
            .next_head(time, frontier.size(), frontier.root(), index.root());
        let key = Subject::Membership.key();
        let chain = match self.chain.after(events, &head, || {
            Ok::<_, std::convert::Infallible>((
                self.index
                    .leaf(Some(&index), &key)
                    .map(|l| l.entry)
                    .unwrap_or_default(),
                self.index.prove_staged(Some(&index), &key),
            ))
        }) {
            Ok(c) => c,
            Err(e) => match e {},
        };
        Preview {
            head,
            leaves,
            frontier,
            index,
            chain,
            parties,
            sources: events
                .iter()
                .filter_map(|e| Some((SourceKey::of(e.body())?, e.id())))
                .collect(),
            targets: {
                let mut b = InBlock::default();
                for e in events {
                    if let Some(key) = SourceKey::of(e.body()) {
                        b.sourced.insert(key, e.id());
                    }
                    b.record(e, &self.committed);
                }
                b
            },
        }
    }

    /// Appends already-checked events and returns the new head (no checks: call
    /// [`LedgerState::check_block`] first). Returns each event's log position.
    pub fn append_checked(&mut self, events: &[Event], time: u64) -> (Head, Vec<u64>) {
        let parties = self.chain.party_changes(events, &self.committed);
        let preview = self.effect(events, time, parties);
        self.swap_in(preview)
    }

    fn swap_in(&mut self, preview: Preview) -> (Head, Vec<u64>) {
        let first = self.frontier.size();
        let positions = (first..first + preview.leaves.len() as u64).collect();
        if self.keep_log {
            for l in &preview.leaves {
                self.log.push(*l);
            }
        }
        self.frontier = preview.frontier;
        self.index.apply(&preview.index);
        self.chain = preview.chain;
        self.committed.parties.extend(preview.parties);
        self.committed.sources.extend(preview.sources);
        self.committed.targets.extend(preview.targets.targets);
        self.committed.retractions.extend(preview.targets.retracted);
        (preview.head, positions)
    }

    /// Checks and appends a block; nothing changes if it is refused.
    pub fn apply_block(
        &mut self,
        events: &[Event],
        time: u64,
        known: &impl Known,
    ) -> Result<(Head, Vec<u64>), LedgerError> {
        let preview = self.preview(events, time, known)?;
        Ok(self.swap_in(preview))
    }

    /// The head a block would produce, leaving the state unchanged.
    pub fn preview_block(
        &self,
        events: &[Event],
        time: u64,
        known: &impl Known,
    ) -> Result<Head, LedgerError> {
        self.preview(events, time, known).map(|p| p.head)
    }

    /// Checks a block and computes its effect without changing anything (so it needs only
    /// shared access); [`LedgerState::apply_preview`] applies it.
    pub fn preview(
        &self,
        events: &[Event],
        time: u64,
        known: &impl Known,
    ) -> Result<Preview, LedgerError> {
        let parties = self
            .chain
            .check_block(events, time, known, &self.committed)?;
        Ok(self.effect(events, time, parties))
    }

    /// Applies a block previewed on this same state and returns the new head and each event's
    /// log position. Returns `None`, with the state unchanged, if the preview does not follow
    /// the current head or was computed for other events.
    pub fn apply_preview(
        &mut self,
        events: &[Event],
        preview: Preview,
    ) -> Option<(Head, Vec<u64>)> {
        let follows = preview.head.prev
            == self
                .chain
                .head()
                .map_or(self.chain.genesis_hash(), Head::hash)
            && preview.head.log_size == self.frontier.size() + events.len() as u64
            && preview.leaves.len() == events.len()
            && events
                .iter()
                .zip(&preview.leaves)
                .all(|(e, l)| leaf_hash(&e.leaf_data()) == *l);
        follows.then(|| self.swap_in(preview))
    }

    /// The last head, if any block was applied.
    pub fn head(&self) -> Option<&Head> {
        self.chain.head()
    }

    /// The Merkle log.
    pub fn log(&self) -> &MerkleLog {
        &self.log
    }

    /// The subject index.
    pub fn index(&self) -> &MemIndex {
        &self.index
    }

    /// The membership.
    pub fn membership(&self) -> &Membership {
        self.chain.membership()
    }

    /// The validator set of the next block.
    pub fn validators(&self) -> &ValidatorSet {
        self.chain.validators()
    }

    /// The blocks that changed the validator set, in height order.
    pub fn transitions(&self) -> &[TransitionRecord] {
        self.chain.transitions()
    }

    /// The membership proof at the last head: `events` are every membership event with its
    /// log position, in log order; `certified` gives the head and certificate at a height
    /// (called for each transition). `None` before the first block or if a piece is missing.
    pub fn membership_proof(
        &self,
        events: Vec<(u64, Event)>,
        certified: impl Fn(u64) -> Option<(Head, Certificate)>,
    ) -> Option<MembershipProof> {
        let head = self.head()?;
        let mut proven = Vec::with_capacity(events.len());
        for (index, event) in events {
            let proof = self.log.prove_inclusion(index, head.log_size)?;
            proven.push(ProvenChange {
                index,
                event,
                proof: proof.path,
            });
        }
        let transitions = membership_transitions(self.transitions(), head, certified)?;
        let key = Subject::Membership.key();
        Some(MembershipProof {
            transitions,
            events: proven,
            index_entry: self.index.get(&key).unwrap_or_default(),
            index_proof: self.index.prove(&key),
        })
    }

    /// The genesis hash (parent of the first head).
    pub fn genesis_hash(&self) -> Hash {
        self.chain.genesis_hash()
    }

    /// A proof bundle for `subject` at the last head, given the subject's events in log order
    /// with their positions (all below the head's log size), the head's certificate and the
    /// blocks that committed the events (section 9 step 7).
    pub fn bundle(
        &self,
        subject: &Subject,
        events: Vec<(u64, Event)>,
        certificate: Certificate,
        membership: MembershipProof,
        blocks: Vec<BlockProof>,
    ) -> Option<ProofBundle> {
        let head = self.head()?.clone();
        let mut proven = Vec::with_capacity(events.len());
        for (i, event) in events {
            let proof = self.log.prove_inclusion(i, head.log_size)?;
            proven.push(ProvenEvent {
                index: i,
                event,
                proof: proof.path,
            });
        }
        Some(ProofBundle {
            version: BUNDLE_VERSION,
            subject: subject.clone(),
            head,
            certificate,
            events: proven,
            index_entry: self.index.get(&subject.key()).unwrap_or_default(),
            index_proof: self.index.prove(&subject.key()),
            membership,
            blocks: Some(blocks),
        })
    }
}

/// The block proofs for events at `positions` (ascending): for each block holding one, its
/// head and certificate with the head before it. `head_at(h)` gives the head at height `h`
/// (from 1), `certified(h)` its certificate; `block_of(i)` the height of the block that holds
/// log position `i`. A block whose certificate is not known is left out (its events then have
/// no proven recorded time).
pub fn block_proofs(
    positions: impl IntoIterator<Item = u64>,
    block_of: impl Fn(u64) -> Option<u64>,
    head_at: impl Fn(u64) -> Option<Head>,
    certified: impl Fn(u64) -> Option<Certificate>,
) -> Vec<BlockProof> {
    let mut heights: Vec<u64> = positions.into_iter().filter_map(block_of).collect();
    heights.dedup();
    heights
        .into_iter()
        .filter_map(|h| {
            let prev = match h {
                1 => None,
                _ => Some(head_at(h - 1)?),
            };
            Some(BlockProof {
                head: head_at(h)?,
                certificate: certified(h)?,
                prev,
            })
        })
        .collect()
}

/// The transitions a membership proof at `head` carries: every recorded transition below
/// `head`'s height, with its certified head (`certified` gives it by height).
pub fn membership_transitions(
    records: &[TransitionRecord],
    head: &Head,
    certified: impl Fn(u64) -> Option<(Head, Certificate)>,
) -> Option<Vec<Transition>> {
    records
        .iter()
        .filter(|t| t.height < head.height)
        .map(|t| {
            let (head, certificate) = certified(t.height)?;
            Some(Transition {
                head,
                certificate,
                index_entry: t.index_entry,
                index_proof: t.index_proof.clone(),
            })
        })
        .collect()
}

/// The whole ledger in memory: the state plus every event and head.
#[derive(Debug, Clone)]
pub struct Ledger {
    state: LedgerState,
    events: Vec<Event>,
    by_id: HashMap<EventId, u64>,
    by_subject: HashMap<Hash, Vec<u64>>,
    heads: Vec<Head>,
    certificates: HashMap<u64, Certificate>,
}

impl Ledger {
    /// The ledger at genesis (no blocks).
    pub fn new(genesis: &Genesis) -> Ledger {
        Ledger {
            state: LedgerState::new(genesis),
            events: Vec::new(),
            by_id: HashMap::new(),
            by_subject: HashMap::new(),
            heads: Vec::new(),
            certificates: HashMap::new(),
        }
    }

    /// Admission check: chain id, issuer, role, signature, not yet in the log.
    pub fn check(&self, event: &Event) -> Result<(), LedgerError> {
        self.state
            .check_event(event, &|id: &EventId| self.by_id.contains_key(id))
    }

    /// Checks every event of a block, then appends them all and returns the new head.
    /// Nothing changes if any event is refused.
    pub fn append_block(&mut self, events: Vec<Event>, time: u64) -> Result<Head, LedgerError> {
        let by_id = &self.by_id;
        let (head, positions) = self
            .state
            .apply_block(&events, time, &|id: &EventId| by_id.contains_key(id))?;
        Ok(self.record(events, head, positions))
    }

    /// Appends events as the next block with no admission check at all: what validators that
    /// ignore the rules would commit. For tests of verifiers and tools.
    pub fn append_unchecked(&mut self, events: Vec<Event>, time: u64) -> Head {
        let (head, positions) = self.state.append_checked(&events, time);
        self.record(events, head, positions)
    }

    fn record(&mut self, events: Vec<Event>, head: Head, positions: Vec<u64>) -> Head {
        for (e, index) in events.into_iter().zip(positions) {
            for s in subjects(&e) {
                self.by_subject.entry(s.key()).or_default().push(index);
            }
            self.by_id.insert(e.id(), index);
            self.events.push(e);
        }
        self.heads.push(head.clone());
        head
    }

    /// The consensus state.
    pub fn state(&self) -> &LedgerState {
        &self.state
    }

    /// The latest head.
    pub fn head(&self) -> Option<&Head> {
        self.heads.last()
    }

    /// The head at `height` (from 1).
    pub fn head_at(&self, height: u64) -> Option<&Head> {
        self.heads.get(height.checked_sub(1)? as usize)
    }

    /// The event at log position `index`.
    pub fn event(&self, index: u64) -> Option<&Event> {
        self.events.get(index as usize)
    }

    /// Log position of an event.
    pub fn position(&self, id: &EventId) -> Option<u64> {
        self.by_id.get(id).copied()
    }

    /// The Merkle log.
    pub fn log(&self) -> &MerkleLog {
        self.state.log()
    }

    /// Log positions of a subject's events, in order.
    pub fn positions(&self, subject: &Subject) -> &[u64] {
        self.by_subject
            .get(&subject.key())
            .map_or(&[], Vec::as_slice)
    }

    /// Keeps the certificate of the head at `height`: membership proofs need the certified
    /// heads of the blocks that changed the validator set.
    pub fn certify(&mut self, height: u64, certificate: Certificate) {
        self.certificates.insert(height, certificate);
    }

    fn events_of(&self, subject: &Subject) -> Option<Vec<(u64, Event)>> {
        self.positions(subject)
            .iter()
            .map(|&i| Some((i, self.events.get(i as usize)?.clone())))
            .collect()
    }

    /// The membership proof at the latest head (PROTOCOL.md 9d). `None` before the first
    /// block, or if a block that changed the validator set was not [`Ledger::certify`]'d.
    pub fn membership_proof(&self) -> Option<MembershipProof> {
        self.state
            .membership_proof(self.events_of(&Subject::Membership)?, |h| {
                Some((self.head_at(h)?.clone(), self.certificates.get(&h)?.clone()))
            })
    }

    /// A proof bundle for `subject` against the latest head, certified by `certificate`.
    /// `None` before the first block (or see [`Ledger::membership_proof`]).
    pub fn bundle(&self, subject: &Subject, certificate: Certificate) -> Option<ProofBundle> {
        let events = self.events_of(subject)?;
        let top = self.head()?.height;
        let blocks = block_proofs(
            events.iter().map(|(i, _)| *i),
            |i| Some(self.heads.partition_point(|h| h.log_size <= i) as u64 + 1),
            |h| self.head_at(h).cloned(),
            |h| match h == top {
                true => Some(certificate.clone()),
                false => self.certificates.get(&h).cloned(),
            },
        );
        self.state.bundle(
            subject,
            events,
            certificate,
            self.membership_proof()?,
            blocks,
        )
    }

    /// The route of a consignment (PROTOCOL.md 9b) against the latest head, certified by
    /// `certificate`: its bundle and the bundles of the containers its events name, as one
    /// bundle or, for more containers than one holds, in pages ([`crate::route::paginate`]).
    /// `None` before the first block.
    pub fn route_pages(&self, ucr: &Ucr, certificate: Certificate) -> Option<Vec<RouteBundle>> {
        let consignment = self.bundle(&Subject::Consignment(ucr.clone()), certificate.clone())?;
        let containers = containers_named(consignment.events.iter().map(|pe| &pe.event))
            .into_iter()
            .map(|c| self.bundle(&Subject::Container(c), certificate.clone()))
            .collect::<Option<Vec<_>>>()?;
        Some(paginate(consignment, containers))
    }

    /// The route of the group of `subject` (a consignment or trade identifier, PROTOCOL.md 8f,
    /// 9b version 3) against the latest head. `None` before the first block, for another
    /// subject, or if the group or its containers exceed the limits of one group route.
    pub fn group_route(&self, subject: &Subject, certificate: Certificate) -> Option<GroupRoute> {
        if !matches!(subject, Subject::Consignment(_) | Subject::Identifier(_)) {
            return None;
        }
        let group = group_of(subject.clone(), |s| {
            Ok::<_, ()>(
                self.events_of(s)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(_, e)| e)
                    .collect(),
            )
        })
        .ok()?
        .ok()?;
        let subjects = group
            .iter()
            .map(|s| self.bundle(s, certificate.clone()))
            .collect::<Option<Vec<_>>>()?;
        let containers = crate::route::group_containers(&subjects)
            .into_iter()
            .map(|c| self.bundle(&Subject::Container(c), certificate.clone()))
            .collect::<Option<Vec<_>>>()?;
        (containers.len() <= crate::route::MAX_ROUTE_CONTAINERS).then_some(GroupRoute {
            version: crate::route::ROUTE_GROUP_VERSION,
            subjects,
            containers,
        })
    }

    /// The route bundle of a consignment whose route fits in one bundle (see
    /// [`Ledger::route_pages`]); `None` before the first block or if it needs pages.
    pub fn route_bundle(&self, ucr: &Ucr, certificate: Certificate) -> Option<RouteBundle> {
        let mut pages = self.route_pages(ucr, certificate)?;
        (pages.len() == 1).then(|| pages.remove(0))
    }
}

/// What 8g needs of the earlier events of a block.
#[derive(Debug, Clone, Default)]
struct InBlock {
    targets: HashMap<EventId, Target>,
    sourced: HashMap<SourceKey, EventId>,
    retracted: HashMap<EventId, EventId>,
}

impl InBlock {
    /// Records an admitted event (and, for a retraction, its target).
    fn record(&mut self, e: &Event, consignments: &impl Consignments) {
        if e.body().kind == EventKind::Retracted {
            if let Ok(Some(t)) = resolve(e.body(), consignments, self) {
                self.retracted.insert(t, e.id());
            }
        }
        self.targets.insert(e.id(), Target::of(e.id(), e.body()));
    }
}

/// The id of the event a retraction names, if it is in the log or earlier in the block.
fn resolve(
    body: &EventBody,
    consignments: &impl Consignments,
    in_block: &InBlock,
) -> Result<Option<EventId>, String> {
    Ok(match &body.retracts {
        None => None,
        Some(Retracts::Event(id)) => Some(*id),
        Some(Retracts::Source(_)) => {
            let Some(key) = retractions::source_key(body) else {
                return Ok(None);
            };
            match in_block.sourced.get(&key) {
                Some(id) => Some(*id),
                None => consignments.sourced(&key)?,
            }
        }
    })
}

/// Refuses a `retracted` event that breaks 8g against the log and the earlier events of its
/// block.
fn retraction_ok(
    event: &Event,
    consignments: &impl Consignments,
    in_block: &InBlock,
) -> Result<(), LedgerError> {
    let body = event.body();
    if body.kind != EventKind::Retracted {
        return Ok(());
    }
    let id = resolve(body, consignments, in_block).map_err(LedgerError::Unavailable)?;
    let target = match id {
        None => None,
        Some(id) => match in_block.targets.get(&id) {
            Some(t) => Some(t.clone()),
            None => consignments.target(&id).map_err(LedgerError::Unavailable)?,
        },
    };
    let already = match &target {
        None => None,
        Some(t) => match in_block.retracted.get(&t.id) {
            Some(by) => Some(*by),
            None => consignments
                .retracted_by(&t.id)
                .map_err(LedgerError::Unavailable)?,
        },
    };
    retractions::check(body, target.as_ref(), already.map(|e| e.to_string()))
        .map_err(LedgerError::Retraction)
}

/// Refuses a risk outcome that refers to no `advance_data` event of its consignment in the log
/// or earlier in its block (8i).
fn outcome_ok(
    event: &Event,
    consignments: &impl Consignments,
    in_block: &InBlock,
) -> Result<(), LedgerError> {
    crate::advance::check_outcome(event.body(), |id| {
        let t = match in_block.targets.get(id) {
            Some(t) => Some(t.clone()),
            None => consignments.target(id)?,
        };
        Ok(t.map(|t| (t.kind, t.ucr)))
    })
    .map_err(LedgerError::Unavailable)?
    .map_err(LedgerError::Outcome)
}

/// Refuses `event` if its source key (8e) is held by a committed event or by one earlier in
/// its block (`in_block`).
fn source_unused(
    event: &Event,
    consignments: &impl Consignments,
    in_block: &HashMap<SourceKey, EventId>,
) -> Result<(), LedgerError> {
    let Some(key) = SourceKey::of(event.body()) else {
        return Ok(());
    };
    let first = match in_block.get(&key) {
        Some(id) => Some(*id),
        None => consignments
            .sourced(&key)
            .map_err(LedgerError::Unavailable)?,
    };
    match first {
        Some(first) => Err(LedgerError::SameSource {
            first,
            key: Box::new(key),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{consignment_route, SampleNetwork};

    fn none(_: &EventId) -> bool {
        false
    }

    #[test]
    fn apply_preview_equals_append_and_refuses_a_stale_or_foreign_preview() {
        let net = SampleNetwork::new(4).unwrap();
        let route = consignment_route(&net, 1, 1_767_225_600_000).unwrap();
        let t = route.iter().map(|e| e.body().time).max().unwrap();
        let mut by_append = LedgerState::new(&net.genesis);
        let mut by_preview = LedgerState::new(&net.genesis);
        by_append.apply_block(&route[..5], t, &none).unwrap();
        let p = by_preview.preview(&route[..5], t, &none).unwrap();
        let (head, positions) = by_preview.apply_preview(&route[..5], p.clone()).unwrap();
        assert_eq!(Some(&head), by_append.head());
        assert_eq!(positions, (0..5).collect::<Vec<u64>>());
        assert_eq!(by_preview.index().root(), by_append.index().root());
        assert_eq!(by_preview.log().root(), by_append.log().root());
        // The same preview again no longer follows the head: refused, state unchanged.
        assert!(by_preview.apply_preview(&route[..5], p).is_none());
        assert_eq!(by_preview.head(), Some(&head));
        // A preview applied with other events (same count) is refused, state unchanged.
        let p = by_preview.preview(&route[5..8], t, &none).unwrap();
        assert!(by_preview.apply_preview(&route[8..11], p).is_none());
        assert_eq!(by_preview.head(), Some(&head));
        assert_eq!(by_preview.log().size(), 5);
        let p = by_preview.preview(&route[5..8], t, &none).unwrap();
        let (next, _) = by_preview.apply_preview(&route[5..8], p).unwrap();
        let (expected, _) = by_append.apply_block(&route[5..8], t, &none).unwrap();
        assert_eq!(next, expected);
    }
}

//! The node's ledger state over its disk store: the small in-memory state (the
//! [`ChainState`], the Merkle frontier and the certified head) beside the [`DiskStore`] that
//! holds the log and the subject index.
//!
//! A block's effect is computed without changing anything ([`NodeLedger::preview`], under a
//! read lock: proofs keep being served meanwhile) and applied by [`NodeLedger::commit`]: the
//! store writes and syncs the block with no lock held, then, under the write lock for a few
//! microseconds, the store's new index state and the new in-memory state are swapped in
//! together. Every read takes the read lock, so it sees one certified head and the index and
//! log as they were at it.

use std::path::Path;
use std::sync::{Mutex, RwLock};

use tradelog_protocol::bundle::{BlockProof, ProvenEvent, BUNDLE_VERSION};
use tradelog_protocol::event::Retracts;
use tradelog_protocol::index::buckets::Staged;
use tradelog_protocol::ledger::{
    index_updates, membership_transitions, Known, LedgerError, TransitionRecord,
};
use tradelog_protocol::membership::ProvenChange;
use tradelog_protocol::merkle::{self, leaf_hash, Frontier, NewNode};
use tradelog_protocol::parties::{self, Consignments, Parties};
use tradelog_protocol::retractions::Target;
use tradelog_protocol::route::{
    containers_named, group_containers, group_of, page_range, GroupRoute, MAX_GROUP,
    MAX_ROUTE_CONTAINERS, ROUTE_GROUP_VERSION, ROUTE_PAGE_VERSION, ROUTE_VERSION,
};
use tradelog_protocol::sources::SourceKey;
use tradelog_protocol::{
    Certificate, ChainState, ConsistencyProof, Event, EventId, EventKind, Genesis, Hash, Head,
    Membership, MembershipProof, OrgId, ProofBundle, RouteBundle, Subject, Ucr,
};

use crate::block::Block;
use crate::chain::{lock, read, write};
use crate::store::legacy::{self, Legacy};
use crate::store::{DiskStore, Opened, Store, StoreConfig, StoreError};

/// What the node keeps in memory whatever its history.
#[derive(Debug, Clone)]
struct Mem {
    chain: ChainState,
    frontier: Frontier,
    certified: Option<(Head, Certificate)>,
}

/// A block's effect, computed without changing the ledger.
#[derive(Debug, Clone)]
pub struct NodePreview {
    head: Head,
    leaves: Vec<Hash>,
    nodes: Vec<NewNode>,
    frontier: Frontier,
    staged: Staged,
    chain: ChainState,
}

impl NodePreview {
    /// The head the block produces.
    pub fn head(&self) -> &Head {
        &self.head
    }
}

/// Why a block was refused.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// By the ledger rules.
    #[error(transparent)]
    Rules(#[from] LedgerError),
    /// Storage failed while checking it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A route refused (PROTOCOL.md 9b).
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// No such page of the route.
    #[error("{0}")]
    Page(String),
    /// The client asked for a page at a head that is no longer the latest (pages of one route
    /// are all served at one head).
    #[error("height: the route's pages are served at the latest certified head, {current}; {asked} is not it (fetch the route again from its first page)")]
    HeadMoved {
        /// The height asked for.
        asked: u64,
        /// The latest certified height.
        current: u64,
    },
    /// The group or its containers exceed what one group route holds (PROTOCOL.md 8f, 9b).
    #[error("{0}")]
    TooLarge(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A route as served: a consignment's (version 1, or a page of version 2) or the route of the
/// group of linked subjects a consignment or trade identifier belongs to (version 3).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum ServedRoute {
    /// Versions 1 and 2.
    Consignment(Box<RouteBundle>),
    /// Version 3.
    Group(GroupRoute),
}

/// Consignments' parties as the committed log has them (PROTOCOL.md 8c), folded from each
/// consignment's stored events when asked: nothing is kept beside the log and index, so
/// restart, rollback and migration need nothing more.
pub struct StoredParties<'a> {
    store: &'a DiskStore,
    membership: &'a Membership,
}

impl StoredParties<'_> {
    /// The parties of `ucr` in the committed log.
    pub fn of(&self, ucr: &Ucr) -> Result<Parties, StoreError> {
        if !parties::applies(self.membership) {
            return Ok(Parties::new());
        }
        let events = self
            .store
            .subject_events(&Subject::Consignment(ucr.clone()))?;
        parties::fold(self.membership, events.iter().map(|(_, e)| e.body())).map_err(|(pos, e)| {
            StoreError::Corrupt {
                key: format!("consignment {ucr}"),
                reason: format!("its stored event {pos} breaks the party rule: {e}"),
            }
        })
    }
}

impl StoredParties<'_> {
    /// The committed event holding a source key (PROTOCOL.md 8e): found among the stored
    /// events of its consignment, or of its container if it names no consignment.
    pub fn sourced(&self, key: &SourceKey) -> Result<Option<EventId>, StoreError> {
        let first_id = key.ids.as_ref().and_then(|ids| ids.first());
        let subject = match (&key.ucr, &key.container, first_id) {
            (Some(ucr), _, _) => Subject::Consignment(ucr.clone()),
            (None, Some(c), _) => Subject::Container(c.clone()),
            (None, None, Some(t)) => Subject::Identifier(t.clone()),
            (None, None, None) => return Ok(None),
        };
        Ok(self
            .store
            .subject_events(&subject)?
            .into_iter()
            .find(|(_, e)| key.matches(e.body()))
            .map(|(_, e)| e.id()))
    }
}

impl StoredParties<'_> {
    /// The committed `retracted` event that retracts `id` (PROTOCOL.md 8g): found among the
    /// stored events of the target's first subject (a retraction names the same subjects).
    pub fn retracted_by(&self, id: &EventId) -> Result<Option<EventId>, StoreError> {
        let Some((_, target)) = self.store.event(id)? else {
            return Ok(None);
        };
        let Some(subject) = tradelog_protocol::ledger::subjects(&target).next() else {
            return Ok(None);
        };
        let t = target.body();
        Ok(self
            .store
            .subject_events(&subject)?
            .into_iter()
            .find(|(_, e)| {
                let b = e.body();
                b.kind == tradelog_protocol::EventKind::Retracted
                    && match &b.retracts {
                        Some(Retracts::Event(x)) => x == id,
                        Some(Retracts::Source(s)) => {
                            t.source.as_ref() == Some(s)
                                && b.issuer.org == t.issuer.org
                                && (&b.ucr, &b.container, &b.ids) == (&t.ucr, &t.container, &t.ids)
                        }
                        None => false,
                    }
            })
            .map(|(_, e)| e.id()))
    }
}

impl Consignments for StoredParties<'_> {
    fn parties(&self, ucr: &Ucr) -> Result<Parties, String> {
        self.of(ucr).map_err(|e| e.to_string())
    }
    fn sourced(&self, key: &SourceKey) -> Result<Option<EventId>, String> {
        StoredParties::sourced(self, key).map_err(|e| e.to_string())
    }
    fn target(&self, id: &EventId) -> Result<Option<Target>, String> {
        Ok(self
            .store
            .event(id)
            .map_err(|e| e.to_string())?
            .map(|(_, e)| Target::of(e.id(), e.body())))
    }
    fn retracted_by(&self, id: &EventId) -> Result<Option<EventId>, String> {
        StoredParties::retracted_by(self, id).map_err(|e| e.to_string())
    }
}

/// A risk outcome found for a filer: its log position, the event, the advance data it assesses.
pub type Assessed = (u64, Event, EventId);

/// The ledger of one node.
#[derive(Debug)]
pub struct NodeLedger {
    genesis: Genesis,
    store: DiskStore,
    mem: RwLock<Mem>,
    /// One commit at a time (consensus commits in order; this makes it a rule).
    committing: Mutex<()>,
}

impl NodeLedger {
    /// Opens the data dir: migrates a dir of the first storage format once, opens the store
    /// (cutting a torn tail, checking the last block) and restores the in-memory state from a
    /// handful of records (the last head, the membership events, the transitions).
    pub fn open(
        genesis: Genesis,
        dir: &Path,
        config: StoreConfig,
    ) -> Result<(NodeLedger, Opened), StoreError> {
        let migrate = legacy::is_legacy(dir);
        let (store, mut opened) = DiskStore::open(dir, &genesis, config)?;
        let ledger = NodeLedger::over(genesis, store)?;
        if migrate {
            ledger.migrate(dir)?;
            opened.height = ledger.store.tip();
        }
        Ok((ledger, opened))
    }

    fn over(genesis: Genesis, store: DiskStore) -> Result<NodeLedger, StoreError> {
        let tip = store.tip();
        let certified = match tip {
            0 => None,
            h => store.header(h)?,
        };
        let head = certified.as_ref().map(|(h, _)| h.clone());
        let size = head.as_ref().map_or(0, |h| h.log_size);
        let changes = store.subject_events(&Subject::Membership)?;
        let chain = ChainState::restore(&genesis, head, &changes, store.transitions()?);
        let frontier = Frontier::of(store.tiles(), size)?;
        Ok(NodeLedger {
            genesis,
            store,
            mem: RwLock::new(Mem {
                chain,
                frontier,
                certified,
            }),
            committing: Mutex::new(()),
        })
    }

    /// Replays every block of a data dir of the first format into this (new) store, checking
    /// each head, then removes the old files.
    fn migrate(&self, dir: &Path) -> Result<(), StoreError> {
        let old = Legacy::open(dir)?;
        let tip = old.tip()?;
        tracing::warn!(
            blocks = tip,
            "migrating the data dir from storage format 1 to {} (one time; the old files are removed when it is done)",
            crate::store::FORMAT
        );
        for h in self.store.tip() + 1..=tip {
            let b = old.block(h)?.ok_or_else(|| StoreError::Corrupt {
                key: format!("legacy block {h}"),
                reason: "missing".into(),
            })?;
            let block = Block {
                head: b.head,
                events: b.events,
            };
            self.commit(&block, &b.certificate, None)?;
            if h % 1000 == 0 {
                tracing::info!(height = h, tip, "migrating");
            }
        }
        for (id, record) in old.evidence()? {
            if let Ok(id) = <[u8; 32]>::try_from(id.as_slice()) {
                self.store.put_evidence(&Hash(id), &record)?;
            }
        }
        old.remove(dir)?;
        tracing::warn!(blocks = tip, "data dir migrated");
        Ok(())
    }

    /// The genesis document.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The store.
    pub fn store(&self) -> &DiskStore {
        &self.store
    }

    /// The chain state after the last committed block.
    pub fn chain(&self) -> ChainState {
        read(&self.mem).chain.clone()
    }

    /// The latest certified head and its certificate.
    pub fn certified(&self) -> Option<(Head, Certificate)> {
        read(&self.mem).certified.clone()
    }

    /// Height of the last committed block (0 before the first).
    pub fn height(&self) -> u64 {
        read(&self.mem).chain.head().map_or(0, |h| h.height)
    }

    /// True if the event is in the committed log (a storage error counts as "in the log": the
    /// event is refused rather than duplicated).
    pub fn in_log(&self, id: &tradelog_protocol::EventId) -> bool {
        let _mem = read(&self.mem);
        self.store.contains(id).unwrap_or(true)
    }

    fn effect(&self, mem: &Mem, events: &[Event], time: u64) -> Result<NodePreview, StoreError> {
        let first = mem.frontier.size();
        let mut frontier = mem.frontier.clone();
        let mut nodes = Vec::with_capacity(events.len() * 2);
        let leaves: Vec<Hash> = events
            .iter()
            .map(|e| {
                let leaf = leaf_hash(&e.leaf_data());
                frontier.push(leaf, &mut nodes);
                leaf
            })
            .collect();
        let staged = self.store.index().stage(&index_updates(events, first))?;
        let head = mem
            .chain
            .next_head(time, frontier.size(), frontier.root(), staged.root());
        let key = Subject::Membership.key();
        let chain = mem.chain.after(events, &head, || {
            let entry = self
                .store
                .index()
                .leaf(Some(&staged), &key)?
                .map(|l| l.entry)
                .unwrap_or_default();
            Ok::<_, StoreError>((entry, self.store.index().prove(Some(&staged), &key)?))
        })?;
        Ok(NodePreview {
            head,
            leaves,
            nodes,
            frontier,
            staged,
            chain,
        })
    }

    /// The effect of `events` as the next block at `time`, with no check at all: for tools that
    /// build ledgers from events they made themselves (benchmarks, the demo). Commit it with
    /// [`NodeLedger::commit`] and a certificate of its head.
    pub fn stage_unchecked(&self, events: &[Event], time: u64) -> Result<NodePreview, StoreError> {
        let mem = read(&self.mem);
        self.effect(&mem, events, time)
    }

    /// Checks a block (the ledger rules; `known` tells which events are in the log and which
    /// signatures were already checked) and computes its effect, changing nothing.
    pub fn preview(
        &self,
        events: &[Event],
        time: u64,
        known: &impl Known,
    ) -> Result<NodePreview, BlockError> {
        let mem = read(&self.mem);
        mem.chain
            .check_block(events, time, known, &self.stored_parties(&mem))?;
        Ok(self.effect(&mem, events, time)?)
    }

    fn stored_parties<'a>(&'a self, mem: &'a Mem) -> StoredParties<'a> {
        StoredParties {
            store: &self.store,
            membership: mem.chain.membership(),
        }
    }

    /// Runs `f` on the chain state after the last committed block and the consignments'
    /// parties in it (admission checks, block building).
    pub fn with_chain<T>(&self, f: impl FnOnce(&ChainState, &StoredParties<'_>) -> T) -> T {
        let mem = read(&self.mem);
        f(&mem.chain, &self.stored_parties(&mem))
    }

    /// The parties of a consignment in the committed log (PROTOCOL.md 8c; empty under rules 1
    /// or for a consignment with no event).
    pub fn parties(&self, ucr: &Ucr) -> Result<Parties, StoreError> {
        let mem = read(&self.mem);
        self.stored_parties(&mem).of(ucr)
    }

    /// Who may read consignment `ucr` under `[api] read_access = "parties"` (api/access.rs):
    /// every organisation that issued an event naming it in the committed log, and every
    /// organisation an event body names in `parties`. Under rules 2 this is a superset of
    /// [`Self::parties`] (customs issuers are included); under rules 1 it is the issuers.
    /// READ-ACCESS PARTY RULE, one place: replace this body with the protocol's rule if they
    /// are to be the same.
    pub fn readers_of(&self, ucr: &Ucr) -> Result<Parties, StoreError> {
        let events = self
            .store()
            .subject_events(&tradelog_protocol::Subject::Consignment(ucr.clone()))?;
        let mut readers = Parties::new();
        for (_, e) in &events {
            let b = e.body();
            readers.insert(b.issuer.org.clone());
            readers.extend(b.parties.iter().flatten().cloned());
        }
        Ok(readers)
    }

    /// Persists and applies a decided block with its certificate. `preview` is the effect
    /// computed when the block was validated; it is used if it follows the committed head and
    /// is the block's (else the effect is computed again). The block itself is not checked:
    /// consensus decided it. A head that differs from the recomputed one is refused.
    pub fn commit(
        &self,
        block: &Block,
        certificate: &Certificate,
        preview: Option<NodePreview>,
    ) -> Result<(), StoreError> {
        let _one = lock(&self.committing);
        let preview = {
            let mem = read(&self.mem);
            let fits = |p: &NodePreview| {
                p.head == block.head
                    && p.leaves.len() == block.events.len()
                    && p.frontier.size() == mem.frontier.size() + block.events.len() as u64
                    && block
                        .events
                        .iter()
                        .zip(&p.leaves)
                        .all(|(e, l)| leaf_hash(&e.leaf_data()) == *l)
            };
            match preview {
                Some(p) if fits(&p) && p.head.prev == block.head.prev => p,
                _ => self.effect(&mem, &block.events, block.head.time)?,
            }
        };
        if preview.head != block.head {
            return Err(StoreError::Corrupt {
                key: format!("block {}", block.head.height),
                reason: "decided head differs from the locally computed head".into(),
            });
        }
        let transition: Option<TransitionRecord> = preview
            .chain
            .transitions()
            .last()
            .filter(|t| t.height == block.head.height)
            .cloned();
        let appended = self.store.append(
            block,
            certificate,
            &preview.staged,
            &preview.nodes,
            transition.as_ref(),
        )?;
        {
            let mut mem = write(&self.mem);
            self.store.publish(&preview.staged, &appended);
            mem.chain = preview.chain;
            mem.frontier = preview.frontier;
            mem.certified = Some((block.head.clone(), certificate.clone()));
        }
        self.store.checkpoint(block.head.height)?;
        Ok(())
    }

    /// The proof bundle of a subject against the latest certified head.
    pub fn provenance(&self, subject: &Subject) -> Result<Option<ProofBundle>, StoreError> {
        Ok(self
            .provenances(std::slice::from_ref(subject))?
            .and_then(|mut b| b.pop()))
    }

    /// The proof bundles of `subjects`, all against the latest certified head (one answer
    /// that reads several subjects, PROTOCOL.md 9e).
    pub fn provenances(
        &self,
        subjects: &[Subject],
    ) -> Result<Option<Vec<ProofBundle>>, StoreError> {
        let mem = read(&self.mem);
        let Some((head, cert)) = mem.certified.clone() else {
            return Ok(None);
        };
        let membership = self.membership_proof(&mem, &head)?;
        subjects
            .iter()
            .map(|s| self.bundle(&head, &cert, s, membership.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The risk outcomes (PROTOCOL.md 8i) among the committed log positions `from..` (at most
    /// `scan` of them, up to the certified head) that assess advance data `org` filed, with
    /// the advance data's id; and the position after the last one read.
    pub fn outcomes_for(
        &self,
        org: &OrgId,
        from: u64,
        scan: u64,
    ) -> Result<(Vec<Assessed>, u64), StoreError> {
        let size = read(&self.mem)
            .certified
            .as_ref()
            .map_or(0, |(h, _)| h.log_size);
        let end = size.min(from.saturating_add(scan));
        let mut out = Vec::new();
        for pos in from..end {
            let Some(wire) = self.store.wire_at(pos)? else {
                break;
            };
            // Cheap test first: only an outcome's wire names a `reason`.
            if !wire.windows(9).any(|w| w == b"\"reason\":") {
                continue;
            }
            let Ok(e) = Event::from_json(&wire) else {
                continue;
            };
            let b = e.body();
            if !b.kind.is_risk_outcome() {
                continue;
            }
            for r in &b.refs {
                if let Some((_, a)) = self.store.event(r)? {
                    let ab = a.body();
                    if ab.kind == EventKind::AdvanceData && ab.ucr == b.ucr && &ab.issuer.org == org
                    {
                        out.push((pos, e.clone(), a.id()));
                        break;
                    }
                }
            }
        }
        Ok((out, end.max(from)))
    }

    fn bundle(
        &self,
        head: &Head,
        cert: &Certificate,
        subject: &Subject,
        membership: MembershipProof,
    ) -> Result<ProofBundle, StoreError> {
        let key = subject.key();
        let index = self.store.index();
        let events = self.store.subject_events(subject)?;
        let positions: Vec<u64> = events.iter().map(|(i, _)| *i).collect();
        let proofs = self.inclusion_paths(&positions, head.log_size)?;
        let blocks = self.block_proofs(&positions, head)?;
        let proven = events
            .into_iter()
            .zip(proofs)
            .map(|((index, event), proof)| ProvenEvent {
                index,
                event,
                proof,
            })
            .collect();
        Ok(ProofBundle {
            version: BUNDLE_VERSION,
            subject: subject.clone(),
            head: head.clone(),
            certificate: cert.clone(),
            events: proven,
            index_entry: index.leaf(None, &key)?.map(|l| l.entry).unwrap_or_default(),
            index_proof: index.prove(None, &key)?,
            membership,
            blocks: Some(blocks),
        })
    }

    /// The blocks that committed the events at `positions` (ascending, all below
    /// `head.log_size`), each with its certificate and the head before it (PROTOCOL.md 9
    /// step 7). A position's block is found by binary search over the stored block records.
    fn block_proofs(&self, positions: &[u64], head: &Head) -> Result<Vec<BlockProof>, StoreError> {
        let mut out: Vec<BlockProof> = Vec::new();
        let mut low = 1u64;
        for &pos in positions {
            if out.last().is_some_and(|b| pos < b.head.log_size) {
                continue;
            }
            // The lowest height whose log_size exceeds pos, at or above the last block found.
            let (mut lo, mut hi) = (low, head.height);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let size = self.record_at(mid)?.head.log_size;
                if size > pos {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            let record = self.record_at(lo)?;
            let prev = match lo {
                1 => None,
                h => Some(self.record_at(h - 1)?.head),
            };
            low = lo + 1;
            out.push(BlockProof {
                head: record.head,
                certificate: record.certificate,
                prev,
            });
        }
        Ok(out)
    }

    fn record_at(&self, height: u64) -> Result<crate::store::BlockRecord, StoreError> {
        self.store
            .record(height)?
            .ok_or_else(|| StoreError::Corrupt {
                key: format!("block {height}"),
                reason: "missing below the certified head".into(),
            })
    }

    /// Inclusion paths of `positions` in the log of `size` leaves. Each path reads its own tiles
    /// (a cold read is a disk read per tile), so many are read on several threads at once.
    fn inclusion_paths(&self, positions: &[u64], size: u64) -> Result<Vec<Vec<Hash>>, StoreError> {
        const PER_THREAD: usize = 8;
        let tiles = self.store.tiles();
        let one = |p: &u64| merkle::prove_inclusion(tiles, *p, size).map(|proof| proof.path);
        if positions.len() <= PER_THREAD {
            return positions.iter().map(one).collect();
        }
        std::thread::scope(|s| {
            let handles: Vec<_> = positions
                .chunks(PER_THREAD)
                .map(|chunk| s.spawn(move || chunk.iter().map(one).collect::<Result<Vec<_>, _>>()))
                .collect();
            let mut out = Vec::with_capacity(positions.len());
            for h in handles {
                let paths = h.join().map_err(|_| StoreError::Corrupt {
                    key: "tiles".into(),
                    reason: "a proof thread panicked".into(),
                })??;
                out.extend(paths);
            }
            Ok(out)
        })
    }

    /// The route of a consignment (PROTOCOL.md 9b) at the latest certified head: the whole
    /// route in one bundle if it names at most [`MAX_ROUTE_CONTAINERS`] containers, else the
    /// page of containers from `containers_from` (a multiple of that). `at_height`, if given,
    /// must be the latest certified height (a client fetching the later pages of a route asks
    /// for the head of its first page).
    ///
    /// `subject` is a consignment or a trade identifier: a consignment linked to nothing has
    /// its route as before; otherwise the route is that of its group (version 3, not paged).
    pub fn route(
        &self,
        subject: &Subject,
        containers_from: u64,
        at_height: Option<u64>,
    ) -> Result<Option<ServedRoute>, RouteError> {
        let mem = read(&self.mem);
        let Some((head, cert)) = mem.certified.clone() else {
            return Ok(None);
        };
        if let Some(asked) = at_height.filter(|h| *h != head.height) {
            return Err(RouteError::HeadMoved {
                asked,
                current: head.height,
            });
        }
        let size = head.log_size;
        let group = group_of(subject.clone(), |s| {
            Ok::<_, StoreError>(
                self.store
                    .subject_events(s)?
                    .into_iter()
                    .filter(|(i, _)| *i < size)
                    .map(|(_, e)| e)
                    .collect(),
            )
        })?
        .map_err(|n| {
            RouteError::TooLarge(format!(
                "{subject}: its group of linked subjects has more than {MAX_GROUP} ({n} found)"
            ))
        })?;
        let Subject::Consignment(ucr) = subject else {
            return self.group_route(&mem, &head, &cert, &group, containers_from);
        };
        if group.len() > 1 {
            return self.group_route(&mem, &head, &cert, &group, containers_from);
        }
        let membership = self.membership_proof(&mem, &head)?;
        let consignment = self.bundle(
            &head,
            &cert,
            &Subject::Consignment(ucr.clone()),
            membership.clone(),
        )?;
        let named = containers_named(consignment.events.iter().map(|pe| &pe.event));
        let range = page_range(named.len(), containers_from).map_err(RouteError::Page)?;
        let paged = named.len() > MAX_ROUTE_CONTAINERS;
        let containers = named[range]
            .iter()
            .map(|c| {
                self.bundle(
                    &head,
                    &cert,
                    &Subject::Container(c.clone()),
                    membership.clone(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ServedRoute::Consignment(Box::new(RouteBundle {
            version: if paged {
                ROUTE_PAGE_VERSION
            } else {
                ROUTE_VERSION
            },
            consignment,
            containers,
            containers_from: paged.then_some(containers_from),
        }))))
    }

    /// The route of a consignment linked to nothing ([`NodeLedger::route`] of its UCR, as a
    /// version 1 or 2 bundle); `None` also for a consignment whose route is a group's.
    pub fn consignment_route(
        &self,
        ucr: &Ucr,
        containers_from: u64,
        at_height: Option<u64>,
    ) -> Result<Option<RouteBundle>, RouteError> {
        Ok(
            match self.route(
                &Subject::Consignment(ucr.clone()),
                containers_from,
                at_height,
            )? {
                Some(ServedRoute::Consignment(r)) => Some(*r),
                _ => None,
            },
        )
    }

    /// The route of a group (PROTOCOL.md 9b, version 3) at `head`.
    fn group_route(
        &self,
        mem: &Mem,
        head: &Head,
        cert: &Certificate,
        group: &[Subject],
        containers_from: u64,
    ) -> Result<Option<ServedRoute>, RouteError> {
        if containers_from != 0 {
            return Err(RouteError::Page(format!(
                "containers_from: the route of a group of linked subjects is not paged ({containers_from} asked)"
            )));
        }
        let membership = self.membership_proof(mem, head)?;
        let subjects = group
            .iter()
            .map(|s| self.bundle(head, cert, s, membership.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let named = group_containers(&subjects);
        if named.len() > MAX_ROUTE_CONTAINERS {
            return Err(RouteError::TooLarge(format!(
                "the group's events name {} containers; a group route holds {MAX_ROUTE_CONTAINERS}",
                named.len()
            )));
        }
        let containers = named
            .iter()
            .map(|c| {
                self.bundle(
                    head,
                    cert,
                    &Subject::Container(c.clone()),
                    membership.clone(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ServedRoute::Group(GroupRoute {
            version: ROUTE_GROUP_VERSION,
            subjects,
            containers,
        })))
    }

    /// The membership proof (PROTOCOL.md 9d) at `head`, the certified head of `mem`.
    fn membership_proof(&self, mem: &Mem, head: &Head) -> Result<MembershipProof, StoreError> {
        let key = Subject::Membership.key();
        let changes = self.store.subject_events(&Subject::Membership)?;
        let positions: Vec<u64> = changes.iter().map(|(i, _)| *i).collect();
        let proofs = self.inclusion_paths(&positions, head.log_size)?;
        let proven: Vec<ProvenChange> = changes
            .into_iter()
            .zip(proofs)
            .map(|((index, event), proof)| ProvenChange {
                index,
                event,
                proof,
            })
            .collect();
        let mut certified = Vec::new();
        for t in mem.chain.transitions() {
            if let Some(hc) = self.store.header(t.height)? {
                certified.push((t.height, hc));
            }
        }
        let transitions = membership_transitions(mem.chain.transitions(), head, |h| {
            certified
                .iter()
                .find(|(height, _)| *height == h)
                .map(|(_, hc)| hc.clone())
        })
        .ok_or_else(|| StoreError::Corrupt {
            key: "transitions".into(),
            reason: "a transition's block is missing".into(),
        })?;
        let index = self.store.index();
        Ok(MembershipProof {
            transitions,
            events: proven,
            index_entry: index.leaf(None, &key)?.map(|l| l.entry).unwrap_or_default(),
            index_proof: index.prove(None, &key)?,
        })
    }

    /// The latest certified head, its certificate and the membership proof at it.
    pub fn membership(&self) -> Result<Option<(Head, Certificate, MembershipProof)>, StoreError> {
        let mem = read(&self.mem);
        let Some((head, cert)) = mem.certified.clone() else {
            return Ok(None);
        };
        let proof = self.membership_proof(&mem, &head)?;
        Ok(Some((head, cert, proof)))
    }

    /// Consistency proof between two log sizes up to the certified head's.
    pub fn consistency(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Option<(ConsistencyProof, Hash, Hash)>, StoreError> {
        let mem = read(&self.mem);
        let size = mem.certified.as_ref().map_or(0, |(h, _)| h.log_size);
        if first > second || second > size {
            return Ok(None);
        }
        let tiles = self.store.tiles();
        Ok(Some((
            merkle::prove_consistency(tiles, first, second)?,
            merkle::root_at(tiles, first)?,
            merkle::root_at(tiles, second)?,
        )))
    }
}

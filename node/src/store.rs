//! Durable storage of committed blocks, behind the [`Store`] trait, with a sled implementation.
//!
//! Layout (one sled tree, keys prefixed by one byte, integers big-endian):
//! `b || height` → block record (head, certificate, first log index, event count, JSON);
//! `x || index` → event wire JSON; `e || id` → log index; `s || subject key || index` → empty;
//! `t` → tip height. A block is written in one atomic batch, then flushed.
//!
//! [`open_state`] replays the blocks into a [`LedgerState`] and checks each stored head against
//! the recomputed one; a block that does not match (a torn or corrupted tail) is cut off with
//! everything after it, and the node fetches it again from its peers.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tradelog_protocol::ledger::subjects;
use tradelog_protocol::{Certificate, Event, EventId, Genesis, Hash, Head, LedgerState, Subject};

/// Why storage failed. Any storage failure is fatal for the node.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("storage: {0}")]
    Db(#[from] sled::Error),
    /// A record does not decode.
    #[error("storage record {key} is corrupt: {reason}")]
    Corrupt {
        /// The record's key, hex.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A block does not follow the tip.
    #[error("block {got} does not follow the stored tip {tip}")]
    NotNext {
        /// Height given.
        got: u64,
        /// Stored tip.
        tip: u64,
    },
}

/// A decided block with its certificate, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommittedBlock {
    /// The head.
    pub head: Head,
    /// Its quorum certificate.
    pub certificate: Certificate,
    /// The events, in log order.
    pub events: Vec<Event>,
}

#[derive(Serialize, Deserialize)]
struct BlockRecord {
    head: Head,
    certificate: Certificate,
    first: u64,
    count: u64,
}

/// What the node needs from its storage.
pub trait Store: Send + Sync + 'static {
    /// Persists a block durably and atomically; it must follow the tip.
    fn commit(&self, block: &CommittedBlock) -> Result<(), StoreError>;
    /// Height of the last stored block (0 if none).
    fn tip(&self) -> Result<u64, StoreError>;
    /// A stored block.
    fn block(&self, height: u64) -> Result<Option<CommittedBlock>, StoreError>;
    /// Head and certificate of a stored block, without its events.
    fn header(&self, height: u64) -> Result<Option<(Head, Certificate)>, StoreError>;
    /// An event and its log position.
    fn event(&self, id: &EventId) -> Result<Option<(u64, Event)>, StoreError>;
    /// The event at a log position.
    fn event_at(&self, index: u64) -> Result<Option<Event>, StoreError>;
    /// A subject's events with positions below `below`, in log order.
    fn subject_events(
        &self,
        subject: &Subject,
        below: u64,
    ) -> Result<Vec<(u64, Event)>, StoreError>;
    /// Removes every block from `height` on, with their events and index entries.
    fn truncate_from(&self, height: u64) -> Result<(), StoreError>;
}

/// The sled-backed store.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    proposals: sled::Tree,
}

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![prefix];
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn corrupt(k: &[u8], reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: hex::encode(k),
        reason: reason.to_string(),
    }
}

fn be(v: &[u8], k: &[u8]) -> Result<u64, StoreError> {
    let b: [u8; 8] = v.try_into().map_err(|_| corrupt(k, "not a u64"))?;
    Ok(u64::from_be_bytes(b))
}

impl SledStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let db = sled::Config::new().path(dir).open()?;
        let proposals = db.open_tree("proposals")?;
        Ok(SledStore { db, proposals })
    }

    /// Persists this node's own proposal for `(height, round)` before it is sent, so a restart
    /// proposes the same block again (the consensus WAL requires it).
    pub fn put_proposal(
        &self,
        height: u64,
        round: u32,
        block: &crate::chain::Block,
    ) -> Result<(), StoreError> {
        let k = key(b'p', &[&height.to_be_bytes(), &round.to_be_bytes()]);
        let v = serde_json::to_vec(block).map_err(|e| corrupt(&k, e))?;
        self.proposals.insert(k, v)?;
        self.proposals.flush()?;
        Ok(())
    }

    /// This node's own proposal for `(height, round)`, if it made one.
    pub fn proposal(
        &self,
        height: u64,
        round: u32,
    ) -> Result<Option<crate::chain::Block>, StoreError> {
        let k = key(b'p', &[&height.to_be_bytes(), &round.to_be_bytes()]);
        self.proposals
            .get(&k)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&k, e)))
            .transpose()
    }

    /// Forgets own proposals up to and including `height`.
    pub fn prune_proposals(&self, height: u64) -> Result<(), StoreError> {
        let end = key(b'p', &[&(height + 1).to_be_bytes()]);
        for item in self.proposals.range(..end) {
            self.proposals.remove(item?.0)?;
        }
        Ok(())
    }

    fn record(&self, height: u64) -> Result<Option<BlockRecord>, StoreError> {
        let k = key(b'b', &[&height.to_be_bytes()]);
        self.db
            .get(&k)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&k, e)))
            .transpose()
    }

    /// The JSON of block `height` as `GET /v1/blocks/{height}` serves it: byte for byte what
    /// serializing [`Store::block`]'s answer gives (`{"head", "certificate", "events"}`), but
    /// built from the stored event JSON (written by [`Store::commit`] from `Event::to_json`)
    /// without parsing and re-serializing each event. The bytes are not re-verified here: every
    /// stored block was checked when the store was opened, and a reader verifies what it gets.
    pub fn block_json(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(r) = self.record(height)? else {
            return Ok(None);
        };
        let rk = key(b'b', &[&height.to_be_bytes()]);
        let mut out = Vec::with_capacity(1024 + 640 * r.count as usize);
        out.extend_from_slice(br#"{"head":"#);
        serde_json::to_writer(&mut out, &r.head).map_err(|e| corrupt(&rk, e))?;
        out.extend_from_slice(br#","certificate":"#);
        serde_json::to_writer(&mut out, &r.certificate).map_err(|e| corrupt(&rk, e))?;
        out.extend_from_slice(br#","events":["#);
        let end = r
            .first
            .checked_add(r.count)
            .ok_or_else(|| corrupt(&rk, "count overflows"))?;
        let range = key(b'x', &[&r.first.to_be_bytes()])..key(b'x', &[&end.to_be_bytes()]);
        let mut next = r.first;
        for item in self.db.range(range) {
            let (k, v) = item?;
            if k[..] != key(b'x', &[&next.to_be_bytes()])[..] {
                break;
            }
            if next > r.first {
                out.push(b',');
            }
            out.extend_from_slice(&v);
            next += 1;
        }
        if next != end {
            return Err(corrupt(&key(b'x', &[&next.to_be_bytes()]), "missing event"));
        }
        out.extend_from_slice(b"]}");
        Ok(Some(out))
    }

    /// Overwrites the stored JSON of the event at `index` (tests simulate corruption with it).
    #[doc(hidden)]
    pub fn corrupt_event_for_test(&self, index: u64, json: &[u8]) -> Result<(), StoreError> {
        self.db.insert(key(b'x', &[&index.to_be_bytes()]), json)?;
        self.db.flush()?;
        Ok(())
    }
}

impl Store for SledStore {
    fn commit(&self, block: &CommittedBlock) -> Result<(), StoreError> {
        let tip = self.tip()?;
        if block.head.height != tip + 1 {
            return Err(StoreError::NotNext {
                got: block.head.height,
                tip,
            });
        }
        let count = block.events.len() as u64;
        let first = block.head.log_size - count;
        let record = BlockRecord {
            head: block.head.clone(),
            certificate: block.certificate.clone(),
            first,
            count,
        };
        let mut batch = sled::Batch::default();
        let rec = serde_json::to_vec(&record).map_err(|e| corrupt(b"b", e))?;
        batch.insert(key(b'b', &[&block.head.height.to_be_bytes()]), rec);
        for (i, e) in block.events.iter().enumerate() {
            let index = (first + i as u64).to_be_bytes();
            batch.insert(key(b'x', &[&index]), e.to_json().into_bytes());
            batch.insert(key(b'e', &[e.id().as_bytes()]), &index[..]);
            for s in subjects(e) {
                batch.insert(key(b's', &[s.key().as_bytes(), &index]), &[][..]);
            }
        }
        batch.insert(&b"t"[..], &block.head.height.to_be_bytes()[..]);
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    fn tip(&self) -> Result<u64, StoreError> {
        self.db.get(b"t")?.map_or(Ok(0), |v| be(&v, b"t"))
    }

    fn block(&self, height: u64) -> Result<Option<CommittedBlock>, StoreError> {
        let Some(r) = self.record(height)? else {
            return Ok(None);
        };
        let mut events = Vec::with_capacity(r.count as usize);
        for i in r.first..r.first + r.count {
            let e = self
                .event_at(i)?
                .ok_or_else(|| corrupt(&key(b'x', &[&i.to_be_bytes()]), "missing event"))?;
            events.push(e);
        }
        Ok(Some(CommittedBlock {
            head: r.head,
            certificate: r.certificate,
            events,
        }))
    }

    fn header(&self, height: u64) -> Result<Option<(Head, Certificate)>, StoreError> {
        Ok(self.record(height)?.map(|r| (r.head, r.certificate)))
    }

    fn event(&self, id: &EventId) -> Result<Option<(u64, Event)>, StoreError> {
        let k = key(b'e', &[id.as_bytes()]);
        let Some(v) = self.db.get(&k)? else {
            return Ok(None);
        };
        let index = be(&v, &k)?;
        Ok(self.event_at(index)?.map(|e| (index, e)))
    }

    fn event_at(&self, index: u64) -> Result<Option<Event>, StoreError> {
        let k = key(b'x', &[&index.to_be_bytes()]);
        self.db
            .get(&k)?
            .map(|v| Event::from_json(&v).map_err(|e| corrupt(&k, e)))
            .transpose()
    }

    fn subject_events(
        &self,
        subject: &Subject,
        below: u64,
    ) -> Result<Vec<(u64, Event)>, StoreError> {
        let prefix = key(b's', &[subject.key().as_bytes()]);
        let mut out = Vec::new();
        for item in self.db.scan_prefix(&prefix) {
            let (k, _) = item?;
            let index = be(&k[prefix.len()..], &k)?;
            if index >= below {
                break;
            }
            let e = self
                .event_at(index)?
                .ok_or_else(|| corrupt(&k, "index entry without event"))?;
            out.push((index, e));
        }
        Ok(out)
    }

    fn truncate_from(&self, height: u64) -> Result<(), StoreError> {
        let tip = self.tip()?;
        let Some(cut) = self.record(height)?.map(|r| r.first) else {
            return Ok(());
        };
        // Recovery is rare: scan every index so nothing of the cut tail survives, even where
        // the tail's own records are unreadable.
        let mut batch = sled::Batch::default();
        for item in self.db.scan_prefix(b"e") {
            let (k, v) = item?;
            if be(&v, &k)? >= cut {
                batch.remove(k);
            }
        }
        for item in self.db.scan_prefix(b"s") {
            let (k, _) = item?;
            if k.len() < 8 || be(&k[k.len() - 8..], &k)? >= cut {
                batch.remove(k);
            }
        }
        for item in self
            .db
            .range(key(b'x', &[&cut.to_be_bytes()])..key(b'y', &[]))
        {
            batch.remove(item?.0);
        }
        for h in height..=tip {
            batch.remove(key(b'b', &[&h.to_be_bytes()]));
        }
        batch.insert(&b"t"[..], &(height - 1).to_be_bytes()[..]);
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }
}

/// What [`open_state`] found.
#[derive(Debug)]
pub struct Recovery {
    /// Blocks replayed and verified.
    pub height: u64,
    /// Height of the first block that did not match and was cut off (with all after it).
    pub cut_from: Option<u64>,
}

/// Replays every stored block into a fresh state, verifying each stored head against the
/// recomputed one; cuts off the first block that fails, and everything after it.
pub fn open_state(
    store: &dyn Store,
    genesis: &Genesis,
) -> Result<(LedgerState, Recovery), StoreError> {
    let mut state = LedgerState::new(genesis);
    let tip = store.tip()?;
    for h in 1..=tip {
        let ok = match store.block(h) {
            Ok(Some(b)) => {
                let (head, _) = state.append_checked(&b.events, b.head.time);
                head == b.head && state_matches(&state, &b.head)
            }
            Ok(None) | Err(StoreError::Corrupt { .. }) => false,
            Err(e) => return Err(e),
        };
        if !ok {
            store.truncate_from(h)?;
            // Rebuild the state up to h-1 (the failed block may have been partly appended).
            let (state, _) = open_state(store, genesis)?;
            return Ok((
                state,
                Recovery {
                    height: h - 1,
                    cut_from: Some(h),
                },
            ));
        }
    }
    Ok((
        state,
        Recovery {
            height: tip,
            cut_from: None,
        },
    ))
}

fn state_matches(state: &LedgerState, head: &Head) -> bool {
    state.log().size() == head.log_size
        && state.log().root() == head.log_root
        && state.index().root() == head.index_root
}

/// The genesis hash stored in a data dir marks which ledger it belongs to.
pub fn check_genesis(store: &SledStore, genesis: &Genesis) -> Result<(), StoreError> {
    let k = b"g".to_vec();
    let want = genesis.hash();
    match store.db.get(&k)? {
        None => {
            store.db.insert(&k, want.as_bytes().to_vec())?;
            store.db.flush()?;
            Ok(())
        }
        Some(v) if v.as_ref() == want.as_bytes() => Ok(()),
        Some(v) => Err(corrupt(
            &k,
            format!(
                "data dir belongs to genesis {}, not {want}",
                Hash(v.as_ref().try_into().unwrap_or([0u8; 32]))
            ),
        )),
    }
}

/// Most evidence records kept (each is bounded by the API's body limit).
pub const MAX_EVIDENCE: usize = 10_000;

impl SledStore {
    /// Stores an evidence record under its id (idempotent); false if it was already there.
    /// Refuses past [`MAX_EVIDENCE`] records.
    pub fn put_evidence(&self, id: &Hash, record: &[u8]) -> Result<bool, StoreError> {
        let tree = self.db.open_tree("evidence")?;
        if tree.contains_key(id.as_bytes())? {
            return Ok(false);
        }
        if tree.len() >= MAX_EVIDENCE {
            return Err(corrupt(
                id.as_bytes(),
                format!("evidence store is full ({MAX_EVIDENCE} records)"),
            ));
        }
        tree.insert(id.as_bytes(), record)?;
        tree.flush()?;
        Ok(true)
    }

    /// Every stored evidence record, in id order.
    pub fn evidence(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let tree = self.db.open_tree("evidence")?;
        let mut out = Vec::new();
        for item in tree.iter() {
            out.push(item?.1.to_vec());
        }
        Ok(out)
    }
}

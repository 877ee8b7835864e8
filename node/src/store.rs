//! Durable storage of the ledger: blocks, events, the Merkle log and the subject index, on disk,
//! so that a node's memory and restart time do not grow with its history.
//!
//! Layout of a data dir (`<data>/ledger/`):
//!
//! | path | what | written |
//! |---|---|---|
//! | `meta/` (sled) | format, genesis hash, the tip with where the index logs end at it, validator-set transitions, own proposals, evidence | one atomic batch per block, after the files: the commit point |
//! | `blocks/data`, `blocks/offsets` | one record per block: head, certificate, first log position and count, where every file below ended after it | appended |
//! | `events/data`, `events/offsets` | every event's record (id, links to each subject's previous event, canonical wire JSON) by log position | appended |
//! | `tiles/level-NN` | Merkle hashes of tree levels 0, 8, 16, … (C2SP tlog-tiles shape) | appended |
//! | `index/NNNNNN.seg`, `index/checkpoint` | subject-index buckets (log-structured) and their directory's checkpoint | appended; checkpoint replaced atomically |
//! | `ids/NNNNNN.seg`, `ids/checkpoint` | event id → log position, the same way | same |
//!
//! A block is committed in this order: its records (the block record included) are appended to
//! the files and made durable (`fdatasync`), then one sled batch moves the tip, then the new
//! state is published to readers. A crash before the batch leaves bytes past
//! the lengths the last block recorded: opening cuts them off. Opening reads the last block's
//! record, cuts every file back to it, reloads the index directories from their checkpoints
//! plus the records written since (bounded), and checks the last head against the files: the
//! log root from the tiles, the index root from the buckets, and the last block's events
//! against the log's leaves. A block that fails is dropped (peers send it again); a full
//! re-verification of the whole history is `tradelog-node verify-store`.
//!
//! Data dirs written by the first release (one sled tree with every event) are read by
//! [`legacy`] and migrated once when the node opens them (`crate::ledger`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tradelog_protocol::index::buckets::{Staged, NO_EVENT};
use tradelog_protocol::ledger::{index_updates, subjects, TransitionRecord};
use tradelog_protocol::merkle::{leaf_hash, Frontier, HashSource, NewNode};
use tradelog_protocol::{Certificate, Event, EventId, Genesis, Hash, Head, Subject};

use crate::block::{Block, CommittedBlock};

pub mod buckets;
pub mod cache;
pub mod dedup;
pub mod events;
pub mod file;
pub mod index;
pub mod legacy;
pub mod records;
pub mod tiles;

use buckets::{Pos, Tuning, Written};
use dedup::Dedup;
use events::{Events, Record};
use file::FileError;
use index::DiskIndex;
use records::RecordLog;
use tiles::Tiles;

/// Why storage failed. Any storage failure is fatal for the node.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The metadata database failed.
    #[error("storage: {0}")]
    Db(#[from] sled::Error),
    /// A data file failed.
    #[error("storage: {0}")]
    File(#[from] FileError),
    /// A record does not decode or does not match what it should.
    #[error("storage record {key} is corrupt: {reason}")]
    Corrupt {
        /// The record.
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

impl StoreError {
    /// The file the error is about, if it is about one (for the fatal first log line).
    pub fn path(&self) -> Option<&Path> {
        match self {
            StoreError::File(f) => Some(&f.path),
            _ => None,
        }
    }
}

fn corrupt(key: impl std::fmt::Display, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// Storage settings (`[store]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// Memory for caches of tiles and index buckets, in MiB.
    pub cache_mb: usize,
    /// `fdatasync` the data files before each block's record (off only for benchmarks that
    /// build ledgers).
    pub sync: bool,
    /// Segment and checkpoint sizes of the index logs (tests make them small).
    pub tuning: Tuning,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            cache_mb: DEFAULT_CACHE_MB,
            sync: true,
            tuning: Tuning::default(),
        }
    }
}

/// Default of `[store] cache_mb`.
pub const DEFAULT_CACHE_MB: usize = 64;
/// Bits of the subject index's bucket number in a new store (2^18 buckets).
pub const INDEX_BITS: u8 = 18;
/// Bits of the id table's bucket number in a new store (2^20 buckets).
pub const IDS_BITS: u8 = 20;
/// The storage format this code writes.
pub const FORMAT: u32 = 2;
/// sled's own page cache.
const SLED_CACHE: u64 = 8 << 20;

/// A block as the store records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRecord {
    /// The head.
    pub head: Head,
    /// Its certificate.
    pub certificate: Certificate,
    /// Log position of its first event.
    pub first: u64,
    /// Its events.
    pub count: u64,
    /// Length of `events/data` after it.
    pub events_end: u64,
    /// End of the index log after it.
    pub index: Pos,
    /// End of the id log after it.
    pub ids: Pos,
    /// Subjects in the index after it.
    pub subjects: u64,
}

/// What the node needs to read from its storage.
pub trait Store: Send + Sync + 'static {
    /// Height of the last stored block (0 if none).
    fn tip(&self) -> u64;
    /// A stored block.
    fn block(&self, height: u64) -> Result<Option<CommittedBlock>, StoreError>;
    /// Head and certificate of a stored block, without its events.
    fn header(&self, height: u64) -> Result<Option<(Head, Certificate)>, StoreError>;
    /// An event and its log position.
    fn event(&self, id: &EventId) -> Result<Option<(u64, Event)>, StoreError>;
    /// The event at a log position.
    fn event_at(&self, index: u64) -> Result<Option<Event>, StoreError>;
}

/// What opening found.
#[derive(Debug, Clone, Default)]
pub struct Opened {
    /// Height of the last block kept.
    pub height: u64,
    /// Blocks that did not verify and were dropped, from this height on.
    pub cut_from: Option<u64>,
    /// Index and id records replayed after their checkpoints.
    pub replayed: u64,
    /// The index had to be rebuilt from the event log (slow; logged).
    pub rebuilt: bool,
}

/// What [`DiskStore::append`] wrote, to be published once the block is recorded.
#[derive(Debug)]
pub struct Appended {
    index: Vec<Written>,
    ids: Vec<Written>,
}

/// Sizes on disk, by part (the bench prints them).
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskUsage {
    /// `events/data`.
    pub events: u64,
    /// `events/offsets`.
    pub offsets: u64,
    /// Tiles.
    pub tiles: u64,
    /// Index segments and checkpoint (and live bytes).
    pub index: (u64, u64),
    /// Id segments and checkpoint (and live bytes).
    pub ids: (u64, u64),
    /// Block records (`blocks/`).
    pub blocks: u64,
    /// sled (`meta/`).
    pub meta: u64,
}

impl DiskUsage {
    /// Everything.
    pub fn total(&self) -> u64 {
        self.events
            + self.offsets
            + self.tiles
            + self.index.0
            + self.ids.0
            + self.blocks
            + self.meta
    }
}

/// The disk store.
#[derive(Debug)]
pub struct DiskStore {
    root: PathBuf,
    db: sled::Db,
    proposals: sled::Tree,
    evidence: sled::Tree,
    blocks: RecordLog,
    events: Events,
    tiles: Tiles,
    index: DiskIndex,
    ids: Dedup,
    sync: bool,
    tip: AtomicU64,
    /// Set when blocks were dropped: the index directories in memory are then ahead of the
    /// tip, and no checkpoint may be written from them.
    dropped: std::sync::atomic::AtomicBool,
}

impl Drop for DiskStore {
    /// A clean close saves the index directories, so the next start replays nothing.
    fn drop(&mut self) {
        if self.dropped.load(Ordering::Acquire) {
            return;
        }
        let tip = self.tip();
        for r in [
            self.index.checkpoint(tip, true),
            self.ids.checkpoint(tip, true),
        ] {
            if let Err(e) = r {
                tracing::warn!(error = %e, "cannot save the index checkpoint at close");
            }
        }
    }
}

/// Opens the metadata database. sled releases its file lock when the last of its background
/// threads lets go of a dropped database, a moment after the drop: reopening the same dir at
/// once in this process (`DiskStore::open` after dropping a block that does not match the
/// files) can find it still locked. That is retried for up to 5 s; a lock another process holds
/// is still an error after it.
fn open_meta(path: &Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(SLED_CACHE)
            .open()
        {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

fn be(v: &[u8], what: &str) -> Result<u64, StoreError> {
    let b: [u8; 8] = v.try_into().map_err(|_| corrupt(what, "not a u64"))?;
    Ok(u64::from_be_bytes(b))
}

fn dir_bytes(p: &Path) -> u64 {
    std::fs::read_dir(p).map_or(0, |rd| {
        rd.flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

impl DiskStore {
    /// Opens (or creates) the store in `root` for the ledger of `genesis`: migrates a data dir
    /// of the first format, cuts files back to the last recorded block, reloads the indexes
    /// and checks the last block (see the module docs).
    pub fn open(
        root: &Path,
        genesis: &Genesis,
        config: StoreConfig,
    ) -> Result<(DiskStore, Opened), StoreError> {
        std::fs::create_dir_all(root).map_err(|e| FileError::new(root, e))?;
        let mut opened = Opened::default();
        let mut store = DiskStore::open_parts(root, genesis, config, &mut opened)?;
        for _ in 0..8 {
            match store.check_tip() {
                Ok(()) => {
                    opened.height = store.tip();
                    return Ok((store, opened));
                }
                Err(reason) => {
                    let h = store.tip();
                    tracing::warn!(height = h, %reason, "the last stored block does not match the files");
                    opened.cut_from = Some(h);
                    store.drop_tip()?;
                    drop(store);
                    store = DiskStore::open_parts(root, genesis, config, &mut opened)?;
                }
            }
        }
        Err(corrupt(
            root.display(),
            "eight blocks in a row do not match the files",
        ))
    }

    fn open_parts(
        root: &Path,
        genesis: &Genesis,
        config: StoreConfig,
        opened: &mut Opened,
    ) -> Result<DiskStore, StoreError> {
        let db = open_meta(&root.join("meta"))?;
        match db.get(b"format")? {
            None => {
                db.insert(b"format", &FORMAT.to_be_bytes()[..])?;
                db.insert(b"genesis", genesis.hash().as_bytes().to_vec())?;
                db.insert(b"index_bits", &[INDEX_BITS][..])?;
                db.insert(b"ids_bits", &[IDS_BITS][..])?;
                db.flush()?;
            }
            Some(v) if v.as_ref() == FORMAT.to_be_bytes() => {}
            Some(v) => {
                return Err(corrupt(
                    "meta/format",
                    format!("storage format {v:?} is not {FORMAT}: this release cannot open it"),
                ))
            }
        }
        let want = genesis.hash();
        match db.get(b"genesis")? {
            Some(v) if v.as_ref() == want.as_bytes() => {}
            Some(v) => {
                return Err(corrupt(
                    "meta/genesis",
                    format!(
                        "data dir belongs to genesis {}, not {want}",
                        Hash(v.as_ref().try_into().unwrap_or([0u8; 32]))
                    ),
                ))
            }
            None => return Err(corrupt("meta/genesis", "missing")),
        }
        let bits = |k: &[u8]| -> Result<u8, StoreError> {
            db.get(k)?
                .and_then(|v| v.first().copied())
                .ok_or_else(|| corrupt(String::from_utf8_lossy(k), "missing"))
        };
        let (index_bits, ids_bits) = (bits(b"index_bits")?, bits(b"ids_bits")?);
        let tip = match db.get(b"tip")? {
            Some(v) => be(&v, "meta/tip")?,
            None => 0,
        };
        let blocks = RecordLog::open(&root.join("blocks"), "blocks")?;
        if blocks.len() < tip {
            return Err(corrupt(
                "blocks",
                format!("hold {} block records, the tip is {tip}", blocks.len()),
            ));
        }
        // Where the files end at the tip: written with the tip (`meta/positions`), unless the tip
        // was dropped since, when the tip's own record says (and, for the block records, the
        // dropped record's start).
        let stored: Option<(u64, Pos, Pos, u64, u64)> = db
            .get(b"positions")?
            .map(|v| {
                serde_json::from_slice(&v).map_err(|e| corrupt("meta/positions", e.to_string()))
            })
            .transpose()?;
        let rebuilt_at = match db.get(b"rebuilt_at")? {
            Some(v) => be(&v, "meta/rebuilt_at")?,
            None => 0,
        };
        let at_tip = stored.filter(|p| p.0 == tip);
        blocks.truncate(tip, at_tip.map(|p| p.4))?;
        let mut rec = match tip {
            0 => None,
            h => Some(
                block_record(&blocks, h)?
                    .ok_or_else(|| corrupt(format!("block {h}"), "missing"))?,
            ),
        };
        let mut force_rebuild = false;
        if let Some(r) = rec.as_mut() {
            match at_tip {
                Some((_, index, ids, subjects, _)) => {
                    (r.index, r.ids, r.subjects) = (index, ids, subjects)
                }
                None => force_rebuild = tip < rebuilt_at,
            }
        }
        let cache = config.cache_mb << 20;
        let events = Events::open(&root.join("events"))?;
        let (size, events_end) = rec
            .as_ref()
            .map_or((0, 0), |r| (r.head.log_size, r.events_end));
        if events.size() < size || events.data_len() < events_end {
            return Err(corrupt(
                "events",
                format!(
                    "hold {} events ({} bytes), the last block recorded {size} ({events_end} bytes)",
                    events.size(),
                    events.data_len()
                ),
            ));
        }
        events.truncate(size, events_end)?;
        let tiles = Tiles::open(&root.join("tiles"), cache * 3 / 8)?;
        if tiles.size() < size {
            return Err(corrupt(
                "tiles",
                format!(
                    "hold {} leaves, the last block recorded {size}",
                    tiles.size()
                ),
            ));
        }
        tiles.truncate(size)?;
        let index_at = rec.as_ref().map(|r| r.index);
        let ids_at = rec.as_ref().map(|r| r.ids);
        let subjects = rec.as_ref().map_or(0, |r| r.subjects);
        let opened_index = DiskIndex::open(
            &root.join("index"),
            index_bits,
            config.tuning,
            index_at,
            subjects,
            cache * 3 / 8,
        );
        let opened_ids = Dedup::open(
            &root.join("ids"),
            ids_bits,
            config.tuning,
            ids_at,
            cache / 4,
        );
        let (opened_index, opened_ids) = if force_rebuild {
            (
                Err(corrupt("index", "rebuilt after the block now at the tip")),
                Err(corrupt("ids", "rebuilt after the block now at the tip")),
            )
        } else {
            (opened_index, opened_ids)
        };
        let store = match (opened_index, opened_ids) {
            (Ok((index, io)), Ok((ids, replayed))) => {
                opened.replayed = io.replayed + replayed;
                DiskStore {
                    root: root.to_owned(),
                    proposals: db.open_tree("proposals")?,
                    evidence: db.open_tree("evidence")?,
                    db,
                    blocks,
                    events,
                    tiles,
                    index,
                    ids,
                    sync: config.sync,
                    tip: AtomicU64::new(tip),
                    dropped: Default::default(),
                }
            }
            (i, d) => {
                let why = [
                    i.err().map(|e| e.to_string()),
                    d.err().map(|e| e.to_string()),
                ];
                tracing::warn!(reason = ?why, "the index cannot be reloaded: rebuilding it from the event log (this takes a while)");
                opened.rebuilt = true;
                for part in ["index", "ids"] {
                    let p = root.join(part);
                    if p.exists() {
                        std::fs::remove_dir_all(&p).map_err(|e| FileError::new(&p, e))?;
                    }
                }
                let (index, _) = DiskIndex::open(
                    &root.join("index"),
                    index_bits,
                    config.tuning,
                    None,
                    0,
                    cache * 3 / 8,
                )?;
                let (ids, _) =
                    Dedup::open(&root.join("ids"), ids_bits, config.tuning, None, cache / 4)?;
                let store = DiskStore {
                    root: root.to_owned(),
                    proposals: db.open_tree("proposals")?,
                    evidence: db.open_tree("evidence")?,
                    db,
                    blocks,
                    events,
                    tiles,
                    index,
                    ids,
                    sync: config.sync,
                    tip: AtomicU64::new(tip),
                    dropped: Default::default(),
                };
                store.rebuild_index()?;
                store
            }
        };
        Ok(store)
    }

    /// Rebuilds the index and id table from the event log, block by block, checking every
    /// head's index root; records where they now end for the tip (`meta/positions`) and that
    /// earlier block records' positions no longer hold (`meta/rebuilt_at`).
    fn rebuild_index(&self) -> Result<(), StoreError> {
        let tip = self.tip();
        let mut subjects = 0;
        for h in 1..=tip {
            let rec = self
                .record(h)?
                .ok_or_else(|| corrupt(format!("block {h}"), "missing"))?;
            let records = self.events.range(rec.first, rec.first + rec.count)?;
            let events = records
                .iter()
                .map(|r| {
                    Event::from_json(&r.wire)
                        .map_err(|e| corrupt(format!("event at {}", rec.first), e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let staged = self.index.stage(&index_updates(&events, rec.first))?;
            if staged.root() != rec.head.index_root {
                return Err(corrupt(
                    format!("block {h}"),
                    "the event log does not give the recorded index root",
                ));
            }
            let iw = self.index.write(&staged, 0)?;
            let ids: Vec<(EventId, u64)> = events
                .iter()
                .zip(rec.first..)
                .map(|(e, p)| (e.id(), p))
                .collect();
            let dw = self.ids.write(&ids, 0)?;
            self.index.publish(&staged, &iw);
            self.ids.publish(&dw);
            subjects = staged.subjects();
            if h % 1000 == 0 {
                tracing::info!(height = h, tip, "rebuilding the index");
            }
        }
        self.index.sync()?;
        self.ids.sync()?;
        let mut batch = sled::Batch::default();
        batch.insert(
            &b"positions"[..],
            positions(
                tip,
                self.index.pos(),
                self.ids.pos(),
                subjects,
                self.blocks.data_len(),
            )?,
        );
        batch.insert(&b"rebuilt_at"[..], &tip.to_be_bytes()[..]);
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        self.index.checkpoint(tip, true)?;
        self.ids.checkpoint(tip, true)?;
        Ok(())
    }

    /// Checks the last block against the files: log and index roots, and its events against
    /// the log's leaves.
    fn check_tip(&self) -> Result<(), String> {
        let tip = self.tip();
        if tip == 0 {
            return (self.tiles.size() == 0 && self.index.root() == Hash::ZERO)
                .then_some(())
                .ok_or_else(|| "an empty ledger with data in its files".to_string());
        }
        let rec = self
            .record(tip)
            .map_err(|e| e.to_string())?
            .ok_or("missing block record")?;
        let frontier = Frontier::of(&self.tiles, rec.head.log_size).map_err(|e| e.to_string())?;
        if frontier.root() != rec.head.log_root {
            return Err("the tiles do not give the head's log root".into());
        }
        if self.index.root() != rec.head.index_root {
            return Err("the index does not give the head's index root".into());
        }
        let records = self
            .events
            .range(rec.first, rec.first + rec.count)
            .map_err(|e| e.to_string())?;
        for (r, pos) in records.iter().zip(rec.first..) {
            let peeked = Event::peek_canonical(&r.wire)
                .ok_or(format!("event at {pos} is not canonical JSON"))?;
            if peeked.id != r.id {
                return Err(format!("event at {pos} does not hash to its id"));
            }
            let mut data = [0u8; 96];
            data[..32].copy_from_slice(r.id.as_bytes());
            data[32..].copy_from_slice(&peeked.sig.to_bytes());
            let leaf = self.tiles.subtree(0, pos).map_err(|e| e.to_string())?;
            if leaf_hash(&data) != leaf {
                return Err(format!("event at {pos} is not the log's leaf"));
            }
        }
        Ok(())
    }

    /// Forgets every block above `height` (benchmarks undo what they appended with it; the
    /// files are cut back when the store is next opened). The index logs must not have written a
    /// checkpoint since: open with a large `tuning.checkpoint_bytes` when you mean to roll back.
    #[doc(hidden)]
    pub fn rollback_for_bench(&self, height: u64) -> Result<(), StoreError> {
        while self.tip() > height {
            self.drop_tip()?;
        }
        Ok(())
    }

    /// Forgets the last block (it is fetched again from peers).
    fn drop_tip(&self) -> Result<(), StoreError> {
        self.dropped.store(true, Ordering::Release);
        let tip = self.tip();
        if tip == 0 {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        batch.remove(&transition_key(tip)[..]);
        batch.insert(&b"tip"[..], &(tip - 1).to_be_bytes()[..]);
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        self.tip.store(tip - 1, Ordering::Release);
        Ok(())
    }

    /// The data dir.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The block record at `height`.
    pub fn record(&self, height: u64) -> Result<Option<BlockRecord>, StoreError> {
        if height > self.tip() {
            return Ok(None);
        }
        block_record(&self.blocks, height)
    }

    /// The tiles (Merkle proofs read from them).
    pub fn tiles(&self) -> &Tiles {
        &self.tiles
    }

    /// The subject index.
    pub fn index(&self) -> &DiskIndex {
        &self.index
    }

    /// The event files.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Writes a decided block: its event records, tiles, index buckets and ids, made durable,
    /// then its block record in one sled batch. Readers see nothing of it until
    /// [`DiskStore::publish`]. `staged` is the index after the block (computed on the
    /// committed state), `nodes` the Merkle subtrees its leaves completed, `transition` the
    /// validator-set transition it records, if any.
    pub fn append(
        &self,
        block: &Block,
        certificate: &Certificate,
        staged: &Staged,
        nodes: &[NewNode],
        transition: Option<&TransitionRecord>,
    ) -> Result<Appended, StoreError> {
        let tip = self.tip();
        let head = &block.head;
        if head.height != tip + 1 {
            return Err(StoreError::NotNext {
                got: head.height,
                tip,
            });
        }
        let count = block.events.len() as u64;
        let first = head
            .log_size
            .checked_sub(count)
            .filter(|f| *f == self.events.size())
            .ok_or_else(|| {
                corrupt(
                    format!("block {}", head.height),
                    "does not follow the stored log",
                )
            })?;
        let mut records = Vec::with_capacity(block.events.len());
        let mut u = 0usize;
        for e in &block.events {
            let mut prev = [None; 3];
            let mut ids_prev = Vec::new();
            for s in subjects(e) {
                let p = staged.prev_last.get(u).copied().unwrap_or(NO_EVENT);
                match events::slot(&s) {
                    Some(i) => prev[i] = Some(p),
                    None => ids_prev.push(p),
                }
                u += 1;
            }
            records.push(Record {
                id: e.id(),
                prev,
                ids_prev,
                wire: e.wire().to_vec(),
            });
        }
        self.events.append(&records)?;
        self.tiles.append(nodes)?;
        let written_bytes: u64 = staged
            .buckets
            .iter()
            .map(|(_, l, _)| l.len() as u64 * 80)
            .sum();
        let index = self.index.write(staged, written_bytes)?;
        let ids: Vec<(EventId, u64)> = block
            .events
            .iter()
            .zip(first..)
            .map(|(e, p)| (e.id(), p))
            .collect();
        let ids = self.ids.write(&ids, count * 48)?;
        let rec = BlockRecord {
            head: head.clone(),
            certificate: certificate.clone(),
            first,
            count,
            events_end: self.events.data_len(),
            index: self.index.pos(),
            ids: self.ids.pos(),
            subjects: staged.subjects(),
        };
        self.blocks.append([encode_record(&rec)?.as_slice()])?;
        if self.sync {
            self.events.sync()?;
            self.tiles.sync()?;
            self.index.sync()?;
            self.ids.sync()?;
            self.blocks.sync()?;
        }
        failpoint("before-block-record", head.height);
        let mut batch = sled::Batch::default();
        if let Some(t) = transition {
            let v = serde_json::to_vec(t).map_err(|e| corrupt("transition", e.to_string()))?;
            batch.insert(&transition_key(head.height)[..], v);
        }
        batch.insert(
            &b"positions"[..],
            positions(
                head.height,
                rec.index,
                rec.ids,
                rec.subjects,
                self.blocks.data_len(),
            )?,
        );
        batch.insert(&b"tip"[..], &head.height.to_be_bytes()[..]);
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        self.tip.store(head.height, Ordering::Release);
        Ok(Appended { index, ids })
    }

    /// Makes an appended block visible to readers (call under the ledger's write lock).
    pub fn publish(&self, staged: &Staged, appended: &Appended) {
        self.index.publish(staged, &appended.index);
        self.ids.publish(&appended.ids);
    }

    /// Writes the index checkpoints that are due.
    pub fn checkpoint(&self, height: u64) -> Result<(), StoreError> {
        self.index.checkpoint(height, false)?;
        self.ids.checkpoint(height, false)?;
        Ok(())
    }

    /// The log position of a committed event.
    pub fn position(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        for pos in self.ids.candidates(id)? {
            if self.events.get(pos)?.is_some_and(|r| r.id == *id) {
                return Ok(Some(pos));
            }
        }
        Ok(None)
    }

    /// True if the event is in the committed log.
    pub fn contains(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.position(id)?.is_some())
    }

    /// The canonical wire JSON of the event at a position.
    pub fn wire_at(&self, pos: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.events.get(pos)?.map(|r| r.wire))
    }

    /// A subject's events in the committed state, in log order, with their positions:
    /// walked back from the index leaf's last event through each record's link.
    pub fn subject_records(&self, subject: &Subject) -> Result<Vec<(u64, Record)>, StoreError> {
        let Some(leaf) = self.index.leaf(None, &subject.key())? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(leaf.entry.count as usize);
        let mut pos = leaf.last;
        while pos != NO_EVENT {
            if out.len() as u64 >= leaf.entry.count {
                return Err(corrupt(
                    format!("{subject}"),
                    "more linked events than its count",
                ));
            }
            let r = self
                .events
                .get(pos)?
                .ok_or_else(|| corrupt(format!("event at {pos}"), "missing"))?;
            let prev = r.link(subject).ok_or_else(|| {
                corrupt(
                    format!("event at {pos}"),
                    format!("has no link for {subject}"),
                )
            })?;
            out.push((pos, r));
            pos = prev;
        }
        if out.len() as u64 != leaf.entry.count {
            return Err(corrupt(
                format!("{subject}"),
                "fewer linked events than its count",
            ));
        }
        out.reverse();
        Ok(out)
    }

    /// A subject's events in the committed state, parsed, in log order.
    pub fn subject_events(&self, subject: &Subject) -> Result<Vec<(u64, Event)>, StoreError> {
        self.subject_records(subject)?
            .into_iter()
            .map(|(p, r)| Ok((p, parse(&r.wire, p)?)))
            .collect()
    }

    /// Every recorded validator-set transition, by height.
    pub fn transitions(&self) -> Result<Vec<TransitionRecord>, StoreError> {
        self.db
            .scan_prefix([1u8])
            .map(|item| {
                let (k, v) = item?;
                serde_json::from_slice(&v)
                    .map_err(|e| corrupt(format!("transition {}", hex::encode(k)), e.to_string()))
            })
            .collect()
    }

    /// The JSON of block `height` as `GET /v1/blocks/{height}` serves it
    /// (`{"head", "certificate", "events"}`), built from the stored canonical event bytes
    /// without parsing them.
    pub fn block_json(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(r) = self.record(height)? else {
            return Ok(None);
        };
        let records = self.events.range(r.first, r.first + r.count)?;
        let mut out =
            Vec::with_capacity(1024 + records.iter().map(|r| r.wire.len() + 1).sum::<usize>());
        out.extend_from_slice(br#"{"head":"#);
        serde_json::to_writer(&mut out, &r.head)
            .map_err(|e| corrupt(format!("block {height}"), e.to_string()))?;
        out.extend_from_slice(br#","certificate":"#);
        serde_json::to_writer(&mut out, &r.certificate)
            .map_err(|e| corrupt(format!("block {height}"), e.to_string()))?;
        out.extend_from_slice(br#","events":["#);
        for (i, e) in records.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&e.wire);
        }
        out.extend_from_slice(b"]}");
        Ok(Some(out))
    }

    /// Persists this node's own proposal for `(height, round)` before it is sent, so a restart
    /// proposes the same block again (the consensus WAL requires it).
    pub fn put_proposal(&self, height: u64, round: u32, block: &Block) -> Result<(), StoreError> {
        let k = proposal_key(height, round);
        let v =
            crate::block::codec::encode(block).map_err(|e| corrupt("proposal", e.to_string()))?;
        self.proposals.insert(k, v)?;
        self.proposals.flush()?;
        Ok(())
    }

    /// This node's own proposal for `(height, round)`, if it made one.
    pub fn proposal(&self, height: u64, round: u32) -> Result<Option<Block>, StoreError> {
        let k = proposal_key(height, round);
        self.proposals
            .get(k)?
            .map(|v| {
                crate::block::codec::decode(&v, |_, _| None)
                    .map_err(|e| corrupt("proposal", e.to_string()))
            })
            .transpose()
    }

    /// Forgets own proposals up to and including `height`.
    pub fn prune_proposals(&self, height: u64) -> Result<(), StoreError> {
        let end = proposal_key(height + 1, 0);
        for item in self.proposals.range(..end) {
            self.proposals.remove(item?.0)?;
        }
        Ok(())
    }

    /// Stores an evidence record under its id (idempotent); false if it was already there.
    /// Refuses past [`MAX_EVIDENCE`] records.
    pub fn put_evidence(&self, id: &Hash, record: &[u8]) -> Result<bool, StoreError> {
        if self.evidence.contains_key(id.as_bytes())? {
            return Ok(false);
        }
        if self.evidence.len() >= MAX_EVIDENCE {
            return Err(corrupt(
                id,
                format!("evidence store is full ({MAX_EVIDENCE} records)"),
            ));
        }
        self.evidence.insert(id.as_bytes(), record)?;
        self.evidence.flush()?;
        Ok(true)
    }

    /// Every stored evidence record, in id order.
    pub fn evidence(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        self.evidence
            .iter()
            .map(|item| Ok(item?.1.to_vec()))
            .collect()
    }

    /// Sizes on disk by part.
    pub fn disk_usage(&self) -> DiskUsage {
        let (events, offsets) = self.events.disk_bytes();
        DiskUsage {
            events,
            offsets,
            tiles: self.tiles.disk_bytes(),
            index: self.index.disk_bytes(),
            ids: self.ids.disk_bytes(),
            blocks: {
                let (d, o) = self.blocks.disk_bytes();
                d + o
            },
            meta: dir_bytes(&self.root.join("meta")),
        }
    }

    /// Memory held by the index structures and caches.
    pub fn memory_bytes(&self) -> usize {
        self.index.memory_bytes() + self.ids.memory_bytes()
    }

    /// Forgets every cache (benchmarks measure cold reads with it).
    pub fn clear_caches(&self) {
        self.tiles.clear_cache();
        self.index.clear_cache();
        self.ids.clear_cache();
    }

    /// Overwrites one byte of the stored wire JSON of the event at `index` (tests simulate
    /// corruption with it).
    #[doc(hidden)]
    pub fn corrupt_event_for_test(&self, index: u64) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        let path = self.root.join("events").join("data");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| FileError::new(&path, e))?;
        let mut b = [0u8; 8];
        std::fs::File::open(self.root.join("events").join("offsets"))
            .and_then(|o| o.read_exact_at(&mut b, index * 8))
            .map_err(|e| FileError::new(&path, e))?;
        // Past the length, id and mask, inside the body: `{"body":{"c` -> `{"body":{"C`.
        let at = u64::from_be_bytes(b) + 4 + 32 + 1 + 8 + 10;
        f.write_all_at(b"C", at)
            .map_err(|e| FileError::new(&path, e))?;
        f.sync_all().map_err(|e| FileError::new(&path, e))?;
        Ok(())
    }
}

/// Crash tests: with `TRADELOG_FAILPOINT=<name>:<height>` in the environment, the process
/// aborts (as kill -9 would stop it) when it reaches the point `name` while committing block
/// `height`. The one point is `before-block-record`: the block's files are written and synced,
/// its record is not (ADR 004). Without the variable this is one environment lookup per block.
fn failpoint(name: &str, height: u64) {
    if let Ok(v) = std::env::var("TRADELOG_FAILPOINT") {
        if v.split_once(':')
            .is_some_and(|(n, h)| n == name && h.parse() == Ok(height))
        {
            eprintln!("failpoint {name} at block {height}: aborting");
            std::process::abort();
        }
    }
}

fn parse(wire: &[u8], pos: u64) -> Result<Event, StoreError> {
    Event::from_json(wire).map_err(|e| corrupt(format!("event at {pos}"), e.to_string()))
}

fn encode_record(r: &BlockRecord) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(r).map_err(|e| corrupt(format!("block {}", r.head.height), e.to_string()))
}

/// The tip's index positions and subject count, written with the tip in one batch.
fn positions(
    height: u64,
    index: Pos,
    ids: Pos,
    subjects: u64,
    blocks_end: u64,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&(height, index, ids, subjects, blocks_end))
        .map_err(|e| corrupt("meta/positions", e.to_string()))
}

/// Transition records: `0x01 || height` (no other key starts with 0x01).
fn transition_key(height: u64) -> [u8; 9] {
    let mut k = [1u8; 9];
    k[1..].copy_from_slice(&height.to_be_bytes());
    k
}

fn block_record(blocks: &RecordLog, height: u64) -> Result<Option<BlockRecord>, StoreError> {
    let Some(i) = height.checked_sub(1) else {
        return Ok(None);
    };
    blocks
        .get(i)?
        .map(|(_, v)| v)
        .map(|v| {
            serde_json::from_slice(&v)
                .map_err(|e| corrupt(format!("block {height}"), e.to_string()))
        })
        .transpose()
}

fn proposal_key(height: u64, round: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&height.to_be_bytes());
    k[8..].copy_from_slice(&round.to_be_bytes());
    k
}

/// Most evidence records kept (each is bounded by the API's body limit).
pub const MAX_EVIDENCE: usize = 10_000;

impl Store for DiskStore {
    fn tip(&self) -> u64 {
        self.tip.load(Ordering::Acquire)
    }

    fn block(&self, height: u64) -> Result<Option<CommittedBlock>, StoreError> {
        let Some(r) = self.record(height)? else {
            return Ok(None);
        };
        let events = self
            .events
            .range(r.first, r.first + r.count)?
            .iter()
            .zip(r.first..)
            .map(|(rec, p)| parse(&rec.wire, p))
            .collect::<Result<Vec<_>, _>>()?;
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
        let Some(pos) = self.position(id)? else {
            return Ok(None);
        };
        Ok(self.event_at(pos)?.map(|e| (pos, e)))
    }

    fn event_at(&self, index: u64) -> Result<Option<Event>, StoreError> {
        self.events
            .get(index)?
            .map(|r| parse(&r.wire, index))
            .transpose()
    }
}

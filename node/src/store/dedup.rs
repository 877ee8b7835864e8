//! Which events are in the log, and where: event id → log position, on disk in a
//! [`BucketLog`] under `ids/` (buckets by the id's first bits; a record lists the bucket's
//! events as `id prefix (16) || position (u64)`, sorted). A prefix match is confirmed against
//! the full id kept in the event's record, so a crafted prefix collision cannot hide an event.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use tradelog_protocol::index::buckets::bucket_of;
use tradelog_protocol::EventId;

use super::buckets::{BucketLog, Pos, Tuning, Written, SUMMARY};
use super::cache::Cache;
use super::StoreError;

const PREFIX: usize = 16;
const ENTRY: usize = PREFIX + 8;

type Entries = Arc<[([u8; PREFIX], u64)]>;

fn decode(bytes: &[u8]) -> Result<Vec<([u8; PREFIX], u64)>, StoreError> {
    if !bytes.len().is_multiple_of(ENTRY) {
        return Err(StoreError::Corrupt {
            key: "ids bucket".into(),
            reason: format!("{} bytes is not a whole number of entries", bytes.len()),
        });
    }
    Ok(bytes
        .chunks_exact(ENTRY)
        .map(|c| {
            let mut p = [0u8; PREFIX];
            p.copy_from_slice(&c[..PREFIX]);
            let mut n = [0u8; 8];
            n.copy_from_slice(&c[PREFIX..]);
            (p, u64::from_be_bytes(n))
        })
        .collect())
}

fn prefix(id: &EventId) -> [u8; PREFIX] {
    let mut p = [0u8; PREFIX];
    p.copy_from_slice(&id.as_bytes()[..PREFIX]);
    p
}

/// The id table.
#[derive(Debug)]
pub struct Dedup {
    log: BucketLog,
    cache: Cache<u64, Entries>,
}

impl Dedup {
    /// Opens the table in `dir` with `2^bits` buckets at the last stored block's position.
    pub fn open(
        dir: &Path,
        bits: u8,
        tuning: Tuning,
        upto: Option<Pos>,
        cache_bytes: usize,
    ) -> Result<(Dedup, u64), StoreError> {
        let (log, opened) = BucketLog::open(dir, bits, tuning, upto, false)?;
        Ok((
            Dedup {
                log,
                cache: Cache::new(cache_bytes),
            },
            opened.replayed_records,
        ))
    }

    fn bucket(&self, b: u32) -> Result<Entries, StoreError> {
        let Some(entry) = self.log.entry(b) else {
            return Ok(Arc::from(Vec::new()));
        };
        if let Some(e) = self.cache.get(&entry.loc) {
            return Ok(e);
        }
        let entries: Entries = Arc::from(decode(&self.log.read(entry)?)?);
        self.cache
            .insert(entry.loc, entries.clone(), entries.len() * ENTRY + 64);
        Ok(entries)
    }

    /// Positions of committed events whose id starts like `id` (confirm against the record).
    pub fn candidates(&self, id: &EventId) -> Result<Vec<u64>, StoreError> {
        let p = prefix(id);
        let entries = self.bucket(bucket_of(id, self.log.bits()))?;
        let start = entries.partition_point(|(q, _)| *q < p);
        Ok(entries[start..]
            .iter()
            .take_while(|(q, _)| *q == p)
            .map(|(_, pos)| *pos)
            .collect())
    }

    /// Writes the ids of a block's events (not yet visible), and up to `gc_budget` bytes of
    /// old live records copied forward.
    pub fn write(
        &self,
        ids: &[(EventId, u64)],
        gc_budget: u64,
    ) -> Result<Vec<Written>, StoreError> {
        let bits = self.log.bits();
        let mut by_bucket: BTreeMap<u32, Vec<([u8; PREFIX], u64)>> = BTreeMap::new();
        for (id, pos) in ids {
            by_bucket
                .entry(bucket_of(id, bits))
                .or_default()
                .push((prefix(id), *pos));
        }
        let mut records = Vec::with_capacity(by_bucket.len());
        for (b, new) in &by_bucket {
            let mut entries = self.bucket(*b)?.to_vec();
            entries.extend_from_slice(new);
            entries.sort_unstable();
            let mut payload = Vec::with_capacity(entries.len() * ENTRY);
            for (p, pos) in entries {
                payload.extend_from_slice(&p);
                payload.extend_from_slice(&pos.to_be_bytes());
            }
            records.push((*b, payload));
        }
        for (b, payload) in self.log.garbage(gc_budget)? {
            if !by_bucket.contains_key(&b) {
                records.push((b, payload));
            }
        }
        self.log.write(&records)
    }

    /// Makes written records durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.log.sync()
    }

    /// Makes written ids visible (under the ledger's write lock).
    pub fn publish(&self, written: &[Written]) {
        self.log.publish(written);
    }

    /// Where the next record goes.
    pub fn pos(&self) -> Pos {
        self.log.pos()
    }

    /// Writes a checkpoint if one is due (or `force`).
    pub fn checkpoint(&self, height: u64, force: bool) -> Result<bool, StoreError> {
        self.log.checkpoint(height, force, |_| [0u8; SUMMARY])
    }

    /// Bytes on disk and live.
    pub fn disk_bytes(&self) -> (u64, u64) {
        self.log.disk_bytes()
    }

    /// Memory held: directory and cache.
    pub fn memory_bytes(&self) -> usize {
        self.log.memory_bytes() + self.cache.stats().0
    }

    /// Forgets cached buckets.
    pub fn clear_cache(&self) {
        self.cache.clear();
    }
}

//! The subject index on disk: the bucketed sparse Merkle tree of
//! `tradelog_protocol::index::buckets`, its buckets in a [`BucketLog`] under `index/`, its upper
//! tree (at most `2^(bits+1)` node summaries, whatever the history) in memory, rebuilt at start
//! from the checkpoint's bucket summaries and the records written after it.
//!
//! A bucket record holds the bucket's leaves, sorted by key: `key (32) || count (u64) ||
//! acc (32) || last (u64)` each. Decoded buckets are cached by record location, so a cached
//! bucket is never stale.

use std::path::Path;
use std::sync::{Arc, RwLock};

use tradelog_protocol::index::buckets::{self, bucket_of, Leaf, Node, Staged, Update, Upper};
use tradelog_protocol::{Hash, IndexEntry, IndexProof};

use super::buckets::{BucketLog, Opened, Pos, Tuning, Written, SUMMARY};
use super::cache::Cache;
use super::StoreError;
use crate::chain::{read, write};

const LEAF: usize = 32 + 8 + 32 + 8;

fn encode(leaves: &[Leaf]) -> Vec<u8> {
    let mut out = Vec::with_capacity(leaves.len() * LEAF);
    for l in leaves {
        out.extend_from_slice(l.key.as_bytes());
        out.extend_from_slice(&l.entry.count.to_be_bytes());
        out.extend_from_slice(l.entry.acc.as_bytes());
        out.extend_from_slice(&l.last.to_be_bytes());
    }
    out
}

fn decode(bytes: &[u8]) -> Result<Vec<Leaf>, StoreError> {
    if !bytes.len().is_multiple_of(LEAF) {
        return Err(StoreError::Corrupt {
            key: "index bucket".into(),
            reason: format!("{} bytes is not a whole number of leaves", bytes.len()),
        });
    }
    Ok(bytes
        .chunks_exact(LEAF)
        .map(|c| {
            let h = |r: std::ops::Range<usize>| {
                let mut b = [0u8; 32];
                b.copy_from_slice(&c[r]);
                Hash(b)
            };
            let n = |r: std::ops::Range<usize>| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&c[r]);
                u64::from_be_bytes(b)
            };
            Leaf {
                key: h(0..32),
                entry: IndexEntry {
                    count: n(32..40),
                    acc: h(40..72),
                },
                last: n(72..80),
            }
        })
        .collect())
}

/// A bucket summary as the checkpoint keeps it.
pub fn encode_node(n: &Node) -> [u8; SUMMARY] {
    let mut out = [0u8; SUMMARY];
    match n {
        Node::Empty => {}
        Node::Single { hash, bucket } => {
            out[0] = 1;
            out[1..33].copy_from_slice(hash.as_bytes());
            out[33..].copy_from_slice(&bucket.to_be_bytes());
        }
        Node::Multi(hash) => {
            out[0] = 2;
            out[1..33].copy_from_slice(hash.as_bytes());
        }
    }
    out
}

fn decode_node(b: &[u8; SUMMARY]) -> Result<Node, StoreError> {
    let mut h = [0u8; 32];
    h.copy_from_slice(&b[1..33]);
    match b[0] {
        0 => Ok(Node::Empty),
        1 => Ok(Node::Single {
            hash: Hash(h),
            bucket: u32::from_be_bytes([b[33], b[34], b[35], b[36]]),
        }),
        2 => Ok(Node::Multi(Hash(h))),
        t => Err(StoreError::Corrupt {
            key: "index checkpoint".into(),
            reason: format!("unknown summary tag {t}"),
        }),
    }
}

/// The index.
#[derive(Debug)]
pub struct DiskIndex {
    log: BucketLog,
    upper: RwLock<Upper>,
    cache: Cache<u64, Arc<[Leaf]>>,
}

/// What opening found (for the start-up log and the bench).
#[derive(Debug, Clone, Copy)]
pub struct IndexOpened {
    /// Records replayed after the checkpoint.
    pub replayed: u64,
    /// Height of the checkpoint.
    pub checkpoint: Option<u64>,
}

impl DiskIndex {
    /// Opens the index in `dir` with `2^bits` buckets at the last stored block's position
    /// `upto` (and its subject count), with a cache of `cache_bytes` for decoded buckets.
    pub fn open(
        dir: &Path,
        bits: u8,
        tuning: Tuning,
        upto: Option<Pos>,
        subjects: u64,
        cache_bytes: usize,
    ) -> Result<(DiskIndex, IndexOpened), StoreError> {
        let (
            log,
            Opened {
                saved,
                replayed,
                replayed_records,
                checkpoint_height,
            },
        ) = BucketLog::open(dir, bits, tuning, upto, true)?;
        let mut nodes = Vec::with_capacity(saved.len() + replayed.len());
        for (b, s) in &saved {
            nodes.push((*b, decode_node(s)?));
        }
        for (b, payload) in &replayed {
            nodes.push((*b, buckets::bucket_node(&decode(payload)?, bits, *b)));
        }
        let upper = Upper::from_buckets(bits, nodes, subjects);
        Ok((
            DiskIndex {
                log,
                upper: RwLock::new(upper),
                cache: Cache::new(cache_bytes),
            },
            IndexOpened {
                replayed: replayed_records,
                checkpoint: checkpoint_height,
            },
        ))
    }

    /// The leaves of bucket `b` (committed state).
    pub fn bucket(&self, b: u32) -> Result<Arc<[Leaf]>, StoreError> {
        let Some(entry) = self.log.entry(b) else {
            return Ok(Arc::from(Vec::new()));
        };
        if let Some(l) = self.cache.get(&entry.loc) {
            return Ok(l);
        }
        let leaves: Arc<[Leaf]> = Arc::from(decode(&self.log.read(entry)?)?);
        self.cache
            .insert(entry.loc, leaves.clone(), leaves.len() * LEAF + 64);
        Ok(leaves)
    }

    /// The root at the committed state.
    pub fn root(&self) -> Hash {
        read(&self.upper).root()
    }

    /// Subjects at the committed state.
    pub fn subjects(&self) -> u64 {
        read(&self.upper).subjects()
    }

    /// The index after `updates`, computed without changing anything.
    pub fn stage(&self, updates: &[Update]) -> Result<Staged, StoreError> {
        let upper = read(&self.upper);
        buckets::stage(&upper, updates, |b| self.bucket(b))
    }

    /// The leaf of `key` (with `staged` over the committed state if given).
    pub fn leaf(&self, staged: Option<&Staged>, key: &Hash) -> Result<Option<Leaf>, StoreError> {
        let upper = read(&self.upper);
        buckets::entry(&upper, staged, key, |b| self.bucket(b))
    }

    /// The proof of `key` (with `staged` over the committed state if given).
    pub fn prove(&self, staged: Option<&Staged>, key: &Hash) -> Result<IndexProof, StoreError> {
        let upper = read(&self.upper);
        buckets::prove(&upper, staged, key, |b| self.bucket(b))
    }

    /// Writes the staged buckets (and up to `gc_budget` bytes of old live records copied
    /// forward), not yet visible; returns what [`DiskIndex::publish`] makes visible.
    pub fn write(&self, staged: &Staged, gc_budget: u64) -> Result<Vec<Written>, StoreError> {
        let mut records: Vec<(u32, Vec<u8>)> = staged
            .buckets
            .iter()
            .map(|(b, leaves, _)| (*b, encode(leaves)))
            .collect();
        for (b, payload) in self.log.garbage(gc_budget)? {
            if staged.bucket(b).is_none() {
                records.push((b, payload));
            }
        }
        self.log.write(&records)
    }

    /// Makes written records durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.log.sync()
    }

    /// Makes a written batch the committed state (under the ledger's write lock).
    pub fn publish(&self, staged: &Staged, written: &[Written]) {
        self.log.publish(written);
        write(&self.upper).apply(staged);
    }

    /// Where the next record goes.
    pub fn pos(&self) -> Pos {
        self.log.pos()
    }

    /// Writes a checkpoint if one is due (or `force`).
    pub fn checkpoint(&self, height: u64, force: bool) -> Result<bool, StoreError> {
        let upper = read(&self.upper);
        let bits = usize::from(upper.bits());
        self.log.checkpoint(height, force, |b| {
            encode_node(&upper.get(bits, u64::from(b)))
        })
    }

    /// The bucket of a key.
    pub fn bucket_of(&self, key: &Hash) -> u32 {
        bucket_of(key, self.log.bits())
    }

    /// Bytes on disk and live.
    pub fn disk_bytes(&self) -> (u64, u64) {
        self.log.disk_bytes()
    }

    /// Memory held: upper tree, directory, cache.
    pub fn memory_bytes(&self) -> usize {
        read(&self.upper).memory_bytes() + self.log.memory_bytes() + self.cache.stats().0
    }

    /// Forgets cached buckets (benchmarks measure cold reads with it).
    pub fn clear_cache(&self) {
        self.cache.clear();
    }
}

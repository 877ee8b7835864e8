//! The subject index kept in buckets: the same sparse Merkle tree as [`super::Index`] (same
//! root, same proofs, byte for byte), laid out so that a store can keep it on disk.
//!
//! The top `bits` levels of the tree are kept as an [`Upper`] tree of node summaries (at most
//! `2^(bits+1)` of them, whatever the number of subjects); below depth `bits`, every subtree is
//! a *bucket*: the sorted leaves whose keys share those first `bits` bits, stored as one record
//! and hashed when it changes. A block changes one record per bucket it touches and a few
//! upper nodes per changed bucket, all computed by [`stage`] without changing anything, then
//! applied by [`Upper::apply`] and by writing the changed buckets. Proofs walk the upper tree
//! and finish inside the key's bucket ([`prove`]).
//!
//! The tree's shape rule makes the layout work: a subtree holding exactly one leaf is that
//! leaf (lifted to the subtree's top), so a summary ([`Node`]) says whether a subtree is
//! empty, one leaf (and in which bucket it lives) or more.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{bit, leaf_hash, node_hash, IndexEntry, IndexProof, ProofLeaf, INDEX_DEPTH};
use crate::hash::Hash;
use crate::ids::EventId;

/// Most bits of the upper tree (2^25 buckets).
pub const MAX_BUCKET_BITS: u8 = 25;

/// What a parent needs of a subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Node {
    /// No leaf: hashes to 32 zero bytes.
    #[default]
    Empty,
    /// Exactly one leaf, which sits at this subtree's top: its hash is the leaf's hash.
    Single {
        /// The leaf's hash.
        hash: Hash,
        /// The bucket the leaf is stored in.
        bucket: u32,
    },
    /// Two or more leaves: `H(0x03 || left || right)`.
    Multi(Hash),
}

impl Node {
    /// The subtree's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Empty => Hash::ZERO,
            Node::Single { hash, .. } | Node::Multi(hash) => *hash,
        }
    }

    /// The parent of two sibling subtrees.
    pub fn join(left: Node, right: Node) -> Node {
        match (left, right) {
            (Node::Empty, Node::Empty) => Node::Empty,
            (s @ Node::Single { .. }, Node::Empty) | (Node::Empty, s @ Node::Single { .. }) => s,
            (l, r) => Node::Multi(node_hash(&l.hash(), &r.hash())),
        }
    }
}

/// One subject's leaf as a bucket stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf {
    /// The subject's index key.
    pub key: Hash,
    /// Its entry (what the tree commits to).
    pub entry: IndexEntry,
    /// Log position of the subject's latest event (not committed by the tree: a store uses
    /// it to walk the subject's events backwards).
    pub last: u64,
}

impl Leaf {
    fn hash(&self) -> Hash {
        leaf_hash(&self.key, &self.entry.value_hash())
    }
}

/// The bucket a key belongs to: its first `bits` bits.
pub fn bucket_of(key: &Hash, bits: u8) -> u32 {
    if bits == 0 {
        return 0;
    }
    let top = u32::from_be_bytes([key.0[0], key.0[1], key.0[2], key.0[3]]);
    top >> (32 - u32::from(bits))
}

/// The summary of a bucket's subtree: `leaves` are sorted by key, unique, and share their
/// first `bits` bits (the bucket `bucket`).
pub fn bucket_node(leaves: &[Leaf], bits: u8, bucket: u32) -> Node {
    subtree(leaves, usize::from(bits), bucket)
}

fn subtree(leaves: &[Leaf], depth: usize, bucket: u32) -> Node {
    match leaves {
        [] => Node::Empty,
        [one] => Node::Single {
            hash: one.hash(),
            bucket,
        },
        _ if depth >= INDEX_DEPTH => Node::Empty, // unreachable for unique keys
        _ => {
            let split = leaves.partition_point(|l| !bit(&l.key, depth));
            Node::join(
                subtree(&leaves[..split], depth + 1, bucket),
                subtree(&leaves[split..], depth + 1, bucket),
            )
        }
    }
}

/// The node summaries of the top `bits + 1` levels, in lazily allocated chunks: a small index
/// costs little, a large one at most `2^(bits+1)` summaries.
#[derive(Debug, Clone)]
pub struct Upper {
    bits: u8,
    /// `levels[d]` holds the `2^d` nodes at depth `d`, in chunks of [`CHUNK`].
    levels: Vec<Vec<Option<Box<[Node]>>>>,
    subjects: u64,
}

const CHUNK: usize = 1024;

/// What [`stage`] computed: the new contents of every bucket a batch changed and the upper
/// nodes above them. Nothing is changed until it is applied.
#[derive(Debug, Clone)]
pub struct Staged {
    /// Changed buckets: number, sorted leaves, summary. In bucket order.
    pub buckets: Vec<(u32, Arc<[Leaf]>, Node)>,
    /// `upper[d]`: changed nodes at depth `d`, sorted by index.
    upper: Vec<Vec<(u64, Node)>>,
    /// Subjects after the batch.
    subjects: u64,
    /// For each update, in the order given: the subject's `last` position before it
    /// ([`NO_EVENT`] for the subject's first event).
    pub prev_last: Vec<u64>,
}

/// `last` of a subject with no event yet (in [`Staged::prev_last`]).
pub const NO_EVENT: u64 = u64::MAX;

impl Staged {
    /// The index root after the batch.
    pub fn root(&self) -> Hash {
        self.upper
            .first()
            .and_then(|l| l.first())
            .map(|(_, n)| n.hash())
            .unwrap_or(Hash::ZERO)
    }

    /// Subjects after the batch.
    pub fn subjects(&self) -> u64 {
        self.subjects
    }

    fn node(&self, depth: usize, index: u64) -> Option<Node> {
        let level = self.upper.get(depth)?;
        level
            .binary_search_by_key(&index, |(i, _)| *i)
            .ok()
            .map(|p| level[p].1)
    }

    /// The staged leaves of `bucket`, if the batch changed it.
    pub fn bucket(&self, bucket: u32) -> Option<&Arc<[Leaf]>> {
        self.buckets
            .binary_search_by_key(&bucket, |(b, _, _)| *b)
            .ok()
            .map(|p| &self.buckets[p].1)
    }
}

impl Upper {
    /// An empty index with `bits` upper levels (at most [`MAX_BUCKET_BITS`]).
    pub fn new(bits: u8) -> Upper {
        let bits = bits.min(MAX_BUCKET_BITS);
        let levels = (0..=u32::from(bits))
            .map(|d| vec![None; (1usize << d).div_ceil(CHUNK)])
            .collect();
        Upper {
            bits,
            levels,
            subjects: 0,
        }
    }

    /// Rebuilds the upper tree from the summaries of the non-empty buckets (a store's saved
    /// list) and the number of subjects.
    pub fn from_buckets(
        bits: u8,
        buckets: impl IntoIterator<Item = (u32, Node)>,
        subjects: u64,
    ) -> Upper {
        let mut upper = Upper::new(bits);
        let mut changed: Vec<u64> = Vec::new();
        for (b, node) in buckets {
            upper.set(usize::from(upper.bits), u64::from(b), node);
            changed.push(u64::from(b));
        }
        changed.sort_unstable();
        changed.dedup();
        for d in (0..usize::from(upper.bits)).rev() {
            changed = changed.iter().map(|i| i >> 1).collect();
            changed.dedup();
            for &i in &changed {
                let n = Node::join(upper.get(d + 1, 2 * i), upper.get(d + 1, 2 * i + 1));
                upper.set(d, i, n);
            }
        }
        upper.subjects = subjects;
        upper
    }

    /// Bits of the bucket number.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Subjects in the index.
    pub fn subjects(&self) -> u64 {
        self.subjects
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.get(0, 0).hash()
    }

    /// The node at `depth`, `index` (`depth <= bits`).
    pub fn get(&self, depth: usize, index: u64) -> Node {
        let i = index as usize;
        self.levels
            .get(depth)
            .and_then(|l| l.get(i / CHUNK))
            .and_then(|c| c.as_ref())
            .map_or(Node::Empty, |c| c[i % CHUNK])
    }

    fn set(&mut self, depth: usize, index: u64, node: Node) {
        let i = index as usize;
        let Some(level) = self.levels.get_mut(depth) else {
            return;
        };
        let Some(slot) = level.get_mut(i / CHUNK) else {
            return;
        };
        let width = (1usize << depth).min(CHUNK);
        slot.get_or_insert_with(|| vec![Node::Empty; width].into_boxed_slice())[i % CHUNK] = node;
    }

    /// The summaries of every non-empty bucket (what a store saves to rebuild the tree).
    pub fn buckets(&self) -> impl Iterator<Item = (u32, Node)> + '_ {
        let d = usize::from(self.bits);
        self.levels[d]
            .iter()
            .enumerate()
            .filter_map(|(c, chunk)| chunk.as_ref().map(|chunk| (c, chunk)))
            .flat_map(move |(c, chunk)| {
                chunk
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n != Node::Empty)
                    .map(move |(i, n)| ((c * CHUNK + i) as u32, *n))
            })
    }

    /// Applies what [`stage`] computed on this same tree.
    pub fn apply(&mut self, staged: &Staged) {
        for (d, level) in staged.upper.iter().enumerate() {
            for &(i, n) in level {
                self.set(d, i, n);
            }
        }
        self.subjects = staged.subjects;
    }

    /// Bytes the allocated chunks take.
    pub fn memory_bytes(&self) -> usize {
        self.levels
            .iter()
            .flatten()
            .flatten()
            .map(|c| c.len() * std::mem::size_of::<Node>())
            .sum()
    }
}

/// One event recorded under one subject: the subject's key, the event id and its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update {
    /// The subject's index key.
    pub key: Hash,
    /// The event.
    pub id: EventId,
    /// Its log position.
    pub position: u64,
}

/// Computes the index after `updates` (in log order) without changing anything: each changed
/// bucket is read once through `read`, updated, and hashed once; then the upper nodes above the
/// changed buckets are recomputed once each.
pub fn stage<E>(
    upper: &Upper,
    updates: &[Update],
    mut read: impl FnMut(u32) -> Result<Arc<[Leaf]>, E>,
) -> Result<Staged, E> {
    let bits = upper.bits;
    let mut by_bucket: BTreeMap<u32, Vec<(usize, &Update)>> = BTreeMap::new();
    for (i, u) in updates.iter().enumerate() {
        by_bucket
            .entry(bucket_of(&u.key, bits))
            .or_default()
            .push((i, u));
    }
    let mut prev_last = vec![NO_EVENT; updates.len()];
    let mut subjects = upper.subjects;
    let mut buckets = Vec::with_capacity(by_bucket.len());
    for (b, ups) in by_bucket {
        let mut leaves: Vec<Leaf> = read(b)?.to_vec();
        for (i, u) in ups {
            match leaves.binary_search_by(|l| l.key.cmp(&u.key)) {
                Ok(p) => {
                    prev_last[i] = leaves[p].last;
                    leaves[p].entry = leaves[p].entry.next(&u.id);
                    leaves[p].last = u.position;
                }
                Err(p) => {
                    subjects += 1;
                    leaves.insert(
                        p,
                        Leaf {
                            key: u.key,
                            entry: IndexEntry::default().next(&u.id),
                            last: u.position,
                        },
                    );
                }
            }
        }
        let node = bucket_node(&leaves, bits, b);
        buckets.push((b, Arc::from(leaves), node));
    }
    let d = usize::from(bits);
    let mut upper_delta: Vec<Vec<(u64, Node)>> = vec![Vec::new(); d + 1];
    upper_delta[d] = buckets
        .iter()
        .map(|(b, _, n)| (u64::from(*b), *n))
        .collect();
    for depth in (0..d).rev() {
        let below = &upper_delta[depth + 1];
        let mut level: Vec<(u64, Node)> = Vec::with_capacity(below.len());
        let node_at = |i: u64| match below.binary_search_by_key(&i, |(j, _)| *j) {
            Ok(p) => below[p].1,
            Err(_) => upper.get(depth + 1, i),
        };
        for &(i, _) in below {
            let parent = i >> 1;
            if level.last().is_some_and(|(p, _)| *p == parent) {
                continue;
            }
            level.push((
                parent,
                Node::join(node_at(2 * parent), node_at(2 * parent + 1)),
            ));
        }
        upper_delta[depth] = level;
    }
    if updates.is_empty() {
        upper_delta[0] = vec![(0, upper.get(0, 0))];
    }
    Ok(Staged {
        buckets,
        upper: upper_delta,
        subjects,
        prev_last,
    })
}

/// The entry of `key` (read through its bucket), with the staged batch first if given.
pub fn entry<E>(
    upper: &Upper,
    staged: Option<&Staged>,
    key: &Hash,
    mut read: impl FnMut(u32) -> Result<Arc<[Leaf]>, E>,
) -> Result<Option<Leaf>, E> {
    let b = bucket_of(key, upper.bits);
    let leaves = match staged.and_then(|s| s.bucket(b)) {
        Some(l) => l.clone(),
        None => read(b)?,
    };
    Ok(leaves
        .binary_search_by(|l| l.key.cmp(key))
        .ok()
        .map(|p| leaves[p]))
}

/// The proof of `key`'s entry or absence (the same proof [`super::Index::prove`] gives), on
/// `upper` with `staged` applied over it if given, reading buckets through `read`.
pub fn prove<E>(
    upper: &Upper,
    staged: Option<&Staged>,
    key: &Hash,
    mut read: impl FnMut(u32) -> Result<Arc<[Leaf]>, E>,
) -> Result<IndexProof, E> {
    let bits = usize::from(upper.bits);
    let node = |d: usize, i: u64| {
        staged
            .and_then(|s| s.node(d, i))
            .unwrap_or_else(|| upper.get(d, i))
    };
    let mut bucket_leaves = |b: u32| -> Result<Arc<[Leaf]>, E> {
        match staged.and_then(|s| s.bucket(b)) {
            Some(l) => Ok(l.clone()),
            None => read(b),
        }
    };
    let mut siblings = Vec::new();
    let mut index = 0u64;
    for depth in 0..=bits {
        match node(depth, index) {
            Node::Empty => {
                return Ok(IndexProof {
                    siblings,
                    leaf: None,
                })
            }
            Node::Single { bucket, .. } => {
                let leaves = bucket_leaves(bucket)?;
                let leaf = leaves.first().map(|l| ProofLeaf {
                    key: l.key,
                    value_hash: l.entry.value_hash(),
                });
                return Ok(IndexProof { siblings, leaf });
            }
            Node::Multi(_) if depth < bits => {
                let right = bit(key, depth);
                let child = 2 * index + u64::from(right);
                siblings.push(node(depth + 1, child ^ 1).hash());
                index = child;
            }
            Node::Multi(_) => {
                let leaves = bucket_leaves(index as u32)?;
                let leaf = prove_in(&leaves, depth, key, &mut siblings);
                return Ok(IndexProof { siblings, leaf });
            }
        }
    }
    Ok(IndexProof {
        siblings,
        leaf: None,
    })
}

/// Continues a proof inside a bucket: `leaves` share the key's first `depth` bits.
fn prove_in(
    leaves: &[Leaf],
    depth: usize,
    key: &Hash,
    siblings: &mut Vec<Hash>,
) -> Option<ProofLeaf> {
    let (mut slice, mut depth) = (leaves, depth);
    loop {
        match slice {
            [] => return None,
            [one] => {
                return Some(ProofLeaf {
                    key: one.key,
                    value_hash: one.entry.value_hash(),
                })
            }
            _ if depth >= INDEX_DEPTH => return None,
            _ => {
                let split = slice.partition_point(|l| !bit(&l.key, depth));
                let (left, right) = slice.split_at(split);
                if bit(key, depth) {
                    siblings.push(subtree(left, depth + 1, 0).hash());
                    slice = right;
                } else {
                    siblings.push(subtree(right, depth + 1, 0).hash());
                    slice = left;
                }
                depth += 1;
            }
        }
    }
}

/// The bucketed index kept wholly in memory: what [`crate::LedgerState`] uses, and the
/// reference a store's on-disk buckets are tested against.
#[derive(Debug, Clone)]
pub struct MemIndex {
    upper: Upper,
    buckets: std::collections::HashMap<u32, Arc<[Leaf]>>,
}

fn no_error(r: Result<Arc<[Leaf]>, std::convert::Infallible>) -> Arc<[Leaf]> {
    match r {
        Ok(l) => l,
        Err(e) => match e {},
    }
}

impl Default for MemIndex {
    fn default() -> Self {
        MemIndex::new(MEM_BITS)
    }
}

/// Upper bits of [`MemIndex::default`].
pub const MEM_BITS: u8 = 12;

impl MemIndex {
    /// An empty index with `bits` upper levels.
    pub fn new(bits: u8) -> MemIndex {
        MemIndex {
            upper: Upper::new(bits),
            buckets: std::collections::HashMap::new(),
        }
    }

    fn read(&self) -> impl FnMut(u32) -> Result<Arc<[Leaf]>, std::convert::Infallible> + '_ {
        |b| {
            Ok(self
                .buckets
                .get(&b)
                .cloned()
                .unwrap_or_else(|| Arc::from(Vec::new())))
        }
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.upper.root()
    }

    /// Subjects in the index.
    pub fn len(&self) -> u64 {
        self.upper.subjects()
    }

    /// True if no subject has an entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch's effect, computed without changing the index.
    pub fn stage(&self, updates: &[Update]) -> Staged {
        no_error_staged(stage(&self.upper, updates, self.read()))
    }

    /// Applies a batch staged on this same index.
    pub fn apply(&mut self, staged: &Staged) {
        self.upper.apply(staged);
        for (b, leaves, _) in &staged.buckets {
            self.buckets.insert(*b, leaves.clone());
        }
    }

    /// The leaf of `key`, if any (with `staged` applied over the index if given).
    pub fn leaf(&self, staged: Option<&Staged>, key: &Hash) -> Option<Leaf> {
        match entry(&self.upper, staged, key, self.read()) {
            Ok(l) => l,
            Err(e) => match e {},
        }
    }

    /// The entry of `key`, if any.
    pub fn get(&self, key: &Hash) -> Option<IndexEntry> {
        self.leaf(None, key).map(|l| l.entry)
    }

    /// Proof of `key`'s entry or absence (with `staged` applied over the index if given).
    pub fn prove_staged(&self, staged: Option<&Staged>, key: &Hash) -> IndexProof {
        match prove(&self.upper, staged, key, self.read()) {
            Ok(p) => p,
            Err(e) => match e {},
        }
    }

    /// Proof of `key`'s entry or absence.
    pub fn prove(&self, key: &Hash) -> IndexProof {
        self.prove_staged(None, key)
    }

    /// The leaves of one bucket (for tests).
    pub fn bucket(&self, b: u32) -> Arc<[Leaf]> {
        no_error(self.read()(b))
    }
}

fn no_error_staged(r: Result<Staged, std::convert::Infallible>) -> Staged {
    match r {
        Ok(s) => s,
        Err(e) => match e {},
    }
}

//! The ledger log: an RFC 9162 (Certificate Transparency v2) Merkle tree with BLAKE3.
//!
//! `leaf_hash(d) = BLAKE3(0x00 || d)`, `node_hash(l, r) = BLAKE3(0x01 || l || r)`, the root of the
//! empty tree is `BLAKE3("")`. A root is only ever used together with its tree size: heads sign the
//! pair, and every proof names both sizes. [`MerkleLog`] appends in O(log n) and proves in
//! O(log² n) by keeping every complete subtree's hash.

use crate::hash::Hash;

/// Most hashes in an inclusion or consistency proof (trees up to 2^64 leaves need at most 128).
pub const MAX_PROOF_HASHES: usize = 128;

/// `BLAKE3(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Hash::of(&[&[0x00], data])
}

/// `BLAKE3(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Hash::of(&[&[0x01], left.as_bytes(), right.as_bytes()])
}

/// Root of the empty tree: `BLAKE3("")`.
pub fn empty_root() -> Hash {
    Hash::of(&[])
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Index or sizes out of range.
    #[error("proof is for index/size out of range: {0}")]
    Range(String),
    /// More hashes than any valid proof has.
    #[error("proof has {0} hashes, more than the maximum {MAX_PROOF_HASHES}")]
    TooLong(usize),
    /// The hashes do not lead to the expected root(s).
    #[error("proof does not lead to the expected root")]
    Mismatch,
}

/// Proof that leaf `index` is in the tree of `size` leaves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct InclusionProof {
    /// Leaf position, from 0.
    pub index: u64,
    /// Tree size the proof is for.
    pub size: u64,
    /// Sibling hashes from the leaf upward (RFC 9162 section 2.1.3.1).
    pub path: Vec<Hash>,
}

/// Proof that the tree of `first` leaves is a prefix of the tree of `second` leaves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct ConsistencyProof {
    /// Older size.
    pub first: u64,
    /// Newer size.
    pub second: u64,
    /// RFC 9162 section 2.1.4.1 consistency path.
    pub path: Vec<Hash>,
}

/// Largest power of two strictly below `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

impl InclusionProof {
    /// RFC 9162 section 2.1.3.2: does `leaf` (a leaf hash) sit at `index` under `root`?
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> Result<(), ProofError> {
        if self.path.len() > MAX_PROOF_HASHES {
            return Err(ProofError::TooLong(self.path.len()));
        }
        if self.index >= self.size {
            return Err(ProofError::Range(format!(
                "index {} >= size {}",
                self.index, self.size
            )));
        }
        let (mut f, mut s) = (self.index, self.size - 1);
        let mut r = *leaf;
        for p in &self.path {
            if s == 0 {
                return Err(ProofError::Mismatch);
            }
            if f & 1 == 1 || f == s {
                r = node_hash(p, &r);
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            f >>= 1;
            s >>= 1;
        }
        if s == 0 && r == *root {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        }
    }
}

impl ConsistencyProof {
    /// RFC 9162 section 2.1.4.2: is `(first, first_root)` a prefix of `(second, second_root)`?
    pub fn verify(&self, first_root: &Hash, second_root: &Hash) -> Result<(), ProofError> {
        if self.path.len() > MAX_PROOF_HASHES {
            return Err(ProofError::TooLong(self.path.len()));
        }
        if self.first > self.second {
            return Err(ProofError::Range(format!(
                "first {} > second {}",
                self.first, self.second
            )));
        }
        if self.first == self.second {
            return if self.path.is_empty() && first_root == second_root {
                Ok(())
            } else {
                Err(ProofError::Mismatch)
            };
        }
        if self.first == 0 {
            // Every tree extends the empty tree; the proof carries nothing.
            return if self.path.is_empty() && *first_root == empty_root() {
                Ok(())
            } else {
                Err(ProofError::Mismatch)
            };
        }
        let mut path: Vec<Hash> = Vec::with_capacity(self.path.len() + 1);
        if self.first.is_power_of_two() {
            path.push(*first_root);
        }
        path.extend_from_slice(&self.path);
        let Some((head, rest)) = path.split_first() else {
            return Err(ProofError::Mismatch);
        };
        let (mut f, mut s) = (self.first - 1, self.second - 1);
        while f & 1 == 1 {
            f >>= 1;
            s >>= 1;
        }
        let (mut fr, mut sr) = (*head, *head);
        for c in rest {
            if s == 0 {
                return Err(ProofError::Mismatch);
            }
            if f & 1 == 1 || f == s {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            } else {
                sr = node_hash(&sr, c);
            }
            f >>= 1;
            s >>= 1;
        }
        if fr == *first_root && sr == *second_root && s == 0 {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        }
    }
}

/// Where proofs read the log's hashes from: the hash of the complete subtree at `level` and
/// `index`, i.e. of leaves `[index * 2^level, (index + 1) * 2^level)`. The proof functions below
/// only ask for subtrees that lie wholly inside the tree they prove against, so a source may
/// keep growing while proofs for smaller sizes are read from it (the log is append-only).
///
/// [`MerkleLog`] keeps every such hash in memory; a node reads them from tiles on disk.
pub trait HashSource {
    /// Why a hash could not be read (I/O, a missing record).
    type Error;
    /// The hash of the complete subtree at `level`, `index`.
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// Hash of leaves `[start, end)`, a subtree of the RFC 9162 decomposition.
fn range_hash<S: HashSource + ?Sized>(src: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let k = n.trailing_zeros();
        return src.subtree(k, start >> k);
    }
    let k = split_point(n);
    Ok(node_hash(
        &range_hash(src, start, start + k)?,
        &range_hash(src, start + k, end)?,
    ))
}

/// Root of the tree made of the first `size` leaves of `src` (the caller knows `src` holds
/// at least `size` leaves).
pub fn root_at<S: HashSource + ?Sized>(src: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(src, 0, size)
}

/// Inclusion proof of leaf `index` in the tree of the first `size` leaves of `src`
/// (`index < size`, and `src` holds at least `size` leaves).
pub fn prove_inclusion<S: HashSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<InclusionProof, S::Error> {
    let mut path = Vec::new();
    if index < size {
        inclusion_path(src, index, 0, size, &mut path)?;
    }
    Ok(InclusionProof { index, size, path })
}

fn inclusion_path<S: HashSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if n == 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m - start < k {
        inclusion_path(src, m, start, start + k, out)?;
        out.push(range_hash(src, start + k, end)?);
    } else {
        inclusion_path(src, m, start + k, end, out)?;
        out.push(range_hash(src, start, start + k)?);
    }
    Ok(())
}

/// Consistency proof between the first `first` and first `second` leaves of `src`
/// (`first <= second`, and `src` holds at least `second` leaves).
pub fn prove_consistency<S: HashSource + ?Sized>(
    src: &S,
    first: u64,
    second: u64,
) -> Result<ConsistencyProof, S::Error> {
    let mut path = Vec::new();
    if first > 0 && first < second {
        subproof(src, first, 0, second, true, &mut path)?;
    }
    Ok(ConsistencyProof {
        first,
        second,
        path,
    })
}

fn subproof<S: HashSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(range_hash(src, start, end)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(src, m, start, start + k, whole, out)?;
        out.push(range_hash(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(range_hash(src, start, start + k)?);
    }
    Ok(())
}

/// A complete subtree hash that an append produced: what a store keeps to serve proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewNode {
    /// Its level (0: a leaf hash).
    pub level: u32,
    /// Its index at that level.
    pub index: u64,
    /// Its hash.
    pub hash: Hash,
}

/// The right edge of a log: for each set bit `k` of the size, the hash of the complete
/// subtree of `2^k` leaves it stands for. O(log n) hashes are enough to append and to compute
/// the root; proofs need the stored subtrees ([`HashSource`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// `nodes[k]` is meaningful when bit `k` of `size` is set.
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty log.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// The frontier of the first `size` leaves of `src`.
    pub fn of<S: HashSource + ?Sized>(src: &S, size: u64) -> Result<Frontier, S::Error> {
        let mut nodes = vec![Hash::ZERO; 64 - size.leading_zeros() as usize];
        let mut start = 0u64;
        for k in (0..nodes.len()).rev() {
            if size >> k & 1 == 1 {
                nodes[k] = src.subtree(k as u32, start >> k)?;
                start += 1 << k;
            }
        }
        Ok(Frontier { size, nodes })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; `out` receives every complete subtree the append finished (the
    /// leaf itself at level 0, then each parent it completes). Returns the leaf's index.
    pub fn push(&mut self, leaf: Hash, out: &mut Vec<NewNode>) -> u64 {
        let index = self.size;
        out.push(NewNode {
            level: 0,
            index,
            hash: leaf,
        });
        let mut cur = leaf;
        let mut k = 0usize;
        while self.size >> k & 1 == 1 {
            cur = node_hash(&self.nodes[k], &cur);
            k += 1;
            out.push(NewNode {
                level: k as u32,
                index: index >> k,
                hash: cur,
            });
        }
        if self.nodes.len() <= k {
            self.nodes.resize(k + 1, Hash::ZERO);
        }
        self.nodes[k] = cur;
        self.size += 1;
        index
    }

    /// The root: the frontier's subtrees folded from the smallest to the largest.
    pub fn root(&self) -> Hash {
        let mut acc: Option<Hash> = None;
        for k in 0..self.nodes.len() {
            if self.size >> k & 1 == 1 {
                acc = Some(match acc {
                    None => self.nodes[k],
                    Some(r) => node_hash(&self.nodes[k], &r),
                });
            }
        }
        acc.unwrap_or_else(empty_root)
    }
}

/// An append-only Merkle log kept in memory, with every complete subtree hash.
///
/// `levels[k][i]` is the hash of leaves `[i * 2^k, (i + 1) * 2^k)`.
#[derive(Debug, Clone, Default)]
pub struct MerkleLog {
    levels: Vec<Vec<Hash>>,
}

impl HashSource for MerkleLog {
    type Error = std::convert::Infallible;
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        // Callers only ask for complete subtrees inside the log (see `HashSource`).
        Ok(self
            .levels
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .unwrap_or(Hash::ZERO))
    }
}

fn infallible<T>(r: Result<T, std::convert::Infallible>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => match e {},
    }
}

impl MerkleLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf hash (see [`leaf_hash`]); returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let index = self.levels[0].len() as u64 - 1;
        let mut k = 0;
        while self.levels[k].len().is_multiple_of(2) {
            let n = self.levels[k].len();
            let parent = node_hash(&self.levels[k][n - 2], &self.levels[k][n - 1]);
            if self.levels.len() == k + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[k + 1].push(parent);
            k += 1;
        }
        index
    }

    /// Drops every leaf from position `size` on (no-op if the log is not longer).
    pub fn truncate(&mut self, size: u64) {
        for (k, level) in self.levels.iter_mut().enumerate() {
            level.truncate((size >> k) as usize);
        }
    }

    /// Root of the tree made of the first `size` leaves (`size <= self.size()`).
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        (size <= self.size()).then(|| infallible(root_at(self, size)))
    }

    /// Root of the whole log.
    pub fn root(&self) -> Hash {
        infallible(root_at(self, self.size()))
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels.first()?.get(index as usize).copied()
    }

    /// Inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Option<InclusionProof> {
        if index >= size || size > self.size() {
            return None;
        }
        Some(infallible(prove_inclusion(self, index, size)))
    }

    /// Consistency proof between the first `first` and first `second` leaves.
    pub fn prove_consistency(&self, first: u64, second: u64) -> Option<ConsistencyProof> {
        if first > second || second > self.size() {
            return None;
        }
        Some(infallible(prove_consistency(self, first, second)))
    }

    /// The frontier of the whole log.
    pub fn frontier(&self) -> Frontier {
        infallible(Frontier::of(self, self.size()))
    }
}

/// Root of a list of leaf hashes computed directly from the RFC 9162 definition (reference).
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

crate::wire::object_only!(InclusionProof, ConsistencyProof);

//! The authenticated subject index: for each consignment (UCR) and container, the number of its
//! events in the log and an accumulated hash of their ids, committed in a sparse Merkle tree.
//!
//! Keys are 256-bit hashes, walked most significant bit first. A leaf sits at the shallowest depth
//! where it is alone in its subtree; an empty subtree hashes to 32 zero bytes.
//! `leaf = BLAKE3(0x02 || key || value_hash)`, `node = BLAKE3(0x03 || left || right)`.
//! A proof is the sibling list from the root down to the leaf's depth plus the leaf found there,
//! so it proves both presence (with the entry) and absence.

use std::sync::{Arc, OnceLock};

pub mod buckets;

use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::ids::EventId;
use crate::ids::{ContainerId, OrgId, TradeId, Ucr};

/// Domain of index keys.
pub const INDEX_KEY_DOMAIN: &[u8] = b"tradelog/index-key/v1";
/// Domain of the per-subject accumulator.
pub const INDEX_ACC_DOMAIN: &[u8] = b"tradelog/index-acc/v1";
/// Domain of an entry's value hash.
pub const INDEX_VALUE_DOMAIN: &[u8] = b"tradelog/index-value/v1";
/// Depth of the tree: one level per key bit.
pub const INDEX_DEPTH: usize = 256;

/// What an index key is about. JSON: `{"type": "consignment" | "container" | "identifier" |
/// "membership" | "organisation", "id": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "SubjectWire", into = "SubjectWire")]
pub enum Subject {
    /// A consignment by UCR.
    Consignment(Ucr),
    /// A container by ISO 6346 number.
    Container(ContainerId),
    /// The ledger's membership changes (PROTOCOL.md 8a); JSON id `"membership"`.
    Membership,
    /// A trade identifier: transport document, booking or SSCC (PROTOCOL.md 8f).
    Identifier(TradeId),
    /// An organisation's AEO records and its administration's arrangements (PROTOCOL.md 8h).
    Organisation(OrgId),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SubjectType {
    Consignment,
    Container,
    Membership,
    Identifier,
    Organisation,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
struct SubjectWire {
    #[serde(rename = "type")]
    kind: SubjectType,
    id: String,
}

impl TryFrom<SubjectWire> for Subject {
    type Error = crate::ids::IdError;
    fn try_from(w: SubjectWire) -> Result<Self, Self::Error> {
        Ok(match w.kind {
            SubjectType::Consignment => Subject::Consignment(w.id.try_into()?),
            SubjectType::Container => Subject::Container(w.id.try_into()?),
            SubjectType::Membership if w.id == "membership" => Subject::Membership,
            SubjectType::Identifier => Subject::Identifier(w.id.try_into()?),
            SubjectType::Organisation => Subject::Organisation(w.id.try_into()?),
            SubjectType::Membership => {
                return Err(crate::ids::IdError {
                    what: "membership subject",
                    value: w.id.chars().take(40).collect(),
                    reason: "the membership subject's id is \"membership\"".into(),
                })
            }
        })
    }
}

impl From<Subject> for SubjectWire {
    fn from(s: Subject) -> Self {
        match s {
            Subject::Consignment(u) => SubjectWire {
                kind: SubjectType::Consignment,
                id: u.into(),
            },
            Subject::Container(c) => SubjectWire {
                kind: SubjectType::Container,
                id: c.into(),
            },
            Subject::Membership => SubjectWire {
                kind: SubjectType::Membership,
                id: "membership".into(),
            },
            Subject::Identifier(t) => SubjectWire {
                kind: SubjectType::Identifier,
                id: t.into(),
            },
            Subject::Organisation(o) => SubjectWire {
                kind: SubjectType::Organisation,
                id: o.into(),
            },
        }
    }
}

impl Subject {
    /// `BLAKE3("tradelog/index-key/v1" || 0x00 || type || id)`, type 0x01 consignment, 0x02
    /// container, 0x04 trade identifier, 0x05 organisation; the membership subject's key is
    /// `BLAKE3("tradelog/index-key/v1" || 0x00 || 0x03)`.
    pub fn key(&self) -> Hash {
        match self {
            Subject::Consignment(u) => {
                Hash::domain(INDEX_KEY_DOMAIN, &[&[1], u.as_str().as_bytes()])
            }
            Subject::Container(c) => Hash::domain(INDEX_KEY_DOMAIN, &[&[2], c.as_str().as_bytes()]),
            Subject::Membership => Hash::domain(INDEX_KEY_DOMAIN, &[&[3]]),
            Subject::Identifier(t) => {
                Hash::domain(INDEX_KEY_DOMAIN, &[&[4], t.as_str().as_bytes()])
            }
            Subject::Organisation(o) => {
                Hash::domain(INDEX_KEY_DOMAIN, &[&[5], o.as_str().as_bytes()])
            }
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Consignment(u) => write!(f, "consignment {u}"),
            Subject::Container(c) => write!(f, "container {c}"),
            Subject::Membership => f.write_str("membership"),
            Subject::Identifier(t) => write!(f, "identifier {t}"),
            Subject::Organisation(o) => write!(f, "organisation {o}"),
        }
    }
}

/// A subject's index entry: event count and accumulator over its event ids in log order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct IndexEntry {
    /// Events recorded for the subject.
    pub count: u64,
    /// `acc_0 = 0^32`, `acc_i = BLAKE3("tradelog/index-acc/v1" || 0x00 || acc_{i-1} || id_i)`.
    pub acc: Hash,
}

impl IndexEntry {
    /// The entry after one more event.
    pub fn next(&self, id: &EventId) -> IndexEntry {
        IndexEntry {
            count: self.count + 1,
            acc: Hash::domain(INDEX_ACC_DOMAIN, &[self.acc.as_bytes(), id.as_bytes()]),
        }
    }

    /// The entry for a list of event ids, in order.
    pub fn over<'a>(ids: impl IntoIterator<Item = &'a EventId>) -> IndexEntry {
        ids.into_iter()
            .fold(IndexEntry::default(), |e, id| e.next(id))
    }

    /// `BLAKE3("tradelog/index-value/v1" || 0x00 || count (u64 BE) || acc)`.
    pub fn value_hash(&self) -> Hash {
        Hash::domain(
            INDEX_VALUE_DOMAIN,
            &[&self.count.to_be_bytes(), self.acc.as_bytes()],
        )
    }
}

fn bit(key: &Hash, depth: usize) -> bool {
    (key.0[depth / 8] >> (7 - depth % 8)) & 1 == 1
}

fn leaf_hash(key: &Hash, value_hash: &Hash) -> Hash {
    Hash::of(&[&[0x02], key.as_bytes(), value_hash.as_bytes()])
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Hash::of(&[&[0x03], left.as_bytes(), right.as_bytes()])
}

/// A tree node. Hashes are computed when first asked for and kept (`OnceLock`); changing a node
/// clears its hash and those of the nodes above it, so the hashes a batch of records changes are
/// computed once, when the root is next read, however many records touched the same path.
#[derive(Debug, Clone)]
enum Node {
    Empty,
    Leaf {
        key: Hash,
        entry: IndexEntry,
        hash: OnceLock<Hash>,
    },
    Internal {
        left: Arc<Node>,
        right: Arc<Node>,
        hash: OnceLock<Hash>,
    },
}

impl Node {
    fn hash(&self) -> Hash {
        match self {
            Node::Empty => Hash::ZERO,
            Node::Leaf { key, entry, hash } => {
                *hash.get_or_init(|| leaf_hash(key, &entry.value_hash()))
            }
            Node::Internal { left, right, hash } => {
                *hash.get_or_init(|| node_hash(&left.hash(), &right.hash()))
            }
        }
    }

    fn leaf(key: Hash, entry: IndexEntry) -> Node {
        Node::Leaf {
            key,
            entry,
            hash: OnceLock::new(),
        }
    }

    fn internal(left: Node, right: Node) -> Node {
        Node::Internal {
            left: Arc::new(left),
            right: Arc::new(right),
            hash: OnceLock::new(),
        }
    }
}

/// The leaf a proof ends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct ProofLeaf {
    /// The leaf's key.
    pub key: Hash,
    /// The leaf's value hash.
    pub value_hash: Hash,
}

/// Proof of a key's entry, or of its absence, under an index root.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct IndexProof {
    /// Sibling hashes from depth 1 (child of the root) down to the leaf's depth.
    pub siblings: Vec<Hash>,
    /// The leaf at the end of the key's path; absent when the path ends in an empty subtree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<ProofLeaf>,
}

/// Why an index proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexProofError {
    /// More siblings than key bits.
    #[error("index proof has {0} siblings, more than {INDEX_DEPTH}")]
    TooLong(usize),
    /// The end leaf is another key that does not share the path.
    #[error("index proof ends on a leaf off the key's path")]
    OffPath,
    /// The hashes do not lead to the root.
    #[error("index proof does not lead to the index root")]
    Mismatch,
}

impl IndexProof {
    /// Checks the proof for `key` under `root`; returns the key's value hash, or `None` if the
    /// proof shows the key is absent.
    pub fn verify(&self, root: &Hash, key: &Hash) -> Result<Option<Hash>, IndexProofError> {
        let depth = self.siblings.len();
        if depth > INDEX_DEPTH {
            return Err(IndexProofError::TooLong(depth));
        }
        let (mut cur, found) = match &self.leaf {
            None => (Hash::ZERO, None),
            Some(l) => {
                if (0..depth).any(|d| bit(&l.key, d) != bit(key, d)) {
                    return Err(IndexProofError::OffPath);
                }
                let found = (l.key == *key).then_some(l.value_hash);
                (leaf_hash(&l.key, &l.value_hash), found)
            }
        };
        for d in (0..depth).rev() {
            let sib = &self.siblings[d];
            cur = if bit(key, d) {
                node_hash(sib, &cur)
            } else {
                node_hash(&cur, sib)
            };
        }
        if cur == *root {
            Ok(found)
        } else {
            Err(IndexProofError::Mismatch)
        }
    }

    /// Checks that `subject` has exactly `entry` under `root` (an empty entry means absent).
    pub fn verify_entry(
        &self,
        root: &Hash,
        subject: &Subject,
        entry: &IndexEntry,
    ) -> Result<bool, IndexProofError> {
        let found = self.verify(root, &subject.key())?;
        Ok(match found {
            Some(v) => v == entry.value_hash(),
            None => entry.count == 0,
        })
    }
}

/// The index: a persistent (copy-on-write) sparse Merkle tree. Cloning is O(1), so a node can
/// keep the index of a certified head while building the next one.
///
/// Records are cheap and hashing is batched: [`Index::record`] changes the path of its key in
/// place (copying only nodes still shared with a clone) and computes no hash; the nodes changed
/// since the last read are hashed once when the root or a proof is next read. A block's events
/// thus cost one hash per changed node of the block, not one path of hashes per event, and the
/// result is the same as hashing after every event.
#[derive(Debug, Clone)]
pub struct Index {
    root: Arc<Node>,
    len: u64,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            root: Arc::new(Node::Empty),
            len: 0,
        }
    }
}

impl Index {
    /// An empty index (root = 32 zero bytes).
    pub fn new() -> Self {
        Self::default()
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.root.hash()
    }

    /// Number of subjects.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if no subject has an entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry of `key`, if any.
    pub fn get(&self, key: &Hash) -> Option<IndexEntry> {
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node.as_ref() {
                Node::Empty => return None,
                Node::Leaf { key: k, entry, .. } => return (k == key).then_some(*entry),
                Node::Internal { left, right, .. } => {
                    node = if bit(key, depth) { right } else { left };
                    depth += 1;
                }
            }
        }
    }

    /// Appends event `id` to `subject`'s entry.
    ///
    /// Only the nodes on the key's path are visited. Nodes this index shares with a clone are
    /// copied first (copy-on-write); nodes it owns alone, such as those an earlier record since
    /// the last clone already copied, are changed in place. No hash is computed here: the
    /// changed nodes are hashed once, when [`Index::root`] or [`Index::prove`] next needs them.
    pub fn record(&mut self, subject: &Subject, id: &EventId) {
        self.record_key(&subject.key(), id);
    }

    /// Appends event `id` to the entry of the subject whose index key is `key`.
    pub fn record_key(&mut self, key: &Hash, id: &EventId) {
        if record_at(&mut self.root, 0, key, id) {
            self.len += 1;
        }
    }

    /// Proof of `key`'s entry or absence under [`Index::root`].
    pub fn prove(&self, key: &Hash) -> IndexProof {
        let mut siblings = Vec::new();
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node.as_ref() {
                Node::Empty => {
                    return IndexProof {
                        siblings,
                        leaf: None,
                    }
                }
                Node::Leaf { key, entry, .. } => {
                    let leaf = Some(ProofLeaf {
                        key: *key,
                        value_hash: entry.value_hash(),
                    });
                    return IndexProof { siblings, leaf };
                }
                Node::Internal { left, right, .. } => {
                    if bit(key, depth) {
                        siblings.push(left.hash());
                        node = right;
                    } else {
                        siblings.push(right.hash());
                        node = left;
                    }
                    depth += 1;
                }
            }
        }
    }
}

/// Appends `id` to `key`'s entry in the subtree `node` at `depth`; true if the key is new.
fn record_at(mut node: &mut Arc<Node>, mut depth: usize, key: &Hash, id: &EventId) -> bool {
    loop {
        let n = Arc::make_mut(node);
        match n {
            Node::Empty => {
                *n = Node::leaf(*key, IndexEntry::default().next(id));
                return true;
            }
            Node::Leaf {
                key: k,
                entry,
                hash,
            } if k == key => {
                *entry = entry.next(id);
                hash.take();
                return false;
            }
            Node::Leaf { key: k, .. } => {
                let k = *k;
                let old = std::mem::replace(n, Node::Empty);
                let new = Node::leaf(*key, IndexEntry::default().next(id));
                *n = split(old, k, new, *key, depth);
                return true;
            }
            Node::Internal { left, right, hash } => {
                hash.take();
                node = if bit(key, depth) { right } else { left };
                depth += 1;
            }
        }
    }
}

/// Places two leaves with different keys under a new subtree at `depth`.
fn split(a: Node, ka: Hash, b: Node, kb: Hash, depth: usize) -> Node {
    let (ba, bb) = (bit(&ka, depth), bit(&kb, depth));
    if ba == bb {
        let child = split(a, ka, b, kb, depth + 1);
        if ba {
            Node::internal(Node::Empty, child)
        } else {
            Node::internal(child, Node::Empty)
        }
    } else if ba {
        Node::internal(b, a)
    } else {
        Node::internal(a, b)
    }
}

crate::wire::object_only!(IndexEntry, ProofLeaf, IndexProof, SubjectWire);

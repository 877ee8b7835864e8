//! Proof bundles: a subject's events with inclusion proofs, the index proof of completeness and
//! a certified head, verifiable offline by anyone holding the genesis document.

use crate::event::{Event, EventError};
use crate::hash::Hash;
use crate::head::{Certificate, CertificateError, Head, MAX_EVENT_AHEAD_MS};
use crate::index::{IndexEntry, IndexProof, IndexProofError, Subject};
use crate::keys::BadSignature;
use crate::membership::{History, MembershipError, MembershipProof};
use crate::merkle::{leaf_hash, InclusionProof, ProofError};
use crate::parties::{self, Parties};
use crate::roles::{AuthError, Genesis, Role};

/// The bundle format version (2 added the membership proof, 3 the blocks that prove when each
/// event was recorded). Version 2 bundles still verify, without recorded times.
pub const BUNDLE_VERSION: u32 = 3;
/// The earliest version still verified.
pub const MIN_BUNDLE_VERSION: u32 = 2;
/// Largest bundle JSON accepted, checked before parsing.
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024 * 1024;
/// Most events in one bundle.
pub const MAX_BUNDLE_EVENTS: usize = 100_000;

/// One event with its position in the log and its inclusion path at the bundle's head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct ProvenEvent {
    /// Log position.
    pub index: u64,
    /// The signed event.
    pub event: Event,
    /// Inclusion path in the tree of `head.log_size` leaves.
    pub proof: Vec<Hash>,
}

/// The certified head of a block that committed some of a bundle's events, and the head before
/// it (which gives the block's first log position): proves when those events were recorded
/// (PROTOCOL.md 9 step 7).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct BlockProof {
    /// The block's head.
    pub head: Head,
    /// Its certificate, under the validators in force at its height.
    pub certificate: Certificate,
    /// The previous head (`null` at height 1, whose events start at log position 0). The
    /// member is required, `null` or a head.
    #[serde(deserialize_with = "present_or_null")]
    pub prev: Option<Head>,
}

/// A required member that may be `null` (serde would otherwise take a missing `Option` as
/// `None`).
fn present_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Head>, D::Error> {
    <Option<Head> as serde::Deserialize>::deserialize(d)
}

/// When an event was recorded: its block's height and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The block's height.
    pub height: u64,
    /// The block's time (ms since 1970 UTC).
    pub time: u64,
}

/// Everything needed to verify a subject's complete history offline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct ProofBundle {
    /// Format version, 1.
    pub version: u32,
    /// What the bundle is about.
    pub subject: Subject,
    /// The certified head the proofs are against.
    pub head: Head,
    /// Quorum certificate of `head`.
    pub certificate: Certificate,
    /// All of the subject's events, in log order.
    pub events: Vec<ProvenEvent>,
    /// The subject's index entry at `head` (count 0 and a zero accumulator if it has none).
    pub index_entry: IndexEntry,
    /// Proof of `index_entry` (or of absence) under `head.index_root`.
    pub index_proof: IndexProof,
    /// The membership and validator-set history up to `head` (PROTOCOL.md 9d).
    pub membership: MembershipProof,
    /// The blocks that committed the events, in height order (section 9 step 7): required in
    /// version 3, absent in version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<BlockProof>>,
}

/// Why a bundle does not verify. Each names what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Too large or not parseable.
    #[error("bundle is malformed: {0}")]
    Malformed(String),
    /// Unknown version.
    #[error("bundle version {0} is not supported")]
    Version(u32),
    /// Head of another chain.
    #[error("head is for chain {got:?}, the genesis is for {expected:?}")]
    Chain {
        /// Genesis chain id.
        expected: String,
        /// Head's chain id.
        got: String,
    },
    /// The certificate does not certify the head.
    #[error("certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// The membership proof fails (this includes the head's certificate, checked under the
    /// validators it proves to be in force).
    #[error("{0}")]
    Membership(MembershipError),
    /// Events out of order or beyond the head.
    #[error("events[{pos}]: log index {index} is out of order or beyond the head's log size")]
    Order {
        /// Position in the bundle.
        pos: usize,
        /// Its claimed log index.
        index: u64,
    },
    /// An event is not about the subject.
    #[error("events[{0}]: event is not about the bundle's subject")]
    Subject(usize),
    /// A membership-subject bundle's event differs from the membership proof's at its index.
    #[error("events[{0}]: not the membership proof's event at the same log index")]
    NotInMembershipProof(usize),
    /// An event's time is too far after the time of a head at or after its block.
    #[error("events[{pos}]: time {time} is more than {MAX_EVENT_AHEAD_MS} ms after the time {head_time} of a head at or after its block")]
    FutureEvent {
        /// Position in the bundle.
        pos: usize,
        /// The event's time.
        time: u64,
        /// The head's time.
        head_time: u64,
    },
    /// An event fails a structural or signature check.
    #[error("events[{pos}]: {err}")]
    Event {
        /// Position in the bundle.
        pos: usize,
        /// The failure.
        err: EventError,
    },
    /// Two events of the subject's complete history have the same source key (8e): the
    /// ledger would have refused the later one.
    #[error("events[{pos}]: body.source: the issuer recorded this source event for the same consignment and container before, at events[{first}]")]
    SameSource {
        /// Position of the later event in the bundle.
        pos: usize,
        /// Position of the earlier one.
        first: usize,
    },
    /// A `retracted` event of the subject's history breaks 8g.
    #[error("events[{pos}]: body.retracts: {reason}")]
    Retraction {
        /// Position of the retraction in the bundle.
        pos: usize,
        /// What is wrong.
        reason: String,
    },
    /// A risk outcome of the consignment's history refers to no earlier `advance_data` event
    /// of it (8i).
    #[error("events[{pos}]: body.refs: a risk outcome refers to no earlier advance_data event of its consignment")]
    Outcome {
        /// Position of the outcome in the bundle.
        pos: usize,
    },
    /// An event's issuer is not permitted.
    #[error("events[{pos}]: {err}")]
    Auth {
        /// Position in the bundle.
        pos: usize,
        /// The failure.
        err: AuthError,
    },
    /// An inclusion proof fails.
    #[error("events[{pos}]: inclusion proof: {err}")]
    Inclusion {
        /// Position in the bundle.
        pos: usize,
        /// The failure.
        err: ProofError,
    },
    /// The index proof is invalid.
    #[error("index proof: {0}")]
    Index(#[from] IndexProofError),
    /// The index proof does not prove the bundle's index entry.
    #[error("index proof does not prove the bundle's index entry for the subject")]
    IndexEntry,
    /// Events are missing or extra.
    #[error("incomplete: the index commits to {expected} events, the bundle has {got}")]
    Incomplete {
        /// Count committed in the index.
        expected: u64,
        /// Count in the bundle.
        got: usize,
    },
    /// A block entry does not prove when events were recorded.
    #[error("blocks[{pos}]: {reason}")]
    Block {
        /// Position in `blocks`.
        pos: usize,
        /// What failed.
        reason: String,
    },
    /// A block entry's certificate does not certify its head.
    #[error("blocks[{pos}].certificate: {err}")]
    BlockCertificate {
        /// Position in `blocks`.
        pos: usize,
        /// The failure.
        err: CertificateError,
    },
    /// Same count, but the list differs from the committed one (an event swapped or reordered).
    #[error(
        "the bundle's events differ from the list the index commits to (altered or reordered)"
    )]
    Altered,
}

/// A verified provenance: the subject's events, all of them, in log order.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The subject.
    pub subject: Subject,
    /// The certified head they were verified against.
    pub head: Head,
    /// `(log index, event)` in log order.
    pub events: Vec<(u64, Event)>,
    /// A consignment's parties after these events (section 8c); empty for other subjects and
    /// under rules 1.
    pub parties: Parties,
    /// The customs administrations among the members at the head (they act on any
    /// consignment, section 8c); empty under rules 1.
    pub customs: Parties,
    /// The ledger's admission rules (the genesis's).
    pub rules: u32,
    /// When each event of `events` was recorded (its block), where the bundle proves it
    /// (version 3 proves every event's; version 2 none).
    pub recorded: Vec<Option<Recorded>>,
    /// Retracted events (8g): the log index of each retracted event, and of its retraction.
    pub retracted: std::collections::BTreeMap<u64, u64>,
}

/// An event recorded more than this after its own time is a late entry (24 hours): the
/// explorer and the CLI mark it, the time-release report counts it (docs/PROTOCOL.md 9 step 7).
pub const LATE_RECORDING_MS: u64 = 24 * 3_600_000;

impl Provenance {
    /// When the event at log position `index` was recorded, if the bundle proved it.
    pub fn recorded_at(&self, index: u64) -> Option<Recorded> {
        let i = self.events.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        self.recorded.get(i).copied().flatten()
    }

    /// The log index of the retraction of the event at `index`, if it is retracted (8g).
    pub fn retracted_by(&self, index: u64) -> Option<u64> {
        self.retracted.get(&index).copied()
    }
}

impl Recorded {
    /// True if recorded more than [`LATE_RECORDING_MS`] after `event_time`.
    pub fn is_late(&self, event_time: u64) -> bool {
        self.time.saturating_sub(event_time) > LATE_RECORDING_MS
    }
}

fn about(event: &Event, subject: &Subject) -> bool {
    let b = event.body();
    match subject {
        Subject::Consignment(u) => b.ucr.as_ref() == Some(u),
        Subject::Container(c) => b.container.as_ref() == Some(c),
        Subject::Membership => b.kind == crate::event::EventKind::Membership,
        Subject::Identifier(t) => b.ids.iter().flatten().any(|i| i == t),
        Subject::Organisation(o) => {
            b.aeo.as_ref().is_some_and(|r| &r.holder == o)
                || b.mra
                    .as_ref()
                    .is_some_and(|m| &m.partner == o || &b.issuer.org == o)
        }
    }
}

impl ProofBundle {
    /// Parses the JSON form, bounding its size first.
    pub fn from_json(bytes: &[u8]) -> Result<ProofBundle, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::Malformed(format!(
                "{} bytes, the limit is {MAX_BUNDLE_BYTES}",
                bytes.len()
            )));
        }
        let b: ProofBundle =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
        if b.events.len() > MAX_BUNDLE_EVENTS {
            return Err(BundleError::Malformed(format!(
                "{} events, the limit is {MAX_BUNDLE_EVENTS}",
                b.events.len()
            )));
        }
        Ok(b)
    }

    /// Verifies everything against the genesis alone: the membership history and the quorum
    /// certificate under the validators it proves to be in force, every event's signature,
    /// issuer and role (under the membership in force at its log position), every inclusion
    /// proof, and completeness via the index.
    pub fn verify(&self, genesis: &Genesis) -> Result<Provenance, BundleError> {
        if !(MIN_BUNDLE_VERSION..=BUNDLE_VERSION).contains(&self.version) {
            return Err(BundleError::Version(self.version));
        }
        match (self.version, &self.blocks) {
            (2, Some(_)) => {
                return Err(BundleError::Malformed(
                    "blocks: a version-2 bundle has no blocks member".into(),
                ))
            }
            (3, None) => {
                return Err(BundleError::Malformed(
                    "blocks: missing (required in version 3)".into(),
                ))
            }
            _ => {}
        }
        if self.head.chain != genesis.chain {
            return Err(BundleError::Chain {
                expected: genesis.chain.clone(),
                got: self.head.chain.clone(),
            });
        }
        let mut history = self
            .membership
            .verify(genesis, &self.head, &self.certificate)
            .map_err(|e| match e {
                MembershipError::Certificate(c) => BundleError::Certificate(c),
                e => BundleError::Membership(e),
            })?;
        // Every event's signature, verified as one batch; failures are reported in order below.
        let bad_signature = crate::keys::signature_failures(self.events.iter().map(|pe| &pe.event));
        // (log size, time) of the heads the proofs carry, in height order.
        let heads: Vec<(u64, u64)> = self
            .membership
            .transitions
            .iter()
            .map(|t| (t.head.log_size, t.head.time))
            .collect();
        let mut next = 0u64;
        for (pos, pe) in self.events.iter().enumerate() {
            if pe.index < next || pe.index >= self.head.log_size {
                return Err(BundleError::Order {
                    pos,
                    index: pe.index,
                });
            }
            next = pe.index + 1;
            if !about(&pe.event, &self.subject) {
                return Err(BundleError::Subject(pos));
            }
            // A membership event's admission depends on the validator set of its block, which
            // the bundle does not carry: it must be the membership proof's own event at that
            // index, which the proof checked in full (9d).
            if self.subject == Subject::Membership {
                let proven = self
                    .membership
                    .events
                    .binary_search_by_key(&pe.index, |pc| pc.index)
                    .ok()
                    .and_then(|i| self.membership.events.get(i));
                if proven.is_none_or(|pc| pc.event != pe.event) {
                    return Err(BundleError::NotInMembershipProof(pos));
                }
            }
            // Its block is at or before the bundle's head (or a transition head the membership
            // proof carries, if that comes first), whose time bounds the event's (section 6).
            let head_time = heads
                .iter()
                .find(|(size, _)| pe.index < *size)
                .map_or(self.head.time, |(_, time)| *time);
            if pe.event.body().time > head_time.saturating_add(MAX_EVENT_AHEAD_MS) {
                return Err(BundleError::FutureEvent {
                    pos,
                    time: pe.event.body().time,
                    head_time,
                });
            }
            history
                .at(pe.index)
                .authorize(pe.event.body())
                .map_err(|err| BundleError::Auth { pos, err })?;
            if bad_signature.get(pos).copied().unwrap_or(true) {
                return Err(BundleError::Event {
                    pos,
                    err: EventError::Signature(BadSignature),
                });
            }
            InclusionProof {
                index: pe.index,
                size: self.head.log_size,
                path: pe.proof.clone(),
            }
            .verify(&leaf_hash(&pe.event.leaf_data()), &self.head.log_root)
            .map_err(|err| BundleError::Inclusion { pos, err })?;
        }
        let found = self
            .index_proof
            .verify(&self.head.index_root, &self.subject.key())?;
        let proven = match found {
            Some(v) => v == self.index_entry.value_hash(),
            None => self.index_entry == IndexEntry::default(),
        };
        if !proven {
            return Err(BundleError::IndexEntry);
        }
        if self.index_entry.count != self.events.len() as u64 {
            return Err(BundleError::Incomplete {
                expected: self.index_entry.count,
                got: self.events.len(),
            });
        }
        let ids: Vec<Hash> = self.events.iter().map(|pe| pe.event.id()).collect();
        if IndexEntry::over(&ids) != self.index_entry {
            return Err(BundleError::Altered);
        }
        // The consignment's complete history keeps the party rule (8c). Roles never change
        // and organisations are never removed, so the membership at the head knows every
        // issuer's role at its event.
        let at_head = history.at(self.head.log_size);
        let (parties, customs) = if parties::applies(at_head) {
            let parties = match self.subject {
                Subject::Consignment(_) => {
                    parties::fold(at_head, self.events.iter().map(|pe| pe.event.body()))
                        .map_err(|(pos, err)| BundleError::Auth { pos, err })?
                }
                _ => Parties::new(),
            };
            let customs = at_head
                .orgs()
                .filter(|o| o.role == Role::Customs)
                .map(|o| o.id.clone())
                .collect();
            (parties, customs)
        } else {
            (Parties::new(), Parties::new())
        };
        // No source key twice in the subject's complete history (8e).
        if let Some((first, pos)) =
            crate::sources::first_repeat(self.events.iter().map(|pe| pe.event.body()))
        {
            return Err(BundleError::SameSource { pos, first });
        }
        // Every retraction names an earlier event of the same issuer and subjects, once (8g).
        let retracted = crate::retractions::verify_history(
            self.events
                .iter()
                .map(|pe| (pe.event.id(), pe.event.body())),
        )
        .map_err(|(pos, reason)| BundleError::Retraction { pos, reason })?
        .into_iter()
        .map(|(t, by)| (self.events[t].index, self.events[by].index))
        .collect();
        // Every risk outcome assesses advance data recorded before it (8i): both name the
        // consignment, so its complete history holds both.
        if let Subject::Consignment(_) = self.subject {
            if let Some(pos) = crate::advance::verify_history(
                self.events
                    .iter()
                    .map(|pe| (pe.event.id(), pe.event.body())),
            ) {
                return Err(BundleError::Outcome { pos });
            }
        }
        let rules = at_head.rules();
        let recorded = self.recorded(genesis, &history)?;
        Ok(Provenance {
            subject: self.subject.clone(),
            head: self.head.clone(),
            events: self
                .events
                .iter()
                .map(|pe| (pe.index, pe.event.clone()))
                .collect(),
            parties,
            customs,
            rules,
            recorded,
            retracted,
        })
    }

    /// Section 9 step 7: when each event was recorded, from the certified heads of its block
    /// and of the block before. Events are already checked in order and below the head.
    fn recorded(
        &self,
        genesis: &Genesis,
        history: &History,
    ) -> Result<Vec<Option<Recorded>>, BundleError> {
        let mut recorded = vec![None; self.events.len()];
        let blocks = self.blocks.as_deref().unwrap_or(&[]);
        if blocks.len() > self.events.len() {
            return Err(BundleError::Block {
                pos: self.events.len(),
                reason: format!("more blocks than the {} events", self.events.len()),
            });
        }
        let mut next_event = 0usize;
        let mut prev_height = 0u64;
        let mut prev_end = 0u64;
        for (pos, bp) in blocks.iter().enumerate() {
            let fail = |reason: String| BundleError::Block { pos, reason };
            let b = &bp.head;
            if b.chain != self.head.chain {
                return Err(fail(format!("head is for chain {:?}", b.chain)));
            }
            if b.height <= prev_height || b.height > self.head.height {
                return Err(fail(format!(
                    "height {} is not above the previous block's ({prev_height}) and at most the bundle head's ({})",
                    b.height, self.head.height
                )));
            }
            prev_height = b.height;
            if b.log_size > self.head.log_size {
                return Err(fail(format!(
                    "log_size {} is above the bundle head's {}",
                    b.log_size, self.head.log_size
                )));
            }
            if b.height == self.head.height && b != &self.head {
                return Err(fail(
                    "head differs from the bundle's head at its height".into(),
                ));
            }
            let first = match (&bp.prev, b.height) {
                (None, 1) if b.prev == genesis.hash() => 0,
                (None, 1) => return Err(fail("prev of height 1 is not the genesis hash".into())),
                (Some(_), 1) => return Err(fail("prev must be null at height 1".into())),
                (None, _) => return Err(fail("prev is missing".into())),
                (Some(p), _) => {
                    if p.height + 1 != b.height
                        || p.chain != b.chain
                        || p.hash() != b.prev
                        || p.time > b.time
                        || p.log_size > b.log_size
                    {
                        return Err(fail(
                            "prev is not the head before it (height, chain, hash, time or log_size)"
                                .into(),
                        ));
                    }
                    p.log_size
                }
            };
            if first < prev_end {
                return Err(fail(format!(
                    "starts at log position {first}, inside the previous block's (which ends at {prev_end})"
                )));
            }
            prev_end = b.log_size;
            bp.certificate
                .verify(b, history.validators_at(b.height))
                .map_err(|err| BundleError::BlockCertificate { pos, err })?;
            let mut holds = false;
            while let Some(pe) = self.events.get(next_event) {
                if pe.index >= b.log_size {
                    break;
                }
                if pe.index >= first {
                    let time = pe.event.body().time;
                    if time > b.time.saturating_add(MAX_EVENT_AHEAD_MS) {
                        return Err(BundleError::FutureEvent {
                            pos: next_event,
                            time,
                            head_time: b.time,
                        });
                    }
                    recorded[next_event] = Some(Recorded {
                        height: b.height,
                        time: b.time,
                    });
                    holds = true;
                }
                next_event += 1;
            }
            if !holds {
                return Err(fail("holds none of the bundle's events".into()));
            }
        }
        Ok(recorded)
    }
}

crate::wire::object_only!(ProvenEvent, BlockProof, ProofBundle);

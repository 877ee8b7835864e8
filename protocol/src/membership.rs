//! Membership changes recorded on the ledger (PROTOCOL.md 8a) and the membership proof that lets
//! a verifier holding only the genesis follow them (PROTOCOL.md 9d).
//!
//! A change is an event of kind `membership` whose body carries `{"seq", "change", "approvals"}`.
//! An organisation adds or revokes its own keys with its own signature; a new organisation, a
//! key change imposed on another organisation and a new validator set need approvals of more than
//! two thirds of the voting power of the validators in force. Key changes take effect at the next
//! log position; a new validator set certifies the heights after the block that records it.
//! Proofs made before a change stay verifiable: an event is checked against the membership in
//! force at its own log position.

use crate::event::{Event, EventError, EventKind};
use crate::hash::Hash;
use crate::head::{Certificate, CertificateError, Head, ValidatorSet, MAX_EVENT_AHEAD_MS};
use crate::index::{IndexEntry, IndexProof, IndexProofError, Subject};
use crate::keys::BadSignature;
pub use crate::members::{
    approval_message, approve, Approval, Change, ChangeError, MembershipBody, MAX_APPROVALS,
    MEMBERSHIP_DOMAIN,
};
use crate::merkle::{leaf_hash, InclusionProof, ProofError};
use crate::roles::{AuthError, Genesis, Membership};

/// Most membership events in one membership proof.
pub const MAX_MEMBERSHIP_EVENTS: usize = 100_000;
/// Most validator-set transitions in one membership proof.
pub const MAX_TRANSITIONS: usize = 10_000;

/// One step of the validator-set history: the certified head of a block that recorded a
/// `set_validators` change, with the membership subject's index entry at that head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Transition {
    /// The head of the block that recorded the change.
    pub head: Head,
    /// Its certificate, by the validators in force before the change.
    pub certificate: Certificate,
    /// The membership subject's entry at `head`.
    pub index_entry: IndexEntry,
    /// Its proof under `head.index_root`.
    pub index_proof: IndexProof,
}

/// A membership event with its log position and its inclusion path at the enclosing head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct ProvenChange {
    /// Log position.
    pub index: u64,
    /// The membership event.
    pub event: Event,
    /// Inclusion path in the tree of `head.log_size` leaves.
    pub proof: Vec<crate::hash::Hash>,
}

/// Everything a verifier holding only the genesis needs to know the membership and validator
/// set in force anywhere up to a head (PROTOCOL.md 9d).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct MembershipProof {
    /// Every block that changed the validator set, in height order.
    pub transitions: Vec<Transition>,
    /// Every membership event up to the head, in log order.
    pub events: Vec<ProvenChange>,
    /// The membership subject's entry at the head.
    pub index_entry: IndexEntry,
    /// Its proof under the head's index root.
    pub index_proof: IndexProof,
}

/// Why a membership proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    /// Too many events or transitions.
    #[error("membership: {0}")]
    Size(String),
    /// A transition's certificate does not certify its head under the validators in force.
    #[error("membership.transitions[{pos}]: certificate: {err}")]
    TransitionCertificate {
        /// Position.
        pos: usize,
        /// The failure.
        err: CertificateError,
    },
    /// Transitions out of order or not below the head.
    #[error("membership.transitions[{0}]: not in increasing height order below the head")]
    TransitionOrder(usize),
    /// A transition records no validator-set change.
    #[error("membership.transitions[{0}]: the block records no set_validators change")]
    NoChange(usize),
    /// A second `set_validators` change since the last transition (or the genesis): a block
    /// records at most one, so the block of the first lacks its transition.
    #[error("membership.events[{0}]: a second set_validators change since the previous transition: the block of the first has no transition")]
    MissingTransition(usize),
    /// A head the proof carries breaks a header rule of PROTOCOL.md section 6.
    #[error("{at}: {reason}")]
    Header {
        /// Which head: `head` or `membership.transitions[i].head`.
        at: String,
        /// The rule it breaks.
        reason: String,
    },
    /// An event's time is more than [`MAX_EVENT_AHEAD_MS`] after the time of a head at or
    /// after its block.
    #[error("membership.events[{pos}]: time {time} is more than {MAX_EVENT_AHEAD_MS} ms after the time {head_time} of a head at or after its block")]
    FutureEvent {
        /// Position.
        pos: usize,
        /// The event's time.
        time: u64,
        /// The head's time.
        head_time: u64,
    },
    /// An index proof is invalid or does not prove the entry.
    #[error("membership.{at}: index proof does not prove the membership entry")]
    Index {
        /// Where.
        at: String,
    },
    /// Malformed index proof.
    #[error("membership.{at}: {err}")]
    IndexProof {
        /// Where.
        at: String,
        /// The failure.
        err: IndexProofError,
    },
    /// Events are missing, extra or altered relative to a committed entry.
    #[error("membership.{at}: the events differ from the {count} the index commits to (omitted, added, altered or reordered)")]
    Incomplete {
        /// Where.
        at: String,
        /// The committed count.
        count: u64,
    },
    /// Events out of order, beyond the head, or in the wrong block.
    #[error("membership.events[{pos}]: log index {index} is out of order or outside its block")]
    Order {
        /// Position.
        pos: usize,
        /// Claimed index.
        index: u64,
    },
    /// An event is not a membership event.
    #[error("membership.events[{0}]: not a membership event")]
    NotMembership(usize),
    /// An event fails a structural or signature check.
    #[error("membership.events[{pos}]: {err}")]
    Event {
        /// Position.
        pos: usize,
        /// The failure.
        err: EventError,
    },
    /// An event's issuer was not permitted at its position.
    #[error("membership.events[{pos}]: {err}")]
    Auth {
        /// Position.
        pos: usize,
        /// The failure.
        err: AuthError,
    },
    /// The change was not allowed at its position.
    #[error("membership.events[{pos}]: {err}")]
    Change {
        /// Position.
        pos: usize,
        /// The failure.
        err: ChangeError,
    },
    /// An inclusion proof fails.
    #[error("membership.events[{pos}]: inclusion proof: {err}")]
    Inclusion {
        /// Position.
        pos: usize,
        /// The failure.
        err: ProofError,
    },
    /// The head's certificate does not certify it under the validators in force.
    #[error("certificate: {0}")]
    Certificate(CertificateError),
}

fn prove_entry(
    proof: &IndexProof,
    root: &Hash,
    key: &Hash,
    entry: &IndexEntry,
    at: &str,
) -> Result<(), MembershipError> {
    let found = proof
        .verify(root, key)
        .map_err(|err| MembershipError::IndexProof {
            at: at.to_owned(),
            err,
        })?;
    let ok = match found {
        Some(v) => v == entry.value_hash(),
        None => *entry == IndexEntry::default(),
    };
    if ok {
        Ok(())
    } else {
        Err(MembershipError::Index { at: at.to_owned() })
    }
}

/// The membership history a [`MembershipProof`] proves: walk it forward with [`History::at`].
#[derive(Debug, Clone)]
pub struct History {
    membership: Membership,
    changes: Vec<(u64, Change)>,
    next: usize,
    validators: ValidatorSet,
    /// `(first height, set)`: the set that certifies heads from that height up to the next
    /// entry's (the genesis set from height 1, each transition's set after its height).
    sets: Vec<(u64, ValidatorSet)>,
}

impl History {
    /// The membership in force at log position `index`. Positions must be asked for in
    /// non-decreasing order.
    pub fn at(&mut self, index: u64) -> &Membership {
        while let Some((i, c)) = self.changes.get(self.next) {
            if *i >= index {
                break;
            }
            self.membership.apply_change(c, *i);
            self.next += 1;
        }
        &self.membership
    }

    /// The validator set that certified the proof's head.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// The validator set that certifies heads at `height` (at most the proof's head's): the
    /// genesis set up to and including the first transition's height, then each transition's
    /// set from the height after it.
    pub fn validators_at(&self, height: u64) -> &ValidatorSet {
        self.sets
            .iter()
            .rev()
            .find(|(from, _)| *from <= height)
            .map_or(&self.validators, |(_, set)| set)
    }
}

impl MembershipProof {
    /// Verifies the proof for `head`, certified by `certificate`, from the genesis alone:
    /// every transition's certificate under the validators then in force, every membership
    /// event (signature, issuer and change rules at its position, inclusion under `head`),
    /// completeness at every transition and at `head`, and finally `certificate` under the
    /// validators in force at `head`. Returns the history, ready to answer "who could sign
    /// what" at any log position up to `head`.
    pub fn verify(
        &self,
        genesis: &Genesis,
        head: &Head,
        certificate: &Certificate,
    ) -> Result<History, MembershipError> {
        if self.events.len() > MAX_MEMBERSHIP_EVENTS || self.transitions.len() > MAX_TRANSITIONS {
            return Err(MembershipError::Size(format!(
                "at most {MAX_MEMBERSHIP_EVENTS} events and {MAX_TRANSITIONS} transitions"
            )));
        }
        let key = Subject::Membership.key();
        // Every event's signature, verified as one batch; failures are reported in order below.
        let bad_signature = crate::keys::signature_failures(self.events.iter().map(|pc| &pc.event));
        let mut membership = genesis.membership();
        let mut validators = genesis.validator_set().clone();
        let mut applied = 0usize;
        let mut prev_height = 0u64;
        let mut next_index = 0u64;
        let mut sets = vec![(1u64, validators.clone())];
        // Checks and applies events[applied..upto], all below `limit`, under `validators`.
        // `until` is the head that ends the step: every event is below its log size, and at
        // most MAX_EVENT_AHEAD_MS after its time (the event's block is at or before it). A
        // block records at most one `set_validators` change (8a), so a step holds at most one:
        // a second means a transition is missing between them.
        let mut advance = |upto: usize,
                           until: &Head,
                           membership: &mut Membership,
                           validators: &ValidatorSet,
                           applied: &mut usize|
         -> Result<Option<ValidatorSet>, MembershipError> {
            let mut new_set = None;
            for pos in *applied..upto {
                let pc = &self.events[pos];
                if pc.index < next_index || pc.index >= until.log_size {
                    return Err(MembershipError::Order {
                        pos,
                        index: pc.index,
                    });
                }
                next_index = pc.index + 1;
                let body = pc.event.body();
                let m = match (&body.kind, &body.membership) {
                    (EventKind::Membership, Some(m)) => m,
                    _ => return Err(MembershipError::NotMembership(pos)),
                };
                if body.time > until.time.saturating_add(MAX_EVENT_AHEAD_MS) {
                    return Err(MembershipError::FutureEvent {
                        pos,
                        time: body.time,
                        head_time: until.time,
                    });
                }
                if new_set.is_some() && matches!(m.change, Change::SetValidators { .. }) {
                    return Err(MembershipError::MissingTransition(pos));
                }
                membership
                    .authorize(body)
                    .map_err(|err| MembershipError::Auth { pos, err })?;
                if bad_signature.get(pos).copied().unwrap_or(true) {
                    return Err(MembershipError::Event {
                        pos,
                        err: EventError::Signature(BadSignature),
                    });
                }
                membership
                    .check_change(m, &body.issuer.org, validators, pos as u64 + 1)
                    .map_err(|err| MembershipError::Change { pos, err })?;
                InclusionProof {
                    index: pc.index,
                    size: head.log_size,
                    path: pc.proof.clone(),
                }
                .verify(&leaf_hash(&pc.event.leaf_data()), &head.log_root)
                .map_err(|err| MembershipError::Inclusion { pos, err })?;
                if let Some(set) = membership.apply_change(&m.change, pc.index) {
                    new_set = Some(set);
                }
            }
            *applied = upto;
            Ok(new_set)
        };
        let ids: Vec<Hash> = self.events.iter().map(|pc| pc.event.id()).collect();
        // Section 6's header rules over the heads the proof carries, in height order (the
        // transitions, then `head`): height from 1, `prev` of height 1 the genesis hash, time
        // never below the genesis time or an earlier head's, the log never shrinking.
        let genesis_hash = genesis.hash();
        let mut earlier = (genesis.time, 0u64);
        let mut header = |h: &Head, at: String| -> Result<(), MembershipError> {
            let reason = if h.height == 0 {
                "height is 0; heights start at 1".to_owned()
            } else if h.height == 1 && h.prev != genesis_hash {
                "prev of the head at height 1 is not the genesis hash".to_owned()
            } else if h.time < earlier.0 {
                format!(
                    "time {} is before {} (the genesis time or an earlier head's)",
                    h.time, earlier.0
                )
            } else if h.log_size < earlier.1 {
                format!(
                    "log_size {} is below an earlier head's {}",
                    h.log_size, earlier.1
                )
            } else {
                earlier = (h.time, h.log_size);
                return Ok(());
            };
            Err(MembershipError::Header { at, reason })
        };
        for (pos, t) in self.transitions.iter().enumerate() {
            if t.head.height <= prev_height
                || t.head.height >= head.height
                || t.head.chain != head.chain
            {
                return Err(MembershipError::TransitionOrder(pos));
            }
            prev_height = t.head.height;
            header(&t.head, format!("membership.transitions[{pos}].head"))?;
            t.certificate
                .verify(&t.head, &validators)
                .map_err(|err| MembershipError::TransitionCertificate { pos, err })?;
            let at = format!("transitions[{pos}]");
            prove_entry(
                &t.index_proof,
                &t.head.index_root,
                &key,
                &t.index_entry,
                &at,
            )?;
            let count = t.index_entry.count;
            if count < applied as u64
                || count > ids.len() as u64
                || IndexEntry::over(&ids[..count as usize]) != t.index_entry
            {
                return Err(MembershipError::Incomplete { at, count });
            }
            match advance(
                count as usize,
                &t.head,
                &mut membership,
                &validators,
                &mut applied,
            )? {
                Some(set) => {
                    sets.push((t.head.height + 1, set.clone()));
                    validators = set;
                }
                None => return Err(MembershipError::NoChange(pos)),
            }
        }
        header(head, "head".to_owned())?;
        // The rest happened under the validators now in force; none of them changed the set
        // before `head` (that would need a transition), but the block of `head` may record one
        // change, which only takes effect after `head`.
        advance(ids.len(), head, &mut membership, &validators, &mut applied)?;
        certificate
            .verify(head, &validators)
            .map_err(MembershipError::Certificate)?;
        prove_entry(
            &self.index_proof,
            &head.index_root,
            &key,
            &self.index_entry,
            "index_proof",
        )?;
        if IndexEntry::over(&ids) != self.index_entry {
            return Err(MembershipError::Incomplete {
                at: "index_entry".into(),
                count: self.index_entry.count,
            });
        }
        Ok(History {
            membership: genesis.membership(),
            changes: self
                .events
                .iter()
                .filter_map(|pc| {
                    Some((
                        pc.index,
                        pc.event.body().membership.as_ref()?.change.clone(),
                    ))
                })
                .collect(),
            next: 0,
            validators,
            sets,
        })
    }
}

crate::wire::object_only!(Transition, ProvenChange, MembershipProof);

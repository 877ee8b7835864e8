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

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventError, EventKind};
use crate::hash::Hash;
use crate::head::{Certificate, CertificateError, Head, ValidatorSet, MAX_EVENT_AHEAD_MS};
use crate::ids::OrgId;
use crate::index::{IndexEntry, IndexProof, IndexProofError, Subject};
use crate::jcs::{self, JcsError};
use crate::keys::{BadSignature, PublicKey, SecretKey, Signature};
use crate::merkle::{leaf_hash, InclusionProof, ProofError};
use crate::roles::{AuthError, Genesis, Membership, Organisation, MAX_KEYS_PER_ORG};

/// Domain of validator approvals of a membership change.
pub const MEMBERSHIP_DOMAIN: &[u8] = b"tradelog/membership/v1";
/// Most approvals on one change (one per validator).
pub const MAX_APPROVALS: usize = crate::head::MAX_VALIDATORS;
/// Most membership events in one membership proof.
pub const MAX_MEMBERSHIP_EVENTS: usize = 100_000;
/// Most validator-set transitions in one membership proof.
pub const MAX_TRANSITIONS: usize = 10_000;

/// What a membership event changes. JSON: an object with `"type"` and the members of its variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// `org` gains an event-signing key.
    AddKey {
        /// The organisation.
        org: OrgId,
        /// The new key; never used on this ledger before.
        key: PublicKey,
    },
    /// `org` loses an event-signing key; events it signed earlier stay valid.
    RevokeKey {
        /// The organisation.
        org: OrgId,
        /// One of its current keys; it keeps at least one other.
        key: PublicKey,
    },
    /// A new member organisation.
    AddOrganisation {
        /// The organisation, as in the genesis.
        organisation: Organisation,
    },
    /// The validator set of the heights after the block that records this change.
    SetValidators {
        /// The new set.
        validators: ValidatorSet,
    },
}

impl Change {
    /// The organisation whose own signature authorizes the change (key changes only).
    fn own_org(&self) -> Option<&OrgId> {
        match self {
            Change::AddKey { org, .. } | Change::RevokeKey { org, .. } => Some(org),
            _ => None,
        }
    }

    /// The snake_case `type`.
    pub fn name(&self) -> &'static str {
        match self {
            Change::AddKey { .. } => "add_key",
            Change::RevokeKey { .. } => "revoke_key",
            Change::AddOrganisation { .. } => "add_organisation",
            Change::SetValidators { .. } => "set_validators",
        }
    }
}

/// A validator's signature over [`approval_message`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Approval {
    /// The validator's consensus key.
    pub validator: PublicKey,
    /// Its signature.
    pub sig: Signature,
}

/// The `membership` member of a membership event's body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct MembershipBody {
    /// 1 + the number of membership events before this one in the log.
    pub seq: u64,
    /// The change.
    pub change: Change,
    /// Validator approvals (may be empty when the organisation changes its own keys).
    pub approvals: Vec<Approval>,
}

/// `"tradelog/membership/v1" || 0x00 || u8(len(chain)) || chain || u64(seq) || JCS(change)`.
pub fn approval_message(chain: &str, seq: u64, change: &Change) -> Result<Vec<u8>, JcsError> {
    let value = serde_json::to_value(change).unwrap_or_default();
    let canon = jcs::canonicalize(&value)?;
    let mut out = Vec::with_capacity(MEMBERSHIP_DOMAIN.len() + 10 + chain.len() + canon.len());
    out.extend_from_slice(MEMBERSHIP_DOMAIN);
    out.push(0);
    out.push(chain.len() as u8);
    out.extend_from_slice(chain.as_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&canon);
    Ok(out)
}

/// Signs an approval of `change` as validator `key` (for tools and tests).
pub fn approve(chain: &str, seq: u64, change: &Change, key: &SecretKey) -> Approval {
    let msg = approval_message(chain, seq, change).unwrap_or_default();
    Approval {
        validator: key.public(),
        sig: key.sign(&msg),
    }
}

/// Why a membership change is refused. Messages name the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The sequence number is not the next one.
    #[error("body.membership.seq: expected {expected}, got {got}")]
    Seq {
        /// The next sequence number.
        expected: u64,
        /// The event's.
        got: u64,
    },
    /// The organisation named is not a member.
    #[error("body.membership.change.org: {0} is not a member of this ledger")]
    UnknownOrg(OrgId),
    /// The organisation id is already taken.
    #[error("body.membership.change.organisation.id: {0} is already a member")]
    OrgExists(OrgId),
    /// A key was used on this ledger before (current or revoked, by any organisation).
    #[error("body.membership.change.{field}: key {key} was already used on this ledger")]
    KeyUsed {
        /// Which field.
        field: &'static str,
        /// Key, hex.
        key: String,
    },
    /// The key to revoke is not a current key of the organisation.
    #[error("body.membership.change.key: {key} is not a current key of {org}")]
    NotAKey {
        /// Organisation.
        org: OrgId,
        /// Key, hex.
        key: String,
    },
    /// The change would leave the organisation with no key or too many.
    #[error("body.membership.change: {org} must keep 1..={MAX_KEYS_PER_ORG} keys")]
    KeyCount {
        /// Organisation.
        org: OrgId,
    },
    /// A field of a new organisation is invalid.
    #[error("body.membership.change.organisation.{field}: {reason}")]
    Organisation {
        /// Field.
        field: &'static str,
        /// Problem.
        reason: String,
    },
    /// A validator of a new set runs for an organisation that is not a member.
    #[error("body.membership.change.validators: organisation {0} is not a member")]
    ValidatorOrg(OrgId),
    /// A block records at most one `set_validators` change.
    #[error("body.membership.change: the block already records a set_validators change (at most one per block)")]
    SetValidatorsTwice,
    /// Too many approvals.
    #[error("body.membership.approvals: at most {MAX_APPROVALS}, got {0}")]
    TooManyApprovals(usize),
    /// An approval is from a key that is not a validator in force.
    #[error("body.membership.approvals[{0}]: signer is not a validator in force")]
    NotAValidator(usize),
    /// A validator approved twice.
    #[error("body.membership.approvals[{0}]: validator approved twice")]
    DuplicateApproval(usize),
    /// An approval's signature does not verify.
    #[error("body.membership.approvals[{0}]: signature does not verify")]
    BadApproval(usize),
    /// Approvals carry too little voting power.
    #[error("body.membership.approvals: {signed} of {total} voting power approved, more than 2/3 is needed for {change}")]
    NoQuorum {
        /// Power that approved.
        signed: u64,
        /// Total power.
        total: u64,
        /// The change's type.
        change: &'static str,
    },
    /// The change has no canonical form.
    #[error("body.membership.change has no canonical form: {0}")]
    Canonical(#[from] JcsError),
}

impl Membership {
    /// Checks a membership event against this membership (the one in force at its log
    /// position), the validators in force for its block and the next sequence number.
    /// The event's own admission (structure, issuer, signature) is checked separately.
    pub fn check_change(
        &self,
        m: &MembershipBody,
        issuer_org: &OrgId,
        validators: &ValidatorSet,
        next_seq: u64,
    ) -> Result<(), ChangeError> {
        if m.seq != next_seq {
            return Err(ChangeError::Seq {
                expected: next_seq,
                got: m.seq,
            });
        }
        match &m.change {
            Change::AddKey { org, key } => {
                let o = self
                    .org(org)
                    .ok_or_else(|| ChangeError::UnknownOrg(org.clone()))?;
                if self.key_used(key) {
                    return Err(ChangeError::KeyUsed {
                        field: "key",
                        key: key.to_hex(),
                    });
                }
                if o.keys.len() >= MAX_KEYS_PER_ORG {
                    return Err(ChangeError::KeyCount { org: org.clone() });
                }
            }
            Change::RevokeKey { org, key } => {
                let o = self
                    .org(org)
                    .ok_or_else(|| ChangeError::UnknownOrg(org.clone()))?;
                if !o.keys.contains(key) {
                    return Err(ChangeError::NotAKey {
                        org: org.clone(),
                        key: key.to_hex(),
                    });
                }
                if o.keys.len() <= 1 {
                    return Err(ChangeError::KeyCount { org: org.clone() });
                }
            }
            Change::AddOrganisation { organisation } => {
                if self.org(&organisation.id).is_some() {
                    return Err(ChangeError::OrgExists(organisation.id.clone()));
                }
                organisation
                    .check()
                    .map_err(|(field, reason)| ChangeError::Organisation { field, reason })?;
                let mut seen = BTreeSet::new();
                for k in &organisation.keys {
                    if self.key_used(k) || !seen.insert(*k) {
                        return Err(ChangeError::KeyUsed {
                            field: "organisation.keys",
                            key: k.to_hex(),
                        });
                    }
                }
            }
            Change::SetValidators { validators: set } => {
                if let Some(v) = set.validators().iter().find(|v| self.org(&v.org).is_none()) {
                    return Err(ChangeError::ValidatorOrg(v.org.clone()));
                }
            }
        }
        // An organisation changes its own keys with its own signature; approvals, if any, must
        // still be valid (nothing unverified enters the log).
        let need_quorum = m.change.own_org() != Some(issuer_org);
        check_approvals(self.chain(), m, validators, need_quorum)
    }

    /// Applies a checked change, made by the membership event at log position `at`; returns
    /// the new validator set if the change sets one.
    pub fn apply_change(&mut self, change: &Change, at: u64) -> Option<ValidatorSet> {
        match change {
            Change::AddKey { org, key } => {
                self.add_key(org, *key);
                None
            }
            Change::RevokeKey { org, key } => {
                self.revoke_key(org, key, at);
                None
            }
            Change::AddOrganisation { organisation } => {
                self.add_org(organisation.clone());
                None
            }
            Change::SetValidators { validators } => Some(validators.clone()),
        }
    }
}

fn check_approvals(
    chain: &str,
    m: &MembershipBody,
    validators: &ValidatorSet,
    need_quorum: bool,
) -> Result<(), ChangeError> {
    if m.approvals.len() > MAX_APPROVALS {
        return Err(ChangeError::TooManyApprovals(m.approvals.len()));
    }
    let msg = approval_message(chain, m.seq, &m.change)?;
    let mut seen = BTreeSet::new();
    let mut power = 0u64;
    // Approvers are checked in order; the signatures before the first approver refused are
    // verified as one batch, and the first failure in approval order is reported.
    let mut refused = None;
    let mut items = Vec::with_capacity(m.approvals.len());
    for (i, a) in m.approvals.iter().enumerate() {
        let Some(v) = validators.get(&a.validator) else {
            refused = Some(ChangeError::NotAValidator(i));
            break;
        };
        if !seen.insert(a.validator) {
            refused = Some(ChangeError::DuplicateApproval(i));
            break;
        }
        items.push((&a.validator, msg.as_slice(), &a.sig));
        power += v.power;
    }
    if let Err(bad) = crate::keys::verify_batch(&items) {
        return Err(ChangeError::BadApproval(bad.first().copied().unwrap_or(0)));
    }
    if let Some(e) = refused {
        return Err(e);
    }
    if need_quorum && !validators.is_quorum(power) {
        return Err(ChangeError::NoQuorum {
            signed: power,
            total: validators.total_power(),
            change: m.change.name(),
        });
    }
    Ok(())
}

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

crate::wire::object_only!(
    Approval,
    MembershipBody,
    Transition,
    ProvenChange,
    MembershipProof
);

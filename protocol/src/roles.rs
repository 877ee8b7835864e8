//! Roles, the permission table, the genesis document and the membership it starts.

use std::collections::{BTreeMap, BTreeSet};

use crate::event::{EventBody, EventKind};
use crate::hash::Hash;
use crate::head::{ValidatorSet, ValidatorSetError};
use crate::ids::is_chain_id;
use crate::ids::OrgId;
use crate::jcs::{self, JcsError};
use crate::keys::PublicKey;
use crate::members::{approval_message, Change, ChangeError, MembershipBody, MAX_APPROVALS};
pub use crate::members::{is_display_control, Organisation, Role};

/// Domain of the genesis hash.
pub const GENESIS_DOMAIN: &[u8] = b"tradelog/genesis/v1";
/// Most organisations in a genesis document.
pub const MAX_ORGANISATIONS: usize = 4096;
pub use crate::members::MAX_KEYS_PER_ORG;

impl Role {
    /// The permission table: may an organisation of this role issue `kind`?
    pub fn may_issue(self, kind: EventKind) -> bool {
        use EventKind::*;
        if kind == Membership {
            // Any member changes its own keys; other changes need validator approvals.
            return true;
        }
        match self {
            Role::Customs => matches!(
                kind,
                Inspected
                    | Held
                    | Released
                    | Seized
                    | DocumentAnchored
                    | Linked
                    | Retracted
                    | AeoStatus
                    | Mra
                    | RiskCleared
                    | RiskInformationRequested
                    | RiskReferred
                    | RiskDoNotLoad
            ),
            Role::Carrier => matches!(
                kind,
                Booked
                    | Declared
                    | Loaded
                    | Departed
                    | Arrived
                    | Discharged
                    | GateIn
                    | GateOut
                    | Transshipped
                    | Packed
                    | Unpacked
                    | Delivered
                    | DocumentAnchored
                    | Linked
                    | Retracted
                    | AdvanceData
            ),
            Role::Platform => matches!(
                kind,
                Booked
                    | Declared
                    | Packed
                    | Unpacked
                    | Delivered
                    | DocumentAnchored
                    | Linked
                    | Retracted
                    | AdvanceData
            ),
            Role::Auditor => false,
        }
    }
}

/// The genesis document: chain id, members and validators. Its hash identifies the chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Genesis {
    /// Chain id, `[a-z0-9-]{1,64}`.
    pub chain: String,
    /// Genesis time, milliseconds since 1970.
    pub time: u64,
    /// Member organisations.
    pub organisations: Vec<Organisation>,
    /// Validators of height 1.
    pub validators: ValidatorSet,
    /// The admission rules in force (PROTOCOL.md 8): absent for rules 1 (the rules of every
    /// chain made before rules 2, whose genesis hash this keeps unchanged), `2` for consignment
    /// parties (section 8c).
    #[serde(
        default,
        deserialize_with = "crate::event::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub rules: Option<u32>,
}

/// The newest admission rules, written by `tradelog-node genesis` and the devnet.
pub const RULES: u32 = 2;

/// Why a genesis document is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// Bad chain id.
    #[error("chain: must be 1-64 characters of a-z, 0-9, '-'")]
    Chain,
    /// Too many or no organisations.
    #[error("organisations: 1..={MAX_ORGANISATIONS} required, got {0}")]
    Organisations(usize),
    /// Organisation id used twice.
    #[error("organisations: id {0} appears twice")]
    DuplicateOrg(OrgId),
    /// A key is listed twice.
    #[error("organisations: key {0} appears twice")]
    DuplicateKey(String),
    /// A field of an organisation is invalid.
    #[error("organisations[{org}].{field}: {reason}")]
    Org {
        /// Organisation id.
        org: OrgId,
        /// Field.
        field: &'static str,
        /// Problem.
        reason: String,
    },
    /// Validator runs for an unknown organisation.
    #[error("validators: organisation {0} is not a member")]
    ValidatorOrg(OrgId),
    /// Validator set invalid.
    #[error("validators: {0}")]
    Validators(#[from] ValidatorSetError),
    /// No canonical form.
    #[error("genesis has no canonical form: {0}")]
    Canonical(#[from] JcsError),
    /// Unknown rules version.
    #[error("rules: {0} is not a rules version of this implementation (omit it for 1, or 2)")]
    Rules(u32),
}

/// Why an event's issuer may not issue it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The organisation is not a member.
    #[error("body.issuer.org: {0} is not a member of this ledger")]
    UnknownOrg(OrgId),
    /// The key is not one of the organisation's keys.
    #[error("body.issuer.key: {key} is not a key of {org}")]
    UnknownKey {
        /// Organisation.
        org: OrgId,
        /// Key used, hex.
        key: String,
    },
    /// The key was one of the organisation's keys until a `revoke_key` change.
    #[error("body.issuer.key: {key} of {org} was revoked at log index {at}")]
    RevokedKey {
        /// Organisation.
        org: OrgId,
        /// Key used, hex.
        key: String,
        /// Log position of the membership event that revoked it (it binds the next position).
        at: u64,
    },
    /// The role does not permit the kind.
    #[error("body.kind: a {role} organisation ({org}) may not issue {kind} events")]
    Forbidden {
        /// Organisation.
        org: OrgId,
        /// Its role.
        role: &'static str,
        /// The kind it tried.
        kind: &'static str,
    },
    /// A carrier's `linked` event names another carrier's transport document or booking (8f).
    #[error("body.ids: {id}: a carrier links only its own transport documents and bookings ({org} is not its carrier)")]
    NotOwnDocument {
        /// The issuing carrier.
        org: OrgId,
        /// The identifier of another carrier.
        id: crate::ids::TradeId,
    },
    /// A `linked` event without a `ucr` by an organisation that is not a carrier (8f).
    #[error("body.ucr: a {role} organisation ({org}) links trade identifiers to a consignment's UCR; a link of identifiers alone is their carrier's")]
    LinkWithoutUcr {
        /// The issuer.
        org: OrgId,
        /// Its role.
        role: &'static str,
    },
    /// An `aeo_status` record's holder is not a carrier or platform member (8h).
    #[error("body.aeo.holder: {holder}: {reason}")]
    AeoHolder {
        /// The holder named.
        holder: OrgId,
        /// What is wrong.
        reason: String,
    },
    /// An `mra` record's partner is not another customs administration (8h).
    #[error("body.mra.partner: {partner}: {reason}")]
    MraPartner {
        /// The partner named.
        partner: OrgId,
        /// What is wrong.
        reason: String,
    },
    /// An arrangement in force lacks a valid countersignature by the partner (8h).
    #[error("body.mra.approval: {reason}; an arrangement is in force only when both administrations sign its terms")]
    MraApproval {
        /// What is wrong.
        reason: String,
    },
    /// The event is for another chain.
    #[error("body.chain: event is for chain {got:?}, this ledger is {expected:?}")]
    WrongChain {
        /// This ledger's chain id.
        expected: String,
        /// The event's.
        got: String,
    },
    /// `parties` on a ledger whose rules have no consignment parties.
    #[error("body.parties: this ledger's rules ({0}) have no consignment parties")]
    PartiesUnsupported(u32),
    /// A named party is not a member.
    #[error("body.parties: {0} is not a member of this ledger")]
    UnknownParty(OrgId),
    /// The issuer is not a party of the consignment (section 8c).
    #[error("body.issuer.org: {org} is not a party of consignment {ucr} (its parties: {parties}); a party or customs must name it in `parties` first")]
    NotAParty {
        /// The issuer.
        org: OrgId,
        /// The consignment.
        ucr: String,
        /// The consignment's parties, comma-separated.
        parties: String,
    },
}

impl Genesis {
    /// Checks every rule of the genesis document.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if !is_chain_id(&self.chain) {
            return Err(GenesisError::Chain);
        }
        let n = self.organisations.len();
        if n == 0 || n > MAX_ORGANISATIONS {
            return Err(GenesisError::Organisations(n));
        }
        let mut ids = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for o in &self.organisations {
            if !ids.insert(&o.id) {
                return Err(GenesisError::DuplicateOrg(o.id.clone()));
            }
            o.check().map_err(|(field, reason)| GenesisError::Org {
                org: o.id.clone(),
                field,
                reason,
            })?;
            for k in &o.keys {
                if !keys.insert(*k) {
                    return Err(GenesisError::DuplicateKey(k.to_hex()));
                }
            }
        }
        if let Some(r) = self.rules.filter(|r| !(1..=RULES).contains(r)) {
            return Err(GenesisError::Rules(r));
        }
        if let Some(v) = self
            .validators
            .validators()
            .iter()
            .find(|v| !ids.contains(&v.org))
        {
            return Err(GenesisError::ValidatorOrg(v.org.clone()));
        }
        jcs::canonicalize(&serde_json::to_value(self).unwrap_or_default())?;
        Ok(())
    }

    /// Parses and validates a genesis document.
    pub fn from_json(bytes: &[u8]) -> Result<Genesis, String> {
        let g: Genesis = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        g.validate().map_err(|e| e.to_string())?;
        Ok(g)
    }

    /// `BLAKE3("tradelog/genesis/v1" || 0x00 || JCS(genesis))`: the parent of the first head.
    pub fn hash(&self) -> Hash {
        let canon =
            jcs::canonicalize(&serde_json::to_value(self).unwrap_or_default()).unwrap_or_default();
        Hash::domain(GENESIS_DOMAIN, &[&canon])
    }

    /// The validator set of height 1.
    pub fn validator_set(&self) -> &ValidatorSet {
        &self.validators
    }

    /// The admission rules in force: 1 when the genesis names none.
    pub fn rules(&self) -> u32 {
        self.rules.unwrap_or(1)
    }

    /// The membership the genesis starts.
    pub fn membership(&self) -> Membership {
        let mut m = Membership {
            chain: self.chain.clone(),
            rules: self.rules(),
            orgs: BTreeMap::new(),
            used: BTreeSet::new(),
            revoked: BTreeMap::new(),
        };
        for o in &self.organisations {
            m.add_org(o.clone());
        }
        m
    }
}

/// Who may issue what: the organisations and their keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    chain: String,
    /// The genesis's admission rules.
    rules: u32,
    orgs: BTreeMap<OrgId, Organisation>,
    /// Every event key ever listed, revoked ones included: a key is never reused.
    used: BTreeSet<PublicKey>,
    /// Revoked keys: the organisation and the log position of the change that revoked each.
    revoked: BTreeMap<PublicKey, (OrgId, u64)>,
}

impl Membership {
    /// The chain id.
    pub fn chain(&self) -> &str {
        &self.chain
    }

    /// The admission rules in force (the genesis's).
    pub fn rules(&self) -> u32 {
        self.rules
    }

    /// An organisation by id.
    pub fn org(&self, id: &OrgId) -> Option<&Organisation> {
        self.orgs.get(id)
    }

    /// The member organisations, by id.
    pub fn orgs(&self) -> impl Iterator<Item = &Organisation> {
        self.orgs.values()
    }

    /// True if `key` was ever an event key on this ledger (current or revoked).
    pub fn key_used(&self, key: &PublicKey) -> bool {
        self.used.contains(key)
    }

    pub(crate) fn add_org(&mut self, org: Organisation) {
        self.used.extend(org.keys.iter().copied());
        self.orgs.insert(org.id.clone(), org);
    }

    pub(crate) fn add_key(&mut self, org: &OrgId, key: PublicKey) {
        if let Some(o) = self.orgs.get_mut(org) {
            o.keys.push(key);
            self.used.insert(key);
        }
    }

    /// Revokes `key` of `org` by the membership event at log position `at`.
    pub(crate) fn revoke_key(&mut self, org: &OrgId, key: &PublicKey, at: u64) {
        if let Some(o) = self.orgs.get_mut(org) {
            o.keys.retain(|k| k != key);
            self.revoked.insert(*key, (org.clone(), at));
        }
    }

    /// The revoked keys, each with its organisation and the log position of the membership
    /// event that revoked it.
    pub fn revoked(&self) -> impl Iterator<Item = (&PublicKey, &OrgId, u64)> {
        self.revoked.iter().map(|(k, (o, at))| (k, o, *at))
    }

    /// Checks chain id, issuer organisation, key and role permission (not the signature).
    pub fn authorize(&self, body: &EventBody) -> Result<(), AuthError> {
        if body.chain != self.chain {
            return Err(AuthError::WrongChain {
                expected: self.chain.clone(),
                got: body.chain.clone(),
            });
        }
        let org = self
            .orgs
            .get(&body.issuer.org)
            .ok_or_else(|| AuthError::UnknownOrg(body.issuer.org.clone()))?;
        if !org.keys.contains(&body.issuer.key) {
            if let Some((_, at)) = self
                .revoked
                .get(&body.issuer.key)
                .filter(|(o, _)| *o == org.id)
            {
                return Err(AuthError::RevokedKey {
                    org: org.id.clone(),
                    key: body.issuer.key.to_hex(),
                    at: *at,
                });
            }
            return Err(AuthError::UnknownKey {
                org: org.id.clone(),
                key: body.issuer.key.to_hex(),
            });
        }
        if !org.role.may_issue(body.kind) {
            return Err(AuthError::Forbidden {
                org: org.id.clone(),
                role: org.role.as_str(),
                kind: body.kind.as_str(),
            });
        }
        if body.kind == EventKind::Linked && org.role == Role::Carrier {
            if let Some(t) = body.ids.iter().flatten().find(|t| {
                t.carrier()
                    .is_some_and(|carrier| carrier != body.issuer.org.as_str())
            }) {
                return Err(AuthError::NotOwnDocument {
                    org: org.id.clone(),
                    id: t.clone(),
                });
            }
        }
        if body.kind == EventKind::Linked && body.ucr.is_none() && org.role != Role::Carrier {
            // Without a UCR (whose party rule guards it) a link joins documents only their
            // carrier may vouch for: another organisation could otherwise merge any carrier's
            // histories, or grow a group past its limit.
            return Err(AuthError::LinkWithoutUcr {
                org: org.id.clone(),
                role: org.role.as_str(),
            });
        }
        self.authorize_organisation_record(body)?;
        if let Some(parties) = &body.parties {
            if self.rules < 2 {
                return Err(AuthError::PartiesUnsupported(self.rules));
            }
            if let Some(p) = parties.iter().find(|p| !self.orgs.contains_key(*p)) {
                return Err(AuthError::UnknownParty(p.clone()));
            }
        }
        Ok(())
    }
}

impl Membership {
    /// 8h: an AEO record's holder is a carrier or platform member; an arrangement's partner is
    /// another customs member whose current key countersigns its terms when in force.
    fn authorize_organisation_record(&self, body: &EventBody) -> Result<(), AuthError> {
        if let Some(r) = &body.aeo {
            let role = self.orgs.get(&r.holder).map(|o| o.role);
            if !matches!(role, Some(Role::Carrier | Role::Platform)) {
                return Err(AuthError::AeoHolder {
                    holder: r.holder.clone(),
                    reason: match role {
                        None => "not a member of this ledger".into(),
                        Some(role) => format!(
                            "a {} organisation holds no AEO authorisation (carriers and platforms do)",
                            role.as_str()
                        ),
                    },
                });
            }
        }
        let Some(m) = &body.mra else {
            return Ok(());
        };
        let partner = self.orgs.get(&m.partner);
        let reason = match partner.map(|o| o.role) {
            _ if m.partner == body.issuer.org => {
                Some("an administration's arrangement is with another one".to_string())
            }
            None => Some("not a member of this ledger".into()),
            Some(Role::Customs) => None,
            Some(role) => Some(format!(
                "a {} organisation is not a customs administration",
                role.as_str()
            )),
        };
        if let Some(reason) = reason {
            return Err(AuthError::MraPartner {
                partner: m.partner.clone(),
                reason,
            });
        }
        if let (Some(a), Some(p)) = (&m.approval, partner) {
            if !p.keys.contains(&a.key) {
                return Err(AuthError::MraApproval {
                    reason: format!("key {} is not a current key of {}", a.key.to_hex(), p.id),
                });
            }
            if !crate::aeo::approval_verifies(&body.chain, &body.issuer.org, m) {
                return Err(AuthError::MraApproval {
                    reason: format!("the signature of {} does not verify over the terms", p.id),
                });
            }
        }
        Ok(())
    }

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

crate::wire::object_only!(Genesis);

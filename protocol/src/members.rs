//! The membership data a ledger records (PROTOCOL.md 8, 8a): organisations and their roles, and
//! the changes a `membership` event carries with their validator approvals. Data only, a leaf of
//! the module graph (it depends on identifiers, keys, validator sets and JCS, never on events):
//! the rules that admit a change live with the membership they change ([`crate::roles`]), the
//! proofs that follow changes in [`crate::membership`].

use serde::{Deserialize, Serialize};

use crate::head::ValidatorSet;
use crate::ids::OrgId;
use crate::jcs::{self, JcsError};
use crate::keys::{PublicKey, SecretKey, Signature};

/// Most keys of one organisation.
pub const MAX_KEYS_PER_ORG: usize = 16;

/// Domain of validator approvals of a membership change.
pub const MEMBERSHIP_DOMAIN: &[u8] = b"tradelog/membership/v1";
/// Most approvals on one change (one per validator).
pub const MAX_APPROVALS: usize = crate::head::MAX_VALIDATORS;

/// What an organisation is on the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A customs administration.
    Customs,
    /// A carrier (shipping line, airline, haulier, rail operator) or terminal.
    Carrier,
    /// An e-commerce platform, forwarder or declarant.
    Platform,
    /// An auditor: reads and verifies, issues nothing.
    Auditor,
}

impl Role {
    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customs => "customs",
            Role::Carrier => "carrier",
            Role::Platform => "platform",
            Role::Auditor => "auditor",
        }
    }
}

/// A member organisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Organisation {
    /// Ledger id.
    pub id: OrgId,
    /// Display name, 1-128 characters, none a control character.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Event-signing keys (1-16).
    pub keys: Vec<PublicKey>,
}

impl Organisation {
    /// Checks name and key count; on failure names the field and the problem.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.name.is_empty() || self.name.chars().count() > 128 {
            return Err(("name", "1-128 characters".into()));
        }
        // Names are shown to people (CLI, explorer): no control characters (Unicode Cc), which
        // move a terminal's cursor or forge lines, and no bidirectional embedding, override or
        // isolate, which reorder what is displayed (PROTOCOL.md 8).
        if let Some(c) = self.name.chars().find(|&c| is_display_control(c)) {
            return Err((
                "name",
                format!("control character U+{:04X} is not allowed", u32::from(c)),
            ));
        }
        if self.keys.is_empty() || self.keys.len() > MAX_KEYS_PER_ORG {
            return Err(("keys", format!("1-{MAX_KEYS_PER_ORG} keys")));
        }
        Ok(())
    }
}

/// A character refused in names: a control character (general category Cc, U+0000-U+001F and
/// U+007F-U+009F) or a bidirectional embedding, override or isolate (U+202A-U+202E,
/// U+2066-U+2069).
pub fn is_display_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

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
    pub(crate) fn own_org(&self) -> Option<&OrgId> {
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

crate::wire::object_only!(Organisation, Approval, MembershipBody);

//! Authorised Economic Operator status and mutual recognition on the ledger (PROTOCOL.md 8h):
//! the `aeo` member of an `aeo_status` event (a customs administration grants, suspends or
//! revokes an organisation's authorisation in its programme), the `mra` member of an `mra`
//! event (two administrations recognise each other's authorisations: one records the
//! arrangement, the other's key countersigns the same terms). Data and its rules only, a leaf
//! of the module graph; [`crate::recognition`] answers from these records "did organisation X
//! hold an AEO status recognised by administration Y at time T". Pure: no I/O.

use serde::{Deserialize, Serialize};

use crate::ids::OrgId;
use crate::jcs::{self, JcsError};
use crate::keys::{PublicKey, SecretKey, Signature};

/// Domain of the partner's countersignature of an arrangement's terms.
pub const MRA_DOMAIN: &[u8] = b"tradelog/mra/v1";

/// The kind of authorisation (after the EU's AEOC / AEOS, the SAFE Framework's pillars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AeoType {
    /// Customs simplifications (AEOC).
    CustomsSimplifications,
    /// Security and safety (AEOS), the type mutual recognition arrangements usually cover.
    SecuritySafety,
}

impl AeoType {
    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AeoType::CustomsSimplifications => "customs_simplifications",
            AeoType::SecuritySafety => "security_safety",
        }
    }
}

/// What an `aeo_status` record says of the authorisation from `from` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AeoStatus {
    /// Authorised for `types`, from `from` until `until` (if given).
    Granted,
    /// Suspended from `from` on, until a later-recorded grant.
    Suspended,
    /// Revoked from `from` on.
    Revoked,
}

/// The `aeo` member of an `aeo_status` event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct AeoRecord {
    /// The authorised organisation: a carrier or platform member.
    pub holder: OrgId,
    /// The issuing administration's programme, `[a-z0-9_]{1,32}` (`eu_aeo`, `ctpat`).
    pub programme: String,
    /// The authorisation number, 1-35 characters of `A-Z 0-9 - . /`.
    pub authorisation: String,
    /// Granted, suspended or revoked.
    pub status: AeoStatus,
    /// The authorised types, ascending, each once: present exactly when granted.
    #[serde(
        default,
        deserialize_with = "crate::wire::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub types: Option<Vec<AeoType>>,
    /// From when the record applies, ms since 1970.
    pub from: u64,
    /// End of a grant's validity (exclusive), after `from`; only when granted.
    #[serde(
        default,
        deserialize_with = "crate::wire::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<u64>,
}

/// Whether an arrangement is in force from `from` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MraStatus {
    /// Both administrations recognise each other's authorisations of `types`.
    InForce,
    /// Either administration ends the arrangement (alone: an arrangement ends on one side's
    /// notice).
    Terminated,
}

/// The partner administration's countersignature of the terms (8h).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct MraApproval {
    /// One of the partner's event-signing keys.
    pub key: PublicKey,
    /// Its signature over [`terms_message`].
    pub sig: Signature,
}

/// The `mra` member of an `mra` event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct MraRecord {
    /// The other administration: a customs member, not the issuer.
    pub partner: OrgId,
    /// In force or terminated.
    pub status: MraStatus,
    /// From when, ms since 1970.
    pub from: u64,
    /// The authorisation types recognised, ascending, each once: present exactly when in force.
    #[serde(
        default,
        deserialize_with = "crate::wire::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub types: Option<Vec<AeoType>>,
    /// The partner's countersignature: present exactly when in force.
    #[serde(
        default,
        deserialize_with = "crate::wire::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub approval: Option<MraApproval>,
}

crate::wire::object_only!(AeoRecord, MraApproval, MraRecord);

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn is_reference(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 35
        && s.bytes().all(|c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'/')
        })
}

fn check_types(types: &[AeoType], field: &'static str) -> Result<(), (&'static str, String)> {
    if types.is_empty() || types.windows(2).any(|w| w[0] >= w[1]) {
        return Err((field, "1 or 2 types, ascending, each once".into()));
    }
    Ok(())
}

impl AeoRecord {
    /// The member's structural rules; on failure the field (under `aeo.`) and the problem.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !is_code(&self.programme) {
            return Err(("aeo.programme", "1-32 characters of a-z, 0-9, '_'".into()));
        }
        if !is_reference(&self.authorisation) {
            return Err((
                "aeo.authorisation",
                "1-35 characters of A-Z, 0-9, '-', '.', '/'".into(),
            ));
        }
        if self.from > jcs::MAX_SAFE_INTEGER {
            return Err(("aeo.from", "ms since 1970 in 0..=2^53-1".into()));
        }
        match (self.status, &self.types, self.until) {
            (AeoStatus::Granted, None, _) => {
                return Err(("aeo.types", "required when granted".into()))
            }
            (AeoStatus::Granted, Some(t), until) => {
                check_types(t, "aeo.types")?;
                if let Some(u) = until {
                    if u <= self.from || u > jcs::MAX_SAFE_INTEGER {
                        return Err(("aeo.until", "after from, at most 2^53-1".into()));
                    }
                }
            }
            (_, Some(_), _) => {
                return Err(("aeo.types", "only when granted".into()));
            }
            (_, None, Some(_)) => return Err(("aeo.until", "only when granted".into())),
            (_, None, None) => {}
        }
        Ok(())
    }
}

impl MraRecord {
    /// The member's structural rules; on failure the field (under `mra.`) and the problem.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.from > jcs::MAX_SAFE_INTEGER {
            return Err(("mra.from", "ms since 1970 in 0..=2^53-1".into()));
        }
        match (self.status, &self.types, &self.approval) {
            (MraStatus::InForce, None, _) => Err(("mra.types", "required when in force".into())),
            (MraStatus::InForce, Some(_), None) => Err((
                "mra.approval",
                "an arrangement in force needs the partner administration's countersignature"
                    .into(),
            )),
            (MraStatus::InForce, Some(t), Some(_)) => check_types(t, "mra.types"),
            (MraStatus::Terminated, Some(_), _) => Err(("mra.types", "only when in force".into())),
            (MraStatus::Terminated, None, Some(_)) => Err((
                "mra.approval",
                "a termination is one administration's notice: no countersignature".into(),
            )),
            (MraStatus::Terminated, None, None) => Ok(()),
        }
    }
}

/// `"tradelog/mra/v1" || 0x00 || JCS({"chain", "from", "issuer", "partner", "types"})`: the
/// terms both administrations sign (the issuer by signing the event, the partner here).
pub fn terms_message(
    chain: &str,
    issuer: &OrgId,
    partner: &OrgId,
    from: u64,
    types: &[AeoType],
) -> Result<Vec<u8>, JcsError> {
    let value = serde_json::json!({
        "chain": chain,
        "from": from,
        "issuer": issuer,
        "partner": partner,
        "types": types,
    });
    let canon = jcs::canonicalize(&value)?;
    let mut out = Vec::with_capacity(MRA_DOMAIN.len() + 1 + canon.len());
    out.extend_from_slice(MRA_DOMAIN);
    out.push(0);
    out.extend_from_slice(&canon);
    Ok(out)
}

/// The partner's countersignature of the terms, made with `key` (for tools and tests).
pub fn countersign(
    chain: &str,
    issuer: &OrgId,
    partner: &OrgId,
    from: u64,
    types: &[AeoType],
    key: &SecretKey,
) -> Result<MraApproval, JcsError> {
    let msg = terms_message(chain, issuer, partner, from, types)?;
    Ok(MraApproval {
        key: key.public(),
        sig: key.sign(&msg),
    })
}

/// True if an arrangement's countersignature verifies over its terms as `issuer` records them
/// on `chain` (the caller checks that the key is the partner's).
pub fn approval_verifies(chain: &str, issuer: &OrgId, m: &MraRecord) -> bool {
    let (Some(types), Some(a)) = (&m.types, &m.approval) else {
        return false;
    };
    terms_message(chain, issuer, &m.partner, m.from, types)
        .is_ok_and(|msg| a.key.verify(&msg, &a.sig).is_ok())
}

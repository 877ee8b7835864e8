//! The ledger head (block header), the validator set and the quorum certificate over a head.
//!
//! Head bytes (all integers big-endian):
//! `"tradelog/head/v1" || 0x00 || len(chain) (u8) || chain || height (u64) || time (u64) ||
//! prev (32) || log_size (u64) || log_root (32) || index_root (32) || validators (32)`;
//! the head hash is BLAKE3 of those bytes. A validator's precommit signs
//! `"tradelog/precommit/v1" || 0x00 || len(chain) (u8) || chain || height (u64) || round (u32) ||
//! head hash (32)`, and a certificate holds precommits of more than 2/3 of the voting power.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::ids::is_chain_id;
use crate::ids::OrgId;
use crate::keys::{PublicKey, SecretKey, Signature};

/// Domain of head hashes.
pub const HEAD_DOMAIN: &[u8] = b"tradelog/head/v1";
/// Domain of precommit signatures.
pub const PRECOMMIT_DOMAIN: &[u8] = b"tradelog/precommit/v1";
/// Domain of prevote signatures.
pub const PREVOTE_DOMAIN: &[u8] = b"tradelog/prevote/v1";
/// Domain of consensus proposal signatures.
pub const PROPOSAL_DOMAIN: &[u8] = b"tradelog/proposal/v1";
/// Domain of the validator-set hash.
pub const VALIDATORS_DOMAIN: &[u8] = b"tradelog/validators/v1";
/// Most validators in a set.
pub const MAX_VALIDATORS: usize = 256;
/// How far an event's time may lie after its block's time (10 minutes, PROTOCOL.md section 6).
pub const MAX_EVENT_AHEAD_MS: u64 = 600_000;

/// A ledger head: the header of the block at `height`, committing to the whole log and index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Head {
    /// Chain id.
    pub chain: String,
    /// Block height, from 1.
    pub height: u64,
    /// Proposer's block time, milliseconds since 1970.
    pub time: u64,
    /// Hash of the previous head; the genesis hash at height 1.
    pub prev: Hash,
    /// Leaves in the log after this block.
    pub log_size: u64,
    /// Log root at `log_size`.
    pub log_root: Hash,
    /// Subject index root after this block.
    pub index_root: Hash,
    /// Hash of the validator set that certifies this head.
    pub validators: Hash,
}

impl Head {
    /// The exact bytes hashed into the head hash.
    pub fn encode(&self) -> Vec<u8> {
        let chain = self.chain.as_bytes();
        let mut out = Vec::with_capacity(HEAD_DOMAIN.len() + 2 + chain.len() + 8 * 3 + 32 * 4);
        out.extend_from_slice(HEAD_DOMAIN);
        out.push(0);
        out.push(chain.len() as u8);
        out.extend_from_slice(chain);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.time.to_be_bytes());
        out.extend_from_slice(self.prev.as_bytes());
        out.extend_from_slice(&self.log_size.to_be_bytes());
        out.extend_from_slice(self.log_root.as_bytes());
        out.extend_from_slice(self.index_root.as_bytes());
        out.extend_from_slice(self.validators.as_bytes());
        out
    }

    /// BLAKE3 of [`Head::encode`]: the value validators vote on.
    pub fn hash(&self) -> Hash {
        Hash::of(&[&self.encode()])
    }
}

/// A consensus validator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Validator {
    /// Organisation that runs it.
    pub org: OrgId,
    /// Consensus key.
    pub key: PublicKey,
    /// Voting power, at least 1.
    pub power: u64,
}

/// Why a validator set is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    /// No validators, or more than the maximum.
    #[error("a validator set has 1..={MAX_VALIDATORS} validators, got {0}")]
    Size(usize),
    /// A key appears twice.
    #[error("validator key {0} appears twice")]
    DuplicateKey(String),
    /// Power 0, or a total beyond 2^53-1.
    #[error("validator power must be >= 1 and the total at most 2^53-1")]
    Power,
}

/// The validators of a height, sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Validator>", into = "Vec<Validator>")]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total: u64,
}

impl TryFrom<Vec<Validator>> for ValidatorSet {
    type Error = ValidatorSetError;
    fn try_from(mut validators: Vec<Validator>) -> Result<Self, Self::Error> {
        if validators.is_empty() || validators.len() > MAX_VALIDATORS {
            return Err(ValidatorSetError::Size(validators.len()));
        }
        validators.sort_by_key(|v| v.key.to_bytes());
        if let Some(w) = validators.windows(2).find(|w| w[0].key == w[1].key) {
            return Err(ValidatorSetError::DuplicateKey(w[0].key.to_hex()));
        }
        let mut total: u64 = 0;
        for v in &validators {
            if v.power == 0 {
                return Err(ValidatorSetError::Power);
            }
            total = total.checked_add(v.power).ok_or(ValidatorSetError::Power)?;
        }
        if total > crate::jcs::MAX_SAFE_INTEGER {
            return Err(ValidatorSetError::Power);
        }
        Ok(ValidatorSet { validators, total })
    }
}

impl From<ValidatorSet> for Vec<Validator> {
    fn from(set: ValidatorSet) -> Self {
        set.validators
    }
}

impl ValidatorSet {
    /// The validators, sorted by key bytes.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Total voting power.
    pub fn total_power(&self) -> u64 {
        self.total
    }

    /// The validator with `key`.
    pub fn get(&self, key: &PublicKey) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.key.cmp(key))
            .ok()
            .map(|i| &self.validators[i])
    }

    /// True if `power` is more than two thirds of the total.
    pub fn is_quorum(&self, power: u64) -> bool {
        u128::from(power) * 3 > u128::from(self.total) * 2
    }

    /// `BLAKE3("tradelog/validators/v1" || 0x00 || count (u32) || (key (32) || power (u64))*)`
    /// over the validators sorted by key.
    pub fn hash(&self) -> Hash {
        let mut bytes = Vec::with_capacity(4 + self.validators.len() * 40);
        bytes.extend_from_slice(&(self.validators.len() as u32).to_be_bytes());
        for v in &self.validators {
            bytes.extend_from_slice(&v.key.to_bytes());
            bytes.extend_from_slice(&v.power.to_be_bytes());
        }
        Hash::domain(VALIDATORS_DOMAIN, &[&bytes])
    }
}

fn vote_message(domain: &[u8], chain: &str, height: u64, round: u32, value: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(domain.len() + 2 + chain.len() + 12 + 32);
    out.extend_from_slice(domain);
    out.push(0);
    out.push(chain.len() as u8);
    out.extend_from_slice(chain.as_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&round.to_be_bytes());
    out.extend_from_slice(value.as_bytes());
    out
}

/// The message a validator signs to precommit `head` at `round` (32 zero bytes for nil).
pub fn precommit_message(chain: &str, height: u64, round: u32, head: &Hash) -> Vec<u8> {
    vote_message(PRECOMMIT_DOMAIN, chain, height, round, head)
}

/// The message a validator signs to prevote `head` at `round` (32 zero bytes for nil).
pub fn prevote_message(chain: &str, height: u64, round: u32, head: &Hash) -> Vec<u8> {
    vote_message(PREVOTE_DOMAIN, chain, height, round, head)
}

/// The message a proposer signs to propose `head` at `round` with proof-of-lock round
/// `pol_round` (`0xFFFFFFFF` for none).
pub fn proposal_message(
    chain: &str,
    height: u64,
    round: u32,
    pol_round: u32,
    head: &Hash,
) -> Vec<u8> {
    let mut out = vote_message(PROPOSAL_DOMAIN, chain, height, round, head);
    let at = out.len() - 32;
    out.splice(at..at, pol_round.to_be_bytes());
    out
}

/// One validator's precommit signature.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct CommitSig {
    /// The validator's key.
    pub validator: PublicKey,
    /// Its signature over [`precommit_message`].
    pub sig: Signature,
}

/// A quorum certificate: precommits of more than 2/3 of the voting power for one head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct Certificate {
    /// Height of the head.
    pub height: u64,
    /// Consensus round in which the head was decided.
    pub round: u32,
    /// Hash of the certified head.
    pub head: Hash,
    /// The precommits.
    pub signatures: Vec<CommitSig>,
}

/// Why a certificate does not certify a head.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// Chain id malformed.
    #[error("head.chain is not a valid chain id")]
    Chain,
    /// The head names another validator set.
    #[error("head.validators {got} is not the trusted validator set {expected}")]
    ValidatorSet {
        /// Trusted set hash.
        expected: Hash,
        /// Head's set hash.
        got: Hash,
    },
    /// Certificate is for another head or height.
    #[error("certificate is for head {cert_head} at height {cert_height}, not head {head} at height {height}")]
    WrongHead {
        /// Certificate's head hash.
        cert_head: Hash,
        /// Certificate's height.
        cert_height: u64,
        /// Head hash.
        head: Hash,
        /// Head height.
        height: u64,
    },
    /// More signatures than validators.
    #[error("certificate has {0} signatures, more than the validator set")]
    TooMany(usize),
    /// A signer is not a validator.
    #[error("certificate signer {0} is not in the validator set")]
    NotAValidator(String),
    /// A validator signed twice.
    #[error("validator {0} signed twice")]
    Duplicate(String),
    /// A signature does not verify.
    #[error("precommit signature of validator {0} does not verify")]
    BadSignature(String),
    /// Not enough voting power.
    #[error("certificate carries {signed} of {total} voting power, more than 2/3 is needed")]
    NoQuorum {
        /// Power that signed.
        signed: u64,
        /// Total power.
        total: u64,
    },
}

impl Certificate {
    /// Signs a certificate for `head` with `keys` (test networks, demos, and the node's own vote).
    pub fn sign(head: &Head, round: u32, keys: &[&SecretKey]) -> Certificate {
        let hash = head.hash();
        let msg = precommit_message(&head.chain, head.height, round, &hash);
        Certificate {
            height: head.height,
            round,
            head: hash,
            signatures: keys
                .iter()
                .map(|k| CommitSig {
                    validator: k.public(),
                    sig: k.sign(&msg),
                })
                .collect(),
        }
    }

    /// Checks that this certificate certifies `head` under the trusted validator `set`.
    pub fn verify(&self, head: &Head, set: &ValidatorSet) -> Result<(), CertificateError> {
        if !is_chain_id(&head.chain) {
            return Err(CertificateError::Chain);
        }
        let expected = set.hash();
        if head.validators != expected {
            return Err(CertificateError::ValidatorSet {
                expected,
                got: head.validators,
            });
        }
        let hash = head.hash();
        if self.head != hash || self.height != head.height {
            return Err(CertificateError::WrongHead {
                cert_head: self.head,
                cert_height: self.height,
                head: hash,
                height: head.height,
            });
        }
        if self.signatures.len() > set.validators().len() {
            return Err(CertificateError::TooMany(self.signatures.len()));
        }
        let msg = precommit_message(&head.chain, head.height, self.round, &hash);
        let mut seen = BTreeSet::new();
        let mut signed = 0u64;
        // Signers are checked in order; the signatures before the first signer refused are
        // verified as one batch, and the first failure in signature order is reported.
        let mut refused = None;
        let mut items = Vec::with_capacity(self.signatures.len());
        for cs in &self.signatures {
            let Some(v) = set.get(&cs.validator) else {
                refused = Some(CertificateError::NotAValidator(cs.validator.to_hex()));
                break;
            };
            if !seen.insert(cs.validator) {
                refused = Some(CertificateError::Duplicate(cs.validator.to_hex()));
                break;
            }
            items.push((&cs.validator, msg.as_slice(), &cs.sig));
            signed += v.power;
        }
        if let Err(bad) = crate::keys::verify_batch(&items) {
            let first = bad.first().and_then(|&i| items.get(i));
            return Err(CertificateError::BadSignature(
                first.map_or_else(String::new, |(k, _, _)| k.to_hex()),
            ));
        }
        if let Some(e) = refused {
            return Err(e);
        }
        if !set.is_quorum(signed) {
            return Err(CertificateError::NoQuorum {
                signed,
                total: set.total_power(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_and_proposal_messages_are_domain_separated_and_laid_out() {
        let h = Hash([7u8; 32]);
        let pc = precommit_message("c", 5, 2, &h);
        let pv = prevote_message("c", 5, 2, &h);
        let pr = proposal_message("c", 5, 2, u32::MAX, &h);
        assert_eq!(&pc[..22], b"tradelog/precommit/v1\0");
        assert_eq!(&pv[..20], b"tradelog/prevote/v1\0");
        assert_eq!(&pr[..21], b"tradelog/proposal/v1\0");
        assert_eq!(pc.len(), 22 + 1 + 1 + 8 + 4 + 32);
        assert_eq!(pr.len(), 21 + 1 + 1 + 8 + 4 + 4 + 32);
        assert_eq!(&pr[pr.len() - 36..pr.len() - 32], &[0xff; 4]);
        assert_eq!(&pr[pr.len() - 32..], h.as_bytes());
        assert_eq!(&pc[pc.len() - 36..pc.len() - 32], &2u32.to_be_bytes());
    }
}

crate::wire::object_only!(Head, Validator, CommitSig, Certificate);

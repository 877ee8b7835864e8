//! Misbehaviour evidence kept by the node: double signs reported by the consensus engine and
//! conflicting commits submitted by anyone (a light client that caught a fork). Every record is
//! verified against the genesis validator set before it is stored, and served as JSON.

use serde::{Deserialize, Serialize};
use tradelog_protocol::evidence::{ConflictingCommits, DoubleSign, EvidenceError};
use tradelog_protocol::{Genesis, Hash, PublicKey};

use crate::store::{DiskStore, StoreError};

/// Evidence as submitted: `{"double_sign": ...}` or `{"conflicting_commits": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Evidence {
    /// One validator's two conflicting votes.
    DoubleSign(DoubleSign),
    /// Two certified heads at one height.
    ConflictingCommits(ConflictingCommits),
}

/// A verified, stored piece of evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceRecord {
    /// BLAKE3 of the evidence's JSON.
    pub id: Hash,
    /// Height it concerns.
    pub height: u64,
    /// Validators it proves equivocated.
    pub equivocators: Vec<PublicKey>,
    /// Validators that signed both of two commits in different rounds (conflicting commits).
    pub suspects: Vec<PublicKey>,
    /// `consensus` (seen by this node's engine) or `submitted` (over the API).
    pub source: String,
    /// The evidence itself, verifiable offline with the genesis (PROTOCOL.md section 7a).
    pub evidence: Evidence,
}

/// Verifies evidence against the genesis and builds its record.
pub fn verify(
    evidence: Evidence,
    genesis: &Genesis,
    source: &str,
) -> Result<EvidenceRecord, EvidenceError> {
    let set = genesis.validator_set();
    let (height, equivocators, suspects) = match &evidence {
        Evidence::DoubleSign(d) => {
            d.verify(&genesis.chain, set)?;
            (d.first.height, vec![d.first.validator], Vec::new())
        }
        Evidence::ConflictingCommits(c) => {
            let culprits = c.verify(set)?;
            (
                c.first.height,
                culprits
                    .equivocators
                    .iter()
                    .map(|d| d.first.validator)
                    .collect(),
                culprits.suspects,
            )
        }
    };
    let json = serde_json::to_vec(&evidence).unwrap_or_default();
    Ok(EvidenceRecord {
        id: Hash::of(&[b"tradelog/evidence/v1", &json]),
        height,
        equivocators,
        suspects,
        source: source.to_owned(),
        evidence,
    })
}

/// Stores a verified record; false if it was already stored.
pub fn store(store: &DiskStore, record: &EvidenceRecord) -> Result<bool, StoreError> {
    let json = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt {
        key: record.id.to_string(),
        reason: e.to_string(),
    })?;
    store.put_evidence(&record.id, &json)
}

/// Every stored record (unreadable records are skipped: they were verified when stored).
pub fn list(store: &DiskStore) -> Result<Vec<EvidenceRecord>, StoreError> {
    Ok(store
        .evidence()?
        .iter()
        .filter_map(|b| serde_json::from_slice(b).ok())
        .collect())
}

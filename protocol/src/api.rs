//! The node API's answers that carry verification data, as one wire contract: the node
//! serializes these types and clients parse them (serde only, no I/O). Byte-level meaning of
//! each member: PROTOCOL.md sections 6, 7, 4 and 9d; routes and errors: `GET /openapi.json`.
//! Unknown members are ignored when parsing, so a node may add members without breaking
//! clients.

use serde::{Deserialize, Serialize};

use crate::{Certificate, ConsistencyProof, Hash, Head, MembershipProof};

/// `GET /v1/head`: the latest certified head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadAnswer {
    /// The head's hash (PROTOCOL.md 6), for display: clients recompute it.
    pub hash: Hash,
    /// The head.
    pub head: Head,
    /// Its quorum certificate.
    pub certificate: Certificate,
}

/// `GET /v1/membership`: the latest certified head with the membership proof at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipAnswer {
    /// The head.
    pub head: Head,
    /// Its quorum certificate.
    pub certificate: Certificate,
    /// Every membership change and validator-set transition up to the head (PROTOCOL.md 9d).
    pub membership: MembershipProof,
}

/// `GET /v1/consistency?first=N&second=M`: a consistency proof between two log sizes with
/// both roots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyAnswer {
    /// The smaller log size.
    pub first: u64,
    /// The larger log size.
    pub second: u64,
    /// The log root at `first`.
    pub first_root: Hash,
    /// The log root at `second`.
    pub second_root: Hash,
    /// The proof (PROTOCOL.md 4).
    pub proof: ConsistencyProof,
}

/// `GET /v1/organisations/{id}[?recognised_by=Y&at=T]`: an organisation, the proof bundle of
/// its organisation subject (its AEO records) and, when asked about another administration's
/// recognition, that administration's (its arrangements), both at one certified head
/// (PROTOCOL.md 9e), with the node's reading of them (clients recompute it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrganisationAnswer {
    /// The member, as the membership at the head lists it.
    pub organisation: crate::roles::Organisation,
    /// The organisation subjects' bundles: the holder's, then the administration's.
    pub bundles: Vec<crate::ProofBundle>,
    /// The node's answer to the question asked (or, without `recognised_by`, what the
    /// organisation's own records give at `at`).
    pub recognition: crate::recognition::Recognition,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleNetwork;

    #[test]
    fn a_head_answer_round_trips_and_tolerates_new_members() {
        let net = SampleNetwork::new(4).unwrap();
        let head = Head {
            chain: net.genesis.chain.clone(),
            height: 1,
            time: 1,
            prev: net.genesis.hash(),
            log_size: 0,
            log_root: Hash::ZERO,
            index_root: Hash::ZERO,
            validators: net.genesis.validator_set().hash(),
        };
        let keys: Vec<&crate::SecretKey> = net.validator_keys.iter().take(3).collect();
        let certificate = Certificate::sign(&head, 0, &keys);
        let a = HeadAnswer {
            hash: head.hash(),
            head,
            certificate,
        };
        let mut v = serde_json::to_value(&a).unwrap();
        assert_eq!(serde_json::from_value::<HeadAnswer>(v.clone()).unwrap(), a);
        v["later"] = serde_json::json!(1);
        assert_eq!(serde_json::from_value::<HeadAnswer>(v).unwrap(), a);
    }
}

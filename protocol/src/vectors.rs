//! The golden test vectors published in docs/PROTOCOL.md, computed from fixed inputs.
//!
//! The key is RFC 8032 section 7.1 test 1 (secret `9d61b1...7f60`), so an implementer can first
//! check their ed25519 library against the RFC, then every tradelog construction against these.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::disclosure::commit_detail;
use crate::event::{Event, EventBody, EventKind};
use crate::hash::Hash;
use crate::head::{precommit_message, Certificate, Head, Validator, ValidatorSet};
use crate::index::{Index, IndexEntry, Subject};
use crate::keys::SecretKey;
use crate::membership::{approval_message, approve, Change, MembershipBody};
use crate::merkle::{leaf_hash, MerkleLog};
use crate::roles::{Genesis, Organisation, Role};

/// RFC 8032 section 7.1, test 1: secret key (seed).
pub const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// The fixed event body of the vectors, as a JSON text (member order and spacing as a client
/// might send them; the canonical form is computed).
pub const EVENT_BODY_JSON: &str = r#"{
  "v": 1,
  "chain": "tradelog-vectors",
  "ucr": "6NL123456789-AB",
  "kind": "arrived",
  "time": 1767225600000,
  "location": "NLRTM",
  "container": "CSQU3054383",
  "transport": {"mode": "sea", "means": "IMO9321483", "voyage": "042W"},
  "refs": [],
  "documents": [{"kind": "bill_of_lading", "alg": "sha256", "digest": "0000000000000000000000000000000000000000000000000000000000000001"}],
  "details": {"hs_code": "COMMITMENT"},
  "issuer": {"org": "blue-anchor-lines", "key": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"}
}"#;

/// Every vector, by name, as lowercase hex or text.
#[derive(Debug, Serialize)]
pub struct Vectors {
    /// Named values.
    pub values: BTreeMap<&'static str, String>,
}

/// RFC 8032 section 7.1, test 2: secret key (seed).
pub const RFC8032_SEED_2: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
/// RFC 8032 section 7.1, test 3: secret key (seed).
pub const RFC8032_SEED_3: &str = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7";

fn key_from(seed_hex: &str) -> SecretKey {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(seed_hex, &mut seed).unwrap_or_default();
    SecretKey::from_seed(&seed)
}

fn key() -> SecretKey {
    key_from(RFC8032_SEED)
}

fn leaf_text(leaf: Option<crate::index::ProofLeaf>) -> String {
    leaf.map_or_else(
        || "none".to_owned(),
        |l| format!("key={},value_hash={}", l.key, l.value_hash),
    )
}

/// Computes all vectors. `None` only if a fixed input is invalid (a bug caught by the tests).
pub fn compute() -> Option<Vectors> {
    let mut v = BTreeMap::new();
    let sk = key();
    v.insert("public_key", sk.public().to_hex());

    // Detail commitment: salt = 16 zero bytes.
    let salt = [0u8; 16];
    let detail = commit_detail("hs_code", "850760", &salt);
    v.insert("detail_commitment", detail.to_hex());

    // The event, with the detail commitment filled in.
    let body_json = EVENT_BODY_JSON.replace("COMMITMENT", &detail.to_hex());
    let body: crate::event::EventBody = serde_json::from_str(&body_json).ok()?;
    let event = body.sign(&sk).ok()?;
    let msg = event.message();
    let canon = &msg[crate::event::EVENT_DOMAIN.len() + 1..];
    v.insert(
        "event_canonical_body",
        String::from_utf8(canon.to_vec()).ok()?,
    );
    v.insert(
        "event_signing_bytes_prefix",
        hex::encode(&msg[..crate::event::EVENT_DOMAIN.len() + 1]),
    );
    v.insert("event_id", event.id().to_hex());
    v.insert("event_signature", event.sig().to_hex());
    v.insert("event_leaf_hash", leaf_hash(&event.leaf_data()).to_hex());
    v.insert("event_wire_json", event.to_json());
    let _ = Event::from_json(event.to_json().as_bytes()).ok()?;

    // Merkle log over leaf data = the single byte i, for i in 0..7.
    let mut log = MerkleLog::new();
    for i in 0..7u8 {
        log.push(leaf_hash(&[i]));
    }
    v.insert("merkle_empty_root", log.root_at(0)?.to_hex());
    v.insert("merkle_leaf_0", log.leaf(0)?.to_hex());
    for n in [1u64, 2, 3, 5, 7] {
        let name: &'static str = match n {
            1 => "merkle_root_1",
            2 => "merkle_root_2",
            3 => "merkle_root_3",
            5 => "merkle_root_5",
            _ => "merkle_root_7",
        };
        v.insert(name, log.root_at(n)?.to_hex());
    }
    let inc = log.prove_inclusion(2, 7)?;
    v.insert("merkle_inclusion_2_of_7", join(&inc.path));
    let cons = log.prove_consistency(3, 7)?;
    v.insert("merkle_consistency_3_to_7", join(&cons.path));
    let cons4 = log.prove_consistency(4, 7)?;
    v.insert("merkle_consistency_4_to_7", join(&cons4.path));

    // Index: the event above, indexed under its consignment and its container.
    let ucr_subject = Subject::Consignment(event.body().ucr.clone()?);
    let ctr_subject = Subject::Container(event.body().container.clone()?);
    v.insert("index_key_consignment", ucr_subject.key().to_hex());
    v.insert("index_key_container", ctr_subject.key().to_hex());
    let entry = IndexEntry::over([event.id()].iter());
    v.insert("index_entry_acc", entry.acc.to_hex());
    v.insert("index_entry_value_hash", entry.value_hash().to_hex());
    let mut index = Index::new();
    index.record(&ucr_subject, &event.id());
    index.record(&ctr_subject, &event.id());
    v.insert("index_root", index.root().to_hex());
    let proof = index.prove(&ucr_subject.key());
    v.insert("index_proof_consignment_siblings", join(&proof.siblings));
    v.insert("index_proof_consignment_leaf", leaf_text(proof.leaf));
    // Absence: a consignment that has no event.
    let absent = Subject::Consignment("6NL000000000-ZZ".parse().ok()?);
    let proof = index.prove(&absent.key());
    proof
        .verify(&index.root(), &absent.key())
        .ok()?
        .is_none()
        .then_some(())?;
    v.insert("index_absent_key", absent.key().to_hex());
    v.insert("index_proof_absent_siblings", join(&proof.siblings));
    v.insert("index_proof_absent_leaf", leaf_text(proof.leaf));

    // Validator set of one validator with power 1, and a head certified by it.
    let set = ValidatorSet::try_from(vec![Validator {
        org: "blue-anchor-lines".parse().ok()?,
        key: sk.public(),
        power: 1,
    }])
    .ok()?;
    v.insert("validator_set_hash", set.hash().to_hex());
    // Three validators: RFC 8032 tests 1, 2, 3 with powers 1, 2, 3 (hashed sorted by key).
    let three = ValidatorSet::try_from(
        [
            (RFC8032_SEED, 1u64),
            (RFC8032_SEED_2, 2),
            (RFC8032_SEED_3, 3),
        ]
        .iter()
        .map(|(seed, power)| {
            Some(Validator {
                org: "blue-anchor-lines".parse().ok()?,
                key: key_from(seed).public(),
                power: *power,
            })
        })
        .collect::<Option<Vec<_>>>()?,
    )
    .ok()?;
    v.insert("validator_set_3_json", serde_json::to_string(&three).ok()?);
    v.insert("validator_set_3_hash", three.hash().to_hex());
    let genesis = Genesis {
        chain: "tradelog-vectors".into(),
        time: 1_767_225_600_000,
        organisations: vec![Organisation {
            id: "blue-anchor-lines".parse().ok()?,
            name: "Blue Anchor Lines \u{2014} Zürich Ø \u{1F6A2}".into(),
            role: Role::Carrier,
            keys: vec![sk.public()],
        }],
        validators: set.clone(),
    };
    v.insert("genesis_json", serde_json::to_string(&genesis).ok()?);
    v.insert("genesis_hash", genesis.hash().to_hex());
    let head = Head {
        chain: "tradelog-vectors".into(),
        height: 1,
        time: 1_767_225_601_000,
        prev: genesis.hash(),
        log_size: log.size(),
        log_root: log.root(),
        index_root: index.root(),
        validators: set.hash(),
    };
    v.insert("head_bytes", hex::encode(head.encode()));
    v.insert("head_hash", head.hash().to_hex());
    v.insert(
        "precommit_message",
        hex::encode(precommit_message(&head.chain, 1, 0, &head.hash())),
    );
    let cert = Certificate::sign(&head, 0, &[&sk]);
    v.insert("precommit_signature", cert.signatures.first()?.sig.to_hex());
    cert.verify(&head, &set).ok()?;
    // Membership (PROTOCOL.md 8a): blue-anchor-lines adds RFC 8032 test 2's key, approved by
    // the validator (not needed for its own key, but a valid approval is shown), signed with
    // the test 1 key, as the first membership event (seq 1).
    v.insert("index_key_membership", Subject::Membership.key().to_hex());
    let change = Change::AddKey {
        org: "blue-anchor-lines".parse().ok()?,
        key: key_from(RFC8032_SEED_2).public(),
    };
    let approval_msg = approval_message("tradelog-vectors", 1, &change).ok()?;
    v.insert("membership_approval_message", hex::encode(&approval_msg));
    let approval = approve("tradelog-vectors", 1, &change, &sk);
    v.insert("membership_approval_signature", approval.sig.to_hex());
    let mut body: EventBody = serde_json::from_str(
        EVENT_BODY_JSON
            .replace("COMMITMENT", &detail.to_hex())
            .as_str(),
    )
    .ok()?;
    body.kind = EventKind::Membership;
    body.ucr = None;
    body.container = None;
    body.location = None;
    body.transport = None;
    body.documents.clear();
    body.details.clear();
    body.membership = Some(MembershipBody {
        seq: 1,
        change,
        approvals: vec![approval],
    });
    let membership_event = body.sign(&sk).ok()?;
    v.insert("membership_event_json", membership_event.to_json());
    v.insert("membership_event_id", membership_event.id().to_hex());
    Some(Vectors { values: v })
}

fn join(hashes: &[Hash]) -> String {
    hashes
        .iter()
        .map(Hash::to_hex)
        .collect::<Vec<_>>()
        .join(",")
}

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
use crate::keys::zip215::{decode_point, small_order_encodings, verify_raw};
use crate::keys::SecretKey;
use crate::membership::{approval_message, approve, Change, MembershipBody};
use crate::merkle::{leaf_hash, MerkleLog};
use crate::roles::{Genesis, Organisation, Role};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

/// RFC 8032 section 7.1, test 1: secret key (seed).
pub const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// The trade identifiers of the `linked` vector (PROTOCOL.md 8f): a transport document, a
/// booking and an SSCC (GS1's example SSCC).
const LINKED_BL: &str = "bl:blue-anchor-lines:BALRTM0001";
const LINKED_BOOKING: &str = "bkg:blue-anchor-lines:BK12345";
const LINKED_SSCC: &str = "sscc:106141412345678908";
/// The DCSA `eventID` of the sourced-event vector (the example id of DCSA T&T 2.2).
pub const SOURCE_EVENT_ID: &str = "84db923d-2a19-4eb0-beb5-446c1ec57d34";

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

    // The same event imported from a DCSA feed: `source` (3.2, 8e) sorts between `refs` and
    // `time`.
    let mut sourced = event.body().clone();
    sourced.source = Some(crate::event::Source {
        standard: "dcsa".into(),
        id: SOURCE_EVENT_ID.into(),
    });
    let sourced = sourced.sign(&sk).ok()?;
    let sourced_msg = sourced.message();
    v.insert(
        "event_sourced_canonical_body",
        String::from_utf8(sourced_msg[crate::event::EVENT_DOMAIN.len() + 1..].to_vec()).ok()?,
    );
    v.insert("event_sourced_id", sourced.id().to_hex());

    // The event with the local time offset its source gave (3.2): `offset` sorts between
    // `location` and `refs`.
    let mut offset = event.body().clone();
    offset.offset = Some("+01:00".into());
    let offset = offset.sign(&sk).ok()?;
    let offset_msg = offset.message();
    v.insert(
        "event_offset_canonical_body",
        String::from_utf8(offset_msg[crate::event::EVENT_DOMAIN.len() + 1..].to_vec()).ok()?,
    );
    v.insert("event_offset_id", offset.id().to_hex());

    // A `retracted` event (8g) naming the sourced event above by its source: `retracts` sorts
    // between `refs` and `time`.
    let mut retracted = event.body().clone();
    retracted.kind = crate::event::EventKind::Retracted;
    retracted.time += 60_000;
    retracted.location = None;
    retracted.transport = None;
    retracted.documents = Vec::new();
    retracted.details = BTreeMap::new();
    retracted.retracts = Some(crate::event::Retracts::Source(crate::event::Source {
        standard: "dcsa".into(),
        id: SOURCE_EVENT_ID.into(),
    }));
    let retracted = retracted.sign(&sk).ok()?;
    let retracted_msg = retracted.message();
    v.insert(
        "event_retracted_canonical_body",
        String::from_utf8(retracted_msg[crate::event::EVENT_DOMAIN.len() + 1..].to_vec()).ok()?,
    );
    v.insert("event_retracted_id", retracted.id().to_hex());
    v.insert("event_retracted_wire_json", retracted.to_json());

    // A `linked` event (8f): the consignment and three trade identifiers; `ids` sorts between
    // `documents` and `issuer`.
    let mut linked = event.body().clone();
    linked.kind = crate::event::EventKind::Linked;
    linked.container = None;
    linked.location = None;
    linked.transport = None;
    linked.documents = Vec::new();
    linked.details = BTreeMap::new();
    linked.ids = Some(
        [LINKED_BOOKING, LINKED_BL, LINKED_SSCC]
            .iter()
            .map(|t| t.parse())
            .collect::<Result<Vec<crate::ids::TradeId>, _>>()
            .ok()?,
    );
    let linked = linked.sign(&sk).ok()?;
    let linked_msg = linked.message();
    v.insert(
        "event_linked_canonical_body",
        String::from_utf8(linked_msg[crate::event::EVENT_DOMAIN.len() + 1..].to_vec()).ok()?,
    );
    v.insert("event_linked_id", linked.id().to_hex());
    v.insert("event_linked_wire_json", linked.to_json());
    for (name, id) in [
        ("index_key_identifier_bl", LINKED_BL),
        ("index_key_identifier_sscc", LINKED_SSCC),
    ] {
        v.insert(name, Subject::Identifier(id.parse().ok()?).key().to_hex());
    }

    customs_vectors(&mut v, &event, &sk)?;

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
        rules: None,
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
    transitions_vector(&mut v, &genesis, &sk)?;
    zip215_vectors(&mut v)?;
    Some(Vectors { values: v })
}

/// Issue 18.1 (PROTOCOL.md 9d): a ledger on the vectors' genesis whose validator set changes
/// at height 1 (to the test 1 key with power 3 and the test 2 key with power 1) and back at
/// height 2 (to the genesis set), with an empty block at height 3; the membership proof at
/// height 3 and the verdicts on it honest and with transitions removed.
fn transitions_vector(
    v: &mut BTreeMap<&'static str, String>,
    genesis: &Genesis,
    sk: &SecretKey,
) -> Option<()> {
    let chain = "tradelog-vectors";
    let org: crate::ids::OrgId = "blue-anchor-lines".parse().ok()?;
    let validator = |key: &SecretKey, power| Validator {
        org: org.clone(),
        key: key.public(),
        power,
    };
    let widened = ValidatorSet::try_from(vec![
        validator(sk, 3),
        validator(&key_from(RFC8032_SEED_2), 1),
    ])
    .ok()?;
    let event = |seq: u64, validators: ValidatorSet, time: u64| -> Option<Event> {
        let change = Change::SetValidators { validators };
        let approval = approve(chain, seq, &change, sk);
        let body = EventBody {
            v: crate::event::EVENT_VERSION,
            chain: chain.into(),
            ucr: None,
            container: None,
            kind: EventKind::Membership,
            time,
            location: None,
            transport: None,
            refs: Vec::new(),
            documents: Vec::new(),
            details: BTreeMap::new(),
            issuer: crate::event::Issuer {
                org: org.clone(),
                key: sk.public(),
            },
            parties: None,
            source: None,
            ids: None,
            retracts: None,
            aeo: None,
            mra: None,
            reason: None,
            offset: None,
            membership: Some(MembershipBody {
                seq,
                change,
                approvals: vec![approval],
            }),
        };
        body.sign(sk).ok()
    };
    let t0 = genesis.time;
    let mut ledger = crate::Ledger::new(genesis);
    let e1 = event(1, widened, t0)?;
    let h1 = ledger.append_block(vec![e1], t0 + 1000).ok()?;
    ledger.certify(1, Certificate::sign(&h1, 0, &[sk]));
    let e2 = event(2, genesis.validators.clone(), t0 + 1000)?;
    let h2 = ledger.append_block(vec![e2], t0 + 2000).ok()?;
    ledger.certify(2, Certificate::sign(&h2, 0, &[sk]));
    let h3 = ledger.append_block(Vec::new(), t0 + 3000).ok()?;
    let c3 = Certificate::sign(&h3, 0, &[sk]);
    let proof = ledger.membership_proof()?;
    let json = serde_json::json!({"head": h3, "certificate": c3, "membership": proof});
    v.insert("membership_proof_json", serde_json::to_string(&json).ok()?);
    let verdict = |drop: &[usize]| {
        let mut p = proof.clone();
        for &i in drop.iter().rev() {
            p.transitions.remove(i);
        }
        if p.verify(genesis, &h3, &c3).is_ok() {
            '1'
        } else {
            '0'
        }
    };
    v.insert(
        "membership_proof_verdicts",
        format!(
            "honest={} without_transitions={} without_first={} without_second={}",
            verdict(&[]),
            verdict(&[0, 1]),
            verdict(&[0]),
            verdict(&[1])
        ),
    );
    Some(())
}

/// The issuer of the vector event with the body reduced to what every kind has.
fn bare(event: &Event, kind: EventKind) -> EventBody {
    let mut b = event.body().clone();
    b.kind = kind;
    b.ucr = None;
    b.container = None;
    b.location = None;
    b.transport = None;
    b.documents = Vec::new();
    b.details = BTreeMap::new();
    b
}

fn put_event(v: &mut BTreeMap<&'static str, String>, names: [&'static str; 3], e: &Event) {
    let msg = e.message();
    let canon = &msg[crate::event::EVENT_DOMAIN.len() + 1..];
    v.insert(names[0], String::from_utf8_lossy(canon).into_owned());
    v.insert(names[1], e.id().to_hex());
    v.insert(names[2], e.to_json());
}

/// 8h and 8i: an AEO grant by the vector key's organisation (a customs administration in the
/// vector genesis of these events' chain), an arrangement countersigned with RFC 8032 test 2's
/// key, advance data committed with zero salts and a risk outcome referring to it.
fn customs_vectors(
    v: &mut BTreeMap<&'static str, String>,
    event: &Event,
    sk: &SecretKey,
) -> Option<()> {
    use crate::aeo::{
        countersign, terms_message, AeoRecord, AeoStatus, AeoType, MraRecord, MraStatus,
    };
    let t = event.body().time;
    let holder: crate::ids::OrgId = "shopfast".parse().ok()?;
    v.insert(
        "index_key_organisation",
        Subject::Organisation(holder.clone()).key().to_hex(),
    );
    let mut aeo = bare(event, EventKind::AeoStatus);
    aeo.aeo = Some(AeoRecord {
        holder,
        programme: "nl_aeo".into(),
        authorisation: "NLAEOF0000001234".into(),
        status: AeoStatus::Granted,
        types: Some(vec![
            AeoType::CustomsSimplifications,
            AeoType::SecuritySafety,
        ]),
        from: t,
        until: Some(t + 3 * 365 * 86_400_000),
    });
    let aeo = aeo.sign(sk).ok()?;
    put_event(
        v,
        [
            "event_aeo_canonical_body",
            "event_aeo_id",
            "event_aeo_wire_json",
        ],
        &aeo,
    );

    let partner: crate::ids::OrgId = "de-customs".parse().ok()?;
    let partner_key = key_from(RFC8032_SEED_2);
    let types = [AeoType::SecuritySafety];
    let issuer = event.body().issuer.org.clone();
    let terms = terms_message(&event.body().chain, &issuer, &partner, t, &types).ok()?;
    v.insert("mra_terms_message", hex::encode(&terms));
    let approval = countersign(
        &event.body().chain,
        &issuer,
        &partner,
        t,
        &types,
        &partner_key,
    )
    .ok()?;
    v.insert("mra_approval_signature", approval.sig.to_hex());
    let mut mra = bare(event, EventKind::Mra);
    mra.mra = Some(MraRecord {
        partner,
        status: MraStatus::InForce,
        from: t,
        types: Some(types.to_vec()),
        approval: Some(approval),
    });
    let mra = mra.sign(sk).ok()?;
    put_event(
        v,
        [
            "event_mra_canonical_body",
            "event_mra_id",
            "event_mra_wire_json",
        ],
        &mra,
    );

    let mut advance = bare(event, EventKind::AdvanceData);
    advance.ucr = event.body().ucr.clone();
    for (name, value) in [
        ("hs_code", "850760"),
        ("declared_value", "12500.00"),
        ("currency", "USD"),
        ("consignor_country", "CN"),
        ("consignee_country", "NL"),
        ("item_count", "240"),
        ("gross_weight_kg", "3120"),
    ] {
        advance
            .details
            .insert(name.into(), commit_detail(name, value, &[0u8; 16]));
    }
    let advance = advance.sign(sk).ok()?;
    put_event(
        v,
        [
            "event_advance_canonical_body",
            "event_advance_id",
            "event_advance_wire_json",
        ],
        &advance,
    );
    let mut risk = bare(event, EventKind::RiskReferred);
    risk.ucr = event.body().ucr.clone();
    risk.time = t + 3_600_000;
    risk.refs = vec![advance.id()];
    risk.reason = Some("r12_undervaluation".into());
    let risk = risk.sign(sk).ok()?;
    put_event(
        v,
        [
            "event_risk_canonical_body",
            "event_risk_id",
            "event_risk_wire_json",
        ],
        &risk,
    );
    Some(())
}

/// The message of the ZIP-215 edge-case vectors (as in the ZIP-215 crates' test suites).
pub const ZIP215_MESSAGE: &[u8] = b"Zcash";

/// `"zip215=<bits> tradelog=<bits>"`: `1` accept, `0` refuse, one bit per case.
fn verdicts(cases: impl Iterator<Item = ([u8; 32], [u8; 64])>, msg: &[u8]) -> String {
    let (mut raw, mut tradelog) = (String::new(), String::new());
    for (a, sig) in cases {
        raw.push(if verify_raw(&a, msg, &sig) { '1' } else { '0' });
        let vetted = crate::keys::PublicKey::from_bytes(&a).is_ok_and(|k| {
            k.verify(msg, &crate::keys::Signature::from_bytes(&sig))
                .is_ok()
        });
        tradelog.push(if vetted { '1' } else { '0' });
    }
    format!("zip215={raw} tradelog={tradelog}")
}

fn sig_bytes(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r);
    sig[32..].copy_from_slice(s);
    sig
}

/// `SHA-512(text) mod L`: the fixed nonces of the mixed-order vectors.
fn scalar_of(text: &str) -> Scalar {
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&Sha512::digest(text.as_bytes()));
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// `k = SHA-512(R || A || M) mod L`.
fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(msg);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&h.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// A signature by the RFC 8032 test 1 secret scalar `a` on [`ZIP215_MESSAGE`] under the key
/// encoding `a_bytes`, with nonce point `R = [r]B + t`: `S = r + k·a`. Used with a torsion
/// point `t` in `R` or in the key, which honest signers never produce.
pub fn sign_with(a_bytes: &[u8; 32], r: Scalar, t: EdwardsPoint) -> [u8; 64] {
    let a = key().to_dalek_scalar();
    let big_r = (EdwardsPoint::mul_base(&r) + t).compress().to_bytes();
    let k = challenge(&big_r, a_bytes, ZIP215_MESSAGE);
    sig_bytes(&big_r, (r + k * a).as_bytes())
}

/// The ZIP-215 edge cases (PROTOCOL.md section 11): every pair of the 14 small-order encodings
/// as `A` and `R` with `S = 0`, a non-canonical `S`, and signatures with a torsion component
/// in `R` or in the key.
fn zip215_vectors(v: &mut BTreeMap<&'static str, String>) -> Option<()> {
    const NAMES: [&str; 14] = [
        "zip215_small_order_00",
        "zip215_small_order_01",
        "zip215_small_order_02",
        "zip215_small_order_03",
        "zip215_small_order_04",
        "zip215_small_order_05",
        "zip215_small_order_06",
        "zip215_small_order_07",
        "zip215_small_order_08",
        "zip215_small_order_09",
        "zip215_small_order_10",
        "zip215_small_order_11",
        "zip215_small_order_12",
        "zip215_small_order_13",
    ];
    const ROWS: [&str; 14] = [
        "zip215_small_order_verdicts_a00",
        "zip215_small_order_verdicts_a01",
        "zip215_small_order_verdicts_a02",
        "zip215_small_order_verdicts_a03",
        "zip215_small_order_verdicts_a04",
        "zip215_small_order_verdicts_a05",
        "zip215_small_order_verdicts_a06",
        "zip215_small_order_verdicts_a07",
        "zip215_small_order_verdicts_a08",
        "zip215_small_order_verdicts_a09",
        "zip215_small_order_verdicts_a10",
        "zip215_small_order_verdicts_a11",
        "zip215_small_order_verdicts_a12",
        "zip215_small_order_verdicts_a13",
    ];
    let msg = ZIP215_MESSAGE;
    v.insert("zip215_message", hex::encode(msg));
    let enc = small_order_encodings();
    if enc.len() != NAMES.len() {
        return None;
    }
    for (name, e) in NAMES.iter().zip(&enc) {
        let p = decode_point(e)?;
        let order = point_order(&p)?;
        let canonical = if p.compress().to_bytes() == *e {
            "canonical"
        } else {
            "non-canonical"
        };
        v.insert(
            name,
            format!("{} order={order} {canonical}", hex::encode(e)),
        );
    }
    let zero = [0u8; 32];
    for (row, a) in ROWS.iter().zip(&enc) {
        v.insert(
            row,
            verdicts(enc.iter().map(|r| (*a, sig_bytes(r, &zero))), msg),
        );
    }
    // S = L: the same cases with the non-canonical encoding of zero, for A = encoding 00.
    let l = Scalar::ZERO - Scalar::ONE;
    let mut l_bytes = l.to_bytes();
    add_one(&mut l_bytes);
    v.insert(
        "zip215_s_equal_l_verdicts_a00",
        verdicts(enc.iter().map(|r| (enc[0], sig_bytes(r, &l_bytes))), msg),
    );
    // RFC 8032 test 1 (empty message) with S + L: the equation still holds mod L.
    let sk = key();
    let good = sk.sign(b"").to_bytes();
    let mut s_plus_l = [0u8; 32];
    s_plus_l.copy_from_slice(&good[32..]);
    add_le(&mut s_plus_l, &l_bytes);
    let bad = sig_bytes(good[..32].try_into().ok()?, &s_plus_l);
    v.insert("zip215_non_canonical_s_signature", hex::encode(bad));
    let a = sk.public().to_bytes();
    v.insert(
        "zip215_non_canonical_s_verdicts",
        verdicts([(a, good), (a, bad)].into_iter(), b""),
    );
    // A torsion component in R, then in the key: ZIP-215 and tradelog accept, verify_strict
    // (cofactorless) refuses.
    let t8 = enc
        .iter()
        .filter_map(decode_point)
        .find(|p| point_order(p) == Some(8))?;
    let sig_r = sign_with(&a, scalar_of("tradelog zip215 mixed-order R"), t8);
    v.insert("zip215_mixed_order_r_signature", hex::encode(sig_r));
    v.insert(
        "zip215_mixed_order_r_verdict",
        verdicts([(a, sig_r)].into_iter(), msg),
    );
    let mixed_key = (decode_point(&a)? + t8).compress().to_bytes();
    let sig_a = sign_with(
        &mixed_key,
        scalar_of("tradelog zip215 mixed-order A"),
        EdwardsPoint::default(),
    );
    v.insert("zip215_mixed_order_a_key", hex::encode(mixed_key));
    v.insert("zip215_mixed_order_a_signature", hex::encode(sig_a));
    v.insert(
        "zip215_mixed_order_a_verdict",
        verdicts([(mixed_key, sig_a)].into_iter(), msg),
    );
    Some(())
}

/// The order of a point of small order (1, 2, 4 or 8); `None` for any other point.
fn point_order(p: &EdwardsPoint) -> Option<u32> {
    let mut q = *p;
    for order in [1, 2, 4, 8] {
        if q.is_identity() {
            return Some(order);
        }
        q = q + q;
    }
    None
}

/// `x += 1` on a little-endian 256-bit integer.
fn add_one(x: &mut [u8; 32]) {
    let mut one = [0u8; 32];
    one[0] = 1;
    add_le(x, &one);
}

/// `x += y` on little-endian 256-bit integers (no overflow for the values used here).
fn add_le(x: &mut [u8; 32], y: &[u8; 32]) {
    let mut carry = 0u16;
    for (a, b) in x.iter_mut().zip(y) {
        let sum = u16::from(*a) + u16::from(*b) + carry;
        *a = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
}

fn join(hashes: &[Hash]) -> String {
    hashes
        .iter()
        .map(Hash::to_hex)
        .collect::<Vec<_>>()
        .join(",")
}

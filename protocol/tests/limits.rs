//! Size limits and number encodings (PROTOCOL.md 3.1, 3.2, 10; issue 18 items 2, 4 and 6): the
//! largest allowed validator set changes hands end to end; the two size errors are named for what
//! they measure; `-0` and a leading byte-order mark are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use tradelog_protocol::event::{
    DigestAlg, Document, EventError, MAX_BODY_BYTES, MAX_EVENT_JSON_BYTES,
    MAX_MEMBERSHIP_BODY_BYTES,
};
use tradelog_protocol::hash::Hash;
use tradelog_protocol::head::MAX_VALIDATORS;
use tradelog_protocol::membership::{approve, Change, MembershipBody, MAX_APPROVALS};
use tradelog_protocol::sample::{self, consignment_route, dev_key, sample_ucr, SampleNetwork};
use tradelog_protocol::{
    Certificate, Event, EventKind, Genesis, Issuer, Ledger, Organisation, ProofBundle, Role,
    SecretKey, Subject, Validator, ValidatorSet,
};

const T0: u64 = 1_767_225_600_000;
const CHAIN: &str = "tradelog-limits-chain-id-of-the-longest-allowed-length-64-chars1";

/// `n` organisations with 64-character ids, one key each.
fn orgs(n: usize) -> (Vec<Organisation>, Vec<SecretKey>) {
    let keys: Vec<SecretKey> = (0..n)
        .map(|i| dev_key(&format!("limits/org/{i}")))
        .collect();
    let orgs = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Organisation {
            id: format!("org-{i:060}").parse().unwrap(),
            name: "An organisation whose name is long enough".into(),
            role: Role::Carrier,
            keys: vec![k.public()],
        })
        .collect();
    (orgs, keys)
}

fn set(tag: &str, orgs: &[Organisation], power: u64) -> (ValidatorSet, Vec<SecretKey>) {
    let keys: Vec<SecretKey> = (0..orgs.len())
        .map(|i| dev_key(&format!("limits/{tag}/{i}")))
        .collect();
    let list: Vec<Validator> = orgs
        .iter()
        .zip(&keys)
        .map(|(o, k)| Validator {
            org: o.id.clone(),
            key: k.public(),
            power,
        })
        .collect();
    (ValidatorSet::try_from(list).unwrap(), keys)
}

/// The smallest quorum of an equal-power set of `n`: more than two thirds.
fn quorum(keys: &[SecretKey]) -> Vec<&SecretKey> {
    keys.iter().take(keys.len() * 2 / 3 + 1).collect()
}

/// Issue 18.2: a `set_validators` event listing the largest allowed set (256 validators,
/// organisation ids of 64 characters, 14-digit powers), approved by every one of the 256
/// validators in force, with refs, documents and details at their limits, is admitted, changes
/// the set, and a bundle at a head certified by the new set verifies from the genesis.
#[test]
fn the_largest_validator_set_changes_hands_end_to_end() {
    assert_eq!(MAX_APPROVALS, MAX_VALIDATORS);
    let (organisations, org_keys) = orgs(MAX_VALIDATORS);
    let (old, old_keys) = set("old", &organisations, 1);
    // 256 x 35e12 stays below the 2^53-1 total.
    let (new, new_keys) = set("new", &organisations, 35_000_000_000_000);
    let genesis = Genesis {
        chain: CHAIN.into(),
        time: T0,
        organisations,
        validators: old.clone(),
        rules: None,
    };
    genesis.validate().unwrap();
    let change = Change::SetValidators {
        validators: new.clone(),
    };
    let approvals = old_keys
        .iter()
        .map(|k| approve(CHAIN, 1, &change, k))
        .collect();
    let mut body = sample::body(EventKind::Membership, T0).unwrap();
    body.chain = CHAIN.into();
    body.issuer = Issuer {
        org: genesis.organisations[0].id.clone(),
        key: org_keys[0].public(),
    };
    body.refs = (0..16u8).map(|i| Hash([i; 32])).collect();
    body.documents = (0..16u8)
        .map(|i| Document {
            kind: format!("{}{i:02}", "k".repeat(30)),
            alg: DigestAlg::Blake3,
            digest: Hash([i; 32]),
        })
        .collect();
    body.details = (0..32u8)
        .map(|i| (format!("{}{i:02}", "d".repeat(62)), Hash([i; 32])))
        .collect::<BTreeMap<_, _>>();
    body.membership = Some(MembershipBody {
        seq: 1,
        change,
        approvals,
    });
    let event = body.sign(&org_keys[0]).unwrap();
    let canonical = event.message().len() - b"tradelog/event/v1\0".len();
    eprintln!("largest set_validators event: canonical body {canonical} bytes");
    // More than the general body limit (the old limit for every event), within the membership
    // event's limit, and its wire form within the JSON limit.
    assert!(canonical > MAX_BODY_BYTES, "{canonical}");
    assert!(canonical <= MAX_MEMBERSHIP_BODY_BYTES, "{canonical}");
    assert!(event.wire().len() <= MAX_EVENT_JSON_BYTES);
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_slice::<serde_json::Value>(event.wire()).unwrap(),
    )
    .unwrap();
    assert!(pretty.len() <= MAX_EVENT_JSON_BYTES, "{}", pretty.len());
    assert_eq!(Event::from_json(pretty.as_bytes()).unwrap(), event);

    // Block 1 records it (certified by the old set), block 2 is certified by the new set.
    let mut ledger = Ledger::new(&genesis);
    ledger.check(&event).unwrap();
    let h1 = ledger.append_block(vec![event], T0 + 1).unwrap();
    ledger.certify(1, Certificate::sign(&h1, 0, &quorum(&old_keys)));
    assert_eq!(ledger.state().validators(), &new);
    let h2 = ledger.append_block(Vec::new(), T0 + 2).unwrap();
    assert_eq!(h2.validators, new.hash());
    let cert = Certificate::sign(&h2, 0, &quorum(&new_keys));
    let bundle = ledger.bundle(&Subject::Membership, cert).unwrap();
    assert_eq!(bundle.membership.transitions.len(), 1);
    let json = serde_json::to_vec(&bundle).unwrap();
    let proven = ProofBundle::from_json(&json)
        .unwrap()
        .verify(&genesis)
        .unwrap();
    assert_eq!(proven.events.len(), 1);
}

/// Issue 18.6: the JSON text limit and the canonical body limit are two errors, each naming
/// what it measures.
#[test]
fn json_and_canonical_body_limits_are_named_apart() {
    let huge = vec![b' '; MAX_EVENT_JSON_BYTES + 1];
    let err = Event::from_json(&huge).unwrap_err();
    assert!(matches!(err, EventError::TooLarge { .. }));
    assert!(err.to_string().starts_with("event JSON is "), "{err}");
    // A membership event with 700 approvals (structurally parseable; the change rules allow at
    // most 256) has a canonical body above its limit, within the JSON limit.
    let net = SampleNetwork::new(4).unwrap();
    let change = Change::AddKey {
        org: "blue-anchor-lines".parse().unwrap(),
        key: dev_key("limits/extra").public(),
    };
    let approvals = (0..700)
        .map(|i| approve(sample::SAMPLE_CHAIN, 1, &change, &dev_key(&format!("v{i}"))))
        .collect();
    let mut b = sample::body(EventKind::Membership, T0).unwrap();
    b.membership = Some(MembershipBody {
        seq: 1,
        change,
        approvals,
    });
    let key = &net.org_keys["blue-anchor-lines"];
    b.issuer = Issuer {
        org: "blue-anchor-lines".parse().unwrap(),
        key: key.public(),
    };
    let err = b.clone().sign(key).unwrap_err();
    match &err {
        EventError::BodyTooLarge { size, max } => {
            assert_eq!(*max, MAX_MEMBERSHIP_BODY_BYTES);
            assert!(*size > MAX_MEMBERSHIP_BODY_BYTES);
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string().starts_with("body: the canonical body is "),
        "{err}"
    );
    // The same through the wire: the JSON is within its limit, the body is not.
    let wire = serde_json::json!({"body": b, "sig": "00".repeat(64)}).to_string();
    assert!(wire.len() <= MAX_EVENT_JSON_BYTES);
    assert!(matches!(
        Event::from_json(wire.as_bytes()),
        Err(EventError::BodyTooLarge { .. })
    ));
}

fn small_bundle() -> (SampleNetwork, ProofBundle) {
    let net = SampleNetwork::new(4).unwrap();
    let mut ledger = Ledger::new(&net.genesis);
    let route = consignment_route(&net, 1, T0).unwrap();
    let time = route.iter().map(|e| e.body().time).max().unwrap();
    let head = ledger.append_block(route, time).unwrap();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let bundle = ledger
        .bundle(
            &Subject::Consignment(sample_ucr(1)),
            Certificate::sign(&head, 0, &keys),
        )
        .unwrap();
    (net, bundle)
}

/// Issue 18.4: `-0` is a JSON integer by RFC 8259's grammar, and it is refused wherever an
/// integer is expected, even where 0 is valid; a leading UTF-8 byte-order mark is refused.
#[test]
fn minus_zero_and_a_byte_order_mark_are_refused() {
    let (net, bundle) = small_bundle();
    let json = serde_json::to_string(&bundle).unwrap();
    assert!(ProofBundle::from_json(json.as_bytes())
        .unwrap()
        .verify(&net.genesis)
        .is_ok());
    // The first event sits at log index 0 and the certificate at round 0: `-0` in either place.
    for (from, to) in [
        (r#"{"index":0,"#, r#"{"index":-0,"#),
        (r#""round":0,"#, r#""round":-0,"#),
    ] {
        assert!(json.contains(from), "{from}");
        let lie = json.replacen(from, to, 1);
        let err = ProofBundle::from_json(lie.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{to}: {err}");
    }
    // A byte-order mark before the bundle, or before an event.
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(json.as_bytes());
    assert!(ProofBundle::from_json(&bom).is_err());
    let event = bundle.events[0].event.wire().to_vec();
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(&event);
    assert!(matches!(
        Event::from_json(&bom),
        Err(EventError::Malformed(_))
    ));
    assert!(Event::from_json(&event).is_ok());
}

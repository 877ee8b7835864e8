//! Membership changes on the ledger (PROTOCOL.md 8a) and membership proofs (9d): key rotation and
//! revocation, new organisations and validator sets; old proofs stay verifiable, and every lie
//! about the membership history is refused with a specific error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::bundle::BundleError;
use tradelog_protocol::head::CertificateError;
use tradelog_protocol::ledger::LedgerError;
use tradelog_protocol::membership::{Change, ChangeError, MembershipError};
use tradelog_protocol::roles::AuthError;
use tradelog_protocol::sample::{self, consignment_route, dev_key, sample_ucr, SampleNetwork};
use tradelog_protocol::{
    Certificate, Event, EventKind, Ledger, Organisation, Role, SecretKey, Subject, ValidatorSet,
};

const T0: u64 = 1_767_225_600_000;

fn net() -> SampleNetwork {
    SampleNetwork::new(4).unwrap()
}

fn carrier_event(net: &SampleNetwork, key: &SecretKey, n: u32, t: u64) -> Event {
    let mut b = sample::body(EventKind::Booked, t).unwrap();
    b.ucr = Some(sample_ucr(n));
    b.issuer = tradelog_protocol::Issuer {
        org: "blue-anchor-lines".parse().unwrap(),
        key: key.public(),
    };
    let _ = net;
    b.sign(key).unwrap()
}

fn old_key(net: &SampleNetwork) -> SecretKey {
    net.org_keys["blue-anchor-lines"].clone()
}

fn validators(net: &SampleNetwork, n: usize) -> Vec<&SecretKey> {
    net.validator_keys.iter().take(n).collect()
}

/// Appends a block and certifies its head with the first three of `signers`.
fn block(ledger: &mut Ledger, events: Vec<Event>, signers: &[&SecretKey]) {
    let time = events.iter().map(|e| e.body().time).max().unwrap_or(T0) + 1;
    let head = ledger.append_block(events, time).unwrap();
    let cert = Certificate::sign(&head, 0, signers);
    ledger.certify(head.height, cert);
}

fn latest_cert(ledger: &Ledger, signers: &[&SecretKey]) -> Certificate {
    Certificate::sign(ledger.head().unwrap(), 0, signers)
}

#[test]
fn an_organisation_rotates_its_key_and_old_proofs_stay_verifiable() {
    let net = net();
    let mut ledger = Ledger::new(&net.genesis);
    let old = old_key(&net);
    let new = dev_key("rotated/blue-anchor-lines");
    let v3 = validators(&net, 3);
    // Height 1: an event signed with the old key.
    block(&mut ledger, vec![carrier_event(&net, &old, 1, T0)], &v3);
    // Height 2: the organisation adds a key with its own (old) key, no approvals needed.
    let add = Change::AddKey {
        org: "blue-anchor-lines".parse().unwrap(),
        key: new.public(),
    };
    let e = net
        .membership_event("blue-anchor-lines", &old, 1, add, &[], T0 + 1)
        .unwrap();
    block(&mut ledger, vec![e], &v3);
    // Height 3: it revokes the old key, signing with the new one.
    let revoke = Change::RevokeKey {
        org: "blue-anchor-lines".parse().unwrap(),
        key: old.public(),
    };
    let e = net
        .membership_event("blue-anchor-lines", &new, 2, revoke, &[], T0 + 2)
        .unwrap();
    block(&mut ledger, vec![e], &v3);

    // The old key can no longer sign, and the refusal says since when; the new one can.
    let late = carrier_event(&net, &old, 1, T0 + 10);
    let err = ledger.check(&late).unwrap_err();
    assert!(
        matches!(err, LedgerError::Auth(AuthError::RevokedKey { at: 2, .. })),
        "{err}"
    );
    assert!(
        err.to_string().ends_with(&format!(
            "{} of blue-anchor-lines was revoked at log index 2",
            old.public().to_hex()
        )),
        "{err}"
    );
    block(
        &mut ledger,
        vec![carrier_event(&net, &new, 1, T0 + 11)],
        &v3,
    );

    // The consignment's bundle holds one event under each key, and verifies from the genesis.
    let bundle = ledger
        .bundle(
            &Subject::Consignment(sample_ucr(1)),
            latest_cert(&ledger, &v3),
        )
        .unwrap();
    assert_eq!(bundle.membership.events.len(), 2);
    let json = serde_json::to_vec(&bundle).unwrap();
    let back = tradelog_protocol::ProofBundle::from_json(&json).unwrap();
    let p = back.verify(&net.genesis).unwrap();
    assert_eq!(p.events.len(), 2);

    // Dropping the revocation from the proof is detected.
    let mut lie = bundle.clone();
    lie.membership.events.pop();
    assert!(matches!(
        lie.verify(&net.genesis),
        Err(BundleError::Membership(MembershipError::Incomplete { .. }))
    ));
    // Dropping the key addition makes the event signed with the new key unauthorised, and
    // the proof incomplete: whichever is found first, the bundle is refused.
    let mut lie = bundle.clone();
    lie.membership.events.remove(0);
    assert!(lie.verify(&net.genesis).is_err());
    // A bundle that hides the membership entirely is refused.
    let mut lie = bundle;
    lie.membership = Default::default();
    let err = lie.verify(&net.genesis).unwrap_err();
    assert!(
        matches!(
            err,
            BundleError::Membership(MembershipError::Index { .. })
                | BundleError::Membership(MembershipError::IndexProof { .. })
        ),
        "{err}"
    );
}

#[test]
fn change_rules_are_enforced() {
    let net = net();
    let mut ledger = Ledger::new(&net.genesis);
    let v3 = validators(&net, 3);
    let bal = old_key(&net);
    let shopfast = net.org_keys["shopfast"].clone();
    let fresh = dev_key("fresh");
    let add_to_bal = Change::AddKey {
        org: "blue-anchor-lines".parse().unwrap(),
        key: fresh.public(),
    };
    // Another organisation may not add a key to blue-anchor-lines without a quorum...
    let e = net
        .membership_event("shopfast", &shopfast, 1, add_to_bal.clone(), &[], T0)
        .unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Change(ChangeError::NoQuorum { signed: 0, .. }))
    ));
    let two = validators(&net, 2);
    let e = net
        .membership_event("shopfast", &shopfast, 1, add_to_bal.clone(), &two, T0)
        .unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Change(ChangeError::NoQuorum {
            signed: 2,
            total: 4,
            ..
        }))
    ));
    // ...approvals by a non-validator or twice by one are refused...
    let e = net
        .membership_event("shopfast", &shopfast, 1, add_to_bal.clone(), &[&bal], T0)
        .unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Change(ChangeError::NotAValidator(0)))
    ));
    let twice = [v3[0], v3[0], v3[1], v3[2]];
    let e = net
        .membership_event("shopfast", &shopfast, 1, add_to_bal.clone(), &twice, T0)
        .unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Change(ChangeError::DuplicateApproval(1)))
    ));
    // ...an approval for another sequence number does not count...
    let mut e_body = net
        .membership_event("shopfast", &shopfast, 2, add_to_bal.clone(), &v3, T0)
        .unwrap()
        .body()
        .clone();
    e_body.membership.as_mut().unwrap().seq = 1;
    let e = e_body.clone().sign(&shopfast).unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Change(ChangeError::BadApproval(0)))
    ));
    // ...and with three of four validators it is accepted.
    let e = net
        .membership_event("shopfast", &shopfast, 1, add_to_bal, &v3, T0)
        .unwrap();
    ledger.check(&e).unwrap();
    block(&mut ledger, vec![e.clone()], &v3);
    // The same event again is a duplicate; its sequence number is used.
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Change(ChangeError::Seq {
            expected: 2,
            got: 1
        }))
    ));
    // A key once used can never be added again (not even after revocation).
    let again = Change::AddKey {
        org: "shopfast".parse().unwrap(),
        key: fresh.public(),
    };
    let e = net
        .membership_event("shopfast", &shopfast, 2, again, &[], T0)
        .unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Change(ChangeError::KeyUsed { .. }))
    ));
    // An organisation keeps at least one key.
    let last = Change::RevokeKey {
        org: "shopfast".parse().unwrap(),
        key: shopfast.public(),
    };
    let e = net
        .membership_event("shopfast", &shopfast, 2, last, &[], T0)
        .unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Change(ChangeError::KeyCount { .. }))
    ));
    // A new organisation needs a quorum, and may then issue events of its role.
    let forwarder_key = dev_key("org/fast-forwarding");
    let org = Organisation {
        id: "fast-forwarding".parse().unwrap(),
        name: "Fast Forwarding".into(),
        role: Role::Platform,
        keys: vec![forwarder_key.public()],
    };
    let add_org = Change::AddOrganisation { organisation: org };
    let e = net
        .membership_event(
            "nl-customs",
            &net.org_keys["nl-customs"],
            2,
            add_org.clone(),
            &[],
            T0,
        )
        .unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Change(ChangeError::NoQuorum { .. }))
    ));
    let e = net
        .membership_event(
            "nl-customs",
            &net.org_keys["nl-customs"],
            2,
            add_org,
            &v3,
            T0,
        )
        .unwrap();
    block(&mut ledger, vec![e], &v3);
    let mut b = sample::body(EventKind::Booked, T0 + 5).unwrap();
    b.ucr = Some(sample_ucr(7));
    b.issuer = tradelog_protocol::Issuer {
        org: "fast-forwarding".parse().unwrap(),
        key: forwarder_key.public(),
    };
    ledger.check(&b.sign(&forwarder_key).unwrap()).unwrap();
    // Structural rules: a membership event names no consignment; others carry no change.
    let mut b = sample::body(EventKind::Membership, T0).unwrap();
    b.ucr = Some(sample_ucr(1));
    assert!(b.validate().is_err());
    let mut b = sample::body(EventKind::Booked, T0).unwrap();
    b.ucr = Some(sample_ucr(1));
    b.membership = e_body.membership.clone();
    assert!(b.validate().is_err());
}

#[test]
fn a_revocation_binds_the_rest_of_its_block() {
    let net = net();
    let mut ledger = Ledger::new(&net.genesis);
    let old = old_key(&net);
    let new = dev_key("rotated/blue-anchor-lines");
    let add = net
        .membership_event(
            "blue-anchor-lines",
            &old,
            1,
            Change::AddKey {
                org: "blue-anchor-lines".parse().unwrap(),
                key: new.public(),
            },
            &[],
            T0,
        )
        .unwrap();
    let revoke = net
        .membership_event(
            "blue-anchor-lines",
            &new,
            2,
            Change::RevokeKey {
                org: "blue-anchor-lines".parse().unwrap(),
                key: old.public(),
            },
            &[],
            T0,
        )
        .unwrap();
    let after = carrier_event(&net, &old, 3, T0);
    // Add, revoke, then an event by the revoked key, all in one block: refused.
    let err = ledger
        .append_block(vec![add.clone(), revoke.clone(), after.clone()], T0 + 1)
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::Auth(AuthError::RevokedKey { at: 1, .. })),
        "{err}"
    );
    assert!(err.to_string().contains("revoked at log index 1"), "{err}");
    assert_eq!(ledger.log().size(), 0, "nothing written");
    // The event before the revocation in the same block is fine.
    ledger
        .append_block(vec![add, after, revoke], T0 + 1)
        .unwrap();
    assert_eq!(ledger.state().membership_count(), 2);
}

#[test]
fn a_new_validator_set_certifies_the_heights_after_its_block() {
    let net = net();
    let mut ledger = Ledger::new(&net.genesis);
    let v3 = validators(&net, 3);
    let newcomer = dev_key("validator/rhine-barge");
    // The new set: drop the fourth genesis validator, add rhine-barge's node.
    let set = net
        .validators_with(3, &[("rhine-barge", newcomer.public())])
        .unwrap();
    let change = Change::SetValidators {
        validators: set.clone(),
    };
    let route = consignment_route(&net, 1, T0).unwrap();
    block(&mut ledger, route[..4].to_vec(), &v3);
    let e = net
        .membership_event(
            "nl-customs",
            &net.org_keys["nl-customs"],
            1,
            change,
            &v3,
            T0,
        )
        .unwrap();
    let mut events = route[4..6].to_vec();
    events.push(e);
    block(&mut ledger, events, &v3); // height 2: certified by the old set
    assert_eq!(ledger.state().validators(), &set);
    assert_eq!(ledger.state().transitions().len(), 1);
    assert_eq!(
        ledger.head().unwrap().validators,
        net.genesis.validators.hash()
    );
    let new_signers = [v3[0], v3[1], &newcomer];
    block(&mut ledger, route[6..].to_vec(), &new_signers); // height 3: the new set
    assert_eq!(ledger.head().unwrap().validators, set.hash());

    let subject = Subject::Consignment(sample_ucr(1));
    let honest = ledger
        .bundle(&subject, latest_cert(&ledger, &new_signers))
        .unwrap();
    assert_eq!(honest.membership.transitions.len(), 1);
    let p = honest.verify(&net.genesis).unwrap();
    assert_eq!(p.events.len(), route.len());

    // The dropped validator cannot help certify a head after the change.
    let mut lie = honest.clone();
    let dropped = validators(&net, 4);
    lie.certificate = latest_cert(&ledger, &dropped[1..]);
    assert!(matches!(
        lie.verify(&net.genesis),
        Err(BundleError::Certificate(CertificateError::NotAValidator(_)))
    ));
    // Without the transition the head's validators are not those in force.
    let mut lie = honest.clone();
    lie.membership.transitions.clear();
    assert!(matches!(
        lie.verify(&net.genesis),
        Err(BundleError::Certificate(
            CertificateError::ValidatorSet { .. }
        ))
    ));
    // A transition certified by the wrong set is refused.
    let mut lie = honest.clone();
    lie.membership.transitions[0].certificate =
        Certificate::sign(&lie.membership.transitions[0].head, 0, &new_signers);
    assert!(matches!(
        lie.verify(&net.genesis),
        Err(BundleError::Membership(
            MembershipError::TransitionCertificate { .. }
        ))
    ));
    // A transition whose block records no change is refused.
    let mut lie = honest.clone();
    let h1 = ledger.head_at(1).unwrap().clone();
    lie.membership.transitions[0].head = h1.clone();
    lie.membership.transitions[0].certificate = Certificate::sign(&h1, 0, &v3);
    assert!(lie.verify(&net.genesis).is_err());
    // Dropping the set change itself is detected.
    let mut lie = honest;
    lie.membership.events.clear();
    assert!(matches!(
        lie.verify(&net.genesis),
        Err(BundleError::Membership(MembershipError::Incomplete { .. }))
    ));
    // Removing the last validator's organisation from the set is checked like any set:
    // a set naming a non-member organisation is refused.
    let mut bad = net.genesis.validators.validators().to_vec();
    bad[0].org = "no-such-org".parse().unwrap();
    let e = net
        .membership_event(
            "nl-customs",
            &net.org_keys["nl-customs"],
            2,
            Change::SetValidators {
                validators: ValidatorSet::try_from(bad).unwrap(),
            },
            &new_signers,
            T0,
        )
        .unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Change(ChangeError::ValidatorOrg(_)))
    ));
}

/// PROTOCOL.md 8a: a `set_validators` list is canonicalized sorted by key (like the genesis
/// validators), so the order it is given in on the wire changes neither the event id nor the
/// validity of its signature and approvals.
#[test]
fn set_validators_order_on_the_wire_does_not_change_the_event() {
    let net = net();
    let change = Change::SetValidators {
        validators: net.genesis.validators.clone(),
    };
    let e = net
        .membership_event(
            "eu-audit",
            &net.org_keys["eu-audit"],
            1,
            change,
            &validators(&net, 3),
            T0,
        )
        .unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    let list = json["body"]["membership"]["change"]["validators"]
        .as_array_mut()
        .unwrap();
    list.reverse();
    let back = Event::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
    assert_eq!(back.id(), e.id());
    back.verify_signature().unwrap();
    Ledger::new(&net.genesis).check(&back).unwrap();
}

/// Issue 18.1: every block that records a `set_validators` change has its own transition. The
/// sample network's set gains an observer (height 1) and loses it again (height 2), so the set
/// in force at the head (height 3) equals the genesis set; removing either transition, or both,
/// is refused. Before the rule, removing both verified: the verifier took both changes for the
/// head's own block and believed the genesis set certified heights 2 and 3.
#[test]
fn each_recorded_set_validators_change_needs_its_own_transition() {
    let net = net();
    let mut ledger = Ledger::new(&net.genesis);
    let g = validators(&net, 4);
    let observer = dev_key("validator/eu-audit");
    let with_observer = net
        .validators_with(4, &[("eu-audit", observer.public())])
        .unwrap();
    let add = Change::SetValidators {
        validators: with_observer.clone(),
    };
    let e1 = net
        .membership_event("eu-audit", &net.org_keys["eu-audit"], 1, add, &g[..3], T0)
        .unwrap();
    block(&mut ledger, vec![e1], &g[..3]); // height 1, certified by the genesis set
    let back = Change::SetValidators {
        validators: net.genesis.validators.clone(),
    };
    // Approved by the four genesis validators: a quorum of the 5-validator set in force.
    let e2 = net
        .membership_event("eu-audit", &net.org_keys["eu-audit"], 2, back, &g, T0 + 1)
        .unwrap();
    block(&mut ledger, vec![e2], &g); // height 2, certified by the set with the observer
    assert_eq!(ledger.head_at(2).unwrap().validators, with_observer.hash());
    let e3 = carrier_event(&net, &old_key(&net), 1, T0 + 2);
    block(&mut ledger, vec![e3], &g[..3]); // height 3, the genesis set again
    let honest = ledger
        .bundle(&Subject::Membership, latest_cert(&ledger, &g[..3]))
        .unwrap();
    assert_eq!(honest.membership.transitions.len(), 2);
    let p = honest.verify(&net.genesis).unwrap();
    assert_eq!(p.events.len(), 2);

    let mut lie = honest.clone();
    lie.membership.transitions.clear();
    assert!(matches!(
        lie.verify(&net.genesis),
        Err(BundleError::Membership(MembershipError::MissingTransition(
            1
        )))
    ));
    let mut lie = honest.clone();
    lie.membership.transitions.remove(0);
    assert!(lie.verify(&net.genesis).is_err());
    let mut lie = honest.clone();
    lie.membership.transitions.remove(1);
    assert!(lie.verify(&net.genesis).is_err());
    // The same for a route: its consignment bundle carries the same membership proof.
    let route = ledger.bundle(
        &Subject::Consignment(sample_ucr(1)),
        latest_cert(&ledger, &g[..3]),
    );
    let mut lie = route.unwrap();
    lie.membership.transitions.clear();
    assert!(matches!(
        lie.verify(&net.genesis),
        Err(BundleError::Membership(MembershipError::MissingTransition(
            1
        )))
    ));
}

/// PROTOCOL.md 8a: a block records at most one `set_validators` change.
#[test]
fn a_block_records_at_most_one_set_validators_change() {
    let net = net();
    let mut ledger = Ledger::new(&net.genesis);
    let g = validators(&net, 4);
    let observer = dev_key("validator/eu-audit");
    let first = Change::SetValidators {
        validators: net
            .validators_with(4, &[("eu-audit", observer.public())])
            .unwrap(),
    };
    let second = Change::SetValidators {
        validators: net.validators_with(3, &[]).unwrap(),
    };
    let e1 = net
        .membership_event("eu-audit", &net.org_keys["eu-audit"], 1, first, &g, T0)
        .unwrap();
    let e2 = net
        .membership_event("eu-audit", &net.org_keys["eu-audit"], 2, second, &g, T0)
        .unwrap();
    let err = ledger
        .append_block(vec![e1.clone(), e2.clone()], T0 + 1)
        .unwrap_err();
    assert_eq!(
        err,
        LedgerError::Change(ChangeError::SetValidatorsTwice),
        "{err}"
    );
    assert_eq!(ledger.log().size(), 0);
    // One per block is fine (the second is then approved by the set the first installed).
    ledger.append_block(vec![e1], T0 + 1).unwrap();
    ledger.append_block(vec![e2], T0 + 2).unwrap();
}

/// Issue 18.3: a membership-subject bundle's events are the membership proof's events at the
/// same log indices (their admission needs the validator sets the proof establishes).
#[test]
fn membership_subject_events_are_the_proofs_own() {
    let net = net();
    let mut ledger = Ledger::new(&net.genesis);
    let v3 = validators(&net, 3);
    let old = old_key(&net);
    let new = dev_key("rotated/blue-anchor-lines");
    let add = Change::AddKey {
        org: "blue-anchor-lines".parse().unwrap(),
        key: new.public(),
    };
    let e = net
        .membership_event("blue-anchor-lines", &old, 1, add, &[], T0)
        .unwrap();
    block(&mut ledger, vec![carrier_event(&net, &old, 1, T0), e], &v3);
    let honest = ledger
        .bundle(&Subject::Membership, latest_cert(&ledger, &v3))
        .unwrap();
    honest.verify(&net.genesis).unwrap();
    assert_eq!(honest.events[0].index, 1);
    // The bundle names another log index for the event than the proof does.
    let mut lie = honest.clone();
    lie.events[0].index = 0;
    assert_eq!(
        lie.verify(&net.genesis).unwrap_err(),
        BundleError::NotInMembershipProof(0)
    );
    // The proof no longer holds the bundle's event at that index.
    let mut lie = honest;
    lie.membership.events[0].index = 0;
    assert!(lie.verify(&net.genesis).is_err());
}

/// Organisation names are shown to people: a control character (an ESC that starts a terminal
/// sequence, a newline that forges a line, C1 controls) is refused in the genesis and in an
/// `add_organisation` change, with the field and the code point named; other Unicode is kept.
#[test]
fn organisation_names_refuse_control_characters() {
    let net = net();
    let ledger = Ledger::new(&net.genesis);
    let v3 = validators(&net, 3);
    for (name, bad) in [
        ("Fast\u{1b}[2K Forwarding", Some("U+001B")),
        ("Fast\nForwarding", Some("U+000A")),
        ("Fast\u{9b}Forwarding", Some("U+009B")),
        ("Fast\u{7f}", Some("U+007F")),
        ("Fast \u{202e}gnp.exe", Some("U+202E")),
        ("Fast \u{2066}x", Some("U+2066")),
        ("Fast Forwarding — Zürich 🚢", None),
    ] {
        let org = Organisation {
            id: "fast-forwarding".parse().unwrap(),
            name: name.into(),
            role: Role::Platform,
            keys: vec![dev_key("org/fast-forwarding").public()],
        };
        // In a genesis.
        let mut genesis = serde_json::to_value(&net.genesis).unwrap();
        genesis["organisations"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::to_value(&org).unwrap());
        let parsed = tradelog_protocol::Genesis::from_json(genesis.to_string().as_bytes());
        // In a membership change.
        let e = net
            .membership_event(
                "nl-customs",
                &net.org_keys["nl-customs"],
                1,
                Change::AddOrganisation { organisation: org },
                &v3,
                T0,
            )
            .unwrap();
        match bad {
            Some(code) => {
                let err = parsed.unwrap_err();
                assert!(
                    err.contains("name") && err.contains(code),
                    "{name:?}: {err}"
                );
                match ledger.check(&e) {
                    Err(LedgerError::Change(ChangeError::Organisation { field, reason })) => {
                        assert_eq!(field, "name");
                        assert!(reason.contains(code), "{reason}");
                    }
                    other => panic!("{name:?}: {other:?}"),
                }
            }
            None => {
                parsed.unwrap();
                ledger.check(&e).unwrap();
            }
        }
    }
}

//! Source uniqueness (PROTOCOL.md 3.2 `source`, 8e): an organisation records one event of a
//! standard's feed once per consignment and container, at admission, in block building and in
//! verification; the member's own rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::bundle::BundleError;
use tradelog_protocol::event::Source;
use tradelog_protocol::sample::{self, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{
    Certificate, ContainerId, Event, EventKind, Ledger, LedgerError, SecretKey, Subject,
};

const HOUR: u64 = 3_600_000;

fn dcsa(id: &str) -> Option<Source> {
    Some(Source {
        standard: "dcsa".into(),
        id: id.into(),
    })
}

/// A carrier's gate-in of consignment 2's container, imported from DCSA event `source`;
/// `minute` changes the body (a re-delivery serialised differently is a different event).
fn gate_in(
    net: &SampleNetwork,
    source: Option<Source>,
    container: &ContainerId,
    minute: u64,
) -> Event {
    let mut b = sample::body(EventKind::GateIn, net.genesis.time + HOUR + minute * 60_000).unwrap();
    b.ucr = Some(sample_ucr(2));
    b.container = Some(container.clone());
    b.location = Some("CNSHA".parse().unwrap());
    b.source = source;
    net.sign("blue-anchor-lines", b).unwrap()
}

/// The platform's booking of consignment 2, naming Blue Anchor Lines a party.
fn booking(net: &SampleNetwork) -> Event {
    let mut b = sample::body(EventKind::Booked, net.genesis.time).unwrap();
    b.ucr = Some(sample_ucr(2));
    b.parties = Some(vec!["blue-anchor-lines".parse().unwrap()]);
    net.sign("shopfast", b).unwrap()
}

fn none(_: &tradelog_protocol::EventId) -> bool {
    false
}

#[test]
fn a_source_event_is_recorded_once_per_consignment_and_container() {
    let net = SampleNetwork::new(4).unwrap();
    let c1 = sample_container(2);
    let c2 = sample_container(3);
    let first = gate_in(&net, dcsa("84db923d-2a19-4eb0-beb5-446c1ec57d34"), &c1, 0);
    let again = gate_in(&net, dcsa("84db923d-2a19-4eb0-beb5-446c1ec57d34"), &c1, 1);
    assert_ne!(first.id(), again.id());
    let mut ledger = Ledger::new(&net.genesis);
    let t = net.genesis.time + 2 * HOUR;
    ledger
        .append_block(vec![booking(&net), first.clone()], t)
        .unwrap();

    // Delivered again, serialised differently: refused, naming the first.
    let state = ledger.state();
    let r = state.check_event(&again, &none);
    match &r {
        Err(LedgerError::SameSource { first: f, key }) => {
            assert_eq!(*f, first.id());
            assert_eq!(key.source.id, "84db923d-2a19-4eb0-beb5-446c1ec57d34");
        }
        other => panic!("{other:?}"),
    }
    assert!(r.unwrap_err().to_string().starts_with("body.source: "));
    assert!(matches!(
        ledger.clone().append_block(vec![again.clone()], t + 1),
        Err(LedgerError::SameSource { .. })
    ));
    // Twice in one block: the second is refused, and block building leaves it out.
    let other = gate_in(&net, dcsa("second"), &c1, 2);
    let other_again = gate_in(&net, dcsa("second"), &c1, 3);
    assert!(matches!(
        state.check_block(&[other.clone(), other_again.clone()], t + 1, &none),
        Err(LedgerError::SameSource { first, .. }) if first == other.id()
    ));
    let (kept, refused) = ledger.state().chain().select(
        vec![other.clone(), other_again.clone()],
        t + 1,
        &none,
        &tradelog_protocol::parties::Committed::default(),
    );
    assert_eq!(kept, vec![other.clone()]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    // The same source for another container (an EPCIS event naming two) or without one, and
    // events without a source, are not duplicates.
    let mut l2 = ledger.clone();
    l2.append_block(
        vec![
            gate_in(&net, dcsa("84db923d-2a19-4eb0-beb5-446c1ec57d34"), &c2, 0),
            gate_in(&net, None, &c1, 5),
            gate_in(&net, None, &c1, 6),
        ],
        t + 1,
    )
    .unwrap();
}

#[test]
fn a_bundle_with_a_repeated_source_is_refused_by_the_verifier() {
    // Validators that skipped the rule cannot make a light client accept a repeated history.
    let net = SampleNetwork::new(4).unwrap();
    let c1 = sample_container(2);
    let first = gate_in(&net, dcsa("e-1"), &c1, 0);
    let again = gate_in(&net, dcsa("e-1"), &c1, 1);
    let t = net.genesis.time + 2 * HOUR;
    let mut ledger = Ledger::new(&net.genesis);
    ledger.append_block(vec![booking(&net), first], t).unwrap();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let honest = ledger
        .bundle(
            &Subject::Consignment(sample_ucr(2)),
            Certificate::sign(ledger.head().unwrap(), 0, &keys),
        )
        .unwrap();
    assert!(honest.verify(&net.genesis).is_ok());
    ledger.append_unchecked(vec![again], t + 1);
    let cert = Certificate::sign(ledger.head().unwrap(), 0, &keys);
    for subject in [
        Subject::Consignment(sample_ucr(2)),
        Subject::Container(c1.clone()),
    ] {
        let b = ledger.bundle(&subject, cert.clone()).unwrap();
        let r = b.verify(&net.genesis);
        assert!(
            matches!(r, Err(BundleError::SameSource { .. })),
            "{subject:?}: {r:?}"
        );
    }
}

#[test]
fn the_source_member_has_rules() {
    let net = SampleNetwork::new(4).unwrap();
    let c1 = sample_container(2);
    let ok = gate_in(
        &net,
        dcsa("urn:uuid:84db923d-2a19-4eb0-beb5-446c1ec57d34"),
        &c1,
        0,
    );
    assert!(ok.body().validate().is_ok());
    let json = ok.to_json();
    assert!(json.contains(r#""refs":[],"source":{"id":"urn:uuid:84db923d-2a19-4eb0-beb5-446c1ec57d34","standard":"dcsa"},"time":"#), "{json}");
    assert_eq!(Event::from_json(json.as_bytes()).unwrap().id(), ok.id());
    let bad = |standard: &str, id: &str| {
        let mut b = ok.body().clone();
        b.source = Some(Source {
            standard: standard.into(),
            id: id.into(),
        });
        b.validate().unwrap_err().to_string()
    };
    assert!(bad("DCSA", "x").starts_with("body.source.standard: "));
    assert!(bad("", "x").starts_with("body.source.standard: "));
    assert!(bad("dcsa", "").starts_with("body.source.id: "));
    assert!(bad("dcsa", "has space").starts_with("body.source.id: "));
    assert!(bad("dcsa", "é").starts_with("body.source.id: "));
    assert!(bad("dcsa", &"x".repeat(257)).starts_with("body.source.id: "));
    let mut long = ok.body().clone();
    long.source = dcsa(&"x".repeat(256));
    assert!(long.validate().is_ok());
    // `null` and unknown members are refused like everywhere else.
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for patch in [
        serde_json::Value::Null,
        serde_json::json!({"standard": "dcsa", "id": "x", "extra": 1}),
        serde_json::json!({"standard": "dcsa"}),
    ] {
        let mut j = v.clone();
        j["body"]["source"] = patch.clone();
        assert!(
            Event::from_json(j.to_string().as_bytes()).is_err(),
            "{patch}"
        );
    }
}

//! Corrections (PROTOCOL.md 3.2 `retracts`, 3.4 `retracted`, 8g, 9 step 6): the member's rules,
//! admission against the log and the earlier events of a block, and the same rule in bundle
//! verification (validators that skip it cannot make a light client accept a bad retraction).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::bundle::BundleError;
use tradelog_protocol::event::{Retracts, Source};
use tradelog_protocol::sample::{self, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{
    Certificate, Event, EventBody, EventKind, Ledger, LedgerError, SecretKey, Subject,
};

const HOUR: u64 = 3_600_000;

fn dcsa(id: &str) -> Source {
    Source {
        standard: "dcsa".into(),
        id: id.into(),
    }
}

fn none(_: &tradelog_protocol::EventId) -> bool {
    false
}

/// The platform's booking of consignment 3, naming Blue Anchor Lines a party.
fn booking(net: &SampleNetwork) -> Event {
    let mut b = sample::body(EventKind::Booked, net.genesis.time).unwrap();
    b.ucr = Some(sample_ucr(3));
    b.parties = Some(vec!["blue-anchor-lines".parse().unwrap()]);
    net.sign("shopfast", b).unwrap()
}

fn carrier_body(net: &SampleNetwork, kind: EventKind, minute: u64) -> EventBody {
    let mut b = sample::body(kind, net.genesis.time + HOUR + minute * 60_000).unwrap();
    b.ucr = Some(sample_ucr(3));
    b.container = Some(sample_container(3));
    if kind.requires_location() {
        b.location = Some("NLRTM".parse().unwrap());
    }
    b
}

/// The carrier's arrival imported from DCSA event `e-1`.
fn arrival(net: &SampleNetwork) -> Event {
    let mut b = carrier_body(net, EventKind::Arrived, 0);
    b.source = Some(dcsa("e-1"));
    net.sign("blue-anchor-lines", b).unwrap()
}

fn retraction(net: &SampleNetwork, org: &str, retracts: Retracts, minute: u64) -> Event {
    let mut b = carrier_body(net, EventKind::Retracted, minute);
    b.retracts = Some(retracts);
    net.sign(org, b).unwrap()
}

#[test]
fn retracts_is_present_exactly_for_kind_retracted() {
    let net = SampleNetwork::new(4).unwrap();
    let mut b = carrier_body(&net, EventKind::Retracted, 1);
    let e = b.validate().unwrap_err().to_string();
    assert!(e.starts_with("body.retracts: required"), "{e}");
    b.retracts = Some(Retracts::Source(dcsa("e-1")));
    b.validate().unwrap();
    let mut other = carrier_body(&net, EventKind::Arrived, 1);
    other.retracts = Some(Retracts::Source(dcsa("e-1")));
    let e = other.validate().unwrap_err().to_string();
    assert!(e.starts_with("body.retracts: only allowed"), "{e}");
    b.retracts = Some(Retracts::Source(dcsa("")));
    let e = b.validate().unwrap_err().to_string();
    assert!(e.starts_with("body.retracts.source: "), "{e}");
    // Wire forms: exactly one of `event`, `source`.
    let signed = retraction(&net, "blue-anchor-lines", Retracts::Source(dcsa("e-1")), 1);
    let wire = signed.to_json();
    assert_eq!(Event::from_json(wire.as_bytes()).unwrap(), signed);
    for bad in [
        r#""retracts":{}"#.to_owned(),
        format!(
            r#""retracts":{{"event":"{}","source":{{"id":"e-1","standard":"dcsa"}}}}"#,
            "00".repeat(32)
        ),
        r#""retracts":{"other":"x"}"#.to_owned(),
    ] {
        let forged = wire.replace(
            r#""retracts":{"source":{"id":"e-1","standard":"dcsa"}}"#,
            &bad,
        );
        assert_ne!(forged, wire);
        assert!(Event::from_json(forged.as_bytes()).is_err(), "{bad}");
    }
    // The canonical writer agrees with the generic JCS path.
    let body = signed.body().clone();
    assert_eq!(
        body.canonical_via_value().unwrap(),
        signed.message()[tradelog_protocol::event::EVENT_DOMAIN.len() + 1..].to_vec()
    );
}

#[test]
fn an_issuer_retracts_its_own_earlier_event_once() {
    let net = SampleNetwork::new(4).unwrap();
    let arrived = arrival(&net);
    let mut ledger = Ledger::new(&net.genesis);
    let t = net.genesis.time + 2 * HOUR;
    ledger
        .append_block(vec![booking(&net), arrived.clone()], t)
        .unwrap();
    let state = ledger.state();
    let by_source = retraction(&net, "blue-anchor-lines", Retracts::Source(dcsa("e-1")), 5);
    let by_id = retraction(&net, "blue-anchor-lines", Retracts::Event(arrived.id()), 6);
    assert!(state.check_event(&by_source, &none).is_ok());
    assert!(state.check_event(&by_id, &none).is_ok());
    let refused = |e: &Event, want: &str| {
        let err = ledger.state().check_event(e, &none).unwrap_err();
        assert!(matches!(err, LedgerError::Retraction(_)), "{err:?}");
        assert!(err.to_string().contains(want), "{err}");
        assert!(err.to_string().starts_with("body.retracts: "), "{err}");
    };
    refused(
        &retraction(&net, "blue-anchor-lines", Retracts::Source(dcsa("e-9")), 5),
        "no earlier event dcsa \"e-9\" of blue-anchor-lines",
    );
    refused(
        &retraction(
            &net,
            "blue-anchor-lines",
            Retracts::Event(booking(&net).id()),
            5,
        ),
        "was issued by shopfast: an organisation retracts only its own events",
    );
    let mut b = carrier_body(&net, EventKind::Retracted, 5);
    b.container = Some(sample_container(4));
    b.retracts = Some(Retracts::Event(arrived.id()));
    refused(
        &net.sign("blue-anchor-lines", b).unwrap(),
        "names other subjects",
    );
    // Another organisation's event, even a party's: refused.
    let mut b = sample::body(EventKind::Retracted, net.genesis.time + HOUR).unwrap();
    b.ucr = Some(sample_ucr(3));
    b.retracts = Some(Retracts::Event(arrived.id()));
    let theirs = net.sign("shopfast", b).unwrap();
    refused(&theirs, "an organisation retracts only its own events");
    // Once: a second retraction in the same block, or after the first is committed.
    let mut l2 = ledger.clone();
    assert!(matches!(
        l2.clone()
            .append_block(vec![by_source.clone(), by_id.clone()], t + 1),
        Err(LedgerError::Retraction(m)) if m.contains("already retracted")
    ));
    l2.append_block(vec![by_source.clone()], t + 1).unwrap();
    let err = l2.state().check_event(&by_id, &none).unwrap_err();
    assert!(err.to_string().contains("already retracted by"), "{err}");
    // A retraction is not retracted.
    let again = retraction(
        &net,
        "blue-anchor-lines",
        Retracts::Event(by_source.id()),
        9,
    );
    let err = l2.state().check_event(&again, &none).unwrap_err();
    assert!(
        err.to_string().contains("retracted event, which is not"),
        "{err}"
    );
    // Retracting in the block that records the event: the event must come first.
    let fresh = {
        let mut b = carrier_body(&net, EventKind::Discharged, 20);
        b.source = Some(dcsa("e-2"));
        net.sign("blue-anchor-lines", b).unwrap()
    };
    let fix = retraction(&net, "blue-anchor-lines", Retracts::Source(dcsa("e-2")), 21);
    assert!(ledger
        .clone()
        .append_block(vec![fix.clone(), fresh.clone()], t + 1)
        .is_err());
    ledger.append_block(vec![fresh, fix], t + 1).unwrap();
}

#[test]
fn bundles_show_retracted_events_and_refuse_bad_retractions() {
    let net = SampleNetwork::new(4).unwrap();
    let arrived = arrival(&net);
    let t = net.genesis.time + 2 * HOUR;
    let mut ledger = Ledger::new(&net.genesis);
    let fix = retraction(&net, "blue-anchor-lines", Retracts::Source(dcsa("e-1")), 5);
    ledger
        .append_block(vec![booking(&net), arrived.clone(), fix.clone()], t)
        .unwrap();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let cert = Certificate::sign(ledger.head().unwrap(), 0, &keys);
    for subject in [
        Subject::Consignment(sample_ucr(3)),
        Subject::Container(sample_container(3)),
    ] {
        let p = ledger
            .bundle(&subject, cert.clone())
            .unwrap()
            .verify(&net.genesis)
            .unwrap();
        let at = |e: &Event| p.events.iter().find(|(_, x)| x == e).unwrap().0;
        assert_eq!(p.retracted_by(at(&arrived)), Some(at(&fix)), "{subject}");
        assert_eq!(p.retracted.len(), 1);
    }
    // Validators that skip the rule: a second retraction of the same event is in the log; the
    // verifier refuses the history, naming the second.
    let twice = retraction(&net, "blue-anchor-lines", Retracts::Event(arrived.id()), 6);
    ledger.append_unchecked(vec![twice], t + 1);
    let cert = Certificate::sign(ledger.head().unwrap(), 0, &keys);
    let b = ledger
        .bundle(&Subject::Consignment(sample_ucr(3)), cert)
        .unwrap();
    match b.verify(&net.genesis) {
        Err(BundleError::Retraction { pos, reason }) => {
            assert_eq!(pos, 3);
            assert!(
                reason.contains("already retracted by events[2]"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    // And one naming no earlier event.
    let mut l2 = Ledger::new(&net.genesis);
    l2.append_unchecked(
        vec![
            booking(&net),
            retraction(&net, "blue-anchor-lines", Retracts::Source(dcsa("e-1")), 5),
            arrival(&net),
        ],
        t,
    );
    let cert = Certificate::sign(l2.head().unwrap(), 0, &keys);
    let r = l2
        .bundle(&Subject::Consignment(sample_ucr(3)), cert)
        .unwrap()
        .verify(&net.genesis);
    assert!(
        matches!(&r, Err(BundleError::Retraction { pos: 1, reason }) if reason.starts_with("no earlier event")),
        "{r:?}"
    );
}

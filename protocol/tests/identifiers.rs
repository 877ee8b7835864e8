//! Trade identifiers and links (PROTOCOL.md sections 2, 3.2 `ids`, 3.4 `linked`, 5, 8f, 9b
//! version 3): the identifier rules, who may link what, identifier subjects in the index and in
//! bundles, and group routes that give the same verified history whichever member is asked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::ids::{gs1_check_digit, TradeId};
use tradelog_protocol::route::{GroupRoute, RouteDoc, RouteError, Source};
use tradelog_protocol::sample::{self, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{
    Certificate, Event, EventBody, EventKind, Ledger, LedgerError, SecretKey, Subject,
};

const HOUR: u64 = 3_600_000;

fn tid(s: &str) -> TradeId {
    s.parse().unwrap()
}

#[test]
fn trade_identifiers_are_checked_not_normalised() {
    for ok in [
        "bl:blue-anchor-lines:BALRTM0001",
        "bkg:blue-anchor-lines:BK-123/4.5",
        "sscc:106141412345678908",
        "sscc:000000000000000000",
    ] {
        assert!(ok.parse::<TradeId>().is_ok(), "{ok}");
    }
    for (bad, why) in [
        ("sscc:106141412345678907", "check digit is 7, expected 8"),
        ("sscc:10614141234567890", "18 digits"),
        ("bl:blue-anchor-lines:balrtm0001", "number must be"),
        ("bl:Blue-Anchor:X1", "carrier"),
        ("bl:blue-anchor-lines", "<type>:<carrier"),
        ("bl:blue-anchor-lines:", "number must be"),
        ("BL:blue-anchor-lines:X1", "must start with"),
        ("awb:blue-anchor-lines:X1", "must start with"),
        (
            "bl:blue-anchor-lines:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            "1-35",
        ),
    ] {
        let e = bad.parse::<TradeId>().unwrap_err().to_string();
        assert!(e.contains(why), "{bad}: {e}");
    }
    // GS1's example SSCC and a GTIN-13 check digit from the GS1 General Specifications.
    assert_eq!(gs1_check_digit(b"10614141234567890"), Some(8));
    assert_eq!(gs1_check_digit(b"629104150021"), Some(3));
    let t = tid("bkg:north-star-shipping:B1");
    assert_eq!(t.carrier(), Some("north-star-shipping"));
    assert_eq!(tid("sscc:106141412345678908").carrier(), None);
}

fn body(kind: EventKind, ids: &[&str]) -> EventBody {
    let mut b = sample::body(kind, 1_767_225_600_000).unwrap();
    b.ids = Some(ids.iter().map(|s| tid(s)).collect());
    b
}

#[test]
fn ids_and_linked_keep_their_structural_rules() {
    let ok = body(EventKind::Booked, &["bkg:blue-anchor-lines:B1"]);
    ok.validate().unwrap();
    let cases: Vec<(EventBody, &str)> = vec![
        (
            body(
                EventKind::Booked,
                &["bl:blue-anchor-lines:B1", "bkg:blue-anchor-lines:B1"],
            ),
            "body.ids: trade identifiers must be in ascending order",
        ),
        (
            body(
                EventKind::Booked,
                &["bkg:blue-anchor-lines:B1", "bkg:blue-anchor-lines:B1"],
            ),
            "body.ids: trade identifiers must be in ascending order, each once",
        ),
        (
            {
                let mut b = body(EventKind::Booked, &[]);
                b.ids = Some(vec![]);
                b
            },
            "body.ids: 1 to 16",
        ),
        (
            body(EventKind::Linked, &["bkg:blue-anchor-lines:B1"]),
            "body.ids: a linked event names at least two",
        ),
        (
            {
                let mut b = body(
                    EventKind::Linked,
                    &["bkg:blue-anchor-lines:B1", "bl:blue-anchor-lines:B1"],
                );
                b.container = Some(sample_container(1));
                b
            },
            "body.container: a linked event",
        ),
    ];
    for (b, want) in cases {
        let e = b.validate().unwrap_err().to_string();
        assert!(e.starts_with(want), "{e}");
    }
    // 17 identifiers are too many.
    let many: Vec<String> = (0..17)
        .map(|i| format!("bkg:blue-anchor-lines:B{i:02}"))
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let e = body(EventKind::Booked, &refs).validate().unwrap_err();
    assert!(e.to_string().starts_with("body.ids: 1 to 16"), "{e}");
    // Packing names the consignment by its UCR or its identifiers (a carrier's booking).
    let mut packed = body(EventKind::Packed, &["bkg:blue-anchor-lines:B1"]);
    packed.container = Some(sample_container(1));
    packed.location = Some("CNSHA".parse().unwrap());
    packed.validate().unwrap();
    packed.ids = None;
    let e = packed.validate().unwrap_err().to_string();
    assert!(
        e.starts_with("body.ucr: required for kind packed (or ids)"),
        "{e}"
    );
    // A UCR and one identifier are two subjects: a valid link.
    let mut b = body(EventKind::Linked, &["bl:blue-anchor-lines:B1"]);
    b.ucr = Some(sample_ucr(1));
    b.validate().unwrap();
    // The canonical body round-trips through the generic JCS path.
    let e = b.clone().sign(&SecretKey::from_seed(&[7; 32])).unwrap();
    assert_eq!(
        b.canonical_via_value().unwrap(),
        e.message()[tradelog_protocol::event::EVENT_DOMAIN.len() + 1..].to_vec()
    );
    assert_eq!(Event::from_json(e.to_json().as_bytes()).unwrap(), e);
}

#[test]
fn who_may_link_what() {
    let net = SampleNetwork::new(4).unwrap();
    let ledger = Ledger::new(&net.genesis);
    let state = ledger.state();
    let none = |_: &tradelog_protocol::EventId| false;
    let link = |org: &str, ids: &[&str]| {
        let mut b = body(EventKind::Linked, ids);
        b.time = net.genesis.time + HOUR;
        net.sign(org, b).unwrap()
    };
    let own = ["bkg:blue-anchor-lines:B1", "bl:blue-anchor-lines:BL1"];
    assert!(state
        .check_event(&link("blue-anchor-lines", &own), &none)
        .is_ok());
    // Another carrier's documents: refused, naming the identifier.
    let theirs = ["bkg:blue-anchor-lines:B1", "bl:north-star-shipping:BL9"];
    let e = state
        .check_event(&link("blue-anchor-lines", &theirs), &none)
        .unwrap_err();
    assert!(matches!(e, LedgerError::Auth(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("body.ids: bl:north-star-shipping:BL9: a carrier links only its own"),
        "{e}"
    );
    // A platform (the declarant) and customs link any carrier's documents to a UCR (the party
    // rule guards the UCR); identifiers alone they do not link (only their carrier does).
    let to_ucr = |org: &str, ids: &[&str]| {
        let mut b = body(EventKind::Linked, ids);
        b.time = net.genesis.time + HOUR;
        b.ucr = Some(sample_ucr(9));
        net.sign(org, b).unwrap()
    };
    assert!(state
        .check_event(&to_ucr("shopfast", &theirs), &none)
        .is_ok());
    assert!(state
        .check_event(&to_ucr("nl-customs", &theirs), &none)
        .is_ok());
    for org in ["shopfast", "nl-customs"] {
        let e = state.check_event(&link(org, &theirs), &none).unwrap_err();
        assert!(
            e.to_string().starts_with("body.ucr: ")
                && e.to_string()
                    .contains("a link of identifiers alone is their carrier's"),
            "{e}"
        );
    }
    let sscc = ["bl:blue-anchor-lines:BL1", "sscc:106141412345678908"];
    assert!(state
        .check_event(&link("blue-anchor-lines", &sscc), &none)
        .is_ok());
    // An auditor links nothing.
    let e = state
        .check_event(&link("eu-audit", &own), &none)
        .unwrap_err();
    assert!(e.to_string().starts_with("body.kind: "), "{e}");
    // Naming another carrier's B/L in an ordinary event is no link, and allowed.
    let mut b = body(EventKind::Arrived, &["bl:north-star-shipping:BL9"]);
    b.time = net.genesis.time + HOUR;
    b.location = Some("NLRTM".parse().unwrap());
    let e = net.sign("blue-anchor-lines", b).unwrap();
    assert!(state.check_event(&e, &none).is_ok());
}

/// A consignment booked by the platform under a UCR, the carrier's B/L events (no UCR: as a DCSA
/// feed names them) in one container, and the links between them.
struct Story {
    net: SampleNetwork,
    ledger: Ledger,
    cert: Certificate,
}

const BL: &str = "bl:blue-anchor-lines:BALRTM0001";
const BKG: &str = "bkg:blue-anchor-lines:BK12345";

fn story(link_ucr: bool) -> Story {
    let net = SampleNetwork::new(4).unwrap();
    let t0 = net.genesis.time;
    let container = sample_container(4);
    let mut booked = sample::body(EventKind::Booked, t0 + HOUR).unwrap();
    booked.ucr = Some(sample_ucr(4));
    booked.parties = Some(vec!["blue-anchor-lines".parse().unwrap()]);
    let booked = net.sign("shopfast", booked).unwrap();
    let mut loaded = body(EventKind::Loaded, &[BKG, BL]);
    loaded.time = t0 + 2 * HOUR;
    loaded.container = Some(container.clone());
    loaded.location = Some("CNSHA".parse().unwrap());
    let loaded = net.sign("blue-anchor-lines", loaded).unwrap();
    // The container's own movement (no consignment named): enters the route in its window.
    let mut gate = sample::body(EventKind::GateOut, t0 + 3 * HOUR).unwrap();
    gate.container = Some(container.clone());
    gate.location = Some("CNSHA".parse().unwrap());
    let gate = net.sign("blue-anchor-lines", gate).unwrap();
    // Another B/L's event in the same container: not this route's.
    let mut other = body(EventKind::Discharged, &["bl:blue-anchor-lines:OTHER"]);
    other.time = t0 + 4 * HOUR;
    other.container = Some(container);
    other.location = Some("NLRTM".parse().unwrap());
    let other = net.sign("blue-anchor-lines", other).unwrap();
    // The carrier links its booking to its B/L.
    let mut carrier_link = body(EventKind::Linked, &[BKG, BL]);
    carrier_link.time = t0 + HOUR;
    let carrier_link = net.sign("blue-anchor-lines", carrier_link).unwrap();
    let mut events = vec![booked, loaded, gate, other, carrier_link];
    if link_ucr {
        // The declarant (the platform) links the UCR to the carrier's B/L.
        let mut b = body(EventKind::Linked, &[BL]);
        b.ucr = Some(sample_ucr(4));
        b.time = t0 + 5 * HOUR;
        events.push(net.sign("shopfast", b).unwrap());
    }
    let mut ledger = Ledger::new(&net.genesis);
    ledger.append_block(events, t0 + 6 * HOUR).unwrap();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let cert = Certificate::sign(ledger.head().unwrap(), 0, &keys);
    Story { net, ledger, cert }
}

fn ids_of(route: &tradelog_protocol::Route) -> Vec<(u64, bool)> {
    route
        .timeline
        .iter()
        .map(|(i, _, s)| (*i, *s == Source::Consignment))
        .collect()
}

#[test]
fn provenance_by_any_linked_identifier_is_the_same_verified_route() {
    let s = story(true);
    let subjects = [
        Subject::Consignment(sample_ucr(4)),
        Subject::Identifier(tid(BL)),
        Subject::Identifier(tid(BKG)),
    ];
    let mut timelines = Vec::new();
    for subject in &subjects {
        let g = s.ledger.group_route(subject, s.cert.clone()).unwrap();
        assert_eq!(g.subjects.len(), 3, "{subject}");
        // Through the JSON form a client receives.
        let json = serde_json::to_string(&g).unwrap();
        let doc = RouteDoc::from_json(json.as_bytes()).unwrap();
        let route = doc.verify(&s.net.genesis).unwrap();
        assert!(route.subjects().any(|x| x == subject));
        assert_eq!(route.consignment.subject, subjects[0], "the UCR leads");
        timelines.push(ids_of(&route));
    }
    assert_eq!(timelines[0], timelines[1]);
    assert_eq!(timelines[0], timelines[2]);
    // booked, carrier link, loaded, gate-out (from the container), the UCR link; not the other
    // B/L's discharge.
    let t = &timelines[0];
    assert_eq!(t.len(), 5, "{t:?}");
    assert_eq!(t.iter().filter(|(_, own)| !own).count(), 1, "{t:?}");
    assert!(!t.iter().any(|(i, _)| *i == 3), "{t:?}");
}

#[test]
fn without_the_ucr_link_the_carrier_documents_are_their_own_group() {
    let s = story(false);
    let g = s
        .ledger
        .group_route(&Subject::Consignment(sample_ucr(4)), s.cert.clone())
        .unwrap();
    assert_eq!(g.subjects.len(), 1);
    let g = s
        .ledger
        .group_route(&Subject::Identifier(tid(BL)), s.cert.clone())
        .unwrap();
    assert_eq!(g.subjects.len(), 2);
    let route = g.verify(&s.net.genesis).unwrap();
    // loaded, gate-out (the container's, by an issuer of the group's events), carrier link.
    assert_eq!(route.timeline.len(), 3, "{:?}", ids_of(&route));
}

#[test]
fn a_group_route_that_omits_or_adds_a_subject_is_refused() {
    let s = story(true);
    let g = s
        .ledger
        .group_route(&Subject::Identifier(tid(BL)), s.cert.clone())
        .unwrap();
    let verify = |g: &GroupRoute| g.verify(&s.net.genesis).map(|_| ());
    assert!(verify(&g).is_ok());
    // Omitted: a subject a linked event names has no bundle.
    let mut omitted = g.clone();
    let pos = omitted
        .subjects
        .iter()
        .position(|b| b.subject == Subject::Identifier(tid(BKG)))
        .unwrap();
    omitted.subjects.remove(pos);
    let e = verify(&omitted).unwrap_err();
    assert!(
        matches!(&e, RouteError::Group(m) if m.contains("not closed")),
        "{e}"
    );
    // Added: a subject no link reaches.
    let mut added = g.clone();
    let stranger = s
        .ledger
        .bundle(
            &Subject::Identifier(tid("bl:blue-anchor-lines:OTHER")),
            s.cert.clone(),
        )
        .unwrap();
    added.subjects.push(stranger);
    added.subjects.sort_by_key(|b| b.subject.key());
    let e = verify(&added).unwrap_err();
    assert!(
        matches!(&e, RouteError::Group(m) if m.contains("not one group")),
        "{e}"
    );
    // Reordered: refused (one order, so one byte form per group and head).
    let mut reordered = g.clone();
    reordered.subjects.reverse();
    assert!(matches!(verify(&reordered), Err(RouteError::Group(_))));
    // A container dropped: refused.
    let mut dropped = g.clone();
    dropped.containers.clear();
    assert!(matches!(
        verify(&dropped),
        Err(RouteError::Containers { .. })
    ));
    // The linked consignment served alone as a version-1 route (hiding the B/L's history):
    // refused.
    let alone = s
        .ledger
        .route_bundle(&sample_ucr(4), s.cert.clone())
        .unwrap();
    let e = alone.verify(&s.net.genesis).unwrap_err();
    assert!(matches!(e, RouteError::Linked(_)), "{e}");
    assert!(
        e.to_string().starts_with("consignment: events[") && e.to_string().contains("version 3"),
        "{e}"
    );
    // The identifier's own bundle proves its complete history, links included.
    let b = s
        .ledger
        .bundle(&Subject::Identifier(tid(BKG)), s.cert.clone())
        .unwrap();
    let p = b.verify(&s.net.genesis).unwrap();
    assert_eq!(p.events.len(), 2);
    let mut cut = b.clone();
    cut.events.pop();
    assert!(cut.verify(&s.net.genesis).is_err());
}

//! Consignment parties (PROTOCOL.md 8c): only the consignment's parties and customs extend its
//! history, at admission and in verification; an outsider's container events stay out of the
//! route; ledgers of rules 1 keep their rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::bundle::BundleError;
use tradelog_protocol::roles::AuthError;
use tradelog_protocol::route::Source;
use tradelog_protocol::sample::SampleNetwork;
use tradelog_protocol::sample::{self, consignment_route, sample_container, sample_ucr};
use tradelog_protocol::{
    Certificate, ContainerId, Event, EventKind, Ledger, LedgerError, LedgerState, OrgId, SecretKey,
    Subject, Ucr,
};

const HOUR: u64 = 3_600_000;

fn event(
    net: &SampleNetwork,
    org: &str,
    kind: EventKind,
    hours: u64,
    ucr: Option<&Ucr>,
    container: Option<&ContainerId>,
    parties: &[&str],
) -> Event {
    let mut b = sample::body(kind, net.genesis.time + hours * HOUR).unwrap();
    b.ucr = ucr.cloned();
    b.container = container.cloned();
    b.location = Some("NLRTM".parse().unwrap());
    if !parties.is_empty() {
        let mut p: Vec<OrgId> = parties.iter().map(|p| p.parse().unwrap()).collect();
        p.sort();
        b.parties = Some(p);
    }
    net.sign(org, b).unwrap()
}

fn not_a_party(r: Result<tradelog_protocol::Head, LedgerError>) -> bool {
    matches!(r, Err(LedgerError::Auth(AuthError::NotAParty { .. })))
}

fn cert(net: &SampleNetwork, ledger: &Ledger) -> Certificate {
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    Certificate::sign(ledger.head().unwrap(), 0, &keys)
}

#[test]
fn an_outsider_cannot_write_into_a_consignment_but_parties_and_customs_can() {
    let net = SampleNetwork::new(4).unwrap();
    let mut ledger = Ledger::new(&net.genesis);
    let ucr = sample_ucr(7);
    let t = |h: u64| net.genesis.time + h * HOUR;
    let e = |org, kind, h, parties: &[&str]| event(&net, org, kind, h, Some(&ucr), None, parties);
    // The platform opens the consignment and names its carrier.
    ledger
        .append_block(
            vec![e("shopfast", EventKind::Booked, 1, &["blue-anchor-lines"])],
            t(1),
        )
        .unwrap();
    assert_eq!(
        ledger
            .state()
            .parties(&ucr)
            .iter()
            .map(OrgId::as_str)
            .collect::<Vec<_>>(),
        ["blue-anchor-lines", "shopfast"]
    );
    // B6: an unrelated carrier's early `arrived` is refused; so is an unrelated platform's
    // booking under the UCR (B5), and nothing is written.
    let head = ledger.head().cloned();
    assert!(not_a_party(ledger.append_block(
        vec![e("north-star-shipping", EventKind::Arrived, 2, &[])],
        t(2)
    )));
    assert_eq!(ledger.head(), head.as_ref());
    // The named carrier and any customs administration are admitted.
    ledger
        .append_block(
            vec![
                e("blue-anchor-lines", EventKind::Loaded, 3, &[]),
                e("de-customs", EventKind::Inspected, 4, &[]),
            ],
            t(4),
        )
        .unwrap();
    // A party names another party; in the same block, the newly named one is admitted after it.
    ledger
        .append_block(
            vec![
                e(
                    "blue-anchor-lines",
                    EventKind::Discharged,
                    5,
                    &["rhine-barge"],
                ),
                e("rhine-barge", EventKind::Loaded, 6, &[]),
            ],
            t(6),
        )
        .unwrap();
    // The same two events in the other order: the second is not yet a party.
    let mut other = Ledger::new(&net.genesis);
    let u2 = sample_ucr(8);
    other
        .append_block(
            vec![event(
                &net,
                "shopfast",
                EventKind::Booked,
                1,
                Some(&u2),
                None,
                &[],
            )],
            t(1),
        )
        .unwrap();
    assert!(not_a_party(other.append_block(
        vec![
            event(
                &net,
                "rhine-barge",
                EventKind::Loaded,
                6,
                Some(&u2),
                None,
                &[]
            ),
            event(
                &net,
                "shopfast",
                EventKind::Booked,
                5,
                Some(&u2),
                None,
                &["rhine-barge"]
            ),
        ],
        t(6)
    )));
    // The consignment's bundle verifies and reports its parties.
    let b = ledger.bundle(&Subject::Consignment(ucr.clone()), cert(&net, &ledger));
    let p = b.unwrap().verify(&net.genesis).unwrap();
    assert_eq!(p.parties.len(), 3);
    assert_eq!(p.events.len(), 5);
}

#[test]
fn a_named_party_must_be_a_member_and_block_building_skips_what_the_rule_refuses() {
    let net = SampleNetwork::new(4).unwrap();
    let ledger = LedgerState::new(&net.genesis);
    let ucr = sample_ucr(9);
    let mut b = sample::body(EventKind::Booked, net.genesis.time + HOUR).unwrap();
    b.ucr = Some(ucr.clone());
    b.parties = Some(vec!["no-such-org".parse().unwrap()]);
    let stranger = net.sign("shopfast", b).unwrap();
    let r = ledger.check_event(&stranger, &|_: &_| false);
    assert!(
        matches!(r, Err(LedgerError::Auth(AuthError::UnknownParty(_)))),
        "{r:?}"
    );
    // Block building keeps, in order, what the rule admits after what it kept before.
    let e = |org, h, parties: &[&str]| {
        event(&net, org, EventKind::Booked, h, Some(&ucr), None, parties)
    };
    let events = vec![
        e("shopfast", 1, &[]),
        e("north-star-shipping", 2, &[]),
        e("shopfast", 3, &["north-star-shipping"]),
        e("north-star-shipping", 4, &[]),
    ];
    let time = net.genesis.time + 4 * HOUR;
    let none = |_: &tradelog_protocol::EventId| false;
    let (kept, refused) = ledger.chain().select(
        events.clone(),
        time,
        &none,
        &tradelog_protocol::parties::Committed::default(),
    );
    assert_eq!(
        kept,
        vec![events[0].clone(), events[2].clone(), events[3].clone()]
    );
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, events[1]);
}

#[test]
fn a_bundle_that_breaks_the_party_rule_is_refused_by_the_verifier() {
    // Validators that skipped the rule (a faulty majority, or a node that lies about what it
    // committed) cannot make a light client accept an outsider's event.
    let net = SampleNetwork::new(4).unwrap();
    let ucr = sample_ucr(3);
    let mut route = consignment_route(&net, 3, net.genesis.time).unwrap();
    route.insert(
        1,
        event(
            &net,
            "blue-anchor-lines",
            EventKind::Arrived,
            1,
            Some(&ucr),
            None,
            &[],
        ),
    );
    // consignment 3 is North Star's: Blue Anchor Lines is not named.
    let state = LedgerState::new(&net.genesis);
    let time = route.iter().map(|e| e.body().time).max().unwrap();
    let none = |_: &tradelog_protocol::EventId| false;
    assert!(matches!(
        state.check_block(&route, time, &none),
        Err(LedgerError::Auth(AuthError::NotAParty { .. }))
    ));
    let mut ledger = Ledger::new(&net.genesis);
    ledger.append_block(route[..1].to_vec(), time).unwrap();
    // Bypass the checks: an unchecked append, as a faulty majority would commit.
    let mut forged = ledger.clone();
    forged_append(&mut forged, route[1..].to_vec(), time);
    let b = forged
        .bundle(&Subject::Consignment(ucr), cert(&net, &forged))
        .unwrap();
    let r = b.verify(&net.genesis);
    assert!(
        matches!(
            r,
            Err(BundleError::Auth {
                pos: 1,
                err: AuthError::NotAParty { .. }
            })
        ),
        "{r:?}"
    );
}

/// Appends without the admission rules (what validators that ignore them would commit).
fn forged_append(ledger: &mut Ledger, events: Vec<Event>, time: u64) {
    ledger.append_unchecked(events, time);
}

#[test]
fn an_outsiders_container_events_stay_out_of_the_route() {
    let net = SampleNetwork::new(4).unwrap();
    let ucr = sample_ucr(4);
    let c = sample_container(4);
    let route = consignment_route(&net, 4, net.genesis.time).unwrap();
    let time = route.iter().map(|e| e.body().time).max().unwrap();
    let mut ledger = Ledger::new(&net.genesis);
    ledger.append_block(route.clone(), time).unwrap();
    // While the consignment is in the container (packed at hour 20, delivered at 852): an
    // outsider carrier and a customs administration each record a container-only event.
    let outsider = event(
        &net,
        "north-star-shipping",
        EventKind::Arrived,
        100,
        None,
        Some(&c),
        &[],
    );
    let customs = event(
        &net,
        "nl-customs",
        EventKind::Inspected,
        101,
        None,
        Some(&c),
        &[],
    );
    ledger
        .append_block(vec![outsider.clone(), customs.clone()], time)
        .unwrap();
    let r = ledger
        .route_bundle(&ucr, cert(&net, &ledger))
        .unwrap()
        .verify(&net.genesis)
        .unwrap();
    let ids: Vec<_> = r.timeline.iter().map(|(_, e, _)| e.id()).collect();
    assert!(
        !ids.contains(&outsider.id()),
        "an outsider's event joined the route"
    );
    assert!(ids.contains(&customs.id()));
    assert!(r
        .timeline
        .iter()
        .any(|(_, e, s)| e.id() == customs.id() && *s == Source::Container(c.clone())));
    // The container's own history still holds both (attributed to their issuers).
    assert_eq!(
        r.containers[0].events.len(),
        route
            .iter()
            .filter(|e| e.body().container.is_some())
            .count()
            + 2
    );
}

#[test]
fn rules_1_ledgers_keep_their_rules() {
    let mut net = SampleNetwork::new(4).unwrap();
    net.genesis.rules = None;
    let mut ledger = Ledger::new(&net.genesis);
    let ucr = sample_ucr(5);
    let t = net.genesis.time + 2 * HOUR;
    // An unrelated carrier's event is admitted, as before rules 2.
    ledger
        .append_block(
            vec![
                event(
                    &net,
                    "shopfast",
                    EventKind::Booked,
                    1,
                    Some(&ucr),
                    None,
                    &[],
                ),
                event(
                    &net,
                    "north-star-shipping",
                    EventKind::Arrived,
                    2,
                    Some(&ucr),
                    None,
                    &[],
                ),
            ],
            t,
        )
        .unwrap();
    // `parties` is not a member of rules 1 events.
    let r = ledger.check(&event(
        &net,
        "shopfast",
        EventKind::Booked,
        2,
        Some(&ucr),
        None,
        &["north-star-shipping"],
    ));
    assert!(
        matches!(r, Err(LedgerError::Auth(AuthError::PartiesUnsupported(1)))),
        "{r:?}"
    );
    let p = ledger
        .bundle(&Subject::Consignment(ucr), cert(&net, &ledger))
        .unwrap()
        .verify(&net.genesis)
        .unwrap();
    assert!(p.parties.is_empty());
}

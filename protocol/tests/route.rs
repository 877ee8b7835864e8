//! Route bundles: a consignment moved through two containers (de-consolidated from one, then
//! packed into the other); only each container's movements while the consignment was in it join
//! the route, and every lie about the containers is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::route::{RouteError, Source};
use tradelog_protocol::sample::{self, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{
    Certificate, ContainerId, Event, EventKind, Ledger, RouteBundle, Subject, Ucr,
};

const HOUR: u64 = 3_600_000;

struct World {
    net: SampleNetwork,
    ledger: Ledger,
    ucr: Ucr,
    c1: ContainerId,
    c2: ContainerId,
}

fn event(
    net: &SampleNetwork,
    kind: EventKind,
    hours: u64,
    ucr: Option<&Ucr>,
    container: Option<&ContainerId>,
) -> Event {
    let mut b = sample::body(kind, net.genesis.time + hours * HOUR).unwrap();
    b.ucr = ucr.cloned();
    b.container = container.cloned();
    b.location = Some("NLRTM".parse().unwrap());
    net.sign("blue-anchor-lines", b).unwrap()
}

/// Times (hours): c1 gate-in 1; packed in c1 2; c1 loaded 3; c1 departed 4 (no UCR); another
/// consignment packed in c1 5; unpacked from c1 6; c1 gate-out 7; packed in c2 8; c2 departed 9;
/// delivered 10; c2 gate-in 11. Blocks are appended in an order unlike the times on purpose.
fn world() -> World {
    let net = SampleNetwork::new(4).unwrap();
    let (ucr, other) = (sample_ucr(1), sample_ucr(2));
    let (c1, c2) = (sample_container(1), sample_container(2));
    let e = |k, h, u: Option<&Ucr>, c: Option<&ContainerId>| event(&net, k, h, u, c);
    let blocks = vec![
        vec![
            e(EventKind::GateIn, 1, None, Some(&c1)),
            e(EventKind::Loaded, 3, None, Some(&c1)),
            e(EventKind::Packed, 2, Some(&ucr), Some(&c1)),
        ],
        vec![
            e(EventKind::Departed, 4, None, Some(&c1)),
            e(EventKind::Packed, 5, Some(&other), Some(&c1)),
            e(EventKind::Unpacked, 6, Some(&ucr), Some(&c1)),
            e(EventKind::GateOut, 7, None, Some(&c1)),
        ],
        vec![
            e(EventKind::Departed, 9, None, Some(&c2)),
            e(EventKind::Packed, 8, Some(&ucr), Some(&c2)),
            e(EventKind::Delivered, 10, Some(&ucr), None),
            e(EventKind::GateIn, 11, None, Some(&c2)),
        ],
    ];
    let mut ledger = Ledger::new(&net.genesis);
    let mut time = net.genesis.time + 20 * HOUR;
    for b in blocks {
        time += 1;
        ledger.append_block(b, time).unwrap();
    }
    World {
        net,
        ledger,
        ucr,
        c1,
        c2,
    }
}

fn route(w: &World) -> RouteBundle {
    let head = w.ledger.head().unwrap().clone();
    let keys: Vec<_> = w.net.validator_keys.iter().take(3).collect();
    let cert = Certificate::sign(&head, 0, &keys);
    w.ledger.route_bundle(&w.ucr, cert).unwrap()
}

#[test]
fn only_movements_while_packed_join_the_route_in_time_order() {
    let w = world();
    let r = route(&w).verify(&w.net.genesis).unwrap();
    assert_eq!(r.consignment.events.len(), 4);
    assert_eq!(r.containers.len(), 2);
    let got: Vec<(u64, EventKind, Source)> = r
        .timeline
        .iter()
        .map(|(_, e, s)| {
            (
                (e.body().time - w.net.genesis.time) / HOUR,
                e.body().kind,
                s.clone(),
            )
        })
        .collect();
    let own = Source::Consignment;
    let in1 = Source::Container(w.c1.clone());
    let in2 = Source::Container(w.c2.clone());
    assert_eq!(
        got,
        vec![
            (2, EventKind::Packed, own.clone()),
            (3, EventKind::Loaded, in1.clone()),
            (4, EventKind::Departed, in1),
            (6, EventKind::Unpacked, own.clone()),
            (8, EventKind::Packed, own.clone()),
            (9, EventKind::Departed, in2),
            (10, EventKind::Delivered, own),
        ],
        "no gate-in before packing, no other consignment, nothing after unpacking or delivery"
    );
}

#[test]
fn lies_about_containers_are_refused() {
    let w = world();
    let g = &w.net.genesis;
    let honest = route(&w);

    let mut r = honest.clone();
    r.containers.pop();
    assert!(matches!(r.verify(g), Err(RouteError::Containers { .. })));

    let mut r = honest.clone();
    r.containers.swap(0, 1);
    assert!(matches!(r.verify(g), Err(RouteError::Containers { .. })));

    let mut r = honest.clone();
    let extra = w
        .ledger
        .bundle(
            &Subject::Container(sample_container(9)),
            honest.consignment.certificate.clone(),
        )
        .unwrap();
    r.containers.push(extra);
    assert!(matches!(r.verify(g), Err(RouteError::Containers { .. })));

    let mut r = honest.clone();
    r.containers[1].head.time += 1;
    assert!(matches!(r.verify(g), Err(RouteError::HeadMismatch(1))));

    let mut r = honest.clone();
    r.containers[0].events.remove(1);
    assert!(matches!(
        r.verify(g),
        Err(RouteError::Container { pos: 0, .. })
    ));

    let mut r = honest.clone();
    r.consignment = honest.containers[0].clone();
    assert!(matches!(r.verify(g), Err(RouteError::NotConsignment(_))));

    let mut r = honest.clone();
    r.version = 2;
    // A page without `containers_from` (9b).
    assert!(matches!(r.verify(g), Err(RouteError::Page { pos: 0, .. })));
    let mut r = honest.clone();
    r.version = 3;
    assert!(matches!(r.verify(g), Err(RouteError::Version(3))));

    let mut r = honest;
    r.consignment.events.remove(0);
    assert!(matches!(r.verify(g), Err(RouteError::Consignment(_))));
}

#[test]
fn route_json_round_trips_and_is_bounded() {
    let w = world();
    let r = route(&w);
    let json = serde_json::to_vec(&r).unwrap();
    assert_eq!(RouteBundle::from_json(&json).unwrap(), r);
    assert!(matches!(
        RouteBundle::from_json(b"[1,2]"),
        Err(RouteError::Malformed(_))
    ));
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    v["extra"] = 1.into();
    assert!(RouteBundle::from_json(&serde_json::to_vec(&v).unwrap()).is_err());
}

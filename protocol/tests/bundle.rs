//! Proof bundles: the honest bundle verifies offline; every lie is refused with a specific error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::bundle::BundleError;
use tradelog_protocol::head::CertificateError;
use tradelog_protocol::sample::{consignment_route, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, Ledger, ProofBundle, SecretKey, Subject};

const T0: u64 = 1_767_225_600_000;

struct Fixture {
    net: SampleNetwork,
    ledger: Ledger,
    cert: Certificate,
}

fn fixture() -> Fixture {
    let net = SampleNetwork::new(4).unwrap();
    let mut ledger = Ledger::new(&net.genesis);
    // Three blocks, consignments interleaved so a subject's events are spread out.
    for block in 0..3u32 {
        let mut events = Vec::new();
        for n in 0..5u32 {
            let route = consignment_route(&net, n, T0).unwrap();
            events.extend(route.into_iter().skip((block * 5) as usize).take(5));
        }
        let time = events.iter().map(|e| e.body().time).max().unwrap();
        let head = ledger.append_block(events, time).unwrap();
        ledger.certify(head.height, Certificate::sign(&head, 0, &keys(&net)));
    }
    let head = ledger.head().unwrap().clone();
    let cert = Certificate::sign(&head, 0, &keys(&net));
    Fixture { net, ledger, cert }
}

fn keys(net: &SampleNetwork) -> Vec<&SecretKey> {
    net.validator_keys.iter().take(3).collect()
}

fn honest(f: &Fixture, subject: Subject) -> ProofBundle {
    f.ledger.bundle(&subject, f.cert.clone()).unwrap()
}

#[test]
fn honest_bundles_verify_after_json_round_trip() {
    let f = fixture();
    for subject in [
        Subject::Consignment(sample_ucr(2)),
        Subject::Container(sample_container(2)),
        Subject::Consignment(sample_ucr(99)), // never seen: proven empty
    ] {
        let b = honest(&f, subject.clone());
        let json = serde_json::to_vec(&b).unwrap();
        let back = ProofBundle::from_json(&json).unwrap();
        let p = back.verify(&f.net.genesis).unwrap();
        assert_eq!(p.events.len(), f.ledger.positions(&subject).len());
    }
    let p = honest(&f, Subject::Consignment(sample_ucr(2)))
        .verify(&f.net.genesis)
        .unwrap();
    assert_eq!(p.events.len(), 14);
}

fn expect(f: &Fixture, b: &ProofBundle, check: impl Fn(&BundleError) -> bool) {
    let err = b.verify(&f.net.genesis).expect_err("lie accepted");
    assert!(check(&err), "unexpected error: {err}");
}

#[test]
fn every_lie_is_refused_specifically() {
    let f = fixture();
    let good = honest(&f, Subject::Consignment(sample_ucr(1)));
    assert!(good.verify(&f.net.genesis).is_ok());

    // Dropped event (proofs and index left as they are).
    let mut b = good.clone();
    b.events.remove(4);
    expect(&f, &b, |e| {
        matches!(
            e,
            BundleError::Incomplete {
                expected: 14,
                got: 13
            }
        )
    });

    // Dropped event with the index entry rewritten to match: the index proof catches it.
    let mut b = good.clone();
    b.events.remove(4);
    b.index_entry = tradelog_protocol::IndexEntry::over(
        b.events
            .iter()
            .map(|e| e.event.id())
            .collect::<Vec<_>>()
            .iter(),
    );
    expect(&f, &b, |e| matches!(e, BundleError::IndexEntry));

    // Reordered events.
    let mut b = good.clone();
    b.events.swap(1, 2);
    expect(&f, &b, |e| matches!(e, BundleError::Order { pos: 2, .. }));

    // Reordered including their claimed indices.
    let mut b = good.clone();
    let (i1, i2) = (b.events[1].index, b.events[2].index);
    b.events.swap(1, 2);
    b.events[1].index = i1;
    b.events[2].index = i2;
    expect(&f, &b, |e| {
        matches!(e, BundleError::Inclusion { pos: 1, .. })
    });

    // Altered event content (re-signed by nobody).
    let mut b = good.clone();
    let mut j = serde_json::to_value(&b.events[3].event).unwrap();
    j["body"]["location"] = "BEANR".into();
    b.events[3].event = serde_json::from_value(j).unwrap();
    expect(&f, &b, |e| matches!(e, BundleError::Event { pos: 3, .. }));

    // An event from another consignment slipped in.
    let other = honest(&f, Subject::Consignment(sample_ucr(2)));
    let mut b = good.clone();
    b.events[5] = other.events[5].clone();
    expect(&f, &b, |e| matches!(e, BundleError::Subject(5)));

    // Tampered inclusion proof.
    let mut b = good.clone();
    b.events[0].proof[0].0[0] ^= 1;
    expect(&f, &b, |e| {
        matches!(e, BundleError::Inclusion { pos: 0, .. })
    });

    // Head altered (log root of a fork): the certificate no longer matches.
    let mut b = good.clone();
    b.head.log_root.0[0] ^= 1;
    expect(&f, &b, |e| {
        matches!(
            e,
            BundleError::Certificate(CertificateError::WrongHead { .. })
        )
    });

    // Certificate with too few signers.
    let mut b = good.clone();
    b.certificate.signatures.truncate(2);
    expect(&f, &b, |e| {
        matches!(
            e,
            BundleError::Certificate(CertificateError::NoQuorum {
                signed: 2,
                total: 4
            })
        )
    });

    // Same validator counted twice.
    let mut b = good.clone();
    let first = b.certificate.signatures[0].clone();
    b.certificate.signatures[1] = first;
    expect(&f, &b, |e| {
        matches!(e, BundleError::Certificate(CertificateError::Duplicate(_)))
    });

    // Certificate signed by outsiders.
    let mut b = good.clone();
    let outsiders: Vec<SecretKey> = (0..3)
        .map(|i| tradelog_protocol::sample::dev_key(&format!("evil/{i}")))
        .collect();
    b.certificate = Certificate::sign(&b.head, 0, &outsiders.iter().collect::<Vec<_>>());
    expect(&f, &b, |e| {
        matches!(
            e,
            BundleError::Certificate(CertificateError::NotAValidator(_))
        )
    });

    // A signature moved to another round.
    let mut b = good.clone();
    b.certificate.round = 1;
    expect(&f, &b, |e| {
        matches!(
            e,
            BundleError::Certificate(CertificateError::BadSignature(_))
        )
    });

    // Bundle for another chain.
    let mut other_net = SampleNetwork::new(4).unwrap();
    other_net.genesis.chain = "other-chain".into();
    assert!(matches!(
        good.verify(&other_net.genesis),
        Err(BundleError::Chain { .. })
    ));

    // Claiming a subject is empty when it is not.
    let mut b = good.clone();
    b.events.clear();
    b.index_entry = tradelog_protocol::IndexEntry::default();
    expect(&f, &b, |e| matches!(e, BundleError::IndexEntry));

    // Index proof tampered.
    let mut b = good.clone();
    b.index_proof.siblings[0].0[0] ^= 1;
    expect(&f, &b, |e| matches!(e, BundleError::Index(_)));
}

#[test]
fn garbage_bundles_are_malformed_not_panics() {
    for input in [&b""[..], b"{}", b"[]", b"{\"version\":1}", b"\xff\xfe"] {
        assert!(matches!(
            ProofBundle::from_json(input),
            Err(BundleError::Malformed(_))
        ));
    }
}

#[test]
fn unknown_and_repeated_members_are_refused() {
    let f = fixture();
    let good = serde_json::to_string(&honest(&f, Subject::Consignment(sample_ucr(1)))).unwrap();
    let cases = [
        good.replacen("\"version\":3", "\"version\":3,\"extra\":0", 1),
        good.replacen("\"version\":3", "\"version\":3,\"version\":3", 1),
        good.replacen(
            "\"type\":\"consignment\"",
            "\"type\":\"consignment\",\"x\":1",
            1,
        ),
        good.replacen("\"height\":", "\"height\":3,\"height\":", 1),
        good.replacen("\"hs_code\":", "\"hs_code\":\"00\",\"hs_code\":", 1),
    ];
    for (i, c) in cases.iter().enumerate() {
        assert_ne!(c, &good, "case {i} did not apply");
        assert!(
            ProofBundle::from_json(c.as_bytes()).is_err(),
            "case {i} accepted"
        );
    }
}

/// Issue 18.5: section 6's header rules are verification steps (section 9 step 1 and 9d): a
/// head at height 0, a head whose time is before the genesis time and an event more than ten
/// minutes after its head are refused, even when a quorum certifies them.
#[test]
fn header_rules_are_checked_by_the_verifier() {
    use tradelog_protocol::membership::MembershipError;
    use tradelog_protocol::LedgerState;
    let net = SampleNetwork::new(4).unwrap();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    let route = consignment_route(&net, 1, T0).unwrap();
    let subject = Subject::Consignment(sample_ucr(1));
    let positions: Vec<(u64, tradelog_protocol::Event)> = route
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, e)| (i as u64, e))
        .collect();
    // A block appended without the checks (what a lying quorum could certify), at `time`.
    let bundle_at = |time: u64, edit: &dyn Fn(&mut tradelog_protocol::Head)| {
        let mut state = LedgerState::new(&net.genesis);
        state.append_checked(&route, time);
        let membership = state.membership_proof(Vec::new(), |_| None).unwrap();
        let cert = Certificate::sign(state.head().unwrap(), 0, &keys);
        let mut b = state
            .bundle(&subject, positions.clone(), cert, membership, Vec::new())
            .unwrap();
        edit(&mut b.head);
        b.certificate = Certificate::sign(&b.head, 0, &keys);
        b
    };
    let latest = route.iter().map(|e| e.body().time).max().unwrap();
    bundle_at(latest, &|_| {}).verify(&net.genesis).unwrap();
    let header = |b: &ProofBundle| {
        matches!(
            b.verify(&net.genesis),
            Err(BundleError::Membership(MembershipError::Header { .. }))
        )
    };
    assert!(header(&bundle_at(latest, &|h| h.height = 0)));
    // Height 1 must follow the genesis.
    assert!(header(
        &bundle_at(latest, &|h| h.prev = tradelog_protocol::Hash([7; 32]))
    ));
    // A block time before the genesis time.
    let before = bundle_at(latest, &|h| h.time = net.genesis.time - 1);
    assert!(header(&before), "{:?}", before.verify(&net.genesis));
    // Events more than ten minutes after the head's time (the block's time at most).
    let early = latest - 600_001;
    let b = bundle_at(early, &|_| {});
    assert!(early >= net.genesis.time);
    match b.verify(&net.genesis) {
        Err(BundleError::FutureEvent {
            time, head_time, ..
        }) => {
            assert_eq!(head_time, early);
            assert!(time > early + 600_000);
        }
        other => panic!("{other:?}"),
    }
    // Ten minutes exactly is allowed.
    bundle_at(latest - 600_000, &|_| {})
        .verify(&net.genesis)
        .unwrap();
}

//! AEO status and mutual recognition (PROTOCOL.md 8h, 9e) and advance data with risk outcomes
//! (8i): the members' rules, admission, and the light client's answer from bundles alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tradelog_protocol::aeo::{AeoRecord, AeoStatus, AeoType, MraRecord, MraStatus};
use tradelog_protocol::bundle::BundleError;
use tradelog_protocol::recognition::{verify_answer, RecognitionError};
use tradelog_protocol::roles::AuthError;
use tradelog_protocol::sample::{self, sample_ucr, SampleNetwork};
use tradelog_protocol::{
    Certificate, Event, EventError, EventKind, Ledger, LedgerError, OrgId, ProofBundle, SecretKey,
    Subject,
};

const DAY: u64 = 86_400_000;
const S: AeoType = AeoType::SecuritySafety;
const C: AeoType = AeoType::CustomsSimplifications;

fn org(s: &str) -> OrgId {
    s.parse().unwrap()
}

fn field_of(e: &EventError) -> &'static str {
    match e {
        EventError::Field { field, .. } => field,
        other => panic!("{other:?}"),
    }
}

fn record(holder: &str, status: AeoStatus, from: u64) -> AeoRecord {
    AeoRecord {
        holder: org(holder),
        programme: "nl_aeo".into(),
        authorisation: "NLAEOF0001".into(),
        status,
        types: (status == AeoStatus::Granted).then(|| vec![C, S]),
        from,
        until: None,
    }
}

fn cert(ledger: &Ledger, net: &SampleNetwork) -> Certificate {
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    Certificate::sign(ledger.head().unwrap(), 0, &keys)
}

fn bundles(ledger: &Ledger, net: &SampleNetwork, orgs: &[&str]) -> Vec<ProofBundle> {
    let c = cert(ledger, net);
    orgs.iter()
        .map(|o| {
            ledger
                .bundle(&Subject::Organisation(org(o)), c.clone())
                .unwrap()
        })
        .collect()
}

#[test]
fn the_records_members_follow_their_rules() {
    let net = SampleNetwork::new(4).unwrap();
    let t = net.genesis.time + DAY;
    // aeo_status needs its member, and names no goods.
    let b = sample::body(EventKind::AeoStatus, t).unwrap();
    assert_eq!(field_of(&b.validate().unwrap_err()), "aeo");
    let mut b = sample::body(EventKind::AeoStatus, t).unwrap();
    b.aeo = Some(record("shopfast", AeoStatus::Granted, t));
    b.validate().unwrap();
    b.ucr = Some(sample_ucr(1));
    assert_eq!(field_of(&b.validate().unwrap_err()), "ucr");
    // Types exactly when granted; until after from.
    let mut r = record("shopfast", AeoStatus::Suspended, t);
    r.types = Some(vec![S]);
    let mut b = sample::body(EventKind::AeoStatus, t).unwrap();
    b.aeo = Some(r);
    assert_eq!(field_of(&b.validate().unwrap_err()), "aeo.types");
    let mut r = record("shopfast", AeoStatus::Granted, t);
    r.until = Some(t);
    b.aeo = Some(r);
    assert_eq!(field_of(&b.validate().unwrap_err()), "aeo.until");
    let mut r = record("shopfast", AeoStatus::Granted, t);
    r.types = Some(vec![S, C]);
    b.aeo = Some(r);
    assert_eq!(field_of(&b.validate().unwrap_err()), "aeo.types");
    // An arrangement in force signed by one side only is refused, naming the countersignature.
    let mut b = sample::body(EventKind::Mra, t).unwrap();
    b.mra = Some(MraRecord {
        partner: org("de-customs"),
        status: MraStatus::InForce,
        from: t,
        types: Some(vec![S]),
        approval: None,
    });
    let e = b.validate().unwrap_err();
    assert_eq!(field_of(&e), "mra.approval");
    assert!(e.to_string().contains("countersignature"), "{e}");
    // The member of one kind on another.
    let mut b = sample::body(EventKind::Booked, t).unwrap();
    b.ucr = Some(sample_ucr(1));
    b.aeo = Some(record("shopfast", AeoStatus::Granted, t));
    assert_eq!(field_of(&b.validate().unwrap_err()), "aeo");
}

#[test]
fn only_customs_records_status_and_an_arrangement_needs_both_administrations() {
    let net = SampleNetwork::new(4).unwrap();
    let t = net.genesis.time + DAY;
    let mut ledger = Ledger::new(&net.genesis);
    let refuse = |ledger: &mut Ledger, e: Event| ledger.append_block(vec![e], t + DAY).unwrap_err();
    // A platform cannot grant itself a status.
    let mut b = sample::body(EventKind::AeoStatus, t).unwrap();
    b.aeo = Some(record("shopfast", AeoStatus::Granted, t));
    let e = refuse(&mut ledger, net.sign("shopfast", b).unwrap());
    assert!(
        matches!(e, LedgerError::Auth(AuthError::Forbidden { .. })),
        "{e}"
    );
    // Customs grants no status to customs or to a non-member.
    for holder in ["de-customs", "eu-audit"] {
        let mut b = sample::body(EventKind::AeoStatus, t).unwrap();
        b.aeo = Some(record(holder, AeoStatus::Granted, t));
        let e = refuse(&mut ledger, net.sign("nl-customs", b).unwrap());
        assert!(
            matches!(e, LedgerError::Auth(AuthError::AeoHolder { .. })),
            "{e}"
        );
    }
    // The partner must be another customs administration.
    for partner in ["nl-customs", "shopfast"] {
        let mut b = sample::body(EventKind::Mra, t).unwrap();
        b.mra = Some(MraRecord {
            partner: org(partner),
            status: MraStatus::Terminated,
            from: t,
            types: None,
            approval: None,
        });
        let e = refuse(&mut ledger, net.sign("nl-customs", b).unwrap());
        assert!(
            matches!(e, LedgerError::Auth(AuthError::MraPartner { .. })),
            "{e}"
        );
    }
    // The countersignature must be the partner's, over these terms.
    let good = sample::mra_in_force(&net, "nl-customs", "de-customs", &[S], t).unwrap();
    let mut forged = good.body().clone();
    let terms = forged.mra.as_mut().unwrap();
    terms.approval = Some(
        tradelog_protocol::aeo::countersign(
            &forged.chain,
            &org("nl-customs"),
            &org("de-customs"),
            t,
            &[S],
            &net.org_keys["nl-customs"],
        )
        .unwrap(),
    );
    let e = refuse(&mut ledger, net.sign("nl-customs", forged).unwrap());
    assert!(
        matches!(e, LedgerError::Auth(AuthError::MraApproval { .. })),
        "{e}"
    );
    let mut wider = good.body().clone();
    wider.mra.as_mut().unwrap().types = Some(vec![C, S]);
    let e = refuse(&mut ledger, net.sign("nl-customs", wider).unwrap());
    assert!(
        matches!(&e, LedgerError::Auth(AuthError::MraApproval { reason }) if reason.contains("does not verify")),
        "{e}"
    );
    assert_eq!(ledger.head(), None, "nothing was written");
    ledger.append_block(vec![good], t + DAY).unwrap();
}

#[test]
fn recognition_follows_grants_suspensions_and_arrangements_from_the_bundles_alone() {
    let net = SampleNetwork::new(4).unwrap();
    let g = net.genesis.time;
    let mut ledger = Ledger::new(&net.genesis);
    let grant = sample::aeo_grant(
        &net,
        "de-customs",
        "shopfast",
        "DEAEOF1234",
        &[C, S],
        g + 10 * DAY,
    )
    .unwrap();
    let mra = sample::mra_in_force(&net, "nl-customs", "de-customs", &[S], g + 20 * DAY).unwrap();
    let mut suspension = record("shopfast", AeoStatus::Suspended, g + 40 * DAY);
    suspension.programme = "de_aeo".into();
    suspension.authorisation = "DEAEOF1234".into();
    let suspended = sample::aeo_record(&net, "de-customs", suspension, g + 40 * DAY).unwrap();
    let regrant = sample::aeo_grant(
        &net,
        "de-customs",
        "shopfast",
        "DEAEOF1234",
        &[S],
        g + 50 * DAY,
    )
    .unwrap();
    ledger
        .append_block(
            vec![grant.clone(), mra.clone(), suspended, regrant],
            g + 60 * DAY,
        )
        .unwrap();
    let both = bundles(&ledger, &net, &["shopfast", "nl-customs"]);
    let ask = |at: u64| {
        verify_answer(
            &net.genesis,
            &both,
            &org("shopfast"),
            &org("nl-customs"),
            at,
        )
        .unwrap()
        .0
    };
    assert!(!ask(g + 5 * DAY).recognised, "before the grant");
    assert!(
        !ask(g + 15 * DAY).recognised,
        "granted, but no arrangement yet"
    );
    let r = ask(g + 25 * DAY);
    assert!(r.recognised);
    assert_eq!(r.types, vec![S], "narrowed to the arrangement's types");
    assert_eq!(r.arrangement, Some(mra.id()));
    assert_eq!(r.authorisation.as_ref().unwrap().event, grant.id());
    assert!(!ask(g + 45 * DAY).recognised, "suspended");
    assert!(ask(g + 55 * DAY).recognised, "granted again");
    // The issuing administration recognises its own authorisation without an arrangement.
    let own = bundles(&ledger, &net, &["shopfast", "de-customs"]);
    let r = verify_answer(
        &net.genesis,
        &own,
        &org("shopfast"),
        &org("de-customs"),
        g + 15 * DAY,
    )
    .unwrap()
    .0;
    assert!(r.recognised);
    assert_eq!(r.types, vec![C, S]);
    // An arrangement one side terminates ends recognition.
    let mut b = sample::body(EventKind::Mra, g + 70 * DAY).unwrap();
    b.mra = Some(MraRecord {
        partner: org("nl-customs"),
        status: MraStatus::Terminated,
        from: g + 70 * DAY,
        types: None,
        approval: None,
    });
    ledger
        .append_block(vec![net.sign("de-customs", b).unwrap()], g + 71 * DAY)
        .unwrap();
    let both = bundles(&ledger, &net, &["shopfast", "nl-customs"]);
    let at = |t: u64| {
        verify_answer(&net.genesis, &both, &org("shopfast"), &org("nl-customs"), t)
            .unwrap()
            .0
            .recognised
    };
    assert!(at(g + 55 * DAY));
    assert!(!at(g + 72 * DAY));
}

#[test]
fn a_node_that_hides_a_suspension_or_mixes_heads_is_caught() {
    let net = SampleNetwork::new(4).unwrap();
    let g = net.genesis.time;
    let mut ledger = Ledger::new(&net.genesis);
    let grant = sample::aeo_grant(
        &net,
        "nl-customs",
        "blue-anchor-lines",
        "NLAEOS1",
        &[S],
        g + DAY,
    )
    .unwrap();
    let mut r = record("blue-anchor-lines", AeoStatus::Revoked, g + 2 * DAY);
    r.authorisation = "NLAEOS1".into();
    let revoked = sample::aeo_record(&net, "nl-customs", r, g + 2 * DAY).unwrap();
    ledger.append_block(vec![grant], g + DAY).unwrap();
    let early = bundles(&ledger, &net, &["blue-anchor-lines", "nl-customs"]);
    ledger.append_block(vec![revoked], g + 3 * DAY).unwrap();
    let mut b = bundles(&ledger, &net, &["blue-anchor-lines", "nl-customs"]);
    let holder = org("blue-anchor-lines");
    let by = org("nl-customs");
    assert!(
        !verify_answer(&net.genesis, &b, &holder, &by, g + 4 * DAY)
            .unwrap()
            .0
            .recognised
    );
    b[0].events.pop();
    let e = verify_answer(&net.genesis, &b, &holder, &by, g + 4 * DAY).unwrap_err();
    assert!(
        matches!(
            e,
            RecognitionError::Bundle {
                pos: 0,
                err: BundleError::Incomplete { .. }
            }
        ),
        "{e}"
    );
    // Another administration's question needs its bundle, at the same head.
    let de = bundles(&ledger, &net, &["de-customs"]);
    let e = verify_answer(&net.genesis, &early[..1], &holder, &org("de-customs"), g).unwrap_err();
    assert!(matches!(e, RecognitionError::Subjects { .. }), "{e}");
    let mixed = vec![early[0].clone(), de[0].clone()];
    let e = verify_answer(&net.genesis, &mixed, &holder, &org("de-customs"), g).unwrap_err();
    assert!(matches!(e, RecognitionError::Heads(..)), "{e}");
}

fn advance(net: &SampleNetwork, n: u32, t: u64) -> Event {
    let mut b = sample::body(EventKind::AdvanceData, t).unwrap();
    b.ucr = Some(sample_ucr(n));
    b.details = sample::advance_details(n);
    net.sign("shopfast", b).unwrap()
}

fn outcome(
    net: &SampleNetwork,
    kind: EventKind,
    n: u32,
    refs: Vec<tradelog_protocol::EventId>,
    t: u64,
) -> Event {
    let mut b = sample::body(kind, t).unwrap();
    b.ucr = Some(sample_ucr(n));
    b.reason = Some("r01_valuation".into());
    b.refs = refs;
    net.sign("nl-customs", b).unwrap()
}

#[test]
fn an_outcome_assesses_advance_data_of_its_own_consignment() {
    let net = SampleNetwork::new(4).unwrap();
    let t = net.genesis.time + DAY;
    // Advance data commits to every field.
    let mut b = sample::body(EventKind::AdvanceData, t).unwrap();
    b.ucr = Some(sample_ucr(1));
    b.details = sample::advance_details(1);
    b.details.remove("currency");
    let e = b.validate().unwrap_err();
    assert_eq!(field_of(&e), "details");
    assert!(e.to_string().contains("\"currency\" is missing"), "{e}");
    // An outcome needs a reason code and a ref.
    let mut b = sample::body(EventKind::RiskDoNotLoad, t).unwrap();
    b.ucr = Some(sample_ucr(1));
    b.refs = vec![advance(&net, 1, t).id()];
    assert_eq!(field_of(&b.validate().unwrap_err()), "reason");
    b.reason = Some("R01".into());
    assert_eq!(field_of(&b.validate().unwrap_err()), "reason");
    b.reason = Some("r01".into());
    b.refs.clear();
    assert_eq!(field_of(&b.validate().unwrap_err()), "refs");
    // Only customs assesses; only traders file.
    let mut b = sample::body(EventKind::RiskCleared, t).unwrap();
    b.ucr = Some(sample_ucr(1));
    b.reason = Some("r00".into());
    b.refs = vec![advance(&net, 1, t).id()];
    let mut ledger = Ledger::new(&net.genesis);
    let e = ledger
        .append_block(
            vec![advance(&net, 1, t), net.sign("shopfast", b).unwrap()],
            t,
        )
        .unwrap_err();
    assert!(
        matches!(e, LedgerError::Auth(AuthError::Forbidden { .. })),
        "{e}"
    );
    // An outcome for a consignment with no advance data on the ledger, or naming another's.
    let filed = advance(&net, 1, t);
    let e = ledger
        .append_block(
            vec![outcome(
                &net,
                EventKind::RiskReferred,
                2,
                vec![filed.id()],
                t,
            )],
            t,
        )
        .unwrap_err();
    assert!(
        matches!(&e, LedgerError::Outcome(_)) && e.to_string().contains(&sample_ucr(2).to_string()),
        "{e}"
    );
    assert_eq!(ledger.head(), None);
    // In one block after its advance data, and in a later one.
    let first = outcome(
        &net,
        EventKind::RiskInformationRequested,
        1,
        vec![filed.id()],
        t + 1,
    );
    ledger
        .append_block(vec![filed.clone(), first], t + 2)
        .unwrap();
    let dnl = outcome(&net, EventKind::RiskDoNotLoad, 1, vec![filed.id()], t + 3);
    ledger.append_block(vec![dnl], t + 4).unwrap();
    let p = ledger
        .bundle(&Subject::Consignment(sample_ucr(1)), cert(&ledger, &net))
        .unwrap()
        .verify(&net.genesis)
        .unwrap();
    assert_eq!(p.events.len(), 3);
    // Validators that skip the rule cannot make a light client accept an unfounded outcome.
    let stray = outcome(&net, EventKind::RiskCleared, 3, vec![filed.id()], t + 5);
    ledger.append_unchecked(vec![stray], t + 6);
    let e = ledger
        .bundle(&Subject::Consignment(sample_ucr(3)), cert(&ledger, &net))
        .unwrap()
        .verify(&net.genesis)
        .unwrap_err();
    assert!(matches!(e, BundleError::Outcome { pos: 0 }), "{e}");
}

#[test]
fn the_devnet_sample_is_admissible_and_its_durations_vary() {
    let net = SampleNetwork::new(4).unwrap();
    let start = net.genesis.time + 500 * DAY;
    let mut ledger = Ledger::new(&net.genesis);
    let records = sample::customs_records(&net, start).unwrap();
    let mut events = records.clone();
    for n in 0..40 {
        events.extend(sample::customs_route(&net, n, start + u64::from(n) * 60_000).unwrap());
    }
    events.sort_by_key(|e| e.body().time);
    let end = events.last().unwrap().body().time;
    ledger.append_block(events.clone(), end).unwrap();
    let mut rows = Vec::new();
    let mut do_not_load = 0;
    let events_of = |n: u32| -> Vec<Event> {
        let ucr = sample_ucr(n);
        events
            .iter()
            .filter(|e| e.body().ucr.as_ref() == Some(&ucr))
            .cloned()
            .collect()
    };
    for n in 0..40 {
        let ucr = sample_ucr(n);
        let mine = events_of(n);
        do_not_load += mine
            .iter()
            .filter(|e| e.body().kind == EventKind::RiskDoNotLoad)
            .count();
        if let Ok(row) = tradelog_protocol::trs::measure(&ucr, &mine) {
            rows.push(row);
        }
    }
    assert!(do_not_load >= 1, "the sample has a do-not-load consignment");
    assert_eq!(
        rows.len() + do_not_load,
        40,
        "every loaded consignment is measured"
    );
    let distinct: std::collections::BTreeSet<u64> =
        rows.iter().map(|r| r.arrival_to_release).collect();
    assert!(distinct.len() > 30, "durations vary: {distinct:?}");
    let to_declaration: std::collections::BTreeSet<u64> =
        rows.iter().map(|r| r.arrival_to_declaration).collect();
    assert!(to_declaration.len() > 30, "{to_declaration:?}");
    // The recognised declarants are faster on the whole.
    let mean = |aeo: bool| {
        let v: Vec<u64> = rows
            .iter()
            .filter(|r| {
                let d = sample::customs_declarant(sample_ucr_n(&r.ucr));
                !matches!(d, "north-star-shipping" | "rhine-barge") == aeo
            })
            .map(|r| r.arrival_to_release)
            .collect();
        v.iter().sum::<u64>() / v.len() as u64
    };
    assert!(mean(true) < mean(false));
    // The report's split reads the records: every declarant but North Star Shipping is
    // recognised by the releasing administration (its own, or through the arrangement).
    let mut register = tradelog_protocol::recognition::Register::new();
    for (i, e) in records.iter().enumerate() {
        register.add(i as u64, e);
    }
    tradelog_protocol::trs::classify(&mut rows, &register);
    for r in &rows {
        let aeo = !matches!(r.declarant.as_str(), "north-star-shipping" | "rhine-barge");
        assert_eq!(r.aeo, aeo, "{}", r.ucr);
    }
    let groups = tradelog_protocol::trs::aggregate(&rows);
    let split: usize = groups
        .iter()
        .map(|g| {
            g.aeo.recognised.arrival_to_release.count
                + g.aeo.not_recognised.arrival_to_release.count
        })
        .sum();
    assert_eq!(split, rows.len());
    for post in ["NLRTM", "DEHAM"] {
        assert!(
            groups.iter().any(|g| g.border_post.as_str() == post
                && g.aeo.recognised.arrival_to_release.count > 0
                && g.aeo.not_recognised.arrival_to_release.count > 0),
            "{post} has both"
        );
    }
    let mut advance = Vec::new();
    for n in 0..40 {
        advance.extend(tradelog_protocol::trs::measure_advance(
            &sample_ucr(n),
            &events_of(n),
        ));
    }
    tradelog_protocol::trs::classify_advance(&mut advance, &register);
    assert_eq!(advance.len(), 40, "one outcome per consignment");
    for r in &advance {
        assert_eq!(
            r.aeo,
            r.filer.as_str() != "north-star-shipping",
            "{}",
            r.ucr
        );
    }
    let groups = tradelog_protocol::trs::aggregate_advance(&advance);
    assert_eq!(
        groups.iter().map(|g| g.do_not_load).sum::<usize>(),
        do_not_load
    );
    assert_eq!(
        groups
            .iter()
            .map(|g| g.outcomes.values().sum::<usize>())
            .sum::<usize>(),
        40
    );
}

fn sample_ucr_n(u: &tradelog_protocol::Ucr) -> u32 {
    (0..1000).find(|n| &sample_ucr(*n) == u).unwrap()
}

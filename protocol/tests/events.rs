//! Event rules: structure, canonical form, signatures, permissions. Table-driven.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use tradelog_protocol::event::{EventError, MAX_EVENT_JSON_BYTES};
use tradelog_protocol::ledger::{LedgerError, MAX_CLOCK_SKEW_MS};
use tradelog_protocol::roles::AuthError;
use tradelog_protocol::sample::{
    self, consignment_route, sample_container, sample_ucr, SampleNetwork,
};
use tradelog_protocol::{Event, EventKind, Ledger, Role};

fn net() -> SampleNetwork {
    SampleNetwork::new(4).unwrap()
}

#[test]
fn permission_table() {
    use EventKind::*;
    let customs_only = [
        Inspected,
        Held,
        Released,
        Seized,
        AeoStatus,
        Mra,
        RiskCleared,
        RiskInformationRequested,
        RiskReferred,
        RiskDoNotLoad,
    ];
    for kind in EventKind::ALL {
        if kind == Membership {
            // Every member may change its own keys; PROTOCOL.md 8a.
            for role in [Role::Customs, Role::Carrier, Role::Platform, Role::Auditor] {
                assert!(role.may_issue(kind));
            }
            continue;
        }
        assert_eq!(
            Role::Customs.may_issue(kind),
            customs_only.contains(&kind) || matches!(kind, DocumentAnchored | Linked | Retracted),
            "{kind:?}"
        );
        assert!(!Role::Auditor.may_issue(kind));
        if customs_only.contains(&kind) {
            assert!(
                !Role::Carrier.may_issue(kind) && !Role::Platform.may_issue(kind),
                "{kind:?}"
            );
        }
    }
    for kind in [
        Loaded,
        Departed,
        Arrived,
        Discharged,
        GateIn,
        GateOut,
        Transshipped,
    ] {
        assert!(Role::Carrier.may_issue(kind) && !Role::Platform.may_issue(kind));
    }
    for kind in [
        Booked,
        Declared,
        Packed,
        Unpacked,
        Delivered,
        DocumentAnchored,
        Linked,
        AdvanceData,
        Retracted,
    ] {
        assert!(Role::Carrier.may_issue(kind) && Role::Platform.may_issue(kind));
    }
}

#[test]
fn structural_rules_table() {
    let n = net();
    let base = || {
        let mut b = sample::body(EventKind::Arrived, 1_767_225_600_000).unwrap();
        b.ucr = Some(sample_ucr(1));
        b.location = Some("NLRTM".parse().unwrap());
        b
    };
    type Mutate = fn(&mut tradelog_protocol::EventBody);
    let cases: Vec<(&str, Mutate, &str)> = vec![
        ("version", |b| b.v = 2, "body.v"),
        ("chain", |b| b.chain = "Bad Chain".into(), "body.chain"),
        ("no subject", |b| b.ucr = None, "body.ucr"),
        (
            "no location",
            |b| b.location = None,
            "body.location: required for kind arrived",
        ),
        ("time zero", |b| b.time = 0, "body.time"),
        ("time too big", |b| b.time = 1 << 53, "body.time"),
        (
            "packed needs container",
            |b| b.kind = EventKind::Packed,
            "body.container",
        ),
        (
            "doc anchored needs doc",
            |b| b.kind = EventKind::DocumentAnchored,
            "body.documents",
        ),
        (
            "dup refs",
            |b| b.refs = vec![tradelog_protocol::Hash::ZERO; 2],
            "body.refs",
        ),
        (
            "too many refs",
            |b| {
                b.refs = (0..17u8)
                    .map(|i| tradelog_protocol::Hash([i; 32]))
                    .collect()
            },
            "body.refs",
        ),
        (
            "bad detail name",
            |b| {
                b.details
                    .insert("Bad Name".into(), tradelog_protocol::Hash::ZERO);
            },
            "body.details",
        ),
        (
            "bad means",
            |b| {
                b.transport = Some(tradelog_protocol::event::Transport {
                    mode: tradelog_protocol::event::TransportMode::Sea,
                    means: "imo 1".into(),
                    voyage: None,
                })
            },
            "body.transport.means",
        ),
    ];
    assert!(n.sign("blue-anchor-lines", base()).is_some());
    for (name, mutate, want) in cases {
        let mut b = base();
        mutate(&mut b);
        let err = b
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with(want), "{name}: got {err:?}, want {want:?}");
    }
}

#[test]
fn json_errors_name_the_field() {
    let n = net();
    let ev = consignment_route(&n, 1, 1_767_225_600_000)
        .unwrap()
        .remove(2);
    let json: serde_json::Value = serde_json::from_str(&ev.to_json()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let cases: Vec<(Edit, &str)> = vec![
        (
            |j| j["body"]["container"] = "CSQU3054384".into(),
            "check digit",
        ),
        (|j| j["body"]["ucr"] = "x".into(), "invalid UCR"),
        (|j| j["body"]["location"] = "NL RTM".into(), "UN/LOCODE"),
        (
            |j| j["body"]["container"] = serde_json::Value::Null,
            "invalid type: null",
        ),
        (|j| j["body"]["extra"] = 1.into(), "unknown field `extra`"),
        (
            |j| j["body"]["kind"] = "teleported".into(),
            "unknown variant `teleported`",
        ),
        (|j| j["sig"] = "00".into(), "signature"),
        (
            |j| {
                j["body"].as_object_mut().unwrap().remove("refs");
            },
            "missing field `refs`",
        ),
        (|j| j["body"]["time"] = (-5).into(), "invalid value"),
        (|j| j["body"]["issuer"]["key"] = "zz".into(), "public key"),
    ];
    for (mutate, want) in cases {
        let mut j = json.clone();
        mutate(&mut j);
        let err = Event::from_json(j.to_string().as_bytes())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(want), "want {want:?} in {err:?}");
    }
    let huge = vec![b' '; MAX_EVENT_JSON_BYTES + 1];
    assert!(matches!(
        Event::from_json(&huge),
        Err(EventError::TooLarge { .. })
    ));
    assert!(matches!(
        Event::from_json(b"{"),
        Err(EventError::Malformed(_))
    ));
}

#[test]
fn signature_binds_every_field_and_admission_rules() {
    let n = net();
    let mut ledger = Ledger::new(&n.genesis);
    let events = consignment_route(&n, 3, 1_767_225_600_000).unwrap();
    for e in &events {
        assert_eq!(ledger.check(e), Ok(()));
        // Changing any content field and keeping the signature is caught.
        let mut j: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        j["body"]["time"] = (e.body().time + 1).into();
        let forged = Event::from_json(j.to_string().as_bytes()).unwrap();
        assert!(matches!(
            ledger.check(&forged),
            Err(LedgerError::Event(EventError::Signature(_)))
        ));
    }
    // Forbidden kind: a carrier releasing goods.
    let mut b = sample::body(EventKind::Released, 1_767_225_600_000).unwrap();
    b.ucr = Some(sample_ucr(3));
    let e = n.sign("blue-anchor-lines", b.clone()).unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Auth(AuthError::Forbidden { .. }))
    ));
    // Unknown issuer: a key nobody registered.
    let stranger = sample::dev_key("stranger");
    b.issuer.key = stranger.public();
    b.issuer.org = "nl-customs".parse().unwrap();
    let e = b.clone().sign(&stranger).unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Auth(AuthError::UnknownKey { .. }))
    ));
    b.issuer.org = "ghost-org".parse().unwrap();
    let e = b.clone().sign(&stranger).unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Auth(AuthError::UnknownOrg(_)))
    ));
    // Replay from another chain.
    let mut b = sample::body(EventKind::Held, 1_767_225_600_000).unwrap();
    b.ucr = Some(sample_ucr(3));
    b.chain = "other-chain".into();
    let e = n.sign("nl-customs", b).unwrap();
    assert!(matches!(
        ledger.check(&e),
        Err(LedgerError::Auth(AuthError::WrongChain { .. }))
    ));
    // Block time rules: not before genesis, and no event more than the skew after its block.
    let day = 86_400_000;
    assert!(matches!(
        ledger.append_block(vec![], n.genesis.time - 1),
        Err(LedgerError::Time { .. })
    ));
    let late = events[2].body().time; // 20 h after the first event
    assert!(matches!(
        ledger.append_block(events[..3].to_vec(), late - MAX_CLOCK_SKEW_MS - 1),
        Err(LedgerError::FutureEvent { .. })
    ));
    assert_eq!(ledger.log().size(), 0);
    // Duplicates: same id, refused once in the log, and a block is all-or-nothing.
    ledger
        .append_block(events[..3].to_vec(), late - MAX_CLOCK_SKEW_MS)
        .unwrap();
    assert!(matches!(
        ledger.append_block(vec![], late - MAX_CLOCK_SKEW_MS - 1),
        Err(LedgerError::Time { .. })
    ));
    assert_eq!(
        ledger.check(&events[0]),
        Err(LedgerError::Duplicate(events[0].id()))
    );
    let before = ledger.head().cloned();
    let bad_block = vec![events[3].clone(), events[0].clone()];
    assert!(ledger.append_block(bad_block, late + day).is_err());
    assert_eq!(ledger.head().cloned(), before);
    assert_eq!(ledger.log().size(), 3);
}

#[test]
fn container_only_events_are_indexed_under_the_container() {
    let n = net();
    let mut ledger = Ledger::new(&n.genesis);
    let mut b = sample::body(EventKind::GateOut, 1_767_225_600_000).unwrap();
    b.container = Some(sample_container(9));
    b.location = Some("NLRTM".parse().unwrap());
    let e = n.sign("north-star-shipping", b).unwrap();
    ledger.append_block(vec![e], 1_767_225_600_000).unwrap();
    assert_eq!(
        ledger.positions(&tradelog_protocol::Subject::Container(sample_container(9))),
        &[0]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn json_round_trip_keeps_id_and_signature(n in 0u32..100_000, t in 1u64..(1u64 << 52), pick in 0usize..14) {
        let net = net();
        let e = consignment_route(&net, n, t).unwrap().remove(pick);
        let back = Event::from_json(e.to_json().as_bytes()).unwrap();
        prop_assert_eq!(back.id(), e.id());
        prop_assert!(back.verify_signature().is_ok());
        // Whitespace and member order of the wire JSON do not change the id.
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        prop_assert_eq!(Event::from_json(pretty.as_bytes()).unwrap().id(), e.id());
    }
}

#[test]
fn preview_equals_apply_and_changes_nothing() {
    let n = net();
    let mut state = tradelog_protocol::LedgerState::new(&n.genesis);
    let first = consignment_route(&n, 1, 1_767_225_600_000).unwrap();
    let t = first.iter().map(|e| e.body().time).max().unwrap();
    state
        .apply_block(&first[..7], t, &|_: &tradelog_protocol::EventId| false)
        .unwrap();
    let before = (
        state.head().cloned(),
        state.log().root(),
        state.index().root(),
    );
    let preview = state
        .preview_block(&first[7..], t + 1, &|_: &tradelog_protocol::EventId| false)
        .unwrap();
    assert_eq!(
        before,
        (
            state.head().cloned(),
            state.log().root(),
            state.index().root()
        )
    );
    let (applied, positions) = state
        .apply_block(&first[7..], t + 1, &|_: &tradelog_protocol::EventId| false)
        .unwrap();
    assert_eq!(preview, applied);
    assert_eq!(positions, (7..14).collect::<Vec<u64>>());
    // A refused block leaves the state as it was.
    let head = state.head().cloned();
    assert!(state
        .preview_block(&first[..1], t + 2, &|_: &tradelog_protocol::EventId| true)
        .is_err());
    assert!(state
        .apply_block(&first[..1], t + 2, &|_: &tradelog_protocol::EventId| true)
        .is_err());
    assert_eq!(state.head().cloned(), head);
}

#[test]
fn structs_must_be_json_objects_not_arrays() {
    let n = net();
    let e = consignment_route(&n, 1, 1_767_225_600_000)
        .unwrap()
        .remove(5);
    let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    // [body, sig] instead of {"body", "sig"}.
    let as_array = serde_json::json!([v["body"], v["sig"]]).to_string();
    let err = Event::from_json(as_array.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("a JSON object"), "{err}");
    // The issuer written as an array inside the body.
    let mut j = v.clone();
    j["body"]["issuer"] =
        serde_json::json!([v["body"]["issuer"]["org"], v["body"]["issuer"]["key"]]);
    assert!(Event::from_json(j.to_string().as_bytes()).is_err());
    // The object form still round-trips.
    assert_eq!(
        Event::from_json(e.to_json().as_bytes()).unwrap().id(),
        e.id()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// The direct canonical writer (used for every signing message) gives exactly the bytes of
    /// the generic path (serialize to a JSON value, then RFC 8785) for bodies with and without
    /// each optional member, several details, documents and refs, and a membership change.
    #[test]
    fn direct_canonical_bytes_equal_the_generic_jcs_path(
        n in 0u32..100_000,
        t in 1u64..(1u64 << 53),
        pick in 0usize..14,
        details in proptest::collection::btree_map("[a-z0-9_]{1,12}", any::<[u8; 32]>(), 0..5),
        docs in proptest::collection::vec(("[a-z0-9_]{1,10}", any::<bool>(), any::<[u8; 32]>()), 0..3),
        refs in proptest::collection::vec(any::<[u8; 32]>(), 0..4),
        drop_transport in any::<bool>(),
        drop_voyage in any::<bool>(),
        membership in any::<bool>(),
        source in proptest::option::of(("[a-z0-9_]{1,8}", "[!-~]{1,40}")),
        offset in proptest::option::of("[+-](0[0-9]|1[0-3]):[0-5][0-9]"),
        ids in proptest::collection::btree_set("(bl|bkg):[a-z][a-z0-9-]{0,8}[a-z0-9]:[A-Z0-9./-]{1,12}", 0..4),
        retracts in proptest::option::of(any::<[u8; 32]>()),
        record in 0u8..4,
        until in proptest::option::of(1u64..(1u64 << 52)),
    ) {
        use tradelog_protocol::event::{DigestAlg, Document};
        use tradelog_protocol::Hash;
        let net = net();
        let mut b = consignment_route(&net, n, 1_767_225_600_000).unwrap().remove(pick).body().clone();
        b.time = t;
        b.details = details.into_iter().map(|(k, v)| (k, Hash(v))).collect();
        b.documents = docs
            .into_iter()
            .map(|(kind, sha, d)| Document {
                kind,
                alg: if sha { DigestAlg::Sha256 } else { DigestAlg::Blake3 },
                digest: Hash(d),
            })
            .collect();
        b.refs = refs.into_iter().map(Hash).collect();
        b.source = source.map(|(standard, id)| tradelog_protocol::event::Source { standard, id });
        b.offset = offset.filter(|o| o != "-00:00");
        b.ids = (!ids.is_empty()).then(|| ids.into_iter().map(|t| t.parse().unwrap()).collect());
        if let Some(r) = retracts {
            b.kind = EventKind::Retracted;
            b.retracts = Some(tradelog_protocol::event::Retracts::Event(Hash(r)));
        }
        if drop_transport {
            b.transport = None;
        } else if let (Some(tr), true) = (b.transport.as_mut(), drop_voyage) {
            tr.voyage = None;
        }
        if membership {
            b.source = None;
            b.offset = None;
            b.ids = None;
            b.retracts = None;
            b.kind = EventKind::Membership;
            b.ucr = None;
            b.container = None;
            b.location = None;
            b.transport = None;
            b.membership = Some(tradelog_protocol::MembershipBody {
                seq: u64::from(n) + 1,
                change: tradelog_protocol::Change::AddKey {
                    org: "shopfast".parse().unwrap(),
                    key: sample::dev_key(&format!("k{n}")).public(),
                },
                approvals: vec![],
            });
        }
        // The members of 8h and 8i (the direct writer puts `aeo` first, `mra` after
        // `membership`, `reason` before `refs`).
        use tradelog_protocol::aeo::{AeoRecord, AeoStatus, AeoType, MraRecord, MraStatus};
        match record {
            1 => {
                b.aeo = Some(AeoRecord {
                    holder: "shopfast".parse().unwrap(),
                    programme: format!("p{n}"),
                    authorisation: format!("NL{n}"),
                    status: AeoStatus::Granted,
                    types: Some(vec![AeoType::SecuritySafety]),
                    from: t / 2,
                    until: until.map(|u| t / 2 + u),
                });
            }
            2 => {
                b.mra = Some(MraRecord {
                    partner: "de-customs".parse().unwrap(),
                    status: MraStatus::Terminated,
                    from: t / 2,
                    types: None,
                    approval: None,
                });
            }
            3 => b.reason = Some(format!("r{n}")),
            _ => {}
        }
        let direct = b.signing_bytes().unwrap();
        let generic = b.canonical_via_value().unwrap();
        prop_assert_eq!(&direct[18..], &generic[..]);
    }
}

/// The `offset` member (3.2): the local time offset the source gave, one spelling each.
#[test]
fn offsets_have_one_spelling() {
    use tradelog_protocol::event::offset_minutes;
    for (ok, minutes) in [
        ("+01:00", 60),
        ("-05:30", -330),
        ("+14:00", 840),
        ("+00:00", 0),
        ("-12:00", -720),
    ] {
        assert_eq!(offset_minutes(ok), Some(minutes), "{ok}");
    }
    for bad in [
        "-00:00", "+14:01", "+15:00", "+1:00", "01:00", "+01:60", "+01-00", "+01:00 ", "Z",
    ] {
        assert_eq!(offset_minutes(bad), None, "{bad}");
    }
    let mut b = sample::body(EventKind::Arrived, 1_767_225_600_000).unwrap();
    b.ucr = Some(sample_ucr(1));
    b.location = Some("NLRTM".parse().unwrap());
    b.offset = Some("+01:00".into());
    b.validate().unwrap();
    b.offset = Some("-00:00".into());
    let e = b.validate().unwrap_err().to_string();
    assert!(e.starts_with("body.offset: \"-00:00\" must be"), "{e}");
}

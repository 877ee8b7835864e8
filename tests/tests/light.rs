//! The light client against a running 4-validator devnet: honest answers verify (by UCR, by
//! container, the whole route in one call, a full audit, the CLI), a lying node — a proxy that
//! drops, alters, reorders or swaps events and proofs, forges certificates, serves an old head or
//! a forked one — is refused with a specific error, and an exported bundle still verifies after
//! every node is stopped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::Value;
use tradelog_client::audit::{audit, AuditError};
use tradelog_client::http::Endpoint;
use tradelog_client::light::{CertifiedHead, ClientError, LightClient};
use tradelog_node::devnet::{self, http, DevnetOptions};
use tradelog_protocol::bundle::BundleError;
use tradelog_protocol::head::CertificateError;
use tradelog_protocol::route::{RouteError, Source};
use tradelog_protocol::sample::{consignment_route, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, EventKind, Hash, Head};
use tradelog_tests::cdp::Browser;
use tradelog_tests::net::{now_ms, submit, Net};
use tradelog_tests::proxy::{edit, Lie, Proxy};
use tradelog_tests::{bin_dir, run, scratch};

fn wait_size(net: &Net, size: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while net.nodes.iter().any(|n| devnet::log_size(&n.api) < size) {
        assert!(Instant::now() < deadline, "log size {size} not reached");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Posts events round robin and waits until every node has committed them.
fn send(net: &Net, events: &[tradelog_protocol::Event], size: &mut u64) {
    for (i, e) in events.iter().enumerate() {
        submit(&net.nodes[i % 4], e);
        *size += 1;
    }
    wait_size(net, *size);
}

#[test]
fn the_light_client_verifies_honest_nodes_and_refuses_every_lie() {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let dir = scratch("light");
    let opts = DevnetOptions {
        dir: dir.clone(),
        api_base: 17900,
        consensus_base: 18000,
        gossip_base: 18100,
        consignments: 0,
        observer: false,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let children = devnet::spawn(&exe, &nodes).unwrap();
    let mut net = Net { nodes, children };
    devnet::wait_healthy(&net.nodes, Duration::from_secs(60)).unwrap();
    let sample = SampleNetwork::new(4).unwrap();
    let genesis = sample.genesis.clone();
    let genesis_file = net.nodes[0].dir.join("genesis.json");
    let t0 = now_ms() - 50 * 86_400_000; // every sample time lies in the past

    // An empty container's gate-in before consignment 0 is packed (not part of its route);
    // consignment 0 up to departure; the container transshipped on the way (part of the route);
    // the rest of consignment 0 and consignment 1; the empty container's gate-out after
    // delivery (not part of the route).
    let container = sample_container(0);
    let carrier = "blue-anchor-lines";
    let container_event = |kind, hours: u64, place: &str| {
        let mut b = tradelog_protocol::sample::body(kind, t0 + hours * 3_600_000).unwrap();
        b.container = Some(container.clone());
        b.location = Some(place.parse().unwrap());
        sample.sign(carrier, b).unwrap()
    };
    let route0 = consignment_route(&sample, 0, t0 + 3_600_000).unwrap();
    let mut size = 0;
    send(
        &net,
        &[container_event(EventKind::GateIn, 0, "CNSHA")],
        &mut size,
    );
    send(&net, &route0[..7], &mut size);
    send(
        &net,
        &[container_event(EventKind::Transshipped, 300, "ESALG")],
        &mut size,
    );
    send(&net, &route0[7..], &mut size);
    send(&net, &consignment_route(&sample, 1, t0).unwrap(), &mut size);
    send(
        &net,
        &[container_event(EventKind::GateOut, 900, "DEDUI")],
        &mut size,
    );
    // A consignment reported in DCSA Track & Trace documents, imported with the CLI by each
    // issuer: the carrier's arrival at NLRTM and declaration, the customs release (no place).
    let dcsa = dcsa_import(&net, &dir, &mut size);
    let in_container = route0
        .iter()
        .filter(|e| e.body().container.is_some())
        .count();

    // Honest: the whole route in one call, complete and verified.
    let node0 = format!("http://{}", net.nodes[0].api);
    let ucr = sample_ucr(0);
    let mut client = LightClient::new(genesis.clone(), &node0).unwrap();
    let route = client.provenance(&ucr).unwrap();
    assert_eq!(route.consignment.events.len(), 14);
    assert_eq!(route.containers.len(), 1);
    assert_eq!(
        route.containers[0].events.len(),
        in_container + 3,
        "the container's whole history"
    );
    let moves: Vec<_> = route
        .timeline
        .iter()
        .filter(|(_, _, s)| *s == Source::Container(container.clone()))
        .map(|(_, e, _)| e.body().kind)
        .collect();
    assert_eq!(
        moves,
        vec![EventKind::Transshipped],
        "only the move while it was packed"
    );
    assert_eq!(route.timeline.len(), 15);
    // By container: its events and the consignment it carried.
    let view = client.container(&container).unwrap();
    assert_eq!(view.provenance.events.len(), in_container + 3);
    assert_eq!(view.consignments, vec![ucr.clone()]);
    // An unknown consignment: zero events, proven absent.
    let none = client.provenance(&sample_ucr(77)).unwrap();
    assert!(none.timeline.is_empty());
    let trusted = client.trusted().unwrap().clone();
    assert_eq!(trusted.head.log_size, size);

    // A full audit re-verifies every block.
    let report = audit(&mut client, |_, _, _| {}).unwrap();
    assert_eq!(report.events, size);
    assert_eq!(report.tip.head.log_size, size);

    // The lying node.
    let proxy = Proxy::start(&net.nodes[2].api);
    let liar = || LightClient::new(genesis.clone(), &proxy.url()).unwrap();
    liar()
        .provenance(&ucr)
        .expect("the proxy is honest until told to lie");

    let route_err = |lie: Lie| {
        proxy.set(lie);
        liar().provenance(&ucr).unwrap_err()
    };
    let consignment_err = |lie: Lie| match route_err(lie) {
        ClientError::Route(RouteError::Consignment(e)) => e,
        other => panic!("expected a consignment bundle error, got {other}"),
    };
    // Drops an event.
    let e = consignment_err(edit("/route", |v| {
        v["consignment"]["events"].as_array_mut().unwrap().remove(5);
    }));
    assert!(
        matches!(
            e,
            BundleError::Incomplete {
                expected: 14,
                got: 13
            }
        ),
        "{e}"
    );
    // Drops the last event (no gap in positions to notice, the index still counts it).
    let e = consignment_err(edit("/route", |v| {
        v["consignment"]["events"].as_array_mut().unwrap().pop();
    }));
    assert!(matches!(e, BundleError::Incomplete { .. }), "{e}");
    // Alters an event's place.
    let e = consignment_err(edit("/route", |v| {
        v["consignment"]["events"][7]["event"]["body"]["location"] = "BEANR".into();
    }));
    assert!(matches!(e, BundleError::Event { pos: 7, .. }), "{e}");
    // Reorders two events.
    let e = consignment_err(edit("/route", |v| {
        v["consignment"]["events"]
            .as_array_mut()
            .unwrap()
            .swap(3, 4);
    }));
    assert!(matches!(e, BundleError::Order { pos: 4, .. }), "{e}");
    // Swaps events and their positions: each proof still fits, the order committed does not.
    let e = consignment_err(edit("/route", |v| {
        let evs = v["consignment"]["events"].as_array_mut().unwrap();
        let (a, b) = (evs[3]["event"].clone(), evs[4]["event"].clone());
        let (pa, pb) = (evs[3]["proof"].clone(), evs[4]["proof"].clone());
        evs[3]["event"] = b;
        evs[4]["event"] = a;
        evs[3]["proof"] = pb;
        evs[4]["proof"] = pa;
    }));
    assert!(matches!(e, BundleError::Inclusion { pos: 3, .. }), "{e}");
    // Tampers with an inclusion proof.
    let e = consignment_err(edit("/route", |v| {
        v["consignment"]["events"][2]["proof"][0] = Hash::of(&[b"x"]).to_string().into();
    }));
    assert!(matches!(e, BundleError::Inclusion { pos: 2, .. }), "{e}");
    // Lies about the index entry.
    let e = consignment_err(edit("/route", |v| {
        v["consignment"]["index_entry"]["count"] = 13.into();
    }));
    assert!(matches!(e, BundleError::IndexEntry), "{e}");
    // Forges a certificate signature.
    let e = consignment_err(edit("/route", |v| {
        let sig = v["consignment"]["certificate"]["signatures"][0]["sig"]
            .as_str()
            .unwrap()
            .to_owned();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        v["consignment"]["certificate"]["signatures"][0]["sig"] =
            format!("{flipped}{}", &sig[1..]).into();
    }));
    assert!(matches!(e, BundleError::Certificate(_)), "{e}");
    // Drops the container's bundle.
    let e = route_err(edit("/route", |v| {
        v["containers"].as_array_mut().unwrap().clear();
    }));
    assert!(
        matches!(e, ClientError::Route(RouteError::Containers { .. })),
        "{e}"
    );
    // Drops an event from the container's bundle.
    let e = route_err(edit("/route", |v| {
        v["containers"][0]["events"]
            .as_array_mut()
            .unwrap()
            .remove(0);
    }));
    assert!(
        matches!(
            e,
            ClientError::Route(RouteError::Container {
                pos: 0,
                err: BundleError::Incomplete { .. }
            })
        ),
        "{e}"
    );
    // Answers about another consignment.
    let other = sample_ucr(1);
    let node2 = net.nodes[2].api.clone();
    proxy.set(Box::new(move |path, _, _| {
        let alt = path.replace(sample_ucr(0).as_str(), other.as_str());
        let up: Endpoint = format!("http://{node2}").parse().unwrap();
        let r = up.get(&alt).unwrap();
        (r.status, r.body)
    }));
    let e = liar().provenance(&ucr).unwrap_err();
    assert!(matches!(e, ClientError::WrongSubject { .. }), "{e}");
    // Alters an event in a served block: the audit names the block and the event.
    let with_events = (1u64..)
        .find(|h| {
            let (status, body) =
                http(&net.nodes[2].api, "GET", &format!("/v1/blocks/{h}"), None).unwrap();
            assert_eq!(status, 200);
            let v: Value = serde_json::from_slice(&body).unwrap();
            v["events"].as_array().is_some_and(|a| a.len() >= 2)
        })
        .unwrap();
    let block_path: &'static str = Box::leak(format!("/v1/blocks/{with_events}").into_boxed_str());
    proxy.set(edit(block_path, move |v| {
        v["events"][1]["body"]["time"] = (t0 + 1).into();
    }));
    let mut auditor = liar();
    match audit(&mut auditor, |_, _, _| {}) {
        Err(AuditError::Fault { height, what }) if height == with_events => {
            assert!(what.contains("events[1]"), "{what}")
        }
        other => panic!("expected a fault at block {with_events}, got {other:?}"),
    }

    // An old answer after the client saw a newer head.
    proxy.set(Box::new(|_, s, b| (s, b)));
    let old = {
        let r: Endpoint = proxy.url().parse().unwrap();
        r.get(&format!("/v1/consignments/{ucr}/route"))
            .unwrap()
            .body
    };
    send(
        &net,
        &[container_event(EventKind::GateIn, 1000, "NLRTM")],
        &mut size,
    );
    let newer = LightClient::new(genesis.clone(), &node0)
        .unwrap()
        .head()
        .unwrap();
    proxy.set(Box::new(move |path, s, b| {
        if path.contains("/route") {
            (200, old.clone())
        } else {
            (s, b)
        }
    }));
    let mut stale = liar().with_trusted(newer.clone()).unwrap();
    let e = stale.provenance(&ucr).unwrap_err();
    assert!(matches!(e, ClientError::Stale { .. }), "{e}");

    // A forked head, certified by three colluding validators (their keys are the devnet's):
    // it claims to extend the log the client saw, but no consistency proof exists.
    let forged = {
        let mut h: Head = newer.head.clone();
        h.height += 1;
        h.prev = newer.head.hash();
        h.log_size += 1;
        h.log_root = Hash::of(&[b"rewritten history"]);
        let keys: Vec<_> = sample.validator_keys.iter().take(3).collect();
        let certificate = Certificate::sign(&h, 0, &keys);
        CertifiedHead {
            head: h,
            certificate,
        }
    };
    let served = serde_json::json!({"hash": forged.head.hash(), "head": forged.head, "certificate": forged.certificate});
    let served_bytes = serde_json::to_vec(&served).unwrap();
    proxy.set(Box::new(move |path, s, b| {
        if path == "/v1/head" {
            (200, served_bytes.clone())
        } else {
            (s, b)
        }
    }));
    let mut forked = liar().with_trusted(newer.clone()).unwrap();
    match forked.head().unwrap_err() {
        ClientError::Fork(evidence) => {
            assert_eq!(evidence.known, newer);
            assert_eq!(evidence.served, forged);
        }
        other => panic!("expected fork evidence, got {other}"),
    }
    // The same through the CLI: exit code 3 and the two heads as JSON evidence.
    let state = dir.join("trusted-head.json");
    std::fs::write(&state, serde_json::to_vec(&newer).unwrap()).unwrap();
    let (g, s) = (genesis_file.to_str().unwrap(), state.to_str().unwrap());
    let out = run(
        "tradelog",
        &["head", "--node", &proxy.url(), "--genesis", g, "--state", s],
    )
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let evidence: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        evidence["fork"]["served"]["head"]["log_root"],
        forged.head.log_root.to_string()
    );
    // Equivocation evidence: a second head certified at the height of a real one, in the same
    // round, by three validators: the ones that signed both are proven equivocators; the node
    // verifies the evidence, stores it and serves it.
    let conflicting = {
        let mut other = newer.head.clone();
        other.log_root = Hash::of(&[b"a conflicting block"]);
        let keys: Vec<_> = sample.validator_keys.iter().collect();
        let certificate = Certificate::sign(&other, newer.certificate.round, &keys[..3]);
        serde_json::json!({"conflicting_commits": {
            "first": newer.head, "first_certificate": newer.certificate,
            "second": other, "second_certificate": certificate}})
    };
    let body = serde_json::to_vec(&conflicting).unwrap();
    let api0 = &net.nodes[0].api;
    let (status, resp) = http(api0, "POST", "/v1/evidence", Some(&body)).unwrap();
    let record: Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(status, 201, "{record}");
    let signed_real: Vec<String> = newer
        .certificate
        .signatures
        .iter()
        .map(|s| s.validator.to_hex())
        .filter(|k| {
            sample.validator_keys[..3]
                .iter()
                .any(|v| v.public().to_hex() == *k)
        })
        .collect();
    let mut equivocators: Vec<String> = record["equivocators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    equivocators.sort();
    let mut expected = signed_real.clone();
    expected.sort();
    assert!(!expected.is_empty());
    assert_eq!(equivocators, expected, "{record}");
    let (status, _) = http(api0, "POST", "/v1/evidence", Some(&body)).unwrap();
    assert_eq!(status, 200, "known evidence is idempotent");
    let (_, listed) = http(api0, "GET", "/v1/evidence", None).unwrap();
    let listed: Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(listed["evidence"][0]["id"], record["id"]);
    let mut nothing = conflicting.clone();
    nothing["conflicting_commits"]["second"] = serde_json::json!(newer.head);
    nothing["conflicting_commits"]["second_certificate"] = serde_json::json!(newer.certificate);
    for (bad, status, code) in [
        (
            serde_json::to_vec(&nothing).unwrap(),
            422,
            "invalid_evidence",
        ),
        (b"{\"double_sign\": 1}".to_vec(), 400, "malformed_evidence"),
    ] {
        let (s, resp) = http(api0, "POST", "/v1/evidence", Some(&bad)).unwrap();
        let v: Value = serde_json::from_slice(&resp).unwrap();
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{v}"
        );
    }

    // A certificate signed by only two validators is not a quorum.
    let mut weak = forged.clone();
    weak.certificate.signatures.truncate(2);
    let e = LightClient::new(genesis.clone(), &node0)
        .unwrap()
        .with_trusted(weak)
        .unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Certificate {
                err: CertificateError::NoQuorum { .. },
                ..
            }
        ),
        "{e}"
    );

    // The web explorer, in headless Chromium, shows the same route and the time-release table.
    explorer(
        &net.nodes[1].api,
        ucr.as_str(),
        &container.to_string(),
        &dir,
    );

    // The CLI against an honest node: provenance, head (state advances), audit, export.
    let honest = node0.as_str();
    let out = run(
        "tradelog",
        &["provenance", ucr.as_str(), "--node", honest, "--genesis", g],
    )
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("15 events (14 of its own, complete)"),
        "{text}"
    );
    assert!(text.contains("(movement of"), "{text}");
    let out = run(
        "tradelog",
        &["report", "time-release", "--node", honest, "--genesis", g],
    )
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(
            "CHECKED: every figure recomputed from the verified provenance of 3 consignments"
        ),
        "{text}"
    );
    assert!(text.contains("NLRTM") && text.contains("DEHAM"), "{text}");
    // The DCSA release names no place: its row is at NLRTM, where the goods arrived, traced to
    // the three imported events (the client's recomputation above agreed with it).
    let (_, body) = http(api0, "GET", "/v1/reports/time-release", None).unwrap();
    let report: Value = serde_json::from_slice(&body).unwrap();
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ucr"] == DCSA_UCR)
        .unwrap_or_else(|| panic!("no time-release row for the DCSA consignment: {report}"));
    assert_eq!(row["border_post"], "NLRTM", "{row}");
    let ids = ["arrival", "declaration", "release"].map(|k| row[k]["id"].as_str().unwrap());
    assert_eq!(ids, dcsa.each_ref().map(String::as_str), "{row}");
    assert_eq!(row["arrival_to_release"], 675 * 60_000, "{row}");
    let group = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["border_post"] == "NLRTM" && g["period"] == "2026-03")
        .unwrap_or_else(|| panic!("no NLRTM 2026-03 group: {report}"));
    assert_eq!(group["ucrs"], serde_json::json!([DCSA_UCR]), "{group}");
    for (query, code) in [
        ("period=2026-1", "invalid_period"),
        ("border_post=zz", "invalid_border_post"),
    ] {
        let (status, body) = http(
            &net.nodes[0].api,
            "GET",
            &format!("/v1/reports/time-release?{query}"),
            None,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{v}"
        );
    }
    let (_, metrics) = http(&net.nodes[0].api, "GET", "/metrics", None).unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics.contains("tradelog_time_release_seconds{border_post=\"NLRTM\"")
            && metrics.contains("tradelog_time_release_consignments{"),
        "{metrics}"
    );
    let out = run(
        "tradelog",
        &["head", "--node", honest, "--genesis", g, "--state", s],
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        "tradelog",
        &["audit", "--quiet", "--node", honest, "--genesis", g],
    )
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("AUDIT PASSED") && text.contains(&format!("{size} events")),
        "{text}"
    );
    let bundle = dir.join("route.json");
    let b = bundle.to_str().unwrap();
    let out = run(
        "tradelog",
        &[
            "export",
            ucr.as_str(),
            "--node",
            honest,
            "--genesis",
            g,
            "-o",
            b,
        ],
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Every node stops; the exported bundle verifies offline with only the genesis file.
    for c in &mut net.children {
        let _ = c.kill();
        let _ = c.wait();
    }
    let out = run("tradelog", &["verify", "--genesis", g, b]).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("VERIFIED"), "{text}");
    // And a tampered copy does not.
    let tampered = std::fs::read_to_string(&bundle)
        .unwrap()
        .replacen("\"NLRTM\"", "\"BEANR\"", 1);
    let bad = dir.join("tampered.json");
    std::fs::write(&bad, tampered).unwrap();
    let out = run(
        "tradelog",
        &["verify", "--genesis", g, bad.to_str().unwrap()],
    )
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does NOT verify"));
}

/// The UCR of the DCSA fixtures (their transport-document reference).
const DCSA_UCR: &str = "6CN913000042-SF000042";

/// Imports the DCSA fixtures with `tradelog import` as their issuers would (the carrier: its
/// `ARRI` at NLRTM and the `SUBM` on `CUS`; Dutch customs: its `RELS` on `CUS`, which names no
/// place), submits each file with `tradelog submit` and waits for the commit. Returns the ids
/// of the arrival, declaration and release.
fn dcsa_import(net: &Net, dir: &std::path::Path, size: &mut u64) -> [String; 3] {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/tests/fixtures/dcsa");
    let steps = [
        ("blue-anchor-lines", "transport-arrival.json"),
        ("blue-anchor-lines", "customs-declaration.json"),
        ("nl-customs", "customs-release.json"),
    ];
    let mut ids = Vec::new();
    for (i, (org, file)) in steps.into_iter().enumerate() {
        let key = dir.join(format!("{org}.key"));
        if !key.exists() {
            let secret = tradelog_protocol::sample::dev_key(&format!("org/{org}"));
            tradelog_client::keyfile::write(&key, &secret).unwrap();
        }
        let doc = fixtures.join(file);
        let out = run(
            "tradelog",
            &[
                "import",
                "--format",
                "dcsa",
                doc.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
                "--org",
                org,
                "--chain",
                "tradelog-devnet",
                "--ucr-from",
                "transport-document",
            ],
        )
        .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let events: Vec<tradelog_protocol::Event> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(events.len(), 1, "{file}");
        let body = events[0].body();
        assert_eq!(
            body.ucr.as_ref().map(|u| u.as_str()),
            Some(DCSA_UCR),
            "{file}"
        );
        assert_eq!(body.issuer.org.as_str(), org, "{file}");
        ids.push(events[0].id().to_hex());
        let signed = dir.join(format!("dcsa-{file}"));
        std::fs::write(&signed, &out.stdout).unwrap();
        let node = format!("http://{}", net.nodes[i % 4].api);
        let out = run(
            "tradelog",
            &["submit", "--node", &node, signed.to_str().unwrap()],
        )
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && !text.contains("\"error\""),
            "{file}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        *size += 1;
    }
    wait_size(net, *size);
    ids.try_into().unwrap()
}

/// Chromium, if installed (CI installs Debian's package and sets TRADELOG_REQUIRE_CHROMIUM=1).
fn chromium() -> Option<std::path::PathBuf> {
    let found = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("TRADELOG_REQUIRE_CHROMIUM").is_none(),
            "TRADELOG_REQUIRE_CHROMIUM is set but no chromium binary was found"
        );
        eprintln!("SKIPPED the explorer check: no chromium (apt-get install chromium)");
    }
    found
}

/// Opens the explorer in headless Chromium and searches the way a user does: Tab to the search
/// box, type the UCR (in lower case), press Enter. Checks the page's accessibility basics (the
/// search box is a labelled searchbox reachable by keyboard, the form a named search landmark),
/// the rendered route, head and time-release table, that Enter on the same query searches
/// again, and keeps a screenshot next to the test's data (`explorer.png`).
fn explorer(api: &str, ucr: &str, container: &str, dir: &std::path::Path) {
    let Some(browser) = chromium() else { return };
    let mut b = Browser::launch(&browser, dir, 1280, 1800).unwrap();
    b.navigate(&format!("http://{api}/")).unwrap();
    let secs = Duration::from_secs(30);
    b.wait_for(
        "document.getElementById('head').textContent.includes('certified head #')",
        secs,
    )
    .unwrap();
    b.wait_for(
        "document.querySelectorAll('#trs tbody tr').length > 0",
        secs,
    )
    .unwrap();

    let ax = b.accessibility().unwrap();
    for (role, name) in [
        (
            "searchbox",
            "Consignment UCR, ISO 6346 container number, or trade identifier (bl:, bkg:, sscc:)",
        ),
        ("button", "Search"),
        (
            "search",
            "Search consignments, containers and trade identifiers",
        ),
    ] {
        assert!(
            ax.iter().any(|(r, n)| r == role && n == name),
            "no {role} named {name:?} in the accessibility tree: {ax:?}"
        );
    }

    // Keyboard only: Tab until the search box has the focus, type, Enter.
    let mut tabs = 0;
    while b.eval("document.activeElement.id").unwrap() != "q" {
        assert!(tabs < 10, "the search box is not reachable with Tab");
        b.press('\t').unwrap();
        tabs += 1;
    }
    let typed = ucr.to_lowercase();
    b.type_text(&typed).unwrap();
    assert_eq!(b.eval("document.getElementById('q').value").unwrap(), typed);
    b.press('\n').unwrap();
    let shown = format!(
        "document.getElementById('result').textContent.includes('Consignment {ucr}') && \
         document.getElementById('result').textContent.includes('complete per the index')"
    );
    b.wait_for(&shown, secs).unwrap();
    assert_eq!(
        b.eval("location.hash").unwrap(),
        format!("#q={ucr}"),
        "the submitted search is in the address, to share or reload"
    );
    let dom = b.eval("document.documentElement.outerHTML").unwrap();
    let dom = dom.as_str().unwrap();
    assert!(dom.contains("certified head #"), "no head:\n{dom}");
    assert!(
        dom.contains(&format!("movement of {container}")),
        "no container movement:\n{dom}"
    );
    assert_eq!(
        dom.matches("<tr class=\"move").count(),
        1,
        "one container movement in the route"
    );
    let trs = b
        .eval("document.getElementById('trs').textContent")
        .unwrap();
    let trs = trs.as_str().unwrap();
    assert!(
        trs.contains("NLRTM") && trs.contains("DEHAM"),
        "no border post in the time-release table: {trs}"
    );

    // Enter again on the same query searches again (the address does not change).
    b.eval("document.querySelector('#result > *').setAttribute('data-old', '1')")
        .unwrap();
    b.press('\n').unwrap();
    b.wait_for(
        &format!("!document.querySelector('#result [data-old]') && {shown}"),
        secs,
    )
    .unwrap();

    let png = b.screenshot().unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "not a screenshot of the page: {} bytes",
        png.len()
    );
    std::fs::write(dir.join("explorer.png"), png).unwrap();
    b.close().unwrap();
}

//! AEO status and mutual recognition end to end (PROTOCOL.md 8h, 9e): on a 4-validator devnet,
//! two administrations make an arrangement with the CLI (`countersign-mra`, `event --body`,
//! `submit`), one grants and later suspends a platform's authorisation, and `tradelog aeo`
//! answers from the genesis alone, before and after; a node that hides the suspension or
//! misreads its own bundles is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tradelog_client::light::{ClientError, LightClient};
use tradelog_node::devnet::{self, DevnetOptions};
use tradelog_protocol::aeo::{AeoRecord, AeoStatus, AeoType};
use tradelog_protocol::bundle::BundleError;
use tradelog_protocol::sample::{self, SampleNetwork};
use tradelog_protocol::EventKind;
use tradelog_tests::net::{now_ms, submit, Net};
use tradelog_tests::proxy::{edit, Proxy};
use tradelog_tests::{bin_dir, run, scratch};

const DAY: u64 = 86_400_000;

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn wait_size(net: &Net, size: u64) {
    let start = Instant::now();
    while net.nodes.iter().any(|n| devnet::log_size(&n.api) < size) {
        assert!(start.elapsed() < Duration::from_secs(60), "not committed");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn administrations_record_an_arrangement_with_the_cli_and_the_light_client_answers() {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let dir = scratch("aeo");
    let opts = DevnetOptions {
        dir: dir.join("devnet"),
        api_base: 21100,
        consensus_base: 21200,
        gossip_base: 21300,
        consignments: 0,
        observer: false,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let children = devnet::spawn(&exe, &nodes).unwrap();
    let net = Net { nodes, children };
    devnet::wait_healthy(&net.nodes, Duration::from_secs(60)).unwrap();
    let sample = SampleNetwork::new(4).unwrap();
    let keys = opts.dir.join("keys");
    let key = |org: &str| keys.join(format!("{org}.key")).to_str().unwrap().to_owned();
    let genesis = net.nodes[0].dir.join("genesis.json");
    let g = genesis.to_str().unwrap();
    let node = format!("http://{}", net.nodes[0].api);
    let t = now_ms() - 100 * DAY;

    // The German administration countersigns the terms; the Dutch one records the arrangement.
    let from = t.to_string();
    // `tradelog countersign-mra` of the terms (nl-customs records, de-customs is the partner),
    // signed with `signer`'s key.
    let countersign = |signer: &str| {
        run(
            "tradelog",
            &[
                "countersign-mra",
                "--key",
                &key(signer),
                "--chain",
                "tradelog-devnet",
                "--issuer",
                "nl-customs",
                "--partner",
                "de-customs",
                "--from",
                &from,
                "--types",
                "security_safety",
            ],
        )
        .unwrap()
    };
    let out = countersign("de-customs");
    assert!(out.status.success(), "{}", text(&out));
    let approval: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nl = sample.org_keys["nl-customs"].public().to_hex();
    let body = serde_json::json!({
        "v": 1, "chain": "tradelog-devnet", "kind": "mra", "time": t, "refs": [],
        "documents": [], "details": {},
        "issuer": {"org": "nl-customs", "key": nl},
        "mra": {"partner": "de-customs", "status": "in_force", "from": t,
                "types": ["security_safety"], "approval": approval},
    });
    // `tradelog event --body` signs it as nl-customs, `tradelog submit` sends it.
    let sign_and_submit = |body: &serde_json::Value| {
        let body_file = dir.join("mra-body.json");
        std::fs::write(&body_file, body.to_string()).unwrap();
        let signed = run(
            "tradelog",
            &[
                "event",
                "--key",
                &key("nl-customs"),
                "--body",
                body_file.to_str().unwrap(),
            ],
        )
        .unwrap();
        assert!(signed.status.success(), "{}", text(&signed));
        let event_file = dir.join("mra.json");
        std::fs::write(&event_file, &signed.stdout).unwrap();
        run(
            "tradelog",
            &["submit", "--node", &node, event_file.to_str().unwrap()],
        )
        .unwrap()
    };
    let out = sign_and_submit(&body);
    assert!(out.status.success(), "{}", text(&out));
    // The same terms signed by the issuer's own key instead: refused, nothing written.
    let mut forged = body.clone();
    let own = countersign("nl-customs");
    forged["mra"]["approval"] = serde_json::from_slice(&own.stdout).unwrap();
    forged["time"] = serde_json::json!(t + 1);
    let out = sign_and_submit(&forged);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("mra_not_countersigned"),
        "{}",
        text(&out)
    );

    // A grant by the German administration, suspended 30 days later.
    let grant = sample::aeo_grant(
        &sample,
        "de-customs",
        "shopfast",
        "DEAEOF0000012345",
        &[AeoType::CustomsSimplifications, AeoType::SecuritySafety],
        t + DAY,
    )
    .unwrap();
    let suspension = sample::aeo_record(
        &sample,
        "de-customs",
        AeoRecord {
            holder: "shopfast".parse().unwrap(),
            programme: "de_aeo".into(),
            authorisation: "DEAEOF0000012345".into(),
            status: AeoStatus::Suspended,
            types: None,
            from: t + 30 * DAY,
            until: None,
        },
        t + 30 * DAY,
    )
    .unwrap();
    assert_eq!(suspension.body().kind, EventKind::AeoStatus);
    submit(&net.nodes[1], &grant);
    submit(&net.nodes[2], &suspension);
    wait_size(&net, 3);

    // `tradelog aeo`: recognised through the arrangement between grant and suspension, not after.
    let ask = |at: u64, node: &str| {
        run(
            "tradelog",
            &[
                "aeo",
                "shopfast",
                "--recognised-by",
                "nl-customs",
                "--at",
                &at.to_string(),
                "--node",
                node,
                "--genesis",
                g,
            ],
        )
        .unwrap()
    };
    let out = ask(t + 10 * DAY, &node);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("shopfast held an AEO status recognised by nl-customs")
            && said.contains("DEAEOF0000012345")
            && said.contains("recognised for security_safety")
            && said.contains("mutual recognition arrangement"),
        "{said}"
    );
    let out = ask(t + 40 * DAY, &node);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("did not hold"), "{}", text(&out));
    // Without --recognised-by: what it held, from any administration.
    let held = |at: u64| {
        run(
            "tradelog",
            &[
                "aeo",
                "shopfast",
                "--at",
                &at.to_string(),
                "--node",
                &node,
                "--genesis",
                g,
            ],
        )
        .unwrap()
    };
    let out = held(t + 10 * DAY);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("shopfast held 1 AEO authorisation at")
            && text(&out).contains("DEAEOF0000012345 (de_aeo) by de-customs"),
        "{}",
        text(&out)
    );
    assert_eq!(held(t + 40 * DAY).status.code(), Some(4));

    // A node that hides the suspension: its bundle is incomplete.
    let proxy = Proxy::start(&net.nodes[3].api);
    proxy.set(edit("/v1/organisations/", |v| {
        v["bundles"][0]["events"].as_array_mut().unwrap().pop();
        v["recognition"]["recognised"] = serde_json::json!(true);
    }));
    let holder = "shopfast".parse().unwrap();
    let by = "nl-customs".parse().unwrap();
    let mut client = LightClient::new(sample.genesis.clone(), &proxy.url()).unwrap();
    match client.aeo(&holder, &by, t + 40 * DAY) {
        Err(ClientError::Bundle(BundleError::Incomplete { .. })) => {}
        other => panic!("expected an incomplete bundle, got {other:?}"),
    }
    let out = ask(t + 40 * DAY, &proxy.url());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // A node that serves honest bundles but claims the opposite answer.
    proxy.set(edit("/v1/organisations/", |v| {
        v["recognition"]["recognised"] = serde_json::json!(true);
    }));
    let mut client = LightClient::new(sample.genesis.clone(), &proxy.url()).unwrap();
    match client.aeo(&holder, &by, t + 40 * DAY) {
        Err(ClientError::Malformed { reason, .. }) => {
            assert!(reason.contains("they prove recognised=false"), "{reason}")
        }
        other => panic!("expected a refused reading, got {other:?}"),
    }
    // A node that answers about another administration's records.
    proxy.set(edit("/v1/organisations/", |v| {
        v["bundles"].as_array_mut().unwrap().pop();
    }));
    let mut client = LightClient::new(sample.genesis.clone(), &proxy.url()).unwrap();
    match client.aeo(&holder, &by, t + 10 * DAY) {
        Err(ClientError::Malformed { reason, .. }) => {
            assert!(reason.contains("organisation subjects"), "{reason}")
        }
        other => panic!("expected a refused answer, got {other:?}"),
    }
}

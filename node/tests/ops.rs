//! The operations files in `ops/` stay true to the node: every metric the Prometheus alert
//! rules and the Grafana dashboard query is one the node exports (the names are read from a
//! scrape rendered by the node's own code), the dashboard is valid JSON, and, where the tools
//! are installed, `promtool check rules`, `promtool check metrics` and `systemd-analyze verify`
//! accept the rules, a scrape and the service unit. CI installs promtool and sets
//! `TRADELOG_REQUIRE_PROMTOOL=1`, so there a missing tool fails instead of skipping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tradelog_node::api::health::{self, LedgerView};
use tradelog_node::metrics::{self, ConsensusMessage, Direction, Metrics, Network};
use tradelog_node::trs::TrsReport;
use tradelog_protocol::sample::SampleNetwork;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A `/metrics` answer as the API renders it, with every family present.
fn scrape() -> String {
    let net = SampleNetwork::new(4).unwrap();
    let set = net.genesis.validator_set().clone();
    let m = Metrics::new();
    m.vitals.set_key(net.validator_keys[0].public());
    m.vitals.know_validators(&set);
    m.vitals.set_peers(Network::Consensus, 3);
    m.set_peers(3);
    m.vitals.peer_tip("peer".into(), 5);
    m.vitals.gossip_message(Direction::Sent);
    m.vitals
        .consensus_message(ConsensusMessage::Vote, Direction::Received);
    m.set_last_commit(tradelog_node::chain::now_ms() - 4_000);
    let mut text = m.render();
    let ledger = LedgerView {
        height: 4,
        mempool: 0,
        last_commit_ms: None,
        validators: set,
    };
    health::render(&health::report(&ledger, &m.vitals.snapshot(), 0), &mut text);
    text.push_str(&metrics::time_release(&TrsReport {
        log_size: 0,
        groups: Vec::new(),
        rows: Vec::new(),
        excluded: Vec::new(),
        recorded_policy: tradelog_node::trs::LATE_POLICY,
        late_recorded: Vec::new(),
        aeo_policy: tradelog_node::trs::AEO_POLICY,
        advance_groups: Vec::new(),
        advance_rows: Vec::new(),
    }));
    text
}

/// Every sample name a scrape can hold: each `# TYPE` family, with a histogram's series.
fn exported(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = rest.split_once(' ').unwrap();
        names.insert(name.to_owned());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
    }
    names
}

/// The `tradelog_…` metric names in a PromQL expression.
fn used(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("tradelog_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    out
}

/// The `expr:` lines of the alert rules (one line each, as the file's header promises).
fn alert_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("ops/prometheus/alerts.yml")).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("expr:"))
        .map(|e| e.trim().to_owned())
        .collect()
}

/// Every `expr` of the dashboard's panel targets.
fn dashboard_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("ops/grafana/tradelog.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).expect("dashboard is JSON");
    assert_eq!(doc["uid"], "tradelog-node");
    let panels = doc["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    let mut out = Vec::new();
    for p in panels {
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "panel {} queries nothing", p["title"]);
        for t in targets {
            out.push(t["expr"].as_str().expect("expr").to_owned());
        }
    }
    out
}

#[test]
fn alert_rules_and_dashboard_query_only_exported_metrics() {
    let names = exported(&scrape());
    for (file, exprs) in [
        ("ops/prometheus/alerts.yml", alert_exprs()),
        ("ops/grafana/tradelog.json", dashboard_exprs()),
    ] {
        assert!(exprs.len() >= 5, "{file}: {exprs:?}");
        let mut named = 0;
        for e in &exprs {
            for name in used(e) {
                named += 1;
                assert!(
                    names.contains(&name),
                    "{file}: {name} is not exported by the node (in {e})"
                );
            }
        }
        assert!(named >= exprs.len() - 1, "{file}");
    }
    // The checker itself catches a wrong name.
    assert!(!names.contains("tradelog_peer_count"));
    assert_eq!(
        used("rate(tradelog_a_total[5m]) > tradelog_b"),
        ["tradelog_a_total", "tradelog_b"]
    );
}

/// The tool `name`, or `None` to skip (a failure when `TRADELOG_REQUIRE_PROMTOOL` is set and
/// the tool is promtool).
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !(name == "promtool" && std::env::var_os("TRADELOG_REQUIRE_PROMTOOL").is_some()),
            "promtool is required (TRADELOG_REQUIRE_PROMTOOL) but not installed"
        );
        eprintln!("{name} not installed: skipped");
    }
    found
}

#[test]
fn promtool_accepts_the_rules_and_a_scrape() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let out = Command::new(&promtool)
        .arg("check")
        .arg("rules")
        .arg(repo().join("ops/prometheus/alerts.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let check = |text: &str| {
        let mut child = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, said) = check(&scrape());
    assert!(ok, "promtool check metrics: {said}");
    // The lint it is here for: a gauge with a quantile label (the time-release gauge's old form).
    let (ok, said) =
        check("# HELP x_seconds x\n# TYPE x_seconds gauge\nx_seconds{quantile=\"0.5\"} 1\n");
    assert!(!ok && said.contains("quantile"), "{said}");
}

#[test]
fn the_systemd_unit_verifies() {
    let Some(analyze) = tool("systemd-analyze") else {
        return;
    };
    let unit = std::fs::read_to_string(repo().join("ops/systemd/tradelog-node.service")).unwrap();
    for hardening in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/tradelog",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(hardening), "{hardening}");
    }
    // verify checks that ExecStart exists: point it at the binary this build made.
    let unit = unit.replace(
        "/usr/local/bin/tradelog-node",
        env!("CARGO_BIN_EXE_tradelog-node"),
    );
    let dir = std::env::temp_dir().join(format!("tradelog-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tradelog-node.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success() && !said.contains(&path.display().to_string()),
        "{said}"
    );
}

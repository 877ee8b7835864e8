//! End-to-end: `tradelog connect dcsa` against a four-node devnet (issue "real feeds" item 8).
//! DCSA 3.0 notifications are posted to the connector's callback while the connector is killed
//! with SIGKILL and restarted, and while the node it submits to is killed and restarted; every
//! source event ends on the ledger exactly once, and a re-delivery, serialised differently,
//! adds nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tradelog_node::devnet::{self, http, DevnetOptions};
use tradelog_protocol::sample::sample_container;
use tradelog_tests::net::{now_ms, Net};
use tradelog_tests::{bin_dir, scratch};

const CONNECTOR: u16 = 18990;
const NOTIFICATIONS: usize = 12;

fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Notification `i`: one DCSA 3.0 gate-in of container `i` under B/L `BL<i>`.
fn notification(i: usize, pretty: bool) -> Vec<u8> {
    let t = now_ms() - 3_600_000 + i as u64 * 60_000;
    let v = serde_json::json!([{
        "metadata": {
            "eventID": format!("6f1a7a36-1c2b-4d4e-9f00-{i:012}"),
            "eventCreatedDateTime": rfc3339(t),
            "eventType": "EQUIPMENT",
            "publisher": {"partyName": "Blue Anchor Lines", "carrierCode": "BAL", "carrierCodeListProvider": "SMDG"},
            "publisherRole": "CA"
        },
        "payload": {
            "eventType": "EQUIPMENT",
            "eventClassifierCode": "ACT",
            "eventDateTime": rfc3339(t),
            "equipmentEventTypeCode": "GTIN",
            "equipmentReference": sample_container(100 + i as u32).as_str(),
            "emptyIndicatorCode": "LADEN",
            "eventLocation": {"locationType": "UNLO", "UNLocationCode": "NLRTM"},
            "relatedDocumentReferences": [{"type": "TRD", "value": format!("BL{i:04}")}]
        }
    }]);
    if pretty {
        serde_json::to_vec_pretty(&v).unwrap()
    } else {
        serde_json::to_vec(&v).unwrap()
    }
}

/// POSTs a notification; `Some(status)` if the connector answered.
fn post(body: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", CONNECTOR)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let head = format!(
        "POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.split(' ').nth(1)?.parse().ok()
}

/// Delivers until the connector acknowledges (as a DCSA publisher retries a callback).
fn deliver(body: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match post(body) {
            Some(204) => return,
            Some(other) => panic!("connector answered {other}"),
            None => {
                assert!(Instant::now() < deadline, "the connector never came back");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

struct Connector(Child);

impl Drop for Connector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_connector(args: &[String]) -> Connector {
    let exe = bin_dir().unwrap().join("tradelog");
    let child = Command::new(exe)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Connector(child)
}

/// The events of B/L `BL<i>` on the node (its identifier bundle), as source ids.
fn recorded(api: &str, i: usize) -> Option<Vec<String>> {
    let path = format!("/v1/identifiers/bl:blue-anchor-lines:BL{i:04}");
    let (status, body) = http(api, "GET", &path, None).ok()?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    Some(
        v["events"]
            .as_array()?
            .iter()
            .map(|e| {
                e["event"]["body"]["source"]["id"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect(),
    )
}

#[test]
fn the_connector_survives_kill_9_of_itself_and_of_the_node_with_nothing_lost_or_duplicated() {
    let exe = bin_dir().unwrap().join("tradelog-node");
    let opts = DevnetOptions {
        dir: scratch("connect"),
        api_base: 18600,
        consensus_base: 18700,
        gossip_base: 18800,
        consignments: 0,
        observer: false,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let children = devnet::spawn(&exe, &nodes).unwrap();
    let mut net = Net { nodes, children };
    devnet::wait_healthy(&net.nodes, Duration::from_secs(90)).unwrap();
    let genesis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(net.nodes[0].dir.join("genesis.json")).unwrap())
            .unwrap();
    let dir = opts.dir.join("connector");
    let args: Vec<String> = [
        "connect",
        "dcsa",
        "--node",
        &format!("http://{}", net.nodes[0].api),
        "--key",
        opts.dir
            .join("keys/blue-anchor-lines.key")
            .to_str()
            .unwrap(),
        "--org",
        "blue-anchor-lines",
        "--chain",
        genesis["chain"].as_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{CONNECTOR}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut connector = start_connector(&args);
    for i in 0..NOTIFICATIONS {
        deliver(&notification(i, false));
        if i == 3 {
            // SIGKILL right after acknowledging: what is in the outbox must still go out.
            drop(connector);
            connector = start_connector(&args);
        }
        if i == 6 {
            // The node goes down: the connector keeps what it receives and retries.
            let _ = net.children[0].kill();
            let _ = net.children[0].wait();
        }
        if i == 9 {
            net.children[0] = devnet::spawn(&exe, &net.nodes[0..=0]).unwrap().remove(0);
            devnet::wait_healthy(&net.nodes[0..=0], Duration::from_secs(60)).unwrap();
        }
    }
    // A re-delivery of notification 2, serialised differently, and a second SIGKILL.
    deliver(&notification(2, true));
    drop(connector);
    let _connector = start_connector(&args);
    let api = net.nodes[1].api.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got: Vec<Option<Vec<String>>> = (0..NOTIFICATIONS).map(|i| recorded(&api, i)).collect();
        let done = got
            .iter()
            .all(|g| g.as_ref().is_some_and(|ids| !ids.is_empty()));
        if done {
            for (i, ids) in got.into_iter().enumerate() {
                let ids = ids.unwrap();
                assert_eq!(
                    ids,
                    vec![format!("6f1a7a36-1c2b-4d4e-9f00-{i:012}")],
                    "notification {i} must be recorded exactly once"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every notification reached the ledger: {got:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Give the restarted connector time to resend anything left, then check again: still once.
    std::thread::sleep(Duration::from_secs(3));
    for i in 0..NOTIFICATIONS {
        assert_eq!(recorded(&api, i).unwrap().len(), 1, "notification {i}");
    }
    let outbox: Vec<_> = std::fs::read_dir(dir.join("outbox")).unwrap().collect();
    assert!(outbox.is_empty(), "the outbox drains: {outbox:?}");
    let metrics = {
        let mut s = TcpStream::connect(("127.0.0.1", CONNECTOR)).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    assert!(
        metrics.contains("tradelog_connector_outbox_documents 0"),
        "{metrics}"
    );
    // A retraction of notification 5 arrives later, in its own notification (as a feed sends
    // it: metadata only), after another SIGKILL and restart: the connector kept the subjects of
    // the events it imported (DIR/sources.jsonl), so it records a `retracted` event for it.
    drop(_connector);
    let _connector = start_connector(&args);
    let retraction = serde_json::json!([{
        "metadata": {
            "eventID": "6f1a7a36-1c2b-4d4e-9f00-ffffffffffff",
            "eventCreatedDateTime": rfc3339(now_ms() - 60_000),
            "eventType": "EQUIPMENT",
            "retractedEventID": format!("6f1a7a36-1c2b-4d4e-9f00-{:012}", 5),
            "publisher": {"partyName": "Blue Anchor Lines", "carrierCode": "BAL", "carrierCodeListProvider": "SMDG"},
            "publisherRole": "CA"
        }
    }]);
    deliver(&serde_json::to_vec(&retraction).unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let path = "/v1/identifiers/bl:blue-anchor-lines:BL0005";
        let (_, body) = http(&api, "GET", path, None).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let kinds: Vec<String> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"]["body"]["kind"].as_str().unwrap().to_owned())
            .collect();
        if kinds == ["gate_in", "retracted"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the retraction never arrived: {kinds:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Bad callbacks are refused without touching the outbox.
    assert_eq!(post(b"not json"), Some(400));
    assert_eq!(post(b"{\"an\":\"object\"}"), Some(400));
}

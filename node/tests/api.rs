//! The HTTP API over real TCP (`127.0.0.1:0`), with a plain HTTP/1.1 client on a `TcpStream`:
//! a client submits a consignment's events, a block is committed, and everyone can fetch
//! proofs that verify offline; bad input is refused with a JSON error and leaves no trace.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::sync::oneshot;
use tradelog_node::api::{serve, ApiState};
use tradelog_node::chain::{Block, Chain};
use tradelog_node::metrics::Metrics;
use tradelog_node::store::{CommittedBlock, Store};
use tradelog_protocol::sample::{
    body, consignment_route, sample_container, sample_ucr, SampleNetwork,
};
use tradelog_protocol::{
    Certificate, ConsistencyProof, Event, EventKind, Hash, Head, Issuer, ProofBundle, SecretKey,
};

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 client: one request per connection, `Connection: close`, read until EOF.

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    /// Asserts a JSON error with this status and code and a non-empty message; returns it.
    fn error(&self, status: u16, code: &str) -> String {
        let v = self.json();
        assert_eq!(self.status, status, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
        let message = v["error"]["message"].as_str().unwrap().to_owned();
        assert!(!message.is_empty());
        message
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&b[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        b = &b[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// Sends raw request bytes and reads the whole response.
async fn send_raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer (413) and close before reading everything; keep what it sent.
    let _ = stream.write_all(request).await;
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if !raw.is_empty() => {
                eprintln!("read ended with {e} after {} bytes", raw.len());
                break;
            }
            Err(e) => panic!("no response: {e}"),
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    };
    if reply
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        reply.body = dechunk(&reply.body);
    }
    reply
}

async fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&[u8]>) -> Reply {
    let body = body.unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    send_raw(addr, &req).await
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, None).await
}

async fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Reply {
    request(addr, "POST", path, Some(body)).await
}

// ---------------------------------------------------------------------------------------------
// A node: a chain in a fresh data dir, its API on 127.0.0.1:0, and the gossip channel's far end.

struct Node {
    addr: SocketAddr,
    net: SampleNetwork,
    chain: Arc<Chain>,
    metrics: Arc<Metrics>,
    gossip: UnboundedReceiver<Event>,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(name: &str, mempool: usize) -> Node {
    let net = SampleNetwork::new(4).unwrap();
    let dir = std::env::temp_dir().join(format!("tradelog-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (chain, _) = Chain::open(net.genesis.clone(), &dir, mempool).unwrap();
    let metrics = Arc::new(Metrics::new());
    let (tx, gossip) = unbounded_channel();
    let state = ApiState {
        chain: chain.clone(),
        metrics: metrics.clone(),
        accepted: Some(tx),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    Node {
        addr,
        net,
        chain,
        metrics,
        gossip,
        stop: Some(stop),
        server,
    }
}

impl Node {
    /// Proposes a block of everything pending at block time `time`, certifies it with three of
    /// the four validators and commits it (what consensus does), and tells the metrics.
    fn commit(&self, time: u64) -> Block {
        let block = self.chain.propose(usize::MAX, time).unwrap();
        let keys: Vec<&SecretKey> = self.net.validator_keys.iter().take(3).collect();
        let cert = Certificate::sign(&block.head, 0, &keys);
        self.chain.commit(&block, cert).unwrap();
        let ids: Vec<Hash> = block.events.iter().map(Event::id).collect();
        self.metrics.committed(&ids, Instant::now());
        block
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.server.await.unwrap().unwrap();
    }
}

fn last_time(events: &[Event]) -> u64 {
    events.iter().map(|e| e.body().time).max().unwrap()
}

fn batch_json(items: &[String]) -> Vec<u8> {
    format!("[{}]", items.join(",")).into_bytes()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The value of the Prometheus sample `series` in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_consignment_is_submitted_committed_and_proven() {
    let mut node = start("story", 10_000).await;
    let addr = node.addr;
    let route = consignment_route(&node.net, 0, node.net.genesis.time).unwrap();
    let ucr = sample_ucr(0);

    // Nothing is certified yet.
    get(addr, "/v1/head").await.error(503, "no_certified_head");
    get(addr, &format!("/v1/consignments/{ucr}"))
        .await
        .error(503, "no_certified_head");

    // The platform books the consignment: accepted, pending, forwarded to gossip.
    let first = &route[0];
    let r = post(addr, "/v1/events", first.to_json().as_bytes()).await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({"id": first.id().to_hex(), "status": "pending"})
    );
    assert_eq!(node.gossip.try_recv().unwrap(), *first);

    // Resubmitting is idempotent: 200, still pending, not forwarded again.
    let r = post(addr, "/v1/events", first.to_json().as_bytes()).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"id": first.id().to_hex(), "status": "pending"})
    );
    assert!(node.gossip.try_recv().is_err());

    // The rest of the route arrives as one batch.
    let rest: Vec<String> = route[1..].iter().map(Event::to_json).collect();
    let r = post(addr, "/v1/events/batch", &batch_json(&rest)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let results = r.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 13);
    for (res, e) in results.iter().zip(&route[1..]) {
        assert_eq!(*res, json!({"id": e.id().to_hex(), "status": "pending"}));
        assert_eq!(node.gossip.try_recv().unwrap(), *e);
    }

    let r = get(addr, &format!("/v1/events/{}", first.id())).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "pending");
    assert!(r.json().get("index").is_none());
    assert_eq!(r.json()["event"], serde_json::to_value(first).unwrap());
    assert_eq!(
        get(addr, "/health").await.json(),
        json!({"status": "ok", "height": 0, "mempool": 14})
    );

    // Consensus commits block 1.
    let block1 = node.commit(last_time(&route));
    assert_eq!(block1.events, route);

    let r = get(addr, &format!("/v1/events/{}", route[3].id())).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        (v["status"].as_str(), v["index"].as_u64()),
        (Some("committed"), Some(3))
    );
    assert_eq!(
        Event::from_json(v["event"].to_string().as_bytes()).unwrap(),
        route[3]
    );
    let r = post(addr, "/v1/events", first.to_json().as_bytes()).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"id": first.id().to_hex(), "status": "committed", "index": 0})
    );

    // Anyone holding the genesis can verify the consignment's complete history offline.
    let r = get(addr, &format!("/v1/consignments/{ucr}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let bundle = ProofBundle::from_json(&r.body).unwrap();
    let proven = bundle.verify(&node.net.genesis).unwrap();
    assert_eq!(proven.events.len(), 14);
    assert_eq!(bundle.head, block1.head);

    let container = sample_container(0);
    let r = get(addr, &format!("/v1/containers/{container}")).await;
    assert_eq!(r.status, 200);
    let proven = ProofBundle::from_json(&r.body)
        .unwrap()
        .verify(&node.net.genesis)
        .unwrap();
    let with_container = route
        .iter()
        .filter(|e| e.body().container.is_some())
        .count();
    assert_eq!(proven.events.len(), with_container);

    // An unknown consignment has a (verifiable) empty history: not a 404.
    let r = get(addr, "/v1/consignments/6NL000000000-ZZ").await;
    assert_eq!(r.status, 200);
    let empty = ProofBundle::from_json(&r.body).unwrap();
    assert!(empty.events.is_empty());
    assert!(empty.verify(&node.net.genesis).unwrap().events.is_empty());

    // The certified head.
    let v = get(addr, "/v1/head").await.json();
    let head: Head = serde_json::from_value(v["head"].clone()).unwrap();
    let cert: Certificate = serde_json::from_value(v["certificate"].clone()).unwrap();
    assert_eq!(head, block1.head);
    assert_eq!(v["hash"], head.hash().to_hex());
    cert.verify(&head, node.net.genesis.validator_set())
        .unwrap();

    // A second consignment, a second block; the log of block 1 is a prefix of block 2's.
    let route1 = consignment_route(&node.net, 1, node.net.genesis.time + 1).unwrap();
    let all: Vec<String> = route1.iter().map(Event::to_json).collect();
    assert_eq!(
        post(addr, "/v1/events/batch", &batch_json(&all))
            .await
            .status,
        200
    );
    let block2 = node.commit(last_time(&route1).max(block1.head.time));
    assert_eq!(block2.head.log_size, 28);
    let v = get(addr, "/v1/consistency?first=14&second=28").await.json();
    let proof: ConsistencyProof = serde_json::from_value(v["proof"].clone()).unwrap();
    assert_eq!(
        (v["first"].as_u64(), v["second"].as_u64()),
        (Some(14), Some(28))
    );
    assert_eq!(v["first_root"], block1.head.log_root.to_hex());
    assert_eq!(v["second_root"], block2.head.log_root.to_hex());
    proof
        .verify(&block1.head.log_root, &block2.head.log_root)
        .unwrap();
    let same = get(addr, "/v1/consistency?first=28&second=28").await.json();
    assert_eq!(same["proof"]["path"], json!([]));

    // Blocks.
    let r = get(addr, "/v1/blocks/2").await;
    assert_eq!(r.status, 200);
    let served: CommittedBlock = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(served, node.chain.store().block(2).unwrap().unwrap());
    assert_eq!(served.events, route1);
    get(addr, "/v1/blocks/3").await.error(404, "not_found");
    get(addr, "/v1/blocks/0").await.error(404, "not_found");
    get(addr, "/v1/blocks/two")
        .await
        .error(400, "invalid_height");

    assert_eq!(
        get(addr, "/health").await.json(),
        json!({"status": "ok", "height": 2, "mempool": 0})
    );

    // Metrics.
    let r = get(addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.text();
    for name in [
        "tradelog_height",
        "tradelog_events_committed_total",
        "tradelog_blocks_committed_total",
        "tradelog_mempool_events",
        "tradelog_peers",
        "tradelog_commit_latency_seconds",
        "tradelog_http_requests_total",
    ] {
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
    }
    assert_eq!(sample(&text, "tradelog_height"), Some(2.0));
    assert_eq!(sample(&text, "tradelog_events_committed_total"), Some(28.0));
    assert_eq!(sample(&text, "tradelog_blocks_committed_total"), Some(2.0));
    assert_eq!(sample(&text, "tradelog_mempool_events"), Some(0.0));
    assert_eq!(
        sample(&text, "tradelog_commit_latency_seconds_count"),
        Some(28.0)
    );
    // Every request above, by class (this one is counted after it is answered).
    for (class, n) in [("2xx", 16.0), ("4xx", 3.0), ("5xx", 2.0)] {
        let series = format!("tradelog_http_requests_total{{class=\"{class}\"}}");
        assert_eq!(sample(&text, &series), Some(n), "{class}");
    }

    node.stop().await;
}

#[tokio::test]
async fn openapi_documents_every_served_route_and_unknown_routes_are_json() {
    let node = start("openapi", 10_000).await;
    let addr = node.addr;
    let r = get(addr, "/openapi.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/v1/events",
        "/v1/events/batch",
        "/v1/events/{id}",
        "/v1/consignments/{ucr}",
        "/v1/containers/{id}",
        "/v1/head",
        "/v1/consistency",
        "/v1/blocks/{height}",
        "/health",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
    for name in ["Event", "ProofBundle", "Head", "Certificate", "Error"] {
        assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
    }
    // Every documented operation is served (no fallback answer), with sample parameters.
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", &"0".repeat(64))
            .replace("{ucr}", sample_ucr(0).as_str())
            .replace("{height}", "1");
        let concrete = if path.starts_with("/v1/containers/") {
            format!("/v1/containers/{}", sample_container(0))
        } else {
            concrete
        };
        for method in item.as_object().unwrap().keys() {
            let r = request(addr, &method.to_uppercase(), &concrete, Some(b"[]")).await;
            let code = r
                .body
                .starts_with(b"{")
                .then(|| r.json()["error"]["code"].as_str().map(str::to_owned))
                .flatten();
            assert!(
                !matches!(code.as_deref(), Some("no_route" | "method_not_allowed")),
                "{method} {path} is documented but not served: {}",
                r.text()
            );
        }
    }

    let message = get(addr, "/v1/nowhere").await.error(404, "no_route");
    assert!(message.contains("/v1/nowhere"), "{message}");
    let r = request(addr, "DELETE", "/v1/head", None).await;
    r.error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET,HEAD"));
    post(addr, "/health", b"{}")
        .await
        .error(405, "method_not_allowed");
    get(addr, "/v1/events")
        .await
        .error(405, "method_not_allowed");
    node.stop().await;
}

/// A body signed by `org` with the sample keys, for a sample consignment.
fn signed(
    net: &SampleNetwork,
    org: &str,
    kind: EventKind,
    time: u64,
    edit: impl FnOnce(&mut tradelog_protocol::EventBody),
) -> Event {
    let mut b = body(kind, time).unwrap();
    b.ucr = Some(sample_ucr(77));
    b.container = Some(sample_container(77));
    if kind.requires_location() {
        b.location = Some("NLRTM".parse().unwrap());
    }
    edit(&mut b);
    net.sign(org, b).unwrap()
}

#[tokio::test]
async fn bad_input_is_refused_with_a_json_error_and_nothing_is_written() {
    let node = start("bad", 10_000).await;
    let addr = node.addr;
    let net = node.net.clone();
    let t = net.genesis.time + 1;
    let good = signed(&net, "shopfast", EventKind::Booked, t, |_| {});
    let good_json = good.to_json();

    let stranger = SecretKey::from_seed(&[9; 32]);
    let unknown_key = {
        let mut b = good.body().clone();
        b.issuer.key = stranger.public();
        b.sign(&stranger).unwrap()
    };
    let unknown_org = {
        let mut b = good.body().clone();
        b.issuer = Issuer {
            org: "ghost-freight".parse().unwrap(),
            key: stranger.public(),
        };
        b.sign(&stranger).unwrap()
    };
    let carrier_releases = signed(&net, "blue-anchor-lines", EventKind::Released, t, |_| {});
    let other_chain = signed(&net, "shopfast", EventKind::Booked, t, |b| {
        b.chain = "tradelog-other".into();
    });
    let future = signed(
        &net,
        "shopfast",
        EventKind::Booked,
        now_ms() + 11 * 60_000,
        |_| {},
    );
    let bad_sig = {
        let mut v: Value = serde_json::from_str(&good_json).unwrap();
        let sig = v["sig"].as_str().unwrap().to_owned();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        v["sig"] = Value::String(format!("{flipped}{}", &sig[1..]));
        v.to_string()
    };
    let packed_without_container = {
        let e = signed(&net, "blue-anchor-lines", EventKind::Packed, t, |_| {});
        let mut v: Value = serde_json::from_str(&e.to_json()).unwrap();
        v["body"].as_object_mut().unwrap().remove("container");
        v.to_string()
    };
    let padded = format!("{good_json}{}", " ".repeat(33 * 1024));

    let cases: Vec<(&str, String, u16, &str, Option<&str>)> = vec![
        ("not JSON", "{\"body\":".into(), 400, "malformed", None),
        ("empty body", String::new(), 400, "malformed", None),
        ("an array", "[]".into(), 400, "malformed", None),
        (
            "time as a string",
            good_json.replacen(&format!("\"time\":{t}"), &format!("\"time\":\"{t}\""), 1),
            400,
            "malformed",
            Some("body.time"),
        ),
        (
            "kind unknown",
            good_json.replacen("\"booked\"", "\"teleported\"", 1),
            400,
            "malformed",
            Some("body.kind"),
        ),
        (
            "null member",
            good_json.replacen("\"refs\":[]", "\"refs\":[],\"location\":null", 1),
            400,
            "malformed",
            Some("body.location"),
        ),
        (
            "unknown member",
            good_json.replacen("\"sig\":", "\"extra\":1,\"sig\":", 1),
            400,
            "malformed",
            Some("extra"),
        ),
        (
            "member twice",
            good_json.replacen(
                "\"sig\":",
                &format!(
                    "\"body\":{},\"sig\":",
                    serde_json::to_string(good.body()).unwrap()
                ),
                1,
            ),
            400,
            "malformed",
            Some("duplicate field"),
        ),
        (
            "invalid UCR in the body",
            good_json.replacen(sample_ucr(77).as_str(), "6cn-lower", 1),
            400,
            "malformed",
            Some("body.ucr"),
        ),
        ("over 32 KiB", padded, 413, "too_large", Some("32768")),
        (
            "structural rule",
            packed_without_container,
            422,
            "invalid_event",
            Some("body.container"),
        ),
        (
            "unknown key",
            unknown_key.to_json(),
            422,
            "unknown_issuer",
            Some("body.issuer.key"),
        ),
        (
            "unknown organisation",
            unknown_org.to_json(),
            422,
            "unknown_issuer",
            Some("body.issuer.org"),
        ),
        (
            "carrier releases",
            carrier_releases.to_json(),
            422,
            "forbidden_kind",
            Some("body.kind"),
        ),
        ("bad signature", bad_sig, 422, "bad_signature", Some("sig")),
        (
            "another chain",
            other_chain.to_json(),
            422,
            "wrong_chain",
            Some("body.chain"),
        ),
        (
            "11 minutes ahead",
            future.to_json(),
            422,
            "future_time",
            Some("body.time"),
        ),
    ];
    for (name, body, status, code, mention) in cases {
        let r = post(addr, "/v1/events", body.as_bytes()).await;
        assert_eq!(r.status, status, "{name}: {}", r.text());
        let message = r.error(status, code);
        if let Some(m) = mention {
            assert!(
                message.contains(m),
                "{name}: {message:?} should mention {m:?}"
            );
        }
        assert_eq!(node.chain.mempool_len(), 0, "{name}: written");
        if let Ok(e) = Event::from_json(body.as_bytes()) {
            assert!(
                node.chain.status(&e.id()).unwrap().is_none(),
                "{name}: written"
            );
        }
    }
    for e in [
        &unknown_key,
        &unknown_org,
        &carrier_releases,
        &other_chain,
        &future,
        &good,
    ] {
        assert!(node.chain.status(&e.id()).unwrap().is_none());
    }

    // A body over the limit without a Content-Length (chunked) is cut off while reading.
    let chunk = " ".repeat(20_000);
    let mut raw = format!(
        "POST /v1/events HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    for _ in 0..3 {
        raw.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    raw.push_str("0\r\n\r\n");
    send_raw(addr, raw.as_bytes()).await.error(413, "too_large");

    // Path and query parameters.
    let r = get(addr, "/v1/consignments/not-a-ucr").await;
    assert!(r.error(400, "invalid_ucr").contains("UCR"));
    get(addr, "/v1/consignments/6cn913000000-sf000000")
        .await
        .error(400, "invalid_ucr");
    get(addr, "/v1/containers/CSQU3054384")
        .await
        .error(400, "invalid_container");
    get(addr, "/v1/events/xyz").await.error(400, "invalid_id");
    get(addr, &format!("/v1/events/{}", "A".repeat(64)))
        .await
        .error(400, "invalid_id");
    get(addr, &format!("/v1/events/{}", good.id()))
        .await
        .error(404, "not_found");
    get(addr, "/v1/consistency")
        .await
        .error(400, "invalid_range");
    get(addr, "/v1/consistency?first=0")
        .await
        .error(400, "invalid_range");
    get(addr, "/v1/consistency?first=x&second=1")
        .await
        .error(400, "invalid_range");
    get(addr, "/v1/consistency?first=0&second=1")
        .await
        .error(400, "invalid_range");
    let ok = get(addr, "/v1/consistency?first=0&second=0").await;
    assert_eq!(ok.status, 200, "{}", ok.text());

    // A batch: each item independent, results in order, only the good ones admitted.
    let second_good = signed(&net, "shopfast", EventKind::Declared, t + 5, |_| {});
    let items = vec![
        good_json.clone(),
        "{\"body\": 1, \"sig\": 2}".to_owned(),
        carrier_releases.to_json(),
        second_good.to_json(),
        good_json.clone(),
        "42".to_owned(),
        future.to_json(),
    ];
    let r = post(addr, "/v1/events/batch", &batch_json(&items)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let results = r.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), items.len());
    let pending = |e: &Event| json!({"id": e.id().to_hex(), "status": "pending"});
    assert_eq!(results[0], pending(&good));
    assert_eq!(results[1]["error"]["code"], "malformed");
    assert!(results[1].get("id").is_none());
    assert_eq!(results[2]["error"]["code"], "forbidden_kind");
    assert_eq!(results[2]["id"], carrier_releases.id().to_hex());
    assert!(results[2].get("status").is_none());
    assert_eq!(results[3], pending(&second_good));
    assert_eq!(results[4], pending(&good));
    assert_eq!(results[5]["error"]["code"], "malformed");
    assert_eq!(results[6]["error"]["code"], "future_time");
    assert_eq!(node.chain.mempool_len(), 2);
    assert!(node.chain.status(&carrier_releases.id()).unwrap().is_none());
    assert!(node.chain.status(&future.id()).unwrap().is_none());

    // Refused batches: not an array, broken JSON, too many events, too many bytes.
    post(addr, "/v1/events/batch", b"{}")
        .await
        .error(400, "malformed");
    post(addr, "/v1/events/batch", b"[{\"body\":")
        .await
        .error(400, "malformed");
    let many = batch_json(&vec!["1".to_owned(); 1001]);
    assert!(post(addr, "/v1/events/batch", &many)
        .await
        .error(413, "too_large")
        .contains("1000"));
    let huge = format!("[{}]", " ".repeat(16 * 1024 * 1024));
    post(addr, "/v1/events/batch", huge.as_bytes())
        .await
        .error(413, "too_large");
    assert_eq!(node.chain.mempool_len(), 2);

    node.stop().await;
}

#[tokio::test]
async fn a_full_mempool_answers_503_and_admits_nothing() {
    let node = start("full", 1).await;
    let route = consignment_route(&node.net, 3, node.net.genesis.time).unwrap();
    assert_eq!(
        post(node.addr, "/v1/events", route[0].to_json().as_bytes())
            .await
            .status,
        202
    );
    post(node.addr, "/v1/events", route[1].to_json().as_bytes())
        .await
        .error(503, "mempool_full");
    assert_eq!(node.chain.mempool_len(), 1);
    assert!(node.chain.status(&route[1].id()).unwrap().is_none());
    node.stop().await;
}

//! Read access (`[api] read_access`) over real TCP on `127.0.0.1:0`: an open node serves
//! everyone; a members-only node wants a member organisation's RFC 9421 request signature
//! (PROTOCOL.md 12) and refuses the unsigned, expired, forged, replayed and unknown; a
//! parties-only node shows a member only its own consignments (customs and auditors see all);
//! every authenticated read is in the access log; and the API speaks TLS with the configured
//! certificate, cutting a client that stalls its handshake.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tradelog_node::api::access::{Access, LOG_FILE};
use tradelog_node::api::{serve, ApiState, Limits};
use tradelog_node::chain::Chain;
use tradelog_node::config::ReadAccess;
use tradelog_node::metrics::Metrics;
use tradelog_node::store::StoreConfig;
use tradelog_protocol::httpsig;
use tradelog_protocol::sample::{consignment_route, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, Event, SecretKey};

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
                "status {}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts a JSON error with this status and code; returns its message.
    fn error(&self, status: u16, code: &str) -> String {
        let v = self.json();
        assert_eq!(
            (self.status, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{v}"
        );
        v["error"]["message"].as_str().unwrap().to_owned()
    }
}

/// Sends one request (`Connection: close`) over `stream` and reads the answer to EOF.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, request: &[u8]) -> Reply {
    stream.write_all(request).await.unwrap();
    stream.flush().await.unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A GET of `target` (path and query) with `extra` header lines.
fn get_request(addr: SocketAddr, target: &str, extra: &[(String, String)]) -> Vec<u8> {
    let mut r = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in extra {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// The signature headers for `GET target` at `addr`, by `key`, valid from `created` for 60 s.
fn signature(
    addr: SocketAddr,
    target: &str,
    key: &SecretKey,
    created: u64,
) -> Vec<(String, String)> {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let authority = addr.to_string();
    let req = httpsig::Request {
        method: "GET",
        authority: &authority,
        path,
        query,
    };
    let h = httpsig::sign(key, &req, created, created + 60, Some("test-nonce")).unwrap();
    vec![
        ("Signature-Input".into(), h.signature_input),
        ("Signature".into(), h.signature),
    ]
}

struct Node {
    addr: SocketAddr,
    net: SampleNetwork,
    chain: Arc<Chain>,
    dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Node {
    async fn get(&self, target: &str) -> Reply {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        exchange(stream, &get_request(self.addr, target, &[])).await
    }

    /// GET signed by organisation `org` of the sample network.
    async fn get_as(&self, org: &str, target: &str) -> Reply {
        let key = &self.net.org_keys[org];
        self.get_with(target, &signature(self.addr, target, key, now_secs()))
            .await
    }

    async fn get_with(&self, target: &str, headers: &[(String, String)]) -> Reply {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        exchange(stream, &get_request(self.addr, target, headers)).await
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.server.await.unwrap().unwrap();
    }
}

/// A node in `mode` with sample consignment 0 (booked by shopfast, carried by
/// blue-anchor-lines, cleared by nl-customs) committed and certified.
async fn start(name: &str, mode: ReadAccess) -> (Node, Vec<Event>) {
    let net = SampleNetwork::new(4).unwrap();
    let dir = std::env::temp_dir().join(format!("tradelog-access-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (chain, _) =
        Chain::open(net.genesis.clone(), &dir, 10_000, StoreConfig::default()).unwrap();
    let route = consignment_route(&net, 0, net.genesis.time).unwrap();
    for e in &route {
        chain.submit(e.clone(), now_secs() * 1000).unwrap();
    }
    let time = route.iter().map(|e| e.body().time).max().unwrap();
    let block = chain.propose(usize::MAX, time).unwrap();
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    chain
        .commit(&block, Certificate::sign(&block.head, 0, &keys))
        .unwrap();
    let state = ApiState {
        chain: chain.clone(),
        metrics: Arc::new(Metrics::new()),
        accepted: None,
        limits: Limits::default(),
        trs: Default::default(),
        cors: Default::default(),
        fatal: Default::default(),
        access: Arc::new(Access::new(mode, Some(&dir))),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    (
        Node {
            addr,
            net,
            chain,
            dir,
            stop: Some(stop),
            server,
        },
        route,
    )
}

/// Every protected read of consignment 0: the consignment, its route, its container, an event
/// of it, a block and the time-release report.
fn protected(route: &[Event]) -> Vec<String> {
    let ucr = sample_ucr(0);
    let container = route
        .iter()
        .find_map(|e| e.body().container.clone())
        .unwrap();
    vec![
        format!("/v1/consignments/{ucr}"),
        format!("/v1/consignments/{ucr}/route"),
        format!("/v1/containers/{container}"),
        format!("/v1/events/{}", route[0].id()),
        "/v1/blocks/1".into(),
        "/v1/reports/time-release".into(),
    ]
}

const PUBLIC: [&str; 8] = [
    "/v1/head",
    "/v1/genesis",
    "/v1/membership",
    "/v1/consistency?first=1&second=14",
    "/v1/evidence",
    "/health",
    "/openapi.json",
    "/",
];

#[tokio::test]
async fn an_open_node_serves_unsigned_reads() {
    let (node, route) = start("open", ReadAccess::Open).await;
    for path in protected(&route).iter().map(String::as_str).chain(PUBLIC) {
        let r = node.get(path).await;
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    node.stop().await;
}

#[tokio::test]
async fn a_members_node_wants_a_member_signature_on_every_private_read() {
    let (node, route) = start("members", ReadAccess::Members).await;
    let reads = protected(&route);
    for path in PUBLIC {
        assert_eq!(node.get(path).await.status, 200, "{path} stays public");
    }
    for path in &reads {
        let r = node.get(path).await;
        let m = r.error(401, "signature_required");
        assert!(m.starts_with("Signature-Input, Signature: "), "{m}");
        assert_eq!(
            r.header("accept-signature"),
            Some(
                "sig1=(\"@method\" \"@authority\" \"@path\" \"@query\");alg=\"ed25519\";\
                 tag=\"tradelog/request/v1\""
            )
        );
        // Any member organisation reads everything: a carrier that is no party here too.
        let r = node.get_as("north-star-shipping", path).await;
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    let path = reads[0].as_str();
    let key = &node.net.org_keys["shopfast"];
    // Expired: created 400 s ago, valid for 60 s.
    let old = signature(node.addr, path, key, now_secs() - 400);
    node.get_with(path, &old)
        .await
        .error(401, "signature_expired");
    // From the future beyond the allowed skew.
    let early = signature(node.addr, path, key, now_secs() + 120);
    node.get_with(path, &early)
        .await
        .error(401, "signature_expired");
    // Replayed on another path: the signature covers @path.
    let other = signature(node.addr, &reads[1], key, now_secs());
    node.get_with(path, &other)
        .await
        .error(401, "signature_invalid");
    // Forged: a member's keyid with another key's signature.
    let mut forged = signature(node.addr, path, &SecretKey::from_seed(&[9; 32]), now_secs());
    let member = signature(node.addr, path, key, now_secs());
    forged[0] = member[0].clone();
    node.get_with(path, &forged)
        .await
        .error(401, "signature_invalid");
    // Well signed, by a key no member organisation holds.
    let stranger = signature(node.addr, path, &SecretKey::from_seed(&[9; 32]), now_secs());
    let m = node
        .get_with(path, &stranger)
        .await
        .error(401, "unknown_key");
    assert!(m.starts_with("keyid: "), "{m}");
    // Malformed.
    let bad = vec![
        (
            "Signature-Input".into(),
            "sig1=(\"@method\");created=1".into(),
        ),
        ("Signature".into(), "sig1=:AAAA:".into()),
    ];
    let m = node
        .get_with(path, &bad)
        .await
        .error(401, "signature_invalid");
    assert!(m.starts_with("Signature-Input: components"), "{m}");
    // Only the signature was missing: the same read signed is served.
    assert_eq!(node.get_as("shopfast", path).await.status, 200);
    node.stop().await;
}

#[tokio::test]
async fn a_parties_node_shows_a_member_only_its_consignments() {
    let (node, route) = start("parties", ReadAccess::Parties).await;
    let reads = protected(&route);
    let (consignments, rest) = reads.split_at(4);
    for path in consignments {
        // An unrelated carrier: 403, whatever the subject.
        let m = node
            .get_as("north-star-shipping", path)
            .await
            .error(403, "not_a_party");
        assert!(m.contains("north-star-shipping"), "{m}");
        // The platform that booked it, and the carrier it named, are parties.
        for org in ["shopfast", "blue-anchor-lines"] {
            let r = node.get_as(org, path).await;
            assert_eq!(
                r.status,
                200,
                "{org} {path}: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
    }
    // Blocks and the report hold everyone's consignments: customs and auditors only.
    for path in rest {
        node.get_as("shopfast", path)
            .await
            .error(403, "not_a_party");
    }
    // Customs (even another administration) and auditors read everything.
    for org in ["de-customs", "eu-audit"] {
        for path in &reads {
            let r = node.get_as(org, path).await;
            assert_eq!(
                r.status,
                200,
                "{org} {path}: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
    }
    // A consignment with no event: refused like any other, its absence is not told.
    node.get_as("shopfast", &format!("/v1/consignments/{}", sample_ucr(7)))
        .await
        .error(403, "not_a_party");
    // Unsigned is still 401, and the public routes stay public.
    node.get(&reads[0]).await.error(401, "signature_required");
    for path in PUBLIC {
        assert_eq!(node.get(path).await.status, 200, "{path}");
    }

    // The access log has every authenticated read, refused or served, with who and what.
    let log = std::fs::read_to_string(node.dir.join(LOG_FILE)).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ucr = sample_ucr(0).to_string();
    let consignment = format!("consignment:{ucr}");
    let find = |org: &str, status: u64| {
        lines.iter().find(|l| {
            l["org"] == org && l["subject"] == consignment.as_str() && l["status"] == status
        })
    };
    let served = find("shopfast", 200).expect("shopfast's read is logged");
    assert_eq!(
        served["key"],
        node.net.org_keys["shopfast"].public().to_hex()
    );
    assert_eq!(served["method"], "GET");
    assert_eq!(served["path"], format!("/v1/consignments/{ucr}"));
    assert!(served["time_ms"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(served["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(
        find("north-star-shipping", 403).is_some(),
        "refusals are logged"
    );
    // Unauthenticated requests are not reads of anyone: not in the log.
    assert_eq!(lines.len(), 4 * 3 + 2 + 2 * 6 + 1);
    let _ = &node.chain;
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Native TLS.

use tokio_rustls::rustls;

/// A self-signed certificate for `localhost` written as PEM files in `dir`.
fn self_signed(
    dir: &std::path::Path,
) -> (PathBuf, PathBuf, rustls::pki_types::CertificateDer<'static>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let (c, k) = (dir.join("api.crt"), dir.join("api.key"));
    std::fs::write(&c, cert.cert.pem()).unwrap();
    std::fs::write(&k, cert.key_pair.serialize_pem()).unwrap();
    (c, k, cert.cert.der().clone())
}

#[tokio::test]
async fn the_api_speaks_tls_and_cuts_a_stalled_handshake() {
    let dir = std::env::temp_dir().join(format!("tradelog-access-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (cert, key, der) = self_signed(&dir);
    let tls = tradelog_node::api::tls::acceptor(&cert, &key).unwrap();
    let net = SampleNetwork::new(4).unwrap();
    let (chain, _) = Chain::open(
        net.genesis.clone(),
        &dir.join("data"),
        100,
        StoreConfig::default(),
    )
    .unwrap();
    let limits = Limits {
        header_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let state = ApiState {
        chain,
        metrics: Arc::new(Metrics::new()),
        accepted: None,
        limits,
        trs: Default::default(),
        cors: Default::default(),
        fatal: Default::default(),
        access: Default::default(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(tradelog_node::api::serve_tls(
        listener,
        state,
        Some(tls),
        async {
            let _ = stopped.await;
        },
    ));

    // A client that trusts only the configured certificate gets an answer over TLS.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    let r = exchange(stream, &get_request(addr, "/health/live", &[])).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "live");

    // Plain HTTP on the TLS port is not served.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(&get_request(addr, "/health/live", &[]))
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(
        !buf.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf)
    );

    // A client that opens TCP and never finishes its handshake is closed at the deadline.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 64];
    let r = tokio::time::timeout(Duration::from_secs(10), stalled.read(&mut buf)).await;
    assert!(
        matches!(r, Ok(Ok(0)) | Ok(Err(_))),
        "closed, not held: {r:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_light_client_signs_its_reads_with_a_member_key() {
    let (node, _) = start("light", ReadAccess::Parties).await;
    let endpoint = format!("http://{}", node.addr);
    let genesis = node.net.genesis.clone();
    let (party, outsider) = (
        node.net.org_keys["shopfast"].clone(),
        node.net.org_keys["north-star-shipping"].clone(),
    );
    let ucr = sample_ucr(0);
    tokio::task::spawn_blocking(move || {
        use tradelog_client::light::LightClient;
        let client = |key: Option<SecretKey>| {
            let c = LightClient::new(genesis.clone(), &endpoint).unwrap();
            match key {
                Some(k) => c.with_signer(k),
                None => c,
            }
        };
        // The head is public; the consignment is not.
        client(None).head().unwrap();
        let e = client(None).provenance(&ucr).unwrap_err().to_string();
        assert!(e.contains("401") || e.contains("signature_required"), "{e}");
        let e = client(Some(outsider))
            .provenance(&ucr)
            .unwrap_err()
            .to_string();
        assert!(e.contains("403") || e.contains("not_a_party"), "{e}");
        let route = client(Some(party)).provenance(&ucr).unwrap();
        assert_eq!(route.consignment.events.len(), 14);
    })
    .await
    .unwrap();
    node.stop().await;
}

/// The OpenAPI document marks exactly the reads a members-only node protects: each GET with
/// `security` (and its 401 and 403 answers) is refused unsigned, every other one is not.
#[tokio::test]
async fn openapi_marks_exactly_the_protected_reads() {
    let (node, route) = start("openapi", ReadAccess::Members).await;
    let doc: Value = serde_json::from_str(tradelog_node::api::OPENAPI_JSON).unwrap();
    assert!(doc["components"]["securitySchemes"]["memberSignature"].is_object());
    let container = route
        .iter()
        .find_map(|e| e.body().container.clone())
        .unwrap();
    let mut protected = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let concrete = path
            .replace("{id}", &route[0].id().to_hex())
            .replace("{ucr}", sample_ucr(0).as_str())
            .replace("{height}", "1")
            .replace("{path}", "src/route.js");
        let concrete = if path.starts_with("/v1/containers/") {
            format!("/v1/containers/{container}")
        } else {
            concrete
        };
        let secured = op.get("security").is_some();
        let status = node.get(&concrete).await.status;
        assert_eq!(status == 401, secured, "GET {path}: {status}");
        if secured {
            protected += 1;
            for code in ["401", "403"] {
                assert!(
                    op["responses"].get(code).is_some(),
                    "GET {path} documents {code}"
                );
            }
        }
    }
    assert_eq!(protected, 9);
    node.stop().await;
}

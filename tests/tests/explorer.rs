//! The web explorer in headless Chromium, against the API served in-process over a certified
//! sample ledger: the page works under the API's Content-Security-Policy (no violation is
//! reported, its stylesheet and script load from the node), and an address fragment it cannot
//! use is explained on the page instead of leaving it blank (issue 13). And against a 4-validator
//! devnet, through a lying proxy: the page verifies every answer in the browser against the
//! genesis it pinned, lists the checks, and names in red the check a lie breaks (issue 15).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tradelog_node::api::{serve, ApiState};
use tradelog_node::chain::Chain;
use tradelog_node::devnet::{self, DevnetOptions};
use tradelog_node::metrics::Metrics;
use tradelog_node::store::StoreConfig;
use tradelog_protocol::roles::Genesis;
use tradelog_protocol::sample::{consignment_route, sample_container, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, Event, SecretKey};
use tradelog_tests::cdp::Browser;
use tradelog_tests::net::{now_ms, Net};

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

/// Records every Content-Security-Policy violation of the page in `window.__csp` (injected by
/// the DevTools protocol before the page's own scripts, which the policy does not restrict).
const RECORD_VIOLATIONS: &str = "window.__csp = []; \
    document.addEventListener('securitypolicyviolation', \
      (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));";

/// Serves `events`, committed in one block certified by three of the four sample validators,
/// from a node API in this process on a free local port: the runtime serving it (dropping it
/// stops the node) and the address.
fn serve_one_block(
    net: &SampleNetwork,
    dir: &std::path::Path,
    events: &[Event],
) -> (tokio::runtime::Runtime, std::net::SocketAddr) {
    let (chain, _) = Chain::open(
        net.genesis.clone(),
        &dir.join("ledger"),
        10_000,
        StoreConfig::default(),
    )
    .unwrap();
    for e in events {
        chain.submit(e.clone(), now_ms()).unwrap();
    }
    let time = events.iter().map(|e| e.body().time).max().unwrap();
    let block = chain.propose(usize::MAX, time).unwrap();
    assert_eq!(
        block.events.len(),
        events.len(),
        "one block holds every event"
    );
    let keys: Vec<&SecretKey> = net.validator_keys.iter().take(3).collect();
    chain
        .commit(&block, Certificate::sign(&block.head, 0, &keys))
        .unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let state = ApiState {
        chain,
        metrics: Arc::new(Metrics::new()),
        accepted: None,
        limits: Default::default(),
        trs: Default::default(),
        cors: Default::default(),
        fatal: Default::default(),
        access: Default::default(),
    };
    rt.spawn(serve(listener, state, std::future::pending()));
    (rt, addr)
}

#[test]
fn the_explorer_works_under_its_security_policy_and_explains_a_fragment_it_cannot_use() {
    let Some(browser) = chromium() else { return };
    let dir = tradelog_tests::scratch("explorer");
    let net = SampleNetwork::new(4).unwrap();
    let route = consignment_route(&net, 0, net.genesis.time).unwrap();
    let (_rt, addr) = serve_one_block(&net, &dir, &route);

    let mut b = Browser::launch(&browser, &dir, 1280, 1400).unwrap();
    b.call("Page.enable", json!({})).unwrap();
    b.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": RECORD_VIOLATIONS }),
    )
    .unwrap();
    let secs = Duration::from_secs(30);
    let ucr = sample_ucr(0);

    // A search in the address: head, route timeline, time-release table and chart render.
    b.navigate(&format!("http://{addr}/#q={ucr}")).unwrap();
    b.wait_for(
        "document.getElementById('head').textContent.includes('certified head #1')",
        secs,
    )
    .unwrap();
    b.wait_for(
        &format!(
            "document.getElementById('result').textContent.includes('Consignment {ucr}') && \
             document.getElementById('result').textContent.includes('complete per the index')"
        ),
        secs,
    )
    .unwrap();
    b.wait_for(
        "document.querySelectorAll('#trs tbody tr').length > 0 && \
         document.querySelector('#trs-chart svg rect') !== null",
        secs,
    )
    .unwrap();
    // The stylesheet applies (it is a file of the node now, not an inline block), and so does
    // the class that replaced an inline style attribute.
    for (expression, want) in [
        (
            "getComputedStyle(document.querySelector('header')).display",
            "flex",
        ),
        (
            "getComputedStyle(document.querySelector('#result caption')).textAlign",
            "left",
        ),
        ("getComputedStyle(document.body).fontSize", "15px"),
    ] {
        assert_eq!(b.eval(expression).unwrap(), json!(want), "{expression}");
    }
    assert_eq!(b.eval("window.__csp").unwrap(), json!([]), "CSP violations");

    // Fragments the page cannot use, on a fresh load (where a throw used to stop the whole
    // script, leaving the page blank) and as a change of the fragment: a message says so, and
    // the rest of the page still works.
    for (fragment, fresh) in [
        ("#q=%E0%A4%A", true),
        ("#q=%", false),
        ("#q=%E0%A4%A", false),
        ("#nothing-here", true),
    ] {
        if fresh {
            b.navigate("about:blank").unwrap();
        } else {
            b.eval("document.getElementById('result').replaceChildren()")
                .unwrap();
        }
        b.navigate(&format!("http://{addr}/{fragment}")).unwrap();
        let shown = "document.querySelector('#result [role=alert]') !== null && \
             document.querySelector('#result [role=alert]').textContent.includes('cannot use the address')";
        b.wait_for(shown, secs)
            .unwrap_or_else(|e| panic!("{fragment}: no message: {e}"));
        b.wait_for(
            "document.getElementById('head').textContent.includes('certified head #1')",
            secs,
        )
        .unwrap_or_else(|e| panic!("{fragment}: the page stopped working: {e}"));
        let text = b
            .eval("document.querySelector('#result [role=alert]').textContent")
            .unwrap();
        assert!(
            text.as_str().unwrap().contains(fragment),
            "{fragment}: {text}"
        );
    }
    // A good search in the address after a bad one works.
    b.navigate(&format!("http://{addr}/#q={}", ucr.as_str().to_lowercase()))
        .unwrap();
    b.wait_for(
        &format!("document.getElementById('result').textContent.includes('Consignment {ucr}')"),
        secs,
    )
    .unwrap();
    assert_eq!(b.eval("window.__csp").unwrap(), json!([]), "CSP violations");
    b.close().unwrap();
}

/// The AEO feature in the browser (PROTOCOL.md 8h, 8i, 9e): over the customs sample (AEO
/// records, an arrangement, routes with advance data and risk outcomes, AEO and non-AEO
/// declarants), a consignment's timeline shows beside each trader issuer its AEO status at the
/// event's time as recognised by the administration that released the goods, verified in the
/// browser from the organisation answers; risk outcomes and advance data read as such; the
/// time-release chart pairs AEO and non-AEO bars and the advance data table counts do-not-load
/// outcomes. A node that hides a record from an organisation answer gets a warning, not a badge.
#[test]
fn the_explorer_shows_verified_aeo_status_risk_outcomes_and_time_release_by_aeo() {
    use tradelog_protocol::sample::{customs_declarant, customs_records, customs_route};
    let Some(browser) = chromium() else { return };
    let dir = tradelog_tests::scratch("explorer-aeo");
    let net = SampleNetwork::new(4).unwrap();
    let start = net.genesis.time + 10 * 86_400_000;
    // Records first, then each route in its own order (causal: each event refs the one before).
    let mut events = customs_records(&net, start).unwrap();
    for n in (0..8).chain([19]) {
        events.extend(customs_route(&net, n, start + u64::from(n) * 60_000).unwrap());
    }
    let (_rt, addr) = serve_one_block(&net, &dir, &events);
    let proxy = LyingProxy::start(&addr.to_string());
    // Consignment 2 goes through Rotterdam: declared by Blue Anchor Lines (an AEO of the Dutch
    // administration, which releases it), booked by the platform (an AEO of the German one,
    // recognised by the Dutch under their arrangement), carried on by the Rhine Barge Company
    // (no AEO status); its advance data was cleared.
    assert_eq!(customs_declarant(2), "blue-anchor-lines");
    let ucr = sample_ucr(2);
    let mut b = Browser::launch(&browser, &dir, 1280, 1800).unwrap();
    b.call("Page.enable", json!({})).unwrap();
    b.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": RECORD_VIOLATIONS }),
    )
    .unwrap();
    let secs = Duration::from_secs(60);
    b.navigate(&format!("http://{}/#q={ucr}", proxy.addr))
        .unwrap();
    let text = verdict(&mut b, &format!("Consignment {ucr}"));
    assert!(
        text.contains("✓ Verified in this browser against the pinned genesis"),
        "{text}"
    );
    b.wait_for(
        "document.querySelector('#result .aeo.own') !== null && \
         document.querySelector('#result .aeo.mra') !== null",
        secs,
    )
    .unwrap_or_else(|e| panic!("{e}: {}", b.eval(RESULT).unwrap()));
    // Every trader row is settled (badge, note or nothing) once no row says it is verifying.
    b.wait_for(
        "![...document.querySelectorAll('#result .aeo-detail')].some((d) => d.textContent.startsWith('verifying'))",
        secs,
    )
    .unwrap();
    // Badges per issuer, from the rows: (issuer, the badges' text).
    let badges = b
        .eval(
            "[...document.querySelectorAll('#result table.timeline tbody tr:not(.detail)')].map((tr) => \
             [tr.cells[3].firstChild.textContent, [...tr.cells[3].querySelectorAll('.aeo-slot > span')].map((s) => s.textContent)])",
        )
        .unwrap();
    let rows = badges.as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let issuer = row[0].as_str().unwrap();
        let shown: Vec<&str> = row[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let want: &[&str] = match issuer {
            "blue-anchor-lines" => &["AEO (nl-customs, security_safety)"],
            "shopfast" => &["AEO via MRA (de-customs → nl-customs, security_safety)"],
            "rhine-barge" | "nl-customs" => &[],
            other => panic!("unexpected issuer {other}"),
        };
        assert_eq!(shown, want, "{issuer}: {row}");
    }
    for want in [
        // The explanation in an opened row: the basis, the arrangement, the verification.
        "recognised by nl-customs for security_safety through the mutual recognition arrangement between de-customs and nl-customs",
        "de_aeo authorisation DEAEOF0000012345 of de-customs (customs_simplifications, security_safety)",
        "Verified in this browser from the complete organisation records of shopfast and nl-customs",
        "as recognised by nl-customs",
        // The advance data and its outcome.
        "advance data filed · commits hs_code, declared_value, currency, consignor_country, consignee_country, item_count, gross_weight_kg",
        "risk assessment: cleared · reason r00_no_risk · assesses the advance data #",
    ] {
        assert!(text_now(&mut b).contains(want), "no {want:?}: {}", text_now(&mut b));
    }
    assert_eq!(
        b.eval("document.querySelector('#result .risk').dataset.kind")
            .unwrap(),
        json!("risk_cleared")
    );

    // The time-release chart: AEO and non-AEO bars (median and p90) side by side, a legend;
    // the table's split columns; advance data → outcome with the do-not-load count.
    b.wait_for(
        "document.querySelector('#trs-chart svg rect[data-series=aeo][data-stat=median]') !== null && \
         document.querySelector('#trs-chart svg rect[data-series=non-aeo][data-stat=p90]') !== null && \
         document.querySelectorAll('#advance tbody tr').length > 0",
        secs,
    )
    .unwrap();
    let legend = b
        .eval("document.getElementById('trs-legend').textContent")
        .unwrap();
    for want in [
        "AEO median",
        "AEO 90th percentile",
        "non-AEO median",
        "non-AEO 90th percentile",
    ] {
        assert!(legend.as_str().unwrap().contains(want), "{legend}");
    }
    let posts = b
        .eval("[...document.querySelectorAll('#trs-chart svg text.group')].map((t) => t.textContent.split(' ')[0])")
        .unwrap();
    let posts: std::collections::BTreeSet<&str> = posts
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        posts,
        ["DEHAM", "NLRTM"].into(),
        "one group per border post"
    );
    let split = b
        .eval("[...document.querySelectorAll('#trs tbody td[data-series]')].map((td) => td.textContent)")
        .unwrap();
    assert!(
        split
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.as_str().unwrap().contains(" h / ")),
        "every group has AEO and non-AEO rows: {split}"
    );
    let advance = b
        .eval(
            "[...document.querySelectorAll('#advance tbody tr')].map((tr) => \
             [tr.cells[0].textContent, tr.cells[3].textContent, tr.querySelector('[data-field=do_not_load]').textContent])",
        )
        .unwrap();
    let advance = advance.as_array().unwrap();
    let de = advance.iter().find(|r| r[0] == "de-customs").unwrap();
    assert_eq!(de[2], json!("1"), "{advance:?}");
    assert!(
        de[1].as_str().unwrap().contains("DO NOT LOAD 1"),
        "{advance:?}"
    );
    let nl = advance.iter().find(|r| r[0] == "nl-customs").unwrap();
    assert_eq!(nl[2], json!("0"), "{advance:?}");
    assert_eq!(b.eval("window.__csp").unwrap(), json!([]), "CSP violations");
    let png = b.screenshot().unwrap();
    std::fs::write(dir.join("explorer-aeo.png"), png).unwrap();
    b.eval("document.getElementById('trs-title').scrollIntoView()")
        .unwrap();
    let png = b.screenshot().unwrap();
    std::fs::write(dir.join("explorer-aeo-trs.png"), png).unwrap();

    // A node that hides the holder's last record (for Blue Anchor Lines and the platform,
    // their grants) from organisation answers: the bundles fail completeness, the page warns
    // in red and shows no AEO status.
    proxy.set(edit("/v1/organisations/", |v| {
        v["bundles"][0]["events"].as_array_mut().unwrap().pop();
    }));
    b.navigate("about:blank").unwrap();
    b.navigate(&format!("http://{}/#q={ucr}", proxy.addr))
        .unwrap();
    verdict(&mut b, &format!("Consignment {ucr}"));
    b.wait_for(
        "document.querySelectorAll('#result .aeo-warn').length > 0 && \
         ![...document.querySelectorAll('#result .aeo-detail')].some((d) => d.textContent.startsWith('verifying'))",
        secs,
    )
    .unwrap_or_else(|e| panic!("{e}: {}", b.eval(RESULT).unwrap()));
    let warning = b
        .eval("document.querySelector('#result .aeo-warn').textContent")
        .unwrap();
    assert_eq!(
        warning,
        json!("⚠ AEO status NOT VERIFIED (RecognitionError.Bundle → BundleError.Incomplete)")
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#result .aeo').length")
            .unwrap(),
        json!(0),
        "no badge from unverified records"
    );
    assert_eq!(
        b.eval("getComputedStyle(document.querySelector('#result .aeo-warn')).color")
            .unwrap(),
        json!("rgb(164, 14, 38)"),
        "in red"
    );
    assert!(
        text_now(&mut b).contains("✗ NOT VERIFIED: the node's organisation records of blue-anchor-lines and nl-customs failed verification against the pinned genesis"),
        "{}",
        text_now(&mut b)
    );
    assert_eq!(b.eval("window.__csp").unwrap(), json!([]), "CSP violations");
    let png = b.screenshot().unwrap();
    std::fs::write(dir.join("explorer-aeo-lie.png"), png).unwrap();
    b.close().unwrap();
}

/// The result box's text now.
fn text_now(b: &mut Browser) -> String {
    b.eval(RESULT).unwrap().as_str().unwrap().to_owned()
}

/// `GET path` over plain HTTP/1.1 with `extra` request headers: the status, the response headers
/// (names lower-cased) and the body.
fn get(addr: &str, path: &str, extra: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let (head, body) = split_response(&raw);
    (head.0, head.1, body.to_vec())
}

type ResponseHead = (u16, Vec<(String, String)>);

/// Splits a raw HTTP/1.1 response into (status, headers) and body.
fn split_response(raw: &[u8]) -> (ResponseHead, &[u8]) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    let text = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("no status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    ((status, headers), &raw[end + 4..])
}

/// A lie: `(path, honest 200 body) -> body served`.
type Lie = Box<dyn Fn(&str, Vec<u8>) -> Vec<u8> + Send>;

/// An HTTP proxy between the browser and a node that passes every request on and rewrites the
/// body of 200 answers with the current lie (headers kept, `Content-Length` recomputed).
struct LyingProxy {
    addr: String,
    lie: Arc<Mutex<Lie>>,
}

impl LyingProxy {
    fn start(upstream: &str) -> LyingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let honest: Lie = Box::new(|_, b| b);
        let lie = Arc::new(Mutex::new(honest));
        let shared = lie.clone();
        let upstream = upstream.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let (lie, upstream) = (shared.clone(), upstream.clone());
                // One thread per connection: the browser opens several, some idle.
                std::thread::spawn(move || {
                    let _ = relay(client, &upstream, &lie);
                });
            }
        });
        LyingProxy { addr, lie }
    }

    fn set(&self, lie: Lie) {
        *self.lie.lock().unwrap() = lie;
    }
}

/// Relays one request (GET, no body) and its answer, the body rewritten by the lie.
fn relay(mut client: TcpStream, upstream: &str, lie: &Mutex<Lie>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut first = String::new();
    if reader.read_line(&mut first)? == 0 {
        return Ok(());
    }
    let mut request = first.clone();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if name != "connection" && name != "keep-alive" {
            request.push_str(&line);
        }
    }
    request.push_str("Connection: close\r\n\r\n");
    let path = first.split(' ').nth(1).unwrap_or("/").to_owned();
    let mut node = TcpStream::connect(upstream)?;
    node.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    node.read_to_end(&mut raw)?;
    let ((status, headers), body) = split_response(&raw);
    let body = if status == 200 {
        (lie.lock().unwrap())(&path, body.to_vec())
    } else {
        body.to_vec()
    };
    let mut out = format!("HTTP/1.1 {status} X\r\n");
    for (k, v) in headers {
        if k != "content-length" && k != "connection" {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    client.write_all(out.as_bytes())?;
    client.write_all(&body)
}

/// A lie that edits the JSON answers of paths containing `on`.
fn edit(on: &'static str, f: impl Fn(&mut Value) + Send + 'static) -> Lie {
    Box::new(move |path, body| {
        if !path.contains(on) {
            return body;
        }
        let mut v: Value = serde_json::from_slice(&body).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    })
}

/// The text of the result box.
const RESULT: &str = "document.getElementById('result').textContent";

/// Waits until the result box shows the verdict on `subject`, and returns its text.
fn verdict(b: &mut Browser, subject: &str) -> String {
    b.wait_for(
        &format!(
            "{RESULT}.includes('{subject}') && document.querySelector('#result .verdict') !== null"
        ),
        Duration::from_secs(60),
    )
    .unwrap();
    b.eval(RESULT).unwrap().as_str().unwrap().to_owned()
}

/// Presses Tab until the element with `id` has the focus.
fn tab_to(b: &mut Browser, id: &str) {
    let mut tabs = 0;
    while b.eval("document.activeElement.id").unwrap() != id {
        assert!(tabs < 40, "#{id} is not reachable with Tab");
        b.press('\t').unwrap();
        tabs += 1;
    }
}

#[test]
fn the_explorer_verifies_a_devnet_in_the_browser_and_names_the_check_a_lying_node_breaks() {
    let Some(browser) = chromium() else { return };
    let exe = tradelog_tests::bin_dir().unwrap().join("tradelog-node");
    let dir = tradelog_tests::scratch("explorer-devnet");
    let opts = DevnetOptions {
        dir: dir.clone(),
        api_base: 19800,
        consensus_base: 19900,
        gossip_base: 20000,
        consignments: 0,
        observer: false,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let children = devnet::spawn(&exe, &nodes).unwrap();
    let net = Net { nodes, children };
    devnet::wait_healthy(&net.nodes, Duration::from_secs(60)).unwrap();
    devnet::load(
        &net.nodes,
        1,
        now_ms() - 100 * 86_400_000,
        Duration::from_secs(120),
    )
    .unwrap();
    let api = net.nodes[1].api.clone();
    let sample = SampleNetwork::new(4).unwrap();
    let ucr = sample_ucr(0).to_string();
    let genesis_hash = sample.genesis.hash().to_string();

    // The node serves the verifier's modules with their type, cache headers and the policy.
    let (status, headers, body) = get(&api, "/sdk/src/route.js", "");
    let header = |hs: &[(String, String)], k: &str| {
        hs.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    assert!(header(&headers, "content-security-policy").contains("script-src 'self';"));
    assert_eq!(
        body,
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sdk/typescript/src/route.js"
        ))
        .unwrap()
    );
    let etag = header(&headers, "etag");
    let (status, _, body) = get(
        &api,
        "/sdk/src/route.js",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(
        (status, body.len()),
        (304, 0),
        "a cached module is revalidated"
    );
    let (status, _, body) = get(&api, "/sdk/src/nothing.js", "");
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    // The genesis, in its canonical form: its hash is the genesis hash.
    let (status, headers, body) = get(&api, "/v1/genesis", "");
    assert_eq!(status, 200);
    assert_eq!(
        Genesis::from_json(&body).unwrap().hash().to_string(),
        genesis_hash
    );
    assert_eq!(header(&headers, "etag"), format!("\"{genesis_hash}\""));

    let proxy = LyingProxy::start(&api);
    let page = format!("http://{}/#q={ucr}", proxy.addr);
    let mut b = Browser::launch(&browser, &dir, 1280, 1600).unwrap();
    b.call("Page.enable", json!({})).unwrap();
    b.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": RECORD_VIOLATIONS }),
    )
    .unwrap();
    let secs = Duration::from_secs(60);

    // Honest: the first visit pins the node's genesis and shows its hash; the route is verified
    // and every check is listed.
    b.navigate(&page).unwrap();
    b.wait_for(
        &format!("document.getElementById('genesis-hash') !== null && document.getElementById('genesis-hash').textContent === '{genesis_hash}'"),
        secs,
    )
    .unwrap();
    assert!(b
        .eval("document.getElementById('trust').textContent")
        .unwrap()
        .as_str()
        .unwrap()
        .contains("pinned now, on this first visit"));
    let text = verdict(&mut b, &format!("Consignment {ucr}"));
    assert!(
        text.contains("✓ Verified in this browser against the pinned genesis"),
        "{text}"
    );
    let checks = b
        .eval(
            "[...document.querySelectorAll('#result ul.checks li')].map((li) => li.dataset.check)",
        )
        .unwrap();
    assert_eq!(
        checks,
        json!([
            "certificate",
            "membership",
            "signatures",
            "inclusion",
            "completeness",
            "containers",
            "append-only"
        ])
    );
    assert!(text.contains("14 of 14 committed events"), "{text}");
    assert!(text.contains("complete per the index proof"), "{text}");
    b.wait_for(
        "document.getElementById('head').textContent.includes('certificate verified here')",
        secs,
    )
    .unwrap();

    // Accessibility of the new controls: named buttons, the list of checks.
    let ax = b.accessibility().unwrap();
    for (role, name) in [
        ("button", "Re-pin genesis…"),
        ("list", "Checks passed"),
        (
            "button",
            "Event 0: show its signature, issuer key, fields and inclusion proof",
        ),
        (
            "searchbox",
            "Consignment UCR, ISO 6346 container number, or trade identifier (bl:, bkg:, sscc:)",
        ),
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

    // An event row opens from the keyboard (Tab to its button, Enter) and shows the signature,
    // issuer key, fields and the inclusion proof; Enter again closes it.
    let first = "document.querySelector('#result button.expand')";
    b.eval(&format!("{first}.id = 'first-event'")).unwrap();
    tab_to(&mut b, "first-event");
    b.press('\n').unwrap();
    b.wait_for(
        &format!("{first}.getAttribute('aria-expanded') === 'true' && !document.getElementById({first}.getAttribute('aria-controls')).hidden"),
        secs,
    )
    .unwrap();
    let opened = b
        .eval(&format!(
            "document.getElementById({first}.getAttribute('aria-controls')).textContent"
        ))
        .unwrap();
    let opened = opened.as_str().unwrap();
    let e0 = &consignment_route(&sample, 0, sample.genesis.time).unwrap()[0];
    for want in [
        "signature",
        "issuer key",
        &e0.body().issuer.key.to_hex(),
        "Disclosed fields",
        "Committed fields",
        "Documents",
        "Inclusion proof (verified)",
        "log index",
        "proof hashes (",
    ] {
        assert!(
            opened.contains(want),
            "no {want:?} in the opened row: {opened}"
        );
    }
    b.press('\n').unwrap();
    b.wait_for(
        &format!("{first}.getAttribute('aria-expanded') === 'false'"),
        secs,
    )
    .unwrap();

    // A container answer is verified too.
    let container = sample_container(0).to_string();
    b.navigate(&format!("http://{}/#q={container}", proxy.addr))
        .unwrap();
    let text = verdict(&mut b, &format!("Container {container}"));
    assert!(text.contains("✓ Verified in this browser"), "{text}");
    assert!(text.contains("✓ completeness"), "{text}");

    // Lies about the route, each shown in red naming the check and the SDK's errors, and none
    // of the answer shown.
    type Edit = fn(&mut Value);
    let lies: [(&str, Edit, &str, &str); 2] = [
        (
            "an event's location changed",
            |v| {
                let events = v["consignment"]["events"].as_array_mut().unwrap();
                let e = events
                    .iter_mut()
                    .find(|e| e["event"]["body"].get("location").is_some())
                    .unwrap();
                e["event"]["body"]["location"] = json!("JPTYO");
            },
            "signatures",
            "RouteError.Consignment → BundleError.Event → EventError.Signature",
        ),
        (
            "an event dropped",
            |v| {
                v["consignment"]["events"].as_array_mut().unwrap().pop();
            },
            "completeness",
            "RouteError.Consignment → BundleError.Incomplete",
        ),
    ];
    for (what, lie, check, names) in lies {
        proxy.set(edit("/route", lie));
        b.navigate("about:blank").unwrap();
        b.navigate(&page).unwrap();
        let text = verdict(&mut b, &format!("Consignment {ucr}"));
        assert!(text.contains("✗ NOT VERIFIED"), "{what}: {text}");
        assert!(
            text.contains(&format!("Check failed: {check}")),
            "{what}: {text}"
        );
        assert!(text.contains(names), "{what}: {text}");
        assert!(!text.contains("✓"), "{what}: {text}");
        assert!(!text.contains("JPTYO"), "{what}: the lie is shown: {text}");
        assert_eq!(
            b.eval("document.querySelector('#result table, #result button.expand') === null")
                .unwrap(),
            json!(true),
            "{what}: no data of a failed answer is shown"
        );
        assert_eq!(
            b.eval("getComputedStyle(document.querySelector('#result .verdict .bad')).color")
                .unwrap(),
            json!("rgb(164, 14, 38)"),
            "{what}: in red"
        );
        assert_eq!(
            b.eval("document.querySelector('#result [role=alert]') !== null")
                .unwrap(),
            json!(true)
        );
    }

    // A node that serves another genesis after the pin: the page keeps the pinned one, says so
    // in red, and still verifies against it.
    let mut fake: Value = serde_json::from_slice(&get(&api, "/v1/genesis", "").2).unwrap();
    fake["validators"][0]["key"] = json!(SecretKey::from_seed(&[7; 32]).public().to_hex());
    let fake_hash = Genesis::from_json(&serde_json::to_vec(&fake).unwrap())
        .unwrap()
        .hash()
        .to_string();
    let fake_bytes = serde_json::to_vec(&fake).unwrap();
    proxy.set(Box::new(move |path, body| {
        if path.starts_with("/v1/genesis") {
            fake_bytes.clone()
        } else {
            body
        }
    }));
    b.navigate("about:blank").unwrap();
    b.navigate(&page).unwrap();
    b.wait_for("document.getElementById('genesis-mismatch') !== null", secs)
        .unwrap();
    let trust = b
        .eval("document.getElementById('trust').textContent")
        .unwrap();
    let trust = trust.as_str().unwrap();
    assert!(
        trust.contains(&format!(
            "✗ genesis: this node now serves a different genesis (hash {fake_hash})"
        )),
        "{trust}"
    );
    assert_eq!(
        b.eval("document.getElementById('genesis-hash').textContent")
            .unwrap(),
        json!(genesis_hash),
        "the pin is kept"
    );
    assert_eq!(
        b.eval("getComputedStyle(document.getElementById('genesis-mismatch')).color")
            .unwrap(),
        json!("rgb(164, 14, 38)")
    );
    let text = verdict(&mut b, &format!("Consignment {ucr}"));
    assert!(text.contains("✓ Verified in this browser"), "{text}");

    // Re-pinning is explicit: keyboard to the control, a warning, then the confirmation. Pinned
    // to the other genesis, the node's real answers fail the certificate check.
    tab_to(&mut b, "repin-toggle");
    b.press('\n').unwrap();
    b.wait_for(
        "document.getElementById('repin-toggle').getAttribute('aria-expanded') === 'true' && \
         !document.getElementById('repin').hidden && document.activeElement.id === 'repin-confirm'",
        secs,
    )
    .unwrap();
    let warning = b
        .eval("document.getElementById('repin-warning').textContent")
        .unwrap();
    assert!(
        warning
            .as_str()
            .unwrap()
            .contains("only if you know the chain was replaced"),
        "{warning}"
    );
    let ax = b.accessibility().unwrap();
    assert!(
        ax.iter()
            .any(|(r, n)| r == "button" && n == "Replace the pinned genesis"),
        "{ax:?}"
    );
    b.press('\n').unwrap();
    b.wait_for(
        &format!("document.getElementById('genesis-hash').textContent === '{fake_hash}'"),
        secs,
    )
    .unwrap();
    // Which of the two checks tied to the genesis fails first depends on the heads the
    // membership proof carries: the first head's parent is not the other genesis (membership
    // proof, section 6 header rules) or its validator set is not the other genesis's
    // (certificate). Either way the answer is not verified and nothing of it is shown.
    b.wait_for(
        &format!(
            "{RESULT}.includes('NOT VERIFIED') && \
             ({RESULT}.includes('Check failed: certificate') || {RESULT}.includes('Check failed: membership'))"
        ),
        secs,
    )
    .unwrap_or_else(|e| panic!("{e}: {}", b.eval(RESULT).unwrap()));
    let text = b.eval(RESULT).unwrap();
    let text = text.as_str().unwrap();
    assert!(
        text.contains(
            "RouteError.Consignment → BundleError.Certificate → CertificateError.ValidatorSet"
        ) || text
            .contains("RouteError.Consignment → BundleError.Membership → MembershipError.Header"),
        "{text}"
    );
    assert_eq!(
        b.eval("document.querySelector('#result table') === null")
            .unwrap(),
        json!(true)
    );
    b.wait_for(
        "document.getElementById('head').textContent.includes('head NOT VERIFIED')",
        secs,
    )
    .unwrap();
    // The pin survives a reload (localStorage), and nothing broke the policy.
    assert_eq!(b.eval("window.__csp").unwrap(), json!([]), "CSP violations");
    b.navigate("about:blank").unwrap();
    b.navigate(&page).unwrap();
    b.wait_for(
        &format!("document.getElementById('genesis-hash') !== null && document.getElementById('genesis-hash').textContent === '{fake_hash}'"),
        secs,
    )
    .unwrap();
    b.wait_for(
        "document.getElementById('trust').textContent.includes(' UTC. ')",
        secs,
    )
    .unwrap();
    assert_eq!(b.eval("window.__csp").unwrap(), json!([]), "CSP violations");
    let png = b.screenshot().unwrap();
    std::fs::write(dir.join("explorer-lie.png"), png).unwrap();
    b.close().unwrap();
}

/// Waits until the node reports `id` committed.
fn committed(api: &str, id: &tradelog_protocol::EventId) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) =
            devnet::http(api, "GET", &format!("/v1/events/{id}"), None).unwrap_or((0, vec![]));
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        if status == 200 && v["status"] == "committed" {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{id} not committed");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Issue "real feeds" items 1 and 5 in the browser: a carrier's event recorded under its B/L
/// only, the B/L linked to a sample consignment by customs, and the carrier's retraction of its
/// event. Searching the B/L shows the consignment's verified route (its group's) with the
/// linked UCR named; the retracted event is marked, not removed.
#[test]
fn the_explorer_finds_a_consignment_by_its_bl_and_marks_a_retracted_event() {
    use tradelog_protocol::event::Retracts;
    use tradelog_protocol::EventKind;
    let Some(browser) = chromium() else { return };
    let exe = tradelog_tests::bin_dir().unwrap().join("tradelog-node");
    let dir = tradelog_tests::scratch("explorer-links");
    let opts = DevnetOptions {
        dir: dir.clone(),
        api_base: 20100,
        consensus_base: 20200,
        gossip_base: 20300,
        consignments: 0,
        observer: false,
    };
    let nodes = devnet::prepare(&opts).unwrap();
    let children = devnet::spawn(&exe, &nodes).unwrap();
    let net = Net { nodes, children };
    devnet::wait_healthy(&net.nodes, Duration::from_secs(60)).unwrap();
    devnet::load(
        &net.nodes,
        1,
        now_ms() - 100 * 86_400_000,
        Duration::from_secs(120),
    )
    .unwrap();
    let api = net.nodes[1].api.clone();
    let sample = SampleNetwork::new(4).unwrap();
    let ucr = sample_ucr(0);
    let bl = "bl:blue-anchor-lines:BALRTM0001";
    let t = now_ms() - 3_600_000;
    let body = |kind: EventKind, minute: u64| {
        let mut b = tradelog_protocol::sample::body(kind, t + minute * 60_000).unwrap();
        b.ids = Some(vec![bl.parse().unwrap()]);
        b
    };
    let mut link = body(EventKind::Linked, 0);
    link.ucr = Some(ucr.clone());
    let link = sample.sign("nl-customs", link).unwrap();
    let mut arrived = body(EventKind::Arrived, 1);
    arrived.location = Some("NLRTM".parse().unwrap());
    let arrived = sample.sign("blue-anchor-lines", arrived).unwrap();
    for e in [&link, &arrived] {
        tradelog_tests::net::submit(&net.nodes[1], e);
    }
    committed(&api, &arrived.id());
    committed(&api, &link.id());
    let mut fix = body(EventKind::Retracted, 2);
    fix.retracts = Some(Retracts::Event(arrived.id()));
    let fix = sample.sign("blue-anchor-lines", fix).unwrap();
    tradelog_tests::net::submit(&net.nodes[1], &fix);
    committed(&api, &fix.id());

    let mut b = Browser::launch(&browser, &dir, 1280, 1600).unwrap();
    b.call("Page.enable", json!({})).unwrap();
    b.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": RECORD_VIOLATIONS }),
    )
    .unwrap();
    b.navigate(&format!("http://{api}/#q={bl}")).unwrap();
    let text = verdict(&mut b, &format!("Identifier {bl}"));
    assert!(
        text.contains("✓ Verified in this browser against the pinned genesis"),
        "{text}"
    );
    assert!(
        text.contains(&format!("Linked (the same consignment, verified): {ucr}")),
        "{text}"
    );
    assert!(text.contains("retracted by #"), "{text}");
    // The UCR's own route is the group's: 14 sample events and the three above.
    b.navigate(&format!("http://{api}/#q={ucr}")).unwrap();
    let text = verdict(&mut b, &format!("Consignment {ucr}"));
    assert!(
        text.contains(&format!("Linked (the same consignment, verified): {bl}")),
        "{text}"
    );
    let rows = b
        .eval("document.querySelectorAll('#result table.timeline tbody tr:not(.detail)').length")
        .unwrap();
    assert_eq!(rows, json!(17), "{text}");
    assert_eq!(b.eval("window.__csp").unwrap(), json!([]), "CSP violations");
    b.close().unwrap();
}

//! The web explorer in headless Chromium, against the API served in-process over a certified
//! sample ledger: the page works under the API's Content-Security-Policy (no violation is
//! reported, its stylesheet and script load from the node), and an address fragment it cannot
//! use is explained on the page instead of leaving it blank (issue 13).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tradelog_node::api::{serve, ApiState};
use tradelog_node::chain::Chain;
use tradelog_node::metrics::Metrics;
use tradelog_node::store::StoreConfig;
use tradelog_protocol::sample::{consignment_route, sample_ucr, SampleNetwork};
use tradelog_protocol::{Certificate, SecretKey};
use tradelog_tests::cdp::Browser;
use tradelog_tests::net::now_ms;

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

#[test]
fn the_explorer_works_under_its_security_policy_and_explains_a_fragment_it_cannot_use() {
    let Some(browser) = chromium() else { return };
    let dir = tradelog_tests::scratch("explorer");
    let net = SampleNetwork::new(4).unwrap();
    let (chain, _) = Chain::open(
        net.genesis.clone(),
        &dir.join("ledger"),
        10_000,
        StoreConfig::default(),
    )
    .unwrap();
    let route = consignment_route(&net, 0, net.genesis.time).unwrap();
    for e in &route {
        chain.submit(e.clone(), now_ms()).unwrap();
    }
    let time = route.iter().map(|e| e.body().time).max().unwrap();
    let block = chain.propose(usize::MAX, time).unwrap();
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
    };
    rt.spawn(serve(listener, state, std::future::pending()));

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

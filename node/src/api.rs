//! The node's HTTP API (axum): event submission, event status, proof bundles by consignment or
//! container, the certified head, consistency proofs, blocks, health, Prometheus metrics and the
//! OpenAPI document (`GET /openapi.json`, the reference for clients).
//!
//! Every response is JSON except `/metrics` and the explorer's page, script and stylesheet;
//! every answer carries the security headers and, for the configured origins, the CORS
//! headers ([`headers`]); errors are `{"error": {"code", "message"}}` (codes
//! in [`errors`]). Request bodies are bounded before they are buffered. Handlers that touch
//! storage or verify signatures run on the blocking pool. [`serve`] takes its listener and a
//! shutdown future, so tests bind `127.0.0.1:0`.
//!
//! Abuse bounds ([`Limits`], from the `[api]` config): every request of a client address takes a
//! token of its rate-limit bucket ([`limit`]; 429 `rate_limited` with `Retry-After` when empty);
//! a client has `header_timeout` to send a request's headers (then the connection is closed, as
//! is an idle keep-alive connection), `body_timeout` to send its body (408 `timeout`) and
//! `write_timeout` to take each part of an answer (then the connection is reset); at most
//! `max_connections` connections are open at once, `max_connections_per_ip` of one client
//! (503 `too_many_connections` beyond); shutdown resets what is still open after
//! `shutdown_timeout` (the connection loop is `api/conn.rs`).

pub mod access;
pub mod batch;
pub mod browser;
mod conn;
pub mod customs;
pub mod errors;
mod evidence;
pub mod headers;
pub mod health;
pub mod limit;
pub mod params;
mod query;
mod submit;
pub mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;
use tradelog_protocol::event::MAX_EVENT_JSON_BYTES;
use tradelog_protocol::Event;

use crate::chain::Chain;
use crate::config::ApiConfig;
use crate::fatal::Fatal;
use crate::metrics::Metrics;
use crate::trs::TimeRelease;
pub use conn::{serve, serve_tls};
pub use errors::{ApiError, ErrorBody};
pub use headers::Cors;
use limit::RateLimiter;
use query::{
    block, consignment, consistency, container, event_status, head, membership, route, time_release,
};
use submit::{submit, submit_batch};

/// Most events in one `POST /v1/events/batch`.
pub const MAX_BATCH_EVENTS: usize = 1000;
/// Largest `POST /v1/events/batch` body, in bytes (16 MiB).
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// The OpenAPI 3.0.3 description of this API.
pub const OPENAPI_JSON: &str = include_str!("api/openapi.json");

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The node's ledger.
    pub chain: Arc<Chain>,
    /// The node's metrics.
    pub metrics: Arc<Metrics>,
    /// Where newly accepted events go (gossip forwards them); `None` for a node without peers.
    pub accepted: Option<UnboundedSender<Event>>,
    /// Rate limit, timeouts and connection bound.
    pub limits: Limits,
    /// The time-release index, caught up with the certified head on each report.
    pub trs: Arc<std::sync::Mutex<TimeRelease>>,
    /// Web origins allowed to call the API from a browser (`[api] cors_origins`).
    pub cors: Cors,
    /// Where a failed storage write is reported (it stops the node).
    pub fatal: Fatal,
    /// Who may read (`[api] read_access`) and the access log ([`access`]).
    pub access: Arc<access::Access>,
}

/// The API's abuse bounds (the `[api]` section of the config; see [`ApiConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests per second one client may sustain.
    pub rate_per_sec: u32,
    /// Requests one client may make at once.
    pub burst: u32,
    /// Most clients remembered by the rate limiter.
    pub max_clients: usize,
    /// Time to send a request's headers (and keep-alive idle time).
    pub header_timeout: Duration,
    /// Time to send a request's body.
    pub body_timeout: Duration,
    /// Longest a response may wait for the client to take its bytes (no write progress).
    pub write_timeout: Duration,
    /// Most open connections.
    pub max_connections: usize,
    /// Most open connections of one client address (IPv4, or IPv6 /64).
    pub max_connections_per_ip: usize,
    /// On shutdown, how long open connections may finish before they are closed.
    pub shutdown_timeout: Duration,
}

impl Limits {
    /// The limits of an `[api]` config section.
    pub fn from_config(c: &ApiConfig) -> Limits {
        Limits {
            rate_per_sec: c.rate_limit_per_sec,
            burst: c.rate_limit_burst,
            max_clients: c.rate_limit_clients,
            header_timeout: Duration::from_millis(c.header_timeout_ms),
            body_timeout: Duration::from_millis(c.body_timeout_ms),
            write_timeout: Duration::from_millis(c.write_timeout_ms),
            max_connections: c.max_connections,
            max_connections_per_ip: c.max_connections_per_ip,
            shutdown_timeout: Duration::from_millis(c.shutdown_timeout_ms),
        }
    }
}

impl Default for Limits {
    /// The config defaults.
    fn default() -> Limits {
        Limits::from_config(&ApiConfig::default())
    }
}

/// The address of the client of a request, set by [`serve`] on each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// The API's routes, with body limits, JSON fallbacks, the per-client rate limit and
/// per-status-class request counting.
pub fn router(state: ApiState) -> Router {
    let metrics = state.metrics.clone();
    let cors = state.cors.clone();
    let limiter = Arc::new(RateLimiter::new(
        state.limits.rate_per_sec,
        state.limits.burst,
        state.limits.max_clients,
    ));
    Router::new()
        .route(
            "/v1/events",
            post(submit).layer(DefaultBodyLimit::max(MAX_EVENT_JSON_BYTES)),
        )
        .route(
            "/v1/events/batch",
            post(submit_batch).layer(DefaultBodyLimit::max(MAX_BATCH_BYTES)),
        )
        .route("/v1/events/{id}", get(event_status))
        .route("/v1/consignments/{ucr}", get(consignment))
        .route("/v1/consignments/{ucr}/route", get(route))
        .route("/v1/containers/{id}", get(container))
        .route("/v1/identifiers/{id}", get(query::identifier_bundle))
        .route("/v1/identifiers/{id}/route", get(query::identifier_route))
        .route("/v1/organisations/{id}", get(customs::organisation))
        .route("/v1/organisations/{id}/outcomes", get(customs::outcomes))
        .route("/v1/head", get(head))
        .route("/v1/genesis", get(browser::genesis))
        .route("/v1/membership", get(membership))
        .route("/v1/consistency", get(consistency))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/reports/time-release", get(time_release))
        .route(
            "/v1/evidence",
            post(evidence::submit_evidence)
                .get(evidence::list_evidence)
                .layer(DefaultBodyLimit::max(evidence::MAX_EVIDENCE_BYTES)),
        )
        .route("/", get(explorer))
        .route("/explorer.js", get(explorer_js))
        .route("/explorer.css", get(explorer_css))
        .route("/sdk/{*path}", get(browser::sdk_module))
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(render_metrics))
        .route("/openapi.json", get(openapi))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(no_route)
        .layer(middleware::from_fn(params::strict_query))
        .layer(middleware::from_fn_with_state(state.clone(), access::guard))
        .layer(middleware::from_fn_with_state(
            cors.clone(),
            headers::preflight,
        ))
        .layer(middleware::from_fn_with_state(
            (limiter, metrics.clone()),
            rate_limit,
        ))
        .layer(middleware::from_fn_with_state(cors, headers::cors_headers))
        .layer(middleware::from_fn(errors::json_errors))
        .layer(middleware::from_fn(headers::security))
        .layer(middleware::from_fn_with_state(metrics, count_responses))
        .with_state(state)
}

/// A response with a JSON body already serialized.
fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// Serializes `value` as the JSON body of a response.
fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_bytes(status, body),
        Err(e) => ApiError::internal(format!("response does not serialize: {e}")).into_response(),
    }
}

/// Runs `f` on the blocking pool (storage reads, signature checks, large serializations).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("request worker failed: {e}")))
}

/// Reads a request body of at most `limit` bytes within `timeout`: a declared `Content-Length`
/// over the limit is refused before anything is read, and the body is read through the route's
/// [`DefaultBodyLimit`], so no more than `limit` bytes are ever buffered. A body not complete
/// within `timeout` is 408 `timeout` (the connection is then closed, the rest never read).
async fn read_body(req: Request, limit: usize, timeout: Duration) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::too_large(format!("body: larger than the limit of {limit} bytes"));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(timeout, Bytes::from_request(req, &())).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("body: not received within {} ms", timeout.as_millis()),
        )),
        Ok(Ok(b)) if b.len() > limit => Err(too_large()),
        Ok(Ok(b)) => Ok(b),
        Ok(Err(r)) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
        Ok(Err(r)) => Err(ApiError::malformed(format!("body: {}", r.body_text()))),
    }
}

/// At most 40 characters of user input, for messages.
fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// `GET /metrics`: Prometheus text format 0.0.4.
async fn render_metrics(State(state): State<ApiState>) -> Response {
    state.metrics.set_mempool(state.chain.mempool_len());
    state.metrics.set_height(state.chain.height());
    if let Some((head, _)) = state.chain.certified() {
        state.metrics.set_last_commit(head.time);
    }
    let mut text = state.metrics.render();
    health::render(&health::current(&state), &mut text);
    let trs = blocking(move || query::time_release_report(&state, None, None))
        .await
        .and_then(|r| r);
    if let Ok(report) = trs {
        text.push_str(&crate::metrics::time_release(&report));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The web explorer: one static page over this API (no build step, no external resources),
/// with its script and stylesheet served beside it (the Content-Security-Policy allows no
/// inline script or style).
pub const EXPLORER_HTML: &str = include_str!("api/explorer.html");
/// The explorer's script.
pub const EXPLORER_JS: &str = include_str!("api/explorer.js");
/// The explorer's stylesheet.
pub const EXPLORER_CSS: &str = include_str!("api/explorer.css");

/// `GET /`: the web explorer.
async fn explorer() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        EXPLORER_HTML,
    )
        .into_response()
}

/// `GET /explorer.js`.
async fn explorer_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        EXPLORER_JS,
    )
        .into_response()
}

/// `GET /explorer.css`.
async fn explorer_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        EXPLORER_CSS,
    )
        .into_response()
}

/// `GET /openapi.json`.
async fn openapi() -> Response {
    json_bytes(StatusCode::OK, OPENAPI_JSON.as_bytes().to_vec())
}

/// 404 for a path no route matches.
async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        format!(
            "path: no route for {method} {}; see /openapi.json",
            truncate(uri.path())
        ),
    )
}

/// 405 for a known path with another method (axum adds the `Allow` header).
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "method: {method} is not allowed on {}; see /openapi.json",
            truncate(uri.path())
        ),
    )
}

/// Takes a rate-limit token for the request's client, or answers 429 `rate_limited` with
/// `Retry-After` (whole seconds, at least 1). A request without a [`ClientAddr`] (the router
/// used outside [`serve`]) counts as client `0.0.0.0`: nothing is exempt.
async fn rate_limit(
    State((limiter, metrics)): State<(Arc<RateLimiter>, Arc<Metrics>)>,
    req: Request,
    next: Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<ClientAddr>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    match limiter.check(ip, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            metrics.rate_limited();
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let secs = secs.max(1);
            let mut res = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "client: {} is over its rate limit of {} requests/s (burst {}); retry after {secs} s",
                    limit::client_key(ip),
                    limiter.rate(),
                    limiter.burst()
                ),
            )
            .into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            res
        }
    }
}

/// Counts every response by status class.
async fn count_responses(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let res = next.run(req).await;
    metrics.http_response(res.status().as_u16());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `(method, path)` pairs [`router`] serves.
    const ROUTES: [(&str, &str); 27] = [
        ("post", "/v1/events"),
        ("post", "/v1/events/batch"),
        ("get", "/v1/events/{id}"),
        ("get", "/v1/consignments/{ucr}"),
        ("get", "/v1/consignments/{ucr}/route"),
        ("get", "/v1/containers/{id}"),
        ("get", "/v1/identifiers/{id}"),
        ("get", "/v1/identifiers/{id}/route"),
        ("get", "/v1/organisations/{id}"),
        ("get", "/v1/organisations/{id}/outcomes"),
        ("get", "/v1/head"),
        ("get", "/v1/genesis"),
        ("get", "/v1/membership"),
        ("get", "/v1/consistency"),
        ("get", "/v1/blocks/{height}"),
        ("get", "/v1/reports/time-release"),
        ("post", "/v1/evidence"),
        ("get", "/v1/evidence"),
        ("get", "/"),
        ("get", "/explorer.js"),
        ("get", "/explorer.css"),
        ("get", "/sdk/{path}"),
        ("get", "/health"),
        ("get", "/health/live"),
        ("get", "/health/ready"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
    ];

    #[test]
    fn openapi_is_json_and_documents_every_route() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        let paths = doc["paths"].as_object().unwrap();
        let mut documented = Vec::new();
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                if method != "parameters" {
                    documented.push((method.clone(), path.clone()));
                }
            }
        }
        documented.sort();
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        served.sort();
        assert_eq!(documented, served);
        // Every `$ref` resolves.
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        match (k.as_str(), v.as_str()) {
                            ("$ref", Some(r)) => out.push(r.to_owned()),
                            _ => refs(v, out),
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let pointer = r.strip_prefix('#').unwrap();
            assert!(doc.pointer(pointer).is_some(), "unresolved {r}");
        }
    }

    #[test]
    fn error_codes_and_statuses() {
        use crate::mempool::MempoolError;
        use tradelog_protocol::roles::AuthError;
        use tradelog_protocol::LedgerError;
        let e = ApiError::from(crate::chain::SubmitError::Mempool(MempoolError::Full(3)));
        assert_eq!((e.status.as_u16(), e.code), (503, "mempool_full"));
        let e = ApiError::from(crate::chain::SubmitError::Mempool(MempoolError::Share {
            org: "shopfast".into(),
            max: 2,
        }));
        assert_eq!((e.status.as_u16(), e.code), (429, "quota_exceeded"));
        assert!(e.message.starts_with("body.issuer.org: shopfast"));
        let e = ApiError::from(crate::chain::SubmitError::Future { time: 2, now: 1 });
        assert_eq!((e.status.as_u16(), e.code), (422, "future_time"));
        assert!(e.message.starts_with("body.time: "));
        let e = ApiError::from(LedgerError::Auth(AuthError::WrongChain {
            expected: "a".into(),
            got: "b".into(),
        }));
        assert_eq!((e.status.as_u16(), e.code), (422, "wrong_chain"));
        assert!(e.message.starts_with("body.chain: "));
    }
}

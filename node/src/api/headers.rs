//! Response headers: the security headers every answer carries, and CORS for the origins the
//! operator lists (`[api] cors_origins`; none by default, and then no CORS header at all).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;

/// The web origins allowed to call the API from a browser (CORS). Empty (the default): no CORS
/// headers at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    origins: Arc<[String]>,
}

impl Cors {
    /// The policy for these origins (as checked by the config: `https://host[:port]`).
    pub fn new(origins: Vec<String>) -> Cors {
        Cors {
            origins: origins.into(),
        }
    }

    /// True if a page of `origin` may call the API.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }

    /// True if no origin is listed.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }
}

/// The Content-Security-Policy of every answer. The explorer (`GET /`) loads its script and
/// stylesheet from this node (`/explorer.js`, `/explorer.css`: no inline script or style, so
/// no `unsafe-inline` and no hashes to keep in step) and talks only to this API; its script is
/// an ES module that imports the TypeScript verifier from here (`/sdk/...`, no import map:
/// see [`super::browser`]), which `script-src 'self'` allows, and nothing evaluates code from
/// text (no `unsafe-eval`). Nothing may frame a page of the
/// node (`frame-ancestors 'none'`, with `X-Frame-Options: DENY` for older browsers).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The security headers every answer carries, refusals included.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
];

/// How long a browser may cache a preflight answer, seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// Middleware: the security headers on every answer.
pub(super) async fn security(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    for (name, value) in SECURITY_HEADERS {
        res.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    res
}

/// Marks a refused preflight: [`cors_headers`] adds nothing to it.
#[derive(Debug, Clone, Copy)]
struct Refused;

/// Middleware: with origins configured, every answer varies by `Origin`, and an answer to a
/// listed origin carries `Access-Control-Allow-Origin` (and exposes `Retry-After`, for 429).
pub(super) async fn cors_headers(State(cors): State<Cors>, req: Request, next: Next) -> Response {
    if cors.is_empty() {
        return next.run(req).await;
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| cors.allows(o))
        .and_then(|o| HeaderValue::from_str(o).ok());
    let mut res = next.run(req).await;
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin.filter(|_| res.extensions().get::<Refused>().is_none()) {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After"),
        );
    }
    res
}

/// A header's text, or empty.
fn header_text(v: Option<&HeaderValue>) -> &str {
    v.and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// Middleware: with origins configured, answers a CORS preflight (`OPTIONS` with
/// `Access-Control-Request-Method`): 204 for a listed origin asking for GET or POST with at
/// most `Content-Type`, otherwise 403 `cors_refused` naming what is not allowed. Without
/// origins, `OPTIONS` is a method like any other (405).
pub(super) async fn preflight(State(cors): State<Cors>, req: Request, next: Next) -> Response {
    let asked = req.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD);
    if cors.is_empty() || req.method() != Method::OPTIONS || asked.is_none() {
        return next.run(req).await;
    }
    let origin = header_text(req.headers().get(header::ORIGIN));
    let method = header_text(asked);
    let wanted = header_text(req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS));
    let refusal = if !cors.allows(origin) {
        Some(format!(
            "origin: {:?} is not allowed to call this API from a browser ([api] cors_origins)",
            super::truncate(origin)
        ))
    } else if !matches!(method, "GET" | "POST") {
        Some(format!(
            "method: {:?} is not allowed from a browser (GET, POST)",
            super::truncate(method)
        ))
    } else {
        wanted
            .split(',')
            .map(str::trim)
            .find(|h| !h.is_empty() && !h.eq_ignore_ascii_case("content-type"))
            .map(|h| {
                format!(
                    "headers: {:?} is not allowed from a browser (Content-Type)",
                    super::truncate(h)
                )
            })
    };
    if let Some(message) = refusal {
        let mut res = ApiError::new(StatusCode::FORBIDDEN, "cors_refused", message).into_response();
        res.extensions_mut().insert(Refused);
        return res;
    }
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type"),
            (header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE),
        ],
    )
        .into_response()
}

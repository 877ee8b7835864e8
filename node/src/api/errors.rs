//! API errors: one type carrying the HTTP status, a stable snake_case code and a message that
//! names the offending field, rendered as `{"error": {"code", "message"}}`.
//!
//! | code | status | when |
//! |---|---|---|
//! | `malformed` | 400 | not JSON, a member of the wrong type or value, unknown or missing member |
//! | `invalid_id`, `invalid_ucr`, `invalid_container`, `invalid_height`, `invalid_range`, `invalid_border_post`, `invalid_period` | 400 | a path or query parameter (the message names it) |
//! | `invalid_query` | 400 | a query parameter the route does not take, or one given twice |
//! | `malformed_evidence` | 400 | an evidence body that is not evidence JSON |
//! | `invalid_evidence` | 422 | evidence that proves nothing |
//! | `not_found`, `no_route` | 404 | no such event or block; no such route |
//! | `method_not_allowed` | 405 | the route exists, not for this method |
//! | `too_large` | 413 | body, event or batch over its limit |
//! | `invalid_event` | 422 | a structural rule of PROTOCOL.md 3.2 |
//! | `bad_signature` | 422 | the signature does not verify |
//! | `unknown_issuer`, `forbidden_kind`, `wrong_chain` | 422 | membership rules (section 8) |
//! | `membership_change` | 422 | a membership change that is not allowed (PROTOCOL.md 8a: unknown organisation, key used before, approvals below quorum, ...) |
//! | `membership_seq` | 409 | a membership change whose `seq` is not the next one (resubmit after the previous change commits) |
//! | `future_time` | 422 | `body.time` more than 10 minutes ahead of the node's clock |
//! | `duplicate` | 409 | an event with this id is already recorded with other (valid) signature bytes; resubmitting the same bytes is idempotent, not an error |
//! | `timeout` | 408 | the request body was not received within the body timeout |
//! | `rate_limited` | 429 | the client is over its rate limit (`Retry-After` says when to retry) |
//! | `quota_exceeded` | 429 | the issuing organisation is over this node's admission quota (`[admission]`: events/s, bytes/s) or holds its share of the mempool; the message says which and when to retry |
//! | `not_a_party`, `unknown_party` | 422 | the issuer is not a party of the consignment, or `parties` names a non-member (PROTOCOL.md 8c) |
//! | `head_moved` | 409 | a later page of a route asked for at a height that is no longer the latest (fetch the route again from its first page) |
//! | `unavailable` | 503 | a consignment's parties could not be read from storage; retry |
//! | `signature_required`, `signature_invalid`, `signature_expired`, `unknown_key` | 401 | a read that `[api] read_access` keeps to members, without a valid request signature by an active member key (PROTOCOL.md 12; `Accept-Signature` says what to sign) |
//! | `not_a_party` | 403 | on a read: `[api] read_access = "parties"` and the signing organisation is not a party to the subject (on a write it is the 422 above) |
//! | `storage`, `internal` | 500 | the node failed |
//! | `mempool_full`, `no_certified_head` | 503 | retry later |
//!
//! Every refusal has this body, whatever produced it: the `json_errors` layer rewrites an error
//! response of another content type (an extractor's rejection, say) into it, with a code from
//! its status. The one exception is what hyper answers before the API sees a request (400 for
//! a request line it cannot parse, 431 for oversized headers): a bare status line.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tradelog_protocol::membership::ChangeError;
use tradelog_protocol::roles::AuthError;
use tradelog_protocol::{EventError, LedgerError};

use crate::chain::SubmitError;
use crate::mempool::MempoolError;
use crate::store::StoreError;

/// An API error: HTTP status, stable code, human message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: &'static str,
    /// What is wrong, naming the field.
    pub message: String,
}

/// The `error` member of an error response (and of a refused batch item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// Stable snake_case code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: &'a ErrorBody,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `malformed`.
    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    /// 413 `too_large`.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 503 `no_certified_head`.
    pub fn no_certified_head() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_certified_head",
            "head: no certified head yet; retry after the first block is committed",
        )
    }

    /// The error for an event that [`tradelog_protocol::Event::from_json`] refused; `json` is
    /// the text it was given, used to name the member a serde error points at (`event` when the
    /// error is about the whole text: not JSON at all, not an object).
    pub fn event(err: EventError, json: &[u8]) -> ApiError {
        match err {
            EventError::Malformed(m) => ApiError::malformed(match locate(json, &m) {
                Some(path) => format!("{path}: {m}"),
                None => format!("event: {m}"),
            }),
            other => ApiError::from(other),
        }
    }

    /// The `error` member.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code,
            message: self.message.clone(),
        }
    }
}

impl From<EventError> for ApiError {
    fn from(e: EventError) -> ApiError {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match e {
            EventError::TooLarge { .. } | EventError::BodyTooLarge { .. } => {
                ApiError::too_large(e.to_string())
            }
            EventError::Malformed(m) => ApiError::malformed(m),
            EventError::Signature(_) => {
                ApiError::new(unprocessable, "bad_signature", e.to_string())
            }
            EventError::Version(_) | EventError::Field { .. } | EventError::Canonical(_) => {
                ApiError::new(unprocessable, "invalid_event", e.to_string())
            }
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        let message = e.to_string();
        match e {
            LedgerError::Event(e) => ApiError::from(e),
            LedgerError::Auth(
                AuthError::UnknownOrg(_)
                | AuthError::UnknownKey { .. }
                | AuthError::RevokedKey { .. },
            ) => ApiError::new(unprocessable, "unknown_issuer", message),
            LedgerError::Auth(AuthError::Forbidden { .. }) => {
                ApiError::new(unprocessable, "forbidden_kind", message)
            }
            LedgerError::Auth(AuthError::WrongChain { .. }) => {
                ApiError::new(unprocessable, "wrong_chain", message)
            }
            LedgerError::Auth(AuthError::NotAParty { .. }) => {
                ApiError::new(unprocessable, "not_a_party", message)
            }
            LedgerError::Auth(
                AuthError::NotOwnDocument { .. } | AuthError::LinkWithoutUcr { .. },
            ) => ApiError::new(unprocessable, "not_own_document", message),
            LedgerError::Auth(AuthError::UnknownParty(_)) => {
                ApiError::new(unprocessable, "unknown_party", message)
            }
            LedgerError::Auth(AuthError::PartiesUnsupported(_)) => {
                ApiError::new(unprocessable, "invalid_event", message)
            }
            LedgerError::Unavailable(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            LedgerError::Duplicate(_) => ApiError::new(StatusCode::CONFLICT, "duplicate", message),
            LedgerError::Outcome(_) => ApiError::new(unprocessable, "no_advance_data", message),
            LedgerError::Auth(AuthError::AeoHolder { .. }) => {
                ApiError::new(unprocessable, "invalid_aeo_holder", message)
            }
            LedgerError::Auth(AuthError::MraPartner { .. }) => {
                ApiError::new(unprocessable, "invalid_mra_partner", message)
            }
            LedgerError::Auth(AuthError::MraApproval { .. }) => {
                ApiError::new(unprocessable, "mra_not_countersigned", message)
            }
            LedgerError::Retraction(_) => {
                ApiError::new(unprocessable, "invalid_retraction", message)
            }
            LedgerError::SameSource { .. } => {
                ApiError::new(StatusCode::CONFLICT, "same_source", message)
            }
            LedgerError::Change(ChangeError::Seq { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "membership_seq", message)
            }
            LedgerError::Change(_) => ApiError::new(unprocessable, "membership_change", message),
            LedgerError::FutureEvent { .. } => ApiError::new(unprocessable, "future_time", message),
            LedgerError::Time { .. } => ApiError::new(unprocessable, "invalid_event", message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        tracing::error!(error = %e, "storage failed while serving the API");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string())
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> ApiError {
        match e {
            SubmitError::Rejected(e) => ApiError::from(e),
            SubmitError::Future { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "future_time",
                e.to_string(),
            ),
            SubmitError::Mempool(MempoolError::Full(_)) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "mempool_full",
                e.to_string(),
            ),
            SubmitError::Mempool(MempoolError::Quota { .. } | MempoolError::Share { .. }) => {
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "quota_exceeded",
                    e.to_string(),
                )
            }
            SubmitError::Store(e) => ApiError::from(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let json = serde_json::to_vec(&Envelope { error: &body }).unwrap_or_default();
        super::json_bytes(self.status, json)
    }
}

/// The code of an error response that carried none (see [`json_errors`]).
fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "malformed",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "too_large",
        415 => "unsupported_media_type",
        429 => "rate_limited",
        503 => "unavailable",
        401..=499 => "refused",
        _ => "internal",
    }
}

/// Middleware: an error response (4xx, 5xx) whose body is not JSON gets the JSON error body.
pub(super) async fn json_errors(req: Request, next: Next) -> Response {
    as_json_error(next.run(req).await).await
}

/// `res` itself if it is not an error or already JSON; otherwise the same status and headers
/// with `{"error": {"code", "message"}}`, the message quoting (at most 200 characters of) the
/// original text.
pub async fn as_json_error(res: Response) -> Response {
    let status = res.status();
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || json {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim()
                .chars()
                .take(200)
                .collect::<String>()
        })
        .unwrap_or_default();
    let text = if text.is_empty() {
        status.canonical_reason().unwrap_or("refused").to_owned()
    } else {
        text
    };
    let mut out =
        ApiError::new(status, code_for(status), format!("request: {text}")).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !out.headers().contains_key(name)
        {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

/// Longest member name quoted back in a path.
const MAX_NAME: usize = 64;

/// The member path (`body.transport.mode`, `body.refs[2]`) at the position a serde_json error
/// message names (`... at line L column C`), or `None` if there is no position or it is the root.
pub fn locate(json: &[u8], message: &str) -> Option<String> {
    let (_, pos) = message.rsplit_once(" at line ")?;
    let (line, column) = pos.split_once(" column ")?;
    let line: usize = line.trim().parse().ok()?;
    let column: usize = column.trim().parse().ok()?;
    let start = match line {
        0 | 1 => 0,
        l => {
            json.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .nth(l - 2)?
                .0
                + 1
        }
    };
    let mut end = start.saturating_add(column).min(json.len());
    // A syntax or type error is reported one byte past a delimiter serde_json peeked at but did
    // not consume; a missing member is reported after the object's closing brace.
    if !message.starts_with("missing field")
        && end > 0
        && matches!(json[end - 1], b',' | b'}' | b']')
    {
        end -= 1;
    }
    let path = path_at(&json[..end]);
    (!path.is_empty()).then_some(path)
}

enum Frame {
    Object(Option<String>),
    Array(usize),
}

/// The member path at the end of `prefix`, a prefix of a JSON text (not validated: this only
/// annotates a parser's error). A container closed by the last byte is not part of the path.
fn path_at(prefix: &[u8]) -> String {
    let mut stack: Vec<Frame> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < prefix.len() {
        match prefix[i] {
            b'{' => {
                stack.push(Frame::Object(None));
                expect_key = true;
            }
            b'[' => {
                stack.push(Frame::Array(0));
                expect_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object(k)) => {
                    *k = None;
                    expect_key = true;
                }
                Some(Frame::Array(n)) => *n += 1,
                None => {}
            },
            b':' => expect_key = false,
            b'"' => {
                let open = i + 1;
                let mut j = open;
                while j < prefix.len() && prefix[j] != b'"' {
                    j += if prefix[j] == b'\\' { 2 } else { 1 };
                }
                if expect_key {
                    if let Some(Frame::Object(k)) = stack.last_mut() {
                        let raw = &prefix[open..j.min(prefix.len())];
                        let name: String = String::from_utf8_lossy(raw)
                            .chars()
                            .take(MAX_NAME)
                            .collect();
                        *k = Some(name);
                    }
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Object(Some(k)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Object(None) => break,
            Frame::Array(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradelog_protocol::sample::{consignment_route, SampleNetwork};
    use tradelog_protocol::Event;

    fn refused(json: &str) -> ApiError {
        let err = Event::from_json(json.as_bytes()).unwrap_err();
        ApiError::event(err, json.as_bytes())
    }

    #[test]
    fn serde_errors_name_the_member() {
        let net = SampleNetwork::new(1).unwrap();
        let route = consignment_route(&net, 0, net.genesis.time).unwrap();
        let good = route[5].to_json();
        let anchored = route[1].to_json();
        let table: [(String, &str); 8] = [
            (
                good.replacen("\"time\":", "\"time\":\"x\",\"was\":", 1),
                "body.time: ",
            ),
            (good.replacen("\"v\":1", "\"v\":\"1\"", 1), "body.v: "),
            (
                good.replacen("\"mode\":\"sea\"", "\"mode\":\"boat\"", 1),
                "body.transport.mode: ",
            ),
            (
                good.replacen("\"ucr\":\"", "\"ucr\":\"x", 1),
                "body.ucr: invalid UCR",
            ),
            (
                good.replacen("\"refs\":[\"", "\"refs\":[\"00", 1),
                "body.refs[0]: expected 64",
            ),
            (
                anchored.replacen("\"alg\":\"sha256\"", "\"alg\":\"md5\"", 1),
                "body.documents[0].alg: ",
            ),
            (
                good.replacen("\"body\":{", "\"body\":{\"extra\":1,", 1),
                "body.extra: unknown field",
            ),
            (good.replacen(",\"v\":1", "", 1), "body: missing field `v`"),
        ];
        for (json, want) in table {
            let e = refused(&json);
            assert_eq!(e.code, "malformed", "{json}");
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.message.starts_with(want), "{want:?} vs {:?}", e.message);
        }
        let root = refused(&good.replacen(",\"sig\":", ",\"zig\":", 1));
        assert!(
            root.message.starts_with("zig: unknown field"),
            "{}",
            root.message
        );
        let not_json = refused("{\"body\": tru, \"sig\": 1}");
        assert!(
            not_json.message.starts_with("body: "),
            "{}",
            not_json.message
        );
        let array = refused("[]");
        assert_eq!(array.code, "malformed");
        assert!(array.message.starts_with("event: "), "{}", array.message);
        assert!(refused("").message.starts_with("event: "));
    }

    /// B7's safety net: whatever answers a refusal in text/plain (axum's body limit did, for
    /// `/v1/evidence`), the client gets the JSON error body, the status and other headers kept.
    #[tokio::test]
    async fn text_refusals_become_json() {
        let text = (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::RETRY_AFTER, "3")],
            "length limit exceeded",
        )
            .into_response();
        let res = as_json_error(text).await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(res.headers()[header::RETRY_AFTER], "3");
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": "too_large", "message": "request: length limit exceeded"}})
        );
        // Already JSON, or not an error: untouched.
        let own = ApiError::malformed("body: x").into_response();
        let res = as_json_error(own).await;
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(
            &body[..],
            br#"{"error":{"code":"malformed","message":"body: x"}}"#
        );
        let ok = as_json_error((StatusCode::OK, "fine").into_response()).await;
        assert_eq!(
            ok.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let empty = as_json_error(StatusCode::SERVICE_UNAVAILABLE.into_response()).await;
        let body = axum::body::to_bytes(empty.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(
            &body[..],
            br#"{"error":{"code":"unavailable","message":"request: Service Unavailable"}}"#
        );
    }

    #[test]
    fn path_of_prefixes() {
        assert_eq!(path_at(b"{\"a\":{\"b\":[1,2,{\"c\":"), "a.b[2].c");
        assert_eq!(path_at(b"{\"a\":{\"b\":1}"), "a");
        assert_eq!(path_at(b"{\"a\\\"b\":"), "a\\\"b");
        assert_eq!(path_at(b"{\"a\":1,"), "");
        assert_eq!(locate(b"{}", "no position"), None);
        assert_eq!(
            locate(b"{\n\"a\":\n1x}", "oops at line 3 column 2"),
            Some("a".into())
        );
        assert_eq!(locate(b"{\"a\":1}", "at line 99 column 2"), None);
    }
}

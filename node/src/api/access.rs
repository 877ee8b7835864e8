//! Read access (`[api] read_access`, docs/OPERATIONS.md "Read access"): which reads need a
//! member organisation's request signature (PROTOCOL.md 12), which subjects a member may read
//! under "parties", and the access log of every authenticated read.
//!
//! Public in every mode: head, genesis, membership (a light client needs it to verify
//! anything), organisations with their AEO records (PROTOCOL.md 9e), consistency proofs, evidence, health, metrics, OpenAPI, the explorer's files, and
//! every write (events are signed themselves). Protected under "members" and "parties": event
//! status, consignments and their routes, containers, trade identifiers and their routes, risk
//! outcome feeds, blocks (they carry events) and the
//! time-release report (it lists consignments).
//!
//! Under "parties" (customs and auditors read everything):
//! * a consignment (and its route) is readable by its parties ([`NodeLedger::readers_of`]);
//! * a container by every organisation that issued an event naming it and the parties of every
//!   consignment whose events name it;
//! * an event by its issuer and, if it names a consignment, that consignment's parties, else,
//!   if it names a container, that container's readers;
//! * an organisation's feed of risk outcomes by that organisation (customs and auditors too);
//! * blocks and the time-release report by customs and auditors only.
//!
//! Refusals: 401 `signature_required` (no signature), `signature_invalid`, `signature_expired`,
//! `unknown_key` (not an active key of a member organisation); 403 `not_a_party`. A refusal
//! says nothing of whether the subject exists.
//!
//! [`NodeLedger::readers_of`]: crate::ledger::NodeLedger::readers_of

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tradelog_protocol::httpsig::{self, HttpSigError};
use tradelog_protocol::{ContainerId, EventId, OrgId, PublicKey, Role, Subject, TradeId, Ucr};

use super::errors::ApiError;
use super::{blocking, ApiState, ClientAddr};
use crate::chain::{lock, now_ms, Chain};
use crate::config::ReadAccess;
use crate::store::StoreError;

/// The tracing target of the access log.
pub const LOG_TARGET: &str = "tradelog::access";
/// The access log file in the data dir (JSON lines).
pub const LOG_FILE: &str = "access.jsonl";
/// Size at which the access log file is rotated to `access.jsonl.1` (the previous `.1` is
/// dropped), bytes: at most twice this is kept.
pub const LOG_ROTATE_BYTES: u64 = 64 << 20;

/// The read-access policy and the access log.
#[derive(Debug, Default)]
pub struct Access {
    mode: ReadAccess,
    log: Option<Mutex<LogFile>>,
}

#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    file: Option<std::fs::File>,
    size: u64,
}

impl Access {
    /// Reads in `mode`; authenticated reads are also appended to `data_dir/access.jsonl` when
    /// `data_dir` is given.
    pub fn new(mode: ReadAccess, data_dir: Option<&Path>) -> Access {
        Access {
            mode,
            log: data_dir.map(|d| {
                Mutex::new(LogFile {
                    path: d.join(LOG_FILE),
                    file: None,
                    size: 0,
                })
            }),
        }
    }

    /// The mode.
    pub fn mode(&self) -> ReadAccess {
        self.mode
    }

    /// Records an authenticated read: a tracing event (target [`LOG_TARGET`]) and, with a data
    /// dir, a line of the log file. A failed write is logged, not fatal: the ledger is intact.
    fn record(&self, entry: &Entry<'_>) {
        tracing::info!(
            target: LOG_TARGET,
            org = %entry.org,
            key = %entry.key,
            method = entry.method,
            path = entry.path,
            subject = entry.subject,
            status = entry.status,
            client = %entry.client,
            "authenticated read"
        );
        let Some(log) = &self.log else { return };
        let mut line = serde_json::json!({
            "time_ms": entry.time_ms,
            "org": entry.org.as_str(),
            "key": entry.key.to_hex(),
            "method": entry.method,
            "path": entry.path,
            "subject": entry.subject,
            "status": entry.status,
            "client": entry.client,
        })
        .to_string();
        line.push('\n');
        let mut log = lock(log);
        if let Err(e) = log.append(line.as_bytes()) {
            tracing::warn!(target: LOG_TARGET, path = %log.path.display(), error = %e, "access log: cannot write");
            log.file = None;
        }
    }
}

impl LogFile {
    fn append(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.file.is_some() && self.size + line.len() as u64 > LOG_ROTATE_BYTES {
            self.file = None;
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, old)?;
        }
        if self.file.is_none() {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.size = f.metadata()?.len();
            self.file = Some(f);
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(line)?;
            self.size += line.len() as u64;
        }
        Ok(())
    }
}

/// One line of the access log.
struct Entry<'a> {
    time_ms: u64,
    org: &'a OrgId,
    key: &'a PublicKey,
    method: &'a str,
    path: &'a str,
    subject: &'a str,
    status: u16,
    client: String,
}

/// What a protected read is about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Consignment(String),
    Container(String),
    Identifier(String),
    Event(String),
    Outcomes(String),
    Block,
    Report,
}

impl Target {
    /// The protected read a request is, or `None` for a public route or a write.
    fn of(method: &Method, path: &str) -> Option<Target> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let segs: Vec<&str> = path.split('/').collect();
        match segs.as_slice() {
            ["", "v1", "consignments", ucr] | ["", "v1", "consignments", ucr, "route"] => {
                Some(Target::Consignment((*ucr).to_owned()))
            }
            ["", "v1", "containers", id] => Some(Target::Container((*id).to_owned())),
            ["", "v1", "identifiers", id] | ["", "v1", "identifiers", id, "route"] => {
                Some(Target::Identifier((*id).to_owned()))
            }
            ["", "v1", "events", id] if *id != "batch" => Some(Target::Event((*id).to_owned())),
            ["", "v1", "blocks", _] => Some(Target::Block),
            ["", "v1", "organisations", id, "outcomes"] => Some(Target::Outcomes((*id).to_owned())),
            ["", "v1", "reports", "time-release"] => Some(Target::Report),
            _ => None,
        }
    }

    /// The subject as the access log names it.
    fn describe(&self) -> String {
        match self {
            Target::Consignment(u) => format!("consignment:{u}"),
            Target::Container(c) => format!("container:{c}"),
            Target::Identifier(t) => format!("identifier:{t}"),
            Target::Event(e) => format!("event:{e}"),
            Target::Outcomes(o) => format!("outcomes:{o}"),
            Target::Block => "block".into(),
            Target::Report => "time-release".into(),
        }
    }
}

/// An authenticated reader.
#[derive(Debug, Clone)]
struct Reader {
    org: OrgId,
    role: Role,
    key: PublicKey,
}

/// 401 with `code`; asks for a signature (RFC 9421 `Accept-Signature`).
fn unauthorized(code: &'static str, message: String) -> Response {
    let mut res = ApiError::new(StatusCode::UNAUTHORIZED, code, message).into_response();
    let accept = format!(
        "{}=({});alg=\"{}\";tag=\"{}\"",
        httpsig::LABEL,
        httpsig::COMPONENTS
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(" "),
        httpsig::ALG,
        httpsig::TAG
    );
    if let Ok(v) = HeaderValue::from_str(&accept) {
        res.headers_mut().insert("accept-signature", v);
    }
    res
}

/// Why a request was not authenticated: a 401 code and its message.
struct Refusal {
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(code: &'static str, message: String) -> Refusal {
        Refusal { code, message }
    }
}

/// A header as text (at most [`httpsig::MAX_HEADER_BYTES`] is checked by the parser).
fn header_text<'a>(req: &'a Request, name: &str) -> Result<Option<&'a str>, Refusal> {
    let mut values = req.headers().get_all(name).iter();
    let Some(v) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Refusal::new(
            "signature_invalid",
            format!("{name}: given more than once; send one signature"),
        ));
    }
    v.to_str()
        .map(Some)
        .map_err(|_| Refusal::new("signature_invalid", format!("{name}: not visible ASCII")))
}

/// Checks the request's signature and finds its key among the active keys of the current
/// membership.
fn authenticate(chain: &Chain, req: &Request) -> Result<Reader, Refusal> {
    let input = header_text(req, "signature-input")?;
    let signature = header_text(req, "signature")?;
    let (Some(input), Some(signature)) = (input, signature) else {
        return Err(Refusal::new(
            "signature_required",
            "Signature-Input, Signature: this node serves this read to member organisations \
             only ([api] read_access); sign the request (PROTOCOL.md 12)"
                .into(),
        ));
    };
    let refuse = |e: HttpSigError| Refusal::new(e.code(), e.to_string());
    let signed = httpsig::parse(input, signature).map_err(refuse)?;
    let authority = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    let target = httpsig::Request {
        method: req.method().as_str(),
        authority,
        path: req.uri().path(),
        query: req.uri().query(),
    };
    let key = signed.verify(&target, now_ms() / 1000).map_err(refuse)?;
    let found = chain.ledger().with_chain(|c, _| {
        c.membership()
            .orgs()
            .find(|o| o.keys.contains(&key))
            .map(|o| (o.id.clone(), o.role))
    });
    let Some((org, role)) = found else {
        return Err(Refusal::new(
            "unknown_key",
            format!(
                "keyid: {} is not an active key of a member organisation of this ledger",
                key.to_hex()
            ),
        ));
    };
    Ok(Reader { org, role, key })
}

/// 403 `not_a_party`.
fn not_a_party(org: &OrgId, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "not_a_party",
        format!(
            "{what}: organisation {org} is not a party to it, and this node serves members only \
             what they are parties to ([api] read_access = \"parties\"; customs and auditors \
             read all)"
        ),
    )
}

/// The organisations that may read container `id` under "parties": issuers of its events and
/// the readers of every consignment they name. Stops as soon as `org` is found.
fn may_read_container(chain: &Chain, org: &OrgId, id: &ContainerId) -> Result<bool, StoreError> {
    may_read_subject(chain, org, &Subject::Container(id.clone()))
}

/// The organisations that may read a container or trade identifier under "parties": issuers
/// of its events and the readers of every consignment they name (a trade identifier's route
/// holds the consignments linked to it, 8f: their parties read it, and so do the issuers of
/// the identifier's own events, the carrier of a B/L say). Stops as soon as `org` is found.
fn may_read_subject(chain: &Chain, org: &OrgId, subject: &Subject) -> Result<bool, StoreError> {
    let events = chain.store().subject_events(subject)?;
    if events.iter().any(|(_, e)| &e.body().issuer.org == org) {
        return Ok(true);
    }
    let ucrs: BTreeSet<&Ucr> = events
        .iter()
        .filter_map(|(_, e)| e.body().ucr.as_ref())
        .collect();
    for ucr in ucrs {
        if chain.ledger().readers_of(ucr)?.contains(org) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `reader` may read `target` under "parties". A malformed identifier is let through
/// (the route answers its 400, which says nothing of the ledger).
fn may_read(chain: &Chain, reader: &Reader, target: &Target) -> Result<bool, ApiError> {
    if matches!(reader.role, Role::Customs | Role::Auditor) {
        return Ok(true);
    }
    let org = &reader.org;
    Ok(match target {
        Target::Block | Target::Report => false,
        // A filer's risk outcomes are its own (and customs', who recorded them).
        Target::Outcomes(o) => o == org.as_str(),
        Target::Consignment(u) => match u.parse::<Ucr>() {
            Ok(ucr) => chain.ledger().readers_of(&ucr)?.contains(org),
            Err(_) => true,
        },
        Target::Container(c) => match c.parse::<ContainerId>() {
            Ok(id) => may_read_container(chain, org, &id)?,
            Err(_) => true,
        },
        Target::Identifier(t) => match t.parse::<TradeId>() {
            Ok(id) => may_read_subject(chain, org, &Subject::Identifier(id))?,
            Err(_) => true,
        },
        Target::Event(e) => match e.parse::<EventId>() {
            Err(_) => true,
            Ok(id) => match chain.status(&id)? {
                None => false,
                Some((_, event)) => {
                    let b = event.body();
                    &b.issuer.org == org
                        || match (&b.ucr, &b.container) {
                            (Some(ucr), _) => chain.ledger().readers_of(ucr)?.contains(org),
                            (None, Some(c)) => may_read_container(chain, org, c)?,
                            (None, None) => false,
                        }
                }
            },
        },
    })
}

/// The read-access layer: lets public routes and writes through, authenticates protected
/// reads (401), applies the party rule (403) and logs every authenticated read with its status.
pub(super) async fn guard(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let mode = state.access.mode();
    if mode == ReadAccess::Open {
        return next.run(req).await;
    }
    let Some(target) = Target::of(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let reader = match authenticate(&state.chain, &req) {
        Ok(r) => r,
        Err(r) => {
            tracing::debug!(
                target: LOG_TARGET,
                path = req.uri().path(),
                code = r.code,
                "unauthenticated read refused"
            );
            return unauthorized(r.code, r.message);
        }
    };
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let client = req
        .extensions()
        .get::<ClientAddr>()
        .map_or_else(String::new, |c| c.0.to_string());
    let res = if mode == ReadAccess::Parties {
        let (chain, r, t) = (state.chain.clone(), reader.clone(), target.clone());
        match blocking(move || may_read(&chain, &r, &t)).await {
            Ok(Ok(true)) => next.run(req).await,
            Ok(Ok(false)) => not_a_party(&reader.org, &target.describe()).into_response(),
            Ok(Err(e)) | Err(e) => e.into_response(),
        }
    } else {
        next.run(req).await
    };
    state.access.record(&Entry {
        time_ms: now_ms(),
        org: &reader.org,
        key: &reader.key,
        method: &method,
        path: &path,
        subject: &target.describe(),
        status: res.status().as_u16(),
        client,
    });
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_classified_by_route() {
        let get = Method::GET;
        for (path, want) in [
            ("/v1/consignments/U", Some(Target::Consignment("U".into()))),
            (
                "/v1/consignments/U/route",
                Some(Target::Consignment("U".into())),
            ),
            ("/v1/containers/C", Some(Target::Container("C".into()))),
            ("/v1/identifiers/I", Some(Target::Identifier("I".into()))),
            (
                "/v1/identifiers/I/route",
                Some(Target::Identifier("I".into())),
            ),
            ("/v1/events/E", Some(Target::Event("E".into()))),
            ("/v1/blocks/1", Some(Target::Block)),
            ("/v1/reports/time-release", Some(Target::Report)),
            ("/v1/events/batch", None),
            ("/v1/head", None),
            ("/v1/genesis", None),
            ("/v1/membership", None),
            ("/v1/consistency", None),
            ("/v1/evidence", None),
            ("/health", None),
            ("/metrics", None),
            ("/openapi.json", None),
            ("/", None),
            ("/explorer.js", None),
            ("/sdk/index.js", None),
        ] {
            assert_eq!(Target::of(&get, path), want, "{path}");
        }
        assert_eq!(Target::of(&Method::POST, "/v1/events"), None);
        assert_eq!(Target::of(&Method::POST, "/v1/consignments/U"), None);
    }
}

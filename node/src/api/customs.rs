//! Customs reads: an organisation with its AEO records and the recognition asked about
//! (PROTOCOL.md 9e), and the long-poll feed of risk outcomes on the advance data an
//! organisation filed (8i).

use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tradelog_protocol::api::OrganisationAnswer;
use tradelog_protocol::recognition::Register;
use tradelog_protocol::{Event, EventId, OrgId, Subject};

use super::errors::ApiError;
use super::params::decimal;
use super::{blocking, json, truncate, ApiState};

/// Longest a feed request waits for a new block, seconds.
pub const MAX_WAIT_S: u64 = 30;
/// Most log positions one feed request reads (a client far behind pages with `next`).
pub const MAX_SCAN: u64 = 20_000;
/// Most feed requests waiting at once; one more is answered at once, as if `wait=0`.
pub const MAX_WAITERS: usize = 64;

/// The bound on waiting feed requests (one per process: a test running several nodes shares
/// it, which only lowers each node's share).
static WAITERS: Semaphore = Semaphore::const_new(MAX_WAITERS);

fn bad(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

fn org_param(p: Result<Path<String>, PathRejection>) -> Result<OrgId, ApiError> {
    let raw = p
        .map(|Path(s)| s)
        .map_err(|r| bad("invalid_organisation", r.body_text()))?;
    raw.parse()
        .map_err(|e| bad("invalid_organisation", format!("id: {e}")))
}

fn number(name: &str, v: &str) -> Result<u64, ApiError> {
    decimal(v).ok_or_else(|| {
        bad(
            "invalid_query",
            format!(
                "{name}: {:?} is not a decimal integer without sign or leading zeros",
                truncate(v)
            ),
        )
    })
}

/// Query of `GET /v1/organisations/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrganisationQuery {
    recognised_by: Option<String>,
    at: Option<String>,
}

/// `GET /v1/organisations/{id}[?recognised_by=Y][&at=T]` (PROTOCOL.md 9e).
pub(super) async fn organisation(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<OrganisationQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let holder = org_param(id)?;
    let Query(q) = query.map_err(|r| bad("invalid_query", r.body_text()))?;
    let by: OrgId = match &q.recognised_by {
        None => holder.clone(),
        Some(y) => y
            .parse()
            .map_err(|e| bad("invalid_query", format!("recognised_by: {e}")))?,
    };
    let at = q.at.as_deref().map(|t| number("at", t)).transpose()?;
    blocking(move || {
        let membership = state.chain.current_membership();
        let organisation = membership.org(&holder).cloned().ok_or_else(|| {
            ApiError::not_found(format!("id: {holder} is not a member of this ledger"))
        })?;
        if by != holder && membership.org(&by).is_none() {
            return Err(ApiError::not_found(format!(
                "recognised_by: {by} is not a member of this ledger"
            )));
        }
        let mut subjects = vec![Subject::Organisation(holder.clone())];
        if by != holder {
            subjects.push(Subject::Organisation(by.clone()));
        }
        let bundles = state
            .chain
            .provenances(&subjects)?
            .ok_or_else(ApiError::no_certified_head)?;
        let at = at.unwrap_or_else(|| bundles.first().map_or(0, |b| b.head.time));
        let mut register = Register::new();
        for b in &bundles {
            register.add_bundle(b);
        }
        let recognition = register.recognised(&holder, &by, at);
        Ok(json(
            StatusCode::OK,
            &OrganisationAnswer {
                organisation,
                bundles,
                recognition,
            },
        ))
    })
    .await?
}

/// Query of `GET /v1/organisations/{id}/outcomes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FeedQuery {
    from: Option<String>,
    wait: Option<String>,
}

/// One outcome of the feed.
#[derive(Debug, Serialize)]
struct FeedItem {
    /// Its log position.
    index: u64,
    /// The `risk_*` event.
    event: Event,
    /// The `advance_data` event it assesses, filed by the organisation.
    advance_data: EventId,
}

/// The feed's answer.
#[derive(Debug, Serialize)]
struct Feed {
    organisation: OrgId,
    outcomes: Vec<FeedItem>,
    /// The `from` of the next request: the first log position not read yet.
    next: u64,
    /// The committed log size when answered.
    log_size: u64,
}

/// `GET /v1/organisations/{id}/outcomes[?from=N][&wait=S]`: the risk outcomes recorded at log
/// positions from `from` (0 without it) on the advance data `id` filed, at most [`MAX_SCAN`]
/// positions read per request (the answer's `next` is the next request's `from`); with `wait`
/// (seconds, at most [`MAX_WAIT_S`]) and no position at or after `from` yet, the answer waits for the next block or the deadline, whichever
/// comes first. Read access: as a consignment's under "members"; under "parties" the
/// organisation itself, customs and auditors.
pub(super) async fn outcomes(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let org = org_param(id)?;
    let Query(q) = query.map_err(|r| bad("invalid_query", r.body_text()))?;
    let from = q
        .from
        .as_deref()
        .map(|f| number("from", f))
        .transpose()?
        .unwrap_or(0);
    let wait = q
        .wait
        .as_deref()
        .map(|w| number("wait", w))
        .transpose()?
        .unwrap_or(0);
    if wait > MAX_WAIT_S {
        return Err(bad(
            "invalid_query",
            format!("wait: at most {MAX_WAIT_S} seconds, got {wait}"),
        ));
    }
    if state.chain.current_membership().org(&org).is_none() {
        return Err(ApiError::not_found(format!(
            "id: {org} is not a member of this ledger"
        )));
    }
    let mut committed = state.chain.committed();
    if wait > 0 && *committed.borrow_and_update() <= from {
        // A bounded number of requests wait; the rest are answered now.
        if let Ok(_permit) = WAITERS.try_acquire() {
            let _ = tokio::time::timeout(Duration::from_secs(wait), async {
                while *committed.borrow_and_update() <= from {
                    if committed.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await;
        }
    }
    blocking(move || {
        let (found, end) = state.chain.ledger().outcomes_for(&org, from, MAX_SCAN)?;
        let log_size = state
            .chain
            .ledger()
            .certified()
            .map_or(0, |(h, _)| h.log_size);
        Ok(json(
            StatusCode::OK,
            &Feed {
                organisation: org,
                outcomes: found
                    .into_iter()
                    .map(|(index, event, advance_data)| FeedItem {
                        index,
                        event,
                        advance_data,
                    })
                    .collect(),
                next: end,
                log_size,
            },
        ))
    })
    .await?
}

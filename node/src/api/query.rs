//! Reads: event status, proof bundles by consignment or container, the certified head,
//! consistency proofs and blocks. Storage reads and bundle serialization run on the blocking
//! pool.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tradelog_protocol::api::{ConsistencyAnswer, HeadAnswer, MembershipAnswer};
use tradelog_protocol::{ContainerId, Event, EventId, Subject, TradeId, Ucr, UnLocode};

use super::errors::ApiError;
use super::params;
use super::submit::StatusJson;
use super::{blocking, json, json_bytes, truncate, ApiState};
use crate::ledger::RouteError;
use crate::trs::TrsReport;

/// The path parameter, or 400 with `code`.
fn path_param(
    p: Result<Path<String>, PathRejection>,
    code: &'static str,
) -> Result<String, ApiError> {
    p.map(|Path(s)| s)
        .map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, code, r.body_text()))
}

/// `GET /v1/events/{id}`.
pub(super) async fn event_status(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let raw = path_param(id, "invalid_id")?;
    let id: EventId = raw
        .parse()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_id", format!("id: {e}")))?;
    let found = blocking(move || state.chain.status(&id)).await??;
    let Some((status, event)) = found else {
        return Err(ApiError::not_found(format!(
            "id: no event {id} on this node"
        )));
    };
    #[derive(Serialize)]
    struct EventJson {
        #[serde(flatten)]
        status: StatusJson,
        event: Event,
    }
    Ok(json(
        StatusCode::OK,
        &EventJson {
            status: StatusJson::new(id, &status),
            event,
        },
    ))
}

/// The proof bundle of `subject`, serialized on the blocking pool.
async fn bundle(state: ApiState, subject: Subject) -> Result<Response, ApiError> {
    blocking(move || {
        let bundle = state
            .chain
            .provenance(&subject)?
            .ok_or_else(ApiError::no_certified_head)?;
        Ok(json(StatusCode::OK, &bundle))
    })
    .await?
}

/// `GET /v1/consignments/{ucr}`.
pub(super) async fn consignment(
    State(state): State<ApiState>,
    ucr: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let ucr: Ucr = path_param(ucr, "invalid_ucr")?
        .parse()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_ucr", format!("ucr: {e}")))?;
    bundle(state, Subject::Consignment(ucr)).await
}

/// Query of `GET /v1/consignments/{ucr}/route`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoutePage {
    containers_from: Option<String>,
    height: Option<String>,
}

/// `GET /v1/consignments/{ucr}/route[?containers_from=N&height=H]`: the consignment's bundle
/// and the bundles of every container its events name, all against one certified head; a
/// route naming more containers than one bundle holds comes in pages (PROTOCOL.md 9b), the
/// later ones asked for at the first page's height (409 `head_moved` if that is no longer the
/// latest).
pub(super) async fn route(
    State(state): State<ApiState>,
    ucr: Result<Path<String>, PathRejection>,
    page: Result<Query<RoutePage>, QueryRejection>,
) -> Result<Response, ApiError> {
    let ucr: Ucr = path_param(ucr, "invalid_ucr")?
        .parse()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_ucr", format!("ucr: {e}")))?;
    route_of(state, Subject::Consignment(ucr), page).await
}

/// A trade identifier path parameter, or 400 `invalid_identifier`.
fn identifier(id: Result<Path<String>, PathRejection>) -> Result<TradeId, ApiError> {
    path_param(id, "invalid_identifier")?.parse().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_identifier",
            format!("id: {e}"),
        )
    })
}

/// `GET /v1/identifiers/{id}`: the proof bundle of a trade identifier (PROTOCOL.md 8f).
pub(super) async fn identifier_bundle(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    bundle(state, Subject::Identifier(identifier(id)?)).await
}

/// `GET /v1/identifiers/{id}/route`: the route of the identifier's group (9b version 3).
pub(super) async fn identifier_route(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    page: Result<Query<RoutePage>, QueryRejection>,
) -> Result<Response, ApiError> {
    route_of(state, Subject::Identifier(identifier(id)?), page).await
}

/// The route of a consignment or identifier, or the page asked for.
async fn route_of(
    state: ApiState,
    subject: Subject,
    page: Result<Query<RoutePage>, QueryRejection>,
) -> Result<Response, ApiError> {
    let invalid = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", m);
    let Query(page) = page.map_err(|r| invalid(r.body_text()))?;
    let containers_from = match page.containers_from {
        None => 0,
        Some(v) => params::decimal(&v).ok_or_else(|| {
            invalid(format!(
                "containers_from: {:?} is not a position (decimal digits, without sign or leading zeros)",
                truncate(&v)
            ))
        })?,
    };
    let height = page.height.as_deref().map(params::height).transpose()?;
    blocking(
        move || match state.chain.route(&subject, containers_from, height) {
            Ok(Some(route)) => Ok(json(StatusCode::OK, &route)),
            Ok(None) => Err(ApiError::no_certified_head()),
            Err(e @ RouteError::Page(_)) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                e.to_string(),
            )),
            Err(e @ RouteError::HeadMoved { .. }) => Err(ApiError::new(
                StatusCode::CONFLICT,
                "head_moved",
                e.to_string(),
            )),
            Err(e @ RouteError::TooLarge(_)) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "route_too_large",
                e.to_string(),
            )),
            Err(RouteError::Store(e)) => Err(e.into()),
        },
    )
    .await?
}

/// `GET /v1/containers/{id}`.
pub(super) async fn container(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id: ContainerId = path_param(id, "invalid_container")?.parse().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_container",
            format!("id: {e}"),
        )
    })?;
    bundle(state, Subject::Container(id)).await
}

/// `GET /v1/head`.
pub(super) async fn head(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let (head, certificate) = state
        .chain
        .certified()
        .ok_or_else(ApiError::no_certified_head)?;
    Ok(json(
        StatusCode::OK,
        &HeadAnswer {
            hash: head.hash(),
            head,
            certificate,
        },
    ))
}

/// `GET /v1/membership`: the latest certified head with the membership proof at it.
pub(super) async fn membership(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let found = blocking(move || state.chain.membership()).await??;
    let (head, certificate, membership) = found.ok_or_else(ApiError::no_certified_head)?;
    Ok(json(
        StatusCode::OK,
        &MembershipAnswer {
            head,
            certificate,
            membership,
        },
    ))
}

/// Query of `GET /v1/consistency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Range {
    first: Option<String>,
    second: Option<String>,
}

/// `GET /v1/consistency?first=N&second=M`.
pub(super) async fn consistency(
    State(state): State<ApiState>,
    range: Result<Query<Range>, QueryRejection>,
) -> Result<Response, ApiError> {
    let invalid = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_range", m);
    let Query(range) = range.map_err(|r| invalid(r.body_text()))?;
    let (Some(first), Some(second)) = (range.first, range.second) else {
        return Err(invalid(
            "first, second: both query parameters are required (log sizes, first <= second)".into(),
        ));
    };
    let size = |name: &str, v: &str| {
        params::decimal(v).ok_or_else(|| {
            invalid(format!(
                "{name}: {:?} is not a log size (decimal digits, without sign or leading zeros)",
                truncate(v)
            ))
        })
    };
    let (first, second) = (size("first", &first)?, size("second", &second)?);
    let out_of_range = || {
        invalid(format!(
            "first, second: need first <= second <= the log size ({}), got first={first} second={second}",
            state.chain.certified().map_or(0, |(h, _)| h.log_size)
        ))
    };
    let chain = state.chain.clone();
    let found = blocking(move || chain.consistency(first, second)).await??;
    let (proof, first_root, second_root) = found.ok_or_else(out_of_range)?;
    Ok(json(
        StatusCode::OK,
        &ConsistencyAnswer {
            first,
            second,
            first_root,
            second_root,
            proof,
        },
    ))
}

/// `GET /v1/blocks/{height}`.
pub(super) async fn block(
    State(state): State<ApiState>,
    height: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let raw = path_param(height, "invalid_height")?;
    let height = params::height(&raw)?;
    blocking(move || {
        let block = state.chain.store().block_json(height)?.ok_or_else(|| {
            ApiError::not_found(format!("height: no block {height} on this node"))
        })?;
        Ok(json_bytes(StatusCode::OK, block))
    })
    .await?
}

/// Query of `GET /v1/reports/time-release`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrsQuery {
    border_post: Option<String>,
    period: Option<String>,
}

/// The time-release report at the certified head, optionally for one border post and month.
pub(super) fn time_release_report(
    state: &ApiState,
    border_post: Option<&UnLocode>,
    period: Option<&str>,
) -> Result<TrsReport, ApiError> {
    let upto = state.chain.certified().map_or(0, |(h, _)| h.log_size);
    let mut trs = crate::chain::lock(&state.trs);
    trs.refresh(state.chain.store(), upto)?;
    Ok(trs.report(border_post, period))
}

/// `GET /v1/reports/time-release?border_post=NLRTM&period=2026-03`.
pub(super) async fn time_release(
    State(state): State<ApiState>,
    q: Result<Query<TrsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) =
        q.map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()))?;
    let post: Option<UnLocode> = q
        .border_post
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_border_post",
                format!("border_post: {e}"),
            )
        })?;
    if let Some(m) = q.period.as_deref().filter(|m| !params::is_month(m)) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_period",
            format!(
                "period: {:?} is not a month YYYY-MM (UTC; year from 1970, month 01-12)",
                truncate(m)
            ),
        ));
    }
    blocking(move || {
        let report = time_release_report(&state, post.as_ref(), q.period.as_deref())?;
        Ok(json(StatusCode::OK, &report))
    })
    .await?
}

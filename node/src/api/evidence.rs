//! `POST /v1/evidence` (verify and keep misbehaviour evidence) and `GET /v1/evidence`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::errors::ApiError;
use super::{blocking, json, read_body, ApiState};
use crate::evidence::{self, Evidence};

/// Largest evidence body (two heads and certificates of up to 256 signatures each).
pub const MAX_EVIDENCE_BYTES: usize = 256 * 1024;

/// `POST /v1/evidence`: 201 with the record if new, 200 if already known, 422 if it proves
/// nothing. The body is read as the other routes' are ([`read_body`]: size bound first, within
/// the body timeout).
pub(super) async fn submit_evidence(
    State(state): State<ApiState>,
    req: Request,
) -> Result<Response, ApiError> {
    let body = read_body(req, MAX_EVIDENCE_BYTES, state.limits.body_timeout).await?;
    let evidence: Evidence = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_evidence",
            format!(
                "body: {e} (expected {{\"double_sign\": ...}} or {{\"conflicting_commits\": ...}})"
            ),
        )
    })?;
    blocking(move || {
        let record =
            evidence::verify(evidence, state.chain.genesis(), "submitted").map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_evidence",
                    format!("evidence: {e}"),
                )
            })?;
        // A failed write stops the node; a full evidence store is only this request's 500.
        let new = evidence::store(state.chain.store(), &record).inspect_err(|e| {
            state.fatal.storage_io("storing submitted evidence", e);
        })?;
        if new {
            tracing::warn!(
                height = record.height,
                equivocators = record.equivocators.len(),
                "misbehaviour evidence stored"
            );
        }
        Ok(json(
            if new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            &record,
        ))
    })
    .await?
}

/// `GET /v1/evidence`: every stored record.
pub(super) async fn list_evidence(State(state): State<ApiState>) -> Result<Response, ApiError> {
    blocking(move || {
        let records = evidence::list(state.chain.store())?;
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "evidence": records }),
        ))
    })
    .await?
}

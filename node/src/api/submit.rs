//! Submission: `POST /v1/events` and `POST /v1/events/batch`. Both parse each event once with
//! [`Event::from_json`] and admit them together with [`crate::chain::Chain::submit_many`] (one
//! signature batch); a new event is timed for the commit-latency metric and handed to gossip.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tradelog_protocol::event::MAX_EVENT_JSON_BYTES;
use tradelog_protocol::{Event, EventId};

use super::errors::{ApiError, ErrorBody};
use super::{batch, blocking, json, read_body, ApiState, MAX_BATCH_BYTES, MAX_BATCH_EVENTS};
use crate::chain::{now_ms, EventStatus, Submitted};

/// `{"id", "status", "index"?}`.
#[derive(Debug, Serialize)]
pub(super) struct StatusJson {
    id: EventId,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    /// The event sent, when the ledger keeps `id` instead: the same source (PROTOCOL.md 8e).
    #[serde(skip_serializing_if = "Option::is_none")]
    same_source_as: Option<EventId>,
}

impl StatusJson {
    /// The status of a submission: the event the ledger keeps and, if that is not the event
    /// sent, the one sent.
    fn of(s: &Submitted) -> StatusJson {
        StatusJson {
            same_source_as: s.given,
            ..StatusJson::new(s.id, &s.status)
        }
    }

    pub(super) fn new(id: EventId, status: &EventStatus) -> StatusJson {
        match status {
            EventStatus::Committed { index } => StatusJson {
                id,
                status: "committed",
                index: Some(*index),
                same_source_as: None,
            },
            EventStatus::Pending => StatusJson {
                id,
                status: "pending",
                index: None,
                same_source_as: None,
            },
        }
    }
}

/// A refused event, with its id when it parsed.
struct Refused {
    id: Option<EventId>,
    error: ApiError,
}

/// Parses and submits events as one batch (their signatures verified together); a new one is
/// timed for the latency metric and handed to gossip. One result per item, in order.
///
/// Resubmitting the exact event (same id, same signature bytes) is idempotent: the answer is its
/// status. The same id with other signature bytes is refused, and nothing changes: 422
/// `bad_signature` if that signature does not verify, 409 `duplicate` if it does (Ed25519 as
/// signed by tradelog clients is deterministic, so only another signer implementation or a
/// re-keyed HSM produces it); the ledger keeps the first signature, which
/// `GET /v1/events/{id}` returns.
fn submit_items(state: &ApiState, items: &[&[u8]]) -> Vec<Result<Submitted, Refused>> {
    let mut out: Vec<Option<Result<Submitted, Refused>>> = (0..items.len()).map(|_| None).collect();
    let mut parsed: Vec<(usize, Event)> = Vec::with_capacity(items.len());
    for (i, json) in items.iter().enumerate() {
        match Event::from_json(json) {
            Ok(e) => parsed.push((i, e)),
            Err(e) => {
                out[i] = Some(Err(Refused {
                    id: None,
                    error: ApiError::event(e, json),
                }))
            }
        }
    }
    let events: Vec<Event> = parsed.iter().map(|(_, e)| e.clone()).collect();
    let results = state.chain.submit_many(events, now_ms());
    for ((i, event), result) in parsed.into_iter().zip(results) {
        out[i] = Some(settle(state, event, result));
    }
    out.into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(Refused {
                    id: None,
                    error: ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "no result",
                    ),
                })
            })
        })
        .collect()
}

/// The answer for one admitted or known event.
fn settle(
    state: &ApiState,
    event: Event,
    result: Result<Submitted, crate::chain::SubmitError>,
) -> Result<Submitted, Refused> {
    let id = event.id();
    let refused = |error: ApiError| Refused {
        id: Some(id),
        error,
    };
    let submitted = result.map_err(|e| refused(ApiError::from(e)))?;
    if submitted.new {
        state.metrics.submitted(id, Instant::now());
        if let Some(tx) = &state.accepted {
            if tx.send(event).is_err() {
                tracing::debug!(%id, "gossip is not running; event accepted locally only");
            }
        }
        return Ok(submitted);
    }
    let recorded = state
        .chain
        .status(&id)
        .map_err(|e| refused(ApiError::from(e)))?;
    if let Some((status, known)) = recorded {
        if known.sig() != event.sig() {
            event
                .verify_signature()
                .map_err(|e| refused(ApiError::from(e)))?;
            let status = match status {
                EventStatus::Committed { index } => format!("committed at index {index}"),
                EventStatus::Pending => "pending".to_owned(),
            };
            return Err(refused(ApiError::new(
                StatusCode::CONFLICT,
                "duplicate",
                format!(
                    "sig: event {id} is already recorded ({status}) with another signature; \
                     the ledger keeps the first (GET /v1/events/{id})"
                ),
            )));
        }
    }
    Ok(submitted)
}

fn submit_one(state: &ApiState, json: &[u8]) -> Result<Submitted, Refused> {
    submit_items(state, &[json]).pop().unwrap_or_else(|| {
        Err(Refused {
            id: None,
            error: ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "no result"),
        })
    })
}

/// `POST /v1/events`.
pub(super) async fn submit(
    State(state): State<ApiState>,
    req: Request,
) -> Result<Response, ApiError> {
    let body = read_body(req, MAX_EVENT_JSON_BYTES, state.limits.body_timeout).await?;
    let submitted = blocking(move || submit_one(&state, &body))
        .await?
        .map_err(|r| r.error)?;
    let status = if submitted.new {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok(json(status, &StatusJson::of(&submitted)))
}

/// One result of a batch: a status, or an error (with the id if the event parsed).
#[derive(Debug, Serialize)]
struct BatchItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<EventId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    same_source_as: Option<EventId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
}

/// `POST /v1/events/batch`: each item is submitted independently, results in input order.
pub(super) async fn submit_batch(
    State(state): State<ApiState>,
    req: Request,
) -> Result<Response, ApiError> {
    let body = read_body(req, MAX_BATCH_BYTES, state.limits.body_timeout).await?;
    let results = blocking(move || {
        let items = batch::split_array(&body, MAX_BATCH_EVENTS)?;
        let results: Vec<BatchItem> = submit_items(&state, &items)
            .into_iter()
            .map(|result| match result {
                Ok(s) => {
                    let j = StatusJson::of(&s);
                    BatchItem {
                        id: Some(j.id),
                        status: Some(j.status),
                        index: j.index,
                        same_source_as: j.same_source_as,
                        error: None,
                    }
                }
                Err(r) => BatchItem {
                    id: r.id,
                    status: None,
                    index: None,
                    same_source_as: None,
                    error: Some(r.error.body()),
                },
            })
            .collect();
        Ok::<_, ApiError>(results)
    })
    .await??;
    #[derive(Serialize)]
    struct Results {
        results: Vec<BatchItem>,
    }
    Ok(json(StatusCode::OK, &Results { results }))
}

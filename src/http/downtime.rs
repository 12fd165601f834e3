//! Downtime: list, classify by operators, Pareto of minutes and occurrences by reason.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use crate::domain::andon::pareto as pareto_rows;
use crate::domain::snapshot::utc;
use crate::store::DowntimeFilter;

/// Longest span a Pareto may cover.
const MAX_SPAN_MS: i64 = 93 * 24 * 3_600_000;

/// Filters of the downtime list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    line: Option<String>,
    machine: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    reason: Option<String>,
    micro_stop: Option<bool>,
    limit: Option<i64>,
}

fn known(state: &AppState, line: Option<&str>, machine: Option<&str>) -> Result<(), ApiError> {
    let plant = state.plant.plant();
    if let Some(l) = line
        && plant.line(l).is_none()
    {
        return Err(ApiError::NotFound {
            what: "line",
            id: l.to_owned(),
        });
    }
    if let Some(m) = machine
        && plant.machine(m).is_none()
    {
        return Err(ApiError::NotFound {
            what: "machine",
            id: m.to_owned(),
        });
    }
    Ok(())
}

/// Downtime events, newest first (`micro_stop=true` lists only micro-stops).
#[get("/downtime")]
pub async fn list(state: web::Data<AppState>, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    known(&state, q.line.as_deref(), q.machine.as_deref())?;
    state.plant.flush().await;
    let filter = DowntimeFilter {
        line: q.line,
        machine: q.machine,
        from: q.from.map(|t| t.timestamp_millis()),
        to: q.to.map(|t| t.timestamp_millis()),
        reason: q.reason,
        micro_stop: q.micro_stop,
        limit: q.limit.unwrap_or(200).clamp(1, 5_000),
    };
    let events = state.store.downtime(&filter, state.clock.now_ms()).await?;
    Ok(HttpResponse::Ok().json(json!({ "downtime": events })))
}

/// The reason codes operators may classify with.
#[get("/downtime/reasons")]
pub async fn reasons(state: web::Data<AppState>) -> HttpResponse {
    let tree = &state.plant.plant().andon.reasons;
    HttpResponse::Ok().json(json!({ "tree": tree, "codes": tree.codes() }))
}

/// Body of a classification.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyBody {
    reason: String,
    #[serde(default)]
    comment: Option<String>,
    by: String,
}

/// Classifies (or reclassifies) a downtime event with a reason code.
#[post("/downtime/{id}/classify")]
pub async fn classify(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ClassifyBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (*id, body.into_inner());
    let tree = &state.plant.plant().andon.reasons;
    if !tree.contains(&b.reason) {
        return Err(ApiError::BadRequest {
            message: format!("`{}` is not a reason code; use one of the codes listed", b.reason),
            details: Some(json!({ "field": "reason", "codes": tree.codes() })),
        });
    }
    let by = b.by.trim();
    if by.is_empty() || by.chars().count() > 64 {
        return Err(ApiError::bad_request("`by` must be 1-64 characters"));
    }
    let comment = b.comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > 1_000) {
        return Err(ApiError::bad_request("`comment` may have at most 1000 characters"));
    }
    state.plant.flush().await;
    let now = state.clock.now_ms();
    if !state
        .store
        .classify_downtime(id, &b.reason, comment.as_deref(), by, now)
        .await?
    {
        return Err(ApiError::NotFound {
            what: "downtime event",
            id: id.to_string(),
        });
    }
    let event = state.store.downtime_event(id, now).await?;
    Ok(HttpResponse::Ok().json(event))
}

/// Pareto query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParetoQuery {
    line: Option<String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    #[serde(default)]
    include_micro: bool,
}

/// Minutes and occurrences of downtime by reason (classified reason where given).
#[get("/downtime/pareto")]
pub async fn pareto(state: web::Data<AppState>, q: web::Query<ParetoQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    known(&state, q.line.as_deref(), None)?;
    let (from, to) = (q.from.timestamp_millis(), q.to.timestamp_millis());
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`"));
    }
    if to - from > MAX_SPAN_MS {
        return Err(ApiError::bad_request("a Pareto may cover at most 93 days"));
    }
    state.plant.flush().await;
    let spans = state.store.downtime_spans(q.line.as_deref(), from, to).await?;
    let rows = pareto_rows(&spans, from, to, state.clock.now_ms(), q.include_micro);
    Ok(HttpResponse::Ok().json(json!({
        "line": q.line, "from": utc(from), "to": utc(to), "include_micro": q.include_micro, "reasons": rows,
    })))
}

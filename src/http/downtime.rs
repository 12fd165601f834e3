//! Downtime: list, classify by operators, Pareto of minutes and occurrences by reason.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::access::Caller;
use super::error::ApiError;
use super::openapi::{DowntimeList, ErrorBody, ParetoReport, ReasonCodes};
use super::query::ApiQuery;
use crate::domain::andon::pareto as pareto_rows;
use crate::domain::downtime_split::SplitError;
use crate::domain::flags::Flag;
use crate::domain::snapshot::utc;
use crate::store::DowntimeFilter;
use crate::store::DowntimeRecord;

/// Longest span a Pareto may cover.
const MAX_SPAN_MS: i64 = 93 * 24 * 3_600_000;

/// Filters of the downtime list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Line id.
    line: Option<String>,
    /// Machine id.
    machine: Option<String>,
    /// Events overlapping from this time on (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// … and before this time.
    to: Option<DateTime<Utc>>,
    /// Reason in force.
    reason: Option<String>,
    /// Only micro-stops (true) or only longer stops (false).
    micro_stop: Option<bool>,
    /// Most events (1-5000, default 200).
    limit: Option<i64>,
}

fn in_scope(caller: &Caller, state: &AppState, line: Option<&str>, machine: Option<&str>) -> Result<(), ApiError> {
    if let Some(l) = line {
        caller.require_line(l)?;
    }
    if let Some(m) = machine {
        caller.require_line(&super::production::lines::machine_line(state, m)?)?;
    }
    Ok(())
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
#[utoipa::path(get, path = "/api/v1/downtime", tag = "downtime", params(ListQuery),
    responses((status = 200, body = DowntimeList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    known(&state, q.line.as_deref(), q.machine.as_deref())?;
    in_scope(&caller, &state, q.line.as_deref(), q.machine.as_deref())?;
    state.plant.flush_everywhere().await;
    let filter = DowntimeFilter {
        lines: caller.principal.line_scope().map(<[String]>::to_vec),
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
#[utoipa::path(get, path = "/api/v1/downtime/reasons", tag = "downtime",
    responses((status = 200, body = ReasonCodes), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn reasons(state: web::Data<AppState>) -> HttpResponse {
    let tree = &state.plant.plant().andon.reasons;
    HttpResponse::Ok().json(json!({ "tree": tree, "codes": tree.codes() }))
}

/// Refuses a code that is not in the reason tree, listing the valid ones.
fn known_reason(state: &AppState, code: &str) -> Result<(), ApiError> {
    let tree = &state.plant.plant().andon.reasons;
    if tree.contains(code) {
        return Ok(());
    }
    Err(ApiError::BadRequest {
        message: format!("`{code}` is not a reason code; use one of the codes listed"),
        details: Some(json!({ "field": "reason", "codes": tree.codes() })),
    })
}

fn no_event(id: i64) -> ApiError {
    ApiError::NotFound {
        what: "downtime event",
        id: id.to_string(),
    }
}

/// The event `id` as it is now (pending writes flushed first), if the caller may see it.
async fn event_for(state: &AppState, caller: &Caller, id: i64, now: i64) -> Result<DowntimeRecord, ApiError> {
    state.plant.flush_everywhere().await;
    let event = state.store.downtime_event(id, now).await?.ok_or_else(|| no_event(id))?;
    caller.require_line(&event.line)?;
    Ok(event)
}

/// Body of a classification; who classified is the signed-in user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyBody {
    /// A reason code (`mechanical/belt`) from `/downtime/reasons`.
    reason: String,
    /// Optional comment (at most 1000 characters).
    #[serde(default)]
    comment: Option<String>,
}

/// Classifies (or reclassifies) a downtime event with a reason code.
#[utoipa::path(post, path = "/api/v1/downtime/{id}/classify", tag = "downtime", request_body = ClassifyBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; the same key and request within 24 h gets the first answer back and applies nothing"), ("id" = i64, Path, description = "downtime event id")),
    responses((status = 422, description = "the Idempotency-Key was used for another request", body = ErrorBody), (status = 200, body = DowntimeRecord), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn classify(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<ClassifyBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (*id, body.into_inner());
    known_reason(&state, &b.reason)?;
    let by = caller.principal.name();
    let comment = b.comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > 1_000) {
        return Err(ApiError::bad_request("`comment` may have at most 1000 characters"));
    }
    let now = state.clock.now_ms();
    let before = event_for(&state, &caller, id, now).await?;
    if !state
        .store
        .classify_downtime(id, &b.reason, comment.as_deref(), &by, now)
        .await?
    {
        return Err(no_event(id));
    }
    let event = state.store.downtime_event(id, now).await?;
    state
        .audit_by(
            &caller,
            "downtime.classify",
            Some(id.to_string()),
            json!({ "machine": before.machine, "from": before.reason, "to": b.reason, "comment": comment }),
        )
        .await;
    Ok(HttpResponse::Ok().json(event))
}

/// Body of a split: where the second cause began, and optionally its reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    /// The instant the second cause began (RFC 3339), strictly inside the stop.
    at: DateTime<Utc>,
    /// A reason code for the second part; absent: it keeps the automatic reason, to be
    /// classified later.
    #[serde(default)]
    reason: Option<String>,
}

/// The two parts of a split stop.
#[derive(Debug, Serialize, ToSchema)]
pub struct SplitParts {
    /// The first part: the event as it was, now ending at `at`.
    first: Option<DowntimeRecord>,
    /// The second part: a new event from `at` to the old end.
    second: Option<DowntimeRecord>,
}

/// Splits a stop in two at the moment its cause changed (a closed stop only).
#[utoipa::path(post, path = "/api/v1/downtime/{id}/split", tag = "downtime", request_body = SplitBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; the same key and request within 24 h gets the first answer back and applies nothing"), ("id" = i64, Path, description = "downtime event id")),
    responses((status = 422, description = "the Idempotency-Key was used for another request", body = ErrorBody), (status = 200, body = SplitParts),
        (status = 400, description = "`at` outside the stop, or an unknown reason", body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "the stop is still going on", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn split(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<SplitBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (*id, body.into_inner());
    if let Some(reason) = b.reason.as_deref() {
        known_reason(&state, reason)?;
    }
    let now = state.clock.now_ms();
    let before = event_for(&state, &caller, id, now).await?;
    let by = caller.principal.name();
    let at = b.at.timestamp_millis();
    let second = b.reason.as_deref().map(|r| (r, by.as_str()));
    let new_id = match state.store.split_downtime(id, at, second, now).await? {
        None => return Err(no_event(id)),
        Some(Err(SplitError::StillOpen)) => return Err(ApiError::Conflict(SplitError::StillOpen.to_string())),
        Some(Err(e @ SplitError::Outside)) => {
            return Err(ApiError::BadRequest {
                message: e.to_string(),
                details: Some(json!({ "field": "at", "start": before.start, "end": before.end })),
            });
        }
        Some(Ok(new_id)) => new_id,
    };
    let parts = SplitParts {
        first: state.store.downtime_event(id, now).await?,
        second: state.store.downtime_event(new_id, now).await?,
    };
    state
        .audit_by(
            &caller,
            "downtime.split",
            Some(id.to_string()),
            json!({ "machine": before.machine, "at": b.at, "second": new_id, "reason": b.reason }),
        )
        .await;
    Ok(HttpResponse::Ok().json(parts))
}

/// Pareto query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParetoQuery {
    /// Line id (required for callers limited to some lines); absent: the whole plant.
    line: Option<String>,
    /// Start (RFC 3339).
    from: DateTime<Utc>,
    /// End (RFC 3339), at most 93 days after `from`.
    to: DateTime<Utc>,
    /// Count micro-stops too.
    #[serde(default)]
    include_micro: bool,
}

/// Minutes and occurrences of downtime by reason (classified reason where given); part
/// of `advanced_analytics`.
#[utoipa::path(get, path = "/api/v1/downtime/pareto", tag = "downtime", params(ParetoQuery),
    responses((status = 200, body = ParetoReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "not the caller's line, or advanced_analytics is off", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn pareto(
    state: web::Data<AppState>,
    caller: Caller,
    q: ApiQuery<ParetoQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    if !state.flags.get(Flag::AdvancedAnalytics) {
        return Err(ApiError::FeatureDisabled(
            "the Pareto is part of advanced_analytics, which an admin has turned off".into(),
        ));
    }
    known(&state, q.line.as_deref(), None)?;
    match q.line.as_deref() {
        Some(l) => caller.require_line(l)?,
        None if caller.principal.line_scope().is_some() => {
            return Err(ApiError::Forbidden("you are limited to some lines: pass `line`".into()));
        }
        None => {}
    }
    let (from, to) = (q.from.timestamp_millis(), q.to.timestamp_millis());
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`"));
    }
    if to - from > MAX_SPAN_MS {
        return Err(ApiError::bad_request("a Pareto may cover at most 93 days"));
    }
    state.plant.flush_everywhere().await;
    let spans = state.store.downtime_spans(q.line.as_deref(), from, to).await?;
    let rows = pareto_rows(&spans, from, to, state.clock.now_ms(), q.include_micro);
    Ok(HttpResponse::Ok().json(json!({
        "line": q.line, "from": utc(from), "to": utc(to), "include_micro": q.include_micro, "reasons": rows,
    })))
}

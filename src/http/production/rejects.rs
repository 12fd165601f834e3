//! Manual rejects: the defect tree of a line, logging a reject, listing, showing and
//! voiding. A logged reject (or its void) is written to the store first, which is where
//! every past span reads it, and then applied to the machine's live windows, so the board
//! and `?from=&to=` agree.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::domain::EpochMs;
use crate::domain::plant::MachineIdx;
use crate::domain::production::rejects::{
    CountSpan, MAX_TEXT_CHARS, RejectError, check_quantity, check_time, correction, void_correction,
};
use crate::domain::snapshot::utc;
use crate::domain::tally::Tally;
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::body::typed;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::ApiQuery;
use crate::store::{Logged, NewReject, RejectFilter, RejectRecord, Voided};

/// A line's defect codes.
#[derive(Debug, Serialize, ToSchema)]
pub struct DefectCodes {
    /// The line.
    line: String,
    /// Category → specific defects.
    #[schema(value_type = Object)]
    tree: Value,
    /// Every code a reject may be logged with (`category` or `category/defect`).
    codes: Vec<String>,
}

/// Manual rejects.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectList {
    /// Latest `at` first.
    rejects: Vec<RejectRecord>,
}

/// Body of a reject; who logged it is the signed-in user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogBody {
    /// Machine id.
    machine: String,
    /// A code of the machine's line's defect tree (`GET /lines/{id}/defects`).
    defect: String,
    /// Parts found bad, 1 or more (at most the machine's good parts in the shift of `at`).
    quantity: i64,
    /// Optional note (at most 1000 characters).
    #[serde(default)]
    note: Option<String>,
    /// When the parts were made or found, RFC 3339; now when left out; at most 24 h ago.
    #[serde(default)]
    #[schema(format = DateTime)]
    at: Option<String>,
}

/// Body of a void.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    /// Why the entry is wrong (1-1000 characters).
    reason: String,
}

fn field_error(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        message: message.into(),
        details: Some(json!({ "field": field })),
    }
}

/// Trims a text field: empty is none; longer than [`MAX_TEXT_CHARS`] is a 400.
fn text(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT_CHARS) {
        return Err(field_error(
            field,
            format!("`{field}` may have at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(value)
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound {
        what: "reject",
        id: id.to_string(),
    }
}

/// Brings a machine's live windows in line with a correction the store holds already.
async fn apply_live(state: &AppState, machine: MachineIdx, at: EpochMs, tally: Tally) {
    if !state.plant.correct_parts(machine, at, tally).await {
        tracing::warn!(
            machine,
            "machine actor did not take a reject correction; it counts again after a restart"
        );
    }
}

/// The defect codes rejects on a line are logged with.
#[utoipa::path(get, path = "/api/v1/lines/{id}/defects", tag = "rejects",
    params(("id" = String, Path, description = "line id")),
    responses((status = 200, body = DefectCodes), (status = 401, body = ErrorBody),
        (status = 403, description = "not one of the caller's lines", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn defects(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let plant = state.plant.plant();
    let Some((_, line)) = plant.line(&id) else {
        return Err(ApiError::NotFound {
            what: "line",
            id: id.into_inner(),
        });
    };
    caller.require_line(&line.id)?;
    Ok(HttpResponse::Ok().json(DefectCodes {
        line: line.id.clone(),
        tree: json!(line.defects),
        codes: line.defects.codes(),
    }))
}

/// Logs manual rejects: parts the PLC counted good that a person found bad. Good parts of
/// the machine go down by `quantity` at `at` in every window.
#[utoipa::path(post, path = "/api/v1/rejects", tag = "rejects", request_body = LogBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; the same key and request within 24 h gets the first answer back and applies nothing")),
    responses((status = 422, description = "the Idempotency-Key was used for another request", body = ErrorBody), (status = 201, body = RejectRecord),
        (status = 400, description = "a field is wrong (named in `details.field`), or more parts than the machine has good", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn log(state: web::Data<AppState>, caller: Caller, body: web::Json<Value>) -> Result<HttpResponse, ApiError> {
    let b: LogBody = typed(body.into_inner())?;
    let plant = state.plant.plant().clone();
    let Some((idx, machine)) = plant.machine(&b.machine) else {
        return Err(field_error("machine", format!("no machine `{}`", b.machine)));
    };
    let line = &plant.lines[machine.line];
    caller.require_line(&line.id)?;
    state.written_here(&line.id, "rejects")?;
    if !line.defects.contains(&b.defect) {
        return Err(ApiError::BadRequest {
            message: format!(
                "`defect`: `{}` is not a defect code of line `{}`; use one of the codes listed",
                b.defect, line.id
            ),
            details: Some(json!({ "field": "defect", "codes": line.defects.codes() })),
        });
    }
    check_quantity(b.quantity).map_err(|e| field_error("quantity", e.to_string()))?;
    let note = text("note", b.note)?;
    let now = state.clock.now_ms();
    let at = match &b.at {
        None => now,
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|e| field_error("at", format!("`at` must be an RFC 3339 time, got `{s}` ({e})")))?,
    };
    check_time(at, now).map_err(|e| field_error("at", e.to_string()))?;
    // Parts still in the telemetry writer's hands count as made.
    state.plant.flush_everywhere().await;
    let span = CountSpan::of(&plant.calendar, at);
    let new = NewReject {
        line: line.id.clone(),
        machine: machine.id.clone(),
        defect: b.defect,
        quantity: b.quantity,
        note,
        at,
        by: caller.principal.name(),
        now,
    };
    let record = match state.store.log_reject(&new, span.from, span.to).await? {
        Logged::Yes(record) => *record,
        Logged::NotEnoughGood(good) => {
            let err = RejectError::more_than_good(new.quantity, good, &new.machine, &span);
            return Err(ApiError::BadRequest {
                message: err.to_string(),
                details: Some(json!({
                    "field": "quantity", "good": good.max(0),
                    "span": { "shift": span.shift, "from": utc(span.from), "to": utc(span.to) },
                })),
            });
        }
    };
    apply_live(&state, idx, at, correction(record.quantity)).await;
    state
        .audit_by(
            &caller,
            "reject.log",
            Some(record.id.to_string()),
            json!({ "line": record.line, "machine": record.machine, "defect": record.defect,
                    "quantity": record.quantity, "at": record.at, "note": record.note }),
        )
        .await;
    Ok(HttpResponse::Created().json(record))
}

/// Filters of the reject list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Line id.
    line: Option<String>,
    /// Machine id.
    machine: Option<String>,
    /// A defect code, or a category (its `category/…` codes match too).
    defect: Option<String>,
    /// `at` from this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// … and before this time.
    to: Option<DateTime<Utc>>,
    /// Voided entries too (default false).
    include_void: Option<bool>,
    /// Most entries (1-1000, default 100).
    limit: Option<i64>,
}

/// Manual rejects, latest `at` first (the caller's lines).
#[utoipa::path(get, path = "/api/v1/rejects", tag = "rejects", params(ListQuery),
    responses((status = 200, body = RejectList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "unknown line or machine", body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let plant = state.plant.plant();
    if let Some(line) = &q.line {
        let (_, l) = plant.line(line).ok_or_else(|| ApiError::NotFound {
            what: "line",
            id: line.clone(),
        })?;
        caller.require_line(&l.id)?;
    }
    if let Some(machine) = &q.machine {
        let (_, m) = plant.machine(machine).ok_or_else(|| ApiError::NotFound {
            what: "machine",
            id: machine.clone(),
        })?;
        caller.require_line(&m.line_id)?;
    }
    let (from, to) = (q.from.map(|t| t.timestamp_millis()), q.to.map(|t| t.timestamp_millis()));
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(ApiError::BadRequest {
            message: "`from` must be before `to`".into(),
            details: Some(json!({ "parameter": "from" })),
        });
    }
    let filter = RejectFilter {
        lines: caller.principal.line_scope().map(<[String]>::to_vec),
        line: q.line,
        machine: q.machine,
        defect: q.defect,
        from,
        to,
        include_void: q.include_void.unwrap_or(false),
        limit: q.limit.unwrap_or(100).clamp(1, 1_000),
    };
    let rejects = state.store.rejects(&filter).await?;
    Ok(HttpResponse::Ok().json(RejectList { rejects }))
}

/// One manual reject.
#[utoipa::path(get, path = "/api/v1/rejects/{id}", tag = "rejects",
    params(("id" = i64, Path, description = "reject id")),
    responses((status = 200, body = RejectRecord), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let record = state.store.reject(*id).await?.ok_or_else(|| not_found(*id))?;
    caller.require_line(&record.line)?;
    Ok(HttpResponse::Ok().json(record))
}

/// Voids a manual reject (supervisors and up): the entry is kept, marked void with who,
/// when and why, and its parts count as good again.
#[utoipa::path(post, path = "/api/v1/rejects/{id}/void", tag = "rejects", request_body = VoidBody,
    params(("id" = i64, Path, description = "reject id")),
    responses((status = 200, body = RejectRecord), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "voided already", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn void(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let b: VoidBody = typed(body.into_inner())?;
    let reason = text("reason", Some(b.reason))?
        .ok_or_else(|| field_error("reason", "`reason` must say why the entry is void (1-1000 characters)"))?;
    let before = state.store.reject(id).await?.ok_or_else(|| not_found(id))?;
    caller.require_line(&before.line)?;
    state.written_here(&before.line, "rejects")?;
    let by = caller.principal.name();
    let record = match state.store.void_reject(id, &by, &reason, state.clock.now_ms()).await? {
        Voided::Yes(record) => record,
        Voided::NotFound => return Err(not_found(id)),
        Voided::Already(r) => {
            let (by, at, why) = r
                .void
                .map(|v| (v.by, v.at.to_rfc3339_opts(SecondsFormat::AutoSi, true), v.reason))
                .unwrap_or_default();
            return Err(ApiError::Conflict(format!(
                "reject {id} is {} already (by {by} at {at}: {why}); it cannot be voided again",
                r.state
            )));
        }
    };
    if let Some((idx, _)) = state.plant.plant().machine(&record.machine) {
        apply_live(&state, idx, record.at_ms(), void_correction(record.quantity)).await;
    }
    state
        .audit_by(
            &caller,
            "reject.void",
            Some(id.to_string()),
            json!({ "line": record.line, "machine": record.machine, "defect": record.defect,
                    "quantity": record.quantity, "at": record.at, "reason": reason }),
        )
        .await;
    Ok(HttpResponse::Ok().json(record))
}

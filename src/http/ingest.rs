//! `POST /api/v1/ingest`: a batch of tag samples from another system (or a test), with
//! explicit timestamps. The whole batch is checked first: a malformed batch is refused
//! with a 400 naming the sample, and nothing of it is applied.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::error::ApiError;
use crate::domain::tag::{Quality, TagUpdate, TagValue};

/// Most samples in one request.
pub const MAX_SAMPLES: usize = 10_000;

/// One sample as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestSample {
    /// Tag name from the plant model.
    tag: String,
    /// Boolean or number.
    #[schema(value_type = Object)]
    value: Value,
    /// RFC 3339 string or epoch milliseconds; absent: now.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    ts: Option<Value>,
    /// good (default), uncertain or bad.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    quality: Option<Quality>,
}

fn bad(index: usize, message: String) -> ApiError {
    ApiError::BadRequest {
        message: format!("sample {index}: {message}"),
        details: Some(serde_json::json!({ "index": index })),
    }
}

/// Converts a JSON value; `None` for types no tag can hold (they are counted, not fatal).
fn tag_value(v: &Value) -> Option<TagValue> {
    match v {
        Value::Bool(b) => Some(TagValue::Bool(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(TagValue::Int)
            .or_else(|| n.as_f64().map(TagValue::Float)),
        _ => None,
    }
}

fn timestamp(index: usize, ts: &Option<Value>, now: i64) -> Result<i64, ApiError> {
    match ts {
        None | Some(Value::Null) => Ok(now),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc).timestamp_millis())
            .map_err(|e| bad(index, format!("`ts` must be RFC 3339 or epoch milliseconds ({e})"))),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| bad(index, "`ts` in epoch milliseconds must be a whole number".into())),
        Some(_) => Err(bad(index, "`ts` must be RFC 3339 or epoch milliseconds".into())),
    }
}

/// Ingests a batch of tag samples and reports what became of it.
#[utoipa::path(post, path = "/api/v1/ingest", tag = "ingest", request_body = Vec<IngestSample>,
    responses((status = 200, description = "what was applied, and what was not and why", body = crate::actors::plant::IngestReport),
        (status = 400, body = super::openapi::ErrorBody), (status = 401, body = super::openapi::ErrorBody),
        (status = 403, body = super::openapi::ErrorBody), (status = 413, body = super::openapi::ErrorBody),
        (status = 503, description = "maintenance mode", body = super::openapi::ErrorBody)),
    security(("bearer" = []), ("ingest_token" = [])))]
pub async fn ingest(
    state: web::Data<AppState>,
    caller: super::access::Caller,
    body: web::Json<Vec<IngestSample>>,
) -> Result<HttpResponse, ApiError> {
    let samples = body.into_inner();
    if samples.len() > MAX_SAMPLES {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_SAMPLES} samples per request"
        )));
    }
    // An engineer limited to some lines feeds only their machines; nothing of a batch
    // with another line's tag is applied.
    if caller.principal.line_scope().is_some() {
        let plant = state.plant.plant();
        for (i, s) in samples.iter().enumerate() {
            if let Some((machine, _)) = plant.tags.get(&s.tag) {
                let line = &plant.lines[plant.machines[*machine].line].id;
                if !caller.principal.sees_line(line) {
                    return Err(ApiError::Forbidden(format!(
                        "sample {i}: tag `{}` belongs to line `{line}`, which you are not assigned to",
                        s.tag
                    )));
                }
            }
        }
    }
    let now = state.clock.now_ms();
    let mut updates = Vec::with_capacity(samples.len());
    let mut wrong_type = 0;
    for (i, s) in samples.iter().enumerate() {
        let ts = timestamp(i, &s.ts, now)?;
        if s.tag.is_empty() {
            return Err(bad(i, "`tag` is empty".into()));
        }
        match tag_value(&s.value) {
            Some(value) => updates.push(TagUpdate {
                tag: s.tag.clone(),
                value,
                ts,
                quality: s.quality.unwrap_or_default(),
            }),
            None => wrong_type += 1,
        }
    }
    let mut report = state.ingest.deliver_and_report(updates).await;
    if wrong_type > 0 {
        metrics::counter!(crate::metrics::TAG_REJECTED, "source" => "ingest", "reason" => "wrong_value")
            .increment(wrong_type as u64);
    }
    report.received += wrong_type;
    report.wrong_value += wrong_type;
    Ok(HttpResponse::Ok().json(report))
}

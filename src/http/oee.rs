//! OEE of a line or machine over a live window (`?window=shift`) or any past span
//! (`?from=&to=`), the latter recomputed from stored events by the same domain code.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::access::Caller;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::query::ApiQuery;
use crate::domain::EpochMs;
use crate::domain::flags::Flag;
use crate::domain::oee::{OeeFigures, compute};
use crate::domain::snapshot::utc;
use crate::domain::window::WindowName;

/// Longest span a past-window query may cover.
const MAX_SPAN_MS: EpochMs = 31 * 24 * 3_600_000;

/// Query parameters: `window`, or `from` and `to`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OeeQuery {
    /// Live window: 15m, 1h, 8h, shift (default), today.
    window: Option<String>,
    /// Start of a past span, RFC 3339.
    from: Option<String>,
    /// End of a past span, RFC 3339 (at most 31 days after `from`).
    to: Option<String>,
}

/// What was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OeeRequest {
    /// A live window.
    Live(WindowName),
    /// A past span `[from, to)`.
    Past {
        /// Start.
        from: EpochMs,
        /// End.
        to: EpochMs,
    },
}

fn instant(name: &str, value: &str) -> Result<EpochMs, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc).timestamp_millis())
        .map_err(|e| {
            let hint = if value.contains(' ') {
                super::query::TIME_PLUS_HINT
            } else {
                ""
            };
            ApiError::BadRequest {
                message: format!(
                    "`{name}` must be an RFC 3339 time, got `{value}` ({e}); e.g. `{name}=2026-11-23T06:00:00Z`{hint}"
                ),
                details: Some(
                    serde_json::json!({ "parameter": name, "value": value, "example": "2026-11-23T06:00:00Z" }),
                ),
            }
        })
}

impl OeeRequest {
    /// Past spans are advanced analytics.
    pub fn allowed(&self, state: &AppState) -> Result<(), ApiError> {
        if matches!(self, OeeRequest::Past { .. }) && !state.flags.get(Flag::AdvancedAnalytics) {
            return Err(ApiError::FeatureDisabled(
                "past-span OEE is part of advanced_analytics, which an admin has turned off".into(),
            ));
        }
        Ok(())
    }

    /// Parses the query: either `window`, or both `from` and `to`.
    pub fn parse(q: &OeeQuery) -> Result<OeeRequest, ApiError> {
        match (&q.window, &q.from, &q.to) {
            (Some(w), None, None) => WindowName::parse(w)
                .map(OeeRequest::Live)
                .ok_or_else(|| ApiError::BadRequest {
                    message: format!("`window` must be one of 15m, 1h, 8h, shift, today (got `{w}`)"),
                    details: Some(serde_json::json!({ "parameter": "window", "value": w })),
                }),
            (None, Some(from), Some(to)) => {
                let (from, to) = (instant("from", from)?, instant("to", to)?);
                if from >= to {
                    return Err(ApiError::bad_request("`from` must be before `to`"));
                }
                if to - from > MAX_SPAN_MS {
                    return Err(ApiError::bad_request("a span may cover at most 31 days"));
                }
                Ok(OeeRequest::Past { from, to })
            }
            (None, None, None) => Ok(OeeRequest::Live(WindowName::Shift)),
            (Some(_), _, _) => Err(ApiError::bad_request(
                "give either `window` or `from` and `to`, not both",
            )),
            _ => Err(ApiError::bad_request("`from` and `to` go together")),
        }
    }
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct OeeResponse {
    /// `line` or `machine`.
    pub scope: &'static str,
    /// Its id.
    pub id: String,
    /// The live window, if one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowName>,
    /// Start of a past span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// End of a past span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    /// The figures.
    pub oee: OeeFigures,
}

/// OEE of a line: a live window, or any past span (`advanced_analytics`).
#[utoipa::path(get, path = "/api/v1/lines/{id}/oee", tag = "oee",
    params(("id" = String, Path, description = "line id"), OeeQuery),
    responses((status = 200, body = OeeResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "not one of the caller's lines, or advanced_analytics is off", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn line_oee(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: ApiQuery<OeeQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = OeeRequest::parse(&q)?;
    let plant = state.plant.plant().clone();
    let Some((line_idx, _)) = plant.line(&id) else {
        return Err(ApiError::NotFound {
            what: "line",
            id: id.into_inner(),
        });
    };
    caller.require_line(&id)?;
    request.allowed(&state)?;
    let response = match request {
        OeeRequest::Live(window) => {
            let snapshot = state
                .plant
                .line(&id)
                .await
                .ok_or_else(|| ApiError::Unavailable("line actor not answering".into()))?;
            OeeResponse {
                scope: "line",
                id: id.into_inner(),
                window: Some(window),
                from: None,
                to: None,
                oee: snapshot.windows[window.as_str()].clone(),
            }
        }
        OeeRequest::Past { from, to } => {
            state.plant.flush_everywhere().await;
            let tally = state.store.line_tally(&plant, line_idx, from, to).await?;
            OeeResponse {
                scope: "line",
                id: id.into_inner(),
                window: None,
                from: Some(utc(from)),
                to: Some(utc(to)),
                oee: compute(&tally),
            }
        }
    };
    Ok(HttpResponse::Ok().json(response))
}

/// OEE of a machine: a live window, or any past span (`advanced_analytics`).
#[utoipa::path(get, path = "/api/v1/machines/{id}/oee", tag = "oee",
    params(("id" = String, Path, description = "machine id"), OeeQuery),
    responses((status = 200, body = OeeResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "not one of the caller's lines, or advanced_analytics is off", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn machine_oee(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: ApiQuery<OeeQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = OeeRequest::parse(&q)?;
    caller.require_line(&super::production::lines::machine_line(&state, &id)?)?;
    request.allowed(&state)?;
    let Some((idx, _)) = state.plant.plant().machine(&id) else {
        return Err(ApiError::NotFound {
            what: "machine",
            id: id.into_inner(),
        });
    };
    let response = match request {
        OeeRequest::Live(window) => {
            let snapshot = state
                .plant
                .machine(&id)
                .await
                .ok_or_else(|| ApiError::Unavailable("machine actor not answering".into()))?;
            OeeResponse {
                scope: "machine",
                id: id.into_inner(),
                window: Some(window),
                from: None,
                to: None,
                oee: snapshot.windows[window.as_str()].clone(),
            }
        }
        OeeRequest::Past { from, to } => {
            state.plant.flush_everywhere().await;
            let tally = state
                .store
                .machine_tally(state.plant.plant(), idx, from, to, true, true)
                .await?;
            OeeResponse {
                scope: "machine",
                id: id.into_inner(),
                window: None,
                from: Some(utc(from)),
                to: Some(utc(to)),
                oee: compute(&tally),
            }
        }
    };
    Ok(HttpResponse::Ok().json(response))
}

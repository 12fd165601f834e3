//! Shift, day and week reports per line (or every line the caller sees), as JSON, CSV
//! (`Accept: text/csv` or `format=csv`) or a print view (`format=html`); supervisors
//! regenerate a past shift's stored report.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::domain::production::period::{
    Period, PeriodError, day_period, parse_date, parse_week, shift_period, week_period,
};
use crate::domain::production::report::Report;
use crate::domain::production::{report_csv, report_html};
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::ApiQuery;

/// How a report is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json` (the default).
    Json,
    /// `text/csv`, RFC 4180.
    Csv,
    /// `text/html`, a page per line at A4 landscape.
    Html,
}

/// The format asked for: `format=json|csv|html`, else `Accept: text/csv`, else JSON.
pub fn format_of(req: &HttpRequest, format: Option<&str>) -> Result<Format, ApiError> {
    match format {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("html") => Ok(Format::Html),
        Some(other) => Err(ApiError::BadRequest {
            message: format!("`format` must be json, csv or html, got `{other}`; e.g. `format=csv`"),
            details: Some(json!({ "parameter": "format", "value": other, "example": "csv" })),
        }),
        None => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let csv = accept.split(',').any(|m| {
                m.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
            });
            Ok(if csv { Format::Csv } else { Format::Json })
        }
    }
}

/// A file name for a report: `ms5-night-2026-11-27.csv`.
fn file_name(report: &Report, ext: &str) -> String {
    let safe: String = report
        .period
        .label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .collect();
    format!("ms5-{safe}.{ext}")
}

/// Answers with the report in the format asked for.
pub fn respond(report: &Report, format: Format, tz: Tz) -> Result<HttpResponse, ApiError> {
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(report),
        Format::Csv => {
            let text = report_csv::to_csv(report, tz).map_err(|e| ApiError::Unavailable(e.to_string()))?;
            HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8; header=present")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", file_name(report, "csv")),
                ))
                .body(text)
        }
        Format::Html => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header(("Content-Security-Policy", report_html::content_security_policy()))
            .body(report_html::to_html(report, tz)),
    })
}

/// A 400 for a period parameter (or body field, when `field`), a 404 for a shift that
/// does not run on the date.
pub fn period_error(e: PeriodError, field: bool) -> ApiError {
    let (name, value, example) = match &e {
        PeriodError::BadDate(v) => ("date", v.clone(), "2026-11-27"),
        PeriodError::BadWeek(v) => ("week", v.clone(), "2026-W48"),
        PeriodError::UnknownShift { name, .. } => ("shift", name.clone(), "night"),
        PeriodError::NoOccurrence { shift, date } => {
            return ApiError::NotFound {
                what: "shift occurrence",
                id: format!("{shift} {date}"),
            };
        }
    };
    let key = if field { "field" } else { "parameter" };
    ApiError::BadRequest {
        message: e.to_string(),
        details: Some(json!({ key: name, "value": value, "example": example })),
    }
}

/// The lines a report covers: `line` (404 if unknown, 403 if not the caller's), or every
/// line the caller sees, as plant indices.
pub fn lines_for(state: &AppState, caller: &Caller, line: Option<&str>) -> Result<Vec<usize>, ApiError> {
    let plant = state.plant.plant();
    match line {
        Some(id) => {
            let (idx, _) = plant.line(id).ok_or_else(|| ApiError::NotFound {
                what: "line",
                id: id.to_owned(),
            })?;
            caller.require_line(id)?;
            Ok(vec![idx])
        }
        None => Ok((0..plant.lines.len())
            .filter(|&i| caller.principal.sees_line(&plant.lines[i].id))
            .collect()),
    }
}

/// A period that has not begun has nothing to report.
fn started(state: &AppState, period: &Period) -> Result<(), ApiError> {
    if period.from_ms() > state.clock.now_ms() {
        return Err(ApiError::Conflict(format!(
            "{} starts at {}: there is nothing to report yet",
            period.label, period.from_local
        )));
    }
    Ok(())
}

/// Which shift occurrence.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ShiftQuery {
    /// Line id; absent: every line the caller sees.
    line: Option<String>,
    /// Plant-local date the shift starts on, e.g. 2026-11-27 (a night shift from 22:00
    /// belongs to the day it starts).
    date: String,
    /// The shift's name, as in the plant model, e.g. `night`.
    shift: String,
    /// json (default), csv or html; `Accept: text/csv` also gives CSV.
    format: Option<String>,
}

/// The report of one shift: stored when the shift ended (or regenerated since), else
/// made now; a shift under way is reported up to now (`partial`).
#[utoipa::path(get, path = "/api/v1/reports/shift", tag = "reports", params(ShiftQuery),
    responses((status = 200, body = Report, description = "JSON; text/csv or text/html when asked"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "no such line, or the shift does not run that day", body = ErrorBody),
        (status = 409, description = "the shift has not started", body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn shift(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: ApiQuery<ShiftQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = format_of(&req, q.format.as_deref())?;
    let cal = &state.plant.plant().calendar;
    let date = parse_date(&q.date).map_err(|e| period_error(e, false))?;
    let period = shift_period(cal, &q.shift, date).map_err(|e| period_error(e, false))?;
    let lines = lines_for(&state, &caller, q.line.as_deref())?;
    started(&state, &period)?;
    let report = state.reports.shift_report(&period, &lines).await?;
    respond(&report, format, cal.tz())
}

/// Which day.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// Line id; absent: every line the caller sees.
    line: Option<String>,
    /// Plant-local date, e.g. 2026-11-27 (midnight to midnight, 23 or 25 h on DST days).
    date: String,
    /// json (default), csv or html; `Accept: text/csv` also gives CSV.
    format: Option<String>,
}

/// The report of one plant-local day, made now.
#[utoipa::path(get, path = "/api/v1/reports/day", tag = "reports", params(DayQuery),
    responses((status = 200, body = Report, description = "JSON; text/csv or text/html when asked"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the day has not started", body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn day(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: ApiQuery<DayQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = format_of(&req, q.format.as_deref())?;
    let cal = &state.plant.plant().calendar;
    let date = parse_date(&q.date).map_err(|e| period_error(e, false))?;
    let period = day_period(cal, date);
    let lines = lines_for(&state, &caller, q.line.as_deref())?;
    started(&state, &period)?;
    let report = state.reports.compute(&period, &lines).await?;
    respond(&report, format, cal.tz())
}

/// Which week.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WeekQuery {
    /// Line id; absent: every line the caller sees.
    line: Option<String>,
    /// ISO week, e.g. 2026-W48 (Monday 00:00 to Monday 00:00, plant-local).
    week: String,
    /// json (default), csv or html; `Accept: text/csv` also gives CSV.
    format: Option<String>,
}

/// The report of one ISO week, made now.
#[utoipa::path(get, path = "/api/v1/reports/week", tag = "reports", params(WeekQuery),
    responses((status = 200, body = Report, description = "JSON; text/csv or text/html when asked"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the week has not started", body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn week(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: ApiQuery<WeekQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = format_of(&req, q.format.as_deref())?;
    let cal = &state.plant.plant().calendar;
    let monday = parse_week(&q.week).map_err(|e| period_error(e, false))?;
    let period = week_period(cal, monday);
    let lines = lines_for(&state, &caller, q.line.as_deref())?;
    started(&state, &period)?;
    let report = state.reports.compute(&period, &lines).await?;
    respond(&report, format, cal.tz())
}

/// A shift whose stored report is to be made again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegenerateBody {
    /// Line id; absent: every line the caller sees.
    #[serde(default)]
    line: Option<String>,
    /// Plant-local date the shift starts on, e.g. 2026-11-27.
    date: String,
    /// The shift's name.
    shift: String,
}

/// Makes a past shift's report again from the store and stores it in place of the
/// stored one (every line asked for, or none).
#[utoipa::path(post, path = "/api/v1/reports/shift/regenerate", tag = "reports", request_body = RegenerateBody,
    responses((status = 200, body = Report), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the shift has not ended", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn regenerate(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RegenerateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let cal = &state.plant.plant().calendar;
    let date = parse_date(&b.date).map_err(|e| period_error(e, true))?;
    let period = shift_period(cal, &b.shift, date).map_err(|e| period_error(e, true))?;
    let lines = lines_for(&state, &caller, b.line.as_deref())?;
    if period.to_ms() > state.clock.now_ms() {
        return Err(ApiError::Conflict(format!(
            "{} ends at {}: its report can be made again once it has ended",
            period.label, period.to_local
        )));
    }
    let report = state
        .reports
        .regenerate(&period, &lines, &caller.principal.name())
        .await?;
    let ids: Vec<&str> = report.lines.iter().map(|l| l.id.as_str()).collect();
    state
        .audit_by(
            &caller,
            "report.regenerate",
            Some(period.label.clone()),
            json!({ "shift": b.shift, "date": period.date, "lines": ids, "from": period.from, "to": period.to }),
        )
        .await;
    Ok(HttpResponse::Ok().json(report))
}

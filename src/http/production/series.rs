//! A line's OEE as a series for trend charts: 15-minute or hourly buckets starting on the
//! plant-local wall clock, each exactly `GET /api/v1/lines/{id}/oee?from=&to=` over its
//! bucket (the store read once, each bucket tallied by the same code).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::reports::{Format, format_of};
use crate::domain::EpochMs;
use crate::domain::oee::{OeeFigures, compute};
use crate::domain::production::bucket::{Bucket, buckets};
use crate::domain::production::period::local_time;
use crate::domain::snapshot::utc;
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::ApiQuery;

/// Longest span of a series.
const MAX_SPAN_MS: EpochMs = 31 * 24 * 3_600_000;

/// The span and the bucket width.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// Start (RFC 3339).
    from: DateTime<Utc>,
    /// End (RFC 3339), at most 31 days after `from`.
    to: DateTime<Utc>,
    /// 15m or 1h (default).
    bucket: Option<String>,
    /// json (default) or csv; `Accept: text/csv` also gives CSV.
    format: Option<String>,
}

/// One bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesPoint {
    /// Start.
    #[schema(value_type = String)]
    pub from: DateTime<Utc>,
    /// End (exclusive).
    #[schema(value_type = String)]
    pub to: DateTime<Utc>,
    /// Start, plant-local with its offset.
    pub from_local: String,
    /// The figures over the bucket.
    pub oee: OeeFigures,
}

/// A line's OEE bucket by bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct OeeSeries {
    /// Line id.
    pub line: String,
    /// 15m or 1h.
    pub bucket: Bucket,
    /// Start.
    #[schema(value_type = String)]
    pub from: DateTime<Utc>,
    /// End.
    #[schema(value_type = String)]
    pub to: DateTime<Utc>,
    /// The plant's time zone.
    pub time_zone: String,
    /// The buckets, oldest first; the first and last are cut to the span.
    pub points: Vec<SeriesPoint>,
}

fn to_csv(series: &OeeSeries) -> Result<String, ApiError> {
    let fail = |e: String| ApiError::Unavailable(format!("cannot write CSV: {e}"));
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let header = [
        "line",
        "from",
        "to",
        "availability",
        "performance",
        "quality",
        "oee",
        "good",
        "reject",
        "total",
        "run_s",
        "down_s",
        "micro_stop_s",
        "planned_stop_s",
        "planned_production_s",
    ];
    w.write_record(header).map_err(|e| fail(e.to_string()))?;
    let tz = series.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for p in &series.points {
        let f = &p.oee;
        let row = [
            series.line.clone(),
            p.from_local.clone(),
            local_time(tz, p.to.timestamp_millis()),
            opt(f.availability),
            opt(f.performance),
            opt(f.quality),
            opt(f.oee),
            f.good.to_string(),
            f.reject.to_string(),
            f.total.to_string(),
            f.run_s.to_string(),
            f.down_s.to_string(),
            f.micro_stop_s.to_string(),
            f.planned_stop_s.to_string(),
            f.planned_production_s.to_string(),
        ];
        w.write_record(&row).map_err(|e| fail(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| fail(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| fail(e.to_string()))
}

/// A line's OEE in 15-minute or hourly buckets over a span.
#[utoipa::path(get, path = "/api/v1/lines/{id}/oee/series", tag = "reports",
    params(("id" = String, Path, description = "line id"), SeriesQuery),
    responses((status = 200, body = OeeSeries, description = "JSON; text/csv when asked"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn series(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    q: ApiQuery<SeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let format = format_of(&req, q.format.as_deref())?;
    if format == Format::Html {
        return Err(ApiError::BadRequest {
            message: "`format` must be json or csv for a series, got `html`".into(),
            details: Some(json!({ "parameter": "format", "value": "html", "example": "csv" })),
        });
    }
    let bucket = match q.bucket.as_deref() {
        None => Bucket::H1,
        Some(b) => Bucket::parse(b).ok_or_else(|| ApiError::BadRequest {
            message: format!("`bucket` must be 15m or 1h, got `{b}`; e.g. `bucket=15m`"),
            details: Some(json!({ "parameter": "bucket", "value": b, "example": "15m" })),
        })?,
    };
    let (from, to) = (q.from.timestamp_millis(), q.to.timestamp_millis());
    if from >= to {
        return Err(ApiError::BadRequest {
            message: "`from` must be before `to`".into(),
            details: Some(json!({ "parameter": "to" })),
        });
    }
    if to - from > MAX_SPAN_MS {
        return Err(ApiError::BadRequest {
            message: "a series may cover at most 31 days".into(),
            details: Some(json!({ "parameter": "to" })),
        });
    }
    let plant = state.plant.plant().clone();
    let Some((line, _)) = plant.line(&id) else {
        return Err(ApiError::NotFound {
            what: "line",
            id: id.into_inner(),
        });
    };
    caller.require_line(&id)?;
    state.plant.flush_everywhere().await;
    let tz = plant.calendar.tz();
    let spans = buckets(tz, from, to, bucket.ms());
    let tallies = state.store.line_tallies(&plant, line, &spans).await?;
    let series = OeeSeries {
        line: id.into_inner(),
        bucket,
        from: utc(from),
        to: utc(to),
        time_zone: tz.name().to_owned(),
        points: spans
            .iter()
            .zip(&tallies)
            .map(|(&(a, b), t)| SeriesPoint {
                from: utc(a),
                to: utc(b),
                from_local: local_time(tz, a),
                oee: compute(t),
            })
            .collect(),
    };
    Ok(match format {
        Format::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8; header=present")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ms5-{}-oee-series.csv\"", series.line),
            ))
            .body(to_csv(&series)?),
        _ => HttpResponse::Ok().json(series),
    })
}

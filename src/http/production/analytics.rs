//! Loss analytics (behind `advanced_analytics`): MTBF and MTTR per machine and reason
//! with each machine's trend warning, the six big losses of a line, and one machine's
//! health. Spans are recomputed from the store by the same code as `?from=&to=` OEE.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::actors::trend_watch::judge;
use crate::domain::EpochMs;
use crate::domain::flags::Flag;
use crate::domain::history::tally_between;
use crate::domain::plant::MachineIdx;
use crate::domain::production::losses::{SixLosses, six_losses, startup_spans_with_jobs};
use crate::domain::production::maintenance::{OrderView, order_view};
use crate::domain::production::reliability::{Reliability, operating_ms, reliability};
use crate::domain::production::trend::TrendWarning;
use crate::domain::snapshot::utc;
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::ApiQuery;
use crate::store::OrderFilter;

/// Longest span an analytics query may cover.
const MAX_SPAN_MS: EpochMs = 93 * 24 * 3_600_000;

fn enabled(state: &AppState) -> Result<(), ApiError> {
    if state.flags.get(Flag::AdvancedAnalytics) {
        Ok(())
    } else {
        Err(ApiError::FeatureDisabled(
            "loss analytics are part of advanced_analytics, which an admin has turned off".into(),
        ))
    }
}

fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(EpochMs, EpochMs), ApiError> {
    let (from, to) = (from.timestamp_millis(), to.timestamp_millis());
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`"));
    }
    if to - from > MAX_SPAN_MS {
        return Err(ApiError::bad_request("a span may cover at most 93 days"));
    }
    Ok((from, to))
}

/// MTBF, MTTR and the trend warning of one machine.
#[derive(Debug, Serialize, ToSchema)]
pub struct MachineReliability {
    /// Machine id.
    machine: String,
    /// Its line.
    line: String,
    /// Display name.
    name: String,
    /// Over the span asked for.
    #[serde(flatten)]
    reliability: Reliability,
    /// As of now (not the span): failing much more often than its own baseline lately.
    trend_warning: TrendWarning,
}

/// MTBF and MTTR per machine and reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct MachineAnalytics {
    /// Start.
    from: DateTime<Utc>,
    /// End.
    to: DateTime<Utc>,
    /// The line asked for, if any.
    line: Option<String>,
    /// In plant order.
    machines: Vec<MachineReliability>,
}

/// Query of the machine analytics.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MachinesQuery {
    /// Start (RFC 3339).
    from: DateTime<Utc>,
    /// End (RFC 3339), at most 93 days after `from`.
    to: DateTime<Utc>,
    /// Only this line's machines (default: every machine of the caller's lines).
    line: Option<String>,
}

async fn judged(state: &AppState, idx: MachineIdx) -> Result<TrendWarning, ApiError> {
    let plant = state.plant.plant().clone();
    let settings = state.settings.analytics.trend();
    let warning = judge(&state.store, &plant, &settings, idx, state.clock.now_ms()).await?;
    state.plant.set_trend_warning(idx, Some(warning)).await;
    Ok(warning)
}

async fn machine_reliability(
    state: &AppState,
    idx: MachineIdx,
    from: EpochMs,
    to: EpochMs,
) -> Result<Reliability, ApiError> {
    let plant = state.plant.plant().clone();
    let id = &plant.machines[idx].id;
    let intervals = state.store.intervals(id, from, to).await?;
    let operating = operating_ms(&tally_between(&plant.calendar, &intervals, &[], from, to));
    let stops = state.store.stops_starting(id, from, to).await?;
    Ok(reliability(operating, &stops, from, to))
}

/// MTBF and MTTR per machine and downtime reason over a span, with each machine's trend
/// warning as of now (`advanced_analytics`).
#[utoipa::path(get, path = "/api/v1/analytics/machines", tag = "analytics", params(MachinesQuery),
    responses((status = 200, body = MachineAnalytics), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "not the caller's line, or advanced_analytics is off", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn machines(
    state: web::Data<AppState>,
    caller: Caller,
    q: ApiQuery<MachinesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    enabled(&state)?;
    let plant = state.plant.plant().clone();
    if let Some(l) = &q.line {
        plant.line(l).ok_or_else(|| ApiError::NotFound {
            what: "line",
            id: l.clone(),
        })?;
        caller.require_line(l)?;
    }
    let (from, to) = span(q.from, q.to)?;
    state.plant.flush_everywhere().await;
    let mut out = Vec::new();
    for (idx, m) in plant.machines.iter().enumerate() {
        let in_line = q.line.as_ref().is_none_or(|l| *l == m.line_id);
        if !in_line || !caller.principal.sees_line(&m.line_id) {
            continue;
        }
        out.push(MachineReliability {
            machine: m.id.clone(),
            line: m.line_id.clone(),
            name: m.name.clone(),
            reliability: machine_reliability(&state, idx, from, to).await?,
            trend_warning: judged(&state, idx).await?,
        });
    }
    Ok(HttpResponse::Ok().json(MachineAnalytics {
        from: utc(from),
        to: utc(to),
        line: q.line,
        machines: out,
    }))
}

/// The six big losses of a line.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineLosses {
    /// Line id.
    line: String,
    /// Start.
    from: DateTime<Utc>,
    /// End.
    to: DateTime<Utc>,
    /// Start-up rejects: parts made this long after a changeover of the constraint machine
    /// ends and each job start (`analytics.startup_period`), seconds.
    startup_period_s: f64,
    /// The losses.
    #[serde(flatten)]
    losses: SixLosses,
}

/// A span.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SpanQuery {
    /// Start (RFC 3339).
    from: DateTime<Utc>,
    /// End (RFC 3339), at most 93 days after `from`.
    to: DateTime<Utc>,
}

/// The six big losses of a line over a span: they add up to planned production time
/// minus OEE × planned production time of the same span (`advanced_analytics`).
#[utoipa::path(get, path = "/api/v1/lines/{id}/losses", tag = "analytics",
    params(("id" = String, Path, description = "line id"), SpanQuery),
    responses((status = 200, body = LineLosses), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "not the caller's line, or advanced_analytics is off", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn losses(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: ApiQuery<SpanQuery>,
) -> Result<HttpResponse, ApiError> {
    enabled(&state)?;
    let plant = state.plant.plant().clone();
    let Some((_, line)) = plant.line(&id) else {
        return Err(ApiError::NotFound {
            what: "line",
            id: id.into_inner(),
        });
    };
    caller.require_line(&id)?;
    let (from, to) = span(q.from, q.to)?;
    let period = state.settings.analytics.startup_period_ms();
    state.plant.flush_everywhere().await;
    let constraint = &plant.machines[line.constraint].id;
    let intervals = state.store.intervals(constraint, from - period, to).await?;
    let parts = state.store.parts(&plant.machines[line.output].id, from, to).await?;
    let job_starts = state.store.job_starts(&line.id, from - period, to).await?;
    let startup = startup_spans_with_jobs(&intervals, &job_starts, period);
    Ok(HttpResponse::Ok().json(LineLosses {
        line: id.into_inner(),
        from: utc(from),
        to: utc(to),
        startup_period_s: period as f64 / 1000.0,
        losses: six_losses(&plant.calendar, &intervals, &parts, &startup, from, to),
    }))
}

/// One machine's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct MachineHealth {
    /// Machine id.
    machine: String,
    /// Its line.
    line: String,
    /// The trend warning as of now, with the figures behind it.
    trend_warning: TrendWarning,
    /// MTBF and MTTR over the trend warning's recent window (from `since` to now).
    recent: Reliability,
    /// Its maintenance orders not yet done or cancelled, newest first.
    open_orders: Vec<OrderView>,
}

/// A machine's trend warning, recent MTBF/MTTR and open maintenance orders
/// (`advanced_analytics`). Also refreshes the warning on the machine's snapshot.
#[utoipa::path(get, path = "/api/v1/machines/{id}/health", tag = "analytics",
    params(("id" = String, Path, description = "machine id")),
    responses((status = 200, body = MachineHealth), (status = 401, body = ErrorBody),
        (status = 403, description = "not the caller's line, or advanced_analytics is off", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn health(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    enabled(&state)?;
    let line = super::lines::machine_line(&state, &id)?;
    caller.require_line(&line)?;
    let Some((idx, _)) = state.plant.plant().machine(&id) else {
        return Err(ApiError::NotFound {
            what: "machine",
            id: id.into_inner(),
        });
    };
    state.plant.flush_everywhere().await;
    let now = state.clock.now_ms();
    let trend_warning = judged(&state, idx).await?;
    let since = now - state.settings.analytics.trend().window_ms;
    let filter = OrderFilter {
        machine: Some(id.to_string()),
        limit: 1_000,
        ..OrderFilter::default()
    };
    let open_orders = state
        .store
        .orders(&filter)
        .await?
        .iter()
        .filter(|o| !o.state.is_closed())
        .map(order_view)
        .collect();
    Ok(HttpResponse::Ok().json(MachineHealth {
        machine: id.into_inner(),
        line,
        trend_warning,
        recent: machine_reliability(&state, idx, since, now).await?,
        open_orders,
    }))
}

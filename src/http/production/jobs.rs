//! Jobs (work orders): supervisors plan, release, start, pause, complete and cancel;
//! everyone reads them with their progress and OEE.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::actors::job_board::JobView;
use crate::domain::EpochMs;
use crate::domain::production::job::{JobAction, JobState, transition};
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::ApiQuery;
use crate::store::{JobFilter, JobPlan, JobRecord, job_start_blocker};

/// Largest target quantity.
const MAX_TARGET: i64 = 100_000_000;
/// Longest notes.
const MAX_NOTES: usize = 2_000;

/// A job to plan, or a new plan for one not yet running.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobBody {
    /// Line id.
    line: String,
    /// Product code (see `/api/v1/products`).
    product: String,
    /// Good parts to make (1 to 100,000,000).
    target: i64,
    /// Planned start (RFC 3339).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    planned_start: Option<DateTime<Utc>>,
    /// Planned end (RFC 3339), after the planned start.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    planned_end: Option<DateTime<Utc>>,
    /// Free text (at most 2,000 characters).
    #[serde(default)]
    notes: String,
}

/// Jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    /// The jobs.
    pub jobs: Vec<JobView>,
}

/// Filters of the job list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Line id.
    line: Option<String>,
    /// planned, released, running, paused, completed or cancelled.
    state: Option<String>,
    /// Created at or after (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// At most this many (100; ≤ 1,000).
    limit: Option<i64>,
}

fn field_error(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        message: message.into(),
        details: Some(json!({ "field": field })),
    }
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound {
        what: "job",
        id: id.to_string(),
    }
}

/// Checks a plan: a line of the plant the caller may act on, a known product, a target,
/// an end after the start, short notes.
async fn plan_of(state: &AppState, caller: &Caller, b: JobBody) -> Result<JobPlan, ApiError> {
    if state.plant.plant().line(&b.line).is_none() {
        return Err(field_error(
            "line",
            format!("`line`: no line `{}` in this plant", b.line),
        ));
    }
    caller.require_line(&b.line)?;
    state.written_here(&b.line, "jobs")?;
    if state.jobs.product(&b.product).await?.is_none() {
        return Err(field_error(
            "product",
            format!("`product`: no product `{}` (see GET /api/v1/products)", b.product),
        ));
    }
    if !(1..=MAX_TARGET).contains(&b.target) {
        return Err(field_error(
            "target",
            format!("`target` must be 1 to {MAX_TARGET} good parts"),
        ));
    }
    let ms = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_millis());
    let (planned_start, planned_end) = (ms(b.planned_start), ms(b.planned_end));
    if let (Some(s), Some(e)) = (planned_start, planned_end)
        && e <= s
    {
        return Err(field_error(
            "planned_end",
            "`planned_end` must be after `planned_start`",
        ));
    }
    let notes = b.notes.trim().to_owned();
    if notes.chars().count() > MAX_NOTES {
        return Err(field_error(
            "notes",
            format!("`notes` may have at most {MAX_NOTES} characters"),
        ));
    }
    Ok(JobPlan {
        line: b.line,
        product: b.product,
        target: b.target,
        planned_start,
        planned_end,
        notes,
    })
}

/// A stored job the caller may see, or 404/403.
async fn visible_job(state: &AppState, caller: &Caller, id: i64) -> Result<JobRecord, ApiError> {
    let job = state.store.job(id).await?.ok_or_else(|| not_found(id))?;
    caller.require_line(&job.line)?;
    Ok(job)
}

/// Plans a job.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "production", request_body = JobBody,
    responses((status = 201, body = JobView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<JobBody>,
) -> Result<HttpResponse, ApiError> {
    let plan = plan_of(&state, &caller, body.into_inner()).await?;
    let job = state
        .store
        .insert_job(&plan, state.clock.now_ms(), &caller.principal.name())
        .await?;
    state
        .audit_by(
            &caller,
            "job.create",
            Some(job.id.to_string()),
            json!({ "line": job.line, "product": job.product, "target": job.target }),
        )
        .await;
    let view = state.jobs.view(job).await?;
    state.jobs.publish_changed(&view);
    Ok(HttpResponse::Created().json(view))
}

/// Lists jobs, newest first, with their progress.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "production", params(JobQuery),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn list(state: web::Data<AppState>, caller: Caller, q: ApiQuery<JobQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let lines = match &q.line {
        Some(line) => {
            if state.plant.plant().line(line).is_none() {
                return Err(ApiError::NotFound {
                    what: "line",
                    id: line.clone(),
                });
            }
            caller.require_line(line)?;
            Some(vec![line.clone()])
        }
        None => caller.principal.line_scope().map(<[String]>::to_vec),
    };
    let job_state = match &q.state {
        Some(s) => Some(JobState::parse(s).ok_or_else(|| ApiError::BadRequest {
            message: format!("`state` must be planned, released, running, paused, completed or cancelled, got `{s}`"),
            details: Some(json!({ "parameter": "state", "value": s, "example": "running" })),
        })?),
        None => None,
    };
    let records = state
        .store
        .jobs(&JobFilter {
            lines,
            state: job_state,
            from: q.from.map(|t| t.timestamp_millis()),
            to: q.to.map(|t| t.timestamp_millis()),
            limit: q.limit.unwrap_or(100).clamp(1, 1_000),
            ..JobFilter::default()
        })
        .await?;
    let jobs = state.jobs.views(records).await?;
    Ok(HttpResponse::Ok().json(JobList { jobs }))
}

/// One job with its history, progress and OEE.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "production",
    params(("id" = i64, Path, description = "job id")),
    responses((status = 200, body = JobView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let job = visible_job(&state, &caller, *id).await?;
    Ok(HttpResponse::Ok().json(state.jobs.view(job).await?))
}

/// Changes the plan of a job that is planned or released.
#[utoipa::path(patch, path = "/api/v1/jobs/{id}", tag = "production", request_body = JobBody,
    params(("id" = i64, Path, description = "job id")),
    responses((status = 200, body = JobView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the job is running or done", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<JobBody>,
) -> Result<HttpResponse, ApiError> {
    let job = visible_job(&state, &caller, *id).await?;
    if !matches!(job.state, JobState::Planned | JobState::Released) {
        return Err(ApiError::Conflict(format!(
            "job {} is {}; only a planned or released job can be changed",
            job.id,
            job.state.as_str()
        )));
    }
    let plan = plan_of(&state, &caller, body.into_inner()).await?;
    if plan.line != job.line {
        return Err(field_error(
            "line",
            "`line`: a job stays on its line; cancel it and plan a new one",
        ));
    }
    let Some(job) = state.store.replan_job(job.id, job.state, &plan).await? else {
        return Err(ApiError::Conflict(format!(
            "job {} changed state meanwhile; reload it",
            job.id
        )));
    };
    state
        .audit_by(
            &caller,
            "job.update",
            Some(job.id.to_string()),
            json!({ "product": job.product, "target": job.target, "notes": job.notes }),
        )
        .await;
    let view = state.jobs.view(job).await?;
    state.jobs.publish_changed(&view);
    Ok(HttpResponse::Ok().json(view))
}

async fn act(state: &AppState, caller: &Caller, id: i64, action: JobAction) -> Result<HttpResponse, ApiError> {
    let job = visible_job(state, caller, id).await?;
    state.written_here(&job.line, "jobs")?;
    let next = transition(job.id, job.state, action).map_err(|e| ApiError::Conflict(e.to_string()))?;
    let now: EpochMs = state.clock.now_ms();
    // A shift-start checklist that blocks job start must have passed in this shift.
    if next == JobState::Running
        && let Some(why) = job_start_blocker(&state.store, state.plant.plant(), &job.line, now).await?
    {
        return Err(ApiError::Conflict(format!("job {id} cannot start: {why}")));
    }
    let Some(job) = state
        .store
        .transition_job(job.id, job.state, next, now, &caller.principal.name())
        .await?
    else {
        return Err(ApiError::Conflict(format!(
            "job {id} changed state meanwhile; reload it"
        )));
    };
    state
        .audit_by(
            caller,
            match action {
                JobAction::Release => "job.release",
                JobAction::Start => "job.start",
                JobAction::Pause => "job.pause",
                JobAction::Complete => "job.complete",
                JobAction::Cancel => "job.cancel",
            },
            Some(job.id.to_string()),
            json!({ "line": job.line, "state": next.as_str() }),
        )
        .await;
    // Entering or leaving `running` changes the product the line's machines count as.
    state.jobs.apply_products().await?;
    let view = state.jobs.view(job).await?;
    state.jobs.publish_changed(&view);
    Ok(HttpResponse::Ok().json(view))
}

macro_rules! job_action {
    ($name:ident, $action:expr, $path:literal, $doc:literal, $conflict:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "production",
            params(("id" = i64, Path, description = "job id")),
            responses((status = 200, body = JobView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
                (status = 404, body = ErrorBody), (status = 409, description = $conflict, body = ErrorBody),
                (status = 503, description = "maintenance mode", body = ErrorBody)),
            security(("bearer" = [])))]
        pub async fn $name(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
            act(&state, &caller, *id, $action).await
        }
    };
}

job_action!(
    release,
    JobAction::Release,
    "/api/v1/jobs/{id}/release",
    "Releases a planned job to the floor.",
    "not planned"
);
job_action!(
    start,
    JobAction::Start,
    "/api/v1/jobs/{id}/start",
    "Starts (or resumes) a released or paused job; its line's machines count parts as its product where the PLC reports none.",
    "not released or paused, or the line already runs a job"
);
job_action!(
    pause,
    JobAction::Pause,
    "/api/v1/jobs/{id}/pause",
    "Pauses a running job.",
    "not running"
);
job_action!(
    complete,
    JobAction::Complete,
    "/api/v1/jobs/{id}/complete",
    "Completes a running or paused job.",
    "not running or paused"
);
job_action!(
    cancel,
    JobAction::Cancel,
    "/api/v1/jobs/{id}/cancel",
    "Cancels a planned, released or paused job.",
    "running, completed or cancelled"
);

//! Filling checklists at shift start, and reading them: operators fill a template of
//! their line in the current shift occurrence; the server judges every item, stores the
//! result and, when the template says so, raises an Andon ticket through the Andon desk.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::field_json;
use crate::actors::andon::Raise;
use crate::domain::andon::TicketSource;
use crate::domain::production::checklist_eval::{
    ChecklistResult, ItemResult, TemplateStatus, evaluate, failure_description,
};
use crate::domain::production::shift_slot::{ShiftSlot, current_shift, local, slot, slot_of};
use crate::domain::shift::ShiftCalendar;
use crate::domain::snapshot::utc;
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::ApiQuery;
use crate::store::{ChecklistFilter, ChecklistRow, NewChecklist, job_start_blocker};

/// A checklist as filled in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FillBody {
    /// Template id (a template of this line).
    template: i64,
    /// Item key → answer: true/false for `yes_no`, a number for `number`, text for
    /// `text`; leave an item out (or send null) to not answer it.
    #[schema(value_type = Object)]
    answers: BTreeMap<String, Value>,
}

/// The template a checklist was filled from.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateRef {
    /// Template id.
    id: i64,
    /// Its name when filled.
    name: String,
    /// The version filled.
    version: i64,
}

/// A filled checklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistView {
    /// Id.
    id: i64,
    /// Line id.
    line: String,
    /// The template and version it was filled from.
    template: TemplateRef,
    /// Whether the template blocked job start when filled.
    blocks_job_start: bool,
    /// The shift occurrence it was filled in (plant-local times).
    shift: ShiftSlot,
    /// passed or failed.
    result: ChecklistResult,
    /// Keys of the required items that failed or are missing.
    failed: Vec<String>,
    /// Every item of the template version, with its answer and outcome.
    items: Vec<ItemResult>,
    /// Who filled it.
    filled_by: String,
    /// When.
    filled_at: DateTime<Utc>,
    /// The Andon ticket its failure raised.
    ticket: Option<i64>,
    /// Why the ticket could not be raised (fill answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket_error: Option<String>,
}

fn view(calendar: &ShiftCalendar, r: ChecklistRow) -> ChecklistView {
    let c = r.checklist;
    ChecklistView {
        id: r.id,
        line: c.line,
        template: TemplateRef {
            id: c.template_id,
            name: c.template_name,
            version: c.template_version,
        },
        blocks_job_start: c.blocks_job_start,
        shift: slot(calendar, &c.shift.name, c.shift.start, c.shift.end),
        result: c.result,
        failed: c
            .items
            .iter()
            .filter(|i| i.fails_checklist())
            .map(|i| i.key.clone())
            .collect(),
        items: c.items,
        filled_by: c.filled_by,
        filled_at: utc(c.filled_at),
        ticket: r.ticket,
        ticket_error: None,
    }
}

/// The line `id`, if it exists and the caller may see it.
pub(super) fn line_in_scope(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    if state.plant.plant().line(id).is_none() {
        return Err(ApiError::NotFound {
            what: "line",
            id: id.to_owned(),
        });
    }
    caller.require_line(id)
}

/// `at` in plant-local time, written as in JSON answers (`Z` for a zero offset).
fn rfc3339(calendar: &ShiftCalendar, at: i64) -> String {
    local(calendar, at).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The 409 for a write outside every shift.
pub(super) fn outside_shifts(calendar: &ShiftCalendar, what: &str, now: i64) -> ApiError {
    let next = calendar.next_shift_start(now).map_or(String::new(), |t| {
        format!("; the next shift starts at {}", rfc3339(calendar, t))
    });
    ApiError::Conflict(format!(
        "{what} belong to a shift, and {} is outside every shift of the plant calendar{next}",
        rfc3339(calendar, now)
    ))
}

/// Fills a checklist for the current shift occurrence; a failure raises the template's
/// Andon ticket.
#[utoipa::path(post, path = "/api/v1/lines/{id}/checklists", tag = "checklists", request_body = FillBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; the same key and request within 24 h gets the first answer back and applies nothing"), ("id" = String, Path, description = "line id")),
    responses((status = 422, description = "the Idempotency-Key was used for another request", body = ErrorBody), (status = 201, body = ChecklistView), (status = 400, description = "names the field", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "no such line or template", body = ErrorBody),
        (status = 409, description = "outside every shift", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn fill(
    state: web::Data<AppState>,
    caller: Caller,
    line: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let line = line.into_inner();
    line_in_scope(&state, &caller, &line)?;
    state.written_here(&line, "checklists")?;
    let b: FillBody = field_json::parse(body.into_inner())?;
    let template = state
        .store
        .checklist_template(b.template)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "checklist template",
            id: b.template.to_string(),
        })?;
    if template.line != line {
        return Err(ApiError::BadRequest {
            message: format!(
                "`template` {} is a template of line `{}`, not `{line}`",
                template.id, template.line
            ),
            details: Some(json!({ "field": "template" })),
        });
    }
    let evaluation = evaluate(&template.items, &b.answers)?;
    let plant = state.plant.plant().clone();
    let now = state.clock.now_ms();
    let shift =
        current_shift(&plant.calendar, now).ok_or_else(|| outside_shifts(&plant.calendar, "checklists", now))?;
    let by = caller.principal.name();
    let new = NewChecklist {
        line: line.clone(),
        template_id: template.id,
        template_name: template.name.clone(),
        template_version: template.version,
        blocks_job_start: template.blocks_job_start,
        shift: shift.clone(),
        result: evaluation.result,
        items: evaluation.items,
        filled_by: by.clone(),
        filled_at: now,
    };
    let id = state.store.insert_checklist(&new).await?;
    let mut row = ChecklistRow {
        id,
        checklist: new,
        ticket: None,
    };
    let mut ticket_error = None;
    if let (ChecklistResult::Failed, Some(andon)) = (row.checklist.result, template.andon_on_failure) {
        let raise = Raise {
            line: line.clone(),
            machine: None,
            category: andon.category,
            priority: andon.priority,
            description: failure_description(&template.name, &shift.name, &by, &row.checklist.items),
            by: by.clone(),
            source: TicketSource::Auto,
            downtime: None,
        };
        match state.plant.andon().send(raise).await {
            Ok(Ok(ticket)) => {
                // The checklist and the ticket both stand; a lost link is logged, not
                // turned into an error that would invite filling the checklist again.
                if let Err(e) = state.store.set_checklist_ticket(id, ticket.id).await {
                    tracing::warn!(checklist = id, ticket = ticket.id, error = %e, "could not link a checklist to its ticket");
                }
                row.ticket = Some(ticket.id);
                let details = json!({ "line": line, "machine": null, "category": ticket.category,
                    "priority": ticket.priority, "checklist": id });
                state
                    .audit_by(&caller, "andon.raise", Some(ticket.id.to_string()), details)
                    .await;
            }
            Ok(Err(e)) => ticket_error = Some(e.to_string()),
            Err(_) => ticket_error = Some("the andon service is not answering".to_owned()),
        }
        if let Some(e) = &ticket_error {
            tracing::warn!(checklist = id, line = %line, error = %e, "a failed checklist could not raise its ticket");
        }
    }
    let mut out = view(&plant.calendar, row);
    out.ticket_error = ticket_error;
    let details = json!({
        "line": line, "template": template.id, "version": template.version, "shift": out.shift,
        "result": out.result, "failed": out.failed, "ticket": out.ticket, "ticket_error": out.ticket_error,
    });
    state
        .audit_by(&caller, "checklist.fill", Some(id.to_string()), details)
        .await;
    Ok(HttpResponse::Created().json(out))
}

/// Filters of the checklist list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Filled at or after (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Filled before (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// Most checklists (1-1000, default 100).
    limit: Option<i64>,
}

/// Checklists.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistList {
    /// Line id.
    line: String,
    /// Newest first.
    checklists: Vec<ChecklistView>,
}

/// Checklists of a line filled in a span, newest first.
#[utoipa::path(get, path = "/api/v1/lines/{id}/checklists", tag = "checklists", params(("id" = String, Path, description = "line id"), ListQuery),
    responses((status = 200, body = ChecklistList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    line: web::Path<String>,
    q: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let line = line.into_inner();
    line_in_scope(&state, &caller, &line)?;
    let (from, to) = (q.from.map(|t| t.timestamp_millis()), q.to.map(|t| t.timestamp_millis()));
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(ApiError::BadRequest {
            message: "`from` must be before `to`".into(),
            details: Some(json!({ "parameter": "from" })),
        });
    }
    let filter = ChecklistFilter {
        line: line.clone(),
        from,
        to,
        limit: q.limit.unwrap_or(100).clamp(1, 1_000),
    };
    let calendar = &state.plant.plant().calendar;
    let checklists = state
        .store
        .checklists(&filter)
        .await?
        .into_iter()
        .map(|r| view(calendar, r))
        .collect();
    Ok(HttpResponse::Ok().json(ChecklistList { line, checklists }))
}

/// A template's state in the current shift.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateState {
    /// Template id.
    id: i64,
    /// Name.
    name: String,
    /// Current version.
    version: i64,
    /// Whether it blocks job start.
    blocks_job_start: bool,
    /// not_started, passed or failed (its latest checklist in the shift).
    status: TemplateStatus,
    /// Id of its latest checklist in the shift.
    latest: Option<i64>,
}

/// The checklists of the current shift.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentChecklists {
    /// Line id.
    line: String,
    /// The current shift occurrence; null outside every shift.
    shift: Option<ShiftSlot>,
    /// Every template of the line with its state in the shift.
    templates: Vec<TemplateState>,
    /// Every checklist filled in the shift, oldest first.
    checklists: Vec<ChecklistView>,
    /// Why a job may not start on the line now; null when it may.
    job_start_blocked: Option<String>,
}

/// The current shift's checklists of a line, and each template's state.
#[utoipa::path(get, path = "/api/v1/lines/{id}/checklists/current", tag = "checklists",
    params(("id" = String, Path, description = "line id")),
    responses((status = 200, body = CurrentChecklists), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn current(
    state: web::Data<AppState>,
    caller: Caller,
    line: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let line = line.into_inner();
    line_in_scope(&state, &caller, &line)?;
    let plant = state.plant.plant().clone();
    let now = state.clock.now_ms();
    let shift = current_shift(&plant.calendar, now);
    let filled = match &shift {
        Some(s) => state.store.shift_checklists(&line, s.start).await?,
        None => Vec::new(),
    };
    let templates = state
        .store
        .checklist_templates(Some(&line))
        .await?
        .into_iter()
        .map(|t| {
            let latest = filled.iter().rev().find(|c| c.checklist.template_id == t.id);
            TemplateState {
                status: TemplateStatus::from(latest.map(|c| c.checklist.result)),
                latest: latest.map(|c| c.id),
                id: t.id,
                name: t.name,
                version: t.version,
                blocks_job_start: t.blocks_job_start,
            }
        })
        .collect();
    let job_start_blocked = job_start_blocker(&state.store, &plant, &line, now).await?;
    Ok(HttpResponse::Ok().json(CurrentChecklists {
        line,
        shift: shift.as_ref().map(|s| slot_of(&plant.calendar, s)),
        templates,
        checklists: filled.into_iter().map(|r| view(&plant.calendar, r)).collect(),
        job_start_blocked,
    }))
}

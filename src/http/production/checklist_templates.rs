//! Checklist templates over REST: admins create, change and delete them; everyone who
//! may see a line reads its templates.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::field_json;
use crate::domain::production::checklist::{AndonOnFailure, ChecklistItem, TemplateSpec};
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::ApiQuery;
use crate::store::ChecklistTemplate;

/// A template as sent to create or replace one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// Line id (a replacement must keep the template's line).
    line: String,
    /// Name (1-100 characters), unique among the line's templates.
    name: String,
    /// 1-100 items, in the order shown.
    items: Vec<ChecklistItem>,
    /// A job may start on the line only after this checklist passed in the shift (default false).
    #[serde(default)]
    blocks_job_start: bool,
    /// The Andon ticket (category quality or safety) a failed checklist raises; absent: none.
    #[serde(default)]
    andon_on_failure: Option<AndonOnFailure>,
}

impl TemplateBody {
    fn spec(self) -> TemplateSpec {
        TemplateSpec {
            line: self.line,
            name: self.name,
            items: self.items,
            blocks_job_start: self.blocks_job_start,
            andon_on_failure: self.andon_on_failure,
        }
    }
}

/// Templates.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    /// By line and name.
    templates: Vec<ChecklistTemplate>,
}

fn known_line(state: &AppState, line: &str) -> Result<(), ApiError> {
    match state.plant.plant().line(line) {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound {
            what: "line",
            id: line.to_owned(),
        }),
    }
}

/// The template `id` (not deleted) if the caller may see its line.
async fn visible(state: &AppState, caller: &Caller, id: i64) -> Result<ChecklistTemplate, ApiError> {
    let t = state
        .store
        .checklist_template(id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "checklist template",
            id: id.to_string(),
        })?;
    caller.require_line(&t.line)?;
    Ok(t)
}

fn audit_details(t: &ChecklistTemplate) -> Value {
    json!({
        "line": t.line, "name": t.name, "version": t.version, "items": t.items.len(),
        "blocks_job_start": t.blocks_job_start, "andon_on_failure": t.andon_on_failure,
    })
}

/// Creates a template (version 1).
#[utoipa::path(post, path = "/api/v1/checklist-templates", tag = "checklists", request_body = TemplateBody,
    responses((status = 201, body = ChecklistTemplate), (status = 400, description = "names the field", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such line", body = ErrorBody),
        (status = 409, description = "the line has a template of that name", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let b: TemplateBody = field_json::parse(body.into_inner())?;
    known_line(&state, &b.line)?;
    caller.require_line(&b.line)?;
    state.written_here(&b.line, "checklist templates")?;
    let spec = b.spec().validate()?;
    let t = state
        .store
        .insert_checklist_template(&spec, &caller.principal.name(), state.clock.now_ms())
        .await?;
    state
        .audit_by(
            &caller,
            "checklist_template.create",
            Some(t.id.to_string()),
            audit_details(&t),
        )
        .await;
    Ok(HttpResponse::Created().json(t))
}

/// Filters of the template list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Line id; absent: every line the caller sees.
    line: Option<String>,
}

/// Lists templates (of the caller's lines).
#[utoipa::path(get, path = "/api/v1/checklist-templates", tag = "checklists", params(ListQuery),
    responses((status = 200, body = TemplateList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(line) = &q.line {
        known_line(&state, line)?;
        caller.require_line(line)?;
    }
    let templates = state
        .store
        .checklist_templates(q.line.as_deref())
        .await?
        .into_iter()
        .filter(|t| caller.principal.sees_line(&t.line))
        .collect();
    Ok(HttpResponse::Ok().json(TemplateList { templates }))
}

/// One template.
#[utoipa::path(get, path = "/api/v1/checklist-templates/{id}", tag = "checklists",
    params(("id" = i64, Path, description = "template id")),
    responses((status = 200, body = ChecklistTemplate), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(visible(&state, &caller, *id).await?))
}

/// Replaces a template's name, items and rules (its line stays) and raises its version;
/// checklists filled earlier keep the version they were filled with.
#[utoipa::path(put, path = "/api/v1/checklist-templates/{id}", tag = "checklists", request_body = TemplateBody,
    params(("id" = i64, Path, description = "template id")),
    responses((status = 200, body = ChecklistTemplate), (status = 400, description = "names the field", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the line has another template of that name", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let before = visible(&state, &caller, *id).await?;
    state.written_here(&before.line, "checklist templates")?;
    let b: TemplateBody = field_json::parse(body.into_inner())?;
    if b.line != before.line {
        return Err(ApiError::BadRequest {
            message: format!(
                "`line` cannot change (the template is on `{}`); create a template on the other line instead",
                before.line
            ),
            details: Some(json!({ "field": "line" })),
        });
    }
    let spec = b.spec().validate()?;
    let after = state
        .store
        .update_checklist_template(before.id, &spec, &caller.principal.name(), state.clock.now_ms())
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "checklist template",
            id: before.id.to_string(),
        })?;
    let mut details = audit_details(&after);
    details["from_version"] = json!(before.version);
    state
        .audit_by(
            &caller,
            "checklist_template.update",
            Some(after.id.to_string()),
            details,
        )
        .await;
    Ok(HttpResponse::Ok().json(after))
}

/// Deletes a template: it is no longer listed or filled, and no longer blocks job start;
/// the checklists filled from it stay.
#[utoipa::path(delete, path = "/api/v1/checklist-templates/{id}", tag = "checklists",
    params(("id" = i64, Path, description = "template id")),
    responses((status = 200, description = "deleted", body = ChecklistTemplate), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let before = visible(&state, &caller, *id).await?;
    state.written_here(&before.line, "checklist templates")?;
    let deleted = state
        .store
        .delete_checklist_template(before.id, &caller.principal.name(), state.clock.now_ms())
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "checklist template",
            id: before.id.to_string(),
        })?;
    state
        .audit_by(
            &caller,
            "checklist_template.delete",
            Some(deleted.id.to_string()),
            audit_details(&deleted),
        )
        .await;
    Ok(HttpResponse::Ok().json(deleted))
}

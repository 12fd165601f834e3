//! Assigning Andon tickets: the people a line's tickets may go to, and (re)assigning one.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::access::Caller;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::query::ApiQuery;
use crate::actors::andon::{AndonError, AssignOn};
use crate::actors::andon_ticket::Assign;
use crate::domain::access::Role;
use crate::domain::andon_assign::{Candidate, may_take};
use crate::domain::snapshot::TicketView;

/// Body of an assignment: `assignee` must be present, a username or `null` (nobody).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// Username of an active account with access to the ticket's line, or `null` to unassign.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required = true)]
    assignee: Option<Option<String>>,
}

/// `Some(value)` whenever the field is in the body, so a missing field and `null` differ.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn bad_assignee(message: String) -> ApiError {
    ApiError::BadRequest {
        message,
        details: Some(json!({ "field": "assignee" })),
    }
}

/// Assigns a ticket to a person, or to nobody (supervisors and up). Escalation goes on as before.
#[utoipa::path(post, path = "/api/v1/andon/tickets/{id}/assign", tag = "andon", request_body = AssignBody,
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = TicketView), (status = 400, description = "no `assignee`, or not an active account with access to the line", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the ticket is resolved or cancelled", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let stored = state.store.ticket(id).await?.ok_or(ApiError::NotFound {
        what: "ticket",
        id: id.to_string(),
    })?;
    caller.require_line(&stored.line)?;
    let Some(assignee) = body.into_inner().assignee else {
        return Err(bad_assignee(
            "`assignee` is required: a username, or null to unassign".into(),
        ));
    };
    if let Some(name) = &assignee {
        let user = state.store.user_with_hash(name).await?.map(|(u, _)| u);
        let fits = user.as_ref().is_some_and(|u| {
            may_take(
                Candidate {
                    disabled: u.disabled,
                    lines: u.lines.as_deref(),
                },
                &stored.line,
            )
        });
        if !fits {
            return Err(bad_assignee(format!(
                "`assignee`: `{name}` is not an active account with access to line `{}`",
                stored.line
            )));
        }
    }
    let msg = AssignOn {
        id,
        assign: Assign {
            assignee: assignee.clone(),
            by: caller.principal.name(),
        },
    };
    let ticket = state
        .plant
        .andon()
        .send(msg)
        .await
        .map_err(|_| AndonError::Unavailable)??;
    state
        .audit_by(
            &caller,
            "andon.assign",
            Some(id.to_string()),
            json!({ "line": ticket.line, "assignee": assignee }),
        )
        .await;
    Ok(HttpResponse::Ok().json(ticket))
}

/// Whose tickets of which line.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssigneesQuery {
    /// Line id.
    line: String,
}

/// A person a ticket may be assigned to.
#[derive(Debug, Serialize, ToSchema)]
pub struct Assignee {
    /// Login name (what `assignee` takes).
    username: String,
    /// Role.
    role: Role,
}

/// The people of a line.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssigneeList {
    /// By username.
    assignees: Vec<Assignee>,
}

/// The active accounts with access to a line, for assigning its tickets (supervisors and up).
#[utoipa::path(get, path = "/api/v1/andon/assignees", tag = "andon", params(AssigneesQuery),
    responses((status = 200, body = AssigneeList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assignees(
    state: web::Data<AppState>,
    caller: Caller,
    q: ApiQuery<AssigneesQuery>,
) -> Result<HttpResponse, ApiError> {
    let line = q.into_inner().line;
    if state.plant.plant().line(&line).is_none() {
        return Err(ApiError::NotFound { what: "line", id: line });
    }
    caller.require_line(&line)?;
    let assignees: Vec<Assignee> = state
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| {
            may_take(
                Candidate {
                    disabled: u.disabled,
                    lines: u.lines.as_deref(),
                },
                &line,
            )
        })
        .map(|u| Assignee {
            username: u.username,
            role: u.role,
        })
        .collect();
    Ok(HttpResponse::Ok().json(AssigneeList { assignees }))
}

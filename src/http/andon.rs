//! Andon tickets: raise, list, show (with history and deliveries), acknowledge, resolve,
//! cancel.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::access::Caller;
use super::body::OptionalJson;
use super::error::ApiError;
use super::openapi::{ErrorBody, TicketDetail, TicketList};
use super::query::ApiQuery;
use crate::actors::andon::{ActOn, AndonError, Raise};
use crate::actors::andon_ticket::Act;
use crate::domain::andon::{Action, Category, Priority, TicketSource, TicketState};
use crate::domain::snapshot::{TicketView, ticket_view};
use crate::store::TicketFilter;

/// Longest description accepted.
const MAX_DESCRIPTION: usize = 1_000;

impl From<AndonError> for ApiError {
    fn from(e: AndonError) -> Self {
        match e {
            AndonError::NotFound(id) => ApiError::NotFound {
                what: "ticket",
                id: id.to_string(),
            },
            AndonError::Conflict(message) => ApiError::Conflict(message),
            AndonError::Invalid(message) => ApiError::bad_request(message),
            AndonError::Store(e) => ApiError::Store(e),
            AndonError::Unavailable => ApiError::Unavailable("the andon service is not answering".into()),
        }
    }
}

/// Body of a raise; who raised it is the signed-in user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaiseBody {
    /// Line id.
    line: String,
    /// Machine id on that line, if it is about one machine.
    #[serde(default)]
    machine: Option<String>,
    /// What kind of help.
    category: Category,
    /// How urgent.
    priority: Priority,
    /// What is wrong (1-1000 characters).
    description: String,
}

/// Raises a ticket.
#[utoipa::path(post, path = "/api/v1/andon/tickets", tag = "andon", request_body = RaiseBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; the same key and request within 24 h gets the first answer back and applies nothing")),
    responses((status = 422, description = "the Idempotency-Key was used for another request", body = ErrorBody), (status = 201, body = TicketView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn raise(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RaiseBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    if state.plant.plant().line(&b.line).is_some() {
        caller.require_line(&b.line)?;
    }
    let description = b.description.trim().to_owned();
    if description.is_empty() || description.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::BadRequest {
            message: format!("`description` must be 1-{MAX_DESCRIPTION} characters"),
            details: Some(json!({ "field": "description" })),
        });
    }
    let raise = Raise {
        line: b.line,
        machine: b.machine,
        category: b.category,
        priority: b.priority,
        description,
        by: caller.principal.name(),
        source: TicketSource::Operator,
        downtime: None,
    };
    let ticket = state
        .plant
        .andon()
        .send(raise)
        .await
        .map_err(|_| AndonError::Unavailable)??;
    state
        .audit_by(
            &caller,
            "andon.raise",
            Some(ticket.id.to_string()),
            json!({ "line": ticket.line, "machine": ticket.machine, "category": ticket.category, "priority": ticket.priority }),
        )
        .await;
    Ok(HttpResponse::Created().json(ticket))
}

/// Body of acknowledge/resolve/cancel, which may be left out (no comment); who acted is
/// the signed-in user.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActBody {
    /// Optional comment (at most 1000 characters).
    #[serde(default)]
    comment: Option<String>,
}

async fn act(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: Action,
    body: ActBody,
) -> Result<HttpResponse, ApiError> {
    let stored = state.store.ticket(id).await?.ok_or(ApiError::NotFound {
        what: "ticket",
        id: id.to_string(),
    })?;
    caller.require_line(&stored.line)?;
    let comment = body.comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > MAX_DESCRIPTION) {
        return Err(ApiError::bad_request(format!(
            "`comment` may have at most {MAX_DESCRIPTION} characters"
        )));
    }
    let msg = ActOn {
        id,
        act: Act {
            action,
            by: caller.principal.name(),
            comment: comment.clone(),
        },
    };
    let ticket = state
        .plant
        .andon()
        .send(msg)
        .await
        .map_err(|_| AndonError::Unavailable)??;
    let what = match action {
        Action::Acknowledge => "andon.acknowledge",
        Action::Resolve => "andon.resolve",
        Action::Cancel => "andon.cancel",
    };
    state
        .audit_by(
            caller,
            what,
            Some(id.to_string()),
            json!({ "line": ticket.line, "comment": comment }),
        )
        .await;
    Ok(HttpResponse::Ok().json(ticket))
}

/// Acknowledges a ticket (stops its response escalation).
#[utoipa::path(post, path = "/api/v1/andon/tickets/{id}/acknowledge", tag = "andon", request_body = Option<ActBody>,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; the same key and request within 24 h gets the first answer back and applies nothing"), ("id" = i64, Path, description = "ticket id")),
    responses((status = 422, description = "the Idempotency-Key was used for another request", body = ErrorBody), (status = 200, body = TicketView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not allowed in the ticket's state", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn acknowledge(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: OptionalJson<ActBody>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &caller, *id, Action::Acknowledge, body.into_inner()).await
}

/// Resolves a ticket.
#[utoipa::path(post, path = "/api/v1/andon/tickets/{id}/resolve", tag = "andon", request_body = Option<ActBody>,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; the same key and request within 24 h gets the first answer back and applies nothing"), ("id" = i64, Path, description = "ticket id")),
    responses((status = 422, description = "the Idempotency-Key was used for another request", body = ErrorBody), (status = 200, body = TicketView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not allowed in the ticket's state", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resolve(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: OptionalJson<ActBody>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &caller, *id, Action::Resolve, body.into_inner()).await
}

/// Cancels a ticket (supervisors and up).
#[utoipa::path(post, path = "/api/v1/andon/tickets/{id}/cancel", tag = "andon", request_body = Option<ActBody>,
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = TicketView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not allowed in the ticket's state", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: OptionalJson<ActBody>,
) -> Result<HttpResponse, ApiError> {
    act(&state, &caller, *id, Action::Cancel, body.into_inner()).await
}

/// Filters of the ticket list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Line id.
    line: Option<String>,
    /// open, acknowledged, resolved or cancelled.
    state: Option<String>,
    /// low, medium, high or critical.
    priority: Option<String>,
    /// Raised at or after (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Raised before (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// Most tickets (1-1000, default 100).
    limit: Option<i64>,
}

/// Lists tickets, newest first.
#[utoipa::path(get, path = "/api/v1/andon/tickets", tag = "andon", params(ListQuery),
    responses((status = 200, body = TicketList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let parse_state = |s: &str| {
        TicketState::parse(s)
            .ok_or_else(|| ApiError::bad_request("`state` must be open, acknowledged, resolved or cancelled"))
    };
    let parse_priority = |s: &str| {
        Priority::parse(s).ok_or_else(|| ApiError::bad_request("`priority` must be low, medium, high or critical"))
    };
    if let Some(line) = &q.line
        && state.plant.plant().line(line).is_none()
    {
        return Err(ApiError::NotFound {
            what: "line",
            id: line.clone(),
        });
    }
    if let Some(line) = &q.line {
        caller.require_line(line)?;
    }
    let filter = TicketFilter {
        lines: caller.principal.line_scope().map(<[String]>::to_vec),
        line: q.line,
        state: q.state.as_deref().map(parse_state).transpose()?,
        priority: q.priority.as_deref().map(parse_priority).transpose()?,
        from: q.from.map(|t| t.timestamp_millis()),
        to: q.to.map(|t| t.timestamp_millis()),
        limit: q.limit.unwrap_or(100).clamp(1, 1_000),
    };
    let plant = state.plant.plant().clone();
    let tickets: Vec<_> = state
        .store
        .tickets(&filter)
        .await?
        .iter()
        .map(|t| {
            let policy = plant.andon.policies.policy(t.category, t.priority);
            ticket_view(t, crate::domain::andon::next_due(t, policy))
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "tickets": tickets })))
}

/// One ticket with its history and pager deliveries.
#[utoipa::path(get, path = "/api/v1/andon/tickets/{id}", tag = "andon",
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = TicketDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let ticket = state.store.ticket(id).await?.ok_or(ApiError::NotFound {
        what: "ticket",
        id: id.to_string(),
    })?;
    caller.require_line(&ticket.line)?;
    let policy = state
        .plant
        .plant()
        .andon
        .policies
        .policy(ticket.category, ticket.priority)
        .clone();
    let events = state.store.ticket_events(id).await?;
    let deliveries = state.store.ticket_notifications(id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "ticket": ticket_view(&ticket, crate::domain::andon::next_due(&ticket, &policy)),
        "events": events,
        "deliveries": deliveries,
    })))
}

//! Andon tickets: raise, list, show (with history and deliveries), acknowledge, resolve,
//! cancel.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use crate::actors::andon::{ActOn, AndonError, Raise};
use crate::actors::andon_ticket::Act;
use crate::domain::andon::{Action, Category, Priority, TicketSource, TicketState};
use crate::domain::snapshot::ticket_view;
use crate::store::TicketFilter;

/// Longest description accepted.
const MAX_DESCRIPTION: usize = 1_000;
/// Longest name of a person.
const MAX_NAME: usize = 64;

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

fn name(field: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > MAX_NAME {
        return Err(ApiError::BadRequest {
            message: format!("`{field}` must be 1-{MAX_NAME} characters"),
            details: Some(json!({ "field": field })),
        });
    }
    Ok(v.to_owned())
}

/// Body of a raise.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaiseBody {
    line: String,
    #[serde(default)]
    machine: Option<String>,
    category: Category,
    priority: Priority,
    description: String,
    raised_by: String,
}

/// Raises a ticket.
#[post("/andon/tickets")]
pub async fn raise(state: web::Data<AppState>, body: web::Json<RaiseBody>) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
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
        by: name("raised_by", &b.raised_by)?,
        source: TicketSource::Operator,
        downtime: None,
    };
    let ticket = state
        .plant
        .andon()
        .send(raise)
        .await
        .map_err(|_| AndonError::Unavailable)??;
    Ok(HttpResponse::Created().json(ticket))
}

/// Body of acknowledge/resolve/cancel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActBody {
    by: String,
    #[serde(default)]
    comment: Option<String>,
}

async fn act(state: &AppState, id: i64, action: Action, body: ActBody) -> Result<HttpResponse, ApiError> {
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
            by: name("by", &body.by)?,
            comment,
        },
    };
    let ticket = state
        .plant
        .andon()
        .send(msg)
        .await
        .map_err(|_| AndonError::Unavailable)??;
    Ok(HttpResponse::Ok().json(ticket))
}

/// Acknowledges a ticket (stops its response escalation).
#[post("/andon/tickets/{id}/acknowledge")]
pub async fn acknowledge(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ActBody>,
) -> Result<HttpResponse, ApiError> {
    act(&state, *id, Action::Acknowledge, body.into_inner()).await
}

/// Resolves a ticket.
#[post("/andon/tickets/{id}/resolve")]
pub async fn resolve(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ActBody>,
) -> Result<HttpResponse, ApiError> {
    act(&state, *id, Action::Resolve, body.into_inner()).await
}

/// Cancels a ticket.
#[post("/andon/tickets/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ActBody>,
) -> Result<HttpResponse, ApiError> {
    act(&state, *id, Action::Cancel, body.into_inner()).await
}

/// Filters of the ticket list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    line: Option<String>,
    state: Option<String>,
    priority: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<i64>,
}

/// Lists tickets, newest first.
#[get("/andon/tickets")]
pub async fn list(state: web::Data<AppState>, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
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
    let filter = TicketFilter {
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
#[get("/andon/tickets/{id}")]
pub async fn show(state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let ticket = state.store.ticket(id).await?.ok_or(ApiError::NotFound {
        what: "ticket",
        id: id.to_string(),
    })?;
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

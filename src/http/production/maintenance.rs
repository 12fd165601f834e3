//! Maintenance orders, the writes: create (by hand, from a downtime event or from an Andon
//! ticket), start, complete, cancel and work notes; each answers with the order as
//! [`super::maintenance_views`] shows it.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use utoipa::ToSchema;

use super::maintenance_views::{OrderDetail, detail, stored};
use crate::domain::andon::Priority;
use crate::domain::production::maintenance::{OrderAction, OrderError, apply, next_state};
use crate::domain::production::maintenance_fields::{
    FieldError, MAX_NAME, MAX_TEXT, PartUsed, minutes, optional_text, parts, text,
};
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::body::OptionalJson;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::store::{NewNote, NewOrder};

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::BadRequest {
            message: e.to_string(),
            details: Some(json!({ "field": e.field })),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        ApiError::Conflict(e.to_string())
    }
}

fn field(name: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        message: message.into(),
        details: Some(json!({ "field": name })),
    }
}

/// Reads a JSON body into `T`; a bad field is a 400 naming it (`parts_used[1].quantity`).
fn read<T: DeserializeOwned>(body: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!("`{path}`: ")
        };
        ApiError::BadRequest {
            message: format!("{at}{}", e.inner()),
            details: (path != ".").then(|| json!({ "field": path })),
        }
    })
}

/// Body of a new order; who created it is the signed-in user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Machine id; may be left out when `downtime_id` or `ticket_id` names one, and must
    /// agree with them when given.
    #[serde(default)]
    machine: Option<String>,
    /// What is wrong (1-1000 characters).
    problem: String,
    /// low, medium, high or critical.
    priority: String,
    /// Who should do it (1-200 characters).
    #[serde(default)]
    assignee: Option<String>,
    /// The downtime event it comes from.
    #[serde(default)]
    downtime_id: Option<i64>,
    /// The Andon ticket it comes from.
    #[serde(default)]
    ticket_id: Option<i64>,
}

/// Creates an order by hand, from a downtime event or from an Andon ticket (engineers).
#[utoipa::path(post, path = "/api/v1/maintenance/orders", tag = "maintenance", request_body = CreateBody,
    responses((status = 201, body = OrderDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let b: CreateBody = read(body.into_inner())?;
    let problem = text("problem", &b.problem, MAX_TEXT)?;
    let priority = Priority::parse(&b.priority)
        .ok_or_else(|| field("priority", "`priority` must be low, medium, high or critical"))?;
    let assignee = optional_text("assignee", b.assignee.as_deref(), MAX_NAME)?;
    state.plant.flush_everywhere().await;
    let now = state.clock.now_ms();
    let downtime = match b.downtime_id {
        Some(id) => Some(
            state
                .store
                .downtime_event(id, now)
                .await?
                .ok_or_else(|| field("downtime_id", format!("`downtime_id`: no downtime event {id}")))?,
        ),
        None => None,
    };
    let ticket = match b.ticket_id {
        Some(id) => Some(
            state
                .store
                .ticket(id)
                .await?
                .ok_or_else(|| field("ticket_id", format!("`ticket_id`: no Andon ticket {id}")))?,
        ),
        None => None,
    };
    // The machine: as given, else from the stop, else from the ticket; all must agree.
    let mut machine = b.machine.map(|m| ("machine", m.trim().to_owned()));
    let links = [
        (
            "downtime_id",
            "downtime event",
            downtime.as_ref().map(|d| (d.id, d.machine.clone())),
        ),
        (
            "ticket_id",
            "ticket",
            ticket.as_ref().and_then(|t| t.machine.clone().map(|m| (t.id, m))),
        ),
    ];
    for (key, what, link) in links {
        let Some((id, theirs)) = link else { continue };
        match &machine {
            None => machine = Some((key, theirs)),
            Some((from, m)) if *m != theirs => {
                let blame = if *from == "machine" { "machine" } else { key };
                return Err(field(
                    blame,
                    format!("`{blame}`: {what} {id} is on machine `{theirs}`, not `{m}`"),
                ));
            }
            Some(_) => {}
        }
    }
    let machine = machine.map(|(_, m)| m);
    let machine = machine.ok_or_else(|| {
        field(
            "machine",
            "`machine` is required unless the downtime event or ticket names one",
        )
    })?;
    let plant = state.plant.plant().clone();
    let Some((_, model)) = plant.machine(&machine) else {
        return Err(field("machine", format!("`machine`: no machine `{machine}`")));
    };
    let line = plant.lines[model.line].id.clone();
    if let Some(t) = ticket.as_ref().filter(|t| t.line != line) {
        return Err(field(
            "ticket_id",
            format!(
                "`ticket_id`: ticket {} is on line `{}`, machine `{machine}` on `{line}`",
                t.id, t.line
            ),
        ));
    }
    caller.require_line(&line)?;
    state.written_here(&line, "maintenance orders")?;
    let order = state
        .store
        .insert_order(&NewOrder {
            machine,
            line,
            problem,
            priority,
            assignee,
            downtime_id: b.downtime_id,
            ticket_id: b.ticket_id,
            created_at: now,
            created_by: caller.principal.name(),
        })
        .await?;
    state
        .audit_by(
            &caller,
            "maintenance.create",
            Some(order.id.to_string()),
            json!({ "machine": order.machine, "line": order.line, "priority": order.priority,
                    "assignee": order.assignee, "downtime_id": order.downtime_id, "ticket_id": order.ticket_id }),
        )
        .await;
    Ok(HttpResponse::Created().json(detail(&state, &order).await?))
}

/// Body of start, complete and cancel, which may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActBody {
    /// Optional comment (at most 1000 characters), kept in the history.
    #[serde(default)]
    comment: Option<String>,
}

async fn act(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: OrderAction,
    body: ActBody,
) -> Result<HttpResponse, ApiError> {
    let comment = optional_text("comment", body.comment.as_deref(), MAX_TEXT)?;
    let before = stored(state, caller, id).await?;
    state.written_here(&before.line, "maintenance orders")?;
    let by = caller.principal.name();
    let now = state.clock.now_ms();
    let after = apply(&before, action, &by, now)?;
    if !state
        .store
        .record_order_transition(&before, &after, action, now, &by, comment.as_deref())
        .await?
    {
        // Someone else moved it meanwhile: refuse against its state now.
        let current = stored(state, caller, id).await?;
        apply(&current, action, &by, now)?;
        return Err(ApiError::Conflict(format!(
            "order {id} changed meanwhile; it is now {}",
            current.state
        )));
    }
    state
        .audit_by(
            caller,
            action.audit(),
            Some(id.to_string()),
            json!({ "machine": after.machine, "line": after.line, "from": before.state, "to": after.state,
                    "comment": comment }),
        )
        .await;
    Ok(HttpResponse::Ok().json(detail(state, &after).await?))
}

macro_rules! transition_route {
    ($name:ident, $path:literal, $action:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "maintenance", request_body = Option<ActBody>,
            params(("id" = i64, Path, description = "order id")),
            responses((status = 200, body = OrderDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
                (status = 409, description = "not allowed in the order's state (the message names it)", body = ErrorBody),
                (status = 503, description = "maintenance mode", body = ErrorBody)),
            security(("bearer" = [])))]
        pub async fn $name(
            state: web::Data<AppState>,
            caller: Caller,
            id: web::Path<i64>,
            body: OptionalJson<ActBody>,
        ) -> Result<HttpResponse, ApiError> {
            act(&state, &caller, *id, $action, body.into_inner()).await
        }
    };
}

transition_route!(
    start,
    "/api/v1/maintenance/orders/{id}/start",
    OrderAction::Start,
    "Starts work on an open order (engineers); assigns it to the starter if nobody is."
);
transition_route!(
    complete,
    "/api/v1/maintenance/orders/{id}/complete",
    OrderAction::Complete,
    "Completes an order in progress (engineers)."
);
transition_route!(
    cancel,
    "/api/v1/maintenance/orders/{id}/cancel",
    OrderAction::Cancel,
    "Cancels an open or in-progress order (engineers)."
);

/// Body of a work note; who wrote it is the signed-in user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// What was done or found (1-1000 characters).
    note: String,
    /// Parts used (at most 50 lines).
    #[serde(default)]
    parts_used: Vec<PartUsed>,
    /// Minutes of work this note accounts for (1-1440).
    #[serde(default)]
    minutes_spent: Option<i64>,
}

/// Adds a work note, with parts used and time spent, to an open or in-progress order.
#[utoipa::path(post, path = "/api/v1/maintenance/orders/{id}/notes", tag = "maintenance", request_body = NoteBody,
    params(("id" = i64, Path, description = "order id")),
    responses((status = 201, body = OrderDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the order is done or cancelled", body = ErrorBody),
        (status = 503, description = "maintenance mode", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn note(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let b: NoteBody = read(body.into_inner())?;
    let new = NewNote {
        note: text("note", &b.note, MAX_TEXT)?,
        parts: parts(&b.parts_used)?,
        minutes: minutes(b.minutes_spent)?,
    };
    let before = stored(&state, &caller, id).await?;
    state.written_here(&before.line, "maintenance orders")?;
    next_state(id, before.state, OrderAction::Note)?;
    let (now, by) = (state.clock.now_ms(), caller.principal.name());
    if !state.store.add_order_note(id, &new, now, &by).await? {
        let current = stored(&state, &caller, id).await?;
        next_state(id, current.state, OrderAction::Note)?;
        return Err(ApiError::Conflict(format!(
            "order {id} changed meanwhile; it is now {}",
            current.state
        )));
    }
    state
        .audit_by(
            &caller,
            OrderAction::Note.audit(),
            Some(id.to_string()),
            json!({ "machine": before.machine, "line": before.line, "minutes_spent": new.minutes,
                    "parts_used": new.parts }),
        )
        .await;
    let after = stored(&state, &caller, id).await?;
    Ok(HttpResponse::Created().json(detail(&state, &after).await?))
}

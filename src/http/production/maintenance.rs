//! Maintenance orders: create (by hand, from a downtime event or from an Andon ticket),
//! list, show with history and notes, start, complete, cancel, work notes, and a machine's
//! orders with the stops and tickets they came from.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::domain::andon::{Priority, Ticket, next_due};
use crate::domain::production::maintenance::{
    FieldError, MAX_NAME, MAX_TEXT, Order, OrderAction, OrderError, OrderState, OrderView, PartUsed, apply, minutes,
    next_state, optional_text, order_view, parts, text,
};
use crate::domain::snapshot::{TicketView, ticket_view};
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::body::OptionalJson;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::ApiQuery;
use crate::store::{DowntimeRecord, NewNote, NewOrder, OrderEvent, OrderFilter, OrderNote};

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

/// An order with its linked stop and ticket, history, notes and parts.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetail {
    /// The order and its own times.
    order: OrderView,
    /// The stop it came from: its span (stop to running again) is what MTTR counts.
    downtime: Option<DowntimeRecord>,
    /// The Andon ticket it came from.
    ticket: Option<TicketView>,
    /// Every transition and note, oldest first.
    history: Vec<OrderEvent>,
    /// Work notes, oldest first.
    notes: Vec<OrderNote>,
    /// Parts used over all notes, by part.
    parts_used: Vec<PartUsed>,
}

/// An order of a machine, with the stop and ticket it came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct MachineOrder {
    /// The order.
    order: OrderView,
    /// The linked stop.
    downtime: Option<DowntimeRecord>,
    /// The linked ticket.
    ticket: Option<TicketView>,
}

/// A machine's orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct MachineOrders {
    /// The machine.
    machine: String,
    /// Newest first (at most 200).
    orders: Vec<MachineOrder>,
}

/// Orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    /// Newest first.
    orders: Vec<OrderView>,
}

async fn linked(state: &AppState, o: &Order) -> Result<(Option<DowntimeRecord>, Option<TicketView>), ApiError> {
    let downtime = match o.downtime_id {
        Some(id) => state.store.downtime_event(id, state.clock.now_ms()).await?,
        None => None,
    };
    let ticket = match o.ticket_id {
        Some(id) => state.store.ticket(id).await?.map(|t| view_ticket(state, &t)),
        None => None,
    };
    Ok((downtime, ticket))
}

fn view_ticket(state: &AppState, t: &Ticket) -> TicketView {
    let plant = state.plant.plant();
    ticket_view(t, next_due(t, plant.andon.policies.policy(t.category, t.priority)))
}

async fn detail(state: &AppState, o: &Order) -> Result<OrderDetail, ApiError> {
    let (downtime, ticket) = linked(state, o).await?;
    let notes = state.store.order_notes(o.id).await?;
    let mut totals: BTreeMap<&str, f64> = BTreeMap::new();
    for p in notes.iter().flat_map(|n| &n.parts_used) {
        *totals.entry(p.part.as_str()).or_default() += p.quantity;
    }
    let parts_used = totals
        .into_iter()
        .map(|(part, quantity)| PartUsed {
            part: part.to_owned(),
            quantity,
        })
        .collect();
    Ok(OrderDetail {
        order: order_view(o),
        downtime,
        ticket,
        history: state.store.order_events(o.id).await?,
        parts_used,
        notes,
    })
}

async fn stored(state: &AppState, caller: &Caller, id: i64) -> Result<Order, ApiError> {
    let order = state.store.order(id).await?.ok_or(ApiError::NotFound {
        what: "maintenance order",
        id: id.to_string(),
    })?;
    caller.require_line(&order.line)?;
    Ok(order)
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
    state.plant.flush().await;
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

/// Filters of the order list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Machine id.
    machine: Option<String>,
    /// Line id.
    line: Option<String>,
    /// open, in_progress, done or cancelled.
    state: Option<String>,
    /// Created at or after (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// Most orders (1-1000, default 100).
    limit: Option<i64>,
}

/// Lists orders, newest first (the caller's lines).
#[utoipa::path(get, path = "/api/v1/maintenance/orders", tag = "maintenance", params(ListQuery),
    responses((status = 200, body = OrderList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "unknown line or machine", body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let plant = state.plant.plant().clone();
    if let Some(l) = &q.line {
        plant.line(l).ok_or_else(|| ApiError::NotFound {
            what: "line",
            id: l.clone(),
        })?;
        caller.require_line(l)?;
    }
    if let Some(m) = &q.machine {
        caller.require_line(&super::lines::machine_line(&state, m)?)?;
    }
    let order_state = match q.state.as_deref() {
        Some(s) => Some(OrderState::parse(s).ok_or_else(|| ApiError::BadRequest {
            message: format!("`state` must be open, in_progress, done or cancelled, got `{s}`"),
            details: Some(json!({ "parameter": "state", "value": s })),
        })?),
        None => None,
    };
    let filter = OrderFilter {
        machine: q.machine,
        line: q.line,
        lines: caller.principal.line_scope().map(<[String]>::to_vec),
        state: order_state,
        from: q.from.map(|t| t.timestamp_millis()),
        to: q.to.map(|t| t.timestamp_millis()),
        limit: q.limit.unwrap_or(100).clamp(1, 1_000),
    };
    let orders: Vec<OrderView> = state.store.orders(&filter).await?.iter().map(order_view).collect();
    Ok(HttpResponse::Ok().json(OrderList { orders }))
}

/// One order with its linked stop and ticket, history (each transition timed, by whom),
/// notes and parts.
#[utoipa::path(get, path = "/api/v1/maintenance/orders/{id}", tag = "maintenance",
    params(("id" = i64, Path, description = "order id")),
    responses((status = 200, body = OrderDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let order = stored(&state, &caller, *id).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &order).await?))
}

/// A machine's maintenance orders with the stops and tickets they came from.
#[utoipa::path(get, path = "/api/v1/machines/{id}/maintenance", tag = "maintenance",
    params(("id" = String, Path, description = "machine id")),
    responses((status = 200, body = MachineOrders), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn machine_orders(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_line(&super::lines::machine_line(&state, &id)?)?;
    let filter = OrderFilter {
        machine: Some(id.to_string()),
        limit: 200,
        ..OrderFilter::default()
    };
    let mut orders = Vec::new();
    for o in state.store.orders(&filter).await? {
        let (downtime, ticket) = linked(&state, &o).await?;
        orders.push(MachineOrder {
            order: order_view(&o),
            downtime,
            ticket,
        });
    }
    Ok(HttpResponse::Ok().json(MachineOrders {
        machine: id.into_inner(),
        orders,
    }))
}

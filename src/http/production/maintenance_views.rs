//! Maintenance orders as read: the order list, one order with its linked stop and ticket,
//! history, notes and parts, and a machine's orders with the stops and tickets they came
//! from. The writes are in [`super::maintenance`].

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::domain::andon::{Ticket, next_due};
use crate::domain::production::maintenance::{Order, OrderState, OrderView, order_view};
use crate::domain::production::maintenance_fields::PartUsed;
use crate::domain::snapshot::{TicketView, ticket_view};
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::error::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::ApiQuery;
use crate::store::{DowntimeRecord, OrderEvent, OrderFilter, OrderNote};

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

pub(super) async fn detail(state: &AppState, o: &Order) -> Result<OrderDetail, ApiError> {
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

pub(super) async fn stored(state: &AppState, caller: &Caller, id: i64) -> Result<Order, ApiError> {
    let order = state.store.order(id).await?.ok_or(ApiError::NotFound {
        what: "maintenance order",
        id: id.to_string(),
    })?;
    caller.require_line(&order.line)?;
    Ok(order)
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

//! The OpenAPI document of the whole HTTP interface, served at `/api/v1/openapi.json`.
//! A test checks that every route of the route table is in it and nothing else.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{
    andon, andon_assign, audit, auth, display_tokens, downtime, flags, forward, health, ingest, oee, production, users,
    web, ws,
};
use crate::domain::snapshot::{LineSnapshot, TicketView};
use crate::store::{DowntimeRecord, NotificationRow, TicketEvent};

/// The one error shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: bad_request, unauthorized, forbidden, not_found, conflict,
    /// payload_too_large, too_many_requests, feature_disabled, maintenance_mode,
    /// store_unavailable, unavailable.
    code: String,
    /// For people.
    message: String,
    /// Field, index, id … when known.
    #[schema(value_type = Option<Object>)]
    details: Option<serde_json::Value>,
}

/// Every line.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineList {
    /// In plant order.
    lines: Vec<LineSnapshot>,
}

/// Tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    /// Newest first.
    tickets: Vec<TicketView>,
}

/// A ticket with its history and pager deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDetail {
    /// The ticket.
    ticket: TicketView,
    /// Transitions and escalations, oldest first.
    events: Vec<TicketEvent>,
    /// Pages sent or pending.
    deliveries: Vec<NotificationRow>,
}

/// Downtime events.
#[derive(Debug, Serialize, ToSchema)]
pub struct DowntimeList {
    /// Newest first.
    downtime: Vec<DowntimeRecord>,
}

/// The reason tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonCodes {
    /// Category → specific reasons.
    #[schema(value_type = Object)]
    tree: serde_json::Value,
    /// Every code accepted by classify (`category` or `category/reason`).
    codes: Vec<String>,
}

/// A Pareto of downtime by reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParetoReport {
    /// The line, or null for the plant.
    line: Option<String>,
    /// Start.
    from: chrono::DateTime<chrono::Utc>,
    /// End.
    to: chrono::DateTime<chrono::Utc>,
    /// Whether micro-stops count.
    include_micro: bool,
    /// By minutes, descending.
    reasons: Vec<crate::domain::andon::ParetoRow>,
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description.to_owned()))
                    .build(),
            )
        };
        let jwt = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some("access token from /api/v1/auth/login (30 min)".to_owned()))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(jwt));
        components.add_security_scheme(
            "display_token",
            bearer("read-only display token (ms5d_…) made by an admin; browsers pass tokens to /ws as the subprotocols `ms5.bearer, <token>`"),
        );
        components.add_security_scheme("ingest_token", bearer("the configured auth.ingest_token"));
        components.add_security_scheme("metrics_token", bearer("the configured auth.metrics_token"));
        components.add_security_scheme(
            "forward_token",
            bearer("the configured auth.forward_token (a central's)"),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "MS5", description = "Live OEE, downtime and Andon for the factory floor."),
    paths(
        health::health, health::ready, health::metrics, ws::ws, document,
        auth::login, auth::refresh, auth::logout, auth::me,
        production::lines::lines, production::lines::line, oee::line_oee, production::lines::machine, oee::machine_oee,
        production::rejects::defects, production::rejects::list, production::rejects::log, production::rejects::show,
        production::rejects::void,
        ingest::ingest,
        andon::list, andon::raise, andon::show, andon::acknowledge, andon::resolve, andon::cancel,
        andon_assign::assign, andon_assign::assignees,
        downtime::list, downtime::reasons, downtime::pareto, downtime::classify, downtime::split,
        production::products::list, production::products::show, production::products::put, production::products::delete,
        production::jobs::list, production::jobs::create, production::jobs::show, production::jobs::update,
        production::jobs::release, production::jobs::start, production::jobs::pause, production::jobs::complete,
        production::jobs::cancel,
        production::checklist_templates::list, production::checklist_templates::create,
        production::checklist_templates::show, production::checklist_templates::update,
        production::checklist_templates::delete,
        production::checklists::list, production::checklists::fill, production::checklists::current,
        production::handover::read, production::handover::write,
        production::reports::shift, production::reports::regenerate, production::reports::day,
        production::reports::week, production::series::series,
        flags::list, flags::set,
        users::list, users::create, users::update,
        display_tokens::list, display_tokens::create, display_tokens::revoke,
        audit::list,
        forward::receive, forward::status, forward::quarantine, forward::retry, forward::discard,
        production::maintenance_views::list, production::maintenance::create, production::maintenance_views::show,
        production::maintenance::start, production::maintenance::complete, production::maintenance::cancel,
        production::maintenance::note, production::maintenance_views::machine_orders,
        production::analytics::machines, production::analytics::losses, production::analytics::health,
        web::index, web::app, web::asset,
    ),
    components(schemas(
        ErrorBody,
        production::rejects::DefectCodes, production::rejects::RejectList,
        production::rejects::LogBody, production::rejects::VoidBody, crate::store::RejectRecord, crate::store::RejectVoid,
        production::maintenance_views::OrderDetail, production::maintenance_views::OrderList,
        production::maintenance_views::MachineOrders,
        production::analytics::MachineAnalytics, production::analytics::LineLosses, production::analytics::MachineHealth,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign-in and tokens"),
        (name = "production", description = "Live lines and machines, products and jobs"),
        (name = "oee", description = "OEE by window or span"),
        (name = "reports", description = "Shift, day and week reports (JSON, CSV, print view) and OEE series"),
        (name = "andon", description = "Andon tickets"),
        (name = "downtime", description = "Downtime events and reasons"),
        (name = "rejects", description = "Manual rejects and defect codes"),
        (name = "checklists", description = "Shift-start checklists and handover notes"),
        (name = "flags", description = "Feature flags"),
        (name = "users", description = "Accounts (admins)"),
        (name = "display tokens", description = "Wall displays (admins)"),
        (name = "audit", description = "Audit log (admins)"),
        (name = "forward", description = "Edge store-and-forward: records in (a central), outbox and quarantine (an edge's admins)"),
        (name = "maintenance", description = "Maintenance orders (engineers write, everyone reads)"),
        (name = "analytics", description = "Loss analytics: MTBF, MTTR, six big losses, trend warning (advanced_analytics)"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn document() -> HttpResponse {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    HttpResponse::Ok().json(doc)
}

//! The HTTP edge: REST under `/api/v1`, the WebSocket at `/ws`, health and metrics, and
//! the embedded web UI. Handlers are thin: they parse, ask the plant actors or the store,
//! and answer in one JSON shape (see [`error::ApiError`]).

pub mod access;
pub mod andon;
pub mod andon_assign;
pub mod audit;
pub mod auth;
pub mod body;
pub mod cached_body;
pub mod display_tokens;
pub mod downtime;
pub mod error;
pub mod flags;
pub mod forward;
pub mod health;
pub mod idempotency;
pub mod ingest;
pub mod oee;
pub mod openapi;
pub mod production;
pub mod query;
pub mod users;
pub mod web;
pub mod ws;

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, Next, from_fn};
use actix_web::{HttpRequest, ResponseError, web as aw};
use metrics_exporter_prometheus::PrometheusHandle;

use self::access::Caller;
use self::error::ApiError;
use crate::actors::plant::PlantHandle;
use crate::auth::Auth;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::access::Access;
use crate::flags::FeatureFlags;
use crate::plc::TagSink;
use crate::store::AuditEntry;
use crate::store::Store;

/// What handlers share.
pub struct AppState {
    /// The plant's actors.
    pub plant: PlantHandle,
    /// The store.
    pub store: Store,
    /// Prometheus rendering.
    pub metrics: PrometheusHandle,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Wall clock.
    pub clock: Clock,
    /// Where ingested samples go.
    pub ingest: TagSink,
    /// Sign-in and credentials.
    pub auth: Arc<Auth>,
    /// Feature flags in force.
    pub flags: Arc<FeatureFlags>,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<crate::config::ProxyRange>,
    /// Jobs' views, products and `jobs:{line}` frames.
    pub jobs: crate::actors::job_board::JobBoard,
    /// Reports: made, stored and read.
    pub reports: crate::actors::report_builder::ReportBuilder,
    /// The command that creates the first admin for this configuration (for the
    /// answer to a sign-in while no account exists).
    pub first_admin: String,
}

impl AppState {
    /// Refuses a write of `what` on `line` when an edge runs it (`edge` in the plant model):
    /// the edge writes it and forwards it here, and nothing goes back to the edge.
    pub fn written_here(&self, line: &str, what: &str) -> Result<(), ApiError> {
        match self.plant.plant().line(line).and_then(|(_, l)| l.edge.as_deref()) {
            Some(edge) => Err(ApiError::Conflict(format!(
                "line `{line}` is run by edge `{edge}`: write its {what} there"
            ))),
            None => Ok(()),
        }
    }

    /// Appends to the audit log. A failure is logged and counted, never shown to the
    /// caller: the change it records has already happened.
    pub async fn audit(
        &self,
        actor: &str,
        source: &str,
        action: &'static str,
        target: Option<String>,
        outcome: &'static str,
        details: serde_json::Value,
    ) {
        let entry = AuditEntry {
            at: self.clock.now_ms(),
            actor: actor.to_owned(),
            action,
            target,
            outcome,
            source: Some(source.to_owned()),
            details,
        };
        self.store.record_audit(&entry).await;
    }

    /// Appends a successful write by `caller`.
    pub async fn audit_by(
        &self,
        caller: &Caller,
        action: &'static str,
        target: Option<String>,
        details: serde_json::Value,
    ) {
        self.audit(&caller.principal.name(), &caller.addr, action, target, "ok", details)
            .await;
    }
}

/// The security headers every response carries.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; \
             script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
}

/// Times every request by its route pattern (not its path, to bound label values).
async fn timed(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    metrics::histogram!(
        crate::metrics::HTTP_REQUEST_SECONDS,
        "method" => method,
        "route" => route,
        "status" => res.status().as_u16().to_string()
    )
    .record(started.elapsed().as_secs_f64());
    Ok(res)
}

fn json_error(err: actix_web::error::JsonPayloadError, _: &HttpRequest, limit: usize) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::PayloadTooLarge { limit },
        E::ContentType => ApiError::bad_request("send JSON with Content-Type: application/json"),
        E::Deserialize(e) => ApiError::BadRequest {
            message: format!("invalid JSON body: {e}"),
            details: Some(serde_json::json!({ "line": e.line(), "column": e.column() })),
        },
        other => ApiError::bad_request(format!("cannot read body: {other}")),
    };
    actix_web::error::InternalError::from_response(err, api.error_response()).into()
}

fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    let api = ApiError::bad_request(format!("invalid path parameter: {err}"));
    actix_web::error::InternalError::from_response(err, api.error_response()).into()
}

async fn not_found(req: HttpRequest) -> actix_web::HttpResponse {
    ApiError::NotFound {
        what: "route",
        id: req.path().to_owned(),
    }
    .error_response()
}

/// One row of the route table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The path pattern, as in the OpenAPI document.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Whether it honours an `Idempotency-Key` (see [`idempotency`]).
    pub idempotent: bool,
}

/// The route table: every route, its handler and who may call it, in one place. Each
/// route is registered with its own access check; nothing else is routed.
macro_rules! route_table {
    ($( $method:ident $path:literal => $handler:path, $access:ident $(, $idem:ident)?; )*) => {
        /// Every route MS5 serves, with its access rule.
        pub const ROUTES: &[Rule] = &[
            $( Rule {
                method: route_table!(@name $method),
                path: $path,
                access: Access::$access,
                idempotent: route_table!(@idem $($idem)?),
            }, )*
        ];

        fn register(cfg: &mut aw::ServiceConfig) {
            $(
                cfg.service(
                    aw::resource($path)
                        .guard(actix_web::guard::$method())
                        // The last wrap runs first: the caller is known before a key is looked up.
                        .wrap(from_fn(|req, next| idempotency::replay(route_table!(@idem $($idem)?), req, next)))
                        .wrap(from_fn(|req, next| access::authorize(Access::$access, req, next)))
                        .to($handler),
                );
            )*
        }
    };
    (@idem idempotent) => { true };
    (@idem) => { false };
    (@name Get) => { "GET" };
    (@name Post) => { "POST" };
    (@name Put) => { "PUT" };
    (@name Patch) => { "PATCH" };
    (@name Delete) => { "DELETE" };
}

route_table! {
    Get "/health" => health::health, Open;
    Get "/ready" => health::ready, Open;
    Get "/metrics" => health::metrics, Metrics;
    Get "/ws" => ws::ws, Read;
    Get "/api/v1/openapi.json" => openapi::document, Open;
    Post "/api/v1/auth/login" => auth::login, Open;
    Post "/api/v1/auth/refresh" => auth::refresh, Open;
    Post "/api/v1/auth/logout" => auth::logout, Open;
    Get "/api/v1/auth/me" => auth::me, Read;
    Get "/api/v1/production/lines" => production::lines::lines, Read;
    Get "/api/v1/lines/{id}" => production::lines::line, Read;
    Get "/api/v1/lines/{id}/oee" => oee::line_oee, Read;
    Get "/api/v1/lines/{id}/oee/series" => production::series::series, Read;
    Get "/api/v1/machines/{id}" => production::lines::machine, Read;
    Get "/api/v1/machines/{id}/oee" => oee::machine_oee, Read;
    Get "/api/v1/lines/{id}/defects" => production::rejects::defects, Read;
    Get "/api/v1/rejects" => production::rejects::list, Read;
    Post "/api/v1/rejects" => production::rejects::log, Operate, idempotent;
    Get "/api/v1/rejects/{id}" => production::rejects::show, Read;
    Post "/api/v1/rejects/{id}/void" => production::rejects::void, Supervise;
    Get "/api/v1/machines/{id}/maintenance" => production::maintenance_views::machine_orders, Read;
    Get "/api/v1/machines/{id}/health" => production::analytics::health, Read;
    Get "/api/v1/lines/{id}/losses" => production::analytics::losses, Read;
    Get "/api/v1/analytics/machines" => production::analytics::machines, Read;
    Get "/api/v1/maintenance/orders" => production::maintenance_views::list, Read;
    Post "/api/v1/maintenance/orders" => production::maintenance::create, Engineer;
    Get "/api/v1/maintenance/orders/{id}" => production::maintenance_views::show, Read;
    Post "/api/v1/maintenance/orders/{id}/start" => production::maintenance::start, Engineer;
    Post "/api/v1/maintenance/orders/{id}/complete" => production::maintenance::complete, Engineer;
    Post "/api/v1/maintenance/orders/{id}/cancel" => production::maintenance::cancel, Engineer;
    Post "/api/v1/maintenance/orders/{id}/notes" => production::maintenance::note, Engineer;
    Post "/api/v1/ingest" => ingest::ingest, Ingest;
    Get "/api/v1/andon/tickets" => andon::list, Read;
    Post "/api/v1/andon/tickets" => andon::raise, Operate, idempotent;
    Get "/api/v1/andon/tickets/{id}" => andon::show, Read;
    Post "/api/v1/andon/tickets/{id}/acknowledge" => andon::acknowledge, Operate, idempotent;
    Post "/api/v1/andon/tickets/{id}/resolve" => andon::resolve, Operate, idempotent;
    Post "/api/v1/andon/tickets/{id}/cancel" => andon::cancel, Supervise;
    Post "/api/v1/andon/tickets/{id}/assign" => andon_assign::assign, Supervise;
    Get "/api/v1/andon/assignees" => andon_assign::assignees, Supervise;
    Get "/api/v1/downtime" => downtime::list, Read;
    Get "/api/v1/downtime/reasons" => downtime::reasons, Read;
    Get "/api/v1/downtime/pareto" => downtime::pareto, Read;
    Post "/api/v1/downtime/{id}/classify" => downtime::classify, Operate, idempotent;
    Post "/api/v1/downtime/{id}/split" => downtime::split, Operate, idempotent;
    Get "/api/v1/products" => production::products::list, Read;
    Get "/api/v1/products/{code}" => production::products::show, Read;
    Put "/api/v1/products/{code}" => production::products::put, Engineer;
    Delete "/api/v1/products/{code}" => production::products::delete, Engineer;
    Get "/api/v1/jobs" => production::jobs::list, Read;
    Post "/api/v1/jobs" => production::jobs::create, Supervise;
    Get "/api/v1/jobs/{id}" => production::jobs::show, Read;
    Patch "/api/v1/jobs/{id}" => production::jobs::update, Supervise;
    Post "/api/v1/jobs/{id}/release" => production::jobs::release, Supervise;
    Post "/api/v1/jobs/{id}/start" => production::jobs::start, Supervise;
    Post "/api/v1/jobs/{id}/pause" => production::jobs::pause, Supervise;
    Post "/api/v1/jobs/{id}/complete" => production::jobs::complete, Supervise;
    Post "/api/v1/jobs/{id}/cancel" => production::jobs::cancel, Supervise;
    Get "/api/v1/checklist-templates" => production::checklist_templates::list, Read;
    Post "/api/v1/checklist-templates" => production::checklist_templates::create, Admin;
    Get "/api/v1/checklist-templates/{id}" => production::checklist_templates::show, Read;
    Put "/api/v1/checklist-templates/{id}" => production::checklist_templates::update, Admin;
    Delete "/api/v1/checklist-templates/{id}" => production::checklist_templates::delete, Admin;
    Get "/api/v1/lines/{id}/checklists" => production::checklists::list, Read;
    Post "/api/v1/lines/{id}/checklists" => production::checklists::fill, Operate, idempotent;
    Get "/api/v1/lines/{id}/checklists/current" => production::checklists::current, Read;
    Get "/api/v1/lines/{id}/handover" => production::handover::read, Read;
    Post "/api/v1/lines/{id}/handover" => production::handover::write, Operate, idempotent;
    Get "/api/v1/reports/shift" => production::reports::shift, Read;
    Post "/api/v1/reports/shift/regenerate" => production::reports::regenerate, Supervise;
    Get "/api/v1/reports/day" => production::reports::day, Read;
    Get "/api/v1/reports/week" => production::reports::week, Read;
    Get "/api/v1/flags" => flags::list, Read;
    Put "/api/v1/flags/{name}" => flags::set, Admin;
    Get "/api/v1/users" => users::list, Admin;
    Post "/api/v1/users" => users::create, Admin;
    Patch "/api/v1/users/{username}" => users::update, Admin;
    Get "/api/v1/display-tokens" => display_tokens::list, Admin;
    Post "/api/v1/display-tokens" => display_tokens::create, Admin;
    Delete "/api/v1/display-tokens/{id}" => display_tokens::revoke, Admin;
    Get "/api/v1/audit" => audit::list, Admin;
    Post "/api/v1/forward" => forward::receive, Forward;
    Get "/api/v1/forward/status" => forward::status, Admin;
    Get "/api/v1/forward/quarantine" => forward::quarantine, Admin;
    Post "/api/v1/forward/quarantine/{seq}/retry" => forward::retry, Admin;
    Delete "/api/v1/forward/quarantine/{seq}" => forward::discard, Admin;
    Get "/" => web::index, Open;
    Get "/app" => web::app, Open;
    Get "/{file:(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_.-]+\\.(?:js|css|svg|png|json|webmanifest)}" => web::asset, Open;
}

/// CORS for the configured other origins (none: same-origin only).
fn cors(allowed: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::HeaderName::from_static(idempotency::HEADER),
        ])
        .max_age(3600);
    for origin in allowed {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// Mounts every route on an app.
pub fn routes(cfg: &mut aw::ServiceConfig, max_body: usize, allowed_origins: &[String]) {
    cfg.app_data(
        aw::JsonConfig::default()
            .limit(max_body)
            .error_handler(move |e, r| json_error(e, r, max_body)),
    )
    .app_data(aw::PathConfig::default().error_handler(path_error))
    .app_data(aw::PayloadConfig::default().limit(max_body))
    .service(
        aw::scope("")
            .wrap(cors(allowed_origins))
            .wrap(from_fn(timed))
            .wrap(security_headers())
            .configure(register)
            .default_service(aw::to(not_found)),
    );
}

//! The HTTP edge: REST under `/api/v1`, the WebSocket at `/ws`, health and metrics, and
//! the embedded web UI. Handlers are thin: they parse, ask the plant actors or the store,
//! and answer in one JSON shape (see [`error::ApiError`]).

pub mod andon;
pub mod downtime;
pub mod error;
pub mod health;
pub mod ingest;
pub mod oee;
pub mod production;
pub mod web;
pub mod ws;

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, Next, from_fn};
use actix_web::{HttpRequest, ResponseError, web as aw};
use metrics_exporter_prometheus::PrometheusHandle;

use self::error::ApiError;
use crate::actors::plant::PlantHandle;
use crate::clock::Clock;
use crate::config::Settings;
use crate::plc::TagSink;
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

fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = ApiError::bad_request(format!("invalid query: {err}"));
    actix_web::error::InternalError::from_response(err, api.error_response()).into()
}

async fn not_found(req: HttpRequest) -> actix_web::HttpResponse {
    ApiError::NotFound {
        what: "route",
        id: req.path().to_owned(),
    }
    .error_response()
}

/// Mounts every route on an app.
pub fn routes(cfg: &mut aw::ServiceConfig, max_body: usize) {
    cfg.app_data(
        aw::JsonConfig::default()
            .limit(max_body)
            .error_handler(move |e, r| json_error(e, r, max_body)),
    )
    .app_data(aw::QueryConfig::default().error_handler(query_error))
    .app_data(aw::PathConfig::default().error_handler(path_error))
    .app_data(aw::PayloadConfig::default().limit(max_body))
    .service(
        aw::scope("")
            .wrap(from_fn(timed))
            .wrap(security_headers())
            .service(health::health)
            .service(health::ready)
            .service(health::metrics)
            .service(ws::ws)
            .service(
                aw::scope("/api/v1")
                    .service(production::lines)
                    .service(oee::line_oee)
                    .service(production::line)
                    .service(oee::machine_oee)
                    .service(production::machine)
                    .service(ingest::ingest)
                    .service(andon::raise)
                    .service(andon::list)
                    .service(andon::show)
                    .service(andon::acknowledge)
                    .service(andon::resolve)
                    .service(andon::cancel)
                    .service(downtime::list)
                    .service(downtime::reasons)
                    .service(downtime::pareto)
                    .service(downtime::classify)
                    .default_service(aw::to(not_found)),
            )
            .service(web::index)
            .service(web::asset)
            .default_service(aw::to(not_found)),
    );
}

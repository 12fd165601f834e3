//! Liveness, readiness and Prometheus metrics.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::openapi::ErrorBody;

/// The process is up.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The store answers and every line and machine actor answers.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, description = "ready"), (status = 503, description = "not ready", body = ErrorBody)))]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let limit = Duration::from_secs(2);
    match tokio::time::timeout(limit, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => return Err(ApiError::Unavailable("the store did not answer within 2 s".into())),
    }
    match tokio::time::timeout(limit, state.plant.actors_up()).await {
        Ok(true) => {
            Ok(HttpResponse::Ok().json(json!({ "status": "ready", "checks": { "store": "ok", "actors": "ok" } })))
        }
        _ => Err(ApiError::Unavailable("plant actors are not answering".into())),
    }
}

/// Prometheus text exposition (needs the metrics token when `auth.metrics_token` is set).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 401, description = "metrics token required", body = ErrorBody)),
    security((), ("metrics_token" = [])))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

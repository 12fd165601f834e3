//! Liveness, readiness and Prometheus metrics.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use super::AppState;
use super::error::ApiError;

/// The process is up.
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The store answers and every line and machine actor answers.
#[get("/ready")]
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

/// Prometheus text exposition.
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

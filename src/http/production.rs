//! Live snapshots of lines and machines.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use super::AppState;
use super::error::ApiError;

/// Every line with its machines.
#[get("/production/lines")]
pub async fn lines(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "lines": state.plant.lines().await }))
}

/// One line with its machines.
#[get("/lines/{id}")]
pub async fn line(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match state.plant.line(&id).await {
        Some(line) => Ok(HttpResponse::Ok().json(&*line)),
        None => Err(ApiError::NotFound {
            what: "line",
            id: id.into_inner(),
        }),
    }
}

/// One machine.
#[get("/machines/{id}")]
pub async fn machine(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match state.plant.machine(&id).await {
        Some(machine) => Ok(HttpResponse::Ok().json(&*machine)),
        None => Err(ApiError::NotFound {
            what: "machine",
            id: id.into_inner(),
        }),
    }
}

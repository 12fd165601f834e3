//! Live snapshots of lines and machines.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::domain::snapshot::{LineSnapshot, MachineSnapshot};
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::error::ApiError;
use crate::http::openapi::{ErrorBody, LineList};

/// The line of a machine, or 404.
pub fn machine_line(state: &AppState, machine: &str) -> Result<String, ApiError> {
    let plant = state.plant.plant();
    plant
        .machine(machine)
        .map(|(_, m)| plant.lines[m.line].id.clone())
        .ok_or_else(|| ApiError::NotFound {
            what: "machine",
            id: machine.to_owned(),
        })
}

/// Every line (the caller's lines) with its machines.
#[utoipa::path(get, path = "/api/v1/production/lines", tag = "production",
    responses((status = 200, body = LineList), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn lines(state: web::Data<AppState>, caller: Caller) -> HttpResponse {
    let lines: Vec<_> = state
        .plant
        .lines()
        .await
        .into_iter()
        .filter(|l| caller.principal.sees_line(&l.id))
        .collect();
    HttpResponse::Ok().json(json!({ "lines": lines }))
}

/// One line with its machines.
#[utoipa::path(get, path = "/api/v1/lines/{id}", tag = "production",
    params(("id" = String, Path, description = "line id")),
    responses((status = 200, body = LineSnapshot), (status = 401, body = ErrorBody),
        (status = 403, description = "not one of the caller's lines", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn line(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match state.plant.line(&id).await {
        Some(line) => {
            caller.require_line(&id)?;
            Ok(HttpResponse::Ok().json(&*line))
        }
        None => Err(ApiError::NotFound {
            what: "line",
            id: id.into_inner(),
        }),
    }
}

/// One machine.
#[utoipa::path(get, path = "/api/v1/machines/{id}", tag = "production",
    params(("id" = String, Path, description = "machine id")),
    responses((status = 200, body = MachineSnapshot), (status = 401, body = ErrorBody),
        (status = 403, description = "not one of the caller's lines", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn machine(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_line(&machine_line(&state, &id)?)?;
    match state.plant.machine(&id).await {
        Some(machine) => Ok(HttpResponse::Ok().json(&*machine)),
        None => Err(ApiError::NotFound {
            what: "machine",
            id: id.into_inner(),
        }),
    }
}

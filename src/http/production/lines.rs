//! Live snapshots of lines and machines.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::snapshot::{LineSnapshot, MachineSnapshot};
use crate::http::AppState;
use crate::http::access::Caller;
use crate::http::cached_body::respond;
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
    params(("If-None-Match" = Option<String>, Header, description = "an `ETag` from an earlier answer: 304 while nothing changed"),
        ("Accept-Encoding" = Option<String>, Header, description = "`gzip` for a gzipped body")),
    responses((status = 200, body = LineList, headers(("ETag" = String))), (status = 304, description = "not modified since the `ETag` given"),
        (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn lines(req: HttpRequest, state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let plant = state.plant.plant();
    let mut parts = Vec::with_capacity(plant.lines.len());
    let mut every_line = true;
    for (idx, line) in plant.lines.iter().enumerate() {
        if !caller.principal.sees_line(&line.id) {
            every_line = false;
            continue;
        }
        parts.push(state.plant.line_body(idx).await.ok_or_else(not_answering)?);
    }
    Ok(respond(&req, &state.plant.cache().lines_body(&parts, every_line)))
}

fn not_answering() -> ApiError {
    ApiError::Unavailable("the plant's actors are not answering: retry".into())
}

/// One line with its machines.
#[utoipa::path(get, path = "/api/v1/lines/{id}", tag = "production",
    params(("id" = String, Path, description = "line id"),
        ("If-None-Match" = Option<String>, Header, description = "an `ETag` from an earlier answer: 304 while nothing changed")),
    responses((status = 200, body = LineSnapshot, headers(("ETag" = String))), (status = 304, description = "not modified"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "not one of the caller's lines", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn line(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some((idx, _)) = state.plant.plant().line(&id) else {
        return Err(ApiError::NotFound {
            what: "line",
            id: id.into_inner(),
        });
    };
    caller.require_line(&id)?;
    let body = state.plant.line_body(idx).await.ok_or_else(not_answering)?;
    Ok(respond(&req, &body))
}

/// One machine.
#[utoipa::path(get, path = "/api/v1/machines/{id}", tag = "production",
    params(("id" = String, Path, description = "machine id"),
        ("If-None-Match" = Option<String>, Header, description = "an `ETag` from an earlier answer: 304 while nothing changed")),
    responses((status = 200, body = MachineSnapshot, headers(("ETag" = String))), (status = 304, description = "not modified"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "not one of the caller's lines", body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn machine(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_line(&machine_line(&state, &id)?)?;
    let idx = state.plant.plant().machine(&id).map(|(i, _)| i);
    let body = match idx {
        Some(idx) => state.plant.machine_body(idx).await.ok_or_else(not_answering)?,
        None => {
            return Err(ApiError::NotFound {
                what: "machine",
                id: id.into_inner(),
            });
        }
    };
    Ok(respond(&req, &body))
}

//! Display tokens for wall displays (admins only): read-only, line-scoped, long-lived,
//! revocable.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::AppState;
use super::access::Caller;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::users::check_lines;
use crate::actors::hub::{CloseRevoked, Revoked};
use crate::store::DisplayToken;

/// Longest display name.
const MAX_NAME: usize = 100;

/// The display tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisplayTokenList {
    /// Newest first, revoked ones included.
    display_tokens: Vec<DisplayToken>,
}

/// Lists display tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/display-tokens", tag = "display tokens",
    responses((status = 200, body = DisplayTokenList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(DisplayTokenList {
        display_tokens: state.store.display_tokens().await?,
    }))
}

/// A new display token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDisplayToken {
    /// Where the display hangs ("Hall 2, east wall").
    name: String,
    /// Lines it shows; absent or null: all.
    #[serde(default)]
    lines: Option<Vec<String>>,
}

/// A display token with its secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedDisplayToken {
    /// The secret: open the board at `/#token=<this>`. It is not shown again.
    token: String,
    /// The token's record.
    display_token: DisplayToken,
}

/// Makes a display token.
#[utoipa::path(post, path = "/api/v1/display-tokens", tag = "display tokens", request_body = NewDisplayToken,
    responses((status = 201, body = CreatedDisplayToken), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "unknown line", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewDisplayToken>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ApiError::BadRequest {
            message: format!("`name` must be 1-{MAX_NAME} characters"),
            details: Some(json!({ "field": "name" })),
        });
    }
    check_lines(&state, &b.lines)?;
    let (token, display_token) = state
        .auth
        .create_display_token(name, &b.lines, &caller.principal.name())
        .await?;
    state
        .audit_by(
            &caller,
            "display_token.create",
            Some(display_token.id.to_string()),
            json!({ "name": display_token.name, "lines": display_token.lines }),
        )
        .await;
    Ok(HttpResponse::Created().json(CreatedDisplayToken { token, display_token }))
}

/// Revokes a display token: it stops working at once and its open sockets close.
#[utoipa::path(delete, path = "/api/v1/display-tokens/{id}", tag = "display tokens",
    params(("id" = i64, Path, description = "display token id")),
    responses((status = 200, description = "revoked", body = DisplayToken), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let revoked = state
        .auth
        .revoke_display_token(id, &caller.principal.name())
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "display token",
            id: id.to_string(),
        })?;
    state.plant.hub().do_send(CloseRevoked(Revoked::Display(id)));
    state
        .audit_by(
            &caller,
            "display_token.revoke",
            Some(id.to_string()),
            json!({ "name": revoked.name }),
        )
        .await;
    Ok(HttpResponse::Ok().json(revoked))
}

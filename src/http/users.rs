//! Accounts (admins only): list, create, change role/lines/password, disable.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use utoipa::ToSchema;

use super::AppState;
use super::access::Caller;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::actors::hub::{CloseRevoked, Revoked};
use crate::auth::accounts::MAX_USERNAME_CHARS;
use crate::auth::password;
use crate::domain::access::Role;
use crate::store::{User, UserChange};

/// Checks a username: 1–64 of letters, digits and `. _ @ -`.
pub fn check_username(name: &str) -> Result<(), ApiError> {
    if crate::auth::accounts::valid_username(name) {
        Ok(())
    } else {
        Err(ApiError::BadRequest {
            message: format!("`username` must be 1-{MAX_USERNAME_CHARS} letters, digits or . _ @ -"),
            details: Some(json!({ "field": "username" })),
        })
    }
}

/// Checks a line scope: a non-empty list of lines of this plant.
pub fn check_lines(state: &AppState, lines: &Option<Vec<String>>) -> Result<(), ApiError> {
    let Some(lines) = lines else { return Ok(()) };
    if lines.is_empty() {
        return Err(ApiError::bad_request(
            "`lines` must name at least one line, or be null for all lines",
        ));
    }
    match lines.iter().find(|l| state.plant.plant().line(l).is_none()) {
        Some(l) => Err(ApiError::NotFound {
            what: "line",
            id: l.clone(),
        }),
        None => Ok(()),
    }
}

async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|_| ApiError::Unavailable("cannot hash the password".into()))?
        .map_err(|e| ApiError::BadRequest {
            message: e.to_string(),
            details: Some(json!({ "field": "password" })),
        })
}

/// The accounts.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct UserList {
    /// By username.
    users: Vec<User>,
}

/// Lists accounts.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, description = "accounts", body = UserList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(UserList {
        users: state.store.users().await?,
    }))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name.
    username: String,
    /// At least 12 characters.
    password: String,
    /// Role.
    role: Role,
    /// Lines the user is limited to; absent or null: all.
    #[serde(default)]
    lines: Option<Vec<String>>,
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, description = "created", body = User),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "unknown line", body = ErrorBody),
        (status = 409, description = "username taken", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    check_username(&b.username)?;
    check_lines(&state, &b.lines)?;
    let hashed = hash(b.password).await?;
    let user = state
        .store
        .insert_user(&b.username, &hashed, b.role, &b.lines, state.clock.now_ms())
        .await?;
    state
        .audit_by(
            &caller,
            "user.create",
            Some(user.username.clone()),
            json!({ "role": user.role, "lines": user.lines }),
        )
        .await;
    Ok(HttpResponse::Created().json(user))
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to an account; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New role.
    #[serde(default)]
    role: Option<Role>,
    /// New line scope; `null`: all lines.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    lines: Option<Option<Vec<String>>>,
    /// Disable (true) or enable (false).
    #[serde(default)]
    disabled: Option<bool>,
    /// New password (at least 12 characters).
    #[serde(default)]
    password: Option<String>,
}

/// Changes an account. Its sign-ins end (tokens issued before stop working).
#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "users", request_body = UserPatch,
    params(("username" = String, Path, description = "login name")),
    responses((status = 200, description = "changed", body = User),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "would leave no active admin", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    username: web::Path<String>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    if let Some(lines) = &b.lines {
        check_lines(&state, lines)?;
    }
    let Some((current, _)) = state.store.user_with_hash(&username).await? else {
        return Err(ApiError::NotFound {
            what: "user",
            id: username.into_inner(),
        });
    };
    let password_changed = b.password.is_some();
    // Only a real change ends the user's sessions (an empty or repeated change does not).
    let changed = b.role.is_some_and(|r| r != current.role)
        || b.lines.as_ref().is_some_and(|l| *l != current.lines)
        || b.disabled.is_some_and(|d| d != current.disabled)
        || password_changed;
    let change = UserChange {
        role: b.role,
        lines: b.lines.clone(),
        disabled: b.disabled,
        password_hash: match b.password {
            Some(p) => Some(hash(p).await?),
            None => None,
        },
    };
    // The store refuses, in the same transaction, a change that leaves no active admin.
    let user = state
        .store
        .update_user(&username, &change, changed, state.clock.now_ms())
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "user",
            id: username.to_string(),
        })?;
    if changed {
        state.auth.user_changed(&user);
        state.plant.hub().do_send(CloseRevoked(Revoked::User(user.id)));
    }
    state
        .audit_by(
            &caller,
            "user.update",
            Some(user.username.clone()),
            json!({ "role": b.role, "lines": b.lines, "disabled": b.disabled, "password_changed": password_changed }),
        )
        .await;
    Ok(HttpResponse::Ok().json(user))
}

//! Sign-in, token refresh, sign-out and "who am I".

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::AppState;
use super::access::{Caller, client_addr};
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::actors::hub::{CloseRevoked, Revoked};
use crate::auth::{AuthError, Tokens};
use crate::domain::access::{Principal, Role};

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials | AuthError::InvalidRefresh | AuthError::RefreshReuse { .. } => {
                ApiError::Unauthorized(e.to_string())
            }
            AuthError::Locked(retry_after) => ApiError::TooManyRequests {
                message: e.to_string(),
                retry_after,
            },
            AuthError::NoUsers => ApiError::Unavailable(e.to_string()),
            AuthError::Busy => ApiError::TooManyRequests {
                message: e.to_string(),
                retry_after: 1,
            },
            AuthError::Store(s) => ApiError::from(s),
            AuthError::Internal(m) => {
                tracing::error!(error = %m, "auth failure");
                ApiError::Unavailable("cannot issue tokens right now".into())
            }
        }
    }
}

/// Sign-in request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Username.
    username: String,
    /// Password.
    password: String,
}

/// Signs in with a username and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, description = "signed in", body = Tokens),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "invalid username or password (one answer for both)", body = ErrorBody),
        (status = 429, description = "too many failures: see Retry-After", body = ErrorBody),
        (status = 503, description = "no accounts exist yet", body = ErrorBody)))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let addr = client_addr(&req);
    let result = state.auth.login(&body.username, &body.password, &addr).await;
    // A failed sign-in records the name only if an account has it: people type passwords
    // into the name field, and the audit log cannot be cleaned.
    let known = match &result {
        Ok(_) => true,
        Err(_) => {
            crate::auth::accounts::valid_username(&body.username)
                && state
                    .store
                    .user_with_hash(&body.username)
                    .await
                    .ok()
                    .flatten()
                    .is_some()
        }
    };
    let name = if known {
        body.username.clone()
    } else {
        "(unknown user)".to_owned()
    };
    let (outcome, details) = match &result {
        Ok(_) => ("ok", json!({})),
        Err(AuthError::Locked(s)) => ("denied", json!({ "reason": "locked", "retry_after_s": s })),
        Err(AuthError::InvalidCredentials) => ("denied", json!({ "reason": "invalid_credentials" })),
        Err(e) => ("failed", json!({ "reason": failure_reason(e) })),
    };
    if outcome != "ok" {
        tracing::warn!(username = %name, addr = %addr, outcome, "sign-in refused");
    }
    state.audit(&name, &addr, "auth.login", None, outcome, details).await;
    let tokens = result.map_err(|e| match e {
        AuthError::NoUsers => ApiError::Unavailable(format!(
            "no accounts exist yet: create the first admin with `{}`",
            state.first_admin
        )),
        e => e.into(),
    })?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// The audit log's `reason` for a sign-in that could not be decided (outcome `failed`).
fn failure_reason(e: &AuthError) -> &'static str {
    match e {
        AuthError::NoUsers => "no_accounts",
        AuthError::Busy => "busy",
        AuthError::Store(_) => "unavailable",
        _ => "internal",
    }
}

/// A refresh token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The refresh token from sign-in or the last refresh.
    refresh_token: String,
}

/// Exchanges a refresh token for new tokens. The old refresh token dies; using it again
/// revokes every token of that sign-in.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, description = "new tokens", body = Tokens),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "unknown, expired, revoked or reused refresh token", body = ErrorBody)))]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let addr = client_addr(&req);
    match state.auth.refresh(&body.refresh_token).await {
        Ok(tokens) => {
            state
                .audit(&tokens.user.username, &addr, "auth.refresh", None, "ok", json!({}))
                .await;
            Ok(HttpResponse::Ok().json(tokens))
        }
        Err(AuthError::RefreshReuse { user_id, family }) => {
            let who = state
                .store
                .user_by_id(user_id)
                .await
                .ok()
                .flatten()
                .map_or_else(|| format!("user:{user_id}"), |u| u.username);
            tracing::warn!(user = %who, addr = %addr, "a rotated refresh token was reused: every token of that sign-in is revoked");
            state
                .audit(
                    &who,
                    &addr,
                    "auth.refresh_reuse",
                    None,
                    "denied",
                    json!({ "family_revoked": family }),
                )
                .await;
            Err(AuthError::InvalidRefresh.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Sign-out request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutBody {
    /// The refresh token to revoke (with every token of its sign-in).
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Signs out: revokes the refresh token's sign-in and the access token sent with it.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = LogoutBody,
    responses((status = 204, description = "signed out (also when the tokens were already invalid)"),
        (status = 400, description = "malformed body", body = ErrorBody)))]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Option<Caller>,
    body: web::Json<LogoutBody>,
) -> Result<HttpResponse, ApiError> {
    // The route check already verified an access token sent along.
    let claims = caller.and_then(|c| c.claims);
    let user_id = state
        .auth
        .logout(body.refresh_token.as_deref(), claims.as_ref())
        .await?;
    if let Some(c) = &claims {
        state.plant.hub().do_send(CloseRevoked(Revoked::Token(c.jti.clone())));
    }
    if let Some(id) = user_id {
        let who = match &claims {
            Some(c) => c.sub.clone(),
            None => state
                .store
                .user_by_id(id)
                .await?
                .map_or_else(|| format!("user:{id}"), |u| u.username),
        };
        state
            .audit(&who, &client_addr(&req), "auth.logout", None, "ok", json!({}))
            .await;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// `user`, `display`, `ingest` or `metrics`.
    kind: &'static str,
    /// Username or token name.
    name: String,
    /// A person's role.
    role: Option<Role>,
    /// Lines the caller is limited to; `null`: all.
    lines: Option<Vec<String>>,
    /// The plant's time zone (IANA name), for showing plant-local times.
    timezone: String,
}

/// The signed-in caller.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, description = "the caller", body = Me),
        (status = 401, description = "no valid token", body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn me(caller: Caller, state: web::Data<AppState>) -> HttpResponse {
    let p = &caller.principal;
    let kind = match p {
        Principal::User { .. } => "user",
        Principal::Display { .. } => "display",
        Principal::Ingest => "ingest",
        Principal::Metrics => "metrics",
        Principal::Forward => "forward",
    };
    HttpResponse::Ok().json(Me {
        kind,
        name: p.name(),
        role: p.role(),
        lines: p.line_scope().map(<[String]>::to_vec),
        timezone: state.plant.plant().calendar.tz().name().to_owned(),
    })
}

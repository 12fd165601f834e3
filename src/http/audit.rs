//! `GET /api/v1/audit` (admins only). There is no route that changes the log.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::query::ApiQuery;
use crate::store::{AuditFilter, AuditRecord};

/// Filters of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exact actor (username, `display:…`, `ingest-token`).
    actor: Option<String>,
    /// Exact action (`auth.login`), or a prefix ending in a dot (`andon.`).
    action: Option<String>,
    /// Exact target (ticket id, username, flag).
    target: Option<String>,
    /// From (inclusive), RFC 3339.
    from: Option<DateTime<Utc>>,
    /// To (exclusive), RFC 3339.
    to: Option<DateTime<Utc>>,
    /// Entries with a smaller id (the next page: the last id seen).
    before_id: Option<i64>,
    /// Most entries (1-1000, default 100).
    limit: Option<i64>,
}

/// Audit entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    entries: Vec<AuditRecord>,
}

/// Reads the audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, q: ApiQuery<AuditQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let filter = AuditFilter {
        actor: q.actor,
        action: q.action,
        target: q.target,
        from: q.from.map(|t| t.timestamp_millis()),
        to: q.to.map(|t| t.timestamp_millis()),
        before_id: q.before_id,
        limit: q.limit.unwrap_or(100).clamp(1, 1_000),
    };
    Ok(HttpResponse::Ok().json(AuditPage {
        entries: state.store.audit(&filter).await?,
    }))
}

//! Feature flags: read by every signed-in caller (the UI adapts), changed by admins.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::AppState;
use super::access::Caller;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::ws::banner_frame;
use crate::actors::andon::CheckNow;
use crate::actors::hub::{Announce, CloseAll, GoingAway};
use crate::domain::flags::Flag;

/// Every flag and whether it is on.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagList {
    /// `real_time_updates`, `advanced_analytics`, `escalation_system`, `offline_support`, `maintenance_mode`.
    flags: BTreeMap<&'static str, bool>,
}

fn flag_list(state: &AppState) -> FlagList {
    FlagList {
        flags: state.flags.all().into_iter().map(|(f, on)| (f.name(), on)).collect(),
    }
}

/// The feature flags.
#[utoipa::path(get, path = "/api/v1/flags", tag = "flags",
    responses((status = 200, body = FlagList), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(flag_list(&state))
}

/// A flag's new value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagChange {
    /// On or off.
    enabled: bool,
}

/// Turns a flag on or off, at once and across restarts.
#[utoipa::path(put, path = "/api/v1/flags/{name}", tag = "flags", request_body = FlagChange,
    params(("name" = String, Path, description = "flag name")),
    responses((status = 200, description = "all flags after the change", body = FlagList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
    body: web::Json<FlagChange>,
) -> Result<HttpResponse, ApiError> {
    let flag = Flag::parse(&name).ok_or_else(|| ApiError::NotFound {
        what: "flag",
        id: name.to_string(),
    })?;
    let on = body.enabled;
    state
        .store
        .set_flag(flag.name(), on, &caller.principal.name(), state.clock.now_ms())
        .await?;
    let was = state.flags.set(flag, on);
    if was != on {
        match (flag, on) {
            (Flag::MaintenanceMode, _) => state.plant.hub().do_send(Announce {
                frame: banner_frame(on),
            }),
            (Flag::RealTimeUpdates, false) => state.plant.hub().do_send(CloseAll(GoingAway::LiveUpdatesOff)),
            (Flag::EscalationSystem, true) => state.plant.andon().do_send(CheckNow),
            _ => {}
        }
        tracing::warn!(flag = flag.name(), enabled = on, by = %caller.principal.name(), "feature flag changed");
    }
    state
        .audit_by(
            &caller,
            "flag.set",
            Some(flag.name().to_owned()),
            json!({ "from": was, "to": on }),
        )
        .await;
    Ok(HttpResponse::Ok().json(flag_list(&state)))
}

//! `GET /ws`: upgrades to a WebSocket served by a [`WsSession`] actor, after the route's
//! access check (a person's token or a display token), the `Origin` check and the
//! `real_time_updates` flag.

use actix::{Actor, AsyncContext};
use actix_web::body::BodyStream;
use actix_web::{HttpRequest, HttpResponse, web};
use bytestring::ByteString;

use super::AppState;
use super::access::{BEARER_PROTOCOL, Caller};
use super::error::ApiError;
use crate::actors::hub::{OpenedBy, Protocol};
use crate::actors::outbox_body::OutboxBody;
use crate::actors::ws_session::{Outbox, Outgoing, SessionAccess, SessionLimits, WsSession};
use crate::domain::access::Principal;
use crate::domain::flags::Flag;

/// Whether a browser page from `origin` may open the socket: its own origin (the
/// `Host` it was served from) or one listed in `http.allowed_origins`.
pub fn origin_allowed(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    host.is_some_and(|h| !origin_host.is_empty() && origin_host.eq_ignore_ascii_case(h))
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin))
}

/// The protocol in `?protocol=` (1 when absent).
fn protocol_asked(req: &HttpRequest) -> Result<Protocol, ApiError> {
    let asked = form_urlencoded::parse(req.query_string().as_bytes()).find(|(k, _)| k == "protocol");
    match asked.as_ref().map(|(_, v)| v.as_ref()) {
        None | Some("1") => Ok(Protocol::V1),
        Some("2") => Ok(Protocol::V2),
        Some(other) => Err(ApiError::BadRequest {
            message: format!("query parameter `protocol`: got `{other}`, expected 1 or 2 (example: /ws?protocol=2)"),
            details: Some(serde_json::json!({"parameter": "protocol"})),
        }),
    }
}

/// The banner frame for the maintenance flag.
pub fn banner_frame(maintenance: bool) -> ByteString {
    let message = if maintenance {
        "Maintenance: changes are paused; the board keeps updating."
    } else {
        ""
    };
    ByteString::from(
        serde_json::json!({"type": "banner", "data": {"maintenance_mode": maintenance, "message": message}})
            .to_string(),
    )
}

/// The WebSocket endpoint.
#[utoipa::path(get, path = "/ws", tag = "websocket",
    params(("Sec-WebSocket-Protocol" = Option<String>, Header, description = "browsers: `ms5.bearer, <access or display token>`"),
        ("protocol" = Option<u8>, Query, description = "frame protocol: 1 (default, whole states) or 2 (merge patches)")),
    responses((status = 101, description = "switching to the WebSocket protocol (see docs/websocket.md for frames)"),
        (status = 400, description = "not a WebSocket upgrade", body = super::openapi::ErrorBody),
        (status = 401, description = "no valid token", body = super::openapi::ErrorBody),
        (status = 403, description = "origin not allowed or token not allowed here", body = super::openapi::ErrorBody),
        (status = 503, description = "real_time_updates is off", body = super::openapi::ErrorBody)),
    security(("bearer" = []), ("display_token" = [])))]
pub async fn ws(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    caller: Caller,
) -> actix_web::Result<HttpResponse> {
    if let Some(origin) = req.headers().get("origin") {
        let origin = origin.to_str().unwrap_or("");
        let host = req.headers().get("host").and_then(|h| h.to_str().ok());
        if !origin_allowed(origin, host, &state.settings.http.allowed_origins) {
            tracing::warn!(origin, "WebSocket refused: origin not allowed");
            return Err(ApiError::Forbidden(format!("origin `{origin}` is not allowed")).into());
        }
    }
    if !state.flags.get(Flag::RealTimeUpdates) {
        return Err(
            ApiError::Maintenance("live updates are turned off (real_time_updates): reload later".into()).into(),
        );
    }
    let protocol = protocol_asked(&req)?;
    let (mut response, socket, stream) = actix_ws::handle(&req, body)?;
    let by_protocol = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == BEARER_PROTOCOL));
    if by_protocol {
        response.headers_mut().insert(
            actix_web::http::header::SEC_WEBSOCKET_PROTOCOL,
            actix_web::http::header::HeaderValue::from_static(BEARER_PROTOCOL),
        );
    }
    let settings = &state.settings.websocket;
    let stream = stream.max_frame_size(settings.max_frame_bytes);
    let outbox = Outbox::new(settings.outbound_queue, settings.outbound_bytes);
    if state.flags.get(Flag::MaintenanceMode) {
        let _ = outbox.push(Some("#banner".into()), Outgoing::Text(banner_frame(true)), None);
    }
    // Frames go out through a body that takes them from the outbox only when the
    // connection has room; the handshake's own sender is not used.
    drop(socket);
    let (response, handshake_body) = response.into_parts();
    let body = BodyStream::new(OutboxBody::new(outbox.clone(), handshake_body));
    let response = response.set_body(body).map_into_boxed_body();
    let limits = SessionLimits {
        heartbeat: settings.heartbeat,
        idle_timeout: settings.idle_timeout,
    };
    let claims = caller.claims.as_ref();
    let leeway_s = i64::try_from(state.settings.auth.leeway.as_secs()).unwrap_or(0);
    let access = SessionAccess {
        scope: caller.principal.line_scope().map(Into::into),
        opened_by: OpenedBy {
            display: match caller.principal {
                Principal::Display { id, .. } => Some(id),
                _ => None,
            },
            user: claims.map(|c| c.uid),
            token: claims.map(|c| c.jti.clone()),
        },
        expires_in: claims.map(|c| {
            let left_ms = (c.exp + leeway_s) * 1000 - state.clock.now_ms();
            std::time::Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))
        }),
    };
    let (hub, plant) = (state.plant.hub().clone(), state.plant.plant().clone());
    WsSession::create(move |ctx| {
        ctx.add_stream(stream);
        WsSession::new(hub, plant, outbox, limits, access, protocol)
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn only_the_own_origin_and_listed_ones_may_connect() {
        let listed = vec!["https://board.example.com".to_owned()];
        let table = [
            ("http://localhost:8080", Some("localhost:8080"), true),
            ("https://LOCALHOST:8080", Some("localhost:8080"), true),
            ("http://evil.example:8080", Some("localhost:8080"), false),
            ("http://localhost:8081", Some("localhost:8080"), false),
            ("https://board.example.com", Some("localhost:8080"), true),
            ("https://board.example.com.evil", Some("localhost:8080"), false),
            ("null", Some("localhost:8080"), false),
            ("http://localhost:8080", None, false),
        ];
        for (origin, host, want) in table {
            assert_eq!(origin_allowed(origin, host, &listed), want, "{origin} to {host:?}");
        }
    }
}

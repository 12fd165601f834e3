//! `GET /ws`: upgrades to a WebSocket served by a [`WsSession`] actor.

use actix::{Actor, AsyncContext};
use actix_web::{HttpRequest, HttpResponse, get, web};

use super::AppState;
use crate::actors::ws_session::{Outbox, SessionLimits, WsSession};

/// The WebSocket endpoint.
#[get("/ws")]
pub async fn ws(req: HttpRequest, body: web::Payload, state: web::Data<AppState>) -> actix_web::Result<HttpResponse> {
    let (response, socket, stream) = actix_ws::handle(&req, body)?;
    let settings = &state.settings.websocket;
    let stream = stream.max_frame_size(settings.max_frame_bytes);
    let outbox = Outbox::new(settings.outbound_queue);
    actix_rt::spawn(outbox.clone().run_writer(socket));
    let limits = SessionLimits {
        heartbeat: settings.heartbeat,
        idle_timeout: settings.idle_timeout,
    };
    let (hub, plant) = (state.plant.hub().clone(), state.plant.plant().clone());
    WsSession::create(move |ctx| {
        ctx.add_stream(stream);
        WsSession::new(hub, plant, outbox, limits)
    });
    Ok(response)
}

//! `WsSession`: one actor per WebSocket. Parses client frames, keeps the session's
//! subscriptions with the hub, heartbeats, and queues outbound frames in an [`Outbox`]
//! that a writer task drains into the socket.
//!
//! A client that does not read cannot grow memory: the outbox keeps one frame per entity
//! (a newer state replaces the unsent older one) plus at most `outbound_queue` one-off
//! frames; the writer task simply blocks on the socket meanwhile.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_ws::{CloseCode, CloseReason, Message, ProtocolError};
use bytestring::ByteString;
use serde::Deserialize;
use tokio::sync::Notify;

use super::hub::{
    Connect, Deliver, Disconnect, GoingAway, Hub, LineScope, OpenedBy, Subscribe, Unsubscribe, validate_channel,
};
use crate::domain::plant::PlantModel;
use crate::metrics as m;

/// Most channels one session may subscribe to.
pub const MAX_SUBSCRIPTIONS: usize = 64;

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// Something to send.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A JSON text frame.
    Text(ByteString),
    /// A protocol ping.
    Ping,
    /// A protocol pong answering the client's ping.
    Pong(actix_web::web::Bytes),
    /// Close the socket.
    Close(CloseReason),
}

#[derive(Default)]
struct Queue {
    /// Frames in send order; keyed ones are unique per key.
    frames: Vec<(Option<Arc<str>>, Outgoing)>,
    closed: bool,
}

/// Frames waiting for one socket, shared by the session actor and its writer task.
#[derive(Default)]
pub struct Outbox {
    queue: Mutex<Queue>,
    ready: Notify,
    limit: usize,
}

impl Outbox {
    /// An outbox holding at most `limit` one-off frames.
    pub fn new(limit: usize) -> Arc<Outbox> {
        Arc::new(Outbox {
            limit,
            ..Outbox::default()
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A poisoned lock only means a writer panicked mid-push; the queue is still usable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a frame. A keyed frame replaces the unsent frame with the same key (moving
    /// to the back, so sequence numbers stay increasing); one-off frames beyond the limit
    /// are dropped.
    pub fn push(&self, key: Option<Arc<str>>, item: Outgoing) {
        let mut q = self.lock();
        if q.closed {
            return;
        }
        if let Some(k) = &key {
            if let Some(pos) = q.frames.iter().position(|(fk, _)| fk.as_ref() == Some(k)) {
                q.frames.remove(pos);
                metrics::counter!(m::WS_FRAMES_COALESCED, "kind" => "superseded").increment(1);
            }
        } else if q.frames.iter().filter(|(k, _)| k.is_none()).count() >= self.limit {
            metrics::counter!(m::WS_FRAMES_COALESCED, "kind" => "dropped").increment(1);
            return;
        }
        q.frames.push((key, item));
        drop(q);
        self.ready.notify_one();
    }

    /// Queues a close; nothing is queued after it.
    pub fn close(&self, reason: CloseReason) {
        let mut q = self.lock();
        if !q.closed {
            q.frames.push((None, Outgoing::Close(reason)));
            q.closed = true;
        }
        drop(q);
        self.ready.notify_one();
    }

    /// Frames waiting (tests and diagnostics).
    pub fn len(&self) -> usize {
        self.lock().frames.len()
    }

    /// Nothing waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&self) -> Vec<(Option<Arc<str>>, Outgoing)> {
        std::mem::take(&mut self.lock().frames)
    }

    /// Drains the outbox into the socket until it closes.
    pub async fn run_writer(self: Arc<Self>, mut socket: actix_ws::Session) {
        loop {
            self.ready.notified().await;
            for (_, item) in self.take() {
                let sent = match item {
                    Outgoing::Text(text) => socket.text(text).await,
                    Outgoing::Ping => socket.ping(b"").await,
                    Outgoing::Pong(bytes) => socket.pong(&bytes).await,
                    Outgoing::Close(reason) => {
                        let _ = socket.close(Some(reason)).await;
                        return;
                    }
                };
                if sent.is_err() {
                    self.lock().closed = true;
                    return;
                }
                metrics::counter!(m::WS_FRAMES, "direction" => "out").increment(1);
            }
        }
    }
}

/// A client frame.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientFrame {
    Subscribe { channel: String },
    Unsubscribe { channel: String },
    Ping,
}

/// Session timing and limits.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Heartbeat interval.
    pub heartbeat: Duration,
    /// Silence after which the client is dropped.
    pub idle_timeout: Duration,
}

/// The actor.
pub struct WsSession {
    id: u64,
    hub: Addr<Hub>,
    plant: Arc<PlantModel>,
    outbox: Arc<Outbox>,
    subscriptions: HashSet<String>,
    last_heard: Instant,
    limits: SessionLimits,
    access: SessionAccess,
}

/// What the signed-in caller of a session may see.
#[derive(Debug, Clone, Default)]
pub struct SessionAccess {
    /// Lines it may see; `None`: all.
    pub scope: LineScope,
    /// The credential it opened with.
    pub opened_by: OpenedBy,
    /// When that credential expires (a person's access token); the socket closes then.
    pub expires_in: Option<Duration>,
}

impl WsSession {
    /// A session for one socket.
    pub fn new(
        hub: Addr<Hub>,
        plant: Arc<PlantModel>,
        outbox: Arc<Outbox>,
        limits: SessionLimits,
        access: SessionAccess,
    ) -> Self {
        WsSession {
            id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
            hub,
            plant,
            outbox,
            subscriptions: HashSet::new(),
            last_heard: Instant::now(),
            limits,
            access,
        }
    }

    fn send_json(&self, value: serde_json::Value) {
        self.outbox
            .push(None, Outgoing::Text(ByteString::from(value.to_string())));
    }

    fn error(&self, code: &str, message: impl Into<String>) {
        self.send_json(serde_json::json!({"type": "error", "code": code, "message": message.into()}));
    }

    fn on_text(&mut self, text: &str) {
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) if e.is_syntax() || e.is_eof() => return self.error("bad_json", format!("not JSON: {e}")),
            Err(e) => return self.error("bad_request", format!("not a valid request: {e}")),
        };
        match frame {
            ClientFrame::Ping => self.send_json(serde_json::json!({"type": "pong"})),
            ClientFrame::Subscribe { channel } => {
                if let Err(e) = validate_channel(&self.plant, &channel) {
                    return self.error("unknown_channel", e.to_string());
                }
                if let Some(line) = self.line_outside_scope(&channel) {
                    return self.error("forbidden", format!("you may not see line `{line}`"));
                }
                if !self.subscriptions.contains(&channel) && self.subscriptions.len() >= MAX_SUBSCRIPTIONS {
                    return self.error(
                        "too_many_subscriptions",
                        format!("at most {MAX_SUBSCRIPTIONS} channels per connection"),
                    );
                }
                self.subscriptions.insert(channel.clone());
                self.hub.do_send(Subscribe {
                    session: self.id,
                    channel,
                    scope: self.access.scope.clone(),
                });
            }
            ClientFrame::Unsubscribe { channel } => {
                if !self.subscriptions.remove(&channel) {
                    return self.error("not_subscribed", format!("not subscribed to `{channel}`"));
                }
                self.hub.do_send(Unsubscribe {
                    session: self.id,
                    channel: channel.clone(),
                });
                self.send_json(serde_json::json!({"type": "unsubscribed", "channel": channel}));
            }
        }
    }

    /// The line of a single-line channel the caller may not see. All-lines channels are
    /// filtered by the hub instead.
    fn line_outside_scope(&self, channel: &str) -> Option<String> {
        let scope = self.access.scope.as_ref()?;
        let line = match channel.split_once(':') {
            Some(("line" | "andon" | "jobs", id)) => id.to_owned(),
            Some(("machine", id)) => {
                let (_, m) = self.plant.machine(id)?;
                self.plant.lines[m.line].id.clone()
            }
            _ => return None,
        };
        (!scope.contains(&line)).then_some(line)
    }

    fn close(&mut self, code: CloseCode, description: &str, ctx: &mut Context<Self>) {
        self.outbox.close(CloseReason {
            code,
            description: Some(description.to_owned()),
        });
        ctx.stop();
    }
}

impl Actor for WsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        metrics::gauge!(m::WS_CONNECTIONS).increment(1.0);
        self.hub.do_send(Connect {
            session: self.id,
            deliver: ctx.address().recipient(),
            away: ctx.address().recipient(),
            opened_by: self.access.opened_by.clone(),
        });
        if let Some(left) = self.access.expires_in {
            ctx.run_later(left, |act, ctx| act.close(CloseCode::Policy, "token expired", ctx));
        }
        ctx.run_interval(self.limits.heartbeat, |act, ctx| {
            if act.last_heard.elapsed() > act.limits.idle_timeout {
                return act.close(CloseCode::Policy, "idle timeout", ctx);
            }
            act.outbox.push(None, Outgoing::Ping);
            let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            act.send_json(serde_json::json!({"type": "heartbeat", "ts": ts}));
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        metrics::gauge!(m::WS_CONNECTIONS).decrement(1.0);
        self.hub.do_send(Disconnect { session: self.id });
        self.outbox.close(CloseReason {
            code: CloseCode::Away,
            description: None,
        });
    }
}

impl Handler<Deliver> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: Deliver, _: &mut Context<Self>) {
        self.outbox.push(msg.key, Outgoing::Text(msg.frame));
    }
}

impl Handler<GoingAway> for WsSession {
    type Result = ();

    fn handle(&mut self, why: GoingAway, ctx: &mut Context<Self>) {
        match why {
            GoingAway::Shutdown => self.close(CloseCode::Away, "server shutting down", ctx),
            GoingAway::LiveUpdatesOff => self.close(CloseCode::Away, "live updates turned off", ctx),
            GoingAway::CredentialRevoked => self.close(CloseCode::Policy, "credential revoked", ctx),
        }
    }
}

impl StreamHandler<Result<Message, ProtocolError>> for WsSession {
    fn handle(&mut self, item: Result<Message, ProtocolError>, ctx: &mut Context<Self>) {
        self.last_heard = Instant::now();
        metrics::counter!(m::WS_FRAMES, "direction" => "in").increment(1);
        match item {
            Ok(Message::Text(text)) => self.on_text(&text),
            Ok(Message::Ping(bytes)) => self.outbox.push(None, Outgoing::Pong(bytes)),
            Ok(Message::Pong(_)) | Ok(Message::Nop) => {}
            Ok(Message::Binary(_)) | Ok(Message::Continuation(_)) => {
                self.error("bad_request", "send JSON text frames");
            }
            Ok(Message::Close(_)) => self.close(CloseCode::Normal, "bye", ctx),
            Err(ProtocolError::Overflow) => {
                self.error("frame_too_large", "frame exceeds the size limit");
                self.close(CloseCode::Size, "frame too large", ctx);
            }
            Err(e) => {
                tracing::debug!(error = %e, "websocket protocol error");
                self.close(CloseCode::Protocol, "protocol error", ctx);
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(q: &[(Option<Arc<str>>, Outgoing)]) -> Vec<String> {
        q.iter()
            .filter_map(|(_, o)| match o {
                Outgoing::Text(t) => Some(t.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_unread_outbox_stays_bounded_and_keeps_the_latest_state_per_entity() {
        let outbox = Outbox::new(16);
        let keys: Vec<Arc<str>> = (0..8).map(|i| Arc::from(format!("machine:m{i}|m{i}"))).collect();
        for n in 0..10_000 {
            let k = &keys[n % keys.len()];
            outbox.push(Some(k.clone()), Outgoing::Text(ByteString::from(format!("{k}#{n}"))));
            outbox.push(None, Outgoing::Text(ByteString::from(format!("error#{n}"))));
        }
        // 8 entity states + at most 16 one-off frames, whatever was pushed
        assert_eq!(outbox.len(), 8 + 16);
        let frames = text(&outbox.take());
        for (i, k) in keys.iter().enumerate() {
            let latest = format!("{k}#{}", 10_000 - 8 + i);
            assert!(frames.contains(&latest), "{latest} missing from {frames:?}");
        }
        // the one-off frames kept are the first ones (later ones were dropped, counted)
        assert!(frames.contains(&"error#0".to_owned()));
        assert!(!frames.contains(&"error#9999".to_owned()));
    }

    #[test]
    fn a_newer_state_moves_behind_frames_queued_after_the_older_one() {
        let outbox = Outbox::new(4);
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        outbox.push(Some(a.clone()), Outgoing::Text(ByteString::from("a1")));
        outbox.push(Some(b), Outgoing::Text(ByteString::from("b1")));
        outbox.push(Some(a), Outgoing::Text(ByteString::from("a2")));
        // seq order is preserved: b1 (older seq) before a2 (newer seq)
        assert_eq!(text(&outbox.take()), vec!["b1", "a2"]);
    }

    #[test]
    fn nothing_is_queued_after_close() {
        let outbox = Outbox::new(4);
        outbox.close(CloseReason {
            code: CloseCode::Away,
            description: None,
        });
        outbox.push(None, Outgoing::Text(ByteString::from("late")));
        assert_eq!(outbox.len(), 1, "only the close frame");
    }
}

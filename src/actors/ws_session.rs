//! `WsSession`: one actor per WebSocket. Parses client frames, keeps the session's
//! subscriptions with the hub, heartbeats, and queues outbound frames in an [`Outbox`]
//! that the connection's body ([`super::outbox_body::OutboxBody`]) takes from as the
//! connection has room.
//!
//! A client that does not read cannot grow memory: the outbox keeps one frame per entity
//! (a newer state replaces the unsent older one) plus one-off frames within a count and
//! byte budget, past which the client is closed with 1013.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::web::{Bytes, BytesMut};
use actix_ws::{CloseCode, CloseReason, Message, ProtocolError};
use bytestring::ByteString;
use serde::Deserialize;

use super::hub::{
    Connect, Disconnect, GoingAway, Hub, LineScope, OpenedBy, Protocol, Resync, Subscribe, Unsubscribe, WholeState,
    validate_channel,
};
use crate::domain::plant::PlantModel;
use crate::domain::wire_doc::WindowMask;
use crate::metrics as m;

/// Most channels one session may subscribe to.
pub const MAX_SUBSCRIPTIONS: usize = 64;

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// Something to send.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A JSON text frame.
    Text(ByteString),
    /// A JSON text message made of shared pieces (a snapshot), each valid UTF-8.
    Pieces(Vec<Bytes>),
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
    frames: VecDeque<(Option<Arc<str>>, Outgoing)>,
    /// Bytes of the one-off frames waiting.
    one_off_bytes: usize,
    closed: bool,
    /// The connection's body, waiting for a frame.
    waker: Option<Waker>,
    /// When the body was last woken for a paced frame.
    woken_at: Option<Instant>,
    /// A paced frame waits for the hub's next flush.
    deferred: bool,
}

/// A slow client's one-off frames went past its budget; the session closes with 1013.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// Frames waiting for one socket, shared by the hub, the session actor and the
/// connection's body ([`super::outbox_body::OutboxBody`]), which takes them only when the
/// connection has room: a slow client's frames wait here, where a newer state replaces an
/// older one, not in the connection's buffers.
pub struct Outbox {
    queue: Mutex<Queue>,
    limit: usize,
    byte_budget: usize,
    /// `ms5_ws_frames_coalesced_total{kind="superseded"}`, registered once per socket.
    superseded: metrics::Counter,
}

fn size(item: &Outgoing) -> usize {
    match item {
        Outgoing::Text(t) => t.len(),
        Outgoing::Pieces(p) => p.iter().map(Bytes::len).sum(),
        Outgoing::Pong(b) => b.len(),
        Outgoing::Ping | Outgoing::Close(_) => 0,
    }
}

impl Outbox {
    /// An outbox holding at most `limit` one-off frames of at most `byte_budget` bytes in all.
    pub fn new(limit: usize, byte_budget: usize) -> Arc<Outbox> {
        Arc::new(Outbox {
            limit,
            byte_budget,
            superseded: metrics::counter!(m::WS_FRAMES_COALESCED, "kind" => "superseded"),
            queue: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A poisoned lock only means a writer panicked mid-push; the queue is still usable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a frame. A keyed frame replaces the unsent frame with the same key (moving
    /// to the back, so sequence numbers stay increasing). Keys are compared by identity
    /// (the same `Arc`), since a busy socket's queue is scanned at every push: the hub
    /// keeps one key per channel and entity. When the new frame is a patch, the entity's
    /// whole state goes in its place, since the replaced frame carried changes the new one
    /// does not. One-off frames past the count or byte budget are refused: the caller
    /// closes the session.
    pub fn push(&self, key: Option<Arc<str>>, item: Outgoing, whole: Option<&WholeState>) -> Result<(), OverBudget> {
        self.push_paced(key, item, whole, Duration::ZERO).map(|_| ())
    }

    /// [`Outbox::push`], waking the connection at most once per `pace` (a zero `pace` wakes
    /// it at once, even while paced frames wait): a frame that comes sooner after the last
    /// wake stays queued with the frames after it, and the call returns `Ok(Some(due))` the
    /// first time, for the caller to [`Outbox::flush`] the outbox at `due` (one `pace` after
    /// the last wake). A socket that was quiet gets its frame at once; a busy one gets its
    /// frames a few at a time, in one write instead of one each.
    pub fn push_paced(
        &self,
        key: Option<Arc<str>>,
        item: Outgoing,
        whole: Option<&WholeState>,
        pace: Duration,
    ) -> Result<Option<Instant>, OverBudget> {
        let mut q = self.lock();
        if q.closed {
            return Ok(None);
        }
        let mut item = item;
        if let Some(k) = &key {
            if let Some(pos) = q
                .frames
                .iter()
                .position(|(fk, _)| fk.as_ref().is_some_and(|fk| Arc::ptr_eq(fk, k)))
            {
                q.frames.remove(pos);
                if let Some(w) = whole {
                    item = Outgoing::Text(w.frame());
                }
                self.superseded.increment(1);
            }
        } else {
            let one_off = q.frames.iter().filter(|(k, _)| k.is_none()).count();
            if one_off >= self.limit || q.one_off_bytes + size(&item) > self.byte_budget {
                return Err(OverBudget);
            }
            q.one_off_bytes += size(&item);
        }
        q.frames.push_back((key, item));
        if q.waker.is_none() || (q.deferred && !pace.is_zero()) {
            // The body is busy (it takes this frame with the others) or a flush is due.
            return Ok(None);
        }
        let now = Instant::now();
        if let Some(due) = q.woken_at.map(|t| t + pace).filter(|&due| now < due) {
            q.deferred = true;
            return Ok(Some(due));
        }
        q.woken_at = Some(now);
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(None)
    }

    /// Wakes the connection for the frames a paced push left waiting.
    pub fn flush(&self) {
        let mut q = self.lock();
        q.deferred = false;
        q.woken_at = Some(Instant::now());
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Bytes of the one-off frames waiting (tests and diagnostics).
    pub fn one_off_bytes(&self) -> usize {
        self.lock().one_off_bytes
    }

    /// Queues a close; nothing is queued after it.
    pub fn close(&self, reason: CloseReason) {
        let mut q = self.lock();
        if !q.closed {
            q.frames.push_back((None, Outgoing::Close(reason)));
            q.closed = true;
        }
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Frames waiting (tests and diagnostics).
    pub fn len(&self) -> usize {
        self.lock().frames.len()
    }

    /// Nothing waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[cfg(test)]
    fn take(&self) -> Vec<(Option<Arc<str>>, Outgoing)> {
        let mut q = self.lock();
        q.one_off_bytes = 0;
        std::mem::take(&mut q.frames).into()
    }

    /// The oldest frame waiting; with none, `waker` is woken when one comes.
    pub fn next(&self, waker: &Waker) -> Option<Outgoing> {
        let mut q = self.lock();
        let Some((key, item)) = q.frames.pop_front() else {
            q.waker = Some(waker.clone());
            return None;
        };
        if key.is_none() {
            q.one_off_bytes = q.one_off_bytes.saturating_sub(size(&item));
        }
        Some(item)
    }
}

/// Text messages longer than this go out as continuation fragments of at most this size,
/// so that one encoded message always fits a body chunk ([`super::outbox_body::CHUNK_BYTES`],
/// with room for the frame header) and a connection's write buffer never grows (the server
/// keeps a grown buffer for the connection's life).
pub const FRAGMENT_BYTES: usize = 4 * 1024 - 16;

/// The fragments of a message made of `pieces` (each valid UTF-8): small pieces are joined,
/// long ones cut at character boundaries (sharing their bytes), none longer than `limit`.
pub fn fragments(pieces: &[Bytes], limit: usize) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut joined = BytesMut::new();
    for piece in pieces {
        if joined.len() + piece.len() <= limit {
            joined.extend_from_slice(piece);
            continue;
        }
        if !joined.is_empty() {
            out.push(std::mem::take(&mut joined).freeze());
        }
        let text = std::str::from_utf8(piece).unwrap_or_default();
        let mut rest = text;
        while rest.len() > limit {
            let mut cut = limit;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let (head, tail) = rest.split_at(cut);
            out.push(piece.slice_ref(head.as_bytes()));
            rest = tail;
        }
        joined.extend_from_slice(rest.as_bytes());
    }
    if !joined.is_empty() || out.is_empty() {
        out.push(joined.freeze());
    }
    out
}

/// A client frame.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientFrame {
    Subscribe {
        channel: String,
        #[serde(default)]
        windows: Vec<String>,
    },
    Unsubscribe {
        channel: String,
    },
    Resync {
        channel: String,
    },
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
    protocol: Protocol,
    /// A one-off frame went past the outbox budget: the session closes with 1013.
    over_budget: bool,
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
        protocol: Protocol,
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
            protocol,
            over_budget: false,
        }
    }

    fn send_one_off(&mut self, item: Outgoing) {
        if self.outbox.push(None, item, None).is_err() {
            self.over_budget = true;
        }
    }

    fn send_json(&mut self, value: serde_json::Value) {
        self.send_one_off(Outgoing::Text(ByteString::from(value.to_string())));
    }

    /// Closes a client that reads too slowly for its budget (1013: try again later).
    fn drop_if_over_budget(&mut self, ctx: &mut Context<Self>) {
        if self.over_budget {
            metrics::counter!(m::WS_SLOW_CLOSED).increment(1);
            tracing::info!(
                session = self.id,
                "WebSocket client too slow for its outbox budget: closed with 1013"
            );
            self.close(CloseCode::Again, "too slow: reconnect", ctx);
        }
    }

    fn error(&mut self, code: &str, message: impl Into<String>) {
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
            ClientFrame::Subscribe { channel, windows } => {
                let windows = match WindowMask::parse(&windows) {
                    Ok(w) => w,
                    Err(e) => return self.error("bad_request", e),
                };
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
                    protocol: self.protocol,
                    windows,
                });
            }
            ClientFrame::Resync { channel } => {
                if !self.subscriptions.contains(&channel) {
                    return self.error("not_subscribed", format!("not subscribed to `{channel}`"));
                }
                self.hub.do_send(Resync {
                    session: self.id,
                    channel,
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
            outbox: self.outbox.clone(),
            away: ctx.address().recipient(),
            opened_by: self.access.opened_by.clone(),
        });
        if self.protocol == Protocol::V2 {
            self.send_json(serde_json::json!({"type": "hello", "protocol": 2}));
        }
        if let Some(left) = self.access.expires_in {
            ctx.run_later(left, |act, ctx| act.close(CloseCode::Policy, "token expired", ctx));
        }
        ctx.run_interval(self.limits.heartbeat, |act, ctx| {
            if act.last_heard.elapsed() > act.limits.idle_timeout {
                return act.close(CloseCode::Policy, "idle timeout", ctx);
            }
            act.send_one_off(Outgoing::Ping);
            let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            act.send_json(serde_json::json!({"type": "heartbeat", "ts": ts}));
            act.drop_if_over_budget(ctx);
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
            Ok(Message::Ping(bytes)) => self.send_one_off(Outgoing::Pong(bytes)),
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
        self.drop_if_over_budget(ctx);
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

    fn push(outbox: &Outbox, key: Option<&Arc<str>>, text: String) -> Result<(), OverBudget> {
        outbox.push(key.cloned(), Outgoing::Text(ByteString::from(text)), None)
    }

    #[test]
    fn an_unread_outbox_keeps_the_latest_state_per_entity_and_refuses_one_offs_past_its_budget() {
        let outbox = Outbox::new(1_000, 4_096);
        let keys: Vec<Arc<str>> = (0..8).map(|i| Arc::from(format!("machine:m{i}|m{i}"))).collect();
        let mut refused_at = None;
        for n in 0..10_000 {
            let k = &keys[n % keys.len()];
            assert_eq!(
                push(&outbox, Some(k), format!("{k}#{n}")),
                Ok(()),
                "state frames never overflow"
            );
            // 100-byte one-off frames: the 41st is past 4,096 bytes
            if refused_at.is_none() && push(&outbox, None, format!("{n:0>100}")).is_err() {
                refused_at = Some(n);
            }
        }
        assert_eq!(refused_at, Some(40));
        assert!(outbox.one_off_bytes() <= 4_096, "{} bytes", outbox.one_off_bytes());
        assert_eq!(outbox.len(), 8 + 40);
        let frames = text(&outbox.take());
        for (i, k) in keys.iter().enumerate() {
            let latest = format!("{k}#{}", 10_000 - 8 + i);
            assert!(frames.contains(&latest), "{latest} missing from {frames:?}");
        }
        assert_eq!(outbox.one_off_bytes(), 0, "sent frames leave the budget");
    }

    #[test]
    fn messages_are_cut_into_fragments_at_character_boundaries_and_small_pieces_joined() {
        let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        let text = format!("{}é{}", "a".repeat(7), "b".repeat(9));
        let table: [(Vec<Bytes>, Vec<&str>); 4] = [
            // "é" is two bytes and would straddle the first cut: it moves to the second part
            (vec![b(&text)], vec!["aaaaaaa", "ébbbbbb", "bbb"]),
            (vec![b("{"), b("ab"), b(","), b("cd"), b("}")], vec!["{ab,cd}"]),
            (
                vec![b("head:"), b("0123456789"), b("]}")],
                vec!["head:", "01234567", "89]}"],
            ),
            (vec![b("short")], vec!["short"]),
        ];
        for (pieces, want) in table {
            let got = fragments(&pieces, 8);
            let got: Vec<&str> = got.iter().map(|p| std::str::from_utf8(p).unwrap_or("?")).collect();
            assert_eq!(got, want);
        }
    }

    /// A waker that counts its wakes.
    struct CountingWaker(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_busy_socket_is_woken_once_per_pace_and_a_quiet_one_at_once() {
        let outbox = Outbox::new(8, 1 << 20);
        let counter = Arc::new(CountingWaker(std::sync::atomic::AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let wakes = || counter.0.load(Ordering::SeqCst);
        let text = |t: &str| Outgoing::Text(ByteString::from(t.to_owned()));
        // Keys are identities: one per entity, as the hub keeps them.
        let keys: Vec<Arc<str>> = ["a", "b", "c"].into_iter().map(Arc::from).collect();
        let key = |k: &str| keys.iter().find(|i| &***i == k).cloned();
        let hour = Duration::from_secs(3600);
        let taken = |o: Option<Outgoing>| match o {
            Some(Outgoing::Text(t)) => t.to_string(),
            other => panic!("expected a text frame, got {other:?}"),
        };

        // Quiet: the first frame wakes the waiting body at once.
        assert!(outbox.next(&waker).is_none());
        assert_eq!(outbox.push_paced(key("a"), text("a1"), None, hour), Ok(None));
        assert_eq!(wakes(), 1);
        assert_eq!(taken(outbox.next(&waker)), "a1");
        assert!(outbox.next(&waker).is_none(), "the body waits again");

        // Busy: within the pace nothing wakes it; the first deferred push asks for a flush.
        assert!(matches!(
            outbox.push_paced(key("a"), text("a2"), None, hour),
            Ok(Some(_))
        ));
        assert_eq!(outbox.push_paced(key("b"), text("b1"), None, hour), Ok(None));
        assert_eq!(wakes(), 1, "no wake before the flush");
        outbox.flush();
        assert_eq!(wakes(), 2);
        assert_eq!(taken(outbox.next(&waker)), "a2");
        assert_eq!(taken(outbox.next(&waker)), "b1");
        assert!(outbox.next(&waker).is_none());

        // Unpaced frames (snapshots, pongs) always wake it.
        assert!(outbox.push(key("c"), text("c1"), None).is_ok());
        assert_eq!(wakes(), 3);
        // With no pace, a state frame does too.
        assert!(outbox.next(&waker).is_some());
        assert!(outbox.next(&waker).is_none());
        assert_eq!(outbox.push_paced(key("a"), text("a3"), None, Duration::ZERO), Ok(None));
        assert_eq!(wakes(), 4);
        // A change pushed at once wakes it even while paced frames wait for a flush.
        assert!(outbox.next(&waker).is_some());
        assert!(outbox.next(&waker).is_none());
        assert!(matches!(
            outbox.push_paced(key("a"), text("a4"), None, hour),
            Ok(Some(_))
        ));
        assert_eq!(outbox.push_paced(key("b"), text("b2"), None, Duration::ZERO), Ok(None));
        assert_eq!(wakes(), 5);
    }

    #[test]
    fn the_count_limit_refuses_one_offs_too() {
        let outbox = Outbox::new(3, 1 << 20);
        for n in 0..3 {
            assert_eq!(push(&outbox, None, format!("e{n}")), Ok(()));
        }
        assert_eq!(push(&outbox, None, "e3".into()), Err(OverBudget));
    }

    #[test]
    fn a_newer_state_moves_behind_frames_queued_after_the_older_one() {
        let outbox = Outbox::new(4, 1024);
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        let _ = push(&outbox, Some(&a), "a1".into());
        let _ = push(&outbox, Some(&b), "b1".into());
        let _ = push(&outbox, Some(&a), "a2".into());
        // seq order is preserved: b1 (older seq) before a2 (newer seq)
        assert_eq!(text(&outbox.take()), vec!["b1", "a2"]);
    }

    #[test]
    fn nothing_is_queued_after_close() {
        let outbox = Outbox::new(4, 1024);
        outbox.close(CloseReason {
            code: CloseCode::Away,
            description: None,
        });
        let _ = push(&outbox, None, "late".into());
        assert_eq!(outbox.len(), 1, "only the close frame");
    }
}

//! The load's clients: each opens a WebSocket, subscribes (on ms5), then reads until the
//! run ends, answering pings and counting every frame. One thread's clients share one
//! tally; the thread's runtime is single-threaded, so no locks.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use actix_codec::Framed;
use actix_http::ws::Item;
use awc::BoxedSocket;
use awc::ws::{Codec, Frame, Message};
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};

use super::frames::{Received, frame_type};
use super::{Plan, Target};

/// An open client socket.
pub type Conn = Framed<BoxedSocket, Codec>;

/// Largest frame a client accepts: a `production_updates` snapshot of a large plant is
/// far above awc's 64 KiB default.
const MAX_FRAME: usize = 64 << 20;

/// How long connecting and getting the first snapshot may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP and WebSocket client with no connection limit (awc's default is 100).
pub fn http_client() -> awc::Client {
    awc::Client::builder()
        .connector(awc::Connector::new().limit(0).timeout(CONNECT_TIMEOUT))
        .timeout(CONNECT_TIMEOUT)
        .finish()
}

/// What one thread's clients counted.
#[derive(Default)]
pub struct Tally {
    /// Frames received.
    pub received: RefCell<Received>,
    /// Whether the measurement window is open.
    pub in_window: Cell<bool>,
    /// Sockets that closed while it was.
    pub closed_in_window: Cell<usize>,
}

impl Tally {
    fn record(&self, text: &[u8]) {
        self.record_as(frame_type(text), text.len());
    }

    fn record_as(&self, kind: &str, len: usize) {
        self.received.borrow_mut().record(kind, len, self.in_window.get());
    }
}

/// Opens one socket to `plan.url` and, on ms5, subscribes to `channel` and waits for the
/// snapshot (counted in `tally`, and returned). Errors are the server's or the network's,
/// as text.
pub async fn open(
    client: &awc::Client,
    plan: &Plan,
    channel: &str,
    tally: Option<&Tally>,
) -> Result<(Conn, Option<Bytes>), String> {
    let mut request = client.ws(plan.url.as_str()).max_frame_size(MAX_FRAME);
    if let Some(token) = &plan.token {
        request = request.bearer_auth(token);
    }
    let (_, mut conn) = request.connect().await.map_err(|e| format!("connect: {e}"))?;
    if plan.target == Target::Nchan {
        return Ok((conn, None));
    }
    let mut subscribe = serde_json::json!({"type": "subscribe", "channel": channel});
    if !plan.windows.is_empty() {
        subscribe["windows"] = serde_json::json!(plan.windows);
    }
    let subscribe = subscribe.to_string();
    conn.send(Message::Text(subscribe.into()))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let snapshot = async {
        // A long message (a plant snapshot) arrives in fragments.
        let mut parts = BytesMut::new();
        while let Some(frame) = conn.next().await {
            let whole = match frame.map_err(|e| format!("read: {e}"))? {
                Frame::Text(text) => Some(text),
                Frame::Continuation(Item::FirstText(b) | Item::Continue(b)) => {
                    parts.extend_from_slice(&b);
                    None
                }
                Frame::Continuation(Item::Last(b)) => {
                    parts.extend_from_slice(&b);
                    Some(std::mem::take(&mut parts).freeze())
                }
                Frame::Ping(p) => {
                    conn.send(Message::Pong(p)).await.map_err(|e| format!("pong: {e}"))?;
                    None
                }
                Frame::Close(reason) => return Err(format!("closed: {reason:?}")),
                _ => None,
            };
            if let Some(text) = whole {
                if let Some(t) = tally {
                    t.record(&text);
                }
                match frame_type(&text) {
                    "snapshot" => return Ok(text),
                    "error" => return Err(String::from_utf8_lossy(&text).into_owned()),
                    _ => {}
                }
            }
        }
        Err("closed before the snapshot".to_owned())
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, snapshot).await {
        Ok(Ok(snapshot)) => Ok((conn, Some(snapshot))),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!("no snapshot within {CONNECT_TIMEOUT:?}")),
    }
}

/// Reads `conn` until it closes (or the runtime ends), counting every text or binary
/// frame once, a fragmented one when its last part arrives.
pub async fn read(mut conn: Conn, tally: Rc<Tally>) {
    let mut fragmented: Option<(String, usize)> = None;
    while let Some(frame) = conn.next().await {
        match frame {
            Ok(Frame::Text(b)) | Ok(Frame::Binary(b)) => tally.record(&b),
            Ok(Frame::Continuation(item)) => match item {
                Item::FirstText(b) | Item::FirstBinary(b) => {
                    fragmented = Some((frame_type(&b).to_owned(), b.len()));
                }
                Item::Continue(b) => {
                    if let Some((_, len)) = fragmented.as_mut() {
                        *len += b.len();
                    }
                }
                Item::Last(b) => {
                    if let Some((kind, len)) = fragmented.take() {
                        tally.record_as(&kind, len + b.len());
                    }
                }
            },
            Ok(Frame::Ping(p)) => {
                if conn.send(Message::Pong(p)).await.is_err() {
                    break;
                }
            }
            Ok(Frame::Pong(_)) => {}
            Ok(Frame::Close(_)) | Err(_) => break,
        }
    }
    if tally.in_window.get() {
        tally.closed_in_window.set(tally.closed_in_window.get() + 1);
    }
}

/// Opens `n` clients, at most `plan.connect_concurrency` at a time, each reading in its own
/// task from the moment it is open. Returns how many opened, failed, and the first error.
pub async fn open_all(
    client: &awc::Client,
    plan: &Plan,
    n: usize,
    tally: &Rc<Tally>,
) -> (usize, usize, Option<String>) {
    let mut opened = 0;
    let mut failed = 0;
    let mut first_error = None;
    let mut attempts = futures_util::stream::iter(0..n)
        .map(|_| open(client, plan, &plan.channel, Some(tally.as_ref())))
        .buffer_unordered(plan.connect_concurrency.max(1));
    while let Some(result) = attempts.next().await {
        match result {
            Ok((conn, _)) => {
                opened += 1;
                actix_rt::spawn(read(conn, tally.clone()));
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    (opened, failed, first_error)
}

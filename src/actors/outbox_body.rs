//! `OutboxBody`: the response body of a WebSocket. The connection polls it only while its
//! write buffer has room, and only then does it take frames from the session's [`Outbox`]
//! and encode them, at most [`CHUNK_BYTES`] at a time. A client that reads slowly therefore
//! leaves its frames in the outbox (one state per entity, shared bytes), not in a
//! per-connection copy; and the connection's write buffer, which takes a chunk while it holds
//! less than 4 KiB (`h1_write_buffer_size` in `startup`), never grows past the 8 KiB it
//! starts with.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_codec::Encoder;
use actix_http::ws::{Codec, Item, Message};
use actix_web::body::BoxBody;
use actix_web::web::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::Stream;

use super::ws_session::{FRAGMENT_BYTES, Outbox, Outgoing, fragments};
use crate::metrics as m;

/// Most bytes encoded per poll of the body (one message always fits: longer ones go out in
/// fragments of [`FRAGMENT_BYTES`]).
pub const CHUNK_BYTES: usize = 4 * 1024;

/// Most bytes a WebSocket frame header takes (2 + 8 for the length; the server does not mask).
const HEADER_BYTES: usize = 10;

/// The body.
pub struct OutboxBody {
    outbox: Arc<Outbox>,
    codec: Codec,
    /// The fragments still to send of a long message, and whether its first went.
    fragments: VecDeque<Bytes>,
    started: bool,
    ended: bool,
    /// A message taken that did not fit the last chunk: the next chunk starts with it.
    held: Option<Message>,
    /// `ms5_ws_frames_total{direction="out"}`, registered once per socket.
    frames_out: metrics::Counter,
    /// The handshake's own body, kept so the incoming message stream ends when this body
    /// is dropped (the connection is gone).
    _handshake: BoxBody,
}

impl OutboxBody {
    /// The body of a socket whose frames wait in `outbox`.
    pub fn new(outbox: Arc<Outbox>, handshake: BoxBody) -> Self {
        OutboxBody {
            outbox,
            codec: Codec::new(),
            fragments: VecDeque::new(),
            started: false,
            ended: false,
            held: None,
            frames_out: metrics::counter!(m::WS_FRAMES, "direction" => "out"),
            _handshake: handshake,
        }
    }

    /// The next message to encode; `None` when nothing waits (the waker is kept).
    fn next_message(&mut self, cx: &Context<'_>) -> Option<Message> {
        if let Some(part) = self.fragments.pop_front() {
            let item = if !std::mem::replace(&mut self.started, true) {
                Item::FirstText(part)
            } else if self.fragments.is_empty() {
                Item::Last(part)
            } else {
                Item::Continue(part)
            };
            return Some(Message::Continuation(item));
        }
        let whole = match self.outbox.next(cx.waker())? {
            Outgoing::Text(text) if text.len() <= FRAGMENT_BYTES => return Some(Message::Text(text)),
            Outgoing::Text(text) => vec![text.into_bytes()],
            Outgoing::Pieces(pieces) => pieces,
            Outgoing::Ping => return Some(Message::Ping(Bytes::new())),
            Outgoing::Pong(bytes) => return Some(Message::Pong(bytes)),
            Outgoing::Close(reason) => {
                self.ended = true;
                return Some(Message::Close(Some(reason)));
            }
        };
        let mut parts = fragments(&whole, FRAGMENT_BYTES);
        if parts.len() == 1 {
            let one = parts.pop().unwrap_or_default();
            // Each piece is valid UTF-8, so their join is too.
            return Some(Message::Text(ByteString::try_from(one).unwrap_or_default()));
        }
        self.fragments = parts.into();
        self.started = false;
        self.next_message(cx)
    }
}

/// The bytes `message` takes encoded (at most: the header is counted at its longest).
fn encoded_len(message: &Message) -> usize {
    let payload = match message {
        Message::Text(t) => t.len(),
        Message::Continuation(Item::FirstText(b) | Item::FirstBinary(b) | Item::Continue(b) | Item::Last(b)) => b.len(),
        Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Close(reason) => reason
            .as_ref()
            .map_or(0, |r| 2 + r.description.as_ref().map_or(0, String::len)),
        Message::Nop => 0,
    };
    payload + HEADER_BYTES
}

impl Stream for OutboxBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut buf = BytesMut::new();
        let mut frames = 0;
        while !this.ended || this.held.is_some() {
            let Some(message) = this.held.take().or_else(|| this.next_message(cx)) else {
                break;
            };
            if !buf.is_empty() && buf.len() + encoded_len(&message) > CHUNK_BYTES {
                this.held = Some(message);
                break;
            }
            if buf.capacity() == 0 {
                // One allocation per chunk, not one per frame as the buffer grows.
                buf.reserve(CHUNK_BYTES);
            }
            if let Err(e) = this.codec.encode(message, &mut buf) {
                return Poll::Ready(Some(Err(std::io::Error::other(e.to_string()))));
            }
            frames += 1;
        }
        if frames > 0 {
            this.frames_out.increment(frames);
        }
        if !buf.is_empty() {
            Poll::Ready(Some(Ok(buf.freeze())))
        } else if this.ended {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

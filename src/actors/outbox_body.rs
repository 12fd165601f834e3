//! `OutboxBody`: the response body of a WebSocket. The connection polls it only while its
//! write buffer has room, and only then does it take frames from the session's [`Outbox`]
//! and encode them, about [`CHUNK_BYTES`] at a time. A client that reads slowly therefore
//! leaves its frames in the outbox (one state per entity, shared bytes), not in a
//! per-connection copy.

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

/// Bytes encoded per poll of the body.
pub const CHUNK_BYTES: usize = 8 * 1024;

/// The body.
pub struct OutboxBody {
    outbox: Arc<Outbox>,
    codec: Codec,
    /// The fragments still to send of a long message, and whether its first went.
    fragments: VecDeque<Bytes>,
    started: bool,
    ended: bool,
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

impl Stream for OutboxBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut buf = BytesMut::new();
        while !this.ended && buf.len() < CHUNK_BYTES {
            let Some(message) = this.next_message(cx) else {
                break;
            };
            if let Err(e) = this.codec.encode(message, &mut buf) {
                return Poll::Ready(Some(Err(std::io::Error::other(e.to_string()))));
            }
            metrics::counter!(m::WS_FRAMES, "direction" => "out").increment(1);
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

//! WebSocket client helpers.
#![allow(dead_code)]

use std::time::Duration;

use actix_http::ws::Item;
use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

use super::TestApp;

pub type Conn = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

/// Opens `/ws` with `token` in the `Authorization` header.
pub async fn connect_to(app: &TestApp, token: &str) -> Conn {
    let (_, conn) = app
        .client
        .ws(&app.ws_url)
        .bearer_auth(token)
        .connect()
        .await
        .expect("ws connect");
    conn
}

pub async fn send(conn: &mut Conn, text: &str) {
    conn.send(Message::Text(text.into())).await.expect("ws send");
}

/// The next JSON text message that is not a heartbeat (a fragmented one reassembled).
pub async fn next_json(conn: &mut Conn) -> Value {
    let mut parts: Vec<u8> = Vec::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), conn.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("valid frame");
        let whole = match frame {
            Frame::Text(bytes) => Some(bytes.to_vec()),
            Frame::Continuation(Item::FirstText(b)) | Frame::Continuation(Item::Continue(b)) => {
                parts.extend_from_slice(&b);
                None
            }
            Frame::Continuation(Item::Last(b)) => {
                parts.extend_from_slice(&b);
                Some(std::mem::take(&mut parts))
            }
            Frame::Close(reason) => panic!("socket closed: {reason:?}"),
            _ => None,
        };
        if let Some(bytes) = whole {
            let v: Value = serde_json::from_slice(&bytes).expect("server messages are JSON");
            if v["type"] != json!("heartbeat") {
                return v;
            }
        }
    }
}

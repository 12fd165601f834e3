//! WebSocket client helpers.
#![allow(dead_code)]

use std::time::Duration;

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

/// The next JSON text frame that is not a heartbeat.
pub async fn next_json(conn: &mut Conn) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), conn.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("valid frame");
        match frame {
            Frame::Text(bytes) => {
                let v: Value = serde_json::from_slice(&bytes).expect("server frames are JSON");
                if v["type"] != json!("heartbeat") {
                    return v;
                }
            }
            Frame::Close(reason) => panic!("socket closed: {reason:?}"),
            _ => {}
        }
    }
}

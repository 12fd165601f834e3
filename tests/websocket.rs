//! The WebSocket protocol against a real server and a real client.

mod common;

use std::time::Duration;

use awc::ws::{Frame, Message};
use bytes::Bytes;
use common::ws::*;
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;

async fn connect(app: &TestApp) -> Conn {
    connect_to(app, &app.token).await
}

#[actix_web::test]
async fn subscribe_gets_a_snapshot_then_updates_with_increasing_seq() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn_test_plant(dir.path(), t).await;
    let mut conn = connect(&app).await;
    send(&mut conn, r#"{"type":"subscribe","channel":"machine:a-filler"}"#).await;
    let snapshot = next_json(&mut conn).await;
    assert_eq!(
        (snapshot["type"].clone(), snapshot["channel"].clone()),
        (json!("snapshot"), json!("machine:a-filler"))
    );
    assert_eq!(snapshot["data"]["id"], json!("a-filler"));
    let mut last_seq = snapshot["seq"].as_u64().expect("seq");
    for i in 0..5i64 {
        app.ingest(&[
            ("A.Filler.State", json!(1), t + i * 1000),
            ("A.Filler.Total", json!(i * 10), t + i * 1000),
        ])
        .await;
        let update = next_json(&mut conn).await;
        assert_eq!(update["type"], json!("update"), "{update}");
        let seq = update["seq"].as_u64().expect("seq");
        assert!(seq > last_seq, "seq must increase: {seq} after {last_seq}");
        last_seq = seq;
        assert_eq!(update["data"]["state"], json!("running"));
    }
    // production_updates carries every line in its snapshot
    send(&mut conn, r#"{"type":"subscribe","channel":"production_updates"}"#).await;
    let all = next_json(&mut conn).await;
    assert_eq!(all["type"], json!("snapshot"));
    assert_eq!(all["data"]["lines"][0]["id"], json!("line-a"), "{all}");
    assert_eq!(all["data"]["lines"][0]["windows"]["shift"]["total"], json!(40));
}

#[actix_web::test]
async fn malformed_frames_get_error_frames_and_the_socket_stays_up() {
    let dir = temp();
    let app = spawn_test_plant(dir.path(), DAY + 7 * 60 * MIN).await;
    let mut conn = connect(&app).await;
    for (frame, code) in [
        ("not json at all", "bad_json"),
        (r#"{"type":"dance"}"#, "bad_request"),
        (r#"{"type":"subscribe"}"#, "bad_request"),
        (r#"{"type":"subscribe","channel":"line:nope"}"#, "unknown_channel"),
        (r#"{"type":"subscribe","channel":"weather"}"#, "unknown_channel"),
        (
            r#"{"type":"unsubscribe","channel":"production_updates"}"#,
            "not_subscribed",
        ),
    ] {
        send(&mut conn, frame).await;
        let reply = next_json(&mut conn).await;
        assert_eq!(
            (reply["type"].as_str(), reply["code"].as_str()),
            (Some("error"), Some(code)),
            "{frame} → {reply}"
        );
        assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    conn.send(Message::Binary(Bytes::from_static(b"\x00\x01")))
        .await
        .expect("send binary");
    assert_eq!(next_json(&mut conn).await["code"], json!("bad_request"));
    // still up: ping answers, subscriptions work
    send(&mut conn, r#"{"type":"ping"}"#).await;
    assert_eq!(next_json(&mut conn).await, json!({"type": "pong"}));
    send(&mut conn, r#"{"type":"subscribe","channel":"line:line-a"}"#).await;
    assert_eq!(next_json(&mut conn).await["type"], json!("snapshot"));
}

#[actix_web::test]
async fn an_oversized_frame_closes_the_socket_with_1009() {
    let dir = temp();
    let app = spawn_test_plant(dir.path(), DAY + 7 * 60 * MIN).await;
    let mut conn = connect(&app).await;
    let huge = format!(r#"{{"type":"subscribe","channel":"{}"}}"#, "x".repeat(70_000));
    send(&mut conn, &huge).await;
    let mut closed_with = None;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_secs(10), conn.next()).await {
        if let Frame::Close(reason) = frame {
            closed_with = reason.map(|r| u16::from(r.code));
            break;
        }
    }
    assert_eq!(closed_with, Some(1009));
}

#[actix_web::test]
async fn a_client_that_does_not_read_gets_the_latest_state_when_it_does() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn_test_plant(dir.path(), t).await;
    let mut slow = connect(&app).await;
    send(&mut slow, r#"{"type":"subscribe","channel":"machine:a-filler"}"#).await;
    let mut reader = connect(&app).await;
    send(&mut reader, r#"{"type":"subscribe","channel":"machine:a-filler"}"#).await;
    assert_eq!(next_json(&mut reader).await["type"], json!("snapshot"));
    // 300 changes while `slow` reads nothing; the reading client keeps up
    for i in 1..=300i64 {
        app.ingest(&[
            ("A.Filler.State", json!(1), t + i * 1000),
            ("A.Filler.Total", json!(i), t + i * 1000),
        ])
        .await;
    }
    let mut reader_total = json!(null);
    while reader_total != json!(299) {
        reader_total = next_json(&mut reader).await["data"]["windows"]["shift"]["total"].clone();
    }
    // the slow client catches up and ends on the latest state, in seq order
    let mut last = (0, json!(null));
    while last.1 != json!(299) {
        let frame = next_json(&mut slow).await;
        let seq = frame["seq"].as_u64().unwrap_or(0);
        assert!(seq >= last.0, "seq went backwards: {seq} after {}", last.0);
        last = (seq, frame["data"]["windows"]["shift"]["total"].clone());
    }
}

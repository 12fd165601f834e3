//! The live path from outside: WebSocket protocol 2 (snapshot, merge patches, gaps and
//! resync, window sets, the slow-client budget) and the cached REST reads (ETag, 304,
//! gzip, line scoping), against a real server with real clients.

mod common;

use std::io::Read;

use awc::ws::{Frame, Message};
use common::ws::*;
use common::*;
use futures_util::{SinkExt, StreamExt};
use ms5::clock::Clock;
use ms5::domain::access::Role;
use ms5::domain::merge_patch::apply;
use ms5::domain::wire_doc::{WindowMask, entity_doc, only_windows};
use serde_json::{Value, json};

/// Opens `/ws?protocol=2` and reads the `hello`.
async fn connect_v2(app: &TestApp, token: &str) -> Conn {
    let (_, mut conn) = app
        .client
        .ws(format!("{}?protocol=2", app.ws_url))
        .bearer_auth(token)
        .connect()
        .await
        .expect("ws connect");
    assert_eq!(next_json(&mut conn).await, json!({"type": "hello", "protocol": 2}));
    conn
}

async fn spawn(dir: &std::path::Path, t: i64, plant: &str, settings: Value) -> TestApp {
    spawn_app(Spawn {
        plant,
        dir,
        clock: Clock::manual(t),
        simulator: false,
        settings,
    })
    .await
}

/// A protocol 2 client's view of one channel: entity documents with the `seq` each shows.
#[derive(Default)]
struct View {
    docs: std::collections::BTreeMap<String, (Value, u64)>,
    gaps: usize,
}

impl View {
    fn snapshot(&mut self, frame: &Value) {
        let seq = frame["seq"].as_u64().expect("seq");
        self.docs.clear();
        let data = &frame["data"];
        let items = data["lines"].as_array().cloned().unwrap_or_else(|| vec![data.clone()]);
        for item in items {
            self.docs.insert(item["id"].to_string(), (item, seq));
        }
    }

    /// Applies a patch or update; `false` when a frame before it is missing.
    fn apply(&mut self, frame: &Value) -> bool {
        let seq = frame["seq"].as_u64().expect("seq");
        let id = frame["id"].to_string();
        match frame["type"].as_str() {
            Some("update") => {
                self.docs.insert(id, (frame["data"].clone(), seq));
                true
            }
            Some("patch") => {
                let base = frame["base"].as_u64().expect("a patch has a base");
                match self.docs.get_mut(&id) {
                    Some((doc, rev)) if base <= *rev => {
                        apply(doc, &frame["data"]);
                        *rev = seq;
                        true
                    }
                    _ => {
                        self.gaps += 1;
                        false
                    }
                }
            }
            other => panic!("unexpected frame {other:?}: {frame}"),
        }
    }
}

#[actix_web::test]
async fn protocol_2_patches_rebuild_the_snapshot_and_carry_only_the_windows_asked_for() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn(dir.path(), t, TEST_PLANT, json!({})).await;
    let mut conn = connect_v2(&app, &app.token).await;
    send(
        &mut conn,
        r#"{"type":"subscribe","channel":"production_updates","windows":["shift"]}"#,
    )
    .await;
    let snapshot = next_json(&mut conn).await;
    assert_eq!(snapshot["type"], json!("snapshot"));
    let line = &snapshot["data"]["lines"][0];
    assert_eq!(line["machine_order"], json!(["a-filler", "a-packer"]), "{line}");
    let windows: Vec<&String> = line["windows"]
        .as_object()
        .map(|w| w.keys().collect())
        .unwrap_or_default();
    assert_eq!(windows, ["shift"], "only the window asked for");
    let mut view = View::default();
    view.snapshot(&snapshot);
    for i in 1..=6i64 {
        app.ingest(&[
            ("A.Filler.State", json!(1), t + i * 1000),
            ("A.Filler.Total", json!(i * 3), t + i * 1000),
        ])
        .await;
        let frame = next_json(&mut conn).await;
        assert!(view.apply(&frame), "no gap on a reading client: {frame}");
        if frame["type"] == json!("patch") {
            let text = frame.to_string();
            assert!(!text.contains("\"15m\""), "no other window in a patch: {text}");
            assert!(!text.contains("a-packer"), "an unchanged machine is not sent: {text}");
        }
    }
    // what the patches built equals a fresh snapshot and the REST read of the line
    send(&mut conn, r#"{"type":"resync","channel":"production_updates"}"#).await;
    let fresh = next_json(&mut conn).await;
    assert_eq!(fresh["type"], json!("snapshot"));
    assert_eq!(fresh["data"]["lines"][0], view.docs["\"line-a\""].0);
    let (_, rest) = app.get("/api/v1/lines/line-a").await;
    let shift = WindowMask::parse(&["shift".to_owned()]).expect("a window");
    let rest = only_windows(&entity_doc(rest), shift).into_owned();
    assert_eq!(rest, view.docs["\"line-a\""].0);
    // the first counter value (3) is the baseline: 15 parts since
    assert_eq!(rest["windows"]["shift"]["total"], json!(15));
}

#[actix_web::test]
async fn one_machine_change_is_a_patch_under_a_kilobyte_with_every_window() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn(dir.path(), t, TEST_PLANT, json!({})).await;
    app.ingest(&[("A.Filler.State", json!(1), t), ("A.Filler.Total", json!(0), t)])
        .await;
    let mut conn = connect_v2(&app, &app.token).await;
    send(&mut conn, r#"{"type":"subscribe","channel":"machine:a-filler"}"#).await;
    let snapshot = next_json(&mut conn).await;
    app.ingest(&[("A.Filler.Total", json!(5), t + 5_000)]).await;
    let patch = next_json(&mut conn).await;
    assert_eq!(patch["type"], json!("patch"));
    let patch_len = patch.to_string().len();
    assert!(patch_len <= 1024, "{patch_len} bytes: {patch}");
    assert_eq!(snapshot["data"]["name"], json!("Filler"));
    assert_eq!(patch["data"]["windows"]["shift"]["total"], json!(5));
    assert!(
        patch["data"].get("name").is_none(),
        "unchanged members are not sent: {patch}"
    );
}

#[actix_web::test]
async fn a_client_that_misses_a_patch_sees_the_gap_and_resyncs_to_the_current_state() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn(dir.path(), t, TEST_PLANT, json!({})).await;
    let mut conn = connect_v2(&app, &app.token).await;
    send(&mut conn, r#"{"type":"subscribe","channel":"machine:a-filler"}"#).await;
    let mut view = View::default();
    view.snapshot(&next_json(&mut conn).await);
    let mut frames = Vec::new();
    for i in 1..=3i64 {
        app.ingest(&[
            ("A.Filler.State", json!(1), t + i * 1000),
            ("A.Filler.Total", json!(i), t + i * 1000),
        ])
        .await;
        frames.push(next_json(&mut conn).await);
    }
    // every patch names the frame before it
    for pair in frames.windows(2) {
        if pair[1]["type"] == json!("patch") {
            assert_eq!(pair[1]["base"], pair[0]["seq"], "{} after {}", pair[1], pair[0]);
        }
    }
    assert!(view.apply(&frames[0]));
    // frames[1] is lost on the way: frames[2] cannot apply
    assert!(!view.apply(&frames[2]), "the gap is seen");
    assert_eq!(view.gaps, 1);
    send(&mut conn, r#"{"type":"resync","channel":"machine:a-filler"}"#).await;
    let fresh = next_json(&mut conn).await;
    assert_eq!(fresh["type"], json!("snapshot"));
    assert_eq!(fresh["seq"], frames[2]["seq"]);
    // the first counter value is the baseline
    assert_eq!(fresh["data"]["windows"]["shift"]["total"], json!(2));
    // resync of a channel not subscribed to is refused
    send(&mut conn, r#"{"type":"resync","channel":"machine:a-packer"}"#).await;
    assert_eq!(next_json(&mut conn).await["code"], json!("not_subscribed"));
    send(
        &mut conn,
        r#"{"type":"subscribe","channel":"machine:a-packer","windows":["week"]}"#,
    )
    .await;
    let refused = next_json(&mut conn).await;
    assert_eq!(refused["code"], json!("bad_request"));
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or("")
            .contains("unknown window `week`"),
        "{refused}"
    );
}

#[actix_web::test]
async fn the_first_change_after_quiet_goes_out_at_once_whatever_the_coalesce_interval() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    // an hour of coalescing: only a leading-edge push can deliver within the test
    let app = spawn(dir.path(), t, TEST_PLANT, json!({"websocket": {"coalesce": "1h"}})).await;
    let mut conn = connect_v2(&app, &app.token).await;
    send(&mut conn, r#"{"type":"subscribe","channel":"machine:a-filler"}"#).await;
    assert_eq!(next_json(&mut conn).await["type"], json!("snapshot"));
    let timed_before = push_latency_count(&app).await;
    app.ingest(&[
        ("A.Filler.State", json!(1), t + 1000),
        ("A.Filler.Total", json!(4), t + 1000),
    ])
    .await;
    let first = next_json(&mut conn).await;
    assert_eq!(first["data"]["state"], json!("running"), "{first}");
    // the push was timed from the ingest to its frames (the tests of this file share the
    // registry, so only "more than before" is this test's own)
    assert!(push_latency_count(&app).await > timed_before);
}

/// How many pushes `ms5_ws_push_latency_seconds` has timed.
async fn push_latency_count(app: &TestApp) -> u64 {
    let (_, metrics) = app.get_text("/metrics").await;
    metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("ms5_ws_push_latency_seconds_count ")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

#[actix_web::test]
async fn a_protocol_the_server_does_not_speak_is_refused_before_the_upgrade() {
    let dir = temp();
    let app = spawn(dir.path(), DAY + 7 * 60 * MIN, TEST_PLANT, json!({})).await;
    let (status, body) = app.get("/ws?protocol=3").await;
    assert_eq!(status, 400);
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("expected 1 or 2"), "{body}");
}

#[actix_web::test]
async fn a_client_that_stops_reading_past_its_budget_is_closed_with_1013() {
    let dir = temp();
    let app = spawn(
        dir.path(),
        DAY + 7 * 60 * MIN,
        TEST_PLANT,
        json!({"websocket": {"outbound_bytes": 65536, "max_frame_bytes": 65536}}),
    )
    .await;
    let mut conn = connect_v2(&app, &app.token).await;
    // each request is answered by an error naming the 40 KB channel: 16 MB of answers,
    // far more than the socket buffers hold while the client reads nothing
    let name = "x".repeat(40_000);
    for _ in 0..400 {
        let frame = format!(r#"{{"type":"subscribe","channel":"{name}"}}"#);
        if conn.send(Message::Text(frame.into())).await.is_err() {
            break;
        }
    }
    let mut close = None;
    while let Ok(Some(frame)) = tokio::time::timeout(std::time::Duration::from_secs(20), conn.next()).await {
        match frame {
            Ok(Frame::Close(reason)) => {
                close = reason.map(|r| (u16::from(r.code), r.description));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(close, Some((1013, Some("too slow: reconnect".to_owned()))));
    let (_, metrics) = app.get_text("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ms5_ws_slow_clients_closed_total") && !l.ends_with(" 0")),
        "counted"
    );
}

/// GET with headers → (status, headers, raw body).
async fn get_raw(
    app: &TestApp,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> (u16, awc::http::header::HeaderMap, Vec<u8>) {
    let mut req = app
        .client
        .get(format!("{}{path}", app.base))
        .insert_header(("Authorization", format!("Bearer {token}")));
    for &(k, v) in headers {
        req = req.insert_header((k, v));
    }
    let mut res = req.send().await.expect("GET");
    let body = res.body().limit(16 << 20).await.expect("body");
    (res.status().as_u16(), res.headers().clone(), body.to_vec())
}

fn etag(headers: &awc::http::header::HeaderMap) -> String {
    headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[actix_web::test]
async fn rest_reads_answer_304_while_nothing_changed_and_200_with_the_change_after() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn(dir.path(), t, &two_line_plant(), json!({})).await;
    let token = app.admin();
    for path in [
        "/api/v1/production/lines",
        "/api/v1/lines/line-a",
        "/api/v1/machines/a-filler",
    ] {
        let (status, headers, body) = get_raw(&app, path, &token, &[]).await;
        assert_eq!(status, 200, "{path}");
        let tag = etag(&headers);
        assert!(tag.starts_with("W/\""), "{path}: {tag}");
        let (status, _, empty) = get_raw(&app, path, &token, &[("If-None-Match", &tag)]).await;
        assert_eq!((status, empty.len()), (304, 0), "{path}");
        // gzip when asked, the same JSON inside
        let (status, headers, gz) = get_raw(&app, path, &token, &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(status, 200);
        assert_eq!(
            headers.get("content-encoding").and_then(|v| v.to_str().ok()),
            Some("gzip")
        );
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut inflated)
            .expect("valid gzip");
        assert_eq!(inflated, body, "{path}");
    }
    app.ingest(&[("A.Filler.State", json!(1), t), ("A.Filler.Total", json!(0), t)])
        .await;
    let (_, headers, _) = get_raw(&app, "/api/v1/production/lines", &token, &[]).await;
    let before = etag(&headers);
    app.ingest(&[
        ("A.Filler.State", json!(1), t + 1000),
        ("A.Filler.Total", json!(7), t + 1000),
    ])
    .await;
    let (status, headers, body) =
        get_raw(&app, "/api/v1/production/lines", &token, &[("If-None-Match", &before)]).await;
    assert_eq!(status, 200, "the plant changed");
    assert_ne!(etag(&headers), before);
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(body["lines"][0]["machines"][0]["windows"]["shift"]["total"], json!(7));
    let (status, _, body) = get_raw(&app, "/api/v1/machines/a-filler", &token, &[]).await;
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!((status, body["windows"]["shift"]["total"].clone()), (200, json!(7)));
}

#[actix_web::test]
async fn a_line_scoped_caller_never_receives_another_lines_bytes() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn(dir.path(), t, &two_line_plant(), json!({})).await;
    let scoped = app
        .token_with("op-b", Role::Operator, Some(vec!["line-b".into()]))
        .await;
    let admin = app.admin();
    let (_, admin_headers, _) = get_raw(&app, "/api/v1/production/lines", &admin, &[]).await;
    let (status, headers, body) = get_raw(&app, "/api/v1/production/lines", &scoped, &[]).await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("line-a") && !text.contains("a-filler"), "{text}");
    assert!(text.contains("b-press"));
    assert_ne!(etag(&headers), etag(&admin_headers), "its own bytes, its own ETag");
    // the admin's ETag does not give the scoped caller a 304 for bytes it never had
    let (status, _, _) = get_raw(
        &app,
        "/api/v1/production/lines",
        &scoped,
        &[("If-None-Match", &etag(&admin_headers))],
    )
    .await;
    assert_eq!(status, 200);
    for path in ["/api/v1/lines/line-a", "/api/v1/machines/a-filler"] {
        assert_eq!(get_raw(&app, path, &scoped, &[]).await.0, 403, "{path}");
    }
    // on the socket: a snapshot of its line only, and no frame about line A
    let mut conn = connect_v2(&app, &scoped).await;
    send(&mut conn, r#"{"type":"subscribe","channel":"production_updates"}"#).await;
    let snapshot = next_json(&mut conn).await;
    let ids: Vec<Value> = snapshot["data"]["lines"]
        .as_array()
        .map(|l| l.iter().map(|x| x["id"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(ids, [json!("line-b")]);
    app.ingest(&[
        ("A.Filler.State", json!(1), t + 1000),
        ("A.Filler.Total", json!(2), t + 1000),
    ])
    .await;
    app.ingest(&[
        ("B.Press.State", json!(1), t + 2000),
        ("B.Press.Total", json!(2), t + 2000),
    ])
    .await;
    let next = next_json(&mut conn).await;
    assert_eq!(next["id"], json!("line-b"), "line A's change never reaches it: {next}");
}

#[actix_web::test]
async fn a_snapshot_longer_than_a_fragment_arrives_in_fragments_that_make_it_whole() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    // line B with twelve presses: its snapshot is several fragments long
    let presses: String = (0..12)
        .map(|i| {
            format!(
                "\n[[lines.machines]]\nid = \"b-press-{i}\"\nname = \"Press {i}\"\nideal_cycle_time = \"1s\"\n\
                 tags = {{ state = {{ tag = \"B.P{i}.State\" }}, total = {{ tag = \"B.P{i}.Total\", width = 32 }} }}\n"
            )
        })
        .collect();
    let plant = format!("{}{presses}", two_line_plant());
    let app = spawn(dir.path(), t, &plant, json!({})).await;
    let (_, mut conn) = app
        .client
        .ws(&app.ws_url)
        .bearer_auth(&app.token)
        .connect()
        .await
        .expect("ws connect");
    send(&mut conn, r#"{"type":"subscribe","channel":"production_updates"}"#).await;
    let mut parts = Vec::new();
    let mut fragments = 0;
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), conn.next())
            .await
            .expect("a frame")
            .expect("open")
            .expect("valid");
        match frame {
            Frame::Continuation(actix_http::ws::Item::FirstText(b) | actix_http::ws::Item::Continue(b)) => {
                assert!(b.len() <= ms5::actors::ws_session::FRAGMENT_BYTES);
                fragments += 1;
                parts.extend_from_slice(&b);
            }
            Frame::Continuation(actix_http::ws::Item::Last(b)) => {
                fragments += 1;
                parts.extend_from_slice(&b);
                break;
            }
            Frame::Text(b) => panic!("a {} byte snapshot came whole", b.len()),
            _ => {}
        }
    }
    assert!(fragments >= 3, "{fragments} fragments of {} bytes", parts.len());
    let snapshot: Value = serde_json::from_slice(&parts).expect("the fragments make one JSON message");
    assert_eq!(snapshot["type"], json!("snapshot"));
    assert_eq!(
        snapshot["data"]["lines"][1]["machines"].as_array().map(Vec::len),
        Some(13)
    );
}

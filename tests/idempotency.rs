//! `Idempotency-Key` on operator writes, against a real server on a manual clock: a
//! replay answers with the first answer and applies nothing, another body under the same
//! key is a 422, keys belong to their user and expire after 24 h, a conflict is kept and
//! replayed as a conflict, and "not now" answers (maintenance) leave the key free.

mod common;

use common::*;
use ms5::domain::access::Role;
use serde_json::{Value, json};

/// 08:00 on the test day, in the day shift.
const T0: i64 = DAY + 8 * 60 * MIN;

const EXTRA: &str = r#"
[andon]
reasons = { mechanical = ["belt", "bearing"], other = [] }

[defects]
fill = ["underfill", "overfill"]
"#;

async fn app(dir: &std::path::Path) -> TestApp {
    spawn_plant_at(dir, &format!("{TEST_PLANT}{EXTRA}"), T0, json!({})).await
}

/// What a write answered: status, body, and whether it was a replay.
struct Answer {
    status: u16,
    body: Value,
    replayed: bool,
}

/// POSTs `body` to `path` as `token` with `Idempotency-Key: key` (when given).
async fn send(app: &TestApp, path: &str, token: &str, key: Option<&str>, body: &Value) -> Answer {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "application/json"));
    if let Some(k) = key {
        req = req.insert_header(("Idempotency-Key", k));
    }
    let mut res = req.send_body(body.to_string()).await.expect("request");
    let replayed = res
        .headers()
        .get("Idempotent-Replayed")
        .is_some_and(|v| v.as_bytes() == b"true");
    let bytes = res.body().limit(1 << 20).await.expect("body");
    Answer {
        status: res.status().as_u16(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        replayed,
    }
}

fn ticket(description: &str) -> Value {
    json!({"line": "line-a", "machine": "a-filler", "category": "maintenance", "priority": "high",
           "description": description})
}

async fn tickets(app: &TestApp) -> Vec<Value> {
    let (status, list) = app.get("/api/v1/andon/tickets?line=line-a").await;
    assert_eq!(status, 200, "{list}");
    list["tickets"].as_array().cloned().unwrap_or_default()
}

async fn audit_count(app: &TestApp, action: &str) -> usize {
    let (status, page) = app.get(&format!("/api/v1/audit?limit=1000&action={action}")).await;
    assert_eq!(status, 200, "{page}");
    page["entries"].as_array().map_or(0, Vec::len)
}

#[actix_web::test]
async fn a_raise_sent_twice_with_one_key_makes_one_ticket_and_answers_alike() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;

    let first = send(&app, "/api/v1/andon/tickets", &olga, Some("k-1"), &ticket("jam")).await;
    assert_eq!((first.status, first.replayed), (201, false), "{}", first.body);
    let again = send(&app, "/api/v1/andon/tickets", &olga, Some("k-1"), &ticket("jam")).await;
    assert_eq!((again.status, again.replayed), (201, true), "{}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(tickets(&app).await.len(), 1);
    assert_eq!(audit_count(&app, "andon.raise").await, 1);

    // Without a key, the same body is a second ticket: the key is what makes it one.
    let plain = send(&app, "/api/v1/andon/tickets", &olga, None, &ticket("jam")).await;
    assert_eq!((plain.status, plain.replayed), (201, false));
    assert_ne!(plain.body["id"], first.body["id"]);
    assert_eq!(tickets(&app).await.len(), 2);
}

#[actix_web::test]
async fn one_key_with_another_body_is_422_in_the_one_error_shape_and_applies_nothing() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let first = send(&app, "/api/v1/andon/tickets", &olga, Some("k-2"), &ticket("jam")).await;
    assert_eq!(first.status, 201, "{}", first.body);

    let other = send(&app, "/api/v1/andon/tickets", &olga, Some("k-2"), &ticket("leak")).await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(other.body["error"]["code"], json!("idempotency_key_reused"));
    assert!(other.body["error"]["message"].is_string(), "{}", other.body);
    // Another route under the same key is another request too.
    let id = first.body["id"].as_i64().expect("id");
    let ack = send(
        &app,
        &format!("/api/v1/andon/tickets/{id}/acknowledge"),
        &olga,
        Some("k-2"),
        &json!({}),
    )
    .await;
    assert_eq!(ack.status, 422, "{}", ack.body);
    let list = tickets(&app).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["state"], json!("open"));
}

#[actix_web::test]
async fn keys_belong_to_their_user() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let otto = app.token_with("otto", Role::Operator, None).await;
    let a = send(&app, "/api/v1/andon/tickets", &olga, Some("shared"), &ticket("jam")).await;
    let b = send(&app, "/api/v1/andon/tickets", &otto, Some("shared"), &ticket("jam")).await;
    assert_eq!((a.status, b.status, b.replayed), (201, 201, false));
    assert_ne!(a.body["id"], b.body["id"]);
    assert_eq!(b.body["raised_by"], json!("otto"));
}

#[actix_web::test]
async fn a_key_is_forgotten_after_24_hours() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let first = send(&app, "/api/v1/andon/tickets", &olga, Some("k-3"), &ticket("jam")).await;
    assert_eq!(first.status, 201);

    // 1 ms before the end of the lifetime the answer is still kept …
    app.clock.advance(24 * 60 * MIN - 1);
    let olga = app.token_with("olga", Role::Operator, None).await;
    let kept = send(&app, "/api/v1/andon/tickets", &olga, Some("k-3"), &ticket("jam")).await;
    assert_eq!((kept.status, kept.replayed), (201, true));
    // … and at 24 h it is gone: the same request is applied again.
    app.clock.advance(1);
    let late = send(&app, "/api/v1/andon/tickets", &olga, Some("k-3"), &ticket("jam")).await;
    assert_eq!((late.status, late.replayed), (201, false), "{}", late.body);
    assert_ne!(late.body["id"], first.body["id"]);
}

#[actix_web::test]
async fn a_conflict_is_kept_and_replayed_as_the_same_conflict() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let sam = app.token_for("sam").await;
    let raised = send(&app, "/api/v1/andon/tickets", &olga, Some("r"), &ticket("jam")).await;
    let id = raised.body["id"].as_i64().expect("id");
    // Resolved at the supervisor's desk while the tablet's acknowledge waited offline.
    let resolved = send(
        &app,
        &format!("/api/v1/andon/tickets/{id}/resolve"),
        &sam,
        None,
        &json!({}),
    )
    .await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);

    let path = format!("/api/v1/andon/tickets/{id}/acknowledge");
    let late = send(&app, &path, &olga, Some("a"), &json!({})).await;
    assert_eq!((late.status, late.replayed), (409, false), "{}", late.body);
    assert_eq!(late.body["error"]["code"], json!("conflict"));
    let again = send(&app, &path, &olga, Some("a"), &json!({})).await;
    assert_eq!((again.status, again.replayed), (409, true));
    assert_eq!(again.body, late.body);
    assert_eq!(tickets(&app).await[0]["state"], json!("resolved"));
}

#[actix_web::test]
async fn acknowledge_and_resolve_replays_apply_once() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let raised = send(&app, "/api/v1/andon/tickets", &olga, Some("r"), &ticket("jam")).await;
    let id = raised.body["id"].as_i64().expect("id");
    for action in ["acknowledge", "resolve"] {
        let path = format!("/api/v1/andon/tickets/{id}/{action}");
        let key = format!("{action}-1");
        let first = send(&app, &path, &olga, Some(&key), &json!({})).await;
        let again = send(&app, &path, &olga, Some(&key), &json!({})).await;
        assert_eq!(
            (first.status, again.status, again.replayed),
            (200, 200, true),
            "{action}: {}",
            first.body
        );
        assert_eq!(again.body, first.body, "{action}");
    }
    assert_eq!(audit_count(&app, "andon.acknowledge").await, 1);
    assert_eq!(audit_count(&app, "andon.resolve").await, 1);
}

#[actix_web::test]
async fn a_reject_sent_twice_is_logged_once() {
    let dir = temp();
    let app = app(dir.path()).await;
    app.ingest(&[
        ("A.Filler.State", json!(1), T0 - 60 * MIN),
        ("A.Filler.Total", json!(0), T0 - 60 * MIN),
        ("A.Filler.Total", json!(100), T0),
    ])
    .await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let body = json!({"machine": "a-filler", "defect": "fill/underfill", "quantity": 3});
    let first = send(&app, "/api/v1/rejects", &olga, Some("rej-1"), &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = send(&app, "/api/v1/rejects", &olga, Some("rej-1"), &body).await;
    assert_eq!((again.status, again.replayed), (201, true));
    assert_eq!(again.body, first.body);
    let (_, list) = app.get("/api/v1/rejects?line=line-a").await;
    let rows = list["rejects"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["quantity"], json!(3));
}

#[actix_web::test]
async fn a_checklist_and_a_handover_note_sent_twice_are_stored_once() {
    let dir = temp();
    let app = app(dir.path()).await;
    let (status, t) = app
        .post(
            "/api/v1/checklist-templates",
            &json!({"line": "line-a", "name": "start", "items": [
                {"key": "guard", "label": "Guard closed?", "kind": "yes_no", "required": true}]}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let olga = app.token_with("olga", Role::Operator, None).await;
    let fill = json!({"template": t["id"], "answers": {"guard": true}});
    let path = "/api/v1/lines/line-a/checklists";
    let first = send(&app, path, &olga, Some("c-1"), &fill).await;
    let again = send(&app, path, &olga, Some("c-1"), &fill).await;
    assert_eq!(
        (first.status, again.status, again.replayed),
        (201, 201, true),
        "{}",
        first.body
    );
    let (_, list) = app.get(path).await;
    assert_eq!(list["checklists"].as_array().map(Vec::len), Some(1), "{list}");

    let note = json!({"note": "belt on the packer squeaks"});
    let path = "/api/v1/lines/line-a/handover";
    let first = send(&app, path, &olga, Some("h-1"), &note).await;
    let again = send(&app, path, &olga, Some("h-1"), &note).await;
    assert_eq!((first.status, again.replayed), (again.status, true), "{}", first.body);
    assert_eq!(audit_count(&app, "handover.write").await, 1);
}

#[actix_web::test]
async fn a_classification_sent_twice_is_applied_once() {
    let dir = temp();
    let app = app(dir.path()).await;
    app.ingest(&[
        ("A.Filler.State", json!(1), T0 - 30 * MIN),
        ("A.Filler.State", json!(3), T0 - 20 * MIN),
        ("A.Filler.State", json!(1), T0 - 10 * MIN),
        ("A.Filler.State", json!(1), T0),
    ])
    .await;
    let (_, all) = app.get("/api/v1/downtime?line=line-a").await;
    let id = all["downtime"][0]["id"].as_i64().expect("a stop");
    let olga = app.token_with("olga", Role::Operator, None).await;
    let path = format!("/api/v1/downtime/{id}/classify");
    let body = json!({"reason": "mechanical/belt"});
    let first = send(&app, &path, &olga, Some("cl-1"), &body).await;
    let again = send(&app, &path, &olga, Some("cl-1"), &body).await;
    assert_eq!(
        (first.status, again.status, again.replayed),
        (200, 200, true),
        "{}",
        first.body
    );
    assert_eq!(again.body, first.body);
    assert_eq!(audit_count(&app, "downtime.classify").await, 1);
}

#[actix_web::test]
async fn a_maintenance_refusal_leaves_the_key_free_for_later() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    set_maintenance(&app, true).await;
    let paused = send(&app, "/api/v1/andon/tickets", &olga, Some("m-1"), &ticket("jam")).await;
    assert_eq!(paused.status, 503, "{}", paused.body);
    set_maintenance(&app, false).await;
    let later = send(&app, "/api/v1/andon/tickets", &olga, Some("m-1"), &ticket("jam")).await;
    assert_eq!((later.status, later.replayed), (201, false), "{}", later.body);
}

async fn set_maintenance(app: &TestApp, on: bool) {
    let body = json!({ "enabled": on });
    let (s, b) = app
        .call("PUT", "/api/v1/flags/maintenance_mode", Some(&app.admin()), Some(&body))
        .await;
    assert_eq!(s, 200, "{b}");
}

#[actix_web::test]
async fn bad_keys_are_400_naming_the_header_and_apply_nothing() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let long = "k".repeat(256);
    for key in [long.as_str(), ""] {
        let a = send(&app, "/api/v1/andon/tickets", &olga, Some(key), &ticket("jam")).await;
        assert_eq!(a.status, 400, "{key:?}: {}", a.body);
        let message = a.body["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains("Idempotency-Key"), "{message}");
    }
    assert!(tickets(&app).await.is_empty());
}

#[actix_web::test]
async fn routes_without_keys_ignore_the_header() {
    let dir = temp();
    let app = app(dir.path()).await;
    let sam = app.token_for("sam").await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let raised = send(&app, "/api/v1/andon/tickets", &olga, None, &ticket("jam")).await;
    let id = raised.body["id"].as_i64().expect("id");
    // Cancelling is a supervisor's desk action, not queued offline: no replay.
    let path = format!("/api/v1/andon/tickets/{id}/cancel");
    let first = send(&app, &path, &sam, Some("x"), &json!({})).await;
    let again = send(&app, &path, &sam, Some("x"), &json!({})).await;
    assert_eq!(
        (first.status, again.status, again.replayed),
        (200, 409, false),
        "{}",
        again.body
    );
}

#[test]
fn the_operator_writes_and_only_they_take_keys() {
    let mut marked: Vec<String> = ms5::http::ROUTES
        .iter()
        .filter(|r| r.idempotent)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    marked.sort();
    assert_eq!(
        marked,
        [
            "POST /api/v1/andon/tickets",
            "POST /api/v1/andon/tickets/{id}/acknowledge",
            "POST /api/v1/andon/tickets/{id}/resolve",
            "POST /api/v1/downtime/{id}/classify",
            "POST /api/v1/downtime/{id}/split",
            "POST /api/v1/lines/{id}/checklists",
            "POST /api/v1/lines/{id}/handover",
            "POST /api/v1/rejects",
        ]
    );
}

#[actix_web::test]
async fn the_openapi_document_names_the_header_on_exactly_those_routes() {
    let dir = temp();
    let app = app(dir.path()).await;
    let (status, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    for rule in ms5::http::ROUTES {
        // `{file:regex}` → `{file}`, as the document names it.
        let path = match rule.path.split_once(':') {
            Some((head, _)) => format!("{head}}}"),
            None => rule.path.to_owned(),
        };
        let op = &doc["paths"][path.as_str()][rule.method.to_lowercase()];
        let named = op["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == json!("Idempotency-Key") && p["in"] == json!("header"))
        });
        assert_eq!(named, rule.idempotent, "{} {}", rule.method, rule.path);
        if rule.idempotent {
            assert!(op["responses"]["422"].is_object(), "{} {}", rule.method, rule.path);
        }
    }
}

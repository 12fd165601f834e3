//! Splitting a stop in two against a real server on a manual clock: the parts and their
//! reasons, the Pareto following (figures by hand), OEE unchanged, refusals that change
//! nothing, an idempotent replay, and the audit entry.

mod common;

use common::*;
use ms5::domain::access::Role;
use serde_json::{Value, json};

/// 08:00 on the test day, in the day shift (06:00-14:00).
const T0: i64 = DAY + 8 * 60 * MIN;

const EXTRA: &str = r#"
[andon]
reasons = { mechanical = ["belt", "bearing"], waiting = ["fitter"], other = [] }
"#;

/// The filler runs from 07:00, is down 07:40-07:50 (no fault code: `unclassified`) and
/// down again from 07:55 (still going on at 08:00).
async fn app(dir: &std::path::Path) -> TestApp {
    let app = spawn_plant_at(dir, &format!("{TEST_PLANT}{EXTRA}"), T0, json!({})).await;
    app.ingest(&[
        ("A.Filler.State", json!(1), T0 - 60 * MIN),
        ("A.Filler.State", json!(3), T0 - 20 * MIN),
        ("A.Filler.State", json!(1), T0 - 10 * MIN),
        ("A.Filler.State", json!(3), T0 - 5 * MIN),
        ("A.Filler.State", json!(3), T0),
    ])
    .await;
    app
}

async fn stops(app: &TestApp) -> Vec<Value> {
    let (status, list) = app.get("/api/v1/downtime?machine=a-filler").await;
    assert_eq!(status, 200, "{list}");
    list["downtime"].as_array().cloned().unwrap_or_default()
}

/// The stop that started at `start`.
fn at(list: &[Value], start: i64) -> Value {
    list.iter()
        .find(|s| s["start"] == json!(rfc3339(start)))
        .cloned()
        .unwrap_or_else(|| panic!("no stop at {}: {list:?}", rfc3339(start)))
}

#[actix_web::test]
async fn a_stop_splits_into_two_parts_with_their_own_reasons_and_oee_stays() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let window = format!("from={}&to={}", rfc3339(T0 - 60 * MIN), rfc3339(T0));
    let (_, oee_before) = app.get(&format!("/api/v1/machines/a-filler/oee?{window}")).await;
    let stop = at(&stops(&app).await, T0 - 20 * MIN);
    let id = stop["id"].as_i64().expect("id");

    // The jam was cleared at 07:47; then the machine waited for the fitter until 07:50.
    let (status, parts) = app
        .post_as(
            &format!("/api/v1/downtime/{id}/split"),
            &olga,
            &json!({"at": rfc3339(T0 - 13 * MIN), "reason": "waiting/fitter"}),
        )
        .await;
    assert_eq!(status, 200, "{parts}");
    let (first, second) = (&parts["first"], &parts["second"]);
    assert_eq!(
        (
            first["id"].as_i64(),
            first["end"].clone(),
            first["duration_s"].clone(),
            first["reason"].clone()
        ),
        (
            Some(id),
            json!(rfc3339(T0 - 13 * MIN)),
            json!(420.0),
            json!("unclassified")
        )
    );
    assert_eq!(
        (
            second["start"].clone(),
            second["end"].clone(),
            second["duration_s"].clone(),
            second["reason"].clone(),
            second["auto_reason"].clone(),
            second["classified"]["by"].clone()
        ),
        (
            json!(rfc3339(T0 - 13 * MIN)),
            json!(rfc3339(T0 - 10 * MIN)),
            json!(180.0),
            json!("waiting/fitter"),
            json!("unclassified"),
            json!("olga")
        )
    );
    assert_eq!(stops(&app).await.len(), 3);

    // The Pareto of 07:00-07:55: unclassified 7 min (07:40-07:47), waiting/fitter 3 min.
    let span = format!("from={}&to={}", rfc3339(T0 - 60 * MIN), rfc3339(T0 - 5 * MIN));
    let (status, p) = app.get(&format!("/api/v1/downtime/pareto?line=line-a&{span}")).await;
    assert_eq!(status, 200, "{p}");
    let minutes: Vec<(Value, Value)> = p["reasons"]
        .as_array()
        .map(|r| r.iter().map(|x| (x["reason"].clone(), x["minutes"].clone())).collect())
        .unwrap_or_default();
    assert_eq!(
        minutes,
        [
            (json!("unclassified"), json!(7.0)),
            (json!("waiting/fitter"), json!(3.0))
        ]
    );
    // The machine was down all along: OEE does not move.
    let (_, oee_after) = app.get(&format!("/api/v1/machines/a-filler/oee?{window}")).await;
    assert_eq!(oee_after, oee_before);
    let (_, log) = app.get("/api/v1/audit?action=downtime.split").await;
    let entries = log["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(
        (entries[0]["actor"].clone(), entries[0]["target"].clone()),
        (json!("olga"), json!(id.to_string()))
    );
}

#[actix_web::test]
async fn refused_splits_change_nothing() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let list = stops(&app).await;
    let closed = at(&list, T0 - 20 * MIN)["id"].as_i64().expect("id");
    let open = at(&list, T0 - 5 * MIN)["id"].as_i64().expect("id");
    let split = |id: i64, body: Value| {
        let (app, olga) = (&app, &olga);
        async move { app.post_as(&format!("/api/v1/downtime/{id}/split"), olga, &body).await }
    };
    // (stop, body, status, code, field)
    let table = [
        (
            closed,
            json!({"at": rfc3339(T0 - 20 * MIN)}),
            400,
            "bad_request",
            Some("at"),
        ),
        (
            closed,
            json!({"at": rfc3339(T0 - 10 * MIN)}),
            400,
            "bad_request",
            Some("at"),
        ),
        (
            closed,
            json!({"at": rfc3339(T0 - 30 * MIN)}),
            400,
            "bad_request",
            Some("at"),
        ),
        (
            closed,
            json!({"at": rfc3339(T0 - 15 * MIN), "reason": "gremlins"}),
            400,
            "bad_request",
            Some("reason"),
        ),
        (closed, json!({"at": "07:45"}), 400, "bad_request", None),
        (open, json!({"at": rfc3339(T0 - 2 * MIN)}), 409, "conflict", None),
        (999, json!({"at": rfc3339(T0 - 15 * MIN)}), 404, "not_found", None),
    ];
    for (id, body, status, code, field) in table {
        let (got, answer) = split(id, body.clone()).await;
        assert_eq!(
            (got, answer["error"]["code"].clone()),
            (status, json!(code)),
            "{body}: {answer}"
        );
        if let Some(f) = field {
            assert_eq!(answer["error"]["details"]["field"], json!(f), "{body}: {answer}");
        }
    }
    assert_eq!(stops(&app).await, list, "nothing changed");
    // A display token may not split.
    let (_, display) = app.post("/api/v1/display-tokens", &json!({"name": "wall"})).await;
    let token = display["token"].as_str().expect("token");
    let (got, _) = app
        .post_as(
            &format!("/api/v1/downtime/{closed}/split"),
            token,
            &json!({"at": rfc3339(T0 - 15 * MIN)}),
        )
        .await;
    assert_eq!(got, 403);
}

#[actix_web::test]
async fn a_split_replayed_with_its_key_splits_once() {
    let dir = temp();
    let app = app(dir.path()).await;
    let olga = app.token_with("olga", Role::Operator, None).await;
    let id = at(&stops(&app).await, T0 - 20 * MIN)["id"].as_i64().expect("id");
    let body = json!({"at": rfc3339(T0 - 15 * MIN)}).to_string();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let mut res = app
            .client
            .post(format!("{}/api/v1/downtime/{id}/split", app.base))
            .insert_header(("Authorization", format!("Bearer {olga}")))
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("Idempotency-Key", "split-1"))
            .send_body(body.clone())
            .await
            .expect("request");
        let bytes = res.body().await.expect("body");
        answers.push((res.status().as_u16(), bytes));
    }
    assert_eq!(answers[0].0, 200);
    assert_eq!(answers[0], answers[1]);
    assert_eq!(stops(&app).await.len(), 3, "one split: three stops, not four");
}

//! Products and jobs on a real server with a manual clock: the job life, one running job
//! per line, the job's product giving parts their ideal cycle time (a PLC-reported
//! product wins, with a warning), progress with rate and ETA, job OEE equal to
//! `?from=&to=`, the `jobs:{line}` channel, bad input and the audit log.

mod common;

use common::ws::{connect_to, next_json, send};
use common::*;
use ms5::domain::access::Role;
use serde_json::{Value, json};

/// 06:00 on the test day: the day shift starts.
const SHIFT_START: i64 = DAY + 6 * 60 * MIN;

/// The test plant plus a product tag on line A's filler, whose PLC knows product 1.
fn plant_with_product_tag() -> String {
    TEST_PLANT.replace(
        "fault_codes = { 7 = \"jam\" }\ntags = { state = { tag = \"A.Filler.State\" },",
        "fault_codes = { 7 = \"jam\" }\nproducts = [{ code = 1, name = \"Still 0.5 l\", ideal_cycle_time = \"1s\" }]\n\
         tags = { product = \"A.Filler.Product\", state = { tag = \"A.Filler.State\" },",
    )
}

/// Settings that push a running job's progress every 100 ms.
fn fast_progress() -> Value {
    json!({ "websocket": { "job_progress": "100ms" } })
}

async fn make_product(app: &TestApp, code: &str, ideal_cycle_ms: i64) {
    let body = json!({ "name": format!("{code} name"), "ideal_cycle_ms": ideal_cycle_ms });
    let (status, answer) = app
        .call(
            "PUT",
            &format!("/api/v1/products/{code}"),
            Some(&app.admin()),
            Some(&body),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
}

async fn plan(app: &TestApp, product: &str, target: i64) -> i64 {
    let (status, job) = app
        .post(
            "/api/v1/jobs",
            &json!({"line": "line-a", "product": product, "target": target, "notes": "night order"}),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["state"], "planned");
    job["id"].as_i64().expect("id")
}

async fn act(app: &TestApp, id: i64, action: &str) -> (u16, Value) {
    app.post(&format!("/api/v1/jobs/{id}/{action}"), &json!({})).await
}

#[actix_web::test]
async fn products_are_the_plant_models_and_those_stored_and_bad_ones_name_the_field() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &plant_with_product_tag(), SHIFT_START, fast_progress()).await;
    make_product(&app, "cola-2l", 2000).await;
    let (_, list) = app.get("/api/v1/products").await;
    let codes: Vec<(&str, &str)> = list["products"]
        .as_array()
        .expect("products")
        .iter()
        .map(|p| (p["code"].as_str().unwrap_or(""), p["source"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(codes, vec![("1", "plant_model"), ("cola-2l", "stored")]);
    // Replacing answers 200; an engineer may, a supervisor may not.
    let eng = app.token_with("erin", Role::Engineer, None).await;
    let body = json!({"name": "Cola 2 l", "ideal_cycle_ms": 2200, "machine_cycles": {"a-filler": 2500}});
    let (status, p) = app
        .call("PUT", "/api/v1/products/cola-2l", Some(&eng), Some(&body))
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["machine_cycles"]["a-filler"], 2500);
    let sup = app.token_for("sam").await;
    let (status, _) = app
        .call("PUT", "/api/v1/products/cola-2l", Some(&sup), Some(&body))
        .await;
    assert_eq!(status, 403);
    // (code, body, field named)
    let bad = [
        ("has space", json!({"name": "x", "ideal_cycle_ms": 1000}), "code"),
        ("1", json!({"name": "x", "ideal_cycle_ms": 1000}), "code"),
        ("ok", json!({"name": "  ", "ideal_cycle_ms": 1000}), "name"),
        ("ok", json!({"name": "x", "ideal_cycle_ms": 0}), "ideal_cycle_ms"),
        (
            "ok",
            json!({"name": "x", "ideal_cycle_ms": 1000, "machine_cycles": {"nope": 5}}),
            "machine_cycles.nope",
        ),
    ];
    for (code, body, field) in bad {
        let (status, answer) = app
            .call(
                "PUT",
                &format!("/api/v1/products/{}", code.replace(' ', "%20")),
                Some(&eng),
                Some(&body),
            )
            .await;
        assert_eq!(status, 400, "{code}: {answer}");
        assert_eq!(answer["error"]["details"]["field"], field, "{code}: {answer}");
    }
    let (_, list) = app.get("/api/v1/products").await;
    assert_eq!(
        list["products"].as_array().map(Vec::len),
        Some(2),
        "nothing bad was stored"
    );
    // A product an open job uses cannot go; a plant-model one never; an unknown one is 404.
    let job = plan(&app, "cola-2l", 10).await;
    let (status, answer) = app.call("DELETE", "/api/v1/products/cola-2l", Some(&eng), None).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("job {job}"))
    );
    assert_eq!(app.call("DELETE", "/api/v1/products/1", Some(&eng), None).await.0, 409);
    assert_eq!(
        app.call("DELETE", "/api/v1/products/nope", Some(&eng), None).await.0,
        404
    );
    act(&app, job, "cancel").await;
    assert_eq!(
        app.call("DELETE", "/api/v1/products/cola-2l", Some(&eng), None).await.0,
        204
    );
    let (_, log) = app.get("/api/v1/audit?action=product.").await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, vec!["product.delete", "product.update", "product.create"]);
}

#[actix_web::test]
async fn a_job_lives_planned_released_running_paused_completed_and_one_runs_per_line() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), TEST_PLANT, SHIFT_START, fast_progress()).await;
    make_product(&app, "cola-2l", 2000).await;
    let first = plan(&app, "cola-2l", 100).await;
    let second = plan(&app, "cola-2l", 50).await;
    // Not released yet: cannot start, says why and what it is.
    let (status, answer) = act(&app, first, "start").await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        format!("job {first} is planned; it cannot start (allowed from released or paused)")
    );
    assert_eq!(act(&app, first, "release").await.0, 200);
    app.clock.advance(MIN);
    let (status, running) = act(&app, first, "start").await;
    assert_eq!(status, 200, "{running}");
    assert_eq!(running["state"], "running");
    // A second job on the same line cannot run at once.
    assert_eq!(act(&app, second, "release").await.0, 200);
    let (status, answer) = act(&app, second, "start").await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("line line-a already runs job {first}")),
        "{answer}"
    );
    let (_, still) = app.get(&format!("/api/v1/jobs/{second}")).await;
    assert_eq!(still["state"], "released", "the refused start changed nothing");
    // Changing a running job's plan is refused; a released one may be changed.
    let replan = json!({"line": "line-a", "product": "cola-2l", "target": 75});
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/v1/jobs/{first}"),
            Some(&app.admin()),
            Some(&replan),
        )
        .await;
    assert_eq!(status, 409);
    let (status, changed) = app
        .call(
            "PATCH",
            &format!("/api/v1/jobs/{second}"),
            Some(&app.admin()),
            Some(&replan),
        )
        .await;
    assert_eq!((status, changed["target"].as_i64()), (200, Some(75)));
    app.clock.advance(10 * MIN);
    assert_eq!(
        act(&app, first, "cancel").await.0,
        409,
        "a running job is paused or completed, not cancelled"
    );
    assert_eq!(act(&app, first, "pause").await.1["state"], "paused");
    app.clock.advance(5 * MIN);
    assert_eq!(act(&app, first, "start").await.1["state"], "running");
    app.clock.advance(20 * MIN);
    let (status, done) = act(&app, first, "complete").await;
    assert_eq!(status, 200, "{done}");
    let history: Vec<(&str, &str)> = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| (h["state"].as_str().unwrap_or(""), h["at"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        history,
        vec![
            ("planned", "2026-03-02T06:00:00Z"),
            ("released", "2026-03-02T06:00:00Z"),
            ("running", "2026-03-02T06:01:00Z"),
            ("paused", "2026-03-02T06:11:00Z"),
            ("running", "2026-03-02T06:16:00Z"),
            ("completed", "2026-03-02T06:36:00Z"),
        ]
    );
    // Ran 06:01-06:11 and 06:16-06:36: 30 min.
    assert_eq!(done["spans"].as_array().map(Vec::len), Some(2));
    assert_eq!(done["progress"]["run_s"], 1800.0);
    assert_eq!(act(&app, first, "complete").await.0, 409);
    // Now the second may run.
    assert_eq!(act(&app, second, "start").await.0, 200);
    let (_, log) = app.get(&format!("/api/v1/audit?action=job.&target={first}")).await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec![
            "job.complete",
            "job.start",
            "job.pause",
            "job.start",
            "job.release",
            "job.create"
        ]
    );
    // Operators read jobs but do not run them.
    let op = app.token_with("olga", Role::Operator, None).await;
    assert_eq!(app.get_as(&format!("/api/v1/jobs/{first}"), &op).await.0, 200);
    assert_eq!(
        app.post_as(&format!("/api/v1/jobs/{second}/pause"), &op, &json!({}))
            .await
            .0,
        403
    );
}

#[actix_web::test]
async fn bad_job_bodies_name_the_field_and_store_nothing() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), TEST_PLANT, SHIFT_START, fast_progress()).await;
    make_product(&app, "cola-2l", 2000).await;
    let ok = json!({"line": "line-a", "product": "cola-2l", "target": 10});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("line", json!("line-z")), "line"),
        (with("product", json!("pepsi")), "product"),
        (with("target", json!(0)), "target"),
        (with("planned_start", json!("2026-03-02T08:00:00Z")).clone(), ""),
    ];
    for (body, field) in cases.iter().take(3) {
        let (status, answer) = app.post("/api/v1/jobs", body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["details"]["field"], *field, "{answer}");
    }
    let mut reversed = cases[3].0.clone();
    reversed["planned_end"] = json!("2026-03-02T07:00:00Z");
    let (status, answer) = app.post("/api/v1/jobs", &reversed).await;
    assert_eq!(
        (status, answer["error"]["details"]["field"].as_str()),
        (400, Some("planned_end"))
    );
    let (status, answer) = app.post("/api/v1/jobs", &with("colour", json!("red"))).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("unknown field `colour`")
    );
    let (_, list) = app.get("/api/v1/jobs").await;
    assert_eq!(list["jobs"], json!([]), "nothing was stored");
    assert_eq!(app.get("/api/v1/jobs/999").await.0, 404);
    assert_eq!(act(&app, 999, "start").await.0, 404);
    let (status, answer) = app.get("/api/v1/jobs?state=going").await;
    assert_eq!(
        (status, answer["error"]["details"]["parameter"].as_str()),
        (400, Some("state"))
    );
    // A line-scoped supervisor plans only on their lines.
    let scoped = app
        .token_with("bea", Role::Supervisor, Some(vec!["line-b".into()]))
        .await;
    assert_eq!(app.post_as("/api/v1/jobs", &scoped, &ok).await.0, 403);
}

#[actix_web::test]
async fn a_running_jobs_product_times_the_parts_and_its_oee_equals_the_span_query() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), TEST_PLANT, SHIFT_START, fast_progress()).await;
    make_product(&app, "cola-2l", 2000).await;
    let id = plan(&app, "cola-2l", 1_000).await;
    act(&app, id, "release").await;
    app.ingest(&[
        ("A.Filler.State", json!(1), SHIFT_START),
        ("A.Filler.Total", json!(0), SHIFT_START),
        ("A.Filler.Reject", json!(0), SHIFT_START),
    ])
    .await;
    let (_, started) = act(&app, id, "start").await;
    assert_eq!(started["state"], "running");
    // 10 minutes at 1 part per 2 s = 300 parts, 6 of them rejects, sampled each minute.
    let mut samples = Vec::new();
    for m in 1..=10 {
        let at = SHIFT_START + m * MIN;
        samples.push(("A.Filler.Total", json!(30 * m), at));
        if m == 10 {
            samples.push(("A.Filler.Reject", json!(6), at));
        }
    }
    app.ingest(&samples).await;
    app.clock.set(SHIFT_START + 10 * MIN + 1);
    let (_, view) = app.get(&format!("/api/v1/jobs/{id}")).await;
    // Parts counted in the minutes 06:01 … 06:10 that start inside [06:00, 06:10:00.001):
    // 300 made, 294 good, the job's product ideal 2 s each → performance 100 %.
    assert_eq!(view["progress"]["total"], 300, "{view}");
    assert_eq!(view["progress"]["good"], 294);
    assert_eq!(view["progress"]["reject"], 6);
    assert_eq!(view["progress"]["remaining"], 706);
    // rate: 294 good over 600.001 s of running ≈ 1,764 / h; ETA 706 / rate later.
    let rate = view["progress"]["rate_per_hour"].as_f64().expect("rate");
    assert!((rate - 1_763.997).abs() < 0.01, "{rate}");
    assert!(
        view["progress"]["eta"]
            .as_str()
            .unwrap_or("")
            .starts_with("2026-03-02T06:34:0"),
        "{view}"
    );
    // [06:00, 06:10): 600 s running; the parts of minutes 06:01-06:09, 270, × the job
    // product's 2 s = 540 s ideal: 90 % (the machine's own 1 s would give 45 %).
    let (_, machine) = app
        .get("/api/v1/machines/a-filler/oee?from=2026-03-02T06:00:00Z&to=2026-03-02T06:10:00Z")
        .await;
    assert_eq!(machine["oee"]["performance"], 0.9, "{machine}");
    // Completing ends the span; the job's OEE is the span query's, digit for digit.
    let (_, done) = act(&app, id, "complete").await;
    let from = done["spans"][0]["from"].as_str().expect("from");
    let to = done["spans"][0]["to"].as_str().expect("to");
    let (status, span) = app.get(&format!("/api/v1/lines/line-a/oee?from={from}&to={to}")).await;
    assert_eq!(status, 200, "{span}");
    assert_eq!(done["oee"], span["oee"]);
    assert_eq!(done["progress"]["good"], span["oee"]["good"]);
    assert_eq!(done["progress"]["eta"], Value::Null, "no ETA once completed");
    // After the job the machine counts with its own ideal cycle again.
    app.ingest(&[("A.Filler.Total", json!(330), SHIFT_START + 11 * MIN)])
        .await;
    let (_, snapshot) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(snapshot["product"], Value::Null, "{snapshot}");
}

#[actix_web::test]
async fn a_plc_reported_product_wins_and_the_job_warns() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &plant_with_product_tag(), SHIFT_START, fast_progress()).await;
    make_product(&app, "cola-2l", 2000).await;
    let id = plan(&app, "cola-2l", 100).await;
    act(&app, id, "release").await;
    act(&app, id, "start").await;
    let (_, snapshot) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(snapshot["product"], "cola-2l name", "no PLC product: the job's");
    let (_, view) = app.get(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(view["warnings"], json!([]));
    app.ingest(&[("A.Filler.Product", json!(1), SHIFT_START + MIN)]).await;
    let (_, snapshot) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(snapshot["product"], "Still 0.5 l", "the PLC's wins");
    let (_, view) = app.get(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(
        view["warnings"],
        json!(["a-filler reports product `Still 0.5 l`; the job makes `cola-2l name` (parts count as the PLC says)"])
    );
}

#[actix_web::test]
async fn screens_follow_a_job_on_its_line_channel_without_polling() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), TEST_PLANT, SHIFT_START, fast_progress()).await;
    make_product(&app, "cola-2l", 2000).await;
    let id = plan(&app, "cola-2l", 100).await;
    let mut conn = connect_to(&app, &app.admin()).await;
    send(&mut conn, r#"{"type":"subscribe","channel":"jobs:line-a"}"#).await;
    let mut snapshot = next_json(&mut conn).await;
    while snapshot["type"] != "snapshot" {
        snapshot = next_json(&mut conn).await;
    }
    assert_eq!(snapshot["data"]["jobs"][0]["id"], id, "{snapshot}");
    act(&app, id, "release").await;
    act(&app, id, "start").await;
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("running") {
        let frame = next_json(&mut conn).await;
        if frame["type"] == "update" {
            seen.push(frame["data"]["state"].as_str().unwrap_or("").to_owned());
        }
    }
    assert_eq!(seen.first().map(String::as_str), Some("released"), "{seen:?}");
    // Parts arrive; the progress tick pushes them without anyone asking.
    app.ingest(&[
        ("A.Filler.State", json!(1), SHIFT_START),
        ("A.Filler.Total", json!(0), SHIFT_START),
        ("A.Filler.Total", json!(40), SHIFT_START + 2 * MIN),
    ])
    .await;
    app.clock.set(SHIFT_START + 3 * MIN);
    loop {
        let frame = next_json(&mut conn).await;
        if frame["type"] == "update" && frame["data"]["progress"]["total"] == 40 {
            break;
        }
    }
    // A line-scoped display of another line may not subscribe.
    let other = app.token_with("bo", Role::Operator, Some(vec!["line-b".into()])).await;
    let mut conn = connect_to(&app, &other).await;
    send(&mut conn, r#"{"type":"subscribe","channel":"jobs:line-a"}"#).await;
    let refused = next_json(&mut conn).await;
    assert_eq!(refused["type"], "error", "{refused}");
}

#[actix_web::test]
async fn a_blocking_checklist_must_pass_in_the_shift_before_a_job_starts() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), TEST_PLANT, SHIFT_START + 5 * MIN, fast_progress()).await;
    make_product(&app, "cola-2l", 2000).await;
    let template = json!({
        "line": "line-a", "name": "Start-up", "blocks_job_start": true,
        "items": [{"key": "guard", "label": "Guard closed?", "kind": "yes_no", "required": true}]
    });
    let (status, t) = app.post("/api/v1/checklist-templates", &template).await;
    assert_eq!(status, 201, "{t}");
    let id = plan(&app, "cola-2l", 100).await;
    act(&app, id, "release").await;
    let (status, answer) = act(&app, id, "start").await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        format!("job {id} cannot start: checklist `Start-up` has not been filled in shift `day`")
    );
    let (_, still) = app.get(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(still["state"], "released");
    let op = app.token_with("olga", Role::Operator, None).await;
    let fill = json!({"template": t["id"], "answers": {"guard": true}});
    let (status, filled) = app.post_as("/api/v1/lines/line-a/checklists", &op, &fill).await;
    assert_eq!(status, 201, "{filled}");
    assert_eq!(act(&app, id, "start").await.1["state"], "running");
}

#[actix_web::test]
async fn a_job_start_marks_start_up_for_the_six_losses() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), TEST_PLANT, SHIFT_START, fast_progress()).await;
    make_product(&app, "cola-2l", 1000).await;
    let id = plan(&app, "cola-2l", 1_000).await;
    act(&app, id, "release").await;
    act(&app, id, "start").await; // 06:00: start-up until 06:10
    app.ingest(&[
        ("A.Filler.State", json!(1), SHIFT_START),
        ("A.Filler.Total", json!(0), SHIFT_START),
        ("A.Filler.Reject", json!(0), SHIFT_START),
        ("A.Filler.Total", json!(60), SHIFT_START + 5 * MIN),
        ("A.Filler.Reject", json!(4), SHIFT_START + 5 * MIN),
        ("A.Filler.Total", json!(120), SHIFT_START + 30 * MIN),
        ("A.Filler.Reject", json!(7), SHIFT_START + 30 * MIN),
    ])
    .await;
    app.clock.set(SHIFT_START + 40 * MIN);
    let (status, losses) = app
        .get("/api/v1/lines/line-a/losses?from=2026-03-02T06:00:00Z&to=2026-03-02T06:40:00Z")
        .await;
    assert_eq!(status, 200, "{losses}");
    let parts = |name: &str| {
        losses["losses"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["loss"] == name))
            .map(|x| x["parts"].clone())
    };
    // 4 rejects in the 06:05 minute (start-up), 3 more in the 06:30 minute (process).
    assert_eq!(parts("startup_rejects"), Some(json!(4)), "{losses}");
    assert_eq!(parts("process_rejects"), Some(json!(3)), "{losses}");
}

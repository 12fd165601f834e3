//! Maintenance orders and loss analytics against a real server on a manual clock: the
//! order lifecycle, orders from a stop and from a ticket, bad input, roles and line scope,
//! audit rows; MTBF/MTTR and the six big losses of a shift fed through ingest (held against
//! `?from=&to=` OEE); the trend warning on the health route and the machine snapshot; the
//! analytics behind `advanced_analytics`.

mod common;

use common::*;
use ms5::domain::access::Role;
use serde_json::{Value, json};

const H: i64 = 60 * MIN;

/// `h:m` on the test day.
fn at(h: i64, m: i64) -> i64 {
    DAY + h * H + m * MIN
}

/// Line A's filler over the day shift (06:00-14:00, breaks 09:00-09:30 and 12:00-12:30):
/// a jam 07:00-07:10, a 1 min micro-stop at 08:00, a changeover 10:00-10:20 and an
/// unclassified stop 11:00-11:05; 21,000 parts at 1 s ideal with 100 rejects, 30 of them
/// at 10:25, in the start-up after the changeover.
async fn feed_shift(app: &TestApp) {
    let samples = [
        ("A.Filler.State", json!(1), at(6, 0)),
        ("A.Filler.Fault", json!(0), at(6, 0)),
        ("A.Filler.Total", json!(0), at(6, 0)),
        ("A.Filler.Reject", json!(0), at(6, 0)),
        ("A.Filler.Fault", json!(7), at(7, 0)),
        ("A.Filler.State", json!(3), at(7, 0)),
        ("A.Filler.State", json!(1), at(7, 10)),
        ("A.Filler.Fault", json!(0), at(7, 10)),
        ("A.Filler.State", json!(3), at(8, 0)),
        ("A.Filler.State", json!(1), at(8, 1)),
        ("A.Filler.Total", json!(10_000), at(9, 59)),
        ("A.Filler.Reject", json!(40), at(9, 59)),
        ("A.Filler.State", json!(5), at(10, 0)),
        ("A.Filler.State", json!(1), at(10, 20)),
        ("A.Filler.Total", json!(10_100), at(10, 25)),
        ("A.Filler.Reject", json!(70), at(10, 25)),
        ("A.Filler.State", json!(3), at(11, 0)),
        ("A.Filler.State", json!(1), at(11, 5)),
        ("A.Filler.Total", json!(21_000), at(13, 59)),
        ("A.Filler.Reject", json!(100), at(13, 59)),
        ("A.Filler.State", json!(1), at(14, 0)),
    ];
    let report = app.ingest(&samples).await;
    assert_eq!(report["applied"], json!(samples.len()), "{report}");
}

/// The id of the filler's stop that started at `start`.
async fn stop_at(app: &TestApp, start: i64) -> i64 {
    let (status, body) = app.get("/api/v1/downtime?machine=a-filler").await;
    assert_eq!(status, 200, "{body}");
    body["downtime"]
        .as_array()
        .and_then(|d| d.iter().find(|e| e["start"] == json!(rfc3339(start))))
        .and_then(|e| e["id"].as_i64())
        .unwrap_or_else(|| panic!("no stop at {}: {body}", rfc3339(start)))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

async fn audit(app: &TestApp, action: &str) -> Vec<Value> {
    let (status, page) = app.get(&format!("/api/v1/audit?limit=1000&action={action}")).await;
    assert_eq!(status, 200, "{page}");
    page["entries"].as_array().cloned().unwrap_or_default()
}

#[actix_web::test]
async fn orders_come_from_a_stop_a_ticket_or_by_hand_and_go_open_to_done() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), at(15, 0), json!({})).await;
    feed_shift(&app).await;
    let eng = app.token_with("eng", Role::Engineer, None).await;
    let jam = stop_at(&app, at(7, 0)).await;

    // From the jam: the machine comes from the stop.
    let (status, from_stop) = app
        .post_as(
            "/api/v1/maintenance/orders",
            &eng,
            &json!({"downtime_id": jam, "problem": "  jam at the capper  ", "priority": "high"}),
        )
        .await;
    assert_eq!(status, 201, "{from_stop}");
    let order = &from_stop["order"];
    assert_eq!(
        (
            &order["machine"],
            &order["line"],
            &order["state"],
            &order["problem"],
            &order["created_by"]
        ),
        (
            &json!("a-filler"),
            &json!("line-a"),
            &json!("open"),
            &json!("jam at the capper"),
            &json!("eng")
        )
    );
    // The stop's span (what MTTR counts) is shown beside the order, not mixed in.
    assert_eq!(from_stop["downtime"]["id"], json!(jam));
    assert_eq!(f(&from_stop["downtime"]["duration_s"]), 600.0);
    let id = order["id"].as_i64().expect("id");

    // From a ticket on the packer, and by hand on the filler with an assignee.
    let (_, ticket) = app
        .post(
            "/api/v1/andon/tickets",
            &json!({"line": "line-a", "machine": "a-packer", "category": "maintenance", "priority": "medium",
                    "description": "guard loose"}),
        )
        .await;
    let ticket_id = ticket["id"].as_i64().expect("ticket");
    let (status, from_ticket) = app
        .post_as(
            "/api/v1/maintenance/orders",
            &eng,
            &json!({"ticket_id": ticket_id, "problem": "tighten the guard", "priority": "medium"}),
        )
        .await;
    assert_eq!(status, 201, "{from_ticket}");
    assert_eq!(from_ticket["order"]["machine"], json!("a-packer"));
    assert_eq!(from_ticket["ticket"]["id"], json!(ticket_id));
    assert_eq!(from_ticket["ticket"]["description"], json!("guard loose"));
    let (status, by_hand) = app
        .post_as(
            "/api/v1/maintenance/orders",
            &eng,
            &json!({"machine": "a-filler", "problem": "grease the chain", "priority": "low", "assignee": "carla"}),
        )
        .await;
    assert_eq!(status, 201, "{by_hand}");
    assert_eq!(by_hand["order"]["assignee"], json!("carla"));
    assert_eq!((&by_hand["downtime"], &by_hand["ticket"]), (&Value::Null, &Value::Null));

    // Start 15:05 (assigns the starter), two notes, complete 15:45.
    app.clock.advance(5 * MIN);
    let path = format!("/api/v1/maintenance/orders/{id}");
    let (status, started) = app.post_as(&format!("{path}/start"), &eng, &json!({})).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(
        (&started["order"]["state"], &started["order"]["assignee"]),
        (&json!("in_progress"), &json!("eng"))
    );
    for (note, parts, minutes) in [
        (
            "replaced the belt",
            json!([{"part": "belt B-200", "quantity": 1}, {"part": "oil", "quantity": 0.5}]),
            20,
        ),
        (
            "second belt, the first was wrong",
            json!([{"part": "belt B-200", "quantity": 1}]),
            15,
        ),
    ] {
        let (status, body) = app
            .post_as(
                &format!("{path}/notes"),
                &eng,
                &json!({"note": note, "parts_used": parts, "minutes_spent": minutes}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    app.clock.advance(40 * MIN);
    let eng = app.token_with("eng", Role::Engineer, None).await; // the first one has expired
    let (status, done) = app
        .post_as(&format!("{path}/complete"), &eng, &json!({"comment": "runs clean"}))
        .await;
    assert_eq!(status, 200, "{done}");
    // Created 15:00, started 15:05, done 15:45: 300 s, 2,400 s, 2,700 s; 20 + 15 minutes.
    let o = &done["order"];
    assert_eq!(o["state"], json!("done"));
    assert_eq!(
        (
            f(&o["open_to_start_s"]),
            f(&o["start_to_done_s"]),
            f(&o["open_to_done_s"])
        ),
        (300.0, 2_400.0, 2_700.0)
    );
    assert_eq!(o["minutes_spent"], json!(35));
    assert_eq!(o["completed_at"], json!(rfc3339(at(15, 45))));

    // The order with its history (each step timed, by whom), notes and parts.
    let (status, shown) = app
        .get_as(&path, &app.token_with("olga", Role::Operator, None).await)
        .await;
    assert_eq!(status, 200, "{shown}");
    let history: Vec<(String, String, String)> = shown["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_owned(),
                e["actor"].as_str().unwrap_or("").to_owned(),
                e["at"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let step = |kind: &str, t: i64| (kind.to_owned(), "eng".to_owned(), rfc3339(t));
    assert_eq!(
        history,
        vec![
            step("created", at(15, 0)),
            step("started", at(15, 5)),
            step("note", at(15, 5)),
            step("note", at(15, 5)),
            step("completed", at(15, 45)),
        ]
    );
    assert_eq!(shown["history"][4]["detail"], json!("runs clean"));
    assert_eq!(
        shown["notes"][0]["parts_used"][1],
        json!({"part": "oil", "quantity": 0.5})
    );
    assert_eq!(
        shown["parts_used"],
        json!([{"part": "belt B-200", "quantity": 2.0}, {"part": "oil", "quantity": 0.5}])
    );

    // Lists and the machine's own view with its linked stop.
    let queries: Vec<(String, usize)> = vec![
        (String::new(), 3),
        ("?state=done".into(), 1),
        ("?state=open".into(), 2),
        ("?machine=a-packer".into(), 1),
        ("?line=line-a".into(), 3),
        ("?line=line-b".into(), 0),
        (format!("?from={}&to={}", rfc3339(at(15, 0)), rfc3339(at(15, 1))), 3),
        (format!("?from={}", rfc3339(at(15, 1))), 0),
    ];
    for (query, n) in queries {
        let (status, list) = app.get(&format!("/api/v1/maintenance/orders{query}")).await;
        assert_eq!(status, 200, "{query}: {list}");
        assert_eq!(list["orders"].as_array().map(Vec::len), Some(n), "{query}: {list}");
    }
    let (status, machine) = app.get("/api/v1/machines/a-filler/maintenance").await;
    assert_eq!(status, 200, "{machine}");
    let orders = machine["orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 2);
    let linked = orders
        .iter()
        .find(|o| o["order"]["id"] == json!(id))
        .expect("the jam's order");
    assert_eq!(linked["downtime"]["start"], json!(rfc3339(at(7, 0))));
    assert_eq!(linked["downtime"]["end"], json!(rfc3339(at(7, 10))));

    // Every write is in the audit log, by the engineer.
    let rows = audit(&app, "maintenance.").await;
    let mut actions: Vec<&str> = rows.iter().filter_map(|e| e["action"].as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        vec![
            "maintenance.complete",
            "maintenance.create",
            "maintenance.create",
            "maintenance.create",
            "maintenance.note",
            "maintenance.note",
            "maintenance.start",
        ]
    );
    assert!(
        rows.iter()
            .all(|e| e["actor"] == json!("eng") && e["outcome"] == json!("ok"))
    );
    let create = rows
        .iter()
        .find(|e| e["action"] == json!("maintenance.create") && e["target"] == json!(id.to_string()))
        .expect("create row");
    assert_eq!(create["details"]["downtime_id"], json!(jam));
}

#[actix_web::test]
async fn bad_input_roles_and_line_scope_are_refused_and_nothing_changes() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), at(15, 0), json!({})).await;
    feed_shift(&app).await;
    let eng = app.token_with("eng", Role::Engineer, None).await;
    let jam = stop_at(&app, at(7, 0)).await;
    let (_, ticket_b) = app
        .post(
            "/api/v1/andon/tickets",
            &json!({"line": "line-b", "category": "maintenance", "priority": "low", "description": "press noise"}),
        )
        .await;
    let ticket_b = ticket_b["id"].as_i64().expect("ticket");
    let (status, open) = app
        .post_as(
            "/api/v1/maintenance/orders",
            &eng,
            &json!({"machine": "a-filler", "problem": "check", "priority": "low"}),
        )
        .await;
    assert_eq!(status, 201, "{open}");
    let id = open["order"]["id"].as_i64().expect("id");
    let path = format!("/api/v1/maintenance/orders/{id}");
    let (_, before) = app.get(&path).await;

    // Bodies: 400 naming the field.
    let good = json!({"machine": "a-filler", "problem": "belt", "priority": "high"});
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = good.clone();
        b.as_object_mut().map(|o| o.remove(k));
        b
    };
    let cases = [
        (without("problem"), "problem"),
        (with("problem", json!("   ")), "problem"),
        (with("problem", json!("x".repeat(1_001))), "problem"),
        (with("priority", json!("urgent")), "priority"),
        (with("assignee", json!("y".repeat(201))), "assignee"),
        (with("colour", json!("red")), "colour"),
        (with("downtime_id", json!("seven")), "downtime_id"),
        (without("machine"), "machine"),
        (with("machine", json!("nope")), "machine"),
        (with("downtime_id", json!(999_999)), "downtime_id"),
        (with("ticket_id", json!(999_999)), "ticket_id"),
        (
            json!({"machine": "a-packer", "downtime_id": jam, "problem": "p", "priority": "low"}),
            "machine",
        ),
        (
            json!({"downtime_id": jam, "ticket_id": ticket_b, "problem": "p", "priority": "low"}),
            "ticket_id",
        ),
    ];
    for (body, name) in cases {
        let (status, err) = app.post_as("/api/v1/maintenance/orders", &eng, &body).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["error"]["code"], json!("bad_request"), "{body}");
        let message = err["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains(&format!("`{name}`")), "{body}: {message}");
    }
    for (body, name) in [
        (json!({"note": " "}), "note"),
        (json!({"note": "ok", "minutes_spent": 0}), "minutes_spent"),
        (
            json!({"note": "ok", "parts_used": [{"part": "belt", "quantity": 0}]}),
            "parts_used[0].quantity",
        ),
        (
            json!({"note": "ok", "parts_used": [{"part": "belt", "quantity": "two"}]}),
            "parts_used[0].quantity",
        ),
        (
            json!({"note": "ok", "parts_used": [{"part": "", "quantity": 1}]}),
            "parts_used[0].part",
        ),
    ] {
        let (status, err) = app.post_as(&format!("{path}/notes"), &eng, &body).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["error"]["details"]["field"], json!(name), "{body}: {err}");
    }
    let (status, err) = app
        .post_as(&format!("{path}/start"), &eng, &json!({"comment": "c".repeat(1_001)}))
        .await;
    assert_eq!(status, 400, "{err}");

    // Unknown ids: 404.
    for (method, p) in [
        ("GET", "/api/v1/maintenance/orders/999999"),
        ("POST", "/api/v1/maintenance/orders/999999/start"),
        ("POST", "/api/v1/maintenance/orders/999999/cancel"),
        ("GET", "/api/v1/maintenance/orders?line=nope"),
        ("GET", "/api/v1/maintenance/orders?machine=nope"),
        ("GET", "/api/v1/machines/nope/maintenance"),
    ] {
        let (status, err) = app.call(method, p, Some(&eng), Some(&json!({}))).await;
        assert_eq!(status, 404, "{method} {p}: {err}");
    }
    let (status, err) = app
        .post_as("/api/v1/maintenance/orders/999999/notes", &eng, &json!({"note": "x"}))
        .await;
    assert_eq!(status, 404, "{err}");
    let (status, err) = app.get("/api/v1/maintenance/orders?state=closed").await;
    assert_eq!(
        (status, &err["error"]["details"]["parameter"]),
        (400, &json!("state")),
        "{err}"
    );

    // Nothing of that changed the order or made one.
    let (_, after) = app.get(&path).await;
    assert_eq!(before, after);
    let (_, all) = app.get("/api/v1/maintenance/orders").await;
    assert_eq!(all["orders"].as_array().map(Vec::len), Some(1));

    // Transitions the state does not allow: 409 naming the state, and nothing changes.
    let conflicts = [
        (
            "complete",
            "order {id} is open; it cannot be completed before it is started",
        ),
        ("start", ""),
        ("start", "order {id} is already in_progress"),
        ("complete", ""),
        ("complete", "order {id} is already done"),
        ("cancel", "order {id} is done; it cannot be cancelled"),
        ("start", "order {id} is done; it cannot be started"),
    ];
    for (action, want) in conflicts {
        let (status, body) = app.post_as(&format!("{path}/{action}"), &eng, &json!({})).await;
        if want.is_empty() {
            assert_eq!(status, 200, "{action}: {body}");
        } else {
            assert_eq!(status, 409, "{action}: {body}");
            assert_eq!(body["error"]["message"], json!(want.replace("{id}", &id.to_string())));
        }
    }
    let (status, body) = app
        .post_as(&format!("{path}/notes"), &eng, &json!({"note": "late"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["error"]["message"],
        json!(format!("order {id} is done; it cannot be given notes"))
    );
    let (_, done) = app.get(&path).await;
    assert_eq!(
        done["history"].as_array().map(Vec::len),
        Some(3),
        "created, started, completed"
    );
    assert!(done["notes"].as_array().is_some_and(Vec::is_empty));

    // Roles: operators and supervisors read but do not write; line scope applies.
    for role in [Role::Operator, Role::Supervisor] {
        let token = app.token_with(&format!("{role:?}"), role, None).await;
        let (status, _) = app.post_as("/api/v1/maintenance/orders", &token, &good).await;
        assert_eq!(status, 403, "{role:?}");
        assert_eq!(app.get_as(&path, &token).await.0, 200, "{role:?} reads");
    }
    let eng_b = app
        .token_with("eng-b", Role::Engineer, Some(vec!["line-b".into()]))
        .await;
    let (status, _) = app.post_as("/api/v1/maintenance/orders", &eng_b, &good).await;
    assert_eq!(status, 403, "line-b's engineer on line-a");
    assert_eq!(app.get_as(&path, &eng_b).await.0, 403);
    let (status, mine) = app.get_as("/api/v1/maintenance/orders", &eng_b).await;
    assert_eq!((status, mine["orders"].as_array().map(Vec::len)), (200, Some(0)));
    let (status, created) = app
        .post_as(
            "/api/v1/maintenance/orders",
            &eng_b,
            &json!({"ticket_id": ticket_b, "machine": "b-press", "problem": "bearing", "priority": "high"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (_, mine) = app.get_as("/api/v1/maintenance/orders", &eng_b).await;
    assert_eq!(mine["orders"].as_array().map(Vec::len), Some(1));

    // Only what succeeded is audited.
    let rows = audit(&app, "maintenance.").await;
    assert_eq!(rows.len(), 4, "two creates, a start and a completion: {rows:?}");
}

#[actix_web::test]
async fn mtbf_mttr_and_the_six_losses_of_a_shift_agree_with_its_oee() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), at(15, 0), json!({})).await;
    feed_shift(&app).await;
    let span = format!("from={}&to={}", rfc3339(at(6, 0)), rfc3339(at(14, 0)));

    // Planned 420 min. Operating = 420 − 10 (jam) − 20 (changeover) − 5 = 385 min = 23,100 s
    // (the micro-stop is operating time). Failures: the jam (600 s) and the 11:00 stop
    // (300 s): MTBF = 23,100 / 2 = 11,550 s, MTTR = 900 / 2 = 450 s.
    let (status, body) = app.get(&format!("/api/v1/analytics/machines?{span}&line=line-a")).await;
    assert_eq!(status, 200, "{body}");
    let machines = body["machines"].as_array().expect("machines");
    assert_eq!(machines.len(), 2, "line-a's two machines: {body}");
    let filler = &machines[0];
    assert_eq!(filler["machine"], json!("a-filler"));
    assert_eq!(f(&filler["operating_s"]), 23_100.0);
    assert_eq!(filler["failures"], json!(2));
    assert_eq!((f(&filler["mtbf_s"]), f(&filler["mttr_s"])), (11_550.0, 450.0));
    let reasons: Vec<(Value, Value, f64, f64)> = filler["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| {
            (
                r["reason"].clone(),
                r["failures"].clone(),
                f(&r["mtbf_s"]),
                f(&r["mttr_s"]),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (json!("jam"), json!(1), 23_100.0, 600.0),
            (json!("unclassified"), json!(1), 23_100.0, 300.0),
        ]
    );
    assert_eq!(filler["trend_warning"]["at_risk"], json!(false));
    assert_eq!(
        (&machines[1]["failures"], &machines[1]["mtbf_s"]),
        (&json!(0), &Value::Null)
    );

    // Six losses: breakdowns 900 s, setup 1,200 s, micro-stops 60 s, reduced speed = run
    // 384 min (23,040 s) − 21,000 s ideal = 2,040 s; 100 rejects × 1 s: 30 s start-up
    // (10:25, inside 10:20-10:30), 70 s process. Σ = 4,300 s = 25,200 − 20,900 (OEE time).
    let (status, losses) = app.get(&format!("/api/v1/lines/line-a/losses?{span}")).await;
    assert_eq!(status, 200, "{losses}");
    let rows: Vec<(Value, f64, Value)> = losses["losses"]
        .as_array()
        .expect("losses")
        .iter()
        .map(|l| (l["loss"].clone(), f(&l["seconds"]), l["parts"].clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (json!("breakdowns"), 900.0, Value::Null),
            (json!("setup"), 1_200.0, Value::Null),
            (json!("micro_stops"), 60.0, Value::Null),
            (json!("reduced_speed"), 2_040.0, Value::Null),
            (json!("process_rejects"), 70.0, json!(70)),
            (json!("startup_rejects"), 30.0, json!(30)),
        ]
    );
    assert_eq!(
        losses["startup_spans"],
        json!([{"start": rfc3339(at(10, 20)), "end": rfc3339(at(10, 30))}])
    );
    assert_eq!(f(&losses["startup_period_s"]), 600.0);

    // The identity, against the span's OEE as `?from=&to=` reports it.
    let (status, oee) = app.get(&format!("/api/v1/lines/line-a/oee?{span}")).await;
    assert_eq!(status, 200, "{oee}");
    let ppt = f(&oee["oee"]["planned_production_s"]);
    let oee_time = f(&oee["oee"]["oee"]) * ppt;
    assert_eq!(ppt, 25_200.0);
    assert_eq!(f(&losses["planned_production_s"]), ppt);
    assert!(
        (f(&losses["total_loss_s"]) - (ppt - oee_time)).abs() < 1e-6,
        "{losses} vs {oee}"
    );
    assert!((f(&losses["fully_productive_s"]) - 20_900.0).abs() < 1e-9, "{losses}");

    // Bad spans and unknown lines.
    for (path, status) in [
        (
            format!(
                "/api/v1/lines/line-a/losses?from={}&to={}",
                rfc3339(at(14, 0)),
                rfc3339(at(6, 0))
            ),
            400,
        ),
        ("/api/v1/lines/line-a/losses".to_owned(), 400),
        (format!("/api/v1/lines/nope/losses?{span}"), 404),
        (format!("/api/v1/analytics/machines?{span}&line=nope"), 404),
        (format!("/api/v1/analytics/machines?{span}&colour=red"), 400),
        ("/api/v1/machines/nope/health".to_owned(), 404),
    ] {
        let (got, body) = app.get(&path).await;
        assert_eq!(got, status, "{path}: {body}");
    }
}

/// Ingest samples in time order, in chunks.
async fn ingest_sorted(app: &TestApp, mut samples: Vec<(&'static str, Value, i64)>) {
    samples.sort_by_key(|s| s.2);
    for chunk in samples.chunks(500) {
        let report = app.ingest(chunk).await;
        assert_eq!(report["applied"], json!(chunk.len()), "{report}");
    }
}

#[actix_web::test]
async fn a_machine_failing_faster_than_its_baseline_is_flagged_and_a_steady_one_is_not() {
    // Recent window 3 days (weights 1, 1/2, 1/4 by day), baseline the 10 days before.
    let now = DAY + 13 * 24 * H;
    let day = |d: i64, h: i64, m: i64| now - d * 24 * H + h * H + m * MIN;
    let dir = temp();
    let settings = json!({"analytics": {"trend_window": "3d", "trend_baseline": "10d", "trend_half_life": "1d"}});
    let app = spawn_plant_at(dir.path(), &two_line_plant(), now, settings).await;
    let mut samples: Vec<(&'static str, Value, i64)> = vec![
        ("A.Filler.State", json!(1), day(13, 6, 0)),
        ("A.Packer.Run", json!(true), day(13, 6, 0)),
        ("A.Packer.Fault", json!(false), day(13, 6, 0)),
    ];
    // The filler: 5 min jams on days −12 and −6, then 3 on day −1 and 1 on day −2.
    for (d, h) in [(12, 7), (6, 7), (2, 7), (1, 7), (1, 8), (1, 10)] {
        samples.push(("A.Filler.State", json!(3), day(d, h, 0)));
        samples.push(("A.Filler.State", json!(1), day(d, h, 5)));
    }
    // The packer: one 5 min stop every day at 07:00.
    for d in 1..=13 {
        samples.push(("A.Packer.Fault", json!(true), day(d, 7, 0)));
        samples.push(("A.Packer.Fault", json!(false), day(d, 7, 5)));
    }
    samples.push(("A.Filler.State", json!(1), day(1, 14, 0)));
    samples.push(("A.Packer.Run", json!(true), day(1, 14, 0)));
    ingest_sorted(&app, samples).await;

    // Filler: 7 h planned a day (25,200 s). Baseline: 10 days − 2 × 300 s = 251,400 s / 2
    // = 125,700 s. Recent: day −1 24,300 s and 3 failures, day −2 24,900 s and 1, day −3
    // 25,200 s: EW = (24,300 + 12,450 + 6,300) / (3 + 0.5) = 12,300 s < 0.5 × 125,700.
    let (status, health) = app.get("/api/v1/machines/a-filler/health").await;
    assert_eq!(status, 200, "{health}");
    let w = &health["trend_warning"];
    assert_eq!(
        (&w["at_risk"], &w["basis"]),
        (&json!(true), &json!("below_baseline")),
        "{w}"
    );
    assert_eq!(
        (f(&w["ew_mtbf_s"]).round(), f(&w["baseline_mtbf_s"])),
        (12_300.0, 125_700.0)
    );
    assert_eq!((&w["recent_failures"], &w["baseline_failures"]), (&json!(4), &json!(2)));
    assert_eq!(w["since"], json!(rfc3339(now - 3 * 24 * H)));
    assert_eq!(health["recent"]["failures"], json!(4));
    // … and the machine's snapshot shows it.
    let (_, snapshot) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(snapshot["trend_warning"]["at_risk"], json!(true), "{snapshot}");

    // Packer: one a day all along: baseline (252,000 − 3,000) / 10 = 24,900 s; recent
    // 24,900 s every day, one failure each: EW = 24,900 s, ratio 1.
    let (status, health) = app.get("/api/v1/machines/a-packer/health").await;
    assert_eq!(status, 200, "{health}");
    let w = &health["trend_warning"];
    assert_eq!(
        (&w["at_risk"], &w["basis"]),
        (&json!(false), &json!("within_baseline")),
        "{w}"
    );
    assert_eq!(
        (f(&w["ew_mtbf_s"]).round(), f(&w["baseline_mtbf_s"])),
        (24_900.0, 24_900.0)
    );

    // A machine with no history has nothing to compare with.
    let (_, health) = app.get("/api/v1/machines/b-press/health").await;
    assert_eq!(health["trend_warning"]["basis"], json!("no_baseline"), "{health}");

    // The health route lists the machine's open orders.
    let eng = app.token_with("eng", Role::Engineer, None).await;
    app.post_as(
        "/api/v1/maintenance/orders",
        &eng,
        &json!({"machine": "a-filler", "problem": "jams speeding up", "priority": "high"}),
    )
    .await;
    let (_, health) = app.get("/api/v1/machines/a-filler/health").await;
    assert_eq!(health["open_orders"][0]["problem"], json!("jams speeding up"));
}

#[actix_web::test]
async fn loss_analytics_answer_403_while_advanced_analytics_is_off_and_orders_still_work() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &two_line_plant(), at(15, 0), json!({})).await;
    let (status, _) = app
        .call(
            "PUT",
            "/api/v1/flags/advanced_analytics",
            Some(&app.admin()),
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    let span = format!("from={}&to={}", rfc3339(at(6, 0)), rfc3339(at(14, 0)));
    for path in [
        format!("/api/v1/analytics/machines?{span}"),
        format!("/api/v1/lines/line-a/losses?{span}"),
        "/api/v1/machines/a-filler/health".to_owned(),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"]["code"], json!("feature_disabled"), "{path}");
    }
    let (status, body) = app
        .post(
            "/api/v1/maintenance/orders",
            &json!({"machine": "a-filler", "problem": "belt", "priority": "low"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

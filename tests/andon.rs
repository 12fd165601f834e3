//! Andon against a real server and a real recording pager endpoint, with a manual clock:
//! escalation timing, every webhook format, retries, hanging endpoints, restarts,
//! auto-raise, downtime classification and Pareto, and bad requests.

mod common;

use common::pager::PagerServer;
use common::*;
use ms5::clock::Clock;
use ms5::domain::page::verify;
use serde_json::{Value, json};

const T0: i64 = DAY + 7 * 60 * MIN;

async fn andon_app(dir: &std::path::Path, pager: &PagerServer, now: i64, settings: Value) -> TestApp {
    spawn_app(Spawn {
        plant: &andon_plant(&pager.base),
        dir,
        clock: Clock::manual(now),
        simulator: false,
        settings,
    })
    .await
}

async fn raise(app: &TestApp, category: &str, description: &str) -> Value {
    let anna = app.token_for("anna").await;
    let (status, t) = app
        .post_as(
            "/api/v1/andon/tickets",
            &anna,
            &json!({"line": "line-a", "machine": "a-filler", "category": category, "priority": "high",
                    "description": description}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    t
}

async fn act(app: &TestApp, id: i64, action: &str, by: &str) -> (u16, Value) {
    let token = app.token_for(by).await;
    app.post_as(&format!("/api/v1/andon/tickets/{id}/{action}"), &token, &json!({}))
        .await
}

/// Moves the manual clock to `at` and runs every timer check.
async fn at(app: &TestApp, at: i64) {
    app.clock.set(at);
    app.plant.tick().await;
}

#[actix_web::test]
async fn escalation_fires_each_level_on_time_in_every_format_and_stops_on_acknowledge() {
    let dir = temp();
    let pager = PagerServer::start();
    let app = andon_app(dir.path(), &pager, T0, json!({})).await;
    let t = raise(&app, "maintenance", "valve fault").await;
    let id = t["id"].as_i64().expect("id");
    assert_eq!(t["state"], json!("open"));
    assert_eq!(t["next_escalation"]["level"], json!(1));
    assert_eq!(t["next_escalation"]["at"], json!(rfc3339(T0 + 5 * MIN)));

    // 1 ms before L1: nothing; exactly at L1: generic + slack
    at(&app, T0 + 5 * MIN - 1).await;
    assert!(pager.pages().is_empty(), "paged early: {:?}", pager.pages());
    at(&app, T0 + 5 * MIN).await;
    let generic = pager.wait_for("/ok/generic", 1).await;
    let slack = pager.wait_for("/ok/slack", 1).await;
    let g = &generic[0];
    let signature = g.headers.get("x-ms5-signature").expect("signed");
    let now_s = (T0 + 5 * MIN) / 1000;
    assert_eq!(
        verify(b"test-secret", signature, &g.body, now_s, 300),
        Ok(()),
        "HMAC over t.body"
    );
    assert!(verify(b"wrong", signature, &g.body, now_s, 300).is_err());
    assert_eq!(
        g.headers.get("idempotency-key").map(String::as_str),
        Some(format!("ms5-{id}-escalated-1-generic").as_str())
    );
    assert_eq!(
        (
            g.json["event"].clone(),
            g.json["level"].clone(),
            g.json["ticket"].clone()
        ),
        (json!("escalated"), json!(1), json!(id))
    );
    assert!(
        slack[0].json["text"]
            .as_str()
            .is_some_and(|s| s.contains(&format!("Andon #{id} L1"))),
        "{:?}",
        slack[0].json
    );

    // L2 at 15 min: PagerDuty trigger, one incident per ticket
    at(&app, T0 + 15 * MIN).await;
    let pd = pager.wait_for("/pd/enqueue", 1).await;
    let trigger = &pd[0].json;
    assert_eq!(trigger["event_action"], json!("trigger"));
    assert_eq!(trigger["routing_key"], json!("R0UT1NGKEY"));
    assert_eq!(trigger["dedup_key"], json!(format!("ms5-ticket-{id}")));
    assert_eq!(trigger["payload"]["severity"], json!("error"));
    assert_eq!(trigger["payload"]["source"], json!("a-filler"));

    // acknowledged: no more response levels; the resolve deadline is next (30 min after ack)
    app.clock.set(T0 + 16 * MIN);
    let (status, acked) = act(&app, id, "acknowledge", "ben").await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(
        (acked["state"].clone(), acked["acknowledged_by"].clone()),
        (json!("acknowledged"), json!("ben"))
    );
    assert_eq!(
        acked["next_escalation"],
        json!({"level": 3, "at": rfc3339(T0 + 46 * MIN), "kind": "resolve_deadline"})
    );
    at(&app, T0 + 45 * MIN).await;
    assert_eq!(
        pager.on("/ok/generic").len(),
        1,
        "nothing between acknowledge and the deadline"
    );
    at(&app, T0 + 46 * MIN).await;
    let generic = pager.wait_for("/ok/generic", 2).await;
    assert_eq!(generic[1].json["level"], json!(3));

    // resolved: PagerDuty resolves the incident, the others hear it too
    let (status, resolved) = act(&app, id, "resolve", "ben").await;
    assert_eq!((status, resolved["state"].clone()), (200, json!("resolved")));
    let pd = pager.wait_for("/pd/enqueue", 2).await;
    assert_eq!(
        pd[1].json,
        json!({"routing_key": "R0UT1NGKEY", "event_action": "resolve", "dedup_key": format!("ms5-ticket-{id}")})
    );
    pager.wait_for("/ok/slack", 2).await;
    at(&app, T0 + 5 * 60 * MIN).await;
    assert_eq!(pager.on("/pd/enqueue").len(), 2, "a resolved ticket pages no more");

    let (status, detail) = app.get(&format!("/api/v1/andon/tickets/{id}")).await;
    assert_eq!(status, 200);
    let kinds: Vec<_> = detail["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            "raised",
            "escalated",
            "escalated",
            "acknowledged",
            "escalated",
            "resolved"
        ]
        .map(|k| json!(k))
    );
    let deliveries = detail["deliveries"].as_array().cloned().unwrap_or_default();
    // L1 ×2, L2 ×1, L3 ×1, resolve ×3 (generic, pd, slack were paged)
    assert_eq!(deliveries.len(), 7, "{deliveries:?}");
    for _ in 0..500 {
        let (_, d) = app.get(&format!("/api/v1/andon/tickets/{id}")).await;
        if d["deliveries"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|x| x["state"] == json!("delivered"))
        {
            return;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("not every delivery was logged as delivered");
}

#[actix_web::test]
async fn a_flaky_endpoint_gets_one_successful_delivery_and_a_hanging_one_delays_nobody() {
    let dir = temp();
    let pager = PagerServer::start();
    // a long per-attempt timeout: if deliveries waited on each other, the healthy one would too
    let app = andon_app(dir.path(), &pager, T0, json!({"pager": {"timeout": "60s"}})).await;
    let t = raise(&app, "quality", "labels smeared").await;
    let id = t["id"].as_i64().expect("id");
    at(&app, T0 + MIN).await;
    let healthy = pager.wait_for("/ok/healthy", 1).await;
    assert_eq!(healthy.len(), 1);
    assert_eq!(
        pager.on("/hang/hook").len(),
        1,
        "the hanging endpoint was called, and is still hanging"
    );
    // flaky: 500, 500, 200, all with the same idempotency key, then nothing more
    let flaky = pager.wait_for("/flaky/hook", 3).await;
    let keys: Vec<_> = flaky
        .iter()
        .map(|p| p.headers.get("idempotency-key").cloned())
        .collect();
    assert!(
        keys.iter().all(|k| *k == Some(format!("ms5-{id}-escalated-1-flaky"))),
        "{keys:?}"
    );
    for _ in 0..300 {
        let (_, d) = app.get(&format!("/api/v1/andon/tickets/{id}")).await;
        let flaky_row = d["deliveries"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["target"] == json!("flaky"))
            .cloned();
        if let Some(row) = flaky_row.filter(|r| r["state"] == json!("delivered")) {
            assert_eq!(
                (row["attempts"].clone(), row["last_status"].clone()),
                (json!(3), json!(200))
            );
            actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
            assert_eq!(
                pager.on("/flaky/hook").len(),
                3,
                "exactly one successful delivery, no extra attempt"
            );
            return;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("flaky delivery never logged as delivered");
}

#[actix_web::test]
async fn a_restart_mid_escalation_pages_the_due_level_once_and_nothing_twice() {
    let dir = temp();
    let pager = PagerServer::start();
    let first = andon_app(dir.path(), &pager, T0, json!({})).await;
    let id = raise(&first, "maintenance", "conveyor jam").await["id"]
        .as_i64()
        .expect("id");
    at(&first, T0 + 5 * MIN).await;
    pager.wait_for("/ok/generic", 1).await;
    pager.wait_for("/ok/slack", 1).await;
    first.stopper.stop().await;

    // down while L2 (15 min) fell due; it fires once at start
    let second = andon_app(dir.path(), &pager, T0 + 20 * MIN, json!({})).await;
    pager.wait_for("/pd/enqueue", 1).await;
    at(&second, T0 + 21 * MIN).await;
    at(&second, T0 + 22 * MIN).await;
    actix_rt::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(pager.on("/ok/generic").len(), 1, "L1 not paged again");
    assert_eq!(pager.on("/ok/slack").len(), 1, "L1 not paged again");
    assert_eq!(pager.on("/pd/enqueue").len(), 1, "L2 paged once");
    let (_, t) = second.get(&format!("/api/v1/andon/tickets/{id}")).await;
    assert_eq!(t["ticket"]["level"], json!(2));
    // and it is still live after the restart: acknowledging works
    let (status, _) = act(&second, id, "acknowledge", "ben").await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn downtime_past_the_rule_raises_exactly_one_ticket_per_event_and_resolves_it() {
    let dir = temp();
    let pager = PagerServer::start();
    let app = andon_app(dir.path(), &pager, T0, json!({})).await;
    app.ingest(&[
        ("A.Filler.State", json!(1), T0),
        ("A.Filler.State", json!(3), T0 + MIN),
        ("A.Filler.Fault", json!(7), T0 + MIN),
    ])
    .await;
    at(&app, T0 + 6 * MIN - 1).await;
    assert!(list_tickets(&app).await.is_empty(), "raised before the rule's 5 min");
    at(&app, T0 + 6 * MIN).await;
    at(&app, T0 + 7 * MIN).await;
    let raised = list_tickets(&app).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(
        (raised[0]["source"].clone(), raised[0]["machine"].clone()),
        (json!("auto"), json!("a-filler"))
    );
    assert!(
        raised[0]["description"].as_str().is_some_and(|d| d.contains("jam")),
        "{}",
        raised[0]
    );
    // running again: the ticket resolves itself
    app.clock.set(T0 + 8 * MIN);
    app.ingest(&[("A.Filler.State", json!(1), T0 + 8 * MIN)]).await;
    let mut state = json!(null);
    for _ in 0..200 {
        state = list_tickets(&app).await[0]["state"].clone();
        if state == json!("resolved") {
            break;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(state, json!("resolved"));
    // a second downtime is a second event: a second ticket
    app.ingest(&[("A.Filler.State", json!(3), T0 + 10 * MIN)]).await;
    at(&app, T0 + 16 * MIN).await;
    at(&app, T0 + 17 * MIN).await;
    assert_eq!(list_tickets(&app).await.len(), 2);
    // MS5's own transitions are audited as `system`
    let mut actions = Vec::new();
    for _ in 0..200 {
        let (_, page) = app.get("/api/v1/audit?actor=system").await;
        actions = page["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["action"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>();
        if actions.len() >= 3 {
            break;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    actions.sort();
    assert_eq!(actions, ["andon.raise", "andon.raise", "andon.resolve"]);
}

#[actix_web::test]
async fn pareto_matches_hand_computed_minutes_and_follows_classification() {
    let dir = temp();
    let pager = PagerServer::start();
    let h10 = DAY + 10 * 60 * MIN;
    let app = andon_app(dir.path(), &pager, h10 + 60 * MIN, json!({})).await;
    // 10:00-10:10 down (jam), 10:20-10:25 down (no fault code), 10:30-10:31 idle (micro-stop)
    app.ingest(&[
        ("A.Filler.State", json!(1), h10 - MIN),
        ("A.Filler.Fault", json!(7), h10),
        ("A.Filler.State", json!(3), h10),
        ("A.Filler.State", json!(1), h10 + 10 * MIN),
        ("A.Filler.Fault", json!(0), h10 + 10 * MIN),
        ("A.Filler.State", json!(3), h10 + 20 * MIN),
        ("A.Filler.State", json!(1), h10 + 25 * MIN),
        ("A.Filler.State", json!(2), h10 + 30 * MIN),
        ("A.Filler.State", json!(1), h10 + 31 * MIN),
        ("A.Filler.State", json!(1), h10 + 60 * MIN),
    ])
    .await;
    let window = format!("from={}&to={}", rfc3339(h10), rfc3339(h10 + 60 * MIN));
    let (status, p) = app.get(&format!("/api/v1/downtime/pareto?line=line-a&{window}")).await;
    assert_eq!(status, 200, "{p}");
    let rows: Vec<_> = p["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["reason"].clone(), r["minutes"].clone(), r["occurrences"].clone()))
        .collect();
    // jam 10 min, unclassified 5 min; the 1-minute idle is a micro-stop and left out
    assert_eq!(
        rows,
        vec![
            (json!("jam"), json!(10.0), json!(1)),
            (json!("unclassified"), json!(5.0), json!(1))
        ]
    );
    let (_, with_micro) = app
        .get(&format!(
            "/api/v1/downtime/pareto?line=line-a&{window}&include_micro=true"
        ))
        .await;
    assert_eq!(with_micro["reasons"][2]["reason"], json!("idle"));
    assert_eq!(with_micro["reasons"][2]["minutes"], json!(1.0));

    // micro-stops listed on their own
    let (_, micro) = app.get("/api/v1/downtime?line=line-a&micro_stop=true").await;
    let micro = micro["downtime"].as_array().cloned().unwrap_or_default();
    assert_eq!(micro.len(), 1);
    assert_eq!(
        (micro[0]["reason"].clone(), micro[0]["duration_s"].clone()),
        (json!("idle"), json!(60.0))
    );

    // classify the unclassified stop; the Pareto follows, with who and when kept
    let (_, all) = app.get("/api/v1/downtime?line=line-a&reason=unclassified").await;
    let id = all["downtime"][0]["id"].as_i64().expect("an unclassified event");
    let carl = app.token_for("carl").await;
    let (status, c) = app
        .post_as(
            &format!("/api/v1/downtime/{id}/classify"),
            &carl,
            &json!({"reason": "mechanical/belt", "comment": "belt slipped"}),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (
            c["reason"].clone(),
            c["auto_reason"].clone(),
            c["classified"]["by"].clone()
        ),
        (json!("mechanical/belt"), json!("unclassified"), json!("carl"))
    );
    let (_, p) = app.get(&format!("/api/v1/downtime/pareto?line=line-a&{window}")).await;
    assert_eq!(p["reasons"][1]["reason"], json!("mechanical/belt"));
    assert_eq!(p["reasons"][1]["minutes"], json!(5.0));
}

#[actix_web::test]
async fn bad_andon_and_downtime_requests_get_400_404_409_and_store_nothing() {
    let dir = temp();
    let pager = PagerServer::start();
    let app = andon_app(dir.path(), &pager, T0, json!({})).await;
    let base = json!({"line": "line-a", "category": "quality", "priority": "low", "description": "x"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, status) in [
        (with("line", json!("nope")), 400),
        (with("machine", json!("nope")), 400),
        (with("category", json!("weather")), 400),
        (with("priority", json!("urgent!!")), 400),
        (with("description", json!("   ")), 400),
        (with("raised_by", json!("anna")), 400),
        (json!({"line": "line-a"}), 400),
    ] {
        let (got, err) = app.post("/api/v1/andon/tickets", &body).await;
        assert_eq!(got, status, "{body} → {err}");
        assert!(err["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{err}");
    }
    let (_, list) = app.get("/api/v1/andon/tickets").await;
    assert_eq!(list["tickets"], json!([]), "nothing stored");

    let id = raise(&app, "quality", "scratch").await["id"].as_i64().expect("id");
    assert_eq!(act(&app, 999, "acknowledge", "ben").await.0, 404);
    assert_eq!(
        app.post("/api/v1/andon/tickets/abc/acknowledge", &json!({})).await.0,
        400
    );
    assert_eq!(act(&app, id, "acknowledge", "ben").await.0, 200);
    let (status, err) = act(&app, id, "acknowledge", "ben").await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (409, json!("conflict")),
        "{err}"
    );
    assert_eq!(act(&app, id, "cancel", "ben").await.0, 200);
    let (status, err) = act(&app, id, "resolve", "ben").await;
    assert_eq!(status, 409, "{err}");
    let (_, t) = app.get(&format!("/api/v1/andon/tickets/{id}")).await;
    assert_eq!(
        t["ticket"]["state"],
        json!("cancelled"),
        "a refused act changes nothing"
    );

    let (status, err) = app
        .post("/api/v1/downtime/999/classify", &json!({"reason": "other"}))
        .await;
    assert_eq!(status, 404, "{err}");
    let (status, err) = app
        .post("/api/v1/downtime/1/classify", &json!({"reason": "gremlins"}))
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["error"]["details"]["codes"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("mechanical/belt"))),
        "{err}"
    );
    let (status, _) = app
        .get("/api/v1/downtime/pareto?from=2026-03-02T10:00:00Z&to=2026-03-02T09:00:00Z")
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .get("/api/v1/downtime/pareto?line=nope&from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:00Z")
        .await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn the_andon_channel_pushes_a_snapshot_then_ticket_changes() {
    use awc::ws::Message;
    use futures_util::SinkExt;
    let dir = temp();
    let pager = PagerServer::start();
    let app = andon_app(dir.path(), &pager, T0, json!({})).await;
    let first = raise(&app, "material", "out of caps").await["id"].as_i64().expect("id");
    let (_, mut ws) = app
        .client
        .ws(&app.ws_url)
        .bearer_auth(&app.token)
        .connect()
        .await
        .expect("ws");
    ws.send(Message::Text(r#"{"type":"subscribe","channel":"andon:line-a"}"#.into()))
        .await
        .expect("send");
    let snapshot = next_frame(&mut ws).await;
    assert_eq!(snapshot["type"], json!("snapshot"));
    assert_eq!(snapshot["data"]["tickets"][0]["id"], json!(first));
    let second = raise(&app, "safety", "guard open").await["id"].as_i64().expect("id");
    let update = next_frame(&mut ws).await;
    assert_eq!(
        (update["type"].clone(), update["data"]["id"].clone()),
        (json!("update"), json!(second))
    );
    act(&app, first, "resolve", "ben").await;
    let update = next_frame(&mut ws).await;
    assert_eq!(
        (update["data"]["id"].clone(), update["data"]["state"].clone()),
        (json!(first), json!("resolved"))
    );
    // a new subscriber's snapshot has only the open ticket
    let (_, mut late) = app
        .client
        .ws(&app.ws_url)
        .bearer_auth(&app.token)
        .connect()
        .await
        .expect("ws");
    late.send(Message::Text(r#"{"type":"subscribe","channel":"andon"}"#.into()))
        .await
        .expect("send");
    let snapshot = next_frame(&mut late).await;
    let ids: Vec<_> = snapshot["data"]["tickets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(second)]);
}

async fn list_tickets(app: &TestApp) -> Vec<Value> {
    app.get("/api/v1/andon/tickets?line=line-a").await.1["tickets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn next_frame(ws: &mut actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>) -> Value {
    common::ws::next_json(ws).await
}

#[actix_web::test]
async fn andon_metrics_count_raises_escalations_and_open_tickets() {
    let dir = temp();
    let pager = PagerServer::start();
    let app = andon_app(dir.path(), &pager, T0, json!({})).await;
    let id = raise(&app, "maintenance", "oil leak").await["id"].as_i64().expect("id");
    at(&app, T0 + 5 * MIN).await;
    pager.wait_for("/ok/slack", 1).await;
    app.clock.set(T0 + 6 * MIN);
    act(&app, id, "acknowledge", "ben").await;
    let (_, text) = app.get_text("/metrics").await;
    for needle in [
        r#"ms5_andon_open_tickets{line="line-a",priority="high"}"#,
        "ms5_andon_escalations_total",
        "ms5_andon_tickets_raised_total",
        // minutes-scale buckets, not the millisecond ones of HTTP timings
        r#"ms5_andon_time_to_acknowledge_seconds_bucket{priority="high",le="300"}"#,
        r#"ms5_pager_deliveries_total{target="slack",outcome="delivered"}"#,
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}");
    }
}

#[actix_web::test]
async fn deliveries_pending_at_shutdown_are_sent_after_a_restart_exactly_once() {
    let dir = temp();
    let pager = PagerServer::start();
    // first run: the endpoints are unreachable and the next retry is an hour away
    let unreachable = "http://127.0.0.1:1";
    let first = spawn_app(Spawn {
        plant: &andon_plant(unreachable),
        dir: dir.path(),
        clock: Clock::manual(T0),
        simulator: false,
        settings: json!({"pager": {"backoff_base": "1h", "backoff_max": "2h"}}),
    })
    .await;
    let id = raise(&first, "maintenance", "gearbox noise").await["id"]
        .as_i64()
        .expect("id");
    at(&first, T0 + 5 * MIN).await;
    for _ in 0..500 {
        let (_, d) = first.get(&format!("/api/v1/andon/tickets/{id}")).await;
        let rows = d["deliveries"].as_array().cloned().unwrap_or_default();
        if rows.len() == 2
            && rows
                .iter()
                .all(|r| r["attempts"] == json!(1) && r["state"] == json!("pending"))
        {
            break;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    first.stopper.stop().await;

    // second run: the endpoints are back; pending deliveries go out, L1 is not raised again
    let second = andon_app(dir.path(), &pager, T0 + 6 * MIN, json!({})).await;
    pager.wait_for("/ok/generic", 1).await;
    pager.wait_for("/ok/slack", 1).await;
    at(&second, T0 + 7 * MIN).await;
    actix_rt::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!((pager.on("/ok/generic").len(), pager.on("/ok/slack").len()), (1, 1));
    let (_, d) = second.get(&format!("/api/v1/andon/tickets/{id}")).await;
    let rows = d["deliveries"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "no new deliveries for the same level: {rows:?}");
    assert!(rows.iter().all(|r| r["attempts"] == json!(2)), "{rows:?}");
}

#[actix_web::test]
async fn a_stop_that_began_before_a_restart_is_still_raised_once_and_resolved() {
    let dir = temp();
    let pager = PagerServer::start();
    let first = andon_app(dir.path(), &pager, T0 + MIN, json!({})).await;
    first
        .ingest(&[
            ("A.Filler.State", json!(1), T0),
            ("A.Filler.State", json!(3), T0 + MIN),
            ("A.Filler.Fault", json!(7), T0 + MIN),
        ])
        .await;
    at(&first, T0 + 3 * MIN).await;
    assert!(list_tickets(&first).await.is_empty());
    first.stopper.stop().await;

    // the stop has outlasted its 5-minute rule while MS5 was down
    let second = andon_app(dir.path(), &pager, T0 + 7 * MIN, json!({})).await;
    at(&second, T0 + 7 * MIN).await;
    at(&second, T0 + 8 * MIN).await;
    let raised = list_tickets(&second).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert!(
        raised[0]["description"]
            .as_str()
            .is_some_and(|d| d.contains("over 5m: jam")),
        "{}",
        raised[0]
    );
    // running again resolves it
    second.ingest(&[("A.Filler.State", json!(1), T0 + 9 * MIN)]).await;
    for _ in 0..200 {
        if list_tickets(&second).await[0]["state"] == json!("resolved") {
            return;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the ticket was not resolved when the machine ran again");
}

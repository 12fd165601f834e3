//! Two `ms5` replicas on one PostgreSQL and one Redis (`redis.url`): a socket or a REST
//! read on either replica follows every machine and line, whichever replica runs it;
//! when Redis restarts mid-stream the sockets are told they are `degraded`, then resync
//! by snapshot; what people do on the replica that does not run a line (an Andon
//! ticket, a reject, a job) reaches the one that does; a replica that stops hands its
//! lines over at once; an edge's records taken by either replica of a central show live
//! on both.
//!
//! Needs `MS5_TEST_POSTGRES_URL` and Debian's redis-server (scripts/test.sh provides
//! both; each test starts a private redis-server of its own).

mod common;

use std::future::Future;
use std::time::Duration;

use common::redis::RedisServer;
use common::stores::postgres_server;
use common::ws::{Conn, connect_to, next_json, send};
use common::{LINE_B, Spawn, TEST_PLANT, TestApp, postgres_database, spawn_app, temp};
use ms5::clock::Clock;
use serde_json::{Value, json};

/// 2026-03-02T10:00:00Z, a Monday morning in the test plant's shift.
const T0: i64 = 1_772_445_600_000;
const SEC: i64 = 1_000;
const OUTPUT: [&str; 2] = ["a-filler", "b-press"];

fn plant() -> String {
    format!("{TEST_PLANT}{LINE_B}\n[defects]\nother = []\n")
}

/// [`plant`] with line-b run by edge `e9` (a central's plant model).
fn central_plant() -> String {
    plant().replacen("id = \"line-b\"\n", "id = \"line-b\"\nedge = \"e9\"\n", 1)
}

/// Replica `name`; `extra(name)` adds settings (PLC endpoints, `plant` the plant model).
async fn replica(dir: &std::path::Path, db: &str, redis: &str, name: &str, extra: &dyn Fn(&str) -> Value) -> TestApp {
    let mut settings = json!({
        "store": { "url": db, "flush_interval": "50ms" },
        // Rounds run every 75 s of their own: within a test, only when the test runs them.
        "cluster": { "enabled": true, "replica": name, "lease_ttl": "5m" },
        "redis": { "url": redis },
    });
    let mut plant = plant();
    if let (Some(s), Some(more)) = (settings.as_object_mut(), extra(name).as_object()) {
        s.extend(more.clone());
        if let Some(model) = s.remove("plant").as_ref().and_then(Value::as_str) {
            plant = model.to_owned();
        }
    }
    spawn_app(Spawn {
        plant: &plant,
        dir,
        clock: Clock::manual(T0),
        simulator: false,
        settings,
    })
    .await
}

async fn round(app: &TestApp) {
    let replica = app.replica.as_ref().expect("a replica");
    replica.round().await.expect("lease round");
}

/// Polls `check` every 20 ms until it holds; panics after 15 s with `what`.
async fn until<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..750 {
        if check().await {
            return;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not within 15 s");
}

/// Two replicas with one line each, both on the channel: `(runs line-a, runs line-b)`
/// and the servers they need, kept for the test's life.
struct Pair {
    owner: [TestApp; 2],
    _dirs: [tempfile::TempDir; 2],
}

async fn pair(test: &str, redis: &RedisServer) -> Option<Pair> {
    pair_with(test, redis, &|_| json!({})).await
}

async fn pair_with(test: &str, redis: &RedisServer, extra: &dyn Fn(&str) -> Value) -> Option<Pair> {
    let server = postgres_server()?;
    let dirs = [temp(), temp()];
    let db = postgres_database(&server, &format!("cluster_redis::{test}::{}", dirs[0].path().display())).await;
    let a = replica(dirs[0].path(), &db, &redis.url(), "ms5-a", extra).await;
    round(&a).await;
    let b = replica(dirs[1].path(), &db, &redis.url(), "ms5-b", extra).await;
    round(&b).await;
    // Both see two replicas: a hands one line over and b takes it.
    for app in [&a, &b] {
        app.clock.advance(5 * SEC);
    }
    round(&a).await;
    round(&b).await;
    let a_runs_line_a = a.plant.ownership().owns(0);
    assert!(a_runs_line_a != a.plant.ownership().owns(1), "one line each");
    assert!(b.plant.ownership().owns(usize::from(a_runs_line_a)));
    for app in [&a, &b] {
        until("the replica is on the channel", || async {
            app.plant.bus().is_some_and(|bus| bus.is_up())
        })
        .await;
    }
    let owner = if a_runs_line_a { [a, b] } else { [b, a] };
    Some(Pair { owner, _dirs: dirs })
}

/// A run of 40 parts on `line`'s output machine in the hour before T0.
fn parts(line: usize) -> Vec<(&'static str, Value, i64)> {
    let (state, total) = [("A.Filler.State", "A.Filler.Total"), ("B.Press.State", "B.Press.Total")][line];
    vec![
        (state, json!(1), T0 - 600 * SEC),
        (total, json!(0), T0 - 600 * SEC),
        (total, json!(40), T0 - 300 * SEC),
    ]
}

/// A socket on `app` subscribed to `channel`, past its snapshot (returned).
async fn subscribed(app: &TestApp, channel: &str) -> (Conn, Value) {
    let mut ws = connect_to(app, &app.admin()).await;
    send(&mut ws, &json!({"type": "subscribe", "channel": channel}).to_string()).await;
    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["type"], json!("snapshot"), "{snapshot}");
    (ws, snapshot)
}

/// Reads frames until one satisfies `check`; returns it and the frames before it.
async fn frame_where(ws: &mut Conn, what: &str, check: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    for _ in 0..200 {
        let frame = next_json(ws).await;
        if check(&frame) {
            return (frame, before);
        }
        before.push(frame);
    }
    panic!("{what}: not among {} frames: {before:?}", before.len());
}

fn hour_total(machine: &Value) -> &Value {
    &machine["windows"]["1h"]["total"]
}

#[actix_web::test]
async fn a_socket_and_a_rest_read_on_either_replica_follow_what_the_other_runs() {
    let Some(redis) = RedisServer::start() else { return };
    let Some(Pair { owner, _dirs }) = pair("fanout", &redis).await else {
        return;
    };
    // line-a runs on owner[0]; a wall display is connected to the other replica.
    let (runs, other) = (&owner[0], &owner[1]);
    let (mut machine_ws, _) = subscribed(other, "machine:a-filler").await;
    let (mut lines_ws, snapshot) = subscribed(other, "production_updates").await;
    assert_eq!(
        snapshot["data"]["lines"].as_array().map(Vec::len),
        Some(2),
        "{snapshot}"
    );

    let report = other.ingest(&parts(0)).await;
    assert_eq!(
        report["not_owner"],
        json!(3),
        "the other replica does not apply them: {report}"
    );
    // Nor does it record their raw samples: they are the owner's to write (nothing for the
    // store to refuse).
    other.plant.flush().await;
    let fenced = common::metric_line(other, "ms5_cluster_rows_fenced_total").await;
    assert!(fenced.as_ref().is_none_or(|l| l.ends_with(" 0")), "{fenced:?}");
    let report = runs.ingest(&parts(0)).await;
    assert_eq!(report["applied"], json!(3), "{report}");

    let (update, _) = frame_where(&mut machine_ws, "the filler's 40 parts on the other replica", |f| {
        f["type"] == json!("update") && hour_total(&f["data"]) == &json!(40)
    })
    .await;
    assert_eq!(update["channel"], json!("machine:a-filler"));
    frame_where(&mut lines_ws, "line-a's 40 parts on the other replica", |f| {
        f["type"] == json!("update") && f["data"]["id"] == json!("line-a") && hour_total(&f["data"]) == &json!(40)
    })
    .await;
    // REST on either replica: the same figures, byte for byte the owner's body.
    let here = runs.get_text("/api/v1/machines/a-filler").await;
    let there = other.get_text("/api/v1/machines/a-filler").await;
    assert_eq!((here.0, there.0), (200, 200));
    assert_eq!(here.1, there.1, "the other replica serves the owner's state");
    assert_eq!(other.machine_window("a-filler", "1h").await["total"], json!(40));
    // The other direction: line-b runs on owner[1], read on owner[0].
    assert_eq!(other.ingest(&parts(1)).await["applied"], json!(3));
    until("b-press's parts on owner[0]", || async {
        runs.machine_window("b-press", "1h").await["total"] == json!(40)
    })
    .await;
}

#[actix_web::test]
async fn when_redis_restarts_sockets_are_told_they_are_degraded_then_resync_by_snapshot() {
    let Some(mut redis) = RedisServer::start() else { return };
    let Some(Pair { owner, _dirs }) = pair("restart", &redis).await else {
        return;
    };
    let (runs, other) = (&owner[0], &owner[1]);
    let (mut ws, _) = subscribed(other, "machine:a-filler").await;
    assert_eq!(runs.ingest(&parts(0)).await["applied"], json!(3));
    frame_where(&mut ws, "40 parts before the restart", |f| {
        hour_total(&f["data"]) == &json!(40)
    })
    .await;

    redis.down();
    let (notice, _) = frame_where(&mut ws, "a degraded notice", |f| f["type"] == json!("degraded")).await;
    assert_eq!(notice["data"]["degraded"], json!(true), "{notice}");
    assert!(
        notice["data"]["reason"].as_str().is_some_and(|r| r.contains("Redis")),
        "{notice}"
    );
    // A socket that connects meanwhile is told at once.
    let mut late = connect_to(other, &other.admin()).await;
    assert_eq!(next_json(&mut late).await["type"], json!("degraded"));
    // Each replica keeps running its own line; what changes meanwhile cannot reach the other.
    let report = runs.ingest(&[("A.Filler.Total", json!(70), T0 - 200 * SEC)]).await;
    assert_eq!(report["applied"], json!(1), "{report}");
    assert_eq!(runs.machine_window("a-filler", "1h").await["total"], json!(70));
    assert_eq!(other.machine_window("a-filler", "1h").await["total"], json!(40));

    redis.up();
    let (back, _) = frame_where(&mut ws, "the notice cleared", |f| f["type"] == json!("degraded")).await;
    assert_eq!(back["data"], json!({"degraded": false}), "{back}");
    // Then a snapshot: the socket starts again from the state as it is, the 30 parts
    // made while Redis was away included (in the snapshot, or an update right after).
    let (snapshot, _) = frame_where(&mut ws, "a snapshot", |f| f["type"] == json!("snapshot")).await;
    if hour_total(&snapshot["data"]) != &json!(70) {
        frame_where(&mut ws, "the 70 parts", |f| hour_total(&f["data"]) == &json!(70)).await;
    }
    until("the REST body on the other replica", || async {
        other.machine_window("a-filler", "1h").await["total"] == json!(70)
    })
    .await;
    let up = common::metric_line(other, "ms5_cluster_redis_up").await;
    assert_eq!(up.as_deref(), Some("ms5_cluster_redis_up 1"));
}

#[actix_web::test]
async fn what_people_do_on_a_replica_that_does_not_run_the_line_reaches_its_owner() {
    let Some(redis) = RedisServer::start() else { return };
    let Some(Pair { owner, _dirs }) = pair("writes", &redis).await else {
        return;
    };
    let (runs, other) = (&owner[0], &owner[1]);
    assert_eq!(runs.ingest(&parts(0)).await["applied"], json!(3));
    let (mut andon_ws, _) = subscribed(runs, "andon:line-a").await;

    // An Andon ticket raised on the other replica is on the owner's board at once (no
    // lease round runs here), and the owner's desk holds it: the owner escalates it.
    let (status, t) = other
        .post(
            "/api/v1/andon/tickets",
            &json!({"line": "line-a", "machine": "a-filler", "category": "quality", "priority": "high",
                    "description": "labels crooked"}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let (frame, _) = frame_where(&mut andon_ws, "the ticket on the owner's socket", |f| {
        f["type"] == json!("update") && f["data"]["id"] == t["id"]
    })
    .await;
    assert_eq!(frame["data"]["description"], json!("labels crooked"));

    // A reject logged on the other replica lowers good parts in the owner's live windows.
    let (status, logged) = other
        .post(
            "/api/v1/rejects",
            &json!({"machine": "a-filler", "defect": "other", "quantity": 5}),
        )
        .await;
    assert_eq!(status, 201, "{logged}");
    until("the reject in the owner's live window", || async {
        runs.machine_window("a-filler", "1h").await["good"] == json!(35)
    })
    .await;
    until("and on the other replica, from the owner", || async {
        other.machine_window("a-filler", "1h").await["good"] == json!(35)
    })
    .await;

    // A job started on the other replica gives the owner's machines its product.
    let (status, product) = other
        .call(
            "PUT",
            "/api/v1/products/sku-9",
            Some(&other.admin()),
            Some(&json!({"name": "Cola 0.5 l", "ideal_cycle_ms": 2000})),
        )
        .await;
    assert_eq!(status, 201, "{product}");
    let (status, job) = other
        .post(
            "/api/v1/jobs",
            &json!({"line": "line-a", "product": "sku-9", "target": 1000}),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    for action in ["release", "start"] {
        let (status, answer) = other
            .post(&format!("/api/v1/jobs/{}/{action}", job["id"]), &json!({}))
            .await;
        assert_eq!(status, 200, "{action}: {answer}");
    }
    until("the owner's filler makes the job's product", || async {
        runs.get("/api/v1/machines/a-filler").await.1["product"] == json!("Cola 0.5 l")
    })
    .await;
}

#[actix_web::test]
async fn a_replica_that_stops_hands_its_lines_over_without_waiting_for_a_round() {
    let Some(redis) = RedisServer::start() else { return };
    let Some(Pair { owner, _dirs }) = pair("leave", &redis).await else {
        return;
    };
    let [first, second] = &owner;
    assert_eq!(first.ingest(&parts(0)).await["applied"], json!(3));
    first.stopper.stop().await;
    // No round is run by the test: the stopping replica's message makes the other claim.
    until("the other replica runs both lines", || async {
        second.plant.ownership().owns(0) && second.plant.ownership().owns(1)
    })
    .await;
    assert_eq!(second.machine_window(OUTPUT[0], "1h").await["total"], json!(40));
}

/// `ms5_plc_connected` of a Modbus endpoint, if reported.
async fn plc_connected(app: &TestApp, endpoint: &str) -> Option<f64> {
    plc_gauge(app, "ms5_plc_connected", endpoint).await
}

/// A gauge of a Modbus endpoint, if reported.
async fn plc_gauge(app: &TestApp, name: &str, endpoint: &str) -> Option<f64> {
    let needle = format!(r#"{name}{{kind="modbus",endpoint="{endpoint}"}}"#);
    common::metric_line(app, &needle)
        .await
        .and_then(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok()))
}

#[actix_web::test]
async fn a_plc_is_polled_only_by_the_replica_that_runs_its_line() {
    use ms5::config::{ModbusServerSettings, parse_plant};
    use ms5::domain::tag::{Quality, TagUpdate, TagValue};
    use ms5::plc::modbus::server::ModbusServer;

    let Some(redis) = RedisServer::start() else { return };
    // The filler's PLC (`ms5 simulate`'s Modbus map: the filler is machine 0).
    let model = parse_plant(&plant(), "plant.toml").expect("plant");
    let settings = ModbusServerSettings {
        enabled: true,
        host: "127.0.0.1".into(),
        port: 0,
    };
    let device = ModbusServer::start(&model, &settings).await.expect("device");
    let value = |tag: &str, v: i64| TagUpdate {
        tag: tag.into(),
        value: TagValue::Int(v),
        ts: 0,
        quality: Quality::Good,
    };
    device.write(&[value("A.Filler.State", 1), value("A.Filler.Total", 500)]);
    // Every replica has the endpoint (named after the replica here, to tell their links apart).
    let address = device.address();
    let endpoint = move |replica: &str| {
        json!({"modbus": {"reconnect_base": "100ms", "reconnect_max": "1s", "endpoints": [{
            "name": format!("filler-plc-{replica}"), "address": address, "poll_interval": "50ms", "timeout": "500ms",
            "tags": {"A.Filler.State": "hr:0", "A.Filler.Total": "hr:7:u32"}}]}})
    };
    let Some(Pair { owner, _dirs }) = pair_with("plc", &redis, &endpoint).await else {
        return;
    };
    let name = |app: &TestApp| format!("filler-plc-{}", app.replica.as_ref().map_or("", |r| r.name()));
    let (runs, other) = (&owner[0], &owner[1]);
    until("the owner of line-a polls the filler's PLC", || async {
        plc_connected(runs, &name(runs)).await == Some(1.0)
    })
    .await;
    until("and the other replica does not: it is on standby", || async {
        plc_connected(other, &name(other)).await.unwrap_or(0.0) == 0.0
            && plc_gauge(other, "ms5_plc_standby", &name(other)).await == Some(1.0)
    })
    .await;
    assert_eq!(plc_gauge(runs, "ms5_plc_standby", &name(runs)).await, Some(0.0));
    until("the owner has the PLC's values", || async {
        runs.get("/api/v1/machines/a-filler").await.1["state"] == json!("running")
    })
    .await;

    // The owner stops: the other replica takes line-a, and with it the PLC.
    runs.stopper.stop().await;
    until("the new owner polls the PLC", || async {
        plc_connected(other, &name(other)).await == Some(1.0)
            && plc_gauge(other, "ms5_plc_standby", &name(other)).await == Some(0.0)
    })
    .await;
    other.clock.advance(SEC);
    device.write(&[value("A.Filler.Total", 530)]);
    until("the new owner counts the PLC's parts", || async {
        other.get("/api/v1/machines/a-filler").await.1["windows"]["1h"]["total"] == json!(30)
    })
    .await;
    device.stop().await;
}

#[actix_web::test]
async fn a_clustered_central_shows_an_edges_records_live_on_every_replica() {
    const TOKEN: &str = "forward-token-forward-token-0123";
    let Some(redis) = RedisServer::start() else { return };
    let settings = |_: &str| json!({ "plant": central_plant(), "auth": { "forward_token": TOKEN } });
    let Some(Pair { owner, _dirs }) = pair_with("central", &redis, &settings).await else {
        return;
    };
    // The edge's records reach the replica that does not run line-b.
    let (runs, other) = (&owner[1], &owner[0]);
    let minute = 60 * SEC;
    let start = T0 - 10 * minute;
    let mut records = vec![json!({ "seq": 1, "kind": "interval", "stream": "b-press", "payload": {
        "machine_id": "b-press", "start_ms": start, "end_ms": T0 - minute, "state": "running", "micro_stop": 0 } })];
    for (i, m) in (0..5).enumerate() {
        let seq = i64::try_from(i).unwrap_or_default() + 2;
        records.push(json!({ "seq": seq, "kind": "counts", "stream": "b-press", "payload": {
            "machine_id": "b-press", "minute_ms": start + m * minute, "product": "", "total": 12, "good": 11,
            "ideal_ms": 12_000 } }));
    }
    let (status, answer) = other
        .call(
            "POST",
            "/api/v1/forward",
            Some(TOKEN),
            Some(&json!({ "edge": "e9", "records": records })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let outcomes: Vec<&Value> = answer["results"]
        .as_array()
        .map(|r| r.iter().map(|r| &r["outcome"]).collect())
        .unwrap_or_default();
    assert_eq!(outcomes, vec![&json!("applied"); 6], "{answer}");
    // The owner starts the press again from the store, and both replicas show its parts.
    for (app, what) in [(runs, "the owner"), (other, "the replica that took the records")] {
        until(&format!("60 parts of the edge on {what}"), || async {
            app.machine_window("b-press", "1h").await["total"] == json!(60)
        })
        .await;
    }
    assert_eq!(other.machine_window("b-press", "1h").await["good"], json!(55));
}

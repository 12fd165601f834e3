//! OPC UA ingestion end to end: a real OPC UA server in the test process (the one `ms5
//! simulate` runs), MS5 subscribed to it as a client.

mod common;

use std::path::Path;

use common::*;
use ms5::clock::Clock;
use ms5::config::{OpcUaServerSettings, parse_plant};
use ms5::domain::tag::{Quality, TagUpdate, TagValue};
use ms5::plc::opcua_server::PlcServer;
use serde_json::{Value, json};

/// The test plant without shifts: every hour is planned time, whenever the test runs.
fn plant_text() -> String {
    let start = TEST_PLANT.find("[[shifts]]").expect("shifts");
    let end = TEST_PLANT.find("[[lines]]").expect("lines");
    format!("{}{}", &TEST_PLANT[..start], &TEST_PLANT[end..])
}

fn server_settings(dir: &Path, port: u16, user: Option<(&str, &str)>) -> OpcUaServerSettings {
    OpcUaServerSettings {
        enabled: true,
        host: "127.0.0.1".into(),
        port,
        namespace: "urn:ms5:sim".into(),
        pki_dir: dir.join("pki-server"),
        trust_client_certs: true,
        username: user.map(|u| u.0.to_owned()),
        password_env: None,
        password: user.map(|u| u.1.to_owned()),
    }
}

async fn start_server(dir: &Path, port: u16, user: Option<(&str, &str)>) -> PlcServer {
    let plant = parse_plant(&plant_text(), "plant.toml").expect("plant");
    PlcServer::start(&plant, &server_settings(dir, port, user))
        .await
        .expect("server starts")
}

async fn app_for(dir: &Path, url: &str, endpoint: Value, now: i64) -> TestApp {
    app_with(dir, url, endpoint, json!({}), now).await
}

/// [`app_for`] with more `[opcua]` settings (`opcua`, e.g. the reconnect delays).
async fn app_with(dir: &Path, url: &str, endpoint: Value, opcua: Value, now: i64) -> TestApp {
    let mut ep = json!({
        "name": "plc", "url": url, "pki_dir": dir.join("pki-client"), "trust_server_certs": true,
        "publishing_interval": "100ms", "sampling_interval": "50ms",
    });
    if let (Some(ep), Some(extra)) = (ep.as_object_mut(), endpoint.as_object()) {
        ep.extend(extra.clone());
    }
    let mut settings = json!({ "endpoints": [ep] });
    if let (Some(s), Some(extra)) = (settings.as_object_mut(), opcua.as_object()) {
        s.extend(extra.clone());
    }
    spawn_app(Spawn {
        plant: &plant_text(),
        dir,
        clock: Clock::manual(now),
        simulator: false,
        settings: json!({ "opcua": settings }),
    })
    .await
}

fn update(tag: &str, value: i64, ts: i64, quality: Quality) -> TagUpdate {
    TagUpdate {
        tag: tag.into(),
        value: TagValue::Int(value),
        ts,
        quality,
    }
}

/// Polls the filler until `check` holds (10 s at most), returning the last snapshot.
async fn until(app: &TestApp, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    until_machine(app, "a-filler", what, check).await
}

/// Sets the baseline (state running, counter 0) and waits until the subscription delivers
/// it: a counter's first value counts nothing, so counting starts only after this.
async fn prime(app: &TestApp, server: &PlcServer, t: i64) {
    server.write(&[
        update("A.Filler.State", 1, t, Quality::Good),
        update("A.Filler.Total", 0, t, Quality::Good),
    ]);
    until(app, "subscription live", |m| m["state"] == json!("running")).await;
}

fn total(m: &Value) -> i64 {
    m["windows"]["1h"]["total"].as_i64().unwrap_or(-1)
}

#[actix_web::test]
async fn tags_flow_end_to_end_and_survive_the_plc_going_away() {
    let dir = temp();
    let server = start_server(dir.path(), 0, None).await;
    let port = server.port();
    let t = now_ms();
    let app = app_for(dir.path(), &server.url(), json!({}), t).await;
    until_metric(&app, r#"ms5_plc_connected{kind="opcua",endpoint="plc"} 1"#).await;
    prime(&app, &server, t).await;
    server.write(&[update("A.Filler.Total", 100, t + 500, Quality::Good)]);
    // the server's initial 0 is the counter's baseline: 0 → 100 is 100 parts
    let first = until(&app, "counts flow", |m| {
        m["state"] == json!("running") && total(m) == 100
    })
    .await;
    server.write(&[
        update("A.Filler.Total", 150, t + 1_000, Quality::Good),
        update("A.Filler.Reject", 2, t + 1_000, Quality::Good),
    ]);
    let second = until(&app, "counter moves", |m| total(m) == 150).await;
    assert_eq!(second["windows"]["1h"]["reject"], json!(2));
    assert!(
        second["windows"]["1h"]["oee"].as_f64().is_some(),
        "OEE defined: {second}"
    );
    assert_ne!(
        first["windows"]["1h"]["oee"], second["windows"]["1h"]["oee"],
        "OEE moves with the counters"
    );
    assert!(
        metric_line(&app, r#"ms5_plc_values_total{kind="opcua",endpoint="plc"}"#)
            .await
            .is_some()
    );

    // the PLC goes away: its machines are unknown (comms_lost), and stay so
    server.stop().await;
    until_metric(&app, r#"ms5_plc_connected{kind="opcua",endpoint="plc"} 0"#).await;
    app.clock.advance(31_000);
    app.plant.tick().await;
    let gone = app.get("/api/v1/machines/a-filler").await.1;
    assert_eq!(
        (gone["state"].clone(), gone["reason"].clone()),
        (json!("unknown"), json!("comms_lost")),
        "{gone}"
    );

    // it comes back on the same port (counters retained, as a PLC does): ingestion resumes,
    // with no restart of MS5
    let server = start_server(dir.path(), port, None).await;
    server.write(&[
        update("A.Filler.State", 1, t + 1_000, Quality::Good),
        update("A.Filler.Total", 150, t + 1_000, Quality::Good),
        update("A.Filler.Reject", 2, t + 1_000, Quality::Good),
    ]);
    until_metric(&app, r#"ms5_plc_connected{kind="opcua",endpoint="plc"} 1"#).await;
    let later = now_ms().max(t + 40_000);
    server.write(&[
        update("A.Filler.State", 1, later, Quality::Good),
        update("A.Filler.Total", 170, later, Quality::Good),
    ]);
    until(&app, "resumed", |m| m["state"] == json!("running") && total(m) == 170).await;
    server.stop().await;
}

#[actix_web::test]
async fn a_lost_session_makes_the_machines_unknown_at_once_and_a_restarted_plc_brings_them_back() {
    let dir = temp();
    let server = start_server(dir.path(), 0, None).await;
    let port = server.port();
    let t = now_ms();
    // reconnect fast: 100 ms, doubling up to 1 s (the default caps at 5 s)
    let reconnect = json!({"reconnect_base": "100ms", "reconnect_max": "1s"});
    let app = app_with(dir.path(), &server.url(), json!({}), reconnect, t).await;
    until_metric(&app, r#"ms5_plc_connected{kind="opcua",endpoint="plc"} 1"#).await;
    prime(&app, &server, t).await;
    server.write(&[TagUpdate {
        tag: "A.Packer.Run".into(),
        value: TagValue::Bool(true),
        ts: t,
        quality: Quality::Good,
    }]);
    until_machine(&app, "a-packer", "packer running", |m| m["state"] == json!("running")).await;

    // The session drops. The manual clock moves 1 s, far below stale_after (30 s): only
    // the endpoint saying the session is lost can make the machines unknown.
    server.stop().await;
    until_metric(&app, r#"ms5_plc_connected{kind="opcua",endpoint="plc"} 0"#).await;
    app.clock.advance(1_000);
    app.plant.tick().await;
    for id in ["a-filler", "a-packer"] {
        let gone = until_machine(&app, id, "unknown at once", |m| m["state"] == json!("unknown")).await;
        assert_eq!(gone["reason"], json!("comms_lost"), "{id}: {gone}");
        // unknown from the last data (the last heartbeat, at t), booked as comms lost
        assert_eq!(gone["windows"]["1h"]["comms_lost_s"], json!(1.0), "{id}: {gone}");
    }

    // The PLC comes back on the same port: the client reconnects by itself and data
    // flows again; the machines leave unknown.
    let server = start_server(dir.path(), port, None).await;
    // 10 parts in the 10 s since the last reading: plausible (at most 10 × 1.5 + 5 = 20)
    let later = t + 10_000;
    server.write(&[
        update("A.Filler.State", 1, later, Quality::Good),
        update("A.Filler.Total", 10, later, Quality::Good),
    ]);
    until_metric(&app, r#"ms5_plc_connected{kind="opcua",endpoint="plc"} 1"#).await;
    let back = until(&app, "data flows again", |m| {
        m["state"] == json!("running") && total(m) == 10
    })
    .await;
    assert_eq!(back["reason"], Value::Null, "{back}");
    server.stop().await;
}

#[actix_web::test]
async fn a_missing_node_is_reported_once_and_the_other_tags_flow() {
    let dir = temp();
    let server = start_server(dir.path(), 0, None).await;
    let t = now_ms();
    let app = app_for(
        dir.path(),
        &server.url(),
        json!({"nodes": {"A.Filler.Reject": "ns=2;s=Does.Not.Exist"}}),
        t,
    )
    .await;
    until_metric(
        &app,
        r#"ms5_plc_tag_error{kind="opcua",endpoint="plc",tag="A.Filler.Reject"} 1"#,
    )
    .await;
    prime(&app, &server, t).await;
    server.write(&[update("A.Filler.Total", 40, t + 500, Quality::Good)]);
    until(&app, "other tags flow", |m| {
        m["state"] == json!("running") && total(m) == 40
    })
    .await;
    server.stop().await;
}

#[actix_web::test]
async fn bad_status_values_are_ignored_and_counted() {
    let dir = temp();
    let server = start_server(dir.path(), 0, None).await;
    let t = now_ms();
    // Its own endpoint name: the tests of this file share one metrics registry.
    let app = app_for(dir.path(), &server.url(), json!({"name": "plc-bad-status"}), t).await;
    until_metric(&app, r#"ms5_plc_connected{kind="opcua",endpoint="plc-bad-status"} 1"#).await;
    prime(&app, &server, t).await;
    server.write(&[update("A.Filler.Total", 10, t + 500, Quality::Good)]);
    until(&app, "running", |m| m["state"] == json!("running") && total(m) == 10).await;
    // a Bad "down" and a Bad counter jump change nothing, and the ratio counts them
    server.write(&[
        update("A.Filler.State", 3, t + 500, Quality::Bad),
        update("A.Filler.Total", 999, t + 500, Quality::Bad),
    ]);
    until_metric(
        &app,
        r#"ms5_plc_success_ratio{kind="opcua",endpoint="plc-bad-status"} 0."#,
    )
    .await;
    assert!(
        metric_line(
            &app,
            r#"ms5_tag_updates_rejected_total{source="opcua",reason="bad_quality"}"#
        )
        .await
        .is_some(),
        "the bad values are counted"
    );
    let m = app.get("/api/v1/machines/a-filler").await.1;
    assert_eq!((m["state"].clone(), total(&m)), (json!("running"), 10), "{m}");
    server.stop().await;
}

#[actix_web::test]
async fn basic256sha256_sign_and_encrypt_works_with_generated_certificates() {
    let dir = temp();
    let server = start_server(dir.path(), 0, Some(("ms5", "s3cret-pw"))).await;
    let t = now_ms();
    let endpoint = json!({"security_policy": "basic256sha256", "security_mode": "sign_and_encrypt",
                          "username": "ms5", "password": "s3cret-pw"});
    let app = app_for(dir.path(), &server.url(), endpoint, t).await;
    until_metric(&app, r#"ms5_plc_connected{kind="opcua",endpoint="plc"} 1"#).await;
    prime(&app, &server, t).await;
    server.write(&[update("A.Filler.Total", 25, t + 500, Quality::Good)]);
    until(&app, "encrypted data flows", |m| {
        m["state"] == json!("running") && total(m) == 25
    })
    .await;
    // both sides generated their certificates and trusted each other's
    assert!(dir.path().join("pki-client/own/cert.der").exists());
    assert!(dir.path().join("pki-server/own/cert.der").exists());
    assert!(
        std::fs::read_dir(dir.path().join("pki-server/trusted"))
            .map(|d| d.count())
            .unwrap_or(0)
            >= 1
    );
    server.stop().await;
}

#[actix_web::test]
async fn an_unreachable_plc_does_not_block_start_up() {
    let dir = temp();
    // nothing listens on port 1
    let app = app_for(dir.path(), "opc.tcp://127.0.0.1:1/", json!({}), now_ms()).await;
    let (status, health) = app.get("/health").await;
    assert_eq!((status, health), (200, json!({"status": "ok"})));
    let (status, _) = app.get("/api/v1/production/lines").await;
    assert_eq!(status, 200);
    until_metric(&app, r#"ms5_plc_connected{kind="opcua",endpoint="plc"} 0"#).await;
}

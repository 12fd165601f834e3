//! MQTT and Sparkplug B end to end: Debian's `mosquitto` started by the test on a loopback
//! port, an edge node (or a plain publisher) simulated by a rumqttc client in the test, and
//! MS5 subscribed to the broker.
//!
//! Without `mosquitto` the tests are skipped, unless `MS5_REQUIRE_MQTT` is set (as
//! `scripts/test.sh` does); `MS5_MOSQUITTO` names the binary.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use ms5::clock::Clock;
use ms5::plc::mqtt::sparkplug::payload::{Metric, MetricValue, Payload, REBIRTH, datatype};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The `mosquitto` binary, if installed.
fn mosquitto() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MS5_MOSQUITTO") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir| dir.join("mosquitto"))
        .find(|p| p.is_file())
}

/// `mosquitto`, or `None` when the test may be skipped.
fn broker_binary() -> Option<PathBuf> {
    let found = mosquitto();
    if found.is_none() {
        assert!(
            std::env::var_os("MS5_REQUIRE_MQTT").is_none(),
            "MS5_REQUIRE_MQTT is set but mosquitto is not installed (apt-get install mosquitto)"
        );
        eprintln!("skipped: mosquitto is not installed (apt-get install mosquitto)");
    }
    found
}

/// A mosquitto process on a loopback port, with its own configuration file.
struct Broker {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Broker {
    /// Starts a broker on a free port.
    fn start(bin: &Path, dir: &Path) -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut broker = Broker {
            bin: bin.to_owned(),
            dir: dir.to_owned(),
            port,
            child: None,
        };
        broker.restart();
        broker
    }

    /// Starts the broker (again) on its port, and waits until it accepts connections.
    fn restart(&mut self) {
        let conf = self.dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {} 127.0.0.1\nallow_anonymous true\npersistence false\n",
                self.port
            ),
        )
        .expect("write mosquitto.conf");
        let log = std::fs::File::create(self.dir.join("mosquitto.log")).expect("mosquitto.log");
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto is not listening on {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the broker (the connections drop).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A message the test's client received.
type Message = (String, Vec<u8>);

/// A client of the test (the edge node, a plain publisher): subscribes to `subscriptions`
/// on every connect, keeps reconnecting, and hands every message it receives over.
struct TestClient {
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<Message>,
    connected: Arc<AtomicBool>,
}

impl TestClient {
    async fn connect(port: u16, id: &str, subscriptions: &[&str]) -> TestClient {
        let mut options = MqttOptions::new(id, "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(5)).set_clean_session(true);
        let (client, mut events) = AsyncClient::new(options, 64);
        let (tx, rx) = mpsc::unbounded_channel();
        let connected = Arc::new(AtomicBool::new(false));
        let subs: Vec<String> = subscriptions.iter().map(|s| (*s).to_owned()).collect();
        let (c, up) = (client.clone(), connected.clone());
        actix_rt::spawn(async move {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        for s in &subs {
                            let _ = c.try_subscribe(s.clone(), QoS::AtLeastOnce);
                        }
                        up.store(true, Ordering::SeqCst);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {}
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                    }
                    Ok(_) => {}
                    Err(_) => {
                        up.store(false, Ordering::SeqCst);
                        actix_rt::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        let me = TestClient { client, rx, connected };
        me.until_connected().await;
        me
    }

    async fn until_connected(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.connected.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the test client never connected");
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
        // let the subscriptions reach the broker before anything is published to them
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }

    async fn publish(&self, topic: &str, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .expect("publish queued");
    }

    /// Waits (10 s at most) for a message `check` accepts, skipping others.
    async fn until(&mut self, what: &str, check: impl Fn(&str, &[u8]) -> bool) -> Message {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some((topic, body))) if check(&topic, &body) => return (topic, body),
                Ok(Some(_)) => {}
                _ => panic!("{what}: no such message within 10 s"),
            }
        }
    }
}

/// The test plant without shifts: every hour is planned time, whenever the test runs.
fn plant_text() -> String {
    let start = TEST_PLANT.find("[[shifts]]").expect("shifts");
    let end = TEST_PLANT.find("[[lines]]").expect("lines");
    format!("{}{}", &TEST_PLANT[..start], &TEST_PLANT[end..])
}

async fn app_with(dir: &Path, endpoint: Value, now: i64) -> TestApp {
    let mut ep = json!({"keep_alive": "2s"});
    if let (Some(ep), Some(extra)) = (ep.as_object_mut(), endpoint.as_object()) {
        ep.extend(extra.clone());
    }
    spawn_app(Spawn {
        plant: &plant_text(),
        dir,
        clock: Clock::manual(now),
        simulator: false,
        settings: json!({ "mqtt": {
            "endpoints": [ep], "reconnect_base": "100ms", "reconnect_max": "500ms",
        }}),
    })
    .await
}

fn total(m: &Value) -> i64 {
    m["windows"]["1h"]["total"].as_i64().unwrap_or(-1)
}

/// `ms5_plc_connected` of an endpoint at `up` (each test names its endpoint: the tests of
/// a file share one metrics registry).
fn connected(endpoint: &str, up: u8) -> String {
    format!(r#"ms5_plc_connected{{kind="mqtt",endpoint="{endpoint}"}} {up}"#)
}

// ---- Sparkplug B ----

const NODE: &str = "spBv1.0/G/%/edge1";

fn topic(kind: &str) -> String {
    NODE.replace('%', kind)
}

fn metric(name: Option<&str>, alias: u64, dt: Option<u32>, value: MetricValue) -> Metric {
    Metric {
        name: name.map(str::to_owned),
        alias: Some(alias),
        datatype: dt,
        value: Some(value),
        ..Metric::default()
    }
}

fn payload(seq: Option<u64>, ts: i64, metrics: Vec<Metric>) -> Vec<u8> {
    Payload {
        timestamp: u64::try_from(ts).ok(),
        seq,
        metrics,
        ..Payload::default()
    }
    .to_bytes()
}

fn bd_seq(v: u64) -> Metric {
    Metric {
        name: Some("bdSeq".into()),
        datatype: Some(datatype::INT64),
        value: Some(MetricValue::LongValue(v)),
        ..Metric::default()
    }
}

/// NBIRTH: bdSeq, seq 0, the packer's run bit as alias 1.
fn nbirth(bd: u64, ts: i64) -> Vec<u8> {
    payload(
        Some(0),
        ts,
        vec![
            bd_seq(bd),
            metric(
                Some("Packer/Run"),
                1,
                Some(datatype::BOOLEAN),
                MetricValue::BooleanValue(true),
            ),
        ],
    )
}

/// DBIRTH of the filler: state (Int32) alias 10, total alias 11, reject alias 12 (UInt32).
fn dbirth(seq: u64, ts: i64, total: u32, reject: u32) -> Vec<u8> {
    payload(
        Some(seq),
        ts,
        vec![
            metric(Some("State"), 10, Some(datatype::INT32), MetricValue::IntValue(1)),
            metric(Some("Total"), 11, Some(datatype::UINT32), MetricValue::IntValue(total)),
            metric(
                Some("Reject"),
                12,
                Some(datatype::UINT32),
                MetricValue::IntValue(reject),
            ),
        ],
    )
}

/// DDATA by alias only, as edge nodes send it.
fn ddata(seq: u64, ts: i64, values: &[(u64, u32)]) -> Vec<u8> {
    let metrics = values
        .iter()
        .map(|(alias, v)| metric(None, *alias, None, MetricValue::IntValue(*v)))
        .collect();
    payload(Some(seq), ts, metrics)
}

fn ndeath(bd: u64) -> Vec<u8> {
    Payload {
        metrics: vec![bd_seq(bd)],
        ..Payload::default()
    }
    .to_bytes()
}

fn is_rebirth_request(topic: &str, body: &[u8]) -> bool {
    topic == "spBv1.0/G/NCMD/edge1"
        && Payload::decode_bytes(body).is_some_and(|p| {
            p.metrics
                .iter()
                .any(|m| m.name.as_deref() == Some(REBIRTH) && m.value == Some(MetricValue::BooleanValue(true)))
        })
}

fn sparkplug_endpoint(name: &str, url: &str) -> Value {
    json!({
        "name": name, "url": url,
        "sparkplug": {"host_id": "ms5", "nodes": [
            {"group": "G", "node": "edge1", "metrics": {"Packer/Run": "A.Packer.Run"}},
            {"group": "G", "node": "edge1", "device": "filler",
             "metrics": {"State": "A.Filler.State", "Total": "A.Filler.Total", "Reject": "A.Filler.Reject"}},
        ]},
    })
}

async fn sparkplug_event(app: &TestApp, event: &str) -> Option<String> {
    let needle = format!(r#"ms5_sparkplug_events_total{{endpoint="sparkplug",event="{event}"}} "#);
    metric_line(app, &needle).await.map(|l| l[needle.len()..].to_owned())
}

#[actix_web::test]
async fn sparkplug_births_data_by_alias_rebirths_and_deaths() {
    let Some(bin) = broker_binary() else { return };
    let dir = temp();
    let broker = Broker::start(&bin, dir.path());
    let mut edge = TestClient::connect(broker.port, "edge1", &["spBv1.0/G/NCMD/edge1", "spBv1.0/STATE/ms5"]).await;
    let t = now_ms();
    let app = app_with(dir.path(), sparkplug_endpoint("sparkplug", &broker.url()), t).await;

    // The host says it is online once subscribed (STATE, retained, JSON, Sparkplug 3.0).
    let (_, state) = edge
        .until("STATE online", |topic, body| {
            topic == "spBv1.0/STATE/ms5"
                && serde_json::from_slice::<Value>(body).is_ok_and(|v| v["online"] == json!(true))
        })
        .await;
    let state: Value = serde_json::from_slice(&state).expect("json");
    assert!(state["timestamp"].as_i64().is_some_and(|ts| ts >= t), "{state}");
    until_metric(&app, &connected("sparkplug", 1)).await;

    // Data before any birth: dropped, and the node is asked for a rebirth.
    edge.publish(&topic("NDATA"), payload(Some(1), t, vec![])).await;
    edge.until("rebirth request (data before birth)", is_rebirth_request)
        .await;

    // Births define the aliases; the birth's values count (the counters' baselines).
    edge.publish(&topic("NBIRTH"), nbirth(0, t)).await;
    edge.publish(&format!("{}/filler", topic("DBIRTH")), dbirth(1, t, 0, 0))
        .await;
    until_machine(&app, "a-filler", "filler running", |m| m["state"] == json!("running")).await;
    until_machine(&app, "a-packer", "packer running", |m| m["state"] == json!("running")).await;

    // Data by alias: 0 → 100 parts, 2 of them rejects.
    let filler = format!("{}/filler", topic("DDATA"));
    edge.publish(&filler, ddata(2, t + 500, &[(11, 100), (12, 2)])).await;
    let m = until_machine(&app, "a-filler", "counts flow", |m| total(m) == 100).await;
    assert_eq!(m["windows"]["1h"]["reject"], json!(2), "{m}");
    assert!(m["windows"]["1h"]["oee"].as_f64().is_some(), "OEE defined: {m}");

    // A sequence gap (3 and 4 missing): dropped, rebirth requested on the broker.
    edge.publish(&filler, ddata(5, t + 800, &[(11, 140)])).await;
    edge.until("rebirth request (gap)", is_rebirth_request).await;
    // The edge answers with its births; the counter carries what the gap missed.
    edge.publish(&topic("NBIRTH"), nbirth(0, t + 1_000)).await;
    edge.publish(&format!("{}/filler", topic("DBIRTH")), dbirth(1, t + 1_000, 150, 2))
        .await;
    until_machine(&app, "a-filler", "counts after rebirth", |m| total(m) == 150).await;

    // A death with another bdSeq (an old session's will) changes nothing: the data after
    // it still counts, which it would not on a dead node.
    edge.publish(&topic("NDEATH"), ndeath(7)).await;
    edge.publish(&filler, ddata(2, t + 1_200, &[(11, 160)])).await;
    let m = until_machine(&app, "a-filler", "stale death ignored", |m| total(m) == 160).await;
    assert_eq!(m["state"], json!("running"), "{m}");

    // The node's own death: its machines (node metrics and device) are unknown at once.
    // The manual clock moves 1 s, far below stale_after (30 s).
    edge.publish(&topic("NDEATH"), ndeath(0)).await;
    for id in ["a-filler", "a-packer"] {
        until_machine(&app, id, "unknown at once", |m| m["state"] == json!("unknown")).await;
    }
    app.clock.advance(1_000);
    app.plant.tick().await;
    for id in ["a-filler", "a-packer"] {
        let m = until_machine(&app, id, "unknown", |m| m["state"] == json!("unknown")).await;
        assert_eq!(m["reason"], json!("comms_lost"), "{id}: {m}");
    }
    let counted = [
        ("before_birth", "1"),
        ("seq_gap", "1"),
        ("stale_death", "1"),
        ("ndeath", "1"),
        ("rebirth_request", "2"),
        ("nbirth", "2"),
    ];
    for (event, n) in counted {
        assert_eq!(sparkplug_event(&app, event).await.as_deref(), Some(n), "{event}");
    }
    assert!(
        metric_line(&app, r#"ms5_plc_values_total{kind="mqtt",endpoint="sparkplug"}"#)
            .await
            .is_some(),
        "values counted"
    );
}

#[actix_web::test]
async fn a_device_death_makes_only_its_machines_unknown() {
    let Some(bin) = broker_binary() else { return };
    let dir = temp();
    let broker = Broker::start(&bin, dir.path());
    let mut edge = TestClient::connect(broker.port, "edge1", &["spBv1.0/STATE/ms5"]).await;
    let t = now_ms();
    let app = app_with(dir.path(), sparkplug_endpoint("device", &broker.url()), t).await;
    edge.until("STATE online", |topic, _| topic == "spBv1.0/STATE/ms5")
        .await;
    edge.publish(&topic("NBIRTH"), nbirth(3, t)).await;
    edge.publish(&format!("{}/filler", topic("DBIRTH")), dbirth(1, t, 0, 0))
        .await;
    until_machine(&app, "a-filler", "filler running", |m| m["state"] == json!("running")).await;
    edge.publish(&format!("{}/filler", topic("DDEATH")), payload(Some(2), t, vec![]))
        .await;
    let m = until_machine(&app, "a-filler", "device dead", |m| m["state"] == json!("unknown")).await;
    assert_eq!(m["reason"], json!("comms_lost"), "{m}");
    // the node's own metric keeps its machine: the packer's run bit still flows
    edge.publish(
        &topic("NDATA"),
        payload(
            Some(3),
            t + 100,
            vec![metric(None, 1, None, MetricValue::BooleanValue(false))],
        ),
    )
    .await;
    until_machine(&app, "a-packer", "packer stopped by data", |m| {
        m["state"] != json!("running")
    })
    .await;
    let packer = app.get("/api/v1/machines/a-packer").await.1;
    assert_ne!(packer["state"], json!("unknown"), "{packer}");
}

#[actix_web::test]
async fn after_a_broker_restart_the_host_is_online_again_and_asks_its_nodes_for_births() {
    let Some(bin) = broker_binary() else { return };
    let dir = temp();
    let mut broker = Broker::start(&bin, dir.path());
    let mut edge = TestClient::connect(broker.port, "edge1", &["spBv1.0/G/NCMD/edge1", "spBv1.0/STATE/ms5"]).await;
    let t = now_ms();
    let app = app_with(dir.path(), sparkplug_endpoint("restart", &broker.url()), t).await;
    edge.until("STATE online", |topic, _| topic == "spBv1.0/STATE/ms5")
        .await;
    edge.publish(&topic("NBIRTH"), nbirth(0, t)).await;
    edge.publish(&format!("{}/filler", topic("DBIRTH")), dbirth(1, t, 0, 0))
        .await;
    until_machine(&app, "a-filler", "filler running", |m| m["state"] == json!("running")).await;

    // The broker goes away: the machines are unknown at once (the clock has not moved).
    broker.stop();
    until_metric(&app, &connected("restart", 0)).await;
    for id in ["a-filler", "a-packer"] {
        let m = until_machine(&app, id, "unknown", |m| m["state"] == json!("unknown")).await;
        assert_eq!(m["reason"], json!("comms_lost"), "{id}: {m}");
    }

    // It comes back (empty: no retained STATE survives): MS5 subscribes again and says it
    // is online again; the node's data needs a birth first, so it is asked for one.
    broker.restart();
    edge.until_connected().await;
    edge.until("STATE online again", |topic, body| {
        topic == "spBv1.0/STATE/ms5" && serde_json::from_slice::<Value>(body).is_ok_and(|v| v["online"] == json!(true))
    })
    .await;
    until_metric(&app, &connected("restart", 1)).await;
    edge.publish(&topic("NDATA"), payload(Some(3), t + 5_000, vec![])).await;
    edge.until("rebirth request after the restart", is_rebirth_request)
        .await;
    edge.publish(&topic("NBIRTH"), nbirth(1, t + 5_000)).await;
    edge.publish(&format!("{}/filler", topic("DBIRTH")), dbirth(1, t + 5_000, 5, 0))
        .await;
    let m = until_machine(&app, "a-filler", "data flows again", |m| {
        m["state"] == json!("running") && total(m) == 5
    })
    .await;
    assert_eq!(m["reason"], Value::Null, "{m}");
}

#[actix_web::test]
async fn the_hosts_will_says_offline_with_the_timestamp_of_its_birth() {
    let Some(bin) = broker_binary() else { return };
    let dir = temp();
    let broker = Broker::start(&bin, dir.path());
    let mut watcher = TestClient::connect(broker.port, "watcher", &["spBv1.0/STATE/ms5"]).await;
    let app = app_with(dir.path(), sparkplug_endpoint("will", &broker.url()), now_ms()).await;
    let read = |body: &[u8]| serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let (_, birth) = watcher
        .until("STATE online", |topic, _| topic == "spBv1.0/STATE/ms5")
        .await;
    let birth = read(&birth);
    assert_eq!(birth["online"], json!(true), "{birth}");
    // Another client takes MS5's client id: the broker drops MS5 without a DISCONNECT and
    // publishes its will.
    let mut imposter = rumqttc::EventLoop::new(MqttOptions::new("ms5-will", "127.0.0.1", broker.port), 8);
    loop {
        match imposter.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => break,
            Ok(_) => {}
            Err(e) => panic!("imposter: {e}"),
        }
    }
    let (_, will) = watcher
        .until("STATE offline", |topic, body| {
            topic == "spBv1.0/STATE/ms5" && read(body)["online"] == json!(false)
        })
        .await;
    assert_eq!(
        read(&will)["timestamp"],
        birth["timestamp"],
        "will and birth of one connection"
    );
    drop(imposter);
    // MS5 connects again and is online with a new timestamp.
    let (_, again) = watcher
        .until("STATE online again", |topic, body| {
            topic == "spBv1.0/STATE/ms5" && read(body)["online"] == json!(true)
        })
        .await;
    assert!(
        read(&again)["timestamp"].as_i64() >= birth["timestamp"].as_i64(),
        "{}",
        read(&again)
    );
    until_metric(&app, &connected("will", 1)).await;
}

// ---- plain topics ----

#[actix_web::test]
async fn plain_json_topics_count_through_to_oee_and_survive_the_broker_going_away() {
    let Some(bin) = broker_binary() else { return };
    let dir = temp();
    let mut broker = Broker::start(&bin, dir.path());
    let publisher = TestClient::connect(broker.port, "line-a-gateway", &[]).await;
    let t = now_ms();
    let endpoint = json!({
        "name": "plain", "url": broker.url(),
        "topics": [
            {"topic": "plant/+/filler", "timestamp": "/ts",
             "values": {"/state": "{1}.Filler.State", "/count/total": "{1}.Filler.Total", "/count/reject": "{1}.Filler.Reject"}},
            {"topic": "plant/A/packer/run", "tag": "A.Packer.Run"},
        ],
    });
    let app = app_with(dir.path(), endpoint, t).await;
    until_metric(&app, &connected("plain", 1)).await;
    let filler = |total: i64, reject: i64, ts: i64| {
        json!({"state": 1, "count": {"total": total, "reject": reject}, "ts": ts})
            .to_string()
            .into_bytes()
    };
    // Published until seen: MS5's subscription may reach the broker just after its
    // connection does.
    let publish_until = |topic: &'static str, body: Vec<u8>, what: &'static str, check: fn(&Value) -> bool| {
        let (publisher, app) = (&publisher, &app);
        async move {
            for _ in 0..50 {
                publisher.publish(topic, body.clone()).await;
                for _ in 0..10 {
                    let m = app.get("/api/v1/machines/a-filler").await.1;
                    if check(&m) {
                        return m;
                    }
                    actix_rt::time::sleep(Duration::from_millis(20)).await;
                }
            }
            panic!("{what}: never seen");
        }
    };
    publish_until("plant/A/filler", filler(0, 0, t), "baseline", |m| {
        m["state"] == json!("running")
    })
    .await;
    publisher.publish("plant/A/filler", filler(100, 2, t + 500)).await;
    let m = until_machine(&app, "a-filler", "counts flow", |m| total(m) == 100).await;
    assert_eq!(m["windows"]["1h"]["reject"], json!(2), "{m}");
    assert!(m["windows"]["1h"]["oee"].as_f64().is_some(), "OEE defined: {m}");
    // A scalar payload: the packer's run bit.
    publisher.publish("plant/A/packer/run", b"true".to_vec()).await;
    until_machine(&app, "a-packer", "packer running", |m| m["state"] == json!("running")).await;
    // A payload without the value: counted against the tag, the others still flow.
    publisher
        .publish(
            "plant/A/filler",
            json!({"state": 1, "count": {"total": 110}, "ts": t + 700})
                .to_string()
                .into_bytes(),
        )
        .await;
    until_machine(&app, "a-filler", "partial payload", |m| total(m) == 110).await;
    until_metric(
        &app,
        r#"ms5_plc_tag_error{kind="mqtt",endpoint="plain",tag="A.Filler.Reject"} 1"#,
    )
    .await;

    // The broker goes away: every machine of the endpoint is unknown at once.
    broker.stop();
    until_metric(&app, &connected("plain", 0)).await;
    app.clock.advance(1_000);
    app.plant.tick().await;
    for id in ["a-filler", "a-packer"] {
        let m = until_machine(&app, id, "unknown", |m| m["state"] == json!("unknown")).await;
        assert_eq!(m["reason"], json!("comms_lost"), "{id}: {m}");
    }

    // It comes back on the same port: MS5 reconnects, subscribes again (a clean session
    // keeps none) and data flows, with no restart of MS5.
    broker.restart();
    publisher.until_connected().await;
    until_metric(&app, &connected("plain", 1)).await;
    let later = t + 10_000;
    let back = publish_until("plant/A/filler", filler(120, 2, later), "resumed", |m| {
        m["state"] == json!("running") && total(m) == 120
    })
    .await;
    assert_eq!(back["reason"], Value::Null, "{back}");
    // What was published is what the stored history counts: 120 parts, 2 rejects.
    let (from, to) = (rfc3339(t - 60_000), rfc3339(later + 60_000));
    let mut oee = Value::Null;
    for _ in 0..250 {
        oee = app
            .get(&format!("/api/v1/machines/a-filler/oee?from={from}&to={to}"))
            .await
            .1["oee"]
            .clone();
        if oee["total"] == json!(120) {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        (oee["total"].clone(), oee["reject"].clone()),
        (json!(120), json!(2)),
        "{oee}"
    );
    let reconnects = metric_line(&app, r#"ms5_plc_reconnects_total{kind="mqtt",endpoint="plain"}"#).await;
    assert!(reconnects.is_some_and(|l| !l.ends_with(" 0")), "reconnects counted");
}

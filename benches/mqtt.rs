//! MQTT tag updates per second through the MQTT source into the pipeline: a mosquitto broker
//! on a loopback port, a publisher in this process, and MS5's MQTT source subscribed, for a
//! 100-machine plant (300 tags: state, total and reject per machine). Two runs:
//! Sparkplug B DDATA by alias (one message per machine and round, two metrics each), and
//! plain JSON topics (one message per machine and round, two values each). The clock stops
//! when every machine actor has counted every part.
//!
//! `cargo bench --bench mqtt` (needs Debian's `mosquitto`; `MS5_MOSQUITTO` names it).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

use ms5::actors::plant::PlantHandle;
use ms5::clock::Clock;
use ms5::config::{MqttEndpoint, MqttSettings, parse_plant};
use ms5::domain::plant::PlantModel;
use ms5::plc::mqtt::MqttSource;
use ms5::plc::mqtt::sparkplug::payload::{Metric, MetricValue, Payload, datatype};
use ms5::plc::{TagSink, TagSource};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

const MACHINES: usize = 100;
const ROUNDS: u32 = 200;

fn plant() -> Arc<PlantModel> {
    let mut text = String::from("timezone = \"UTC\"\n[[lines]]\nid = \"bench\"\nname = \"Bench\"\n");
    for i in 0..MACHINES {
        text.push_str(&format!(
            "[[lines.machines]]\nid = \"m{i}\"\nname = \"M{i}\"\nideal_cycle_time = \"1s\"\n\
             tags = {{ state = {{ tag = \"M{i}.State\" }}, total = {{ tag = \"M{i}.Total\", width = 32 }}, reject = {{ tag = \"M{i}.Reject\", width = 32 }} }}\n"
        ));
    }
    Arc::new(parse_plant(&text, "bench plant").unwrap_or_else(|e| panic!("plant: {e}")))
}

fn mosquitto() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MS5_MOSQUITTO") {
        return Some(p.into());
    }
    ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_broker(bin: &PathBuf, dir: &std::path::Path) -> (Broker, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("port: {e}"));
    let conf = dir.join("mosquitto.conf");
    // no queue limits: the benchmark must not lose messages to the broker's defaults
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n"),
    )
    .unwrap_or_else(|e| panic!("conf: {e}"));
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("mosquitto: {e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "mosquitto not listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    (Broker(child), port)
}

async fn counted(handle: &PlantHandle, plant: &PlantModel) -> i64 {
    let mut sum = 0;
    for m in &plant.machines {
        if let Some(s) = handle.machine(&m.id).await {
            sum += s.windows["today"].total;
        }
    }
    sum
}

/// Waits until the machines have counted `want` parts; the time it took from `started`.
async fn until_counted(handle: &PlantHandle, plant: &PlantModel, want: i64, started: Instant) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n = counted(handle, plant).await;
        if n >= want {
            return started.elapsed();
        }
        assert!(Instant::now() < deadline, "counted {n} of {want}");
        actix_rt::time::sleep(Duration::from_millis(2)).await;
    }
}

fn publisher(port: u16, id: &str) -> AsyncClient {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30)).set_inflight(1000);
    let (client, mut events) = AsyncClient::new(options, 10_000);
    actix_rt::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::Disconnect)) | Err(_) => {
                    actix_rt::time::sleep(Duration::from_millis(50)).await
                }
                Ok(_) => {}
            }
        }
    });
    client
}

fn ddata(seq: u64, ts: u64, total: u32) -> Vec<u8> {
    let metric = |alias, v| Metric {
        alias: Some(alias),
        value: Some(MetricValue::IntValue(v)),
        ..Metric::default()
    };
    Payload {
        timestamp: Some(ts),
        seq: Some(seq % 256),
        metrics: vec![metric(2, total), metric(3, 0)],
        ..Payload::default()
    }
    .to_bytes()
}

fn dbirth(seq: u64, ts: u64) -> Vec<u8> {
    let metric = |name: &str, alias, v| Metric {
        name: Some(name.to_owned()),
        alias: Some(alias),
        datatype: Some(datatype::UINT32),
        value: Some(MetricValue::IntValue(v)),
        ..Metric::default()
    };
    Payload {
        timestamp: Some(ts),
        seq: Some(seq % 256),
        metrics: vec![metric("State", 1, 1), metric("Total", 2, 0), metric("Reject", 3, 0)],
        ..Payload::default()
    }
    .to_bytes()
}

fn main() {
    let Some(bin) = mosquitto() else {
        eprintln!("mqtt bench skipped: mosquitto is not installed (apt-get install mosquitto)");
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (_broker, port) = start_broker(&bin, dir.path());
    let plant = plant();
    let system = actix_rt::System::new();
    system.block_on(async {
        let handle = support::start_plant(&plant, dir.path()).await;
        let nodes: Vec<serde_json::Value> = (0..MACHINES)
            .map(|i| {
                serde_json::json!({"group": "B", "node": "edge", "device": format!("m{i}"), "metrics": {
                    "State": format!("M{i}.State"), "Total": format!("M{i}.Total"), "Reject": format!("M{i}.Reject")}})
            })
            .collect();
        let endpoint: MqttEndpoint = serde_json::from_value(serde_json::json!({
            "name": "bench", "url": format!("mqtt://127.0.0.1:{port}"),
            "topics": [{"topic": "bench/+", "values": {"/total": "{1}.Total", "/reject": "{1}.Reject", "/state": "{1}.State"}}],
            "sparkplug": {"host_id": "ms5", "nodes": nodes},
        }))
        .unwrap_or_else(|e| panic!("endpoint: {e}"));
        Box::new(MqttSource::new(
            vec![endpoint],
            MqttSettings::default().reconnect(),
            plant.clone(),
            Clock::System,
        ))
        .start(TagSink::new(handle.clone(), "mqtt"));
        let client = publisher(port, "bench-edge");
        // MS5 subscribed once its STATE is there; give it a moment, then births.
        actix_rt::time::sleep(Duration::from_millis(1_000)).await;
        let mut ts = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        let nbirth = Payload {
            timestamp: Some(ts),
            seq: Some(0),
            metrics: vec![Metric {
                name: Some("bdSeq".into()),
                datatype: Some(datatype::INT64),
                value: Some(MetricValue::LongValue(0)),
                ..Metric::default()
            }],
            ..Payload::default()
        };
        let publish = |topic: String, body: Vec<u8>| {
            let client = client.clone();
            async move {
                client
                    .publish(topic, QoS::AtLeastOnce, false, body)
                    .await
                    .unwrap_or_else(|e| panic!("publish: {e}"));
            }
        };
        publish("spBv1.0/B/NBIRTH/edge".into(), nbirth.to_bytes()).await;
        let mut seq = 0u64;
        for i in 0..MACHINES {
            seq += 1;
            publish(format!("spBv1.0/B/DBIRTH/edge/m{i}"), dbirth(seq, ts)).await;
        }
        actix_rt::time::sleep(Duration::from_millis(1_000)).await;

        // Sparkplug: every round, one DDATA per machine: total + 1, reject 0.
        let before = counted(&handle, &plant).await;
        let started = Instant::now();
        for round in 1..=ROUNDS {
            ts += 1;
            for i in 0..MACHINES {
                seq += 1;
                publish(format!("spBv1.0/B/DDATA/edge/m{i}"), ddata(seq, ts, round)).await;
            }
        }
        let took = until_counted(&handle, &plant, before + i64::from(ROUNDS) * MACHINES as i64, started).await;
        let messages = f64::from(ROUNDS) * MACHINES as f64;
        println!(
            "mqtt/sparkplug_ddata: {messages:.0} DDATA messages ({:.0} metrics) in {:.3} s = {:.0} messages/s, {:.0} tag updates/s",
            messages * 2.0,
            took.as_secs_f64(),
            messages / took.as_secs_f64(),
            messages * 2.0 / took.as_secs_f64()
        );

        // Plain JSON: every round, one message per machine: total + 1, reject 0.
        let before = counted(&handle, &plant).await;
        let base = ROUNDS;
        let started = Instant::now();
        for round in 1..=ROUNDS {
            for i in 0..MACHINES {
                let body = serde_json::json!({"total": base + round, "reject": 0}).to_string();
                publish(format!("bench/M{i}"), body.into_bytes()).await;
            }
        }
        let took = until_counted(&handle, &plant, before + i64::from(ROUNDS) * MACHINES as i64, started).await;
        println!(
            "mqtt/plain_json: {messages:.0} JSON messages ({:.0} values) in {:.3} s = {:.0} messages/s, {:.0} tag updates/s",
            messages * 2.0,
            took.as_secs_f64(),
            messages / took.as_secs_f64(),
            messages * 2.0 / took.as_secs_f64()
        );
        std::mem::forget(handle);
    });
}

//! Tag updates per second through the Modbus source into the pipeline: 75 machines (300
//! tags: a state code, a good and a reject counter, a fault code each) served by `ms5
//! simulate`'s in-process tokio-modbus server, polled every millisecond. Every millisecond
//! the bench moves all 150 counters on (states and fault codes stay: the machines keep
//! running), so every poll delivers every counter; it stops after a fixed time and reports
//! what the source delivered and what the machines counted.
//!
//! `cargo bench --bench modbus` (a small harness, not criterion: the rate is set by whole
//! poll cycles, so one long run says more than many short samples).

use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

use ms5::clock::Clock;
use ms5::config::{ModbusEndpoint, ModbusServerSettings, ModbusSettings, parse_plant};
use ms5::domain::plant::PlantModel;
use ms5::domain::tag::{Quality, TagUpdate, TagValue};
use ms5::plc::modbus::ModbusSource;
use ms5::plc::modbus::server::{ModbusServer, register_map};
use ms5::plc::{TagSink, TagSource};

const MACHINES: usize = 75;
const RUN: Duration = Duration::from_secs(10);

/// One line of `MACHINES` machines with four tags each.
fn plant() -> PlantModel {
    let mut text = String::from("timezone = \"UTC\"\n\n[[lines]]\nid = \"bench\"\nname = \"Bench\"\n");
    for n in 0..MACHINES {
        text.push_str(&format!(
            "\n[[lines.machines]]\nid = \"m{n}\"\nname = \"M{n}\"\nideal_cycle_time = \"1s\"\n\
             tags = {{ state = {{ tag = \"M{n}.State\" }}, good = {{ tag = \"M{n}.Good\", width = 32 }}, \
             reject = {{ tag = \"M{n}.Reject\", width = 32 }}, fault_code = \"M{n}.Fault\" }}\n"
        ));
    }
    parse_plant(&text, "bench plant").unwrap_or_else(|e| panic!("{e}"))
}

/// Round `n`: every state running (1), every fault code 0, every counter at `n`.
fn round(tags: &[String], n: i64) -> Vec<TagUpdate> {
    tags.iter()
        .map(|tag| {
            let value = if tag.ends_with(".State") {
                1
            } else if tag.ends_with(".Fault") {
                0
            } else {
                n
            };
            TagUpdate {
                tag: tag.clone(),
                value: TagValue::Int(value),
                ts: 0,
                quality: Quality::Good,
            }
        })
        .collect()
}

fn main() {
    let plant = Arc::new(plant());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let system = actix_rt::System::new();
    system.block_on(async {
        let settings = ModbusServerSettings {
            enabled: true,
            port: 0,
            ..ModbusServerSettings::default()
        };
        let server = ModbusServer::start(&plant, &settings)
            .await
            .unwrap_or_else(|e| panic!("server: {e}"));
        let handle = support::start_plant(&plant, dir.path()).await;
        let tags: serde_json::Map<String, serde_json::Value> = register_map(&plant)
            .into_iter()
            .map(|(tag, slot)| (tag, slot.address_text().into()))
            .collect();
        let endpoint: ModbusEndpoint = serde_json::from_value(serde_json::json!({
            "name": "bench", "address": server.address(), "poll_interval": "1ms", "timeout": "1s",
            "max_gap": 10, "tags": tags,
        }))
        .unwrap_or_else(|e| panic!("endpoint: {e}"));
        Box::new(ModbusSource::new(
            vec![endpoint],
            ModbusSettings::default().reconnect(),
            plant.clone(),
            Clock::System,
        ))
        .start(TagSink::new(handle.clone(), "modbus"));
        let metrics = ms5::metrics::install();
        let delivered = || -> f64 {
            metrics
                .render()
                .lines()
                .find(|l| l.starts_with("ms5_plc_values_total{kind=\"modbus\",endpoint=\"bench\"}"))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        // wait for the first poll
        let deadline = Instant::now() + Duration::from_secs(30);
        while delivered() == 0.0 {
            assert!(Instant::now() < deadline, "no Modbus data within 30 s");
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
        let names: Vec<String> = register_map(&plant).into_iter().map(|(tag, _)| tag).collect();
        let (before, started) = (delivered(), Instant::now());
        let mut n = 0i64;
        let mut every = actix_rt::time::interval(Duration::from_millis(1));
        while started.elapsed() < RUN {
            every.tick().await;
            n += 1;
            server.write(&round(&names, n));
        }
        let seconds = started.elapsed().as_secs_f64();
        let values = delivered() - before;
        let mut counted = 0;
        for m in &plant.machines {
            if let Some(s) = handle.machine(&m.id).await {
                counted += s.windows["today"].total;
            }
        }
        println!(
            "modbus: {} tags, {n} rounds of counter changes written in {seconds:.1} s; {values:.0} tag updates \
             delivered into the pipeline = {:.0} updates/s (≈ {:.0} polls/s of 150 changed counters); the machines \
             counted {counted} parts",
            plant.tags.len(),
            values / seconds,
            values / seconds / 150.0,
        );
        std::mem::forget(handle);
        std::mem::forget(server);
    });
}

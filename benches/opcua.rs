//! OPC UA notifications per second through the OPC UA source into the pipeline: an
//! in-process OPC UA server (the `ms5 simulate` one) changes every counter of the shipped
//! plant; the clock stops when every machine actor has counted every change.

use std::time::{Duration, Instant};

mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ms5::actors::plant::PlantHandle;
use ms5::clock::Clock;
use ms5::config::{OpcUaEndpoint, OpcUaServerSettings, OpcUaSettings};
use ms5::domain::plant::{PlantModel, SignalKind};
use ms5::domain::tag::{Quality, TagUpdate, TagValue};
use ms5::plc::opcua::OpcUaSource;
use ms5::plc::opcua_server::PlcServer;
use ms5::plc::{TagSink, TagSource};

/// Rounds of changes per iteration (each round changes every counter once).
const ROUNDS: usize = 100;

/// Every counter tag with the modulus its PLC counter wraps at.
fn counters(plant: &PlantModel) -> Vec<(String, i64)> {
    plant
        .machines
        .iter()
        .flat_map(|m| m.signals.iter())
        .filter_map(|s| match &s.kind {
            SignalKind::Counter(c) => Some((s.tag.clone(), c.width.max().map_or(i64::MAX, |m| m as i64 + 1))),
            _ => None,
        })
        .collect()
}

/// Every counter set to `round` at `ts` (16-bit counters roll over, as on a PLC).
fn round_of(tags: &[(String, i64)], round: i64, ts: i64) -> Vec<TagUpdate> {
    tags.iter()
        .map(|(tag, modulus)| TagUpdate {
            tag: tag.clone(),
            value: TagValue::Int(round % modulus),
            ts,
            quality: Quality::Good,
        })
        .collect()
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

fn opcua(c: &mut Criterion) {
    let plant = support::shipped_plant();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let system = actix_rt::System::new();
    let tags = counters(&plant);
    let (server, handle) = system.block_on(async {
        let server_settings = OpcUaServerSettings {
            port: 0,
            pki_dir: dir.path().join("pki-server"),
            ..OpcUaServerSettings::default()
        };
        let server = PlcServer::start(&plant, &server_settings)
            .await
            .unwrap_or_else(|e| panic!("server: {e}"));
        let handle = support::start_plant(&plant, dir.path()).await;
        let endpoint: OpcUaEndpoint = serde_json::from_value(serde_json::json!({
            "name": "bench", "url": server.url(), "pki_dir": dir.path().join("pki-client"), "trust_server_certs": true,
            "publishing_interval": "20ms", "sampling_interval": "0ms", "queue_size": 10_000,
        }))
        .unwrap_or_else(|e| panic!("endpoint: {e}"));
        let reconnect = OpcUaSettings::default().reconnect();
        Box::new(OpcUaSource::new(
            vec![endpoint],
            reconnect,
            plant.clone(),
            Clock::System,
        ))
        .start(TagSink::new(handle.clone(), "opcua"));
        (server, handle)
    });
    let mut round = 0i64;
    let mut ts = chrono::Utc::now().timestamp_millis();
    // prime: every counter at 0 is its baseline; wait until the subscription delivers
    system.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            ts += 1;
            round += 1;
            server.write(&round_of(&tags, round, ts));
            actix_rt::time::sleep(Duration::from_millis(200)).await;
            if counted(&handle, &plant).await > 0 {
                break;
            }
            assert!(Instant::now() < deadline, "no OPC UA data within 30 s");
        }
    });
    let metrics = ms5::metrics::install();
    let delivered = || -> f64 {
        metrics
            .render()
            .lines()
            .find(|l| l.starts_with("ms5_plc_values_total{kind=\"opcua\",endpoint=\"bench\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let (notified_before, bench_started) = (delivered(), Instant::now());
    let mut g = c.benchmark_group("opcua");
    g.throughput(Throughput::Elements((ROUNDS * tags.len()) as u64));
    g.sample_size(10);
    g.bench_function("notifications_into_pipeline", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let before = counted(&handle, &plant).await;
                let started = Instant::now();
                let mut expected = 0i64;
                for _ in 0..iters {
                    for _ in 0..ROUNDS {
                        ts += 1;
                        round += 1;
                        server.write(&round_of(&tags, round, ts));
                        // Each round makes 15 parts in the shipped plant (good+reject counters
                        // make 2 per machine, the packer's total+reject 1).
                        expected += 15;
                    }
                    actix_rt::task::yield_now().await;
                }
                // After a burst, the in-memory OPC UA server may hold the newest change of an
                // item back until that item changes again; counters are cumulative, so the
                // next change carries it and nothing is lost. Wait for all but that last round.
                expected -= 15;
                let deadline = Instant::now() + Duration::from_secs(120);
                loop {
                    let now_counted = counted(&handle, &plant).await;
                    if now_counted >= before + expected {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "notifications lost: counted {} of {expected} (round {round}, iters {iters})",
                        now_counted - before
                    );
                    actix_rt::time::sleep(Duration::from_millis(2)).await;
                }
                started.elapsed()
            })
        });
    });
    g.finish();
    // What actually crossed the wire, over the whole run (warm-up and analysis included).
    let seconds = bench_started.elapsed().as_secs_f64();
    let notified = delivered() - notified_before;
    println!(
        "opcua: {notified:.0} notifications delivered into the pipeline in {seconds:.1} s = {:.0} notifications/s",
        notified / seconds
    );
    std::mem::forget(handle);
    std::mem::forget(server);
    std::mem::forget(system);
}

criterion_group!(benches, opcua);
criterion_main!(benches);

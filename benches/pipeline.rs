//! The in-process pipeline: tag updates → router → machine actors → line actors → hub,
//! with the telemetry writer batching to SQLite, measured in tag updates per second.
//!
//! Each iteration delivers one batch of updates for every machine of the shipped plant
//! (8 machines) and waits until every machine actor has applied it.

use std::time::Instant;

mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ms5::domain::plant::{PlantModel, SignalKind};
use ms5::domain::tag::{Quality, TagUpdate, TagValue};

const UPDATES_PER_BATCH: usize = 10_000;

/// A batch of counter updates (and a state per machine) with timestamps after `ts`.
fn batch(plant: &PlantModel, ts: &mut i64, count: &mut i64) -> Vec<TagUpdate> {
    let counters: Vec<&str> = plant
        .machines
        .iter()
        .flat_map(|m| m.signals.iter())
        .filter(|s| matches!(s.kind, SignalKind::Counter(_)))
        .map(|s| s.tag.as_str())
        .collect();
    let mut out = Vec::with_capacity(UPDATES_PER_BATCH);
    while out.len() < UPDATES_PER_BATCH {
        *ts += 100;
        *count += 1;
        for tag in &counters {
            out.push(TagUpdate {
                tag: (*tag).to_owned(),
                value: TagValue::Int(*count % 60_000),
                ts: *ts,
                quality: Quality::Good,
            });
        }
    }
    out
}

fn pipeline(c: &mut Criterion) {
    let plant = support::shipped_plant();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let system = actix_rt::System::new();
    let handle = system.block_on(async {
        let handle = support::start_plant(&plant, dir.path()).await;
        // every machine running
        let now = chrono::Utc::now().timestamp_millis();
        let states: Vec<TagUpdate> = plant
            .machines
            .iter()
            .flat_map(|m| m.signals.iter())
            .filter_map(|s| match s.kind {
                SignalKind::StateCode(_) => Some((s.tag.clone(), TagValue::Int(1))),
                SignalKind::RunningBit => Some((s.tag.clone(), TagValue::Bool(true))),
                _ => None,
            })
            .map(|(tag, value)| TagUpdate {
                tag,
                value,
                ts: now,
                quality: Quality::Good,
            })
            .collect();
        handle.deliver("bench", states);
        handle
    });
    let mut ts = chrono::Utc::now().timestamp_millis();
    let mut count = 0i64;
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(UPDATES_PER_BATCH as u64));
    g.sample_size(30);
    g.bench_function("router_machines_lines_hub", |b| {
        b.iter_custom(|iters| {
            let batches: Vec<_> = (0..iters).map(|_| batch(&plant, &mut ts, &mut count)).collect();
            system.block_on(async {
                let started = Instant::now();
                for updates in batches {
                    handle.deliver("bench", updates);
                }
                // every machine has applied everything delivered before this answer
                handle.tick().await;
                started.elapsed()
            })
        });
    });
    g.finish();
    // The pool's connections must not be dropped after the runtime is gone.
    std::mem::forget(handle);
    std::mem::forget(system);
}

criterion_group!(benches, pipeline);
criterion_main!(benches);

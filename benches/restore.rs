//! Start → ready for 200 machines (20 lines × 10) with a full 8 h shift stored: the store
//! opened and migrated, the flags read, every line and machine actor started with its
//! windows rebuilt from the store, the job board's first pass, and then what `/ready`
//! asks (the store answers, every actor answers). Before timing, the restored windows are
//! held against what was stored, so a fast restore that lost rows cannot pass.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ms5::actors::job_board::{self, JobBoard};
use ms5::actors::plant::{PlantHandle, PlantOptions};
use ms5::clock::Clock;
use ms5::config::{FlagSettings, PagerSettings};
use ms5::domain::plant::PlantModel;
use ms5::flags::FeatureFlags;
use ms5::store::Store;
use support::shift::{
    MIN, PARTS_PER_MINUTE, REJECTS_PER_MINUTE, SHIFT_END, SHIFT_MINUTES, STOPS, plant_200, store_url, stored_shift,
};

/// An hour after the shift: the `today` window covers the whole stored shift.
const NOW: i64 = SHIFT_END + 60 * MIN;

/// Opens the store and starts the plant the way `Application::build` does, up to ready.
async fn start_to_ready(plant: &Arc<PlantModel>, url: &str) -> PlantHandle {
    let store = Store::connect(url).await.unwrap_or_else(|e| panic!("store: {e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("migrate: {e}"));
    let changes = store.flag_changes().await.unwrap_or_else(|e| panic!("flags: {e}"));
    let flags = Arc::new(FeatureFlags::new(&FlagSettings::default(), &changes));
    let clock = Clock::manual(NOW);
    let options = PlantOptions {
        replica: None,
        bus: None,
        coalesce: Duration::from_millis(100),
        raw_samples: true,
        batch_max: 5_000,
        backlog_max: 600_000,
        flush_interval: Duration::from_millis(500),
        pager: PagerSettings::default(),
        flags,
    };
    let handle = PlantHandle::start(plant.clone(), store.clone(), options, clock.clone())
        .await
        .unwrap_or_else(|e| panic!("plant: {e}"));
    let jobs = JobBoard::new(store.clone(), handle.clone(), clock);
    job_board::start(jobs, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("job board: {e}"));
    store.ping().await.unwrap_or_else(|e| panic!("ping: {e}"));
    assert!(handle.actors_up().await, "every actor answers");
    handle
}

/// Every machine's and line's `today` window holds the stored shift: its parts, its
/// rejects, the 12 min stop as downtime and the 1 min one as a micro-stop.
async fn check_nothing_lost(plant: &PlantModel, handle: &PlantHandle) {
    let parts = SHIFT_MINUTES * PARTS_PER_MINUTE;
    let rejects = SHIFT_MINUTES * REJECTS_PER_MINUTE;
    let down_s: f64 = STOPS.iter().filter(|s| !s.3).map(|s| (s.1 - s.0) as f64 * 60.0).sum();
    let micro_s: f64 = STOPS.iter().filter(|s| s.3).map(|s| (s.1 - s.0) as f64 * 60.0).sum();
    for m in &plant.machines {
        let snap = handle
            .machine(&m.id)
            .await
            .unwrap_or_else(|| panic!("machine {} answers", m.id));
        let today = &snap.windows["today"];
        assert_eq!(
            (today.total, today.good, today.reject),
            (parts, parts - rejects, rejects),
            "{}",
            m.id
        );
        assert_eq!((today.down_s, today.micro_stop_s), (down_s, micro_s), "{}", m.id);
    }
    let lines = handle.lines().await;
    assert_eq!(lines.len(), plant.lines.len());
    for line in lines {
        // A line counts its output machine's parts.
        assert_eq!(line.windows["today"].good, parts - rejects, "{}", line.id);
    }
}

fn restore(c: &mut Criterion) {
    ms5::metrics::install();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let plant = plant_200();
    let url = store_url(dir.path());
    {
        let system = actix_rt::System::new();
        system.block_on(async {
            drop(stored_shift(&plant, dir.path()).await);
            let handle = start_to_ready(&plant, &url).await;
            check_nothing_lost(&plant, &handle).await;
        });
    }
    let mut g = c.benchmark_group("restore");
    g.sample_size(10);
    g.bench_function("start_to_ready_200_machines", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                // A fresh runtime per start, dropped after it, so no actor of an earlier
                // start keeps running beside the next one.
                let system = actix_rt::System::new();
                took += system.block_on(async {
                    let t = Instant::now();
                    let handle = start_to_ready(&plant, &url).await;
                    let took = t.elapsed();
                    drop(handle);
                    took
                });
            }
            took
        });
    });
    g.finish();
}

criterion_group!(benches, restore);
criterion_main!(benches);

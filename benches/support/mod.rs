//! What the benchmarks share: the shipped plant model, and its actors started on a
//! temporary SQLite store the way `serve` starts them (raw samples off); a 200-machine
//! plant with a stored shift in [`shift`].
#![allow(dead_code)]

pub mod shift;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ms5::actors::plant::{PlantHandle, PlantOptions};
use ms5::clock::Clock;
use ms5::config::{PagerSettings, parse_plant};
use ms5::domain::plant::PlantModel;
use ms5::store::Store;

/// The shipped plant model (config/plant.toml).
pub fn shipped_plant() -> Arc<PlantModel> {
    match parse_plant(include_str!("../../config/plant.toml"), "plant.toml") {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("shipped plant model invalid: {e}"),
    }
}

/// Starts the plant's actors on a fresh SQLite store in `dir`.
pub async fn start_plant(plant: &Arc<PlantModel>, dir: &Path) -> PlantHandle {
    ms5::metrics::install();
    let store = Store::connect(&format!("sqlite://{}/bench.db", dir.display()))
        .await
        .unwrap_or_else(|e| panic!("store: {e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("migrate: {e}"));
    let options = PlantOptions {
        replica: None,
        bus: None,
        coalesce: Duration::from_millis(100),
        raw_samples: false,
        batch_max: 5_000,
        backlog_max: 600_000,
        flush_interval: Duration::from_millis(500),
        pager: PagerSettings::default(),
        flags: std::sync::Arc::new(ms5::flags::FeatureFlags::defaults()),
    };
    PlantHandle::start(plant.clone(), store, options, Clock::System)
        .await
        .unwrap_or_else(|e| panic!("plant: {e}"))
}

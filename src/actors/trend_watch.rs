//! Trend warnings on machine snapshots: every `analytics.trend_refresh` each machine is
//! judged from the store (its failures and operating time, by `domain::production::trend`)
//! and the result handed to its actor, which pushes it like any other change. Nothing of
//! this runs on the tag path.

use std::sync::Arc;
use std::time::Duration;

use super::plant::PlantHandle;
use crate::clock::Clock;
use crate::domain::EpochMs;
use crate::domain::flags::Flag;
use crate::domain::plant::{MachineIdx, PlantModel};
use crate::domain::production::trend::{TrendSettings, TrendWarning, trend_warning};
use crate::flags::FeatureFlags;
use crate::store::{Store, StoreError};

/// Judges machine `idx` at `now` from what the store holds.
pub async fn judge(
    store: &Store,
    plant: &PlantModel,
    settings: &TrendSettings,
    idx: MachineIdx,
    now: EpochMs,
) -> Result<TrendWarning, StoreError> {
    let id = &plant.machines[idx].id;
    let from = now - settings.window_ms - settings.baseline_ms;
    let intervals = store.intervals(id, from, now).await?;
    let failures: Vec<EpochMs> = store
        .stops_starting(id, from, now)
        .await?
        .iter()
        .filter(|s| s.is_failure())
        .map(|s| s.start)
        .collect();
    Ok(trend_warning(settings, &plant.calendar, &intervals, &failures, now))
}

/// Judges every machine now and updates the snapshots; clears them while
/// `advanced_analytics` is off.
pub async fn refresh_all(
    plant: &PlantHandle,
    store: &Store,
    settings: &TrendSettings,
    flags: &FeatureFlags,
    now: EpochMs,
) {
    let model = plant.plant().clone();
    for idx in 0..model.machines.len() {
        if !flags.get(Flag::AdvancedAnalytics) {
            plant.set_trend_warning(idx, None).await;
            continue;
        }
        match judge(store, &model, settings, idx, now).await {
            Ok(w) => plant.set_trend_warning(idx, Some(w)).await,
            Err(e) => tracing::warn!(machine = %model.machines[idx].id, error = %e, "cannot judge the trend warning"),
        }
    }
}

/// Refreshes every `every`, the first time one `every` after start.
pub fn spawn(
    plant: PlantHandle,
    store: Store,
    settings: TrendSettings,
    every: Duration,
    flags: Arc<FeatureFlags>,
    clock: Clock,
) {
    actix_rt::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            refresh_all(&plant, &store, &settings, &flags, clock.now_ms()).await;
        }
    });
}

//! `Replica`: this process as one of several. Its lease keeper runs a round every quarter
//! of the lease time, and the plant takes what the round leaves it owning: lines gained
//! start again from the store, lines lost stop at once. A graceful stop hands every
//! shard over after the telemetry is written.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::lease_keeper::{LeaseKeeper, LeaseSettings, Owned};
use super::ownership::Handover;
use crate::actors::andon::Resync;
use crate::actors::plant::PlantHandle;
use crate::clock::Clock;
use crate::domain::cluster::shard::shard_of;
use crate::metrics as m;
use crate::store::{Store, StoreError};

/// This replica.
#[derive(Clone)]
pub struct Replica {
    keeper: Arc<Mutex<LeaseKeeper>>,
    plant: PlantHandle,
    clock: Clock,
    name: String,
    ttl: Duration,
}

impl Replica {
    /// The replica `settings.replica` of `plant`'s lines (the lease rows are made if new).
    pub async fn new(
        store: Store,
        plant: PlantHandle,
        settings: LeaseSettings,
        clock: Clock,
    ) -> Result<Replica, StoreError> {
        store.seed_leases().await?;
        let in_use = plant.plant().lines.iter().map(|l| shard_of(&l.id)).collect();
        let (name, ttl) = (settings.replica.clone(), settings.ttl);
        Ok(Replica {
            keeper: Arc::new(Mutex::new(LeaseKeeper::new(store, settings, in_use))),
            plant,
            clock,
            name,
            ttl,
        })
    }

    /// This replica's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One lease round now; answers what changed for the plant.
    pub async fn round(&self) -> Result<Handover, StoreError> {
        let now = self.clock.now_ms();
        // One round at a time, the plant's hand-over included.
        let mut keeper = self.keeper.lock().await;
        // A failed round may still drop what lapsed: the plant follows what is owned.
        let round = keeper.round_keeping_releases(now).await;
        let owned = keeper.owned();
        // Lines handed over stop and their telemetry is written before their leases go.
        let handover = self.plant.take_leases(&owned, now).await?;
        keeper.release_pending().await?;
        // Tickets raised or acknowledged on other replicas, and escalations due on lines
        // just taken over.
        let _ = self.plant.andon().send(Resync).await;
        metrics::gauge!(m::CLUSTER_LINES_OWNED).set(self.plant.ownership().count() as f64);
        drop(keeper);
        round.map(|_| handover)
    }

    /// Runs a round every quarter of the lease time, for the life of the process.
    pub fn spawn(&self) {
        let replica = self.clone();
        actix_rt::spawn(async move {
            let mut every = tokio::time::interval(replica.ttl / 4);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(e) = replica.round().await {
                    tracing::warn!(replica = %replica.name, error = %e, "lease round failed; trying again");
                }
            }
        });
    }

    /// Graceful stop: hands every shard over (the caller has written the telemetry).
    pub async fn leave(&self) {
        let mut keeper = self.keeper.lock().await;
        // Nothing runs here any more before another replica may take over.
        if let Err(e) = self.plant.take_leases(&Owned::new(), self.clock.now_ms()).await {
            tracing::warn!(replica = %self.name, error = %e, "cannot stop the lines before handing them over");
        }
        match keeper.release_all().await {
            Ok(()) => {
                tracing::info!(replica = %self.name, "shard leases handed over");
                // The others claim them now rather than at their next round.
                if let Some(bus) = self.plant.bus() {
                    bus.released().await;
                }
            }
            Err(e) => tracing::warn!(replica = %self.name, error = %e,
                "cannot hand the shard leases over; the others take them when they lapse"),
        }
    }
}

//! `LeaseKeeper`: one replica's side of the shard leases. Each round (every
//! a quarter of the lease time) it records its heartbeat, renews
//! what it holds, hands over what is beyond its fair share and claims free shards up to
//! it; then it tells its watchers which shards it owns, with their epochs. A round that
//! cannot reach the store owns nothing once the leases it had would have lapsed: a
//! replica never acts on a lease it cannot prove.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::watch;

use crate::domain::EpochMs;
use crate::domain::cluster::lease_plan::round;
use crate::domain::cluster::shard::Shard;
use crate::store::{Store, StoreError};

/// The shards a replica owns, each with the epoch its writes carry.
pub type Owned = BTreeMap<Shard, i64>;

/// Lease settings.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// This replica's name (unique among the replicas).
    pub replica: String,
    /// How long a lease lasts unless renewed.
    pub ttl: Duration,
}

fn ms(d: Duration) -> EpochMs {
    EpochMs::try_from(d.as_millis()).unwrap_or(EpochMs::MAX)
}

/// One replica's leases.
pub struct LeaseKeeper {
    store: Store,
    settings: LeaseSettings,
    in_use: Vec<Shard>,
    owned: watch::Sender<Owned>,
    /// Until when the leases last renewed hold.
    valid_until: EpochMs,
    /// Shards beyond the fair share, no longer counted as owned, still leased until
    /// [`LeaseKeeper::release_pending`] (the caller writes their telemetry first).
    pending_release: Vec<Shard>,
}

impl LeaseKeeper {
    /// A keeper for the shards `in_use` (those with lines in this plant).
    pub fn new(store: Store, settings: LeaseSettings, mut in_use: Vec<Shard>) -> LeaseKeeper {
        in_use.sort_unstable();
        in_use.dedup();
        LeaseKeeper {
            store,
            settings,
            in_use,
            owned: watch::Sender::new(Owned::new()),
            valid_until: 0,
            pending_release: Vec::new(),
        }
    }

    /// Follows the shards this replica owns.
    pub fn watch(&self) -> watch::Receiver<Owned> {
        self.owned.subscribe()
    }

    /// What it owns now.
    pub fn owned(&self) -> Owned {
        self.owned.borrow().clone()
    }

    /// One round at `now`, shards beyond the fair share released at once; answers what it
    /// owns after it.
    pub async fn round(&mut self, now: EpochMs) -> Result<Owned, StoreError> {
        let owned = self.round_keeping_releases(now).await?;
        self.release_pending().await?;
        Ok(owned)
    }

    /// One round at `now`; answers what it owns after it. Shards beyond the fair share are
    /// not counted as owned but stay leased until [`LeaseKeeper::release_pending`], so that
    /// what was counted on them can still be written. On a store error, what it owns is
    /// kept while the last renewal holds and dropped after.
    pub async fn round_keeping_releases(&mut self, now: EpochMs) -> Result<Owned, StoreError> {
        match self.try_round(now).await {
            Ok(owned) => {
                self.owned.send_replace(owned.clone());
                Ok(owned)
            }
            Err(e) => {
                if now >= self.valid_until && !self.owned.borrow().is_empty() {
                    tracing::error!(replica = %self.settings.replica, error = %e,
                        "cannot renew shard leases and they have lapsed; stopping what this replica owned");
                    self.owned.send_replace(Owned::new());
                }
                Err(e)
            }
        }
    }

    async fn try_round(&mut self, now: EpochMs) -> Result<Owned, StoreError> {
        let me = self.settings.replica.as_str();
        let ttl = ms(self.settings.ttl);
        let until = now.saturating_add(ttl);
        let replicas = self.store.member_heartbeat(me, now, now - ttl).await?;
        let mut owned: Owned = self.store.renew_leases(me, now, until).await?.into_iter().collect();
        let leases = self.store.leases().await?;
        let plan = round(me, &self.in_use, &leases, replicas, now);
        for s in &plan.release {
            owned.remove(s);
        }
        self.pending_release = plan.release;
        if !plan.claim.is_empty() {
            let won = self.store.claim_leases(me, &plan.claim, now, until).await?;
            if !won.is_empty() {
                tracing::info!(replica = me, shards = ?won, "shard leases claimed");
            }
            owned.extend(won);
        }
        // Only shards of this plant count (another plant's leftovers are not served).
        owned.retain(|s, _| self.in_use.binary_search(s).is_ok());
        self.valid_until = until;
        Ok(owned)
    }

    /// Hands over the shards the last round left beyond the fair share.
    pub async fn release_pending(&mut self) -> Result<(), StoreError> {
        if self.pending_release.is_empty() {
            return Ok(());
        }
        let me = self.settings.replica.as_str();
        self.store.release_leases(me, Some(&self.pending_release)).await?;
        tracing::info!(replica = me, shards = ?self.pending_release, "shard leases handed over");
        self.pending_release.clear();
        Ok(())
    }

    /// Graceful stop: hands every shard over at once and leaves the membership.
    pub async fn release_all(&mut self) -> Result<(), StoreError> {
        let me = self.settings.replica.as_str();
        self.owned.send_replace(Owned::new());
        self.store.release_leases(me, None).await?;
        self.store.member_leave(me).await
    }
}

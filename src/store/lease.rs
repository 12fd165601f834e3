//! Shard leases and replica heartbeats (see `domain::cluster`). Every statement is one
//! conditional write, so two replicas racing for a shard cannot both win it: PostgreSQL
//! re-checks the `WHERE` of a row another transaction just changed, SQLite runs one
//! writer at a time. Times come from the replicas' clocks (kept in step by NTP), so that
//! tests can drive them.

use sqlx::Row;

use super::sql::{self, SqlBuilder};
use super::{Store, StoreError};
use crate::domain::EpochMs;
use crate::domain::cluster::lease_plan::Lease;
use crate::domain::cluster::shard::{SHARDS, Shard};

/// A lease won or kept: the shard and the epoch its writes carry.
pub type Held = (Shard, i64);

fn held(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<Held>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let shard: i64 = row.try_get("shard")?;
        out.push((Shard::try_from(shard).unwrap_or(Shard::MAX), row.try_get("epoch")?));
    }
    out.sort_unstable();
    Ok(out)
}

impl Store {
    /// Makes a row for every shard (once; later calls change nothing).
    pub async fn seed_leases(&self) -> Result<(), StoreError> {
        let mut q = SqlBuilder::new("INSERT INTO shard_lease (shard, owner, epoch, expires_ms) ");
        q.push_values(0..SHARDS, |mut row, shard| {
            row.push_bind(i64::from(shard))
                .push_bind(None::<String>)
                .push_bind(0i64)
                .push_bind(0i64);
        });
        q.push(" ON CONFLICT (shard) DO NOTHING");
        q.build()?.execute(&self.pool).await?;
        Ok(())
    }

    /// The lease table.
    pub async fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        let rows = sql::query("SELECT shard, owner, epoch, expires_ms FROM shard_lease ORDER BY shard")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let shard: i64 = row.try_get("shard")?;
            out.push(Lease {
                shard: Shard::try_from(shard).unwrap_or(Shard::MAX),
                owner: row.try_get("owner")?,
                epoch: row.try_get("epoch")?,
                expires_ms: row.try_get("expires_ms")?,
            });
        }
        Ok(out)
    }

    /// Claims `shards` for `me` until `until`, each where it is released, expired at `now`
    /// or already `me`'s; answers those won. A shard that changes owner (or that `me` had
    /// let lapse) gets the next epoch.
    pub async fn claim_leases(
        &self,
        me: &str,
        shards: &[Shard],
        now: EpochMs,
        until: EpochMs,
    ) -> Result<Vec<Held>, StoreError> {
        if shards.is_empty() {
            return Ok(Vec::new());
        }
        // In SET, every column on the right is the row before the update.
        let mut q = SqlBuilder::new("UPDATE shard_lease SET epoch = CASE WHEN owner = ");
        q.push_bind(me.to_owned())
            .push(" AND expires_ms > ")
            .push_bind(now)
            .push(" THEN epoch ELSE epoch + 1 END, owner = ")
            .push_bind(me.to_owned())
            .push(", expires_ms = ")
            .push_bind(until)
            .push(" WHERE shard IN (");
        let mut list = q.separated(", ");
        for &s in shards {
            list.push_bind(i64::from(s));
        }
        q.push(") AND (owner IS NULL OR owner = ")
            .push_bind(me.to_owned())
            .push(" OR expires_ms <= ")
            .push_bind(now)
            .push(") RETURNING shard, epoch");
        held(q.build()?.fetch_all(&self.pool).await?)
    }

    /// Extends to `until` every lease `me` still holds at `now`; answers them. A lease
    /// that lapsed is not renewed: its shard may already have another owner.
    pub async fn renew_leases(&self, me: &str, now: EpochMs, until: EpochMs) -> Result<Vec<Held>, StoreError> {
        let rows = sql::query(
            "UPDATE shard_lease SET expires_ms = ? WHERE owner = ? AND expires_ms > ? RETURNING shard, epoch",
        )
        .bind(until)
        .bind(me.to_owned())
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        held(rows)
    }

    /// Hands over `shards` of `me` at once (every one when `None`); answers how many.
    pub async fn release_leases(&self, me: &str, shards: Option<&[Shard]>) -> Result<u64, StoreError> {
        let mut q = SqlBuilder::new("UPDATE shard_lease SET owner = NULL, expires_ms = 0 WHERE owner = ");
        q.push_bind(me.to_owned());
        if let Some(shards) = shards {
            if shards.is_empty() {
                return Ok(0);
            }
            q.push(" AND shard IN (");
            let mut list = q.separated(", ");
            for &s in shards {
                list.push_bind(i64::from(s));
            }
            q.push(")");
        }
        Ok(q.build()?.execute(&self.pool).await?.rows_affected())
    }

    /// Whether `me` holds `shard` at `epoch` at `now`: the fencing check of an owner write
    /// (a replica that lost its lease, or slept through it, is refused).
    pub async fn holds_lease(&self, me: &str, shard: Shard, epoch: i64, now: EpochMs) -> Result<bool, StoreError> {
        let n: i64 = sql::query_scalar(
            "SELECT COUNT(*) FROM shard_lease WHERE shard = ? AND owner = ? AND epoch = ? AND expires_ms > ?",
        )
        .bind(i64::from(shard))
        .bind(me.to_owned())
        .bind(epoch)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Records that `me` is alive at `now` and answers how many replicas were seen since
    /// `alive_after` (`me` included).
    pub async fn member_heartbeat(&self, me: &str, now: EpochMs, alive_after: EpochMs) -> Result<usize, StoreError> {
        sql::query(
            "INSERT INTO cluster_member (replica, seen_ms) VALUES (?, ?) \
             ON CONFLICT (replica) DO UPDATE SET seen_ms = excluded.seen_ms",
        )
        .bind(me.to_owned())
        .bind(now)
        .execute(&self.pool)
        .await?;
        let n: i64 = sql::query_scalar("SELECT COUNT(*) FROM cluster_member WHERE seen_ms > ?")
            .bind(alive_after)
            .fetch_one(&self.pool)
            .await?;
        Ok(usize::try_from(n).unwrap_or(1).max(1))
    }

    /// Forgets `me` as a member (graceful stop: the others' shares grow at once).
    pub async fn member_leave(&self, me: &str) -> Result<(), StoreError> {
        sql::query("DELETE FROM cluster_member WHERE replica = ?")
            .bind(me.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

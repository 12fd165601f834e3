//! Retention: raw samples, per-minute telemetry and the audit log are kept for configured
//! spans and deleted after. On PostgreSQL the job also keeps the telemetry tables' day
//! partitions made ahead (or leaves it to TimescaleDB's policies).

use std::time::Duration;

use super::backend::Backend;
use super::postgres::{Layout, partitions, timescale};
use super::sql;
use super::{Store, StoreError};
use crate::domain::EpochMs;

/// How long each kind of record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Raw tag samples.
    pub raw: Duration,
    /// Per-minute parts and state intervals.
    pub telemetry: Duration,
    /// Audit entries.
    pub audit: Duration,
}

/// Rows deleted by one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Raw samples.
    pub raw: u64,
    /// Per-minute parts and state intervals.
    pub telemetry: u64,
    /// Audit entries.
    pub audit: u64,
    /// Whole day partitions dropped (PostgreSQL).
    pub partitions: usize,
}

/// `now − span`, in ms (the epoch start for spans beyond it).
pub fn cutoff(now: EpochMs, span: Duration) -> EpochMs {
    now.saturating_sub(i64::try_from(span.as_millis()).unwrap_or(i64::MAX))
        .max(0)
}

impl Store {
    /// The telemetry layout on PostgreSQL (TimescaleDB adopted on the first call when the
    /// server has it); `None` on SQLite.
    pub async fn telemetry_layout(&self, retention: &Retention) -> Result<Option<Layout>, StoreError> {
        let Backend::Postgres(pg) = &self.backend else {
            return Ok(None);
        };
        if let Some(layout) = self.layout.get() {
            return Ok(Some(*layout));
        }
        let span = retention.raw.max(retention.telemetry);
        let layout = timescale::adopt(pg, i64::try_from(span.as_millis()).unwrap_or(i64::MAX)).await?;
        Ok(Some(*self.layout.get_or_init(|| layout)))
    }

    /// Deletes what is past `retention` at `now`, and on PostgreSQL makes the coming days'
    /// partitions.
    pub async fn maintain(&self, now: EpochMs, retention: &Retention) -> Result<Purged, StoreError> {
        let raw_cutoff = cutoff(now, retention.raw);
        let telemetry_cutoff = cutoff(now, retention.telemetry);
        let mut purged = Purged::default();
        if let (Backend::Postgres(pg), Some(layout)) = (&self.backend, self.telemetry_layout(retention).await?) {
            match layout {
                Layout::Partitioned => {
                    partitions::ensure(pg, now, raw_cutoff.min(telemetry_cutoff)).await?;
                    purged.partitions += partitions::drop_expired(pg, "tag_samples", raw_cutoff).await?;
                    purged.partitions += partitions::drop_expired(pg, "production_counts", telemetry_cutoff).await?;
                }
                Layout::Hypertables { policies: false } => {
                    timescale::drop_chunks(pg, "tag_samples", raw_cutoff).await?;
                    timescale::drop_chunks(pg, "production_counts", telemetry_cutoff).await?;
                }
                Layout::Hypertables { policies: true } => {}
            }
        }
        // What partitions and chunks leave: the default partition, and SQLite.
        purged.raw = self.purge_raw(raw_cutoff).await?;
        for statement in [
            "DELETE FROM production_counts WHERE minute_ms < ?",
            "DELETE FROM machine_state_intervals WHERE end_ms < ?",
        ] {
            purged.telemetry += sql::query(statement)
                .bind(telemetry_cutoff)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        purged.audit = self.purge_audit(cutoff(now, retention.audit)).await?;
        Ok(purged)
    }

    /// Deletes audit entries older than `before`: the append-only log allows it only to a
    /// transaction that names the cutoff in `audit_purge` first.
    async fn purge_audit(&self, before: EpochMs) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        sql::query("INSERT INTO audit_purge (before_ms) VALUES (?)")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        let done = sql::query("DELETE FROM audit_log WHERE at_ms < ?")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        sql::query("DELETE FROM audit_purge").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_are_now_minus_the_span_and_never_before_the_epoch() {
        let day = Duration::from_secs(86_400);
        let table = [
            (1_000_000_000_000, day, 1_000_000_000_000 - 86_400_000),
            (1_000_000_000_000, Duration::ZERO, 1_000_000_000_000),
            (5_000, day, 0),
            (5_000, Duration::MAX, 0),
        ];
        for (now, span, want) in table {
            assert_eq!(cutoff(now, span), want, "{now} {span:?}");
        }
    }
}

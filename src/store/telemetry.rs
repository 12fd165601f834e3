//! Telemetry: state intervals, parts per minute, downtime, last tag values and raw samples,
//! written in batches by the telemetry writer and read back for restarts and past spans.

use std::collections::HashMap;

use sqlx::Row;

use super::batch::Batch;
use super::sql::{self, SqlBuilder};
use super::{Backend, Store, StoreError};
use crate::domain::EpochMs;
use crate::domain::cluster::shard::Shard;
use crate::domain::machine::{PastInterval, PastParts};
use crate::domain::machine_state::MachineState;
use crate::domain::plant::MachineIdx;
use crate::domain::tag::TagValue;
use crate::domain::tally::Tally;

/// Rows per multi-row INSERT (SQLite allows 32,766 bound parameters).
const ROWS_PER_INSERT: usize = 2_000;

/// What an owner's telemetry write must still hold (see [`Store::write_fenced`]).
pub struct Fence<'a> {
    /// The replica writing.
    pub replica: &'a str,
    /// Its clock now: leases that lapsed by then are not held.
    pub now: EpochMs,
    /// The shard of a machine's line and the epoch this replica ran it under (`None`: it
    /// does not run it).
    pub lease_of: &'a (dyn Fn(MachineIdx) -> Option<(Shard, i64)> + Sync),
    /// The machine a tag belongs to.
    pub machine_of_tag: &'a (dyn Fn(&str) -> Option<MachineIdx> + Sync),
}

impl Store {
    /// Writes a batch in one transaction. The multi-row inserts are not kept prepared: each
    /// batch has its own row counts, so every one would be a new statement in each
    /// connection's cache (up to 100 there, the larger ones hundreds of KB each).
    pub async fn write(&self, batch: &Batch) -> Result<(), StoreError> {
        self.write_fenced(batch, None).await.map(|_| ())
    }

    /// [`Store::write`] for a replica (`fence`): in the same transaction it reads the leases
    /// the replica holds (on PostgreSQL `FOR SHARE`, so no other replica takes one over
    /// until this write is in), and writes only the rows of machines whose line's shard it
    /// holds under the epoch the rows were made with. Answers how many rows it refused.
    pub async fn write_fenced(&self, batch: &Batch, fence: Option<&Fence<'_>>) -> Result<usize, StoreError> {
        // On PostgreSQL raw samples go first, in bulk and idempotent: if the rest then
        // fails, the retry of the whole batch stores each sample once. (A fenced writer
        // keeps only its own lines' samples before this; a sample stored twice is one row.)
        let raw = match &self.backend {
            Backend::Postgres(pg) => {
                super::postgres::copy::write_samples(pg, &batch.raw).await?;
                if batch.len() == batch.raw.len() {
                    // Nothing else to write (or fence).
                    return Ok(0);
                }
                &[][..]
            }
            Backend::Sqlite => &batch.raw[..],
        };
        let mut tx = self.write_tx().await?;
        let mut refused = 0;
        let kept;
        let batch = match fence {
            None => batch,
            Some(f) => {
                let lock = match self.backend {
                    Backend::Postgres(_) => " FOR SHARE",
                    Backend::Sqlite => "",
                };
                let rows = sql::query(format!(
                    "SELECT shard, epoch FROM shard_lease WHERE owner = ? AND expires_ms > ?{lock}"
                ))
                .bind(f.replica.to_owned())
                .bind(f.now)
                .fetch_all(&mut *tx)
                .await?;
                let mut held = HashMap::with_capacity(rows.len());
                for row in rows {
                    let shard: i64 = row.try_get("shard")?;
                    held.insert(shard, row.try_get::<i64, _>("epoch")?);
                }
                let holds = |m: MachineIdx| {
                    (f.lease_of)(m).is_some_and(|(shard, epoch)| held.get(&i64::from(shard)) == Some(&epoch))
                };
                match batch.only_machines(&holds, f.machine_of_tag) {
                    None => batch,
                    Some((b, n)) => {
                        refused = n;
                        kept = b;
                        &kept
                    }
                }
            }
        };
        let intervals: Vec<_> = batch.intervals.values().collect();
        for chunk in intervals.chunks(ROWS_PER_INSERT) {
            let mut q = SqlBuilder::new("INSERT INTO machine_state_intervals (machine_id, start_ms, end_ms, state) ");
            q.push_values(chunk, |mut b, r| {
                b.push_bind(&r.machine_id)
                    .push_bind(r.start)
                    .push_bind(r.end)
                    .push_bind(r.state.as_str());
            });
            q.push(
                " ON CONFLICT (machine_id, start_ms) DO UPDATE SET end_ms = CASE WHEN excluded.end_ms > machine_state_intervals.end_ms \
                 THEN excluded.end_ms ELSE machine_state_intervals.end_ms END, state = excluded.state",
            );
            q.build()?.persistent(false).execute(&mut *tx).await?;
        }
        let parts: Vec<_> = batch.parts.iter().collect();
        for chunk in parts.chunks(ROWS_PER_INSERT) {
            let mut q = SqlBuilder::new(
                "INSERT INTO production_counts (machine_id, minute_ms, product, total, good, ideal_ms) ",
            );
            q.push_values(chunk, |mut b, ((_, minute, product), t)| {
                // The machine id is resolved by the writer into the product-less key below.
                b.push_bind(&t.0).push_bind(*minute).push_bind(product.as_str());
                b.push_bind(t.1.total).push_bind(t.1.good).push_bind(t.1.ideal_ms);
            });
            q.push(
                " ON CONFLICT (machine_id, minute_ms, product) DO UPDATE SET total = production_counts.total + excluded.total, \
                 good = production_counts.good + excluded.good, ideal_ms = production_counts.ideal_ms + excluded.ideal_ms",
            );
            q.build()?.persistent(false).execute(&mut *tx).await?;
        }
        for d in batch.downtime.values() {
            sql::query(
                "INSERT INTO downtime_events (machine_id, line_id, start_ms, end_ms, reason, micro_stop) \
                 VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (machine_id, start_ms) DO UPDATE SET end_ms = COALESCE(excluded.end_ms, downtime_events.end_ms), \
                 reason = excluded.reason, micro_stop = excluded.micro_stop",
            )
            .bind(&d.machine_id)
            .bind(&d.line_id)
            .bind(d.start)
            .bind(d.end)
            .bind(&d.reason)
            .bind(i64::from(d.micro_stop))
            .execute(&mut *tx)
            .await?;
            if let (Some(end), true) = (d.end, d.micro_stop) {
                sql::query(
                    "UPDATE machine_state_intervals SET micro_stop = 1 \
                     WHERE machine_id = ? AND start_ms >= ? AND start_ms < ? AND state <> 'running'",
                )
                .bind(&d.machine_id)
                .bind(d.start)
                .bind(end)
                .execute(&mut *tx)
                .await?;
            }
        }
        let tags: Vec<_> = batch.tag_last.iter().collect();
        for chunk in tags.chunks(ROWS_PER_INSERT) {
            let mut q = SqlBuilder::new("INSERT INTO tag_last (tag, ts_ms, value) ");
            q.push_values(chunk, |mut b, (tag, (ts, value))| {
                b.push_bind(tag.as_str()).push_bind(*ts).push_bind(*value);
            });
            q.push(
                " ON CONFLICT (tag) DO UPDATE SET ts_ms = excluded.ts_ms, value = excluded.value \
                 WHERE excluded.ts_ms >= tag_last.ts_ms",
            );
            q.build()?.persistent(false).execute(&mut *tx).await?;
        }
        for chunk in raw.chunks(ROWS_PER_INSERT) {
            let mut q = SqlBuilder::new("INSERT INTO tag_samples (tag, ts_ms, value, quality) ");
            q.push_values(chunk, |mut b, u| {
                b.push_bind(u.tag.as_str())
                    .push_bind(u.ts)
                    .push_bind(u.value.as_f64())
                    .push_bind(Batch::quality_name(u.quality));
            });
            q.push(" ON CONFLICT (tag, ts_ms) DO NOTHING");
            q.build()?.persistent(false).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(refused)
    }

    /// State intervals of a machine overlapping `[from, to)`, oldest first.
    pub async fn intervals(
        &self,
        machine_id: &str,
        from: EpochMs,
        to: EpochMs,
    ) -> Result<Vec<PastInterval>, StoreError> {
        let rows = sql::query(
            "SELECT start_ms, end_ms, state, micro_stop FROM machine_state_intervals \
             WHERE machine_id = ? AND end_ms > ? AND start_ms < ? ORDER BY start_ms",
        )
        .bind(machine_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(PastInterval {
                    start: r.get(0),
                    end: r.get(1),
                    state: MachineState::parse(r.get::<&str, _>(2))?,
                    micro_stop: r.get::<i64, _>(3) != 0,
                })
            })
            .collect())
    }

    /// Parts of a machine in minutes starting within `[from, to)`: the PLC's counts, and
    /// each manual reject that is not void as a correction (`good − quantity`) in the
    /// minute of its instant. Every past span (OEE, jobs, reports) and every restart reads
    /// parts here, so manual rejects count the same everywhere.
    pub async fn parts(&self, machine_id: &str, from: EpochMs, to: EpochMs) -> Result<Vec<PastParts>, StoreError> {
        let rows = sql::query(
            "SELECT minute_ms, total, good, ideal_ms FROM production_counts \
             WHERE machine_id = ? AND minute_ms >= ? AND minute_ms < ? \
             UNION ALL \
             SELECT at_ms - at_ms % 60000, 0, -quantity, 0 FROM rejects \
             WHERE machine_id = ? AND voided_at_ms IS NULL AND at_ms >= ? AND at_ms < ?",
        )
        .bind(machine_id)
        .bind(from)
        .bind(to)
        .bind(machine_id)
        .bind(super::production::rejects::minute_ceil(from))
        .bind(super::production::rejects::minute_ceil(to))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| PastParts {
                at: r.get(0),
                tally: Tally::of_parts(r.get(1), r.get(2), r.get(3)),
            })
            .collect())
    }

    /// Last applied value of each of these tags.
    pub async fn tag_last(&self, tags: &[&str]) -> Result<Vec<(String, EpochMs, TagValue)>, StoreError> {
        let mut out = Vec::new();
        for tag in tags {
            let row = sql::query("SELECT ts_ms, value FROM tag_last WHERE tag = ?")
                .bind(*tag)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(r) = row {
                let value: f64 = r.get(1);
                let value = if value.fract() == 0.0 {
                    TagValue::Int(value as i64)
                } else {
                    TagValue::Float(value)
                };
                out.push(((*tag).to_owned(), r.get(0), value));
            }
        }
        Ok(out)
    }

    /// The downtime of a machine still open, if any: (start, reason).
    pub async fn open_downtime(&self, machine_id: &str) -> Result<Option<(EpochMs, String)>, StoreError> {
        let row = sql::query(
            "SELECT start_ms, reason FROM downtime_events WHERE machine_id = ? AND end_ms IS NULL \
             ORDER BY start_ms DESC LIMIT 1",
        )
        .bind(machine_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Deletes raw samples older than `before`; returns how many.
    pub async fn purge_raw(&self, before: EpochMs) -> Result<u64, StoreError> {
        let done = sql::query("DELETE FROM tag_samples WHERE ts_ms < ?")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Number of raw samples of a tag (tests and diagnostics).
    pub async fn raw_sample_count(&self, tag: &str) -> Result<i64, StoreError> {
        let row = sql::query("SELECT COUNT(*) FROM tag_samples WHERE tag = ?")
            .bind(tag)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get(0))
    }
}

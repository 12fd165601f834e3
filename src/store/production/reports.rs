//! Stored shift reports, and the rows a report gathers that no other read gives in this
//! shape: a line's downtime with its machines, and the jobs that ran within a span.

use crate::store::sql::{self, SqlBuilder};
use sqlx::Row;

use crate::domain::EpochMs;
use crate::domain::andon::DowntimeSpan;
use crate::store::{JobRecord, Store, StoreError};

/// A line's report of one shift occurrence, to store.
#[derive(Debug, Clone)]
pub struct StoredReport<'a> {
    /// Line id.
    pub line: &'a str,
    /// Shift name.
    pub shift: &'a str,
    /// Plant-local date the occurrence starts on, `YYYY-MM-DD`.
    pub date: &'a str,
    /// Start of the occurrence.
    pub start: EpochMs,
    /// End of the occurrence.
    pub end: EpochMs,
    /// When it was made.
    pub generated_at: EpochMs,
    /// `system`, or who regenerated it.
    pub generated_by: &'a str,
    /// The line's report, JSON.
    pub body: &'a str,
}

impl Store {
    /// Stores a line's shift report made at shift end, unless one is stored already
    /// (`false` then: a regenerated one is kept).
    pub async fn store_shift_report(&self, r: &StoredReport<'_>) -> Result<bool, StoreError> {
        let done = sql::query(
            "INSERT INTO shift_reports (line_id, shift_name, shift_date, start_ms, end_ms, generated_at_ms, \
             generated_by, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (line_id, shift_name, shift_date) DO NOTHING",
        )
        .bind(r.line)
        .bind(r.shift)
        .bind(r.date)
        .bind(r.start)
        .bind(r.end)
        .bind(r.generated_at)
        .bind(r.generated_by)
        .bind(r.body)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores the reports of several lines in one transaction (a regeneration replaces
    /// them all or none).
    pub async fn replace_shift_reports(&self, reports: &[StoredReport<'_>]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for r in reports {
            sql::query(
                "INSERT INTO shift_reports (line_id, shift_name, shift_date, start_ms, end_ms, generated_at_ms, \
                 generated_by, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (line_id, shift_name, shift_date) DO UPDATE SET start_ms = excluded.start_ms, \
                 end_ms = excluded.end_ms, generated_at_ms = excluded.generated_at_ms, \
                 generated_by = excluded.generated_by, body = excluded.body",
            )
            .bind(r.line)
            .bind(r.shift)
            .bind(r.date)
            .bind(r.start)
            .bind(r.end)
            .bind(r.generated_at)
            .bind(r.generated_by)
            .bind(r.body)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The stored report body of a line for a shift occurrence.
    pub async fn shift_report(&self, line: &str, shift: &str, date: &str) -> Result<Option<String>, StoreError> {
        let row = sql::query("SELECT body FROM shift_reports WHERE line_id = ? AND shift_name = ? AND shift_date = ?")
            .bind(line)
            .bind(shift)
            .bind(date)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// (line, shift, date) of the reports stored for occurrences ending in `(after, until]`.
    pub async fn shift_reports_ending(
        &self,
        after: EpochMs,
        until: EpochMs,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows =
            sql::query("SELECT line_id, shift_name, shift_date FROM shift_reports WHERE end_ms > ? AND end_ms <= ?")
                .bind(after)
                .bind(until)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    /// Downtime of a line's machines overlapping `[from, to)`, with the machine of each
    /// stop (reason in force: the classification, else the automatic one).
    pub async fn line_downtime(
        &self,
        line: &str,
        from: EpochMs,
        to: EpochMs,
    ) -> Result<Vec<(String, DowntimeSpan)>, StoreError> {
        let mut q = SqlBuilder::new(
            "SELECT machine_id, COALESCE(classified_reason, reason), start_ms, end_ms, micro_stop \
             FROM downtime_events WHERE (end_ms IS NULL OR end_ms > ",
        );
        q.push_bind(from)
            .push(") AND start_ms < ")
            .push_bind(to)
            .push(" AND line_id = ")
            .push_bind(line.to_owned());
        let rows = q.build()?.fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    DowntimeSpan {
                        reason: r.get(1),
                        start: r.get(2),
                        end: r.get(3),
                        micro_stop: r.get::<i64, _>(4) != 0,
                    },
                )
            })
            .collect())
    }

    /// Jobs of a line that may have run within `[from, to)`: started before `to`, and
    /// either running still or changed state at or after `from`. Oldest first.
    pub async fn jobs_ran_between(&self, line: &str, from: EpochMs, to: EpochMs) -> Result<Vec<JobRecord>, StoreError> {
        let ids: Vec<i64> = sql::query_scalar(
            "SELECT j.id FROM jobs j WHERE j.line_id = ? \
             AND EXISTS (SELECT 1 FROM job_events e WHERE e.job_id = j.id AND e.state = 'running' AND e.at_ms < ?) \
             AND (j.state = 'running' OR EXISTS (SELECT 1 FROM job_events x WHERE x.job_id = j.id AND x.at_ms >= ?)) \
             ORDER BY j.id",
        )
        .bind(line)
        .bind(to)
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        let mut jobs = Vec::with_capacity(ids.len());
        for id in ids {
            jobs.extend(self.job(id).await?);
        }
        Ok(jobs)
    }
}

//! Downtime events: listing, operator classification, Pareto input.

use crate::store::sql::{self, SqlBuilder};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};
use crate::domain::EpochMs;
use crate::domain::andon::DowntimeSpan;
use crate::domain::snapshot::utc;

/// A downtime event as reported.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DowntimeRecord {
    /// Id (for classification).
    pub id: i64,
    /// Machine.
    pub machine: String,
    /// Line.
    pub line: String,
    /// Start.
    pub start: chrono::DateTime<chrono::Utc>,
    /// End; `None` while open.
    pub end: Option<chrono::DateTime<chrono::Utc>>,
    /// Seconds so far (to `end`, or to the time of the query while open).
    pub duration_s: f64,
    /// The reason in force: the operator's classification, else the automatic one.
    pub reason: String,
    /// The automatic reason (PLC fault code map, state).
    pub auto_reason: String,
    /// Shorter than the micro-stop threshold.
    pub micro_stop: bool,
    /// Operator classification, if any.
    pub classified: Option<Classification>,
}

/// Who classified a downtime event, how and when.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Classification {
    /// Reason code from the reason tree.
    pub reason: String,
    /// Comment.
    pub comment: Option<String>,
    /// Who.
    pub by: String,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Filters for listing downtime.
#[derive(Debug, Clone, Default)]
pub struct DowntimeFilter {
    /// Line id.
    pub line: Option<String>,
    /// Only these lines (a caller's line scope); `None`: all.
    pub lines: Option<Vec<String>>,
    /// Machine id.
    pub machine: Option<String>,
    /// Events overlapping `[from, to)`.
    pub from: Option<EpochMs>,
    /// See `from`.
    pub to: Option<EpochMs>,
    /// Reason in force.
    pub reason: Option<String>,
    /// Only micro-stops (`true`) or only the others (`false`).
    pub micro_stop: Option<bool>,
    /// Most rows.
    pub limit: i64,
}

const COLUMNS: &str = "id, machine_id, line_id, start_ms, end_ms, reason, micro_stop, classified_reason, \
     classified_comment, classified_by, classified_at_ms";

fn record(r: &AnyRow, now: EpochMs) -> DowntimeRecord {
    let (start, end): (i64, Option<i64>) = (r.get(3), r.get(4));
    let auto_reason: String = r.get(5);
    let classified = match (
        r.get::<Option<String>, _>(7),
        r.get::<Option<String>, _>(9),
        r.get::<Option<i64>, _>(10),
    ) {
        (Some(reason), Some(by), Some(at)) => Some(Classification {
            reason,
            comment: r.get(8),
            by,
            at: utc(at),
        }),
        _ => None,
    };
    DowntimeRecord {
        id: r.get(0),
        machine: r.get(1),
        line: r.get(2),
        start: utc(start),
        end: end.map(utc),
        duration_s: (end.unwrap_or(now).max(start) - start) as f64 / 1000.0,
        reason: classified
            .as_ref()
            .map_or_else(|| auto_reason.clone(), |c| c.reason.clone()),
        auto_reason,
        micro_stop: r.get::<i64, _>(6) != 0,
        classified,
    }
}

impl Store {
    /// Downtime events matching a filter, newest first.
    pub async fn downtime(&self, f: &DowntimeFilter, now: EpochMs) -> Result<Vec<DowntimeRecord>, StoreError> {
        let mut q = SqlBuilder::new(format!("SELECT {COLUMNS} FROM downtime_events WHERE 1 = 1"));
        if let Some(line) = &f.line {
            q.push(" AND line_id = ").push_bind(line.clone());
        }
        super::push_line_scope(&mut q, f.lines.as_deref());
        if let Some(machine) = &f.machine {
            q.push(" AND machine_id = ").push_bind(machine.clone());
        }
        if let Some(from) = f.from {
            q.push(" AND (end_ms IS NULL OR end_ms > ").push_bind(from).push(")");
        }
        if let Some(to) = f.to {
            q.push(" AND start_ms < ").push_bind(to);
        }
        if let Some(reason) = &f.reason {
            q.push(" AND COALESCE(classified_reason, reason) = ")
                .push_bind(reason.clone());
        }
        if let Some(micro) = f.micro_stop {
            q.push(" AND micro_stop = ").push_bind(i64::from(micro));
        }
        q.push(" ORDER BY start_ms DESC, id DESC LIMIT ").push_bind(f.limit);
        let rows = q.build()?.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| record(r, now)).collect())
    }

    /// One downtime event.
    pub async fn downtime_event(&self, id: i64, now: EpochMs) -> Result<Option<DowntimeRecord>, StoreError> {
        let row = sql::query(format!("SELECT {COLUMNS} FROM downtime_events WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| record(&r, now)))
    }

    /// Classifies (or reclassifies) a downtime event; `false` if there is no such event.
    pub async fn classify_downtime(
        &self,
        id: i64,
        reason: &str,
        comment: Option<&str>,
        by: &str,
        at: EpochMs,
    ) -> Result<bool, StoreError> {
        let done = sql::query(
            "UPDATE downtime_events SET classified_reason = ?, classified_comment = ?, classified_by = ?, \
             classified_at_ms = ? WHERE id = ?",
        )
        .bind(reason)
        .bind(comment)
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Splits a closed downtime event at `at`: the event ends at `at` (keeping its id and
    /// classification) and a new event runs from `at` to the old end with the same
    /// automatic reason, classified with `second` (reason, by) when given. Returns the new
    /// event's id, `None` if there is no such event, or the reason it cannot be split.
    pub async fn split_downtime(
        &self,
        id: i64,
        at: EpochMs,
        second: Option<(&str, &str)>,
        now: EpochMs,
    ) -> Result<Option<Result<i64, crate::domain::downtime_split::SplitError>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sql::query(
            "SELECT machine_id, line_id, start_ms, end_ms, reason, micro_stop FROM downtime_events WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let (start, end): (i64, Option<i64>) = (row.try_get(2)?, row.try_get(3)?);
        if let Err(e) = crate::domain::downtime_split::check_split(start, end, at) {
            return Ok(Some(Err(e)));
        }
        sql::query("UPDATE downtime_events SET end_ms = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let inserted: i64 = sql::query_scalar(
            "INSERT INTO downtime_events (machine_id, line_id, start_ms, end_ms, reason, micro_stop, \
             classified_reason, classified_by, classified_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(row.try_get::<String, _>(0)?)
        .bind(row.try_get::<String, _>(1)?)
        .bind(at)
        .bind(end)
        .bind(row.try_get::<String, _>(4)?)
        .bind(row.try_get::<i64, _>(5)?)
        .bind(second.map(|(reason, _)| reason))
        .bind(second.map(|(_, by)| by))
        .bind(second.map(|_| now))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(Ok(inserted)))
    }

    /// Downtime events still open: (machine id, start, reason in force).
    pub async fn open_downtime_events(&self) -> Result<Vec<(String, EpochMs, String)>, StoreError> {
        let rows = sql::query(
            "SELECT machine_id, start_ms, COALESCE(classified_reason, reason) FROM downtime_events WHERE end_ms IS NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    /// Downtime overlapping `[from, to)` of a line (or the whole plant), for Pareto.
    pub async fn downtime_spans(
        &self,
        line: Option<&str>,
        from: EpochMs,
        to: EpochMs,
    ) -> Result<Vec<DowntimeSpan>, StoreError> {
        let mut q = SqlBuilder::new(
            "SELECT COALESCE(classified_reason, reason), start_ms, end_ms, micro_stop FROM downtime_events \
             WHERE (end_ms IS NULL OR end_ms > ",
        );
        q.push_bind(from).push(") AND start_ms < ").push_bind(to);
        if let Some(line) = line {
            q.push(" AND line_id = ").push_bind(line.to_owned());
        }
        let rows = q.build()?.fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| DowntimeSpan {
                reason: r.get(0),
                start: r.get(1),
                end: r.get(2),
                micro_stop: r.get::<i64, _>(3) != 0,
            })
            .collect())
    }
}

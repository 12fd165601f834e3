//! Manual rejects: logged with their good-parts check in one statement, listed, voided.
//!
//! The `rejects` table is the one record of a manual reject; [`Store::parts`] sums its
//! live rows into every past span as corrections (`good − quantity` in the minute of
//! `at_ms`), so the figures never depend on a second copy of the same fact.

use crate::store::sql::{self, SqlBuilder};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::EpochMs;
use crate::domain::snapshot::utc;
use crate::store::{Store, StoreError};

const MINUTE_MS: EpochMs = 60_000;

/// The first instant whose minute starts at or after `t`: a correction at `at` is counted
/// in `[from, to)` exactly when `minute_ceil(from) <= at < minute_ceil(to)`, which is the
/// rule PLC parts follow (their minute starts inside the span).
pub(in crate::store) fn minute_ceil(t: EpochMs) -> EpochMs {
    let floor = t.div_euclid(MINUTE_MS).saturating_mul(MINUTE_MS);
    if floor == t { t } else { floor.saturating_add(MINUTE_MS) }
}

/// Good parts of a machine over `[from, to)` as `?from=&to=` counts them: PLC good parts
/// less live manual rejects. Binds: machine, from, to, machine, ⌈from⌉, ⌈to⌉.
const GOOD_PARTS: &str = "CAST(COALESCE((SELECT SUM(good) FROM production_counts \
       WHERE machine_id = ? AND minute_ms >= ? AND minute_ms < ?), 0) \
     - COALESCE((SELECT SUM(quantity) FROM rejects \
       WHERE machine_id = ? AND voided_at_ms IS NULL AND at_ms >= ? AND at_ms < ?), 0) AS BIGINT)";

const COLUMNS: &str = "id, line_id, machine_id, defect, quantity, note, at_ms, logged_by, logged_at_ms, \
     voided_at_ms, voided_by, void_reason";

/// A reject to log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReject {
    /// Line id.
    pub line: String,
    /// Machine id.
    pub machine: String,
    /// Defect code of the line's tree.
    pub defect: String,
    /// Parts (≥ 1).
    pub quantity: i64,
    /// Free text.
    pub note: Option<String>,
    /// When the parts were made or found.
    pub at: EpochMs,
    /// Who logged it.
    pub by: String,
    /// When it was logged.
    pub now: EpochMs,
}

/// A manual reject as reported.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RejectRecord {
    /// Id.
    pub id: i64,
    /// Line.
    pub line: String,
    /// Machine.
    pub machine: String,
    /// Defect code (`category` or `category/defect`).
    pub defect: String,
    /// Parts.
    pub quantity: i64,
    /// Note.
    pub note: Option<String>,
    /// When the parts were made or found (the correction's instant).
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who logged it.
    pub logged_by: String,
    /// When it was logged.
    pub logged_at: chrono::DateTime<chrono::Utc>,
    /// `logged`, or `voided` (kept, counting no more).
    pub state: &'static str,
    /// Who voided it, when and why; `null` unless voided.
    pub void: Option<RejectVoid>,
}

/// The void of a manual reject.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RejectVoid {
    /// Who.
    pub by: String,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Why.
    pub reason: String,
}

impl RejectRecord {
    /// Whether it still counts.
    pub fn is_void(&self) -> bool {
        self.void.is_some()
    }

    /// When the parts were made or found, ms.
    pub fn at_ms(&self) -> EpochMs {
        self.at.timestamp_millis()
    }
}

fn record(r: &AnyRow) -> RejectRecord {
    let void = match (
        r.get::<Option<i64>, _>(9),
        r.get::<Option<String>, _>(10),
        r.get::<Option<String>, _>(11),
    ) {
        (Some(at), Some(by), reason) => Some(RejectVoid {
            by,
            at: utc(at),
            reason: reason.unwrap_or_default(),
        }),
        _ => None,
    };
    RejectRecord {
        id: r.get(0),
        line: r.get(1),
        machine: r.get(2),
        defect: r.get(3),
        quantity: r.get(4),
        note: r.get(5),
        at: utc(r.get(6)),
        logged_by: r.get(7),
        logged_at: utc(r.get(8)),
        state: if void.is_some() { "voided" } else { "logged" },
        void,
    }
}

/// Filters for listing rejects.
#[derive(Debug, Clone, Default)]
pub struct RejectFilter {
    /// Line id.
    pub line: Option<String>,
    /// Only these lines (a caller's line scope); `None`: all.
    pub lines: Option<Vec<String>>,
    /// Machine id.
    pub machine: Option<String>,
    /// A defect code, or a category (matching its `category/…` codes too).
    pub defect: Option<String>,
    /// `at` from.
    pub from: Option<EpochMs>,
    /// `at` before.
    pub to: Option<EpochMs>,
    /// Voided entries too.
    pub include_void: bool,
    /// Most rows.
    pub limit: i64,
}

/// What became of a reject to log.
#[derive(Debug, Clone, PartialEq)]
pub enum Logged {
    /// Stored.
    Yes(Box<RejectRecord>),
    /// Refused: the machine has only this many good parts in the span.
    NotEnoughGood(i64),
}

/// What became of a void.
#[derive(Debug, Clone, PartialEq)]
pub enum Voided {
    /// Voided now.
    Yes(RejectRecord),
    /// Voided before: the entry as it stands.
    Already(RejectRecord),
    /// No such entry.
    NotFound,
}

impl Store {
    /// Good parts of a machine over `[from, to)`: PLC good less live manual rejects, as
    /// `?from=&to=` counts them.
    pub async fn good_parts(&self, machine_id: &str, from: EpochMs, to: EpochMs) -> Result<i64, StoreError> {
        let good: i64 = sql::query_scalar(format!("SELECT {GOOD_PARTS}"))
            .bind(machine_id)
            .bind(from)
            .bind(to)
            .bind(machine_id)
            .bind(minute_ceil(from))
            .bind(minute_ceil(to))
            .fetch_one(&self.pool)
            .await?;
        Ok(good)
    }

    /// Stores a reject if the machine has at least `quantity` good parts in the span
    /// `[from, to)` (the check and the insert are one statement, so two entries logged at
    /// once cannot both take the same parts).
    pub async fn log_reject(&self, r: &NewReject, from: EpochMs, to: EpochMs) -> Result<Logged, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: Option<i64> = sql::query_scalar(format!(
            "INSERT INTO rejects (line_id, machine_id, defect, quantity, note, at_ms, logged_by, logged_at_ms) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE {GOOD_PARTS} >= ? RETURNING id"
        ))
        .bind(&r.line)
        .bind(&r.machine)
        .bind(&r.defect)
        .bind(r.quantity)
        .bind(&r.note)
        .bind(r.at)
        .bind(&r.by)
        .bind(r.now)
        .bind(&r.machine)
        .bind(from)
        .bind(to)
        .bind(&r.machine)
        .bind(minute_ceil(from))
        .bind(minute_ceil(to))
        .bind(r.quantity)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            tx.rollback().await?;
            return Ok(Logged::NotEnoughGood(self.good_parts(&r.machine, from, to).await?));
        };
        let row = sql::query(format!("SELECT {COLUMNS} FROM rejects WHERE id = ?"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Logged::Yes(Box::new(record(&row))))
    }

    /// One reject.
    pub async fn reject(&self, id: i64) -> Result<Option<RejectRecord>, StoreError> {
        let row = sql::query(format!("SELECT {COLUMNS} FROM rejects WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(record))
    }

    /// Rejects matching a filter, latest `at` first.
    pub async fn rejects(&self, f: &RejectFilter) -> Result<Vec<RejectRecord>, StoreError> {
        let mut q = SqlBuilder::new(format!("SELECT {COLUMNS} FROM rejects WHERE 1 = 1"));
        if let Some(line) = &f.line {
            q.push(" AND line_id = ").push_bind(line.clone());
        }
        crate::store::push_line_scope(&mut q, f.lines.as_deref());
        if let Some(machine) = &f.machine {
            q.push(" AND machine_id = ").push_bind(machine.clone());
        }
        if let Some(defect) = &f.defect {
            q.push(" AND (defect = ").push_bind(defect.clone());
            q.push(" OR substr(defect, 1, ")
                .push_bind(i32::try_from(defect.chars().count() + 1).unwrap_or(i32::MAX))
                .push(") = ")
                .push_bind(format!("{defect}/"))
                .push(")");
        }
        if let Some(from) = f.from {
            q.push(" AND at_ms >= ").push_bind(from);
        }
        if let Some(to) = f.to {
            q.push(" AND at_ms < ").push_bind(to);
        }
        if !f.include_void {
            q.push(" AND voided_at_ms IS NULL");
        }
        q.push(" ORDER BY at_ms DESC, id DESC LIMIT ").push_bind(f.limit);
        let rows = q.build()?.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(record).collect())
    }

    /// Marks a reject void (kept, with who, when and why); an entry voided before is
    /// left as it is.
    pub async fn void_reject(&self, id: i64, by: &str, reason: &str, now: EpochMs) -> Result<Voided, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sql::query(
            "UPDATE rejects SET voided_at_ms = ?, voided_by = ?, void_reason = ? \
             WHERE id = ? AND voided_at_ms IS NULL",
        )
        .bind(now)
        .bind(by)
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let row = sql::query(format!("SELECT {COLUMNS} FROM rejects WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(match (row.as_ref().map(record), done.rows_affected()) {
            (None, _) => Voided::NotFound,
            (Some(r), 0) => Voided::Already(r),
            (Some(r), _) => Voided::Yes(r),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_correction_counts_in_a_span_when_its_minute_starts_inside() {
        // (t, ⌈t⌉ to the minute)
        for (t, want) in [
            (0, 0),
            (1, 60_000),
            (59_999, 60_000),
            (60_000, 60_000),
            (-1, 0),
            (-60_001, -60_000),
            (i64::MAX, i64::MAX),
        ] {
            assert_eq!(minute_ceil(t), want, "{t}");
        }
        // A reject at 10:00:30 is in the minute 10:00: counted from 10:00:00, not from 10:00:20.
        let (ten, at) = (36_000_000, 36_030_000);
        assert!(at >= minute_ceil(ten) && at < minute_ceil(ten + 60_000));
        assert!(at < minute_ceil(ten + 20_000));
    }
}

//! Jobs (work orders) and their state changes.

use crate::store::sql::{self, SqlBuilder};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::EpochMs;
use crate::domain::production::job::JobState;
use crate::store::{Store, StoreError};

/// A stored job with its history.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// Id.
    pub id: i64,
    /// Line id.
    pub line: String,
    /// Product code.
    pub product: String,
    /// Target quantity of good parts.
    pub target: i64,
    /// Planned start.
    pub planned_start: Option<EpochMs>,
    /// Planned end.
    pub planned_end: Option<EpochMs>,
    /// Free text.
    pub notes: String,
    /// Current state.
    pub state: JobState,
    /// Created when.
    pub created_at: EpochMs,
    /// Created by.
    pub created_by: String,
    /// Every state entered: (when, state, by whom), oldest first.
    pub events: Vec<(EpochMs, JobState, String)>,
}

/// A job to create, or the new plan of an existing one.
#[derive(Debug, Clone)]
pub struct JobPlan {
    /// Line id.
    pub line: String,
    /// Product code.
    pub product: String,
    /// Target quantity.
    pub target: i64,
    /// Planned start.
    pub planned_start: Option<EpochMs>,
    /// Planned end.
    pub planned_end: Option<EpochMs>,
    /// Free text.
    pub notes: String,
}

/// Filters of the job list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only these lines (`None`: all).
    pub lines: Option<Vec<String>>,
    /// Only this state.
    pub state: Option<JobState>,
    /// Only jobs not completed or cancelled.
    pub open_only: bool,
    /// Created at or after.
    pub from: Option<EpochMs>,
    /// Created before.
    pub to: Option<EpochMs>,
    /// At most this many, newest first.
    pub limit: i64,
}

const COLUMNS: &str = "id, line_id, product_code, target, planned_start_ms, planned_end_ms, notes, state, \
                       created_at_ms, created_by";

fn job_from_row(r: &AnyRow) -> Option<JobRecord> {
    Some(JobRecord {
        id: r.get(0),
        line: r.get(1),
        product: r.get(2),
        target: r.get(3),
        planned_start: r.get(4),
        planned_end: r.get(5),
        notes: r.get(6),
        state: JobState::parse(r.get(7))?,
        created_at: r.get(8),
        created_by: r.get(9),
        events: Vec::new(),
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Store {
    async fn job_events(&self, id: i64) -> Result<Vec<(EpochMs, JobState, String)>, StoreError> {
        let rows = sql::query("SELECT at_ms, state, actor FROM job_events WHERE job_id = ? ORDER BY seq")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.get(0), JobState::parse(r.get(1))?, r.get(2))))
            .collect())
    }

    /// One job with its history.
    pub async fn job(&self, id: i64) -> Result<Option<JobRecord>, StoreError> {
        let row = sql::query(format!("SELECT {COLUMNS} FROM jobs WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(mut job) = row.as_ref().and_then(job_from_row) else {
            return Ok(None);
        };
        job.events = self.job_events(id).await?;
        Ok(Some(job))
    }

    /// Jobs matching `f`, newest first, each with its history.
    pub async fn jobs(&self, f: &JobFilter) -> Result<Vec<JobRecord>, StoreError> {
        let mut q = SqlBuilder::new(format!("SELECT {COLUMNS} FROM jobs WHERE 1 = 1"));
        super::super::push_line_scope(&mut q, f.lines.as_deref());
        if let Some(s) = f.state {
            q.push(" AND state = ").push_bind(s.as_str());
        }
        if f.open_only {
            q.push(" AND state NOT IN ('completed', 'cancelled')");
        }
        if let Some(from) = f.from {
            q.push(" AND created_at_ms >= ").push_bind(from);
        }
        if let Some(to) = f.to {
            q.push(" AND created_at_ms < ").push_bind(to);
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
        let rows = q.build()?.fetch_all(&self.pool).await?;
        let mut jobs: Vec<JobRecord> = rows.iter().filter_map(job_from_row).collect();
        for job in &mut jobs {
            job.events = self.job_events(job.id).await?;
        }
        Ok(jobs)
    }

    /// Running jobs, one per line at most.
    pub async fn running_jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs(&JobFilter {
            state: Some(JobState::Running),
            limit: i64::MAX,
            ..JobFilter::default()
        })
        .await
    }

    /// When jobs of `line` started or resumed (entered `running`) within `[from, to)`,
    /// oldest first: they mark start-up for the loss analysis.
    pub async fn job_starts(&self, line: &str, from: EpochMs, to: EpochMs) -> Result<Vec<EpochMs>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT e.at_ms FROM job_events e JOIN jobs j ON j.id = e.job_id \
             WHERE j.line_id = ? AND e.state = 'running' AND e.at_ms >= ? AND e.at_ms < ? ORDER BY e.at_ms",
        )
        .bind(line)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores a new planned job.
    pub async fn insert_job(&self, plan: &JobPlan, at: EpochMs, by: &str) -> Result<JobRecord, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sql::query_scalar(
            "INSERT INTO jobs (line_id, product_code, target, planned_start_ms, planned_end_ms, notes, state, \
             created_at_ms, created_by) VALUES (?, ?, ?, ?, ?, ?, 'planned', ?, ?) RETURNING id",
        )
        .bind(&plan.line)
        .bind(&plan.product)
        .bind(plan.target)
        .bind(plan.planned_start)
        .bind(plan.planned_end)
        .bind(&plan.notes)
        .bind(at)
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
        sql::query("INSERT INTO job_events (job_id, seq, at_ms, state, actor) VALUES (?, 0, ?, 'planned', ?)")
            .bind(id)
            .bind(at)
            .bind(by)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.job(id)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("job {id} vanished")))
    }

    /// Replaces the plan of a job that is `expected` (planned or released); `Ok(None)`
    /// when its state moved on meanwhile.
    pub async fn replan_job(
        &self,
        id: i64,
        expected: JobState,
        plan: &JobPlan,
    ) -> Result<Option<JobRecord>, StoreError> {
        let changed = sql::query(
            "UPDATE jobs SET product_code = ?, target = ?, planned_start_ms = ?, planned_end_ms = ?, notes = ? \
             WHERE id = ? AND state = ?",
        )
        .bind(&plan.product)
        .bind(plan.target)
        .bind(plan.planned_start)
        .bind(plan.planned_end)
        .bind(&plan.notes)
        .bind(id)
        .bind(expected.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        self.job(id).await
    }

    /// Moves a job from `expected` to `next` at `at`, in one transaction with its event.
    /// `Ok(None)` when the job was no longer `expected`; a conflict when `next` is
    /// running and its line already has a running job.
    pub async fn transition_job(
        &self,
        id: i64,
        expected: JobState,
        next: JobState,
        at: EpochMs,
        by: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        let mut tx = self.write_tx().await?;
        let updated = sql::query("UPDATE jobs SET state = ? WHERE id = ? AND state = ?")
            .bind(next.as_str())
            .bind(id)
            .bind(expected.as_str())
            .execute(&mut *tx)
            .await;
        match updated {
            Ok(done) if done.rows_affected() == 0 => return Ok(None),
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                let line = self.job(id).await?.map(|j| j.line).unwrap_or_default();
                let running = self
                    .jobs(&JobFilter {
                        lines: Some(vec![line.clone()]),
                        state: Some(JobState::Running),
                        limit: 1,
                        ..JobFilter::default()
                    })
                    .await?;
                let other = running.first().map_or(0, |j| j.id);
                return Err(StoreError::Conflict(format!(
                    "line {line} already runs job {other}; pause or complete it first"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        sql::query(
            "INSERT INTO job_events (job_id, seq, at_ms, state, actor) \
             SELECT ?, COALESCE(MAX(seq), -1) + 1, ?, ?, ? FROM job_events WHERE job_id = ?",
        )
        .bind(id)
        .bind(at)
        .bind(next.as_str())
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.job(id).await
    }
}

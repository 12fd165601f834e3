//! Filled checklists: each keeps a copy of its template version's items with the answers
//! and outcomes, the shift occurrence it was filled in, who filled it and the Andon
//! ticket its failure raised. Also [`job_start_blocker`], which the jobs code asks before
//! a job starts on a line.

use crate::store::sql::{self, SqlBuilder};
use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::checklist_templates::corrupt;
use crate::domain::EpochMs;
use crate::domain::plant::PlantModel;
use crate::domain::production::checklist_eval::{ChecklistResult, ItemResult, TemplateStatus};
use crate::domain::production::job_start::{self, BlockingCheck};
use crate::domain::shift::ShiftInstance;
use crate::store::{Store, StoreError};

/// A checklist to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChecklist {
    /// Line id.
    pub line: String,
    /// Template id.
    pub template_id: i64,
    /// Template name when filled.
    pub template_name: String,
    /// Template version filled.
    pub template_version: i64,
    /// Whether the template blocked job start when filled.
    pub blocks_job_start: bool,
    /// The shift occurrence it was filled in.
    pub shift: ShiftInstance,
    /// Passed or failed.
    pub result: ChecklistResult,
    /// Every item with its answer and outcome.
    pub items: Vec<ItemResult>,
    /// Who.
    pub filled_by: String,
    /// When.
    pub filled_at: EpochMs,
}

/// A stored checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistRow {
    /// Id.
    pub id: i64,
    /// What was stored.
    pub checklist: NewChecklist,
    /// The Andon ticket its failure raised.
    pub ticket: Option<i64>,
}

const COLUMNS: &str = "id, line_id, template_id, template_name, template_version, blocks_job_start, shift_name, \
     shift_start_ms, shift_end_ms, result, items, filled_by, filled_at_ms, ticket_id";

fn row_from(r: &AnyRow) -> Result<ChecklistRow, StoreError> {
    let id: i64 = r.try_get("id")?;
    let items: String = r.try_get("items")?;
    let items = serde_json::from_str(&items).map_err(|e| corrupt("checklist", id, e))?;
    let result: String = r.try_get("result")?;
    Ok(ChecklistRow {
        id,
        checklist: NewChecklist {
            line: r.try_get("line_id")?,
            template_id: r.try_get("template_id")?,
            template_name: r.try_get("template_name")?,
            template_version: r.try_get("template_version")?,
            blocks_job_start: r.try_get::<i64, _>("blocks_job_start")? != 0,
            shift: ShiftInstance {
                name: r.try_get("shift_name")?,
                start: r.try_get("shift_start_ms")?,
                end: r.try_get("shift_end_ms")?,
            },
            result: ChecklistResult::parse(&result).ok_or_else(|| corrupt("checklist", id, &result))?,
            items,
            filled_by: r.try_get("filled_by")?,
            filled_at: r.try_get("filled_at_ms")?,
        },
        ticket: r.try_get("ticket_id")?,
    })
}

/// Filters for listing checklists of a line.
#[derive(Debug, Clone, Default)]
pub struct ChecklistFilter {
    /// Line id.
    pub line: String,
    /// Filled at or after.
    pub from: Option<EpochMs>,
    /// Filled before.
    pub to: Option<EpochMs>,
    /// Most rows.
    pub limit: i64,
}

impl Store {
    /// Stores a filled checklist; returns its id.
    pub async fn insert_checklist(&self, c: &NewChecklist) -> Result<i64, StoreError> {
        let items = serde_json::to_string(&c.items).map_err(|e| StoreError::Database(sqlx::Error::Encode(e.into())))?;
        let id = sql::query_scalar(
            "INSERT INTO checklists (line_id, template_id, template_name, template_version, blocks_job_start, \
             shift_name, shift_start_ms, shift_end_ms, result, items, filled_by, filled_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&c.line)
        .bind(c.template_id)
        .bind(&c.template_name)
        .bind(c.template_version)
        .bind(i64::from(c.blocks_job_start))
        .bind(&c.shift.name)
        .bind(c.shift.start)
        .bind(c.shift.end)
        .bind(c.result.as_str())
        .bind(items)
        .bind(&c.filled_by)
        .bind(c.filled_at)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Records the Andon ticket a checklist's failure raised.
    pub async fn set_checklist_ticket(&self, id: i64, ticket: i64) -> Result<(), StoreError> {
        sql::query("UPDATE checklists SET ticket_id = ? WHERE id = ?")
            .bind(ticket)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One checklist.
    pub async fn checklist(&self, id: i64) -> Result<Option<ChecklistRow>, StoreError> {
        let row = sql::query(format!("SELECT {COLUMNS} FROM checklists WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_from).transpose()
    }

    /// Checklists of a line filled in a span, newest first.
    pub async fn checklists(&self, f: &ChecklistFilter) -> Result<Vec<ChecklistRow>, StoreError> {
        let mut q = SqlBuilder::new(format!("SELECT {COLUMNS} FROM checklists WHERE line_id = "));
        q.push_bind(f.line.clone());
        if let Some(from) = f.from {
            q.push(" AND filled_at_ms >= ").push_bind(from);
        }
        if let Some(to) = f.to {
            q.push(" AND filled_at_ms < ").push_bind(to);
        }
        q.push(" ORDER BY filled_at_ms DESC, id DESC LIMIT ").push_bind(f.limit);
        let rows = q.build()?.fetch_all(&self.pool).await?;
        rows.iter().map(row_from).collect()
    }

    /// Checklists of a line filled in the shift occurrence starting at `shift_start`,
    /// oldest first.
    pub async fn shift_checklists(&self, line: &str, shift_start: EpochMs) -> Result<Vec<ChecklistRow>, StoreError> {
        let rows = sql::query(format!(
            "SELECT {COLUMNS} FROM checklists WHERE line_id = ? AND shift_start_ms = ? ORDER BY filled_at_ms, id"
        ))
        .bind(line)
        .bind(shift_start)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_from).collect()
    }

    /// The result of each template's latest checklist in a shift occurrence of a line.
    pub async fn latest_results(
        &self,
        line: &str,
        shift_start: EpochMs,
    ) -> Result<HashMap<i64, ChecklistResult>, StoreError> {
        Ok(self
            .shift_checklists(line, shift_start)
            .await?
            .into_iter()
            .map(|r| (r.checklist.template_id, r.checklist.result))
            .collect())
    }
}

/// Why a job may not start on `line` at `now`: every template of the line that blocks
/// job start and has not been filled and passed in the current shift occurrence (its
/// latest checklist counts). `None` when nothing blocks, and also outside every shift
/// (a shift-start checklist has no shift to be filled in then).
pub async fn job_start_blocker(
    store: &Store,
    plant: &PlantModel,
    line: &str,
    now: EpochMs,
) -> Result<Option<String>, StoreError> {
    let Some(shift) = plant.calendar.shift_at(now) else {
        return Ok(None);
    };
    let blocking: Vec<_> = store
        .checklist_templates(Some(line))
        .await?
        .into_iter()
        .filter(|t| t.blocks_job_start)
        .collect();
    if blocking.is_empty() {
        return Ok(None);
    }
    let latest = store.latest_results(line, shift.start).await?;
    let checks: Vec<BlockingCheck> = blocking
        .into_iter()
        .map(|t| BlockingCheck {
            status: TemplateStatus::from(latest.get(&t.id).copied()),
            template: t.name,
        })
        .collect();
    Ok(job_start::job_start_blocker(&shift.name, &checks))
}

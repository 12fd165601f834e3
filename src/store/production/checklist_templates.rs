//! Checklist templates: stored per line by admins, versioned on every change, kept
//! (marked deleted) when deleted so the checklists filled from them keep their origin.

use crate::store::sql::{self, SqlBuilder};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::ToSchema;

use crate::domain::EpochMs;
use crate::domain::andon::{Category, Priority};
use crate::domain::production::checklist::{AndonOnFailure, ChecklistItem, TemplateSpec};
use crate::domain::snapshot::utc;
use crate::store::{Store, StoreError};

/// A stored template.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChecklistTemplate {
    /// Id.
    pub id: i64,
    /// Line id.
    pub line: String,
    /// Name, unique among the line's templates.
    pub name: String,
    /// 1 when created, raised by every change.
    pub version: i64,
    /// The items, in the order shown.
    pub items: Vec<ChecklistItem>,
    /// Whether a job may start on the line only after this checklist passed in the shift.
    pub blocks_job_start: bool,
    /// The Andon ticket a failure raises, if any.
    pub andon_on_failure: Option<AndonOnFailure>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// By whom.
    pub created_by: String,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// By whom.
    pub updated_by: String,
    /// When it was deleted (only on the answer to a delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// By whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
}

/// A stored value that does not read back (a hand-edited database).
pub(super) fn corrupt(what: &str, id: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(
        format!("{what} {id} holds an unreadable value: {e}").into(),
    ))
}

fn template_from(r: &AnyRow) -> Result<ChecklistTemplate, StoreError> {
    let id: i64 = r.try_get("id")?;
    let items: String = r.try_get("items")?;
    let items = serde_json::from_str(&items).map_err(|e| corrupt("checklist template", id, e))?;
    let category: Option<String> = r.try_get("andon_category")?;
    let priority: Option<String> = r.try_get("andon_priority")?;
    let andon_on_failure = match (category.as_deref(), priority.as_deref()) {
        (Some(c), Some(p)) => Some(AndonOnFailure {
            category: Category::parse(c).ok_or_else(|| corrupt("checklist template", id, c))?,
            priority: Priority::parse(p).ok_or_else(|| corrupt("checklist template", id, p))?,
        }),
        _ => None,
    };
    Ok(ChecklistTemplate {
        id,
        line: r.try_get("line_id")?,
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        items,
        blocks_job_start: r.try_get::<i64, _>("blocks_job_start")? != 0,
        andon_on_failure,
        created_at: utc(r.try_get("created_at_ms")?),
        created_by: r.try_get("created_by")?,
        updated_at: utc(r.try_get("updated_at_ms")?),
        updated_by: r.try_get("updated_by")?,
        deleted_at: r.try_get::<Option<i64>, _>("deleted_at_ms")?.map(utc),
        deleted_by: r.try_get("deleted_by")?,
    })
}

fn name_taken(e: sqlx::Error, spec: &TemplateSpec) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(format!(
            "line `{}` has a checklist template named `{}` already",
            spec.line, spec.name
        )),
        _ => StoreError::Database(e),
    }
}

fn items_json(spec: &TemplateSpec) -> Result<String, StoreError> {
    serde_json::to_string(&spec.items).map_err(|e| StoreError::Database(sqlx::Error::Encode(e.into())))
}

const COLUMNS: &str = "id, line_id, name, version, items, blocks_job_start, andon_category, andon_priority, \
     created_at_ms, created_by, updated_at_ms, updated_by, deleted_at_ms, deleted_by";

impl Store {
    /// Stores a new template (version 1); [`StoreError::Conflict`] when the line has a
    /// template of that name.
    pub async fn insert_checklist_template(
        &self,
        spec: &TemplateSpec,
        by: &str,
        at: EpochMs,
    ) -> Result<ChecklistTemplate, StoreError> {
        let row = sql::query(format!(
            "INSERT INTO checklist_templates (line_id, name, version, items, blocks_job_start, andon_category, \
             andon_priority, created_at_ms, created_by, updated_at_ms, updated_by) \
             VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}"
        ))
        .bind(&spec.line)
        .bind(&spec.name)
        .bind(items_json(spec)?)
        .bind(i64::from(spec.blocks_job_start))
        .bind(spec.andon_on_failure.map(|a| a.category.as_str()))
        .bind(spec.andon_on_failure.map(|a| a.priority.as_str()))
        .bind(at)
        .bind(by)
        .bind(at)
        .bind(by)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| name_taken(e, spec))?;
        template_from(&row)
    }

    /// A template that is not deleted.
    pub async fn checklist_template(&self, id: i64) -> Result<Option<ChecklistTemplate>, StoreError> {
        let row = sql::query(format!(
            "SELECT {COLUMNS} FROM checklist_templates WHERE id = ? AND deleted_at_ms IS NULL"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(template_from).transpose()
    }

    /// Templates that are not deleted, of one line or of all, by line and name.
    pub async fn checklist_templates(&self, line: Option<&str>) -> Result<Vec<ChecklistTemplate>, StoreError> {
        let mut q = SqlBuilder::new(format!(
            "SELECT {COLUMNS} FROM checklist_templates WHERE deleted_at_ms IS NULL"
        ));
        if let Some(line) = line {
            q.push(" AND line_id = ").push_bind(line.to_owned());
        }
        q.push(" ORDER BY line_id, name, id");
        let rows = q.build()?.fetch_all(&self.pool).await?;
        rows.iter().map(template_from).collect()
    }

    /// Replaces a template's name, items and rules and raises its version; `None` when
    /// there is no such template (or it is deleted), [`StoreError::Conflict`] when the
    /// new name is taken on the line.
    pub async fn update_checklist_template(
        &self,
        id: i64,
        spec: &TemplateSpec,
        by: &str,
        at: EpochMs,
    ) -> Result<Option<ChecklistTemplate>, StoreError> {
        let row = sql::query(format!(
            "UPDATE checklist_templates SET name = ?, version = version + 1, items = ?, blocks_job_start = ?, \
             andon_category = ?, andon_priority = ?, updated_at_ms = ?, updated_by = ? \
             WHERE id = ? AND deleted_at_ms IS NULL RETURNING {COLUMNS}"
        ))
        .bind(&spec.name)
        .bind(items_json(spec)?)
        .bind(i64::from(spec.blocks_job_start))
        .bind(spec.andon_on_failure.map(|a| a.category.as_str()))
        .bind(spec.andon_on_failure.map(|a| a.priority.as_str()))
        .bind(at)
        .bind(by)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| name_taken(e, spec))?;
        row.as_ref().map(template_from).transpose()
    }

    /// Marks a template deleted; `None` when there is no such template (or it is deleted
    /// already). Its filled checklists stay.
    pub async fn delete_checklist_template(
        &self,
        id: i64,
        by: &str,
        at: EpochMs,
    ) -> Result<Option<ChecklistTemplate>, StoreError> {
        let row = sql::query(format!(
            "UPDATE checklist_templates SET deleted_at_ms = ?, deleted_by = ? \
             WHERE id = ? AND deleted_at_ms IS NULL RETURNING {COLUMNS}"
        ))
        .bind(at)
        .bind(by)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(template_from).transpose()
    }
}

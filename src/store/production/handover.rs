//! Handover notes: what one shift leaves the next on a line, kept per shift occurrence.

use crate::store::sql;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::EpochMs;
use crate::domain::shift::ShiftInstance;
use crate::store::{Store, StoreError};

/// A stored note.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoverRow {
    /// Id.
    pub id: i64,
    /// Line id.
    pub line: String,
    /// The shift occurrence it was written in.
    pub shift: ShiftInstance,
    /// The note.
    pub note: String,
    /// Who.
    pub written_by: String,
    /// When.
    pub written_at: EpochMs,
}

const COLUMNS: &str = "id, line_id, shift_name, shift_start_ms, shift_end_ms, note, written_by, written_at_ms";

fn row_from(r: &AnyRow) -> Result<HandoverRow, StoreError> {
    Ok(HandoverRow {
        id: r.try_get("id")?,
        line: r.try_get("line_id")?,
        shift: ShiftInstance {
            name: r.try_get("shift_name")?,
            start: r.try_get("shift_start_ms")?,
            end: r.try_get("shift_end_ms")?,
        },
        note: r.try_get("note")?,
        written_by: r.try_get("written_by")?,
        written_at: r.try_get("written_at_ms")?,
    })
}

impl Store {
    /// Stores a note written in shift occurrence `shift` of `line`.
    pub async fn insert_handover(
        &self,
        line: &str,
        shift: &ShiftInstance,
        note: &str,
        by: &str,
        at: EpochMs,
    ) -> Result<HandoverRow, StoreError> {
        let row = sql::query(format!(
            "INSERT INTO handover_notes (line_id, shift_name, shift_start_ms, shift_end_ms, note, written_by, \
             written_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}"
        ))
        .bind(line)
        .bind(&shift.name)
        .bind(shift.start)
        .bind(shift.end)
        .bind(note)
        .bind(by)
        .bind(at)
        .fetch_one(&self.pool)
        .await?;
        row_from(&row)
    }

    /// The notes of `line` written in the shift occurrence starting at `shift_start`,
    /// oldest first.
    pub async fn handover_notes(&self, line: &str, shift_start: EpochMs) -> Result<Vec<HandoverRow>, StoreError> {
        let rows = sql::query(format!(
            "SELECT {COLUMNS} FROM handover_notes WHERE line_id = ? AND shift_start_ms = ? ORDER BY written_at_ms, id"
        ))
        .bind(line)
        .bind(shift_start)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_from).collect()
    }

    /// The notes of `line` written within `[from, to)`, oldest first (for reports).
    pub async fn handover_notes_between(
        &self,
        line: &str,
        from: EpochMs,
        to: EpochMs,
    ) -> Result<Vec<HandoverRow>, StoreError> {
        let rows = sql::query(format!(
            "SELECT {COLUMNS} FROM handover_notes WHERE line_id = ? AND written_at_ms >= ? AND written_at_ms < ? \
             ORDER BY written_at_ms, id"
        ))
        .bind(line)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_from).collect()
    }
}

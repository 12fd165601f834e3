//! The central's side of store-and-forward: each record an edge forwards is applied in its
//! own transaction together with its idempotency key (`forward_applied`), so a replay
//! finds the key and changes nothing. Rows are applied as the edge had them after its
//! write: a later record of the same row replaces the earlier one.

use sqlx::Row;

use super::forward_rows::{apply_row, central_id, remember};
use super::{Store, StoreError};
use crate::domain::EpochMs;
use crate::domain::forward::{Outcome, Record};
use crate::domain::forward_tables::Ref;

/// Why a record was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The record cannot be applied as it is (the edge is told why).
    #[error("{0}")]
    Refused(String),
    /// The store failed: nothing was applied; the edge sends it again later.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ApplyError {
    /// A row the schema refuses (a unique, foreign-key, not-null or check constraint) will
    /// be refused however often it comes: the edge is told, and quarantines it in the end.
    fn from(e: sqlx::Error) -> Self {
        match e.as_database_error() {
            Some(db) if db.kind() != sqlx::error::ErrorKind::Other => {
                ApplyError::Refused(format!("the central's schema refuses the row: {}", db.message()))
            }
            _ => ApplyError::Store(StoreError::Database(e)),
        }
    }
}

/// One forwarded record with its key.
#[derive(Debug)]
pub struct Forwarded<'a> {
    /// The edge's id.
    pub edge: &'a str,
    /// The record's seq at the edge.
    pub seq: i64,
    /// Its stream.
    pub stream: &'a str,
    /// Its kind's name.
    pub kind: &'a str,
    /// The decoded row.
    pub record: &'a Record,
}

impl Store {
    /// Applies one forwarded record unless its key was applied before: `Applied` or
    /// `Duplicate`.
    pub async fn apply_forwarded(&self, f: &Forwarded<'_>, now: EpochMs) -> Result<Outcome, ApplyError> {
        let mut tx = self.write_tx().await?;
        let fresh = sqlx::query(
            "INSERT INTO forward_applied (edge, seq, stream, kind, applied_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (edge, seq) DO NOTHING RETURNING id",
        )
        .bind(f.edge)
        .bind(f.seq)
        .bind(f.stream)
        .bind(f.kind)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if fresh.is_none() {
            return Ok(Outcome::Duplicate);
        }
        match f.record {
            Record::Interval(r) => {
                sqlx::query(
                    "INSERT INTO machine_state_intervals (machine_id, start_ms, end_ms, state, micro_stop) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (machine_id, start_ms) DO UPDATE SET \
                     end_ms = excluded.end_ms, state = excluded.state, micro_stop = excluded.micro_stop",
                )
                .bind(&r.machine_id)
                .bind(r.start_ms)
                .bind(r.end_ms)
                .bind(&r.state)
                .bind(i64::from(r.micro_stop))
                .execute(&mut *tx)
                .await?;
            }
            Record::Counts(r) => {
                sqlx::query(
                    "INSERT INTO production_counts (machine_id, minute_ms, product, total, good, ideal_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (machine_id, minute_ms, product) DO UPDATE SET \
                     total = excluded.total, good = excluded.good, ideal_ms = excluded.ideal_ms",
                )
                .bind(&r.machine_id)
                .bind(r.minute_ms)
                .bind(&r.product)
                .bind(r.total)
                .bind(r.good)
                .bind(r.ideal_ms)
                .execute(&mut *tx)
                .await?;
            }
            Record::Downtime(r) => {
                let id = sqlx::query(
                    "INSERT INTO downtime_events (machine_id, line_id, start_ms, end_ms, reason, micro_stop, \
                     classified_reason, classified_comment, classified_by, classified_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (machine_id, start_ms) DO UPDATE SET end_ms = excluded.end_ms, \
                     reason = excluded.reason, micro_stop = excluded.micro_stop, \
                     classified_reason = excluded.classified_reason, \
                     classified_comment = excluded.classified_comment, \
                     classified_by = excluded.classified_by, classified_at_ms = excluded.classified_at_ms \
                     RETURNING id",
                )
                .bind(&r.machine_id)
                .bind(&r.line_id)
                .bind(r.start_ms)
                .bind(r.end_ms)
                .bind(&r.reason)
                .bind(i64::from(r.micro_stop))
                .bind(&r.classified_reason)
                .bind(&r.classified_comment)
                .bind(&r.classified_by)
                .bind(r.classified_at_ms)
                .fetch_one(&mut *tx)
                .await?;
                if let Some(edge_id) = r.id {
                    remember(&mut tx, f.edge, Ref::Downtime, edge_id, id.try_get(0)?).await?;
                }
            }
            Record::Sample(r) => {
                sqlx::query(
                    "INSERT INTO tag_samples (tag, ts_ms, value, quality) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tag, ts_ms) DO NOTHING",
                )
                .bind(&r.tag)
                .bind(r.ts_ms)
                .bind(r.value)
                .bind(&r.quality)
                .execute(&mut *tx)
                .await?;
            }
            Record::Ticket(r) => {
                let known = central_id(&mut tx, f.edge, Ref::Ticket, r.id).await?;
                let q = match known {
                    Some(_) => {
                        "UPDATE andon_tickets SET line_id = $1, machine_id = $2, category = $3, priority = $4, \
                         source = $5, description = $6, state = $7, level = $8, deadline_fired = $9, \
                         raised_at_ms = $10, raised_by = $11, acknowledged_at_ms = $12, acknowledged_by = $13, \
                         resolved_at_ms = $14, resolved_by = $15, cancelled_at_ms = $16, cancelled_by = $17, \
                         downtime_machine_id = $18, downtime_start_ms = $19, assignee = $20 WHERE id = $21 \
                         RETURNING id"
                    }
                    None => {
                        "INSERT INTO andon_tickets (line_id, machine_id, category, priority, source, description, \
                         state, level, deadline_fired, raised_at_ms, raised_by, acknowledged_at_ms, \
                         acknowledged_by, resolved_at_ms, resolved_by, cancelled_at_ms, cancelled_by, \
                         downtime_machine_id, downtime_start_ms, assignee) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                         $18, $19, $20) RETURNING id"
                    }
                };
                let mut query = sqlx::query(q)
                    .bind(&r.line_id)
                    .bind(&r.machine_id)
                    .bind(&r.category)
                    .bind(&r.priority)
                    .bind(&r.source)
                    .bind(&r.description)
                    .bind(&r.state)
                    .bind(r.level)
                    .bind(i64::from(r.deadline_fired))
                    .bind(r.raised_at_ms)
                    .bind(&r.raised_by)
                    .bind(r.acknowledged_at_ms)
                    .bind(&r.acknowledged_by)
                    .bind(r.resolved_at_ms)
                    .bind(&r.resolved_by)
                    .bind(r.cancelled_at_ms)
                    .bind(&r.cancelled_by)
                    .bind(&r.downtime_machine_id)
                    .bind(r.downtime_start_ms)
                    .bind(&r.assignee);
                if let Some(id) = known {
                    query = query.bind(id);
                }
                let id: i64 = query.fetch_one(&mut *tx).await?.try_get(0)?;
                if known.is_none() {
                    sqlx::query("INSERT INTO forward_tickets (edge, edge_ticket_id, ticket_id) VALUES ($1, $2, $3)")
                        .bind(f.edge)
                        .bind(r.id)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            Record::TicketEvent(r) => {
                let Some(id) = central_id(&mut tx, f.edge, Ref::Ticket, r.ticket_id).await? else {
                    return Err(ApplyError::Refused(format!(
                        "ticket {} of edge `{}` is not known here (its ticket record was not applied)",
                        r.ticket_id, f.edge
                    )));
                };
                sqlx::query(
                    "INSERT INTO andon_events (ticket_id, at_ms, kind, level, actor, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(r.at_ms)
                .bind(&r.kind)
                .bind(r.level)
                .bind(&r.actor)
                .bind(&r.detail)
                .execute(&mut *tx)
                .await?;
            }
            Record::Audit(r) => {
                let source = match &r.source {
                    Some(s) => format!("edge:{}/{s}", f.edge),
                    None => format!("edge:{}", f.edge),
                };
                sqlx::query(
                    "INSERT INTO audit_log (at_ms, actor, action, target, outcome, source, details) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(r.at_ms)
                .bind(&r.actor)
                .bind(&r.action)
                .bind(&r.target)
                .bind(&r.outcome)
                .bind(source)
                .bind(&r.details)
                .execute(&mut *tx)
                .await?;
            }
            Record::Row(row) => apply_row(&mut tx, f.edge, row).await?,
        }
        tx.commit().await?;
        Ok(Outcome::Applied)
    }

    /// Records applied from `edge`, in the order they were applied: (stream, seq).
    pub async fn forwarded_order(&self, edge: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT stream, seq FROM forward_applied WHERE edge = $1 ORDER BY id")
            .bind(edge)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}

//! Andon tickets, their event history and pager deliveries.

use crate::store::sql::{self, SqlBuilder};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};
use crate::domain::EpochMs;
use crate::domain::andon::{Category, Priority, Ticket, TicketSource, TicketState};
use crate::domain::snapshot::utc;

const TICKET_COLUMNS: &str = "id, line_id, machine_id, category, priority, source, description, state, level, \
     deadline_fired, raised_at_ms, raised_by, acknowledged_at_ms, acknowledged_by, resolved_at_ms, resolved_by, \
     cancelled_at_ms, cancelled_by, downtime_machine_id, downtime_start_ms, assignee";

fn ticket_from_row(r: &AnyRow) -> Option<Ticket> {
    let downtime = match (r.get::<Option<String>, _>(18), r.get::<Option<i64>, _>(19)) {
        (Some(m), Some(s)) => Some((m, s)),
        _ => None,
    };
    Some(Ticket {
        id: r.get(0),
        line: r.get(1),
        machine: r.get(2),
        category: Category::parse(r.get(3))?,
        priority: Priority::parse(r.get(4))?,
        source: TicketSource::parse(r.get(5))?,
        description: r.get(6),
        state: TicketState::parse(r.get(7))?,
        level: u32::try_from(r.get::<i64, _>(8)).unwrap_or(0),
        deadline_fired: r.get::<i64, _>(9) != 0,
        raised_at: r.get(10),
        raised_by: r.get(11),
        acknowledged_at: r.get(12),
        acknowledged_by: r.get(13),
        resolved_at: r.get(14),
        resolved_by: r.get(15),
        cancelled_at: r.get(16),
        cancelled_by: r.get(17),
        downtime,
        assignee: r.get(20),
    })
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TicketEvent {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// raised, acknowledged, resolved, cancelled, escalated, assigned, unassigned.
    pub kind: String,
    /// Escalation level, for escalations.
    pub level: Option<i64>,
    /// Who (a person, or `system`).
    pub actor: String,
    /// Free text (comment, targets paged, the new assignee).
    pub detail: Option<String>,
}

/// A pager delivery to make.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// `escalated` or `resolved`.
    pub action: &'static str,
    /// Level the page is for (0 for resolve).
    pub level: u32,
    /// Target name.
    pub target: String,
}

/// A pager delivery as logged.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NotificationRow {
    /// Id.
    pub id: i64,
    /// Ticket.
    pub ticket_id: i64,
    /// `escalated` or `resolved`.
    pub action: String,
    /// Level.
    pub level: i64,
    /// Target name.
    pub target: String,
    /// Sent once per key: `ms5-<ticket>-<action>-<level>-<target>`.
    pub idempotency_key: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// HTTP status of the last attempt.
    pub last_status: Option<i64>,
    /// Error of the last attempt.
    pub last_error: Option<String>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Delivered.
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
}

const NOTIFICATION_COLUMNS: &str = "id, ticket_id, action, level, target, idempotency_key, state, attempts, \
     last_status, last_error, created_at_ms, delivered_at_ms";

fn notification_from_row(r: &AnyRow) -> NotificationRow {
    NotificationRow {
        id: r.get(0),
        ticket_id: r.get(1),
        action: r.get(2),
        level: r.get(3),
        target: r.get(4),
        idempotency_key: r.get(5),
        state: r.get(6),
        attempts: r.get(7),
        last_status: r.get(8),
        last_error: r.get(9),
        created_at: utc(r.get(10)),
        delivered_at: r.get::<Option<i64>, _>(11).map(utc),
    }
}

/// Filters for listing tickets.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Line id.
    pub line: Option<String>,
    /// Only these lines (a caller's line scope); `None`: all.
    pub lines: Option<Vec<String>>,
    /// State.
    pub state: Option<TicketState>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Raised at or after.
    pub from: Option<EpochMs>,
    /// Raised before.
    pub to: Option<EpochMs>,
    /// Most rows.
    pub limit: i64,
}

async fn add_notifications(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ticket: i64,
    rows: &[NewNotification],
    at: EpochMs,
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::new();
    for n in rows {
        let key = format!("ms5-{ticket}-{}-{}-{}", n.action, n.level, n.target);
        let id: Option<i64> = sql::query_scalar(
            "INSERT INTO notifications (ticket_id, action, level, target, idempotency_key, state, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(ticket)
        .bind(n.action)
        .bind(i64::from(n.level))
        .bind(&n.target)
        .bind(key)
        .bind(at)
        .fetch_optional(&mut **tx)
        .await?;
        ids.extend(id);
    }
    Ok(ids)
}

async fn add_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ticket: i64,
    at: EpochMs,
    kind: &str,
    level: Option<u32>,
    actor: &str,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    sql::query("INSERT INTO andon_events (ticket_id, at_ms, kind, level, actor, detail) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(ticket)
        .bind(at)
        .bind(kind)
        .bind(level.map(i64::from))
        .bind(actor)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Stores a new ticket and its `raised` event; returns its id, or `None` when an
    /// auto-raised ticket for the same downtime event exists already.
    pub async fn insert_ticket(&self, t: &Ticket) -> Result<Option<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: Option<i64> = sql::query_scalar(
            "INSERT INTO andon_tickets (line_id, machine_id, category, priority, source, description, state, level, \
             deadline_fired, raised_at_ms, raised_by, downtime_machine_id, downtime_start_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?) \
             ON CONFLICT (downtime_machine_id, downtime_start_ms) DO NOTHING RETURNING id",
        )
        .bind(&t.line)
        .bind(&t.machine)
        .bind(t.category.as_str())
        .bind(t.priority.as_str())
        .bind(t.source.as_str())
        .bind(&t.description)
        .bind(t.state.as_str())
        .bind(t.raised_at)
        .bind(&t.raised_by)
        .bind(t.downtime.as_ref().map(|d| d.0.clone()))
        .bind(t.downtime.as_ref().map(|d| d.1))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = id {
            add_event(
                &mut tx,
                id,
                t.raised_at,
                "raised",
                None,
                &t.raised_by,
                Some(&t.description),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Stores a ticket's new assignee with its `assigned` (or, to nobody, `unassigned`) event.
    pub async fn record_assignment(&self, t: &Ticket, actor: &str, at: EpochMs) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sql::query("UPDATE andon_tickets SET assignee = ? WHERE id = ?")
            .bind(&t.assignee)
            .bind(t.id)
            .execute(&mut *tx)
            .await?;
        let kind = if t.assignee.is_some() { "assigned" } else { "unassigned" };
        add_event(&mut tx, t.id, at, kind, None, actor, t.assignee.as_deref()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a transition (acknowledge, resolve, cancel) with its event, and the pages it
    /// causes; returns the ids of new deliveries.
    pub async fn record_transition(
        &self,
        t: &Ticket,
        kind: &str,
        actor: &str,
        comment: Option<&str>,
        at: EpochMs,
        pages: &[NewNotification],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        sql::query(
            "UPDATE andon_tickets SET state = ?, acknowledged_at_ms = ?, acknowledged_by = ?, resolved_at_ms = ?, \
             resolved_by = ?, cancelled_at_ms = ?, cancelled_by = ? WHERE id = ?",
        )
        .bind(t.state.as_str())
        .bind(t.acknowledged_at)
        .bind(&t.acknowledged_by)
        .bind(t.resolved_at)
        .bind(&t.resolved_by)
        .bind(t.cancelled_at)
        .bind(&t.cancelled_by)
        .bind(t.id)
        .execute(&mut *tx)
        .await?;
        add_event(&mut tx, t.id, at, kind, None, actor, comment).await?;
        let ids = add_notifications(&mut tx, t.id, pages, at).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Stores a fired escalation (new level), its event and its pages, in one transaction:
    /// after a restart the level is known to have fired and is not paged again. Answers the
    /// pages to send: none when the store has the escalation already (another replica's).
    pub async fn record_escalation(
        &self,
        t: &Ticket,
        level: u32,
        at: EpochMs,
        pages: &[NewNotification],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        // Only an escalation the store has not seen: of two replicas that both judge a
        // level due (one frozen past its lease), one records it and pages.
        let advanced = sql::query(
            "UPDATE andon_tickets SET level = ?, deadline_fired = ? \
             WHERE id = ? AND (level < ? OR deadline_fired < ?)",
        )
        .bind(i64::from(t.level))
        .bind(i64::from(t.deadline_fired))
        .bind(t.id)
        .bind(i64::from(t.level))
        .bind(i64::from(t.deadline_fired))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if advanced == 0 {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let targets: Vec<&str> = pages.iter().map(|p| p.target.as_str()).collect();
        add_event(
            &mut tx,
            t.id,
            at,
            "escalated",
            Some(level),
            "system",
            Some(&targets.join(", ")),
        )
        .await?;
        let ids = add_notifications(&mut tx, t.id, pages, at).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// A ticket by id.
    pub async fn ticket(&self, id: i64) -> Result<Option<Ticket>, StoreError> {
        let row = sql::query(format!("SELECT {TICKET_COLUMNS} FROM andon_tickets WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().and_then(ticket_from_row))
    }

    /// Tickets still open or acknowledged, oldest first.
    pub async fn active_tickets(&self) -> Result<Vec<Ticket>, StoreError> {
        let rows = sql::query(format!(
            "SELECT {TICKET_COLUMNS} FROM andon_tickets WHERE state IN ('open', 'acknowledged') ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(ticket_from_row).collect())
    }

    /// Tickets matching a filter, newest first.
    pub async fn tickets(&self, f: &TicketFilter) -> Result<Vec<Ticket>, StoreError> {
        let mut q = SqlBuilder::new(format!("SELECT {TICKET_COLUMNS} FROM andon_tickets WHERE 1 = 1"));
        if let Some(line) = &f.line {
            q.push(" AND line_id = ").push_bind(line.clone());
        }
        super::push_line_scope(&mut q, f.lines.as_deref());
        if let Some(state) = f.state {
            q.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(p) = f.priority {
            q.push(" AND priority = ").push_bind(p.as_str());
        }
        if let Some(from) = f.from {
            q.push(" AND raised_at_ms >= ").push_bind(from);
        }
        if let Some(to) = f.to {
            q.push(" AND raised_at_ms < ").push_bind(to);
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
        let rows = q.build()?.fetch_all(&self.pool).await?;
        Ok(rows.iter().filter_map(ticket_from_row).collect())
    }

    /// A ticket's history, oldest first.
    pub async fn ticket_events(&self, id: i64) -> Result<Vec<TicketEvent>, StoreError> {
        let rows =
            sql::query("SELECT at_ms, kind, level, actor, detail FROM andon_events WHERE ticket_id = ? ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|r| TicketEvent {
                at: utc(r.get(0)),
                kind: r.get(1),
                level: r.get(2),
                actor: r.get(3),
                detail: r.get(4),
            })
            .collect())
    }

    /// A ticket's deliveries, oldest first.
    pub async fn ticket_notifications(&self, id: i64) -> Result<Vec<NotificationRow>, StoreError> {
        let rows = sql::query(format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE ticket_id = ? ORDER BY id"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(notification_from_row).collect())
    }

    /// One delivery.
    pub async fn notification(&self, id: i64) -> Result<Option<NotificationRow>, StoreError> {
        let row = sql::query(format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(notification_from_row))
    }

    /// Deliveries not yet delivered or given up (retried after a restart).
    pub async fn pending_notifications(&self) -> Result<Vec<i64>, StoreError> {
        Ok(
            sql::query_scalar("SELECT id FROM notifications WHERE state = 'pending' ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Records an attempt's outcome.
    pub async fn update_notification(
        &self,
        id: i64,
        state: &str,
        attempts: u32,
        status: Option<u16>,
        error: Option<&str>,
        delivered_at: Option<EpochMs>,
    ) -> Result<(), StoreError> {
        sql::query(
            "UPDATE notifications SET state = ?, attempts = ?, last_status = ?, last_error = ?, delivered_at_ms = ? \
             WHERE id = ?",
        )
        .bind(state)
        .bind(i64::from(attempts))
        .bind(status.map(i64::from))
        .bind(error)
        .bind(delivered_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Targets that were paged about a ticket's escalations (to page them its resolution).
    pub async fn paged_targets(&self, ticket: i64) -> Result<Vec<String>, StoreError> {
        Ok(sql::query_scalar(
            "SELECT DISTINCT target FROM notifications WHERE ticket_id = ? AND action = 'escalated' ORDER BY target",
        )
        .bind(ticket)
        .fetch_all(&self.pool)
        .await?)
    }
}

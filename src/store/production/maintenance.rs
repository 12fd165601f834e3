//! Maintenance orders: the orders, their history (every transition and note, who and
//! when), work notes and parts used. Each write is one transaction, and a transition only
//! applies if the order is still in the state it was read in (no lost update).

use crate::store::sql::{self, SqlBuilder};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::EpochMs;
use crate::domain::andon::Priority;
use crate::domain::production::maintenance::{Order, OrderAction, OrderState};
use crate::domain::production::maintenance_fields::PartUsed;
use crate::domain::snapshot::utc;
use crate::store::{Store, StoreError, push_line_scope};

const COLUMNS: &str = "id, machine_id, line_id, problem, priority, assignee, state, downtime_id, ticket_id, \
     created_at_ms, created_by, started_at_ms, started_by, completed_at_ms, completed_by, cancelled_at_ms, \
     cancelled_by, minutes_spent";

fn order_from_row(r: &AnyRow) -> Option<Order> {
    Some(Order {
        id: r.get(0),
        machine: r.get(1),
        line: r.get(2),
        problem: r.get(3),
        priority: Priority::parse(r.get(4))?,
        assignee: r.get(5),
        state: OrderState::parse(r.get(6))?,
        downtime_id: r.get(7),
        ticket_id: r.get(8),
        created_at: r.get(9),
        created_by: r.get(10),
        started_at: r.get(11),
        started_by: r.get(12),
        completed_at: r.get(13),
        completed_by: r.get(14),
        cancelled_at: r.get(15),
        cancelled_by: r.get(16),
        minutes_spent: r.get(17),
    })
}

/// A new order (who and when are in `created_by` and `created_at`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// Machine.
    pub machine: String,
    /// Its line.
    pub line: String,
    /// What is wrong.
    pub problem: String,
    /// How urgent.
    pub priority: Priority,
    /// Who should do it.
    pub assignee: Option<String>,
    /// The downtime event it comes from.
    pub downtime_id: Option<i64>,
    /// The Andon ticket it comes from.
    pub ticket_id: Option<i64>,
    /// When.
    pub created_at: EpochMs,
    /// Who.
    pub created_by: String,
}

/// Filters for listing orders.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Machine id.
    pub machine: Option<String>,
    /// Line id.
    pub line: Option<String>,
    /// Only these lines (a caller's line scope); `None`: all.
    pub lines: Option<Vec<String>>,
    /// State.
    pub state: Option<OrderState>,
    /// Created at or after.
    pub from: Option<EpochMs>,
    /// Created before.
    pub to: Option<EpochMs>,
    /// Most rows.
    pub limit: i64,
}

/// One entry of an order's history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderEvent {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// created, started, completed, cancelled or note.
    pub kind: String,
    /// Who.
    pub actor: String,
    /// The comment or note, if any.
    pub detail: Option<String>,
}

/// A work note.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderNote {
    /// Id.
    pub id: i64,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who wrote it.
    pub author: String,
    /// What was done or found.
    pub note: String,
    /// Minutes of work it accounts for.
    pub minutes_spent: Option<i64>,
    /// Parts used.
    pub parts_used: Vec<PartUsed>,
}

/// A note to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNote {
    /// The text.
    pub note: String,
    /// Parts used.
    pub parts: Vec<PartUsed>,
    /// Minutes of work.
    pub minutes: Option<i64>,
}

async fn add_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    order: i64,
    at: EpochMs,
    kind: &str,
    actor: &str,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    sql::query("INSERT INTO maintenance_order_events (order_id, at_ms, kind, actor, detail) VALUES (?, ?, ?, ?, ?)")
        .bind(order)
        .bind(at)
        .bind(kind)
        .bind(actor)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Stores a new open order and its `created` event; returns it.
    pub async fn insert_order(&self, o: &NewOrder) -> Result<Order, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sql::query_scalar(
            "INSERT INTO maintenance_orders (machine_id, line_id, problem, priority, assignee, state, downtime_id, \
             ticket_id, created_at_ms, created_by) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?) RETURNING id",
        )
        .bind(&o.machine)
        .bind(&o.line)
        .bind(&o.problem)
        .bind(o.priority.as_str())
        .bind(&o.assignee)
        .bind(o.downtime_id)
        .bind(o.ticket_id)
        .bind(o.created_at)
        .bind(&o.created_by)
        .fetch_one(&mut *tx)
        .await?;
        add_event(&mut tx, id, o.created_at, "created", &o.created_by, Some(&o.problem)).await?;
        tx.commit().await?;
        Ok(Order {
            id,
            machine: o.machine.clone(),
            line: o.line.clone(),
            problem: o.problem.clone(),
            priority: o.priority,
            assignee: o.assignee.clone(),
            state: OrderState::Open,
            downtime_id: o.downtime_id,
            ticket_id: o.ticket_id,
            created_at: o.created_at,
            created_by: o.created_by.clone(),
            started_at: None,
            started_by: None,
            completed_at: None,
            completed_by: None,
            cancelled_at: None,
            cancelled_by: None,
            minutes_spent: 0,
        })
    }

    /// An order by id.
    pub async fn order(&self, id: i64) -> Result<Option<Order>, StoreError> {
        let row = sql::query(format!("SELECT {COLUMNS} FROM maintenance_orders WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().and_then(order_from_row))
    }

    /// Orders matching a filter, newest first.
    pub async fn orders(&self, f: &OrderFilter) -> Result<Vec<Order>, StoreError> {
        let mut q = SqlBuilder::new(format!("SELECT {COLUMNS} FROM maintenance_orders WHERE 1 = 1"));
        if let Some(machine) = &f.machine {
            q.push(" AND machine_id = ").push_bind(machine.clone());
        }
        if let Some(line) = &f.line {
            q.push(" AND line_id = ").push_bind(line.clone());
        }
        push_line_scope(&mut q, f.lines.as_deref());
        if let Some(state) = f.state {
            q.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(from) = f.from {
            q.push(" AND created_at_ms >= ").push_bind(from);
        }
        if let Some(to) = f.to {
            q.push(" AND created_at_ms < ").push_bind(to);
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
        let rows = q.build()?.fetch_all(&self.pool).await?;
        Ok(rows.iter().filter_map(order_from_row).collect())
    }

    /// Stores a transition from `before` to `after` with its event, only if the order is
    /// still in `before.state`; `false` (nothing written) when it has moved meanwhile.
    pub async fn record_order_transition(
        &self,
        before: &Order,
        after: &Order,
        action: OrderAction,
        at: EpochMs,
        actor: &str,
        comment: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sql::query(
            "UPDATE maintenance_orders SET state = ?, assignee = ?, started_at_ms = ?, started_by = ?, \
             completed_at_ms = ?, completed_by = ?, cancelled_at_ms = ?, cancelled_by = ? WHERE id = ? AND state = ?",
        )
        .bind(after.state.as_str())
        .bind(&after.assignee)
        .bind(after.started_at)
        .bind(&after.started_by)
        .bind(after.completed_at)
        .bind(&after.completed_by)
        .bind(after.cancelled_at)
        .bind(&after.cancelled_by)
        .bind(before.id)
        .bind(before.state.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        add_event(&mut tx, before.id, at, action.event(), actor, comment).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds a note with its parts and minutes, only while the order is open or in
    /// progress; `false` (nothing written) otherwise.
    pub async fn add_order_note(&self, id: i64, n: &NewNote, at: EpochMs, author: &str) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sql::query(
            "UPDATE maintenance_orders SET minutes_spent = minutes_spent + ? \
             WHERE id = ? AND state IN ('open', 'in_progress')",
        )
        .bind(n.minutes.unwrap_or(0))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let note_id: i64 = sql::query_scalar(
            "INSERT INTO maintenance_notes (order_id, at_ms, author, note, minutes_spent) VALUES (?, ?, ?, ?, ?) \
             RETURNING id",
        )
        .bind(id)
        .bind(at)
        .bind(author)
        .bind(&n.note)
        .bind(n.minutes)
        .fetch_one(&mut *tx)
        .await?;
        for p in &n.parts {
            sql::query("INSERT INTO maintenance_parts (note_id, order_id, part, quantity) VALUES (?, ?, ?, ?)")
                .bind(note_id)
                .bind(id)
                .bind(&p.part)
                .bind(p.quantity)
                .execute(&mut *tx)
                .await?;
        }
        add_event(&mut tx, id, at, OrderAction::Note.event(), author, Some(&n.note)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// An order's history, oldest first.
    pub async fn order_events(&self, id: i64) -> Result<Vec<OrderEvent>, StoreError> {
        let rows = sql::query(
            "SELECT at_ms, kind, actor, detail FROM maintenance_order_events WHERE order_id = ? ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| OrderEvent {
                at: utc(r.get(0)),
                kind: r.get(1),
                actor: r.get(2),
                detail: r.get(3),
            })
            .collect())
    }

    /// An order's notes with their parts, oldest first.
    pub async fn order_notes(&self, id: i64) -> Result<Vec<OrderNote>, StoreError> {
        let notes = sql::query(
            "SELECT id, at_ms, author, note, minutes_spent FROM maintenance_notes WHERE order_id = ? ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let parts = sql::query("SELECT note_id, part, quantity FROM maintenance_parts WHERE order_id = ? ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(notes
            .iter()
            .map(|r| {
                let note_id: i64 = r.get(0);
                OrderNote {
                    id: note_id,
                    at: utc(r.get(1)),
                    author: r.get(2),
                    note: r.get(3),
                    minutes_spent: r.get(4),
                    parts_used: parts
                        .iter()
                        .filter(|p| p.get::<i64, _>(0) == note_id)
                        .map(|p| PartUsed {
                            part: p.get(1),
                            quantity: p.get(2),
                        })
                        .collect(),
                }
            })
            .collect())
    }
}

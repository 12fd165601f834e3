//! Durable history: SQLite (embedded default, WAL mode) or PostgreSQL (TimescaleDB when
//! present) through sqlx, with migrations applied at start and by `ms5 migrate`.
//!
//! Writes come in batches from the telemetry writer, off the hot path; reads serve restart
//! (machine windows rebuilt from recent history) and past-window OEE.

mod accounts;
mod andon;
mod audit;
mod backend;
pub mod backup;
pub mod batch;
mod downtime;
mod forward;
pub use forward::{OutboxRow, OutboxStats, QuarantinedRecord};
mod forward_apply;
mod forward_rows;
pub use forward_apply::{ApplyError, Forwarded};
mod history;
mod idempotency;
mod lease;
pub use idempotency::KeptAnswer;
pub use lease::Held;
mod production;
pub use production::{JobFilter, JobPlan, JobRecord, StoredReport};
mod postgres;
mod retention;
mod sql;
mod telemetry;
pub use telemetry::Fence;

pub use accounts::{DisplayToken, NewRefresh, RefreshRow, TokenRevocations, User, UserChange};
pub use andon::{NewNotification, NotificationRow, TicketEvent, TicketFilter};
pub use audit::{AuditEntry, AuditFilter, AuditRecord};
pub use downtime::{DowntimeFilter, DowntimeRecord};
pub use production::checklist_templates::ChecklistTemplate;
pub use production::checklists::{ChecklistFilter, ChecklistRow, NewChecklist, job_start_blocker};
pub use production::handover::HandoverRow;
pub use production::maintenance::{NewNote, NewOrder, OrderEvent, OrderFilter, OrderNote};
pub use production::rejects::{Logged, NewReject, RejectFilter, RejectRecord, RejectVoid, Voided};

pub(crate) use backend::Backend;
pub use backend::{Store, database_file, is_postgres, is_sqlite};
pub use postgres::Layout;
#[doc(hidden)]
pub use postgres::copy::sample_line as copy_line;
pub use retention::{Purged, Retention, cutoff};
use sql::SqlBuilder;

/// Adds `AND line_id IN (…)` for a line scope (an empty scope matches nothing).
fn push_line_scope(q: &mut SqlBuilder, lines: Option<&[String]>) {
    let Some(lines) = lines else { return };
    if lines.is_empty() {
        q.push(" AND 0 = 1");
        return;
    }
    q.push(" AND line_id IN (");
    let mut sep = q.separated(", ");
    for l in lines {
        sep.push_bind(l.clone());
    }
    q.push(")");
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A newer MS5 migrated the database: this binary would misread it.
    #[error(
        "the database was migrated by a newer MS5 (schema version {database}; this binary knows up to \
         {binary}): run the newer binary, or restore a backup taken before the upgrade \
         (see Rollback in docs/operations.md)"
    )]
    SchemaNewer {
        /// The newest migration in the database.
        database: i64,
        /// The newest migration this binary has.
        binary: i64,
    },
    /// A unique key is taken (a username, say).
    #[error("{0}")]
    Conflict(String),
    /// A row could not be encoded for storing (a report as JSON).
    #[error("cannot encode: {0}")]
    Encode(String),
    /// The store URL or its directory is unusable.
    #[error("store url `{url}`: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

//! Durable history: SQLite (embedded default, WAL mode) through sqlx, with migrations
//! applied at start and by `ms5 migrate`.
//!
//! Writes come in batches from the telemetry writer, off the hot path; reads serve restart
//! (machine windows rebuilt from recent history) and past-window OEE.

mod andon;
pub mod batch;
mod downtime;
mod sqlite;

pub use andon::{NewNotification, NotificationRow, TicketEvent, TicketFilter};
pub use downtime::{DowntimeFilter, DowntimeRecord};

pub use sqlite::Store;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store URL or its directory is unusable.
    #[error("store url `{url}`: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

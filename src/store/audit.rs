//! The audit log: appended to, read with filters, never changed (triggers in the schema
//! refuse UPDATE and DELETE; no code path issues them).

use crate::store::sql::{self, SqlBuilder};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{Store, StoreError};
use crate::domain::EpochMs;
use crate::domain::snapshot::utc;

/// One entry to append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// When.
    pub at: EpochMs,
    /// Who (username, `display:…`, `ingest-token`, or the name tried at a failed login).
    pub actor: String,
    /// What, dotted: `auth.login`, `andon.acknowledge`, `flag.set` …
    pub action: &'static str,
    /// What it was done to (ticket id, username, flag name).
    pub target: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: &'static str,
    /// Client address.
    pub source: Option<String>,
    /// Anything else worth keeping.
    pub details: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditRecord {
    /// Id, increasing.
    pub id: i64,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    /// Client address.
    pub source: Option<String>,
    /// Details.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact actor.
    pub actor: Option<String>,
    /// Action, or a prefix ending in `.` (`andon.`).
    pub action: Option<String>,
    /// Exact target.
    pub target: Option<String>,
    /// From (inclusive).
    pub from: Option<EpochMs>,
    /// To (exclusive).
    pub to: Option<EpochMs>,
    /// Entries older than this id (paging).
    pub before_id: Option<i64>,
    /// Most entries.
    pub limit: i64,
}

impl Store {
    /// Appends an entry.
    pub async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO audit_log (at_ms, actor, action, target, outcome, source, details)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.at)
        .bind(&e.actor)
        .bind(e.action)
        .bind(&e.target)
        .bind(e.outcome)
        .bind(&e.source)
        .bind(e.details.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Appends an entry for a change that has already happened: a failure is logged and
    /// counted (`ms5_audit_write_errors_total`), not returned.
    pub async fn record_audit(&self, e: &AuditEntry) {
        if let Err(err) = self.append_audit(e).await {
            metrics::counter!(crate::metrics::AUDIT_FAILURES).increment(1);
            tracing::error!(error = %err, action = e.action, actor = %e.actor, "cannot append to the audit log");
        }
    }

    /// Entries matching `f`, newest first.
    pub async fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let mut q = SqlBuilder::new("SELECT * FROM audit_log WHERE 1 = 1");
        if let Some(a) = &f.actor {
            q.push(" AND actor = ").push_bind(a.clone());
        }
        match f.action.as_deref() {
            Some(prefix) if prefix.ends_with('.') => {
                q.push(" AND substr(action, 1, ")
                    .push_bind(i32::try_from(prefix.len()).unwrap_or(i32::MAX)) // substr takes an integer on PostgreSQL
                    .push(") = ")
                    .push_bind(prefix.to_owned());
            }
            Some(action) => {
                q.push(" AND action = ").push_bind(action.to_owned());
            }
            None => {}
        }
        if let Some(t) = &f.target {
            q.push(" AND target = ").push_bind(t.clone());
        }
        if let Some(from) = f.from {
            q.push(" AND at_ms >= ").push_bind(from);
        }
        if let Some(to) = f.to {
            q.push(" AND at_ms < ").push_bind(to);
        }
        if let Some(id) = f.before_id {
            q.push(" AND id < ").push_bind(id);
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
        let rows = q.build()?.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let details: Option<String> = r.try_get("details")?;
                Ok(AuditRecord {
                    id: r.try_get("id")?,
                    at: utc(r.try_get("at_ms")?),
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    outcome: r.try_get("outcome")?,
                    source: r.try_get("source")?,
                    details: details
                        .and_then(|d| serde_json::from_str(&d).ok())
                        .unwrap_or(serde_json::Value::Null),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Runs raw SQL against the store (tests prove the audit log refuses changes).
    #[doc(hidden)]
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        Ok(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Runs a raw query that answers one number (tests look into the tables with it).
    #[doc(hidden)]
    pub async fn count_raw(&self, sql: &str) -> Result<i64, StoreError> {
        Ok(sql::query_scalar(sql.to_owned()).fetch_one(&self.pool).await?)
    }
}

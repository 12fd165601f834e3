//! TimescaleDB, when the server has it: the telemetry tables become hypertables with one
//! chunk per day; where the edition offers them (the Timescale License, not the Apache
//! one), compression after a week and retention run as TimescaleDB policies.

use sqlx::PgPool;

use super::partitions::{DAY_MS, TABLES};
use crate::store::StoreError;

/// How the telemetry tables are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Declarative day partitions kept by MS5.
    Partitioned,
    /// Hypertables; `policies` when the edition runs compression and retention itself.
    Hypertables {
        /// Compression and retention are TimescaleDB policies.
        policies: bool,
    },
}

/// Whether the server can load TimescaleDB (it must be in `shared_preload_libraries`).
async fn loadable(pg: &PgPool) -> Result<bool, StoreError> {
    let available: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')")
            .fetch_one(pg)
            .await?;
    if !available {
        return Ok(false);
    }
    match sqlx::query("CREATE EXTENSION IF NOT EXISTS timescaledb")
        .execute(pg)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => {
            tracing::warn!(error = %e, "TimescaleDB is installed but cannot be loaded: using plain day partitions");
            Ok(false)
        }
    }
}

/// Whether `table` is a hypertable already.
async fn is_hypertable(pg: &PgPool, table: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = $1)",
    )
    .bind(table)
    .fetch_one(pg)
    .await?)
}

/// The layout in use, turning the (still empty) partitioned tables into hypertables the
/// first time TimescaleDB is there. Tables that already hold rows keep their partitions.
pub(crate) async fn adopt(pg: &PgPool, retention_ms: i64) -> Result<Layout, StoreError> {
    if !loadable(pg).await? {
        return Ok(Layout::Partitioned);
    }
    let license: Option<String> = sqlx::query_scalar("SELECT current_setting('timescaledb.license', true)")
        .fetch_one(pg)
        .await?;
    let policies = license.as_deref() == Some("timescale");
    // Integer time: policies ask this function what "now" is, in ms.
    sqlx::raw_sql(
        "CREATE OR REPLACE FUNCTION ms5_now_ms() RETURNS BIGINT LANGUAGE SQL STABLE AS \
         $$ SELECT (extract(epoch FROM now()) * 1000)::BIGINT $$",
    )
    .execute(pg)
    .await?;
    let mut converted = 0;
    for (table, column) in TABLES {
        if is_hypertable(pg, table).await? {
            converted += 1;
            continue;
        }
        let empty: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT NOT EXISTS (SELECT 1 FROM {table})"
        )))
        .fetch_one(pg)
        .await?;
        if !empty {
            continue;
        }
        let mut tx = pg.begin().await?;
        for statement in [
            format!("ALTER TABLE {table} RENAME TO {table}_partitioned"),
            format!("CREATE TABLE {table} (LIKE {table}_partitioned INCLUDING ALL)"),
            format!("DROP TABLE {table}_partitioned CASCADE"),
            format!("SELECT create_hypertable('{table}', by_range('{column}', {DAY_MS}::BIGINT))"),
            format!("SELECT set_integer_now_func('{table}', 'ms5_now_ms')"),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *tx).await?;
        }
        if policies {
            let segment = if table == "tag_samples" { "tag" } else { "machine_id" };
            for statement in [
                format!("ALTER TABLE {table} SET (timescaledb.compress, timescaledb.compress_segmentby = '{segment}')"),
                format!(
                    "SELECT add_compression_policy('{table}', compress_after => {}::BIGINT)",
                    7 * DAY_MS
                ),
                format!("SELECT add_retention_policy('{table}', drop_after => {retention_ms}::BIGINT)"),
            ] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        converted += 1;
    }
    Ok(if converted == TABLES.len() {
        Layout::Hypertables { policies }
    } else {
        Layout::Partitioned
    })
}

/// Drops the chunks of `table` wholly older than `cutoff` (the Apache edition's retention).
pub(crate) async fn drop_chunks(pg: &PgPool, table: &str, cutoff: i64) -> Result<(), StoreError> {
    sqlx::query("SELECT drop_chunks(to_regclass($1), older_than => $2::BIGINT)")
        .bind(table)
        .bind(cutoff)
        .execute(pg)
        .await?;
    Ok(())
}

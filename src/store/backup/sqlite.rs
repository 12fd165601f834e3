//! SQLite: `VACUUM INTO` and a checked file copy.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{BackupError, Copied, check_versions};
use crate::store::{Store, StoreError, sql};

/// `VACUUM INTO dest`: the database as of one instant, while MS5 keeps serving.
pub(super) async fn backup(store: &Store, dest: &Path) -> Result<Copied, BackupError> {
    let target = dest.to_str().ok_or_else(|| BackupError::NotABackup {
        path: dest.to_owned(),
        reason: "the path is not UTF-8".into(),
    })?;
    sql::query("VACUUM INTO ?")
        .bind(target)
        .execute(&store.pool)
        .await
        .map_err(StoreError::from)?;
    // Any schema is copied as it is: only a restore must refuse a newer one.
    inspect(dest, false).await
}

/// The migrations recorded in a database file opened natively (none for a new one).
async fn applied_versions(pool: &sqlx::SqlitePool) -> Result<Option<Vec<i64>>, StoreError> {
    let table: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_optional(pool)
            .await?;
    if table.is_none() {
        return Ok(None);
    }
    let rows = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = 1 ORDER BY version")
        .fetch_all(pool)
        .await?;
    Ok(Some(rows.iter().map(|r| r.get::<i64, _>(0)).collect()))
}

/// Opens `file` read-only and checks that it is a whole MS5 database (and, with
/// `runnable`, one this binary can run).
async fn inspect(file: &Path, runnable: bool) -> Result<Copied, BackupError> {
    let not = |reason: String| BackupError::NotABackup {
        path: file.to_owned(),
        reason,
    };
    // Fails early, naming the file, when it cannot be read.
    std::fs::metadata(file).map_err(|source| BackupError::Io {
        path: file.to_owned(),
        source,
    })?;
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|e| not(e.to_string()))?
        .filename(file)
        .read_only(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| not(e.to_string()))?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .map_err(|e| not(e.to_string()))?;
    if verdict != "ok" {
        return Err(not(format!("integrity check: {verdict}")));
    }
    let Some(applied) = applied_versions(&pool).await? else {
        return Err(not("it has no MS5 schema (no _sqlx_migrations table)".into()));
    };
    if runnable {
        check_versions(&applied)?;
    }
    pool.close().await;
    Copied::of(file, applied.iter().copied().max().unwrap_or(0))
}

/// Puts the backup `from` where `url`'s database goes, when nothing is there, then applies
/// this binary's newer migrations to it (an older backup comes up to date).
pub(super) async fn restore(from: &Path, url: &str) -> Result<Copied, BackupError> {
    inspect(from, true).await?;
    let target = crate::store::database_file(url).ok_or_else(|| BackupError::NoFile(url.to_owned()))?;
    for suffix in ["", "-wal", "-shm"] {
        let mut path = target.clone().into_os_string();
        path.push(suffix);
        if Path::new(&path).exists() {
            return Err(BackupError::Live(target));
        }
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    };
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    // Copy beside the target, then rename: a crash leaves no half database under its name.
    let mut partial = target.clone().into_os_string();
    partial.push(".restoring");
    let partial = PathBuf::from(partial);
    std::fs::copy(from, &partial).map_err(io(&partial))?;
    std::fs::rename(&partial, &target).map_err(io(&target))?;
    let store = Store::connect(url).await?;
    store.migrate().await?;
    store.close().await;
    inspect(&target, true).await
}

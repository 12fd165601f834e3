//! Online backup and restore of the SQLite database (`ms5 backup`, `ms5 restore`), and the
//! schema version check that keeps an older binary off a database a newer one migrated.
//!
//! A backup is `VACUUM INTO`: one read transaction, so the copy is the database as of one
//! instant, and in WAL mode it neither blocks nor waits for the server's writes. A restore
//! checks the copy (integrity, MS5's schema, not newer than this binary) and puts it where
//! the configured database would be, only when nothing is there.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{Store, StoreError};

/// What a backup or restore could not do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The backup file exists already.
    #[error("{0} exists: a backup never overwrites a file; pick a new name")]
    Exists(PathBuf),
    /// The configured database does not exist.
    #[error("no database at {0}: nothing to back up (check --config and MS5__STORE__URL)")]
    NoDatabase(PathBuf),
    /// A database (or its WAL) is where the restore would go.
    #[error(
        "refusing to restore over {0}: a database is there (stop MS5 and move the database and its \
         -wal and -shm files away, or restore into a fresh data directory)"
    )]
    Live(PathBuf),
    /// The file is not a usable MS5 database.
    #[error("{path} is not an MS5 backup: {reason}")]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The store URL names no file (an in-memory database).
    #[error("store url `{0}` names no database file")]
    NoFile(String),
    /// Reading or writing files.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The store said no.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was backed up or restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The file written.
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The newest migration applied to it.
    pub schema: i64,
}

/// Migrations recorded in a database that this binary does not have, oldest first: a newer
/// MS5 made them. (Versions this binary has but the database lacks are simply pending.)
pub fn unknown_versions(applied: &[i64], known: &[i64]) -> Vec<i64> {
    let mut unknown: Vec<i64> = applied.iter().copied().filter(|v| !known.contains(v)).collect();
    unknown.sort_unstable();
    unknown
}

/// The versions of this binary's migrations.
pub(super) fn known_versions() -> Vec<i64> {
    super::sqlite::migrator().iter().map(|m| m.version).collect()
}

/// The migrations recorded in the database behind `pool` (none for a new database).
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

/// Refuses a database that a newer MS5 migrated.
pub(super) async fn check_schema(pool: &sqlx::SqlitePool) -> Result<(), StoreError> {
    let Some(applied) = applied_versions(pool).await? else {
        return Ok(());
    };
    let known = known_versions();
    let unknown = unknown_versions(&applied, &known);
    if let Some(&newest) = unknown.last() {
        return Err(StoreError::SchemaNewer {
            database: newest,
            binary: known.iter().copied().max().unwrap_or(0),
        });
    }
    Ok(())
}

impl Store {
    /// Writes a consistent copy of the database to `dest` while MS5 keeps serving.
    pub async fn backup_to(&self, dest: &Path) -> Result<Copied, BackupError> {
        if dest.exists() {
            return Err(BackupError::Exists(dest.to_owned()));
        }
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| BackupError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let target = dest.to_str().ok_or_else(|| BackupError::NotABackup {
            path: dest.to_owned(),
            reason: "the path is not UTF-8".into(),
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        // Any schema is copied as it is: only a restore must refuse a newer one.
        inspect(dest, false).await
    }
}

/// Opens `file` read-only and checks that it is a whole MS5 database (and, with
/// `runnable`, one this binary can run).
async fn inspect(file: &Path, runnable: bool) -> Result<Copied, BackupError> {
    let not = |reason: String| BackupError::NotABackup {
        path: file.to_owned(),
        reason,
    };
    let bytes = std::fs::metadata(file)
        .map_err(|source| BackupError::Io {
            path: file.to_owned(),
            source,
        })?
        .len();
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
        check_schema(&pool).await?;
    }
    pool.close().await;
    Ok(Copied {
        file: file.to_owned(),
        bytes,
        schema: applied.iter().copied().max().unwrap_or(0),
    })
}

/// The database file of `url`, which must exist: the source of a backup.
pub fn existing_database(url: &str) -> Result<PathBuf, BackupError> {
    let file = super::database_file(url).ok_or_else(|| BackupError::NoFile(url.to_owned()))?;
    if !file.exists() {
        return Err(BackupError::NoDatabase(file));
    }
    Ok(file)
}

/// Puts the backup `from` where `url`'s database goes, when nothing is there, then applies
/// this binary's newer migrations to it (an older backup comes up to date).
pub async fn restore(from: &Path, url: &str) -> Result<Copied, BackupError> {
    inspect(from, true).await?;
    let target = super::database_file(url).ok_or_else(|| BackupError::NoFile(url.to_owned()))?;
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
    store.pool.close().await;
    inspect(&target, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_versions_the_binary_lacks_are_unknown() {
        // (applied in the database, known to the binary, unknown)
        let table: [(&[i64], &[i64], &[i64]); 5] = [
            (&[], &[1, 2], &[]),               // a new database
            (&[1, 2], &[1, 2], &[]),           // the same schema
            (&[1], &[1, 2, 3], &[]),           // older: 2 and 3 are pending, not unknown
            (&[1, 2, 9, 4], &[1, 2], &[4, 9]), // a newer binary added 4 and 9
            (&[7], &[1, 2], &[7]),
        ];
        for (applied, known, want) in table {
            assert_eq!(unknown_versions(applied, known), want, "{applied:?} vs {known:?}");
        }
    }

    #[test]
    fn the_binary_knows_its_own_migrations() {
        let known = known_versions();
        assert!(known.len() >= 8, "{known:?}");
        assert!(known.windows(2).all(|w| w[0] < w[1]), "{known:?}");
    }
}

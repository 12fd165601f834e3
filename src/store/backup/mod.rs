//! Backup and restore (`ms5 backup`, `ms5 restore`) of either backend, and the schema
//! version check that keeps an older binary off a database a newer one migrated.
//!
//! SQLite: `VACUUM INTO`, one read transaction, so the copy is the database as of one
//! instant, and in WAL mode it neither blocks nor waits for the server's writes. PostgreSQL:
//! `pg_dump` in its custom format, which reads one snapshot while MS5 keeps writing, and
//! `pg_restore` into an empty database. A restore checks the copy (MS5's schema, not newer
//! than this binary) and goes only where no MS5 database is.

mod postgres;
mod sqlite;

use std::path::{Path, PathBuf};

use super::backend::{Backend, is_postgres};
use super::{Store, StoreError, sql};

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
    /// A PostgreSQL tool failed or is missing.
    #[error("{tool}: {reason}")]
    Tool {
        /// `pg_dump` or `pg_restore`.
        tool: &'static str,
        /// What it said.
        reason: String,
    },
    /// The PostgreSQL database to restore into holds MS5 tables already.
    #[error(
        "refusing to restore into {0}: it holds an MS5 database (restore into a new, empty database: \
         createdb, then point store.url at it)"
    )]
    NotEmpty(String),
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

impl Copied {
    /// The backup or restored database at `file`, with its size read from disk.
    fn of(file: &Path, schema: i64) -> Result<Copied, BackupError> {
        let bytes = std::fs::metadata(file)
            .map_err(|source| BackupError::Io {
                path: file.to_owned(),
                source,
            })?
            .len();
        Ok(Copied {
            file: file.to_owned(),
            bytes,
            schema,
        })
    }
}

/// Migrations recorded in a database that this binary does not have, oldest first: a newer
/// MS5 made them. (Versions this binary has but the database lacks are simply pending.)
pub fn unknown_versions(applied: &[i64], known: &[i64]) -> Vec<i64> {
    let mut unknown: Vec<i64> = applied.iter().copied().filter(|v| !known.contains(v)).collect();
    unknown.sort_unstable();
    unknown
}

/// The versions of this binary's migrations (the same on both backends).
pub(super) fn known_versions() -> Vec<i64> {
    super::backend::migrator_for(&Backend::Sqlite)
        .iter()
        .map(|m| m.version)
        .collect()
}

/// Refuses `applied` migrations when a newer MS5 made some of them.
fn check_versions(applied: &[i64]) -> Result<(), StoreError> {
    let known = known_versions();
    let unknown = unknown_versions(applied, &known);
    if let Some(&newest) = unknown.last() {
        return Err(StoreError::SchemaNewer {
            database: newest,
            binary: known.iter().copied().max().unwrap_or(0),
        });
    }
    Ok(())
}

impl Store {
    /// The migrations recorded in the database (none for a new database).
    async fn applied_versions(&self) -> Result<Option<Vec<i64>>, StoreError> {
        let exists = match self.backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Backend::Postgres(_) => {
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'"
            }
        };
        let tables: i64 = sql::query_scalar(exists).fetch_one(&self.pool).await?;
        if tables == 0 {
            return Ok(None);
        }
        let versions = sql::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&self.pool)
            .await?;
        Ok(Some(versions))
    }

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
        match self.backend {
            Backend::Sqlite => sqlite::backup(self, dest).await,
            Backend::Postgres(_) => {
                let schema = self
                    .applied_versions()
                    .await?
                    .and_then(|v| v.last().copied())
                    .unwrap_or(0);
                postgres::backup(&self.url, dest, schema).await
            }
        }
    }
}

/// Refuses a database that a newer MS5 migrated.
pub(super) async fn check_schema(store: &Store) -> Result<(), StoreError> {
    match store.applied_versions().await? {
        Some(applied) => check_versions(&applied),
        None => Ok(()),
    }
}

/// What `ms5 backup` copies: the database file (SQLite, which must exist) or the
/// PostgreSQL database, for messages.
pub fn source_of(url: &str) -> Result<String, BackupError> {
    if is_postgres(url) {
        return Ok(super::backend::redacted(url));
    }
    let file = super::database_file(url).ok_or_else(|| BackupError::NoFile(url.to_owned()))?;
    if !file.exists() {
        return Err(BackupError::NoDatabase(file));
    }
    Ok(file.display().to_string())
}

/// Puts the backup `from` where `url`'s database goes, when no MS5 database is there, then
/// applies this binary's newer migrations to it (an older backup comes up to date).
pub async fn restore(from: &Path, url: &str) -> Result<Copied, BackupError> {
    if is_postgres(url) {
        postgres::restore(from, url).await
    } else {
        sqlite::restore(from, url).await
    }
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

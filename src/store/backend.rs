//! The store's connection: SQLite (embedded default) or PostgreSQL, chosen by `store.url`.
//!
//! Every operation runs the same SQL on both through sqlx's `Any` driver; what only one
//! backend can do (PostgreSQL's COPY, SQLite's online backup) goes through its native pool.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AnyPool, Connection};
use sqlx::{ConnectOptions, Executor};

use super::StoreError;

/// The database file a `sqlite:` URL names, as an absolute path (`None` for an
/// in-memory database, a PostgreSQL URL, or a URL that does not parse).
pub fn database_file(url: &str) -> Option<std::path::PathBuf> {
    if !is_sqlite(url) {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    if file.as_os_str().is_empty() || file.to_str().is_some_and(|f| f.starts_with(":memory:")) {
        return None;
    }
    std::path::absolute(file).ok()
}

/// Whether `url` names a SQLite database.
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Which database is behind the store.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server; the native pool carries COPY and catalogue work.
    Postgres(PgPool),
}

/// The durable store.
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) pool: AnyPool,
    pub(super) backend: Backend,
    pub(super) url: String,
    /// The PostgreSQL telemetry layout, once known.
    pub(super) layout: Arc<OnceLock<super::postgres::Layout>>,
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

fn url_error(url: &str, reason: impl ToString) -> StoreError {
    StoreError::Url {
        url: redacted(url),
        reason: reason.to_string(),
    }
}

/// `url` without its password, for messages.
pub(crate) fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Opens the database at `url`: `sqlite://path` (created if missing) or
    /// `postgres://user:password@host/db`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        if is_postgres(url) {
            Store::connect_postgres(url).await
        } else if is_sqlite(url) {
            Store::connect_sqlite(url).await
        } else {
            Err(url_error(url, "expected sqlite://… or postgres://…"))
        }
    }

    async fn connect_sqlite(url: &str) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| url_error(url, e))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        if let Some(dir) = Path::new(options.get_filename()).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| url_error(url, format!("cannot create {}: {e}", dir.display())))?;
        }
        // Creates the file and switches it to WAL, which then holds for every connection.
        options.connect().await?.close().await?;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON")
                        .await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Store {
            pool,
            backend: Backend::Sqlite,
            url: url.to_owned(),
            layout: Arc::default(),
        })
    }

    async fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| url_error(url, e))?;
        let native = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options);
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Store {
            pool,
            backend: Backend::Postgres(native),
            url: url.to_owned(),
            layout: Arc::default(),
        })
    }

    /// Whether the store is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// The migrations for this store's backend.
    pub(super) fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        migrator_for(&self.backend)
    }

    /// A write transaction. On SQLite it holds the write lock from its first statement
    /// (`BEGIN IMMEDIATE`): one that reads first and writes later would otherwise fail at
    /// once with "database is locked" when another connection wrote in between, instead
    /// of waiting `busy_timeout` for the lock.
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres(_) => self.pool.begin().await?,
        })
    }

    /// Applies pending migrations, after refusing a database a newer MS5 migrated.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        super::backup::check_schema(self).await?;
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// A round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        super::sql::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
        if let Backend::Postgres(pg) = &self.backend {
            pg.close().await;
        }
    }
}

/// The migrations built into this binary for `backend`.
pub(super) fn migrator_for(backend: &Backend) -> &'static sqlx::migrate::Migrator {
    match backend {
        Backend::Sqlite => &SQLITE_MIGRATOR,
        Backend::Postgres(_) => &POSTGRES_MIGRATOR,
    }
}

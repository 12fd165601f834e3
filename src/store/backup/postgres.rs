//! PostgreSQL: `pg_dump --format=custom` (one snapshot, consistent while MS5 writes) and
//! `pg_restore` into an empty database, both from the PostgreSQL client tools on `PATH`.
//! The password travels in the tools' environment, never on their command line.

use std::path::Path;
use std::process::Output;

use tokio::process::Command;

use super::{BackupError, Copied, check_versions};
use crate::store::Store;

/// `url` split for the PostgreSQL tools: the URL without its password, and the password.
pub(crate) fn tool_url(url: &str) -> (String, Option<String>) {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let password = parsed
                .password()
                .map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
            let _ = parsed.set_password(None);
            (parsed.to_string(), password)
        }
        Err(_) => (url.to_owned(), None),
    }
}

/// Runs a PostgreSQL client tool against `url`.
async fn run(tool: &'static str, url: &str, args: &[&std::ffi::OsStr]) -> Result<Output, BackupError> {
    let (url, password) = tool_url(url);
    let mut command = Command::new(tool);
    command.args(args).arg(format!("--dbname={url}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command.output().await.map_err(|e| BackupError::Tool {
        tool,
        reason: format!("cannot run it ({e}): install the PostgreSQL client tools (Debian: postgresql-client)"),
    })?;
    if !output.status.success() {
        return Err(BackupError::Tool {
            tool,
            reason: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(output)
}

/// The migration versions recorded in a dump (its `_sqlx_migrations` rows).
pub(crate) fn dump_versions(listing: &str) -> Vec<i64> {
    let mut versions = Vec::new();
    let mut in_copy = false;
    for line in listing.lines() {
        if line.starts_with("COPY ") && line.contains("_sqlx_migrations") {
            in_copy = true;
        } else if in_copy && line == "\\." {
            in_copy = false;
        } else if in_copy && let Some(Ok(v)) = line.split('\t').next().map(str::parse) {
            versions.push(v);
        }
    }
    versions.sort_unstable();
    versions
}

/// Reads the migration versions out of the dump at `file`.
async fn versions_in(file: &Path) -> Result<Vec<i64>, BackupError> {
    let not = |reason: String| BackupError::NotABackup {
        path: file.to_owned(),
        reason,
    };
    let output = Command::new("pg_restore")
        .arg("--data-only")
        .arg("--table=_sqlx_migrations")
        .arg("--file=-")
        .arg(file)
        .output()
        .await
        .map_err(|e| not(format!("cannot run pg_restore: {e}")))?;
    if !output.status.success() {
        return Err(not(String::from_utf8_lossy(&output.stderr).trim().to_owned()));
    }
    let versions = dump_versions(&String::from_utf8_lossy(&output.stdout));
    if versions.is_empty() {
        return Err(not("it has no MS5 schema (no _sqlx_migrations rows)".into()));
    }
    Ok(versions)
}

/// `pg_dump` of the database at `url` into `dest`.
pub(super) async fn backup(url: &str, dest: &Path, schema: i64) -> Result<Copied, BackupError> {
    run(
        "pg_dump",
        url,
        &[
            "--format=custom".as_ref(),
            "--no-owner".as_ref(),
            "--no-privileges".as_ref(),
            "--file".as_ref(),
            dest.as_os_str(),
        ],
    )
    .await?;
    let versions = versions_in(dest).await?;
    Copied::of(dest, versions.last().copied().unwrap_or(schema))
}

/// `pg_restore` of `from` into the empty database at `url`, then this binary's newer
/// migrations.
pub(super) async fn restore(from: &Path, url: &str) -> Result<Copied, BackupError> {
    check_versions(&versions_in(from).await?)?;
    let store = Store::connect(url).await?;
    if store.applied_versions().await?.is_some() {
        store.close().await;
        return Err(BackupError::NotEmpty(crate::store::backend::redacted(url)));
    }
    store.close().await;
    run(
        "pg_restore",
        url,
        &[
            "--no-owner".as_ref(),
            "--no-privileges".as_ref(),
            "--exit-on-error".as_ref(),
            "--single-transaction".as_ref(),
            from.as_os_str(),
        ],
    )
    .await?;
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let schema = store
        .applied_versions()
        .await?
        .and_then(|v| v.last().copied())
        .unwrap_or(0);
    store.close().await;
    Copied::of(from, schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let table = [
            (
                "postgres://ms5:s3cret@db:5432/ms5",
                "postgres://ms5@db:5432/ms5",
                Some("s3cret"),
            ),
            (
                "postgres://ms5:p%40ss%2Fword@db/ms5",
                "postgres://ms5@db/ms5",
                Some("p@ss/word"),
            ),
            (
                "postgres://ms5@127.0.0.1:5433/ms5",
                "postgres://ms5@127.0.0.1:5433/ms5",
                None,
            ),
        ];
        for (url, want_url, want_password) in table {
            let (u, p) = tool_url(url);
            assert_eq!(u, want_url);
            assert_eq!(p.as_deref(), want_password);
        }
    }

    #[test]
    fn versions_come_from_the_migrations_copy_only() {
        let listing = "SET x = 1;\n\
            COPY public.users (id, username) FROM stdin;\n7\tadmin\n\\.\n\
            COPY public._sqlx_migrations (version, description, installed_on, success, checksum, execution_time) FROM stdin;\n\
            2\taccounts\t2026-11-29\tt\t\\\\x00\t5\n1\ttelemetry\t2026-11-29\tt\t\\\\x00\t5\n\\.\n";
        assert_eq!(dump_versions(listing), [1, 2]);
        assert_eq!(dump_versions("nothing here"), Vec::<i64>::new());
    }
}

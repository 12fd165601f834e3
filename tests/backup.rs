//! `ms5 backup` and `ms5 restore` as a user runs them, beside a serving MS5, on SQLite and on
//! PostgreSQL: a backup taken while telemetry is being written restores into a fresh instance
//! with every ticket, audit entry and count of the moment equal; restores never overwrite a
//! database; and an older binary refuses a database a newer one migrated.

mod common;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::stores::postgres_server;
use common::*;
use serde_json::json;
use sqlx::Row;
use sqlx::sqlite::SqlitePoolOptions;

/// Runs the real `ms5` binary on the configuration spawn_app wrote in `config_dir`, with
/// the database `db`.
async fn ms5(config_dir: &Path, db: &Path, args: &[&str]) -> Output {
    ms5_on(config_dir, &format!("sqlite://{}", db.display()), args).await
}

/// Runs the real `ms5` binary with the store at `url`.
async fn ms5_on(config_dir: &Path, url: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_ms5"))
        .arg("--config")
        .arg(config_dir.join("ms5.toml"))
        .args(args)
        .env("MS5__STORE__URL", url)
        .env("MS5__LOG__LEVEL", "warn")
        .env("MS5__HTTP__PORT", "0")
        .output()
        .await
        .expect("run ms5")
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Where a test's database is.
enum Db {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database URL.
    Postgres(String),
}

impl Db {
    fn url(&self) -> String {
        match self {
            Db::Sqlite(file) => format!("sqlite://{}", file.display()),
            Db::Postgres(url) => url.clone(),
        }
    }

    /// Every table: (name, row count, every row quoted, sorted).
    async fn tables(&self) -> Vec<(String, i64, String)> {
        match self {
            Db::Sqlite(file) => tables(file).await,
            Db::Postgres(url) => pg_tables(url).await,
        }
    }
}

/// Every table of a PostgreSQL database (partitions counted in their parent).
async fn pg_tables(url: &str) -> Vec<(String, i64, String)> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("open");
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
         AND relkind IN ('r', 'p') AND NOT relispartition ORDER BY relname",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    let mut out = Vec::new();
    for name in names {
        // Table names come from the database's own catalogue.
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT t::text AS r FROM \"{name}\" t ORDER BY r"
        )))
        .fetch_all(&pool)
        .await
        .expect("rows");
        out.push((name, rows.len() as i64, rows.join("\n")));
    }
    pool.close().await;
    out
}

/// Every table of a database file: (name, row count, every row quoted, sorted).
async fn tables(file: &Path) -> Vec<(String, i64, String)> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}?mode=ro", file.display()))
        .await
        .expect("open");
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    let mut out = Vec::new();
    for name in names {
        let columns: Vec<String> = sqlx::query("SELECT name FROM pragma_table_info(?)")
            .bind(&name)
            .fetch_all(&pool)
            .await
            .expect("columns")
            .iter()
            .map(|r| format!("quote(\"{}\")", r.get::<String, _>("name")))
            .collect();
        // Table and column names come from the database's own catalogue.
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {} AS r FROM \"{name}\" ORDER BY r",
            columns.join(" || ',' || ")
        )))
        .fetch_all(&pool)
        .await
        .expect("rows");
        out.push((name, rows.len() as i64, rows.join("\n")));
    }
    pool.close().await;
    out
}

/// Tables written only by the telemetry path, which keeps writing during the backup.
const TELEMETRY: &[&str] = &[
    "machine_state_intervals",
    "production_counts",
    "tag_samples",
    "tag_last",
    "downtime_events",
];

#[actix_web::test]
async fn a_backup_taken_while_serving_restores_into_an_equal_instance() {
    let (source, fresh) = (temp(), temp());
    let db = Db::Sqlite(source.path().join("ms5.db"));
    let restored = Db::Sqlite(fresh.path().join("data/ms5.db"));
    round_trip(
        source.path(),
        db,
        fresh.path(),
        restored,
        &source.path().join("backups/ms5-1.db"),
    )
    .await;
}

#[actix_web::test]
async fn a_postgres_backup_taken_while_serving_restores_into_an_equal_instance() {
    let Some(server) = postgres_server() else { return };
    let (source, fresh) = (temp(), temp());
    let db = Db::Postgres(postgres_database(&server, &format!("backup-source-{}", source.path().display())).await);
    let restored = Db::Postgres(postgres_database(&server, &format!("backup-fresh-{}", fresh.path().display())).await);
    round_trip(
        source.path(),
        db,
        fresh.path(),
        restored,
        &source.path().join("backups/ms5-1.dump"),
    )
    .await;
}

/// Serve on `db`, back up into `backup` while telemetry comes in, restore into `restored`
/// (empty), and compare the two databases and the two instances' answers.
async fn round_trip(source: &Path, db: Db, fresh: &Path, restored_db: Db, backup: &Path) {
    let t0 = DAY + 6 * 60 * MIN; // the shift starts
    let app = spawn_plant_at(source, TEST_PLANT, t0, json!({ "store": { "url": db.url() } })).await;
    // Half an hour of a running filler, a stop and two tickets, one acknowledged.
    let mut samples = vec![("A.Filler.State", json!(1), t0), ("A.Filler.Total", json!(0), t0)];
    for m in 1..=30 {
        samples.push(("A.Filler.Total", json!(m * 50), t0 + m * MIN));
    }
    samples.push(("A.Filler.State", json!(3), t0 + 20 * MIN));
    samples.push(("A.Filler.State", json!(1), t0 + 25 * MIN));
    app.clock.set(t0 + 30 * MIN);
    app.ingest(&samples).await;
    let mut tickets = Vec::new();
    for what in ["belt slipping", "label jam"] {
        let (status, t) = app
            .post(
                "/api/v1/andon/tickets",
                &json!({"line": "line-a", "machine": "a-filler", "category": "maintenance", "priority": "high", "description": what}),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        tickets.push(t["id"].as_i64().expect("id"));
    }
    let (status, _) = app
        .post(&format!("/api/v1/andon/tickets/{}/acknowledge", tickets[0]), &json!({}))
        .await;
    assert_eq!(status, 200);
    app.plant.flush().await;
    let before = db.tables().await;
    let span = format!("from={}&to={}", rfc3339(t0), rfc3339(t0 + 30 * MIN));
    let (_, oee) = app.get(&format!("/api/v1/lines/line-a/oee?{span}")).await;
    assert!(oee["oee"]["oee"].is_number(), "{oee}");

    // Telemetry keeps coming while `ms5 backup` runs in its own process.
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (written, stop) = (written.clone(), stop.clone());
        let (base, clock) = (app.base.clone(), app.clock.clone());
        let (auth, root) = (app.auth.clone(), app.root.clone());
        actix_rt::spawn(async move {
            let client = awc::Client::default();
            let mut ts = t0 + 30 * MIN;
            let mut total = 1_500;
            while !stop.load(Ordering::SeqCst) {
                ts += 1_000;
                total += 1;
                clock.set(ts);
                let body = json!([{ "tag": "A.Filler.Total", "value": total, "ts": ts }]);
                // A token of the moment: the clock runs past the first one's 30 minutes.
                let token = auth.access_token(&root).expect("token");
                let ok = client
                    .post(format!("{base}/api/v1/ingest"))
                    .bearer_auth(&token)
                    .send_json(&body)
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    written.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };
    while written.load(Ordering::SeqCst) < 20 {
        actix_rt::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let at_start = written.load(Ordering::SeqCst);
    let out = ms5_on(source, &db.url(), &["backup", backup.to_str().expect("path")]).await;
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("backed up"), "{}", said(&out));
    let at_end = written.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("writer");
    assert!(
        at_end > at_start,
        "the server kept taking telemetry while the backup ran"
    );
    app.plant.flush().await;

    // A second backup to the same name is refused; so is a restore over the live database.
    let again = ms5_on(source, &db.url(), &["backup", backup.to_str().expect("path")]).await;
    assert_eq!(again.status.code(), Some(1));
    assert!(said(&again).contains("exists"), "{}", said(&again));
    let over = ms5_on(source, &db.url(), &["restore", backup.to_str().expect("path")]).await;
    assert_eq!(over.status.code(), Some(1));
    assert!(said(&over).contains("refusing to restore"), "{}", said(&over));

    // Restore into a fresh data directory (SQLite) or an empty database (PostgreSQL).
    let out = ms5_on(source, &restored_db.url(), &["restore", backup.to_str().expect("path")]).await;
    assert!(out.status.success(), "{}", said(&out));
    let restored = restored_db.tables().await;
    let after = db.tables().await;
    assert_eq!(restored.len(), before.len(), "the same tables");
    for (((name, n, rows), (_, n_before, rows_before)), (_, n_after, rows_after)) in
        restored.iter().zip(&before).zip(&after)
    {
        if TELEMETRY.contains(&name.as_str()) {
            // The moment of the backup lies between the two flushes.
            assert!(n_before <= n && n <= n_after, "{name}: {n_before} <= {n} <= {n_after}");
        } else {
            // Tickets, their events, audit entries, users, flags: nothing changed them.
            assert_eq!((n, rows), (n_before, rows_before), "{name} differs from the source");
            assert_eq!(rows, rows_after, "{name}");
        }
    }
    let count = |t: &[(String, i64, String)], name: &str| t.iter().find(|x| x.0 == name).map(|x| x.1);
    assert!(count(&restored, "andon_tickets") == Some(2) && count(&restored, "audit_log") >= Some(3));

    // A fresh instance on the restored data serves the same tickets, audit log and figures.
    let store = json!({ "store": { "url": restored_db.url() } });
    let copy = spawn_plant_at(fresh, TEST_PLANT, t0 + 31 * MIN, store).await;
    for path in [
        "/api/v1/andon/tickets?line=line-a".to_owned(),
        "/api/v1/audit?limit=100".to_owned(),
        format!("/api/v1/lines/line-a/oee?{span}"),
        format!("/api/v1/machines/a-filler/oee?{span}"),
    ] {
        let (s1, a) = app.get(&path).await;
        let (s2, b) = copy.get(&path).await;
        assert_eq!((s1, s2), (200, 200), "{path}");
        assert_eq!(a, b, "{path}");
    }
    let (_, list) = copy.get("/api/v1/andon/tickets?line=line-a").await;
    assert_eq!(list["tickets"].as_array().map(Vec::len), Some(2), "{list}");
}

#[actix_web::test]
async fn an_older_binary_refuses_a_database_a_newer_one_migrated() {
    let dir = temp();
    let app = spawn_test_plant(dir.path(), DAY).await;
    app.plant.flush().await;
    let db = dir.path().join("ms5.db");
    let backup = dir.path().join("before.db");
    let out = ms5(dir.path(), &db, &["backup", backup.to_str().expect("path")]).await;
    assert!(out.status.success(), "{}", said(&out));
    // A newer MS5 applies its migration.
    let pool = SqlitePoolOptions::new()
        .connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (29990101000000, 'from a newer ms5', 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .expect("insert");
    pool.close().await;
    app.stopper.stop().await;
    let newer = "the database was migrated by a newer MS5 (schema version 29990101000000; this binary knows up to";
    for args in [&["migrate"][..], &["serve"][..]] {
        let out = ms5(dir.path(), &db, args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", said(&out));
        assert!(said(&out).contains(newer), "{args:?}: {}", said(&out));
    }
    // A backup of it is refused by restore, with the same reason.
    let copy = dir.path().join("newer.db");
    let out = ms5(dir.path(), &db, &["backup", copy.to_str().expect("path")]).await;
    assert!(out.status.success(), "a backup copies any schema: {}", said(&out));
    let fresh = temp();
    let out = ms5(
        dir.path(),
        &fresh.path().join("ms5.db"),
        &["restore", copy.to_str().expect("path")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(said(&out).contains(newer), "{}", said(&out));
    assert!(!fresh.path().join("ms5.db").exists(), "nothing restored");
    // The rollback: restore the backup taken before the upgrade, and this binary runs.
    let out = ms5(
        dir.path(),
        &fresh.path().join("ms5.db"),
        &["restore", backup.to_str().expect("path")],
    )
    .await;
    assert!(out.status.success(), "{}", said(&out));
    let out = ms5(dir.path(), &fresh.path().join("ms5.db"), &["migrate"]).await;
    assert!(out.status.success(), "{}", said(&out));
}

#[actix_web::test]
async fn backup_and_restore_refuse_what_they_cannot_do() {
    let dir = temp();
    std::fs::write(dir.path().join("plant.toml"), TEST_PLANT).expect("plant");
    std::fs::write(dir.path().join("ms5.toml"), include_str!("../config/default.toml")).expect("config");
    let missing = dir.path().join("nothing-here.db");
    let out = ms5(dir.path(), &missing, &["backup", "/tmp/never-written.db"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(said(&out).contains("no database at"), "{}", said(&out));
    assert!(!missing.exists(), "backup created no database");
    // Not a database at all.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not sqlite").expect("junk");
    let out = ms5(
        dir.path(),
        &dir.path().join("new.db"),
        &["restore", junk.to_str().expect("path")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(said(&out).contains("is not an MS5 backup"), "{}", said(&out));
    assert!(!dir.path().join("new.db").exists());
}

//! Raw samples into PostgreSQL: MS5's bulk path (`Store::write`: binary COPY straight into
//! the day-partitioned `tag_samples`; a batch written before goes through a temporary table
//! and `INSERT … ON CONFLICT DO NOTHING`) against `psql \copy` of the same rows straight
//! into the same table, in the same run.
//!
//! `scripts/bench-postgres.sh` starts a private server and runs this with
//! `MS5_BENCH_POSTGRES_URL` set; `ROWS` (default 1,000,000) and `BATCH` (default 5,000, the
//! shipped `store.batch_max`) size it.

use std::time::{Duration, Instant};

use ms5::domain::tag::{Quality, TagUpdate, TagValue};
use ms5::store::batch::Batch;
use ms5::store::{Retention, Store};

/// 2026-11-29T00:00:00Z.
const T0: i64 = 1_795_910_400_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// 200 machines × 5 tags, one sample each per 100 ms.
fn rows(n: usize) -> Vec<TagUpdate> {
    (0..n)
        .map(|i| TagUpdate {
            tag: format!("L{:02}.M{:02}.T{}", i % 20, (i / 20) % 10, (i / 200) % 5),
            value: TagValue::Float((i % 997) as f64 * 0.25),
            ts: T0 + (i / 1_000) as i64 * 100,
            quality: Quality::Good,
        })
        .collect()
}

async fn fresh_store(server: &str, name: &str) -> Store {
    let (base, _) = server
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{server}: no database in the URL"));
    let admin = Store::connect(server).await.unwrap_or_else(|e| panic!("{server}: {e}"));
    admin
        .execute_raw(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .unwrap_or_else(|e| panic!("drop: {e}"));
    admin
        .execute_raw(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    admin.close().await;
    let store = Store::connect(&format!("{base}/{name}"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("migrate: {e}"));
    let day = Duration::from_secs(86_400);
    let retention = Retention {
        raw: 90 * day,
        telemetry: 90 * day,
        audit: 365 * day,
    };
    store
        .maintain(T0, &retention)
        .await
        .unwrap_or_else(|e| panic!("partitions: {e}"));
    store
}

fn psql_copy(url: &str, file: &std::path::Path) -> Duration {
    let start = Instant::now();
    let status = std::process::Command::new("psql")
        .arg("--quiet")
        .arg("--no-psqlrc")
        .arg(url)
        .arg("-c")
        .arg(format!(
            "\\copy tag_samples (tag, ts_ms, value, quality) FROM '{}' (FORMAT text)",
            file.display()
        ))
        .status()
        .unwrap_or_else(|e| panic!("psql: {e}"));
    assert!(status.success(), "psql \\copy failed");
    start.elapsed()
}

#[actix_rt::main]
async fn main() {
    let Ok(server) = std::env::var("MS5_BENCH_POSTGRES_URL") else {
        eprintln!("pg_copy: set MS5_BENCH_POSTGRES_URL (scripts/bench-postgres.sh does)");
        return;
    };
    let n = env_usize("ROWS", 1_000_000);
    let batch_rows = env_usize("BATCH", 5_000);
    let samples = rows(n);

    let ms5_store = fresh_store(&server, "ms5_bench_copy").await;
    let start = Instant::now();
    for chunk in samples.chunks(batch_rows) {
        let batch = Batch {
            raw: chunk.to_vec(),
            ..Batch::default()
        };
        ms5_store.write(&batch).await.unwrap_or_else(|e| panic!("write: {e}"));
    }
    let ms5_time = start.elapsed();
    let stored = ms5_store
        .count_raw("SELECT COUNT(*) FROM tag_samples")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored, n as i64, "every row stored once");
    // A replay of the first batch adds nothing.
    let replay = Batch {
        raw: samples[..batch_rows.min(n)].to_vec(),
        ..Batch::default()
    };
    ms5_store.write(&replay).await.unwrap_or_else(|e| panic!("replay: {e}"));
    let after = ms5_store
        .count_raw("SELECT COUNT(*) FROM tag_samples")
        .await
        .unwrap_or(-1);
    assert_eq!(after, n as i64, "a replay doubles nothing");
    ms5_store.close().await;

    let psql_store = fresh_store(&server, "ms5_bench_psql").await;
    psql_store.close().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("rows.tsv");
    let mut text = String::new();
    for s in &samples {
        ms5::store::copy_line(s, &mut text);
    }
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    let (base, _) = server.rsplit_once('/').unwrap_or_default();
    let psql_time = psql_copy(&format!("{base}/ms5_bench_psql"), &file);

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!("rows: {n}, batches of {batch_rows}");
    println!(
        "ms5 Store::write (COPY, replays ON CONFLICT): {:.2} s, {:.0} rows/s",
        ms5_time.as_secs_f64(),
        rate(ms5_time)
    );
    println!(
        "psql \\copy into tag_samples:                 {:.2} s, {:.0} rows/s",
        psql_time.as_secs_f64(),
        rate(psql_time)
    );
    println!("ratio: {:.2}× \\copy", rate(ms5_time) / rate(psql_time));
}

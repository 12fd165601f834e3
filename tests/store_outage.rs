//! PostgreSQL stopped for 60 s while 5,000 raw samples a second come in: ingest keeps
//! answering, the telemetry writer holds what it cannot write within `store.backlog_max`
//! and says so in its metrics, and when the database is back every sample and every part
//! is written, none twice.
//!
//! Runs a private PostgreSQL of its own (Debian's postgresql; scripts/test.sh installs it),
//! since it stops it. The outage is real time: about 75 s in all.

mod common;

use std::time::{Duration, Instant};

use common::private_postgres::PrivatePostgres;
use common::{Spawn, TEST_PLANT, TestApp, metric_line, spawn_app, temp};
use ms5::clock::Clock;
use serde_json::{Value, json};

/// 2026-03-02T10:00:00Z, in the test plant's shift.
const T0: i64 = 1_772_445_600_000;
/// Samples per request, and requests a second: 5,000 samples a second.
const PER_REQUEST: usize = 500;
const EVERY: Duration = Duration::from_millis(100);
/// Tags of the load (unknown to the plant model: stored raw, not applied).
const TAGS: usize = 50;

fn value_of(line: Option<String>) -> f64 {
    line.and_then(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// Ingests for `span` at 5,000 samples a second, request `n` onwards; every 10th request
/// the filler makes 10 more parts. Returns the next request number.
async fn load(app: &TestApp, mut n: usize, span: Duration, backlog: &mut f64) -> usize {
    let mut tick = tokio::time::interval(EVERY);
    let until = Instant::now() + span;
    while Instant::now() < until {
        tick.tick().await;
        // Request n: samples at T0 + n × 10 ms + i µs … distinct per tag and instant.
        let ts = T0 + i64::try_from(n).unwrap_or(0) * 10;
        let mut body: Vec<Value> = (0..PER_REQUEST)
            .map(|i| json!({ "tag": format!("Load.T{}", i % TAGS), "value": i, "ts": ts + (i / TAGS) as i64 }))
            .collect();
        if n.is_multiple_of(10) {
            let parts = (n / 10 + 1) * 10;
            body.push(json!({ "tag": "A.Filler.Total", "value": parts, "ts": ts }));
        }
        // The plant's clock moves with the samples.
        app.clock.set(ts);
        let (status, report) = app.post("/api/v1/ingest", &Value::Array(body)).await;
        assert_eq!(status, 200, "request {n}: {report}");
        n += 1;
        *backlog = backlog.max(value_of(metric_line(app, "ms5_store_backlog_rows").await));
    }
    n
}

#[actix_web::test]
async fn a_store_outage_of_a_minute_under_5000_samples_a_second_loses_nothing() {
    let Some(pg) = PrivatePostgres::start() else { return };
    let dir = temp();
    let app = spawn_app(Spawn {
        plant: TEST_PLANT,
        dir: dir.path(),
        clock: Clock::manual(T0),
        simulator: false,
        settings: json!({ "store": {
            "url": pg.url(), "raw_samples": true, "flush_interval": "100ms", "batch_max": 5000,
            "backlog_max": 600_000,
        }}),
    })
    .await;
    app.ingest(&[
        ("A.Filler.State", json!(1), T0 - 60_000),
        ("A.Filler.Total", json!(0), T0 - 60_000),
    ])
    .await;
    let mut backlog = 0.0;
    let n = load(&app, 0, Duration::from_secs(5), &mut backlog).await;
    app.plant.flush().await;
    let errors_before = value_of(metric_line(&app, "ms5_store_write_errors_total").await);

    pg.down();
    let mut during = 0.0;
    let n = load(&app, n, Duration::from_secs(60), &mut during).await;
    let errors = value_of(metric_line(&app, "ms5_store_write_errors_total").await);
    assert!(errors > errors_before, "failed writes are counted: {errors}");
    assert!(
        during > 100_000.0,
        "what cannot be written waits, and the backlog says so: {during} rows at most"
    );
    assert!(during <= 600_000.0, "within store.backlog_max: {during}");

    pg.up();
    let n = load(&app, n, Duration::from_secs(5), &mut backlog).await;
    app.plant.flush().await;
    let samples = app
        .store
        .count_raw("SELECT COUNT(*) FROM tag_samples WHERE tag LIKE 'Load.%'")
        .await
        .expect("count");
    assert_eq!(
        samples,
        i64::try_from(n * PER_REQUEST).unwrap_or(-1),
        "every sample, once"
    );
    let dropped = value_of(metric_line(&app, "ms5_store_raw_samples_dropped_total").await);
    assert_eq!(dropped, 0.0, "nothing dropped");
    let parts = app
        .store
        .count_raw(
            "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM production_counts WHERE machine_id = 'a-filler'",
        )
        .await
        .expect("sum");
    let made = i64::try_from(n.div_ceil(10) * 10).unwrap_or(-1);
    assert_eq!(parts, made, "every part, once");
    assert_eq!(app.machine_window("a-filler", "1h").await["total"], json!(made));
    let backlog_now = value_of(metric_line(&app, "ms5_store_backlog_rows").await);
    assert_eq!(backlog_now, 0.0, "the backlog is written");
}

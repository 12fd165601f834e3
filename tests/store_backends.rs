//! What the store does beyond the shared SQL, on both backends: bulk raw samples that a
//! replay does not double, retention of samples, per-minute telemetry and the audit log,
//! the append-only audit log, and (PostgreSQL) the telemetry tables' day partitions.
//!
//! PostgreSQL comes from `MS5_TEST_POSTGRES_URL` (scripts/test.sh starts one); without it
//! these run on SQLite only, unless `MS5_REQUIRE_POSTGRES` is set.

mod common;

use std::time::Duration;

use common::stores::stores;
use ms5::domain::tag::{Quality, TagUpdate, TagValue};
use ms5::domain::tally::Tally;
use ms5::store::batch::Batch;
use ms5::store::{AuditEntry, Layout, Retention, Store};

const DAY_MS: i64 = 86_400_000;
/// 2026-11-29T10:00:00Z.
const NOW: i64 = 1_795_910_400_000 + 10 * 3_600_000;

fn sample(tag: &str, ts: i64, value: f64) -> TagUpdate {
    TagUpdate {
        tag: tag.into(),
        value: TagValue::Float(value),
        ts,
        quality: Quality::Good,
    }
}

fn retention() -> Retention {
    Retention {
        raw: Duration::from_secs(90 * 86_400),
        telemetry: Duration::from_secs(90 * 86_400),
        audit: Duration::from_secs(365 * 86_400),
    }
}

fn audit_at(at: i64) -> AuditEntry {
    AuditEntry {
        at,
        actor: "root".into(),
        action: "flag.set",
        target: Some("trend".into()),
        outcome: "ok",
        source: None,
        details: serde_json::json!({ "enabled": true }),
    }
}

async fn count(store: &Store, sql: &str) -> i64 {
    store.count_raw(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[actix_rt::test]
async fn raw_samples_written_twice_are_stored_once() {
    for (backend, store, _dir) in stores("store_backends::raw_twice").await {
        let mut batch = Batch::default();
        // Tabs, newlines and backslashes in a tag name survive the bulk path.
        for (i, tag) in ["L1.Filler.Speed", "odd\ttag\\with\nbreaks"].iter().enumerate() {
            for k in 0..1_500 {
                batch
                    .raw
                    .push(sample(tag, NOW + k * 100, (i * 10_000 + k as usize) as f64 / 8.0));
            }
        }
        batch.raw.push(sample("L1.Filler.Speed", NOW, 999.0)); // same key: the first value stays
        store.write(&batch).await.expect("write");
        store.write(&batch).await.expect("replay");
        assert_eq!(
            store.raw_sample_count("L1.Filler.Speed").await.expect("count"),
            1_500,
            "{backend}"
        );
        assert_eq!(
            store.raw_sample_count("odd\ttag\\with\nbreaks").await.expect("count"),
            1_500,
            "{backend}"
        );
        let first = count(
            &store,
            "SELECT CAST(value * 8 AS BIGINT) FROM tag_samples WHERE tag = 'L1.Filler.Speed' AND ts_ms = 1795946400000",
        )
        .await;
        assert_eq!(first, 0, "{backend}: the first value of a key is kept");
    }
}

#[actix_rt::test]
async fn retention_deletes_what_is_past_its_span_and_keeps_the_rest() {
    for (backend, store, _dir) in stores("store_backends::retention").await {
        // A run five days earlier made the partitions back to its own cutoff.
        store
            .maintain(NOW - 5 * DAY_MS, &retention())
            .await
            .expect("earlier run");
        let mut batch = Batch::default();
        for age_days in [120, 91, 89, 10, 0] {
            batch.raw.push(sample("T", NOW - age_days * DAY_MS, age_days as f64));
            batch.parts.insert(
                (0, NOW - age_days * DAY_MS, String::new()),
                ("m1".into(), Tally::of_parts(10, 9, 10_000)),
            );
        }
        store.write(&batch).await.expect("write");
        for age_days in [400, 366, 364, 1] {
            store
                .append_audit(&audit_at(NOW - age_days * DAY_MS))
                .await
                .expect("audit");
        }
        let purged = store.maintain(NOW, &retention()).await.expect("maintain");
        assert_eq!(
            store.raw_sample_count("T").await.expect("count"),
            3,
            "{backend}: 89, 10 and 0 days old stay"
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM production_counts").await,
            3,
            "{backend}"
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM audit_log").await,
            2,
            "{backend}: 364 and 1 days old stay"
        );
        assert_eq!(purged.audit, 2, "{backend}");
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM audit_purge").await,
            0,
            "{backend}: no allowance left behind"
        );
        // A second run finds nothing more.
        let again = store.maintain(NOW, &retention()).await.expect("maintain");
        assert_eq!((again.raw, again.telemetry, again.audit), (0, 0, 0), "{backend}");
        if backend == "postgres" {
            assert_eq!(
                store.telemetry_layout(&retention()).await.expect("layout"),
                Some(Layout::Partitioned)
            );
            // Every kept sample sits in its day's partition, none in the default one.
            let in_default = count(&store, "SELECT COUNT(*) FROM tag_samples_default").await;
            assert_eq!(in_default, 0);
            let partitions = count(
                &store,
                "SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'tag_samples'::regclass",
            )
            .await;
            // 90 days back (the cutoff's day) to 3 ahead, and the default partition.
            assert_eq!(partitions, 90 + 1 + 3 + 1);
            // The earlier run's days 26–30 August are wholly past the cutoff (31 August,
            // 10:00): dropped, for both tables.
            assert_eq!(purged.partitions, 2 * 5);
            let gone = count(
                &store,
                "SELECT COUNT(*) FROM pg_class WHERE relname = 'tag_samples_p20260830'",
            )
            .await;
            assert_eq!(gone, 0);
            let kept = count(
                &store,
                "SELECT COUNT(*) FROM pg_class WHERE relname = 'tag_samples_p20260831'",
            )
            .await;
            assert_eq!(kept, 1, "the cutoff's own day stays");
        } else {
            assert_eq!(store.telemetry_layout(&retention()).await.expect("layout"), None);
        }
    }
}

#[actix_rt::test]
async fn the_audit_log_refuses_changes_even_next_to_retention() {
    for (backend, store, _dir) in stores("store_backends::audit_append_only").await {
        store.append_audit(&audit_at(NOW - 400 * DAY_MS)).await.expect("audit");
        store.append_audit(&audit_at(NOW)).await.expect("audit");
        for sql in [
            "UPDATE audit_log SET actor = 'mallory'",
            "DELETE FROM audit_log WHERE at_ms = 1795946400000",
        ] {
            let refused = store.execute_raw(sql).await.expect_err(sql);
            assert!(refused.to_string().contains("append-only"), "{backend}: {refused}");
        }
        store.maintain(NOW, &retention()).await.expect("maintain");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM audit_log").await, 1, "{backend}");
        // The retention's allowance does not outlive its transaction.
        let refused = store.execute_raw("DELETE FROM audit_log").await.expect_err("delete");
        assert!(refused.to_string().contains("append-only"), "{backend}: {refused}");
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM audit_log WHERE actor = 'root'").await,
            1,
            "{backend}"
        );
    }
}

#[actix_rt::test]
async fn a_late_sample_waits_in_the_default_partition_until_its_day_is_made() {
    for (backend, store, _dir) in stores("store_backends::late_sample").await {
        if backend != "postgres" {
            continue;
        }
        store.maintain(NOW, &retention()).await.expect("maintain");
        // Ten days ahead: no partition yet.
        let mut batch = Batch::default();
        batch.raw.push(sample("T", NOW + 10 * DAY_MS, 1.0));
        store.write(&batch).await.expect("write");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM tag_samples_default").await, 1);
        // Ten days later its partition is made and the row moves into it.
        store.maintain(NOW + 10 * DAY_MS, &retention()).await.expect("maintain");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM tag_samples_default").await, 0);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM tag_samples_p20261209").await, 1);
        assert_eq!(store.raw_sample_count("T").await.expect("count"), 1);
    }
}

#[test]
fn the_postgres_migrations_are_twins_of_the_sqlite_ones() {
    let names = |dir: &str| {
        let mut names: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .expect("migrations")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert!(sqlite.len() >= 11, "{sqlite:?}");
    assert_eq!(sqlite, names("postgres"));
}

#[actix_rt::test]
async fn forwarded_production_rows_get_the_centrals_ids_and_what_cannot_be_applied_is_refused_whole() {
    use ms5::domain::forward::{Outcome, Record};
    use ms5::domain::forward_tables::{Table, decode_row};
    use ms5::store::{ApplyError, Forwarded};
    use serde_json::{Value, json};

    let plant = ms5::config::parse_plant(common::TEST_PLANT, "plant.toml").expect("plant");
    let job = |state: &str, id: i64| {
        json!({ "id": id, "line_id": "line-a", "product_code": "cola", "target": 10, "planned_start_ms": null,
            "planned_end_ms": null, "notes": "", "state": state, "created_at_ms": 1000 + id, "created_by": "ann" })
    };
    for (backend, store, _dir) in stores("store_backends::forward_rows").await {
        let apply = async |seq: i64, stream: &str, table: Table, payload: Value| {
            let row = decode_row(&plant, table, &payload, |_| Ok(())).expect("a valid row");
            let record = Record::Row(row);
            let f = Forwarded {
                edge: "e1",
                seq,
                stream,
                kind: table.as_str(),
                record: &record,
            };
            store.apply_forwarded(&f, 5_000).await
        };
        let outcome = |r: Result<Outcome, ApplyError>| match r {
            Ok(o) => format!("{o:?}"),
            Err(ApplyError::Refused(why)) => format!("refused: {why}"),
            Err(e) => panic!("{backend}: {e}"),
        };
        // Edge job 50 first: the central numbers it 1, so edge job 7 is not the central's 7.
        assert_eq!(
            outcome(apply(1, "jobs", Table::Job, job("completed", 50)).await),
            "Applied"
        );
        assert_eq!(
            outcome(apply(2, "jobs", Table::Job, job("running", 7)).await),
            "Applied"
        );
        let event = json!({ "job_id": 7, "seq": 1, "at_ms": 1010, "state": "running", "actor": "ann" });
        assert_eq!(
            outcome(apply(3, "jobs", Table::JobEvent, event.clone()).await),
            "Applied"
        );
        // The event names the central's id of edge job 7.
        let central_job = count(&store, "SELECT id FROM jobs WHERE created_at_ms = 1007").await;
        assert_eq!(
            count(&store, "SELECT job_id FROM job_events").await,
            central_job,
            "{backend}"
        );
        // A replay changes nothing.
        assert_eq!(outcome(apply(3, "jobs", Table::JobEvent, event).await), "Duplicate");
        // A second running job on the line: the schema refuses it, and nothing of it stays
        // (not even its key, so it is applied when sent again after the first completes).
        assert_eq!(
            outcome(apply(4, "jobs", Table::Job, job("running", 8)).await),
            format!(
                "refused: the central's schema refuses the row: {}",
                if backend == "sqlite" {
                    "UNIQUE constraint failed: jobs.line_id"
                } else {
                    "duplicate key value violates unique constraint \"jobs_one_running\""
                }
            ),
            "{backend}"
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 2, "{backend}");
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM forward_applied WHERE seq = 4").await,
            0,
            "{backend}"
        );
        assert_eq!(
            outcome(apply(5, "jobs", Table::Job, job("completed", 7)).await),
            "Applied"
        );
        assert_eq!(
            outcome(apply(4, "jobs", Table::Job, job("running", 8)).await),
            "Applied"
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM jobs WHERE state = 'completed'").await,
            2,
            "edge job 7 was updated in place, not added: {backend}"
        );
        // A row naming a row the central never got is refused, saying which.
        let checklist = json!({ "id": 1, "line_id": "line-a", "template_id": 9, "template_name": "x",
            "template_version": 1, "blocks_job_start": 0, "shift_name": "early", "shift_start_ms": 0,
            "shift_end_ms": 1, "result": "passed", "items": "[]", "filled_by": "ann", "filled_at_ms": 5,
            "ticket_id": null });
        assert_eq!(
            outcome(apply(6, "checklists", Table::Checklist, checklist).await),
            "refused: checklist template 9 of edge `e1` is not known here (its record was not applied)"
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM checklists").await, 0, "{backend}");
        // Products: written on their code, and deleted.
        let product = json!({ "code": "cola", "name": "Cola", "ideal_cycle_ms": 900, "machine_cycles": "{}",
            "updated_at_ms": 1, "updated_by": "ann" });
        assert_eq!(outcome(apply(7, "jobs", Table::Product, product).await), "Applied");
        let renamed = json!({ "code": "cola", "name": "Cola zero", "ideal_cycle_ms": 900, "machine_cycles": "{}",
            "updated_at_ms": 2, "updated_by": "ann" });
        assert_eq!(outcome(apply(8, "jobs", Table::Product, renamed).await), "Applied");
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM products WHERE name = 'Cola zero'").await,
            1,
            "{backend}"
        );
        let deleted = json!({ "code": "cola" });
        assert_eq!(
            outcome(apply(9, "jobs", Table::ProductDeleted, deleted).await),
            "Applied"
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM products").await, 0, "{backend}");
    }
}

//! Two `ms5` replicas on one PostgreSQL (`cluster.enabled`), each on its own manual
//! clock: every line runs on exactly one of them; a replica refuses samples of a line it
//! does not own; when a replica stops renewing (dead, or frozen: its clock stands still)
//! the other takes its lines over once the leases lapse, restored from the store with
//! every part counted; a graceful stop hands its lines over at once.
//!
//! Needs `MS5_TEST_POSTGRES_URL` (scripts/test.sh starts a server); skipped without it
//! unless `MS5_REQUIRE_POSTGRES` is set.

mod common;

use common::stores::postgres_server;
use common::{LINE_B, Spawn, TestApp, andon_plant, postgres_database, spawn_app, temp, two_line_plant};
use ms5::clock::Clock;
use serde_json::{Value, json};

/// 2026-03-02T10:00:00Z, a Monday morning in the test plant's early shift.
const T0: i64 = 1_772_445_600_000;
const SEC: i64 = 1_000;

async fn replica(dir: &std::path::Path, db: &str, name: &str) -> TestApp {
    replica_of(&two_line_plant(), dir, db, name).await
}

async fn replica_of(plant: &str, dir: &std::path::Path, db: &str, name: &str) -> TestApp {
    replica_writing_every(plant, dir, db, name, "50ms").await
}

/// A replica whose telemetry writer writes every `flush` (and when flushed).
async fn replica_writing_every(plant: &str, dir: &std::path::Path, db: &str, name: &str, flush: &str) -> TestApp {
    spawn_app(Spawn {
        plant,
        dir,
        clock: Clock::manual(T0),
        simulator: false,
        settings: json!({
            "store": { "url": db, "flush_interval": flush },
            "cluster": { "enabled": true, "replica": name, "lease_ttl": "15s" },
        }),
    })
    .await
}

/// A database of its own for `test`, and a folder for each replica's settings.
async fn database(server: &str, test: &str) -> (String, [tempfile::TempDir; 2]) {
    let dirs = [temp(), temp()];
    let key = format!("cluster_replicas::{test}::{}", dirs[0].path().display());
    (postgres_database(server, &key).await, dirs)
}

/// One lease round of `app` at its clock's time.
async fn round(app: &TestApp) {
    let replica = app.replica.as_ref().expect("a replica");
    replica.round().await.expect("lease round");
}

/// Which of the plant's lines (`line-a`, `line-b`) run on `app`.
fn owned(app: &TestApp) -> Vec<bool> {
    (0..2).map(|i| app.plant.ownership().owns(i)).collect()
}

/// A run of 40 parts on `line`'s output machine, in the hour before T0.
fn parts(line: usize) -> Vec<(&'static str, Value, i64)> {
    let (state, total) = [("A.Filler.State", "A.Filler.Total"), ("B.Press.State", "B.Press.Total")][line];
    vec![
        (state, json!(1), T0 - 600 * SEC),
        (total, json!(0), T0 - 600 * SEC),
        (total, json!(40), T0 - 300 * SEC),
    ]
}

const OUTPUT: [&str; 2] = ["a-filler", "b-press"];

#[actix_web::test]
async fn each_line_runs_on_one_replica_and_a_dead_ones_lines_are_taken_over_with_their_counts() {
    let Some(server) = postgres_server() else { return };
    let (db, [dir_a, dir_b]) = database(&server, "takeover").await;
    let a = replica(dir_a.path(), &db, "ms5-a").await;
    round(&a).await;
    assert_eq!(owned(&a), [true, true], "alone, a runs every line");

    let b = replica(dir_b.path(), &db, "ms5-b").await;
    round(&b).await;
    assert_eq!(owned(&b), [false, false], "a's leases are live");
    // b refuses samples of lines it does not run: nothing is applied twice.
    let report = b.ingest(&parts(0)).await;
    assert_eq!(
        (report["applied"].clone(), report["not_owner"].clone()),
        (json!(0), json!(3)),
        "{report}"
    );

    // Both see two replicas: a hands one line over, b takes it.
    for app in [&a, &b] {
        app.clock.advance(5 * SEC);
    }
    round(&a).await;
    round(&b).await;
    let (on_a, on_b) = (owned(&a), owned(&b));
    assert_eq!(on_a.iter().filter(|o| **o).count(), 1, "{on_a:?}");
    assert!(
        on_a.iter().zip(&on_b).all(|(x, y)| x != y),
        "one owner per line: {on_a:?} {on_b:?}"
    );

    // Each line's parts go to its owner.
    for line in 0..2 {
        let owner = if on_a[line] { &a } else { &b };
        let report = owner.ingest(&parts(line)).await;
        assert_eq!(report["applied"], json!(3), "line {line}: {report}");
        assert_eq!(owner.machine_window(OUTPUT[line], "1h").await["total"], json!(40));
    }
    a.plant.flush().await;

    // a dies: its clock stands still and it renews nothing more. Within the lease b waits…
    let a_line = on_a.iter().position(|o| *o).unwrap_or(0);
    b.clock.advance(14 * SEC);
    round(&b).await;
    assert!(!owned(&b)[a_line], "a's lease has not lapsed yet");
    // …then takes a's line over, restored from the store: its 40 parts, no more, no fewer.
    b.clock.advance(2 * SEC);
    round(&b).await;
    assert_eq!(owned(&b), [true, true]);
    assert_eq!(b.machine_window(OUTPUT[a_line], "1h").await["total"], json!(40));
    // a, frozen, finds its lease gone when it wakes: it runs nothing.
    round(&a).await;
    assert_eq!(owned(&a), [false, false]);
    let report = a.ingest(&parts(a_line)).await;
    assert_eq!(report["applied"], json!(0), "{report}");
}

#[actix_web::test]
async fn a_graceful_stop_hands_the_lines_over_at_once() {
    let Some(server) = postgres_server() else { return };
    let (db, [dir_a, dir_b]) = database(&server, "graceful").await;
    let a = replica(dir_a.path(), &db, "ms5-a").await;
    round(&a).await;
    let b = replica(dir_b.path(), &db, "ms5-b").await;
    round(&b).await;
    let report = a.ingest(&parts(1)).await;
    assert_eq!(report["applied"], json!(3), "{report}");
    a.stopper.stop().await;
    assert_eq!(owned(&a), [false, false], "a runs nothing once stopped");
    // No lease time to wait out: b takes both lines in its next round, with a's parts.
    round(&b).await;
    assert_eq!(owned(&b), [true, true]);
    assert_eq!(b.machine_window("b-press", "1h").await["total"], json!(40));
}

/// Moves both clocks on by `seconds`, five seconds and one lease round each at a time.
async fn run_for(apps: [&TestApp; 2], seconds: i64) {
    for _ in 0..seconds / 5 {
        for app in apps {
            app.clock.advance(5 * SEC);
            round(app).await;
        }
    }
}

#[actix_web::test]
async fn a_ticket_raised_on_any_replica_is_escalated_once_by_its_lines_owner() {
    let Some(server) = postgres_server() else { return };
    let (db, [dir_a, dir_b]) = database(&server, "andon").await;
    // Pages go nowhere: what counts is what is recorded to be sent.
    let plant = format!("{}{LINE_B}", andon_plant("http://127.0.0.1:9"));
    let a = replica_of(&plant, dir_a.path(), &db, "ms5-a").await;
    let b = replica_of(&plant, dir_b.path(), &db, "ms5-b").await;
    round(&a).await;
    round(&b).await;
    run_for([&a, &b], 5).await;
    let (owner, other) = if a.plant.ownership().owns(0) {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert!(!other.plant.ownership().owns(0));

    // Raised on the replica that does not run line-a.
    let (status, t) = other
        .post(
            "/api/v1/andon/tickets",
            &json!({"line": "line-a", "machine": "a-filler", "category": "maintenance", "priority": "high",
                    "description": "gearbox noise"}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let id = t["id"].as_i64().expect("id");
    let escalations = format!("SELECT COUNT(*) FROM andon_events WHERE ticket_id = {id} AND kind = 'escalated'");
    let pages = format!("SELECT COUNT(*) FROM notifications WHERE ticket_id = {id} AND action = 'escalated'");

    // Level 1 falls due 5 minutes after raising: fired once, with its two pages, whichever
    // replica's rounds come first.
    run_for([&a, &b], 295).await;
    assert_eq!(
        owner.store.count_raw(&escalations).await.expect("count"),
        0,
        "not due yet"
    );
    run_for([&a, &b], 10).await;
    assert_eq!(owner.store.count_raw(&escalations).await.expect("count"), 1);
    assert_eq!(owner.store.count_raw(&pages).await.expect("count"), 2);

    // A replica that judged the same level due after all (one frozen past its lease) is
    // refused by the store: nothing recorded, nothing paged twice.
    let ticket = owner.store.ticket(id).await.expect("read").expect("ticket");
    let again = owner
        .store
        .record_escalation(&ticket, 1, owner.clock.now_ms(), &[])
        .await;
    assert_eq!(again.expect("refused quietly"), Vec::<i64>::new());
    assert_eq!(owner.store.count_raw(&escalations).await.expect("count"), 1);
}

#[actix_web::test]
async fn an_owner_that_wakes_past_its_lease_cannot_write_what_it_counted() {
    let Some(server) = postgres_server() else { return };
    let (db, [dir_a, dir_b]) = database(&server, "fenced").await;
    let a = replica(dir_a.path(), &db, "ms5-a").await;
    round(&a).await;
    assert_eq!(a.ingest(&parts(1)).await["applied"], json!(3));
    a.plant.flush().await;
    let stored = "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM production_counts WHERE machine_id = 'b-press'";
    assert_eq!(a.store.count_raw(stored).await.expect("sum"), 40);

    // a freezes (its clock stands still, no round runs); b takes both lines over.
    let b = replica(dir_b.path(), &db, "ms5-b").await;
    b.clock.advance(16 * SEC);
    round(&b).await;
    assert_eq!(owned(&b), [true, true]);

    // a wakes and, before its first round, still counts line-b's parts in memory…
    let report = a.ingest(&[("B.Press.Total", json!(90), T0 - 200 * SEC)]).await;
    assert_eq!(report["applied"], json!(1), "{report}");
    a.plant.flush().await;
    // …but the store refuses them: the lease it counted under has moved on.
    assert_eq!(a.store.count_raw(stored).await.expect("sum"), 40);
    assert_eq!(b.machine_window("b-press", "1h").await["total"], json!(40));
}

#[actix_web::test]
async fn a_line_handed_over_to_a_replica_that_joins_keeps_every_part() {
    let Some(server) = postgres_server() else { return };
    let (db, [dir_a, dir_b]) = database(&server, "rebalance").await;
    // a writes only when flushed: what it counted is still in memory when b joins.
    let a = replica_writing_every(&two_line_plant(), dir_a.path(), &db, "ms5-a", "1h").await;
    round(&a).await;
    for line in 0..2 {
        assert_eq!(a.ingest(&parts(line)).await["applied"], json!(3));
    }
    let b = replica(dir_b.path(), &db, "ms5-b").await;
    round(&b).await;
    for app in [&a, &b] {
        app.clock.advance(5 * SEC);
    }
    // a hands one line over: it stops it, writes what it counted, then releases its lease.
    round(&a).await;
    round(&b).await;
    let moved = (0..2).find(|&l| owned(&b)[l]).expect("b took a line");
    assert!(!owned(&a)[moved]);
    assert_eq!(b.machine_window(OUTPUT[moved], "1h").await["total"], json!(40));
}

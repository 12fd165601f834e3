//! Real `ms5 serve` replicas on one PostgreSQL, running the shipped simulated plant with a
//! 3 s lease: one killed with SIGKILL has its lines run by the other within the lease time
//! and a round; one frozen with SIGSTOP is taken over the same way, and once continued it
//! finds its leases gone and stops its lines before any is shared out again. And under
//! ingest: a PLC counter climbing while its line's owner is killed is counted once, every
//! part, and an escalation that falls due meanwhile pages once.
//!
//! Needs `MS5_TEST_POSTGRES_URL` (scripts/test.sh starts a server); skipped without it
//! unless `MS5_REQUIRE_POSTGRES` is set.

mod common;

use std::time::{Duration, Instant};

use common::node::{Node, Proc};
use common::stores::postgres_server;
use common::{postgres_database, temp};

const PLANT: &str = include_str!("../config/plant.toml");
const OWNED: &str = "ms5_cluster_lines_owned";
/// The lease time: a dead replica's lines move within it and one round (a quarter of it).
const LEASE: Duration = Duration::from_secs(3);

fn lines() -> f64 {
    PLANT.matches("[[lines]]").count() as f64
}

fn replica(dir: &std::path::Path, db: &str, name: &str) -> Node {
    Node::new(
        dir,
        PLANT,
        &[
            ("MS5__STORE__URL", db.to_owned()),
            ("MS5__SIMULATOR__ENABLED", "true".to_owned()),
            ("MS5__CLUSTER__ENABLED", "true".to_owned()),
            ("MS5__CLUSTER__REPLICA", name.to_owned()),
            ("MS5__CLUSTER__LEASE_TTL", "3s".to_owned()),
        ],
    )
}

/// Waits (at most `within`) until `test` holds for the lines each of `nodes` runs; answers
/// how long it took.
async fn until(nodes: &[&Node], within: Duration, what: &str, test: impl Fn(&[f64]) -> bool) -> Duration {
    let start = Instant::now();
    let mut owned = Vec::new();
    while start.elapsed() < within {
        owned.clear();
        for n in nodes {
            owned.push(n.metric(OWNED).await);
        }
        if test(&owned) {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs: Vec<String> = nodes.iter().map(|n| n.log()).collect();
    panic!(
        "{what}: not within {within:?} (lines owned {owned:?})\n{}",
        logs.join("\n----\n")
    );
}

fn signal(proc: &Proc, sig: i32) {
    let pid = i32::try_from(proc.0.id()).expect("pid");
    // SAFETY: kill has no memory preconditions; pid is our own child.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

#[actix_web::test]
async fn a_killed_or_frozen_replica_has_its_lines_taken_over_within_the_lease() {
    let Some(server) = postgres_server() else { return };
    let (dir_a, dir_b) = (temp(), temp());
    let db = postgres_database(&server, &format!("cluster_failover::{}", dir_a.path().display())).await;
    let (a, b) = (replica(dir_a.path(), &db, "ms5-a"), replica(dir_b.path(), &db, "ms5-b"));
    let all = lines();
    assert!(all >= 2.0, "the shipped plant has {all} lines");

    let mut proc_a = a.serve().await;
    until(&[&a], LEASE * 3, "a alone runs every line", |o| o[0] == all).await;
    let proc_b = b.serve().await;
    until(&[&a, &b], LEASE * 3, "the lines shared out", |o| {
        o[0] >= 1.0 && o[1] >= 1.0 && o[0] + o[1] == all
    })
    .await;

    // SIGKILL: nothing is handed over; b waits out a's leases, then runs every line.
    signal(&proc_a, libc::SIGKILL);
    let _ = proc_a.0.wait();
    let took = until(&[&b], LEASE * 3, "b runs every line after a is killed", |o| o[0] == all).await;
    eprintln!("taken over {took:?} after SIGKILL");
    assert!(took <= LEASE + LEASE / 4 + Duration::from_secs(1), "{took:?}");

    // a comes back (same name, new process) and gets its share again.
    proc_a = a.serve().await;
    until(&[&a, &b], LEASE * 3, "the lines shared out again", |o| {
        o[0] >= 1.0 && o[1] >= 1.0 && o[0] + o[1] == all
    })
    .await;

    // SIGSTOP: b freezes holding its lines; a takes them once b's leases lapse.
    signal(&proc_b, libc::SIGSTOP);
    let took = until(&[&a], LEASE * 3, "a runs every line while b is frozen", |o| o[0] == all).await;
    eprintln!("taken over {took:?} after SIGSTOP");
    assert!(took <= LEASE + LEASE / 4 + Duration::from_secs(1), "{took:?}");
    // b wakes: its first round finds its leases gone and stops its lines; then the
    // lines are shared out again.
    let frozen_at = b.log().len();
    signal(&proc_b, libc::SIGCONT);
    until(&[&a, &b], LEASE * 3, "shared out after b wakes", |o| {
        o[0] >= 1.0 && o[1] >= 1.0 && o[0] + o[1] == all
    })
    .await;
    let woke = b.log().get(frozen_at..).unwrap_or_default().to_owned();
    assert!(woke.contains("line handed over to another replica"), "{woke}");
    drop(proc_a);
    drop(proc_b);
}

/// The test plant's two lines, the filler's ideal cycle 20 ms (the test's counter climbs
/// 20 a second: a jump across the failover is plausible, not a counter reset), with a
/// one-level escalation of quality tickets 6 s after raising, paged to `pager`.
fn ingest_plant(pager: &str) -> String {
    let plant = common::TEST_PLANT.replacen(r#"ideal_cycle_time = "1s""#, r#"ideal_cycle_time = "20ms""#, 1);
    format!(
        r#"{}{}
[andon]
reasons = {{ other = [] }}

[[andon.targets]]
name = "line-lead"
kind = "generic"
url = "{pager}/ok/lead"
secret = "test-secret"

[[andon.policies]]
category = "quality"
levels = [{{ after = "6s", targets = ["line-lead"] }}]
"#,
        plant,
        common::LINE_B
    )
}

/// Posts one sample to whichever replica runs its line; `None` when neither applied it
/// (the line is between owners).
async fn ingest_to_owner(nodes: &[&Node], token: &str, tag: &str, value: i64) -> Option<usize> {
    let ts = common::now_ms();
    let body = serde_json::json!([{ "tag": tag, "value": value, "ts": ts }]);
    let client = awc::Client::builder().timeout(Duration::from_secs(2)).finish();
    for (i, n) in nodes.iter().enumerate() {
        // A killed replica refuses the connection: try the next.
        let Ok(mut res) = client
            .post(format!("{}/api/v1/ingest", n.base()))
            .bearer_auth(token)
            .send_json(&body)
            .await
        else {
            continue;
        };
        let report: serde_json::Value = res.json().await.unwrap_or_default();
        if res.status().is_success() && report["applied"] == serde_json::json!(1) {
            return Some(i);
        }
    }
    None
}

#[actix_web::test]
async fn parts_counted_across_a_kill_are_counted_once_and_a_due_escalation_pages_once() {
    let Some(server) = postgres_server() else { return };
    let pager = common::pager::PagerServer::start();
    let (dir_a, dir_b) = (temp(), temp());
    let db = postgres_database(&server, &format!("cluster_failover::once::{}", dir_a.path().display())).await;
    let plant = ingest_plant(&pager.base);
    let node = |dir: &std::path::Path, name: &str| {
        Node::new(
            dir,
            &plant,
            &[
                ("MS5__STORE__URL", db.clone()),
                ("MS5__CLUSTER__ENABLED", "true".to_owned()),
                ("MS5__CLUSTER__REPLICA", name.to_owned()),
                ("MS5__CLUSTER__LEASE_TTL", "3s".to_owned()),
                // What a killed replica had not written is lost with it: writes wait up to 1 s.
                ("MS5__STORE__FLUSH_INTERVAL", "1s".to_owned()),
            ],
        )
    };
    let (a, b) = (node(dir_a.path(), "ms5-a"), node(dir_b.path(), "ms5-b"));
    a.add_admin();
    let mut procs = vec![a.serve().await];
    until(&[&a], LEASE * 3, "a alone runs both lines", |o| o[0] == 2.0).await;
    procs.push(b.serve().await);
    until(&[&a, &b], LEASE * 3, "one line each", |o| o[0] == 1.0 && o[1] == 1.0).await;
    let token = a.login().await;
    let nodes = [&a, &b];

    // The filler runs; whichever replica runs line-a takes its samples.
    let owner = ingest_to_owner(&nodes, &token, "A.Filler.State", 1)
        .await
        .expect("line-a has an owner");
    assert_eq!(ingest_to_owner(&nodes, &token, "A.Filler.Total", 0).await, Some(owner));
    // A ticket whose first level falls due 6 s from now: during the failover below.
    let (status, ticket) = nodes[owner]
        .call(
            "POST",
            "/api/v1/andon/tickets",
            &token,
            Some(
                &serde_json::json!({"line": "line-a", "machine": "a-filler", "category": "quality",
                                     "priority": "high", "description": "caps crooked"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");

    // The PLC's counter climbs by one every 50 ms. The owner is killed after 1.5 s, with
    // up to a second of counts not yet written; the counter goes on, and whichever replica
    // runs line-a takes it. Samples neither applies (between owners) are not needed: the
    // counter carries every part made before it.
    let mut counter = 0i64;
    let mut applied_by = [0usize; 2];
    let started = Instant::now();
    let mut killed = false;
    while started.elapsed() < Duration::from_secs(12) {
        counter += 1;
        if let Some(i) = ingest_to_owner(&nodes, &token, "A.Filler.Total", counter).await {
            applied_by[i] += 1;
        }
        if !killed && started.elapsed() >= Duration::from_millis(1_500) {
            signal(&procs[owner], libc::SIGKILL);
            let _ = procs[owner].0.wait();
            killed = true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let survivor = 1 - owner;
    assert!(
        applied_by[survivor] > 0,
        "the survivor took the counter over: {applied_by:?}"
    );
    // The last sample went to the survivor, which holds it; its live window and the store
    // count every part once.
    let (status, filler) = nodes[survivor]
        .call("GET", "/api/v1/machines/a-filler", &token, None)
        .await;
    assert_eq!(status, 200, "{filler}");
    assert_eq!(filler["windows"]["1h"]["total"], serde_json::json!(counter), "{filler}");
    let store = ms5::store::Store::connect(&db).await.expect("store");
    let mut stored = 0;
    for _ in 0..100 {
        stored = store
            .count_raw(
                "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM production_counts WHERE machine_id = 'a-filler'",
            )
            .await
            .expect("sum");
        if stored == counter {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored, counter, "parts in the store, none lost, none doubled");

    // The escalation fell due while line-a was between owners: paged once, by the survivor.
    let pages = pager.wait_for("/ok/lead", 1).await;
    assert_eq!(pages.len(), 1);
    let escalations = format!(
        "SELECT COUNT(*) FROM andon_events WHERE ticket_id = {} AND kind = 'escalated'",
        ticket["id"]
    );
    // Two more lease rounds: nothing is sent again.
    tokio::time::sleep(LEASE / 2).await;
    assert_eq!(pager.on("/ok/lead").len(), 1, "paged once");
    assert_eq!(store.count_raw(&escalations).await.expect("count"), 1);
    drop(procs);
}

//! Real `ms5 serve` replicas on one PostgreSQL, running the shipped simulated plant with a
//! 3 s lease: one killed with SIGKILL has its lines run by the other within the lease time
//! and a round; one frozen with SIGSTOP is taken over the same way, and once continued it
//! finds its leases gone and stops its lines before any is shared out again.
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

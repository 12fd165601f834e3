//! Restarts, actor panics and silent sources, with a controlled clock.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[actix_web::test]
async fn counts_and_counter_baselines_survive_a_restart() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let first = spawn_test_plant(dir.path(), t + 30 * MIN).await;
    let mut samples = vec![("A.Filler.State", json!(1), t)];
    for k in 0..=20i64 {
        samples.push(("A.Filler.Total", json!(1_000 + 37 * k), t + k * MIN));
        samples.push(("A.Filler.Reject", json!(k), t + k * MIN));
    }
    first.ingest(&samples).await;
    let before = first.machine_window("a-filler", "shift").await;
    // 20 minutes × 37 = 740 parts, 20 of them rejects
    assert_eq!(
        (before["total"].clone(), before["reject"].clone()),
        (json!(740), json!(20))
    );
    first.stopper.stop().await;

    let second = spawn_test_plant(dir.path(), t + 31 * MIN).await;
    let after = second.machine_window("a-filler", "shift").await;
    assert_eq!(
        (after["total"].clone(), after["good"].clone()),
        (before["total"].clone(), before["good"].clone())
    );
    assert_eq!(after["run_s"], before["run_s"], "run time restored: {after}");
    // the counter continues from its stored baseline: 1,740 → 1,790 is 50 parts, not 1,790
    second.ingest(&[("A.Filler.Total", json!(1_790), t + 31 * MIN)]).await;
    let later = second.machine_window("a-filler", "shift").await;
    assert_eq!(later["total"], json!(790), "{later}");
    // and a replayed old sample is late, not counted again
    let replay = second.ingest(&[("A.Filler.Total", json!(1_740), t + 20 * MIN)]).await;
    assert_eq!(replay["late"], json!(1), "{replay}");
}

#[actix_web::test]
async fn a_panicking_machine_actor_restarts_with_its_counts() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn_test_plant(dir.path(), t).await;
    app.ingest(&[
        ("A.Filler.State", json!(1), t),
        ("A.Filler.Total", json!(10), t),
        ("A.Filler.Total", json!(25), t + MIN),
    ])
    .await;
    assert_eq!(app.machine_window("a-filler", "shift").await["total"], json!(15));
    app.plant.poison_machine(0);
    // the restarted actor answers with the same counts and keeps counting
    assert_eq!(app.machine_window("a-filler", "shift").await["total"], json!(15));
    app.ingest(&[("A.Filler.Total", json!(30), t + 2 * MIN)]).await;
    assert_eq!(app.machine_window("a-filler", "shift").await["total"], json!(20));
    let (_, metrics) = app.get_text("/metrics").await;
    assert!(
        metrics.contains(r#"ms5_actor_restarts_total{actor="machine"}"#),
        "restart not counted"
    );
}

#[actix_web::test]
async fn a_silent_source_makes_the_machine_unknown_after_stale_after() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn_test_plant(dir.path(), t).await;
    app.ingest(&[("A.Filler.State", json!(1), t)]).await;
    // 30 s of silence is still within stale_after …
    app.clock.advance(30_000);
    app.plant.tick().await;
    let (_, m) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(m["state"], json!("running"));
    // … one more second is not.
    app.clock.advance(1_000);
    app.plant.tick().await;
    let (_, m) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(
        (m["state"].clone(), m["reason"].clone()),
        (json!("unknown"), json!("comms_lost")),
        "{m}"
    );
    // unknown from the last data, t: the whole 31 s of silence is comms lost, an
    // unplanned stop (none of it run time)
    let shift = &m["windows"]["shift"];
    assert_eq!(
        (&shift["run_s"], &shift["down_s"], &shift["comms_lost_s"]),
        (&json!(0.0), &json!(31.0), &json!(31.0)),
        "{m}"
    );
    assert_eq!(m["state_since"], json!("2026-03-02T07:00:00Z"), "{m}");
    // data again: running again
    app.ingest(&[("A.Filler.State", json!(1), t + 40_000)]).await;
    let (_, m) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(m["state"], json!("running"));
    tokio::time::sleep(Duration::from_millis(1)).await;
}

//! `ms5_andon_tickets_at_last_level`, which the `MS5AndonLastLevel` alert watches: a ticket
//! counts once its last response level has paged and nobody acknowledged it, and stops
//! counting when someone does. Its own file: the tests of a file share one metrics registry.

mod common;

use common::pager::PagerServer;
use common::*;
use ms5::clock::Clock;
use serde_json::json;

const T0: i64 = DAY + 7 * 60 * MIN;

async fn at_last_level(app: &TestApp) -> Option<f64> {
    let (_, text) = app.get_text("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(r#"ms5_andon_tickets_at_last_level{line="line-a"} "#))
        .and_then(|v| v.trim().parse().ok())
}

#[actix_web::test]
async fn a_ticket_past_its_last_level_counts_until_acknowledged() {
    let dir = temp();
    let pager = PagerServer::start();
    let app = spawn_app(Spawn {
        plant: &andon_plant(&pager.base),
        dir: dir.path(),
        clock: Clock::manual(T0),
        simulator: false,
        settings: json!({}),
    })
    .await;
    let (status, t) = app
        .post(
            "/api/v1/andon/tickets",
            &json!({"line": "line-a", "machine": "a-filler", "category": "maintenance", "priority": "high", "description": "no one comes"}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let id = t["id"].as_i64().expect("id");
    assert_eq!(at_last_level(&app).await, Some(0.0));
    // maintenance/high: L1 at 5 min, L2 (the last response level) at 15 min.
    app.clock.set(T0 + 5 * MIN);
    app.plant.tick().await;
    pager.wait_for("/ok/slack", 1).await;
    assert_eq!(at_last_level(&app).await, Some(0.0), "one level is left");
    app.clock.set(T0 + 15 * MIN);
    app.plant.tick().await;
    pager.wait_for("/pd/enqueue", 1).await;
    let mut seen = None;
    for _ in 0..100 {
        seen = at_last_level(&app).await;
        if seen == Some(1.0) {
            break;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen, Some(1.0), "paged every level, unacknowledged");
    let (status, _) = app
        .post(&format!("/api/v1/andon/tickets/{id}/acknowledge"), &json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(at_last_level(&app).await, Some(0.0), "someone answered");
}

//! REST API against a real server: health, metrics, ingest, OEE read-back, bad input.

mod common;

use common::*;
use serde_json::{Value, json};

/// The textbook shift: 8 h (06:00-14:00) with 60 min of planned breaks, 47 min down,
/// 19,271 parts at an ideal 1.0 s, 423 rejects. Counters sampled every minute.
async fn feed_textbook_shift(app: &TestApp) {
    let start = DAY + 6 * 60 * MIN;
    let mut samples: Vec<(&str, Value, i64)> = vec![
        ("A.Filler.State", json!(1), start),
        ("A.Filler.Total", json!(0), start),
        ("A.Filler.Reject", json!(0), start),
        // down 10:00-10:47, a jam
        ("A.Filler.State", json!(3), start + 240 * MIN),
        ("A.Filler.Fault", json!(7), start + 240 * MIN),
        ("A.Filler.State", json!(1), start + 287 * MIN),
    ];
    for k in 1..480i64 {
        let total = if k == 479 { 19_271 } else { 19_271 * k / 479 };
        let reject = if k == 479 { 423 } else { 423 * k / 479 };
        samples.push(("A.Filler.Total", json!(total), start + k * MIN));
        samples.push(("A.Filler.Reject", json!(reject), start + k * MIN));
    }
    // the shift's last instant closes the accounting at 14:00
    samples.push(("A.Filler.State", json!(1), start + 480 * MIN));
    samples.sort_by_key(|s| s.2);
    let report = app.ingest(&samples).await;
    assert_eq!(report["applied"], json!(samples.len()), "{report}");
}

#[actix_web::test]
async fn health_ready_and_metrics_answer() {
    let dir = temp();
    // Its own machine id: the tests of this file share one metrics registry, and others
    // move `a-filler` through other states meanwhile.
    let plant = TEST_PLANT.replace("a-filler", "health-filler");
    let app = spawn_plant_at(dir.path(), &plant, DAY + 7 * 60 * MIN, json!({})).await;
    assert_eq!(app.get("/health").await, (200, json!({"status": "ok"})));
    let (status, ready) = app.get("/ready").await;
    assert_eq!((status, &ready["status"]), (200, &json!("ready")), "{ready}");
    app.ingest(&[("A.Filler.State", json!(1), DAY + 7 * 60 * MIN)]).await;
    let (status, text) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "ms5_tag_updates_total",
        "ms5_machine_state",
        "ms5_http_request_duration_seconds",
    ] {
        assert!(text.contains(name), "/metrics lacks {name}");
    }
    assert!(
        text.contains(r#"ms5_machine_state{machine="health-filler",line="line-a",state="running"} 1"#),
        "{text}"
    );
}

#[actix_web::test]
async fn textbook_shift_fed_through_ingest_reads_back_the_textbook_oee() {
    let dir = temp();
    let app = spawn_test_plant(dir.path(), DAY + 14 * 60 * MIN).await;
    feed_textbook_shift(&app).await;
    let (from, to) = (rfc3339(DAY + 6 * 60 * MIN), rfc3339(DAY + 14 * 60 * MIN));
    // A = 373/420 = 88.81 %, P = 19,271/22,380 = 86.11 %, Q = 18,848/19,271 = 97.80 %,
    // OEE = 18,848 s / 25,200 s = 74.79 %.
    for path in [
        format!("/api/v1/lines/line-a/oee?from={from}&to={to}"),
        format!("/api/v1/machines/a-filler/oee?from={from}&to={to}"),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, 200, "{body}");
        let oee = &body["oee"];
        assert_eq!(pct(&oee["availability"]), Some(88.81), "{path}: {oee}");
        assert_eq!(pct(&oee["performance"]), Some(86.11), "{path}: {oee}");
        assert_eq!(pct(&oee["quality"]), Some(97.80), "{path}: {oee}");
        assert_eq!(pct(&oee["oee"]), Some(74.79), "{path}: {oee}");
        assert_eq!(
            (oee["total"].clone(), oee["reject"].clone()),
            (json!(19_271), json!(423))
        );
        assert_eq!(oee["planned_stop_s"], json!(3600.0), "{oee}");
    }
    // The live shift window, computed as the tags arrived, says the same.
    let live = app.machine_window("a-filler", "shift").await;
    assert_eq!(pct(&live["oee"]), Some(74.79), "{live}");
    assert_eq!(pct(&live["availability"]), Some(88.81), "{live}");
    // The jam is the downtime reason while it lasted; the machine runs again now.
    let (_, machine) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(machine["state"], json!("running"));
}

#[actix_web::test]
async fn ingest_counts_what_it_cannot_apply_and_applies_the_rest() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn_test_plant(dir.path(), t).await;
    let first = app
        .ingest(&[
            ("A.Filler.State", json!(1), t),
            ("A.Filler.Total", json!(100), t),
            ("No.Such.Tag", json!(1), t),
            ("A.Filler.Total", json!("lots"), t + 1),
            ("A.Filler.State", json!(42), t + 2),
        ])
        .await;
    assert_eq!(
        first,
        json!({"received": 5, "applied": 2, "unknown_tag": 1, "bad_quality": 0, "uncertain_quality": 0,
               "wrong_value": 2, "duplicate": 0, "late": 0, "not_owner": 0})
    );
    // bad quality is ignored: the machine does not go down
    let (status, report) = app
        .post(
            "/api/v1/ingest",
            &json!([{"tag": "A.Filler.State", "value": 3, "ts": t + 10, "quality": "bad"},
                    {"tag": "A.Filler.Total", "value": 110, "ts": t + 10, "quality": "uncertain"}]),
        )
        .await;
    assert_eq!(
        (status, &report["bad_quality"], &report["uncertain_quality"]),
        (200, &json!(1), &json!(1))
    );
    let (_, m) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(m["state"], json!("running"), "{m}");
    // the same sample twice counts once; an older one is late and not applied
    let again = app
        .ingest(&[
            ("A.Filler.Total", json!(110), t + 10),
            ("A.Filler.Total", json!(105), t + 5),
        ])
        .await;
    assert_eq!(
        (again["duplicate"].clone(), again["late"].clone()),
        (json!(1), json!(1)),
        "{again}"
    );
    let counted = app.machine_window("a-filler", "shift").await;
    assert_eq!(
        counted["total"],
        json!(10),
        "100 → 110 is ten parts, counted once: {counted}"
    );
}

#[actix_web::test]
async fn malformed_requests_get_the_error_shape_and_change_nothing() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn_test_plant(dir.path(), t).await;
    app.ingest(&[("A.Filler.State", json!(1), t), ("A.Filler.Total", json!(0), t)])
        .await;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("not JSON", b"{nope".to_vec(), 400, "invalid JSON"),
        (
            "object instead of array",
            br#"{"tag":"A.Filler.Total"}"#.to_vec(),
            400,
            "invalid JSON",
        ),
        ("missing value", br#"[{"tag":"A.Filler.Total"}]"#.to_vec(), 400, "value"),
        (
            "bad timestamp in the second sample",
            br#"[{"tag":"A.Filler.Total","value":50},{"tag":"A.Filler.Total","value":60,"ts":"yesterday"}]"#.to_vec(),
            400,
            "sample 1",
        ),
        (
            "unknown quality",
            br#"[{"tag":"A.Filler.Total","value":50,"quality":"meh"}]"#.to_vec(),
            400,
            "expected one of `good`",
        ),
        ("too large", vec![b' '; 2 << 20], 413, "larger than"),
    ];
    for (name, body, status, message) in cases {
        let (got, err) = app.post_raw("/api/v1/ingest", body).await;
        assert_eq!(got, status, "{name}: {err}");
        let text = err["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{name}: {err}");
        assert!(err["error"]["code"].is_string(), "{name}: {err}");
    }
    // nothing of the refused batches was applied
    assert_eq!(app.machine_window("a-filler", "shift").await["total"], json!(0));
    for (path, status, code) in [
        ("/api/v1/lines/nope", 404, "not_found"),
        ("/api/v1/machines/nope", 404, "not_found"),
        ("/api/v1/lines/nope/oee", 404, "not_found"),
        ("/api/v1/lines/line-a/oee?window=2h", 400, "bad_request"),
        ("/api/v1/lines/line-a/oee?from=2026-03-02T08:00:00Z", 400, "bad_request"),
        (
            "/api/v1/lines/line-a/oee?from=2026-03-02T08:00:00Z&to=2026-03-02T07:00:00Z",
            400,
            "bad_request",
        ),
        (
            "/api/v1/lines/line-a/oee?from=yesterday&to=2026-03-02T07:00:00Z",
            400,
            "bad_request",
        ),
        (
            "/api/v1/lines/line-a/oee?window=shift&from=2026-03-02T07:00:00Z&to=2026-03-02T08:00:00Z",
            400,
            "bad_request",
        ),
        ("/api/v1/no/such/route", 404, "not_found"),
    ] {
        let (got, body) = app.get(path).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{path}: {body}"
        );
    }
}

#[actix_web::test]
async fn production_lines_list_every_line_with_its_machines() {
    let dir = temp();
    let app = spawn_test_plant(dir.path(), DAY + 7 * 60 * MIN).await;
    let (status, body) = app.get("/api/v1/production/lines").await;
    assert_eq!(status, 200);
    let lines = body["lines"].as_array().cloned().unwrap_or_default();
    assert_eq!(lines.len(), 1, "{body}");
    let ids: Vec<_> = lines[0]["machines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("a-filler"), json!("a-packer")]);
    // no data yet: unknown, and OEE null rather than 0 or NaN
    assert_eq!(lines[0]["state"], json!("unknown"));
    assert_eq!(lines[0]["windows"]["shift"]["oee"], Value::Null);
}

#[actix_web::test]
async fn raw_samples_are_kept_and_purged_past_their_retention() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn_test_plant(dir.path(), t).await;
    // every sample received is kept raw, including one the plant model does not know
    app.ingest(&[
        ("A.Filler.State", json!(1), t),
        ("A.Filler.State", json!(2), t + MIN),
        ("No.Such.Tag", json!(5), t),
    ])
    .await;
    app.plant.flush().await;
    assert_eq!(app.store.raw_sample_count("A.Filler.State").await.ok(), Some(2));
    assert_eq!(app.store.raw_sample_count("No.Such.Tag").await.ok(), Some(1));
    // retention removes what is older than the cut-off, and only that
    assert_eq!(app.store.purge_raw(t + 1).await.ok(), Some(2));
    assert_eq!(app.store.raw_sample_count("A.Filler.State").await.ok(), Some(1));
}

/// The filler's figures over `[from, to)`, recomputed from the store.
async fn past_figures(app: &TestApp, from: i64, to: i64) -> Value {
    let path = format!(
        "/api/v1/machines/a-filler/oee?from={}&to={}",
        rfc3339(from),
        rfc3339(to)
    );
    let (status, body) = app.get(&path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["oee"].clone()
}

#[actix_web::test]
async fn a_silent_span_is_booked_as_comms_lost_live_and_in_past_spans_alike() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let last = t + MIN;
    // The wall clock never moves more than stale_after between two deliveries unless the
    // silence is meant (the machine actors also tick on their own).
    let app = spawn_test_plant(dir.path(), last).await;
    // Running from 07:00, 50 parts in its first minute; then silent from 07:01.
    app.ingest(&[
        ("A.Filler.State", json!(1), t),
        ("A.Filler.Total", json!(0), t),
        ("A.Filler.Total", json!(50), last),
    ])
    .await;
    // judged stale 45 s on: unknown from the last data, 07:01
    app.clock.set(last + 45_000);
    app.plant.tick().await;
    let (_, m) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(
        (&m["state"], &m["reason"], &m["state_since"]),
        (&json!("unknown"), &json!("comms_lost"), &json!("2026-03-02T07:01:00Z")),
        "{m}"
    );
    // data again at 07:02 (10 parts made meanwhile), then a minute of 50 parts
    app.clock.set(last + MIN);
    app.ingest(&[
        ("A.Filler.State", json!(1), last + MIN),
        ("A.Filler.Total", json!(60), last + MIN),
        ("A.Filler.Total", json!(110), last + 2 * MIN),
    ])
    .await;
    app.plant.flush().await;

    // run 120 s, down 60 s of which all comms lost (never a micro-stop), 110 parts at 1 s:
    // A = 120 / 180 = 66.67 %, P = 110 / 120 = 91.67 %, OEE = 110 / 180 = 61.11 %.
    let live = app.machine_window("a-filler", "shift").await;
    let past = past_figures(&app, DAY + 6 * 60 * MIN, DAY + 14 * 60 * MIN).await;
    for (what, f) in [("live", &live), ("past", &past)] {
        assert_eq!(
            (&f["run_s"], &f["down_s"], &f["comms_lost_s"], &f["micro_stop_s"]),
            (&json!(120.0), &json!(60.0), &json!(60.0), &json!(0.0)),
            "{what}: {f}"
        );
        assert_eq!(f["total"], json!(110), "{what}: {f}");
        assert_eq!(pct(&f["availability"]), Some(66.67), "{what}: {f}");
        assert_eq!(pct(&f["performance"]), Some(91.67), "{what}: {f}");
        assert_eq!(pct(&f["oee"]), Some(61.11), "{what}: {f}");
    }
    assert_eq!(live, past, "the board and the past span agree to the last digit");
    // the silent minute alone, as a past span
    let gap = past_figures(&app, last, last + MIN).await;
    assert_eq!(
        (&gap["run_s"], &gap["comms_lost_s"]),
        (&json!(0.0), &json!(60.0)),
        "{gap}"
    );
    // and the stored stop
    let (_, body) = app.get("/api/v1/downtime?machine=a-filler").await;
    let stops: Vec<_> = body["downtime"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["start"].clone(),
                d["end"].clone(),
                d["reason"].clone(),
                d["micro_stop"].clone(),
            )
        })
        .collect();
    assert_eq!(
        stops,
        vec![(
            json!("2026-03-02T07:01:00Z"),
            json!("2026-03-02T07:02:00Z"),
            json!("comms_lost"),
            json!(false)
        )],
        "{body}"
    );
}

#[actix_web::test]
async fn an_implausible_counter_jump_after_an_outage_is_a_reset_and_adds_no_parts() {
    let dir = temp();
    let t = DAY + 7 * 60 * MIN;
    let app = spawn_test_plant(dir.path(), t).await;
    app.ingest(&[("A.Filler.State", json!(1), t), ("A.Filler.Total", json!(100), t)])
        .await;
    // silent past stale_after: unknown
    app.clock.set(t + 31_000);
    app.plant.tick().await;
    assert_eq!(
        app.machine_window("a-filler", "shift").await["comms_lost_s"],
        json!(31.0)
    );
    // 40 s after the last reading the counter reads 5,000,000: at 1 s per part the filler
    // could have made at most 40 × 1.5 + 5 = 65, so it was reset (a new PLC, a restored
    // backup): the new value is the baseline, and the next reading counts from it.
    app.clock.set(t + 40_000);
    let report = app
        .ingest(&[
            ("A.Filler.State", json!(1), t + 40_000),
            ("A.Filler.Total", json!(5_000_000), t + 40_000),
        ])
        .await;
    assert_eq!(report["applied"], json!(2), "{report}");
    assert_eq!(app.machine_window("a-filler", "shift").await["total"], json!(0));
    app.clock.set(t + 50_000);
    app.ingest(&[("A.Filler.Total", json!(5_000_010), t + 50_000)]).await;
    app.plant.flush().await;
    let live = app.machine_window("a-filler", "shift").await;
    assert_eq!(live["total"], json!(10), "{live}");
    let past = past_figures(&app, DAY + 6 * 60 * MIN, DAY + 14 * 60 * MIN).await;
    assert_eq!(past["total"], json!(10), "{past}");
    let (_, metrics) = app.get_text("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"ms5_counter_resets_total{machine="a-filler",reason="implausible_jump"} 1"#),
        "{metrics}"
    );
}

//! Manual rejects against a real server on a manual clock: the defect tree, logging,
//! listing, voiding, roles and line scope, bad input, audit rows, and the rule that the
//! live board and `?from=&to=` count manual rejects alike.

mod common;

use common::ws::*;
use common::*;
use ms5::domain::access::Role;
use serde_json::{Value, json};

/// 08:00 on the test day: two hours into the day shift (06:00-14:00, breaks from 09:00).
const T0: i64 = DAY + 8 * 60 * MIN;
const SHIFT: (i64, i64) = (DAY + 6 * 60 * MIN, DAY + 14 * 60 * MIN);

/// A second line with a tree of its own, and a plant-wide tree for line-a.
const EXTRA: &str = r#"
[[lines]]
id = "line-b"
name = "Line B"

[lines.defects]
dent = ["deep", "shallow"]

[[lines.machines]]
id = "b-press"
name = "Press"
ideal_cycle_time = "1s"
tags = { state = { tag = "B.Press.State" }, total = { tag = "B.Press.Total", width = 32 }, reject = { tag = "B.Press.Reject", width = 32 } }

[defects]
fill = ["underfill", "overfill"]
cap = ["missing", "loose"]
other = []
"#;

async fn app(dir: &std::path::Path) -> TestApp {
    spawn_app(Spawn {
        plant: &format!("{TEST_PLANT}{EXTRA}"),
        dir,
        clock: ms5::clock::Clock::manual(T0),
        simulator: false,
        settings: json!({}),
    })
    .await
}

/// 06:00-08:00 running. The filler (total + reject counters) makes 1,000 parts, 40 of
/// them PLC rejects: 960 good. The packer (good + reject) makes 500 good and 10 rejects.
/// The press (line-b) makes 200, all good.
async fn feed(app: &TestApp) {
    let (start, seven) = (SHIFT.0, SHIFT.0 + 60 * MIN);
    app.ingest(&[
        ("A.Filler.State", json!(1), start),
        ("A.Filler.Total", json!(0), start),
        ("A.Filler.Reject", json!(0), start),
        ("A.Packer.Run", json!(true), start),
        ("A.Packer.Good", json!(0), start),
        ("A.Packer.Reject", json!(0), start),
        ("B.Press.State", json!(1), start),
        ("B.Press.Total", json!(0), start),
        ("A.Filler.Total", json!(1_000), seven),
        ("A.Filler.Reject", json!(40), seven),
        ("A.Packer.Good", json!(500), seven),
        ("A.Packer.Reject", json!(10), seven),
        ("B.Press.Total", json!(200), seven),
        // the clock of every machine at 08:00
        ("A.Filler.State", json!(1), T0),
        ("A.Packer.Run", json!(true), T0),
        ("B.Press.State", json!(1), T0),
    ])
    .await;
}

fn body(machine: &str, defect: &str, quantity: i64) -> Value {
    json!({ "machine": machine, "defect": defect, "quantity": quantity })
}

fn counts(figures: &Value) -> (i64, i64, i64) {
    let n = |k: &str| figures[k].as_i64().unwrap_or(i64::MIN);
    (n("total"), n("good"), n("reject"))
}

/// The live shift window of a machine or line, and the same span recomputed from the
/// store (`?from=&to=` over the whole shift): they must be equal to the last digit.
async fn live_and_past(app: &TestApp, scope: &str, id: &str) -> (Value, Value) {
    let (status, live) = app.get(&format!("/api/v1/{scope}/{id}")).await;
    assert_eq!(status, 200, "{live}");
    let path = format!(
        "/api/v1/{scope}/{id}/oee?from={}&to={}",
        rfc3339(SHIFT.0),
        rfc3339(SHIFT.1)
    );
    let (status, past) = app.get(&path).await;
    assert_eq!(status, 200, "{past}");
    (live["windows"]["shift"].clone(), past["oee"].clone())
}

async fn assert_live_equals_past(app: &TestApp, want: &[(&str, &str, (i64, i64, i64))]) {
    for (scope, id, counted) in want {
        let (live, past) = live_and_past(app, scope, id).await;
        assert_eq!(counts(&live), *counted, "{scope}/{id} live: {live}");
        assert_eq!(live, past, "{scope}/{id}: the live window and ?from=&to= differ");
    }
}

async fn audit(app: &TestApp, action: &str) -> Vec<Value> {
    let (status, page) = app.get(&format!("/api/v1/audit?action={action}")).await;
    assert_eq!(status, 200, "{page}");
    page["entries"].as_array().cloned().unwrap_or_default()
}

async fn listed(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, page) = app.get(&format!("/api/v1/rejects{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["rejects"].as_array().cloned().unwrap_or_default()
}

#[actix_web::test]
async fn each_line_reads_its_own_defect_tree() {
    let dir = temp();
    let app = app(dir.path()).await;
    let (status, a) = app.get("/api/v1/lines/line-a/defects").await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        a["codes"],
        json!([
            "cap",
            "cap/missing",
            "cap/loose",
            "fill",
            "fill/underfill",
            "fill/overfill",
            "other"
        ])
    );
    assert_eq!(a["tree"]["fill"], json!(["underfill", "overfill"]));
    let (_, b) = app.get("/api/v1/lines/line-b/defects").await;
    assert_eq!(b["codes"], json!(["dent", "dent/deep", "dent/shallow"]), "{b}");
    let (status, e) = app.get("/api/v1/lines/nope/defects").await;
    assert_eq!((status, &e["error"]["code"]), (404, &json!("not_found")), "{e}");
    let b_only = app.token_with("bea", Role::Operator, Some(vec!["line-b".into()])).await;
    assert_eq!(app.get_as("/api/v1/lines/line-a/defects", &b_only).await.0, 403);
    assert_eq!(app.get_as("/api/v1/lines/line-b/defects", &b_only).await.0, 200);
}

#[actix_web::test]
async fn logged_rejects_lower_good_parts_alike_on_the_board_and_in_past_spans() {
    let dir = temp();
    let app = app(dir.path()).await;
    feed(&app).await;
    // PLC figures first: filler 1,000 / 960 / 40, the line (output = filler) the same.
    assert_live_equals_past(
        &app,
        &[
            ("machines", "a-filler", (1_000, 960, 40)),
            ("lines", "line-a", (1_000, 960, 40)),
            ("machines", "a-packer", (510, 500, 10)),
        ],
    )
    .await;
    let anna = app.token_with("anna", Role::Operator, None).await;
    let mut ws = connect_to(&app, &anna).await;
    send(&mut ws, r#"{"type":"subscribe","channel":"machine:a-filler"}"#).await;
    assert_eq!(next_json(&mut ws).await["type"], json!("snapshot"));

    // 25 underfilled bottles made at 07:30, found now; 5 loose caps, logged at now (08:00).
    let mut early = body("a-filler", "fill/underfill", 25);
    early["at"] = json!(rfc3339(SHIFT.0 + 90 * MIN));
    early["note"] = json!("  checkweigher lane 2  ");
    let (status, first) = app.post_as("/api/v1/rejects", &anna, &early).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (
            &first["line"],
            &first["defect"],
            &first["quantity"],
            &first["note"],
            &first["logged_by"],
            &first["state"],
            &first["void"]
        ),
        (
            &json!("line-a"),
            &json!("fill/underfill"),
            &json!(25),
            &json!("checkweigher lane 2"),
            &json!("anna"),
            &json!("logged"),
            &Value::Null
        ),
        "{first}"
    );
    assert_eq!(first["at"], json!("2026-03-02T07:30:00Z"));
    assert_eq!(first["logged_at"], json!("2026-03-02T08:00:00Z"));
    // The socket hears of it: 960 − 25 = 935 good.
    // (Frames for the flush before it may come first.)
    let mut pushed = Vec::new();
    while pushed.last() != Some(&json!(935)) && pushed.len() < 10 {
        let update = next_json(&mut ws).await;
        pushed.push(update["data"]["windows"]["shift"]["good"].clone());
    }
    assert_eq!(pushed.last(), Some(&json!(935)), "{pushed:?}");

    let (status, second) = app
        .post_as("/api/v1/rejects", &anna, &body("a-filler", "cap/loose", 5))
        .await;
    assert_eq!(
        (status, &second["at"]),
        (201, &json!("2026-03-02T08:00:00Z")),
        "{second}"
    );
    // On the packer, which is not the line's output machine: its own figures only.
    let (status, _) = app
        .post_as("/api/v1/rejects", &anna, &body("a-packer", "other", 10))
        .await;
    assert_eq!(status, 201);

    // Filler: 1,000 made, 960 − 25 − 5 = 930 good, 40 + 30 = 70 rejected; Q = 93 %.
    // Line A counts the filler, so the same; the packer: 510 / 490 / 20.
    assert_live_equals_past(
        &app,
        &[
            ("machines", "a-filler", (1_000, 930, 70)),
            ("lines", "line-a", (1_000, 930, 70)),
            ("machines", "a-packer", (510, 490, 20)),
        ],
    )
    .await;
    let (_, live) = live_and_past(&app, "machines", "a-filler").await;
    assert_eq!(pct(&live["quality"]), Some(93.0), "{live}");
    // Rolling windows hold what falls in them: 8 h has the 07:00 parts and both entries;
    // the last hour (07:00:15-08:00:15) and 15 minutes hold entries without their parts,
    // as `?from=&to=` over the same span would.
    for (window, want) in [
        ("8h", (1_000, 930, 70)),
        ("today", (1_000, 930, 70)),
        ("1h", (0, -30, 30)),
        ("15m", (0, -5, 5)),
    ] {
        assert_eq!(counts(&app.machine_window("a-filler", window).await), want, "{window}");
    }

    // Restarted on the same database, the board still counts them.
    app.stopper.stop().await;
    let again = self::app(dir.path()).await;
    assert_live_equals_past(&again, &[("machines", "a-filler", (1_000, 930, 70))]).await;
}

#[actix_web::test]
async fn a_void_is_kept_audited_and_gives_the_parts_back_once() {
    let dir = temp();
    let app = app(dir.path()).await;
    feed(&app).await;
    let anna = app.token_with("anna", Role::Operator, None).await;
    let sam = app.token_with("sam", Role::Supervisor, None).await;
    let (_, logged) = app
        .post_as("/api/v1/rejects", &anna, &body("a-filler", "cap/missing", 60))
        .await;
    let id = logged["id"].as_i64().expect("id");
    assert_eq!(
        counts(&app.machine_window("a-filler", "shift").await),
        (1_000, 900, 100)
    );

    // An operator may not void.
    let (status, refused) = app
        .post_as(&format!("/api/v1/rejects/{id}/void"), &anna, &json!({"reason": "mine"}))
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("forbidden")),
        "{refused}"
    );

    let path = format!("/api/v1/rejects/{id}/void");
    let (status, voided) = app
        .post_as(&path, &sam, &json!({"reason": "caps were on; sensor misread"}))
        .await;
    assert_eq!(status, 200, "{voided}");
    assert_eq!(voided["state"], json!("voided"));
    assert_eq!(
        voided["void"],
        json!({"by": "sam", "at": "2026-03-02T08:00:00Z", "reason": "caps were on; sensor misread"})
    );
    // The parts are good again, live and recomputed.
    assert_live_equals_past(&app, &[("machines", "a-filler", (1_000, 960, 40))]).await;

    // A second void is refused with the state it is in, and changes nothing.
    let (status, again) = app.post_as(&path, &sam, &json!({"reason": "twice"})).await;
    assert_eq!(status, 409, "{again}");
    let message = again["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("voided already") && message.contains("sam"),
        "{message}"
    );
    assert_live_equals_past(&app, &[("machines", "a-filler", (1_000, 960, 40))]).await;

    // Kept: shown, and listed when asked for.
    let (status, shown) = app.get(&format!("/api/v1/rejects/{id}")).await;
    assert_eq!((status, &shown["state"]), (200, &json!("voided")));
    assert!(listed(&app, "?machine=a-filler").await.is_empty());
    assert_eq!(listed(&app, "?machine=a-filler&include_void=true").await.len(), 1);

    // Audited: who logged and who voided, with the figures.
    let log = audit(&app, "reject.log").await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (&log[0]["actor"], &log[0]["target"]),
        (&json!("anna"), &json!(id.to_string()))
    );
    assert_eq!(log[0]["details"]["quantity"], json!(60), "{}", log[0]);
    let void = audit(&app, "reject.void").await;
    assert_eq!(void.len(), 1, "one void audited, not the refused ones");
    assert_eq!(void[0]["actor"], json!("sam"));
    assert_eq!(void[0]["details"]["reason"], json!("caps were on; sensor misread"));

    // Unknown ids.
    for (method, path, token) in [
        ("GET", "/api/v1/rejects/999", &anna),
        ("POST", "/api/v1/rejects/999/void", &sam),
    ] {
        let (status, e) = app
            .call(method, path, Some(token.as_str()), Some(&json!({"reason": "x"})))
            .await;
        assert_eq!((status, &e["error"]["code"]), (404, &json!("not_found")), "{path}: {e}");
    }
}

#[actix_web::test]
async fn the_list_filters_by_line_machine_defect_and_time() {
    let dir = temp();
    let app = app(dir.path()).await;
    feed(&app).await;
    let t = |min: i64| rfc3339(SHIFT.0 + min * MIN);
    for (machine, defect, quantity, at) in [
        ("a-filler", "fill/underfill", 3, t(10)),
        ("a-filler", "fill", 4, t(70)),
        ("a-filler", "cap/loose", 5, t(80)),
        ("b-press", "dent/deep", 6, t(90)),
    ] {
        let mut b = body(machine, defect, quantity);
        b["at"] = json!(at);
        let (status, r) = app.post("/api/v1/rejects", &b).await;
        assert_eq!(status, 201, "{r}");
    }
    let quantities = |rows: Vec<Value>| {
        rows.iter()
            .map(|r| r["quantity"].as_i64().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    // (query, quantities, latest `at` first)
    let table = [
        ("", vec![6, 5, 4, 3]),
        ("?line=line-a", vec![5, 4, 3]),
        ("?machine=b-press", vec![6]),
        ("?defect=fill", vec![4, 3]),
        ("?defect=fill/underfill", vec![3]),
        ("?defect=fil", vec![]),
        ("?from=2026-03-02T07:10:00Z&to=2026-03-02T07:30:00Z", vec![5, 4]),
        ("?limit=2", vec![6, 5]),
    ];
    for (query, want) in table {
        assert_eq!(quantities(listed(&app, query).await), want, "{query}");
    }
    // Line scope: a line-b operator sees line-b's only, and is refused line-a's.
    let bea = app.token_with("bea", Role::Operator, Some(vec!["line-b".into()])).await;
    let (_, page) = app.get_as("/api/v1/rejects", &bea).await;
    assert_eq!(
        quantities(page["rejects"].as_array().cloned().unwrap_or_default()),
        vec![6]
    );
    for path in ["/api/v1/rejects?line=line-a", "/api/v1/rejects?machine=a-filler"] {
        assert_eq!(app.get_as(path, &bea).await.0, 403, "{path}");
    }
    let first_a = listed(&app, "?line=line-a&limit=1").await[0]["id"].clone();
    assert_eq!(app.get_as(&format!("/api/v1/rejects/{first_a}"), &bea).await.0, 403);
    // Bad and unknown parameters.
    for (query, status, named) in [
        ("?line=nope", 404, None),
        ("?machine=nope", 404, None),
        ("?limit=lots", 400, Some("limit")),
        ("?include_void=maybe", 400, Some("include_void")),
        ("?from=yesterday", 400, Some("from")),
        ("?from=2026-03-02T08:00:00Z&to=2026-03-02T07:00:00Z", 400, Some("from")),
        ("?colour=red", 400, Some("colour")),
    ] {
        let (got, e) = app.get(&format!("/api/v1/rejects{query}")).await;
        assert_eq!(got, status, "{query}: {e}");
        if let Some(name) = named {
            assert_eq!(e["error"]["details"]["parameter"], json!(name), "{query}: {e}");
        }
    }
}

#[actix_web::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_half_applied() {
    let dir = temp();
    let app = app(dir.path()).await;
    feed(&app).await;
    let anna = app.token_with("anna", Role::Operator, None).await;
    let before_live = app.machine_window("a-filler", "shift").await;
    let with = |k: &str, v: Value| {
        let mut b = body("a-filler", "fill", 1);
        b[k] = v;
        b
    };
    // (body, field named)
    let table = [
        (json!({"defect": "fill", "quantity": 1}), "machine"),
        (json!({"machine": "a-filler", "quantity": 1}), "defect"),
        (json!({"machine": "a-filler", "defect": "fill"}), "quantity"),
        (with("machine", json!("nope")), "machine"),
        (with("machine", json!(7)), "machine"),
        (with("colour", json!("red")), "colour"),
        (with("defect", json!("dent")), "defect"),
        (with("defect", json!("fill/foam")), "defect"),
        (with("quantity", json!(0)), "quantity"),
        (with("quantity", json!(-2)), "quantity"),
        (with("quantity", json!("3")), "quantity"),
        (with("quantity", json!(1.5)), "quantity"),
        (with("quantity", json!(2_000_000)), "quantity"),
        (with("note", json!("x".repeat(1_001))), "note"),
        (with("note", json!(false)), "note"),
        (with("at", json!("yesterday")), "at"),
        (with("at", json!(rfc3339(T0 + 1_000))), "at"),
        (with("at", json!(rfc3339(T0 - 24 * 60 * MIN - 1_000))), "at"),
        (json!(["a-filler", "fill", 1]), ""),
        // 961 of 960 good parts
        (with("quantity", json!(961)), "quantity"),
    ];
    for (b, field) in table {
        let (status, e) = app.post_as("/api/v1/rejects", &anna, &b).await;
        assert_eq!(status, 400, "{b}: {e}");
        assert_eq!(e["error"]["details"]["field"], json!(field), "{b}: {e}");
        assert!(e["error"]["message"].as_str().unwrap_or("").contains(field), "{b}: {e}");
    }
    // The unknown defect lists the codes; the quantity says how many good parts there are.
    let (_, e) = app
        .post_as("/api/v1/rejects", &anna, &with("defect", json!("dent")))
        .await;
    assert_eq!(e["error"]["details"]["codes"][0], json!("cap"), "{e}");
    let (_, e) = app
        .post_as("/api/v1/rejects", &anna, &with("quantity", json!(961)))
        .await;
    assert_eq!(
        (&e["error"]["details"]["good"], &e["error"]["details"]["span"]["shift"]),
        (&json!(960), &json!("day")),
        "{e}"
    );
    assert!(
        e["error"]["message"].as_str().unwrap_or("").contains("960 good parts"),
        "{e}"
    );
    // Not JSON, and a void without a reason.
    let (status, _) = app.post_raw("/api/v1/rejects", "{\"machine\":").await;
    assert_eq!(status, 400);
    let (_, ok) = app
        .post_as("/api/v1/rejects", &anna, &body("a-filler", "fill", 960))
        .await;
    let void = format!("/api/v1/rejects/{}/void", ok["id"]);
    for b in [json!({}), json!({"reason": "   "}), json!({"reason": "x", "extra": 1})] {
        let (status, e) = app.post(&void, &b).await;
        assert_eq!(status, 400, "{b}: {e}");
    }
    // All 960 good parts are taken now: one more is refused, with 0 left.
    let (status, e) = app
        .post_as("/api/v1/rejects", &anna, &body("a-filler", "fill", 1))
        .await;
    assert_eq!((status, &e["error"]["details"]["good"]), (400, &json!(0)), "{e}");
    // Nothing else was stored, counted or audited.
    assert_eq!(listed(&app, "?include_void=true").await.len(), 1);
    assert_eq!(audit(&app, "reject.log").await.len(), 1);
    assert!(audit(&app, "reject.void").await.is_empty());
    let after = app.machine_window("a-filler", "shift").await;
    assert_eq!(counts(&before_live), (1_000, 960, 40));
    assert_eq!(counts(&after), (1_000, 0, 1_000));
    assert_live_equals_past(&app, &[("machines", "a-filler", (1_000, 0, 1_000))]).await;
}

#[actix_web::test]
async fn who_may_log_and_void_and_on_which_lines() {
    let dir = temp();
    let app = app(dir.path()).await;
    feed(&app).await;
    let (status, d) = app
        .post("/api/v1/display-tokens", &json!({ "name": "hall wall" }))
        .await;
    assert_eq!(status, 201, "{d}");
    let display = d["token"].as_str().expect("token").to_owned();
    let bea = app.token_with("bea", Role::Operator, Some(vec!["line-b".into()])).await;
    let lead_b = app
        .token_with("lead-b", Role::Supervisor, Some(vec!["line-b".into()]))
        .await;
    let (_, on_a) = app.post("/api/v1/rejects", &body("a-filler", "fill", 2)).await;
    let on_a = on_a["id"].as_i64().expect("id");
    // (who, method, path, body, status)
    let table = [
        (
            &display,
            "POST",
            "/api/v1/rejects".to_owned(),
            body("a-filler", "fill", 1),
            403,
        ),
        (&display, "GET", "/api/v1/rejects".to_owned(), Value::Null, 200),
        (&display, "GET", format!("/api/v1/rejects/{on_a}"), Value::Null, 200),
        (
            &bea,
            "POST",
            "/api/v1/rejects".to_owned(),
            body("a-filler", "fill", 1),
            403,
        ),
        (
            &bea,
            "POST",
            "/api/v1/rejects".to_owned(),
            body("b-press", "dent", 1),
            201,
        ),
        (
            &bea,
            "POST",
            format!("/api/v1/rejects/{on_a}/void"),
            json!({"reason": "x"}),
            403,
        ),
        (
            &lead_b,
            "POST",
            format!("/api/v1/rejects/{on_a}/void"),
            json!({"reason": "x"}),
            403,
        ),
    ];
    for (token, method, path, b, status) in table {
        let b = (!b.is_null()).then_some(b);
        let (got, answer) = app.call(method, &path, Some(token.as_str()), b.as_ref()).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
    }
    // Nothing on line-a moved: the two parts logged by the admin only.
    assert_eq!(counts(&app.machine_window("a-filler", "shift").await), (1_000, 958, 42));
    assert_eq!(listed(&app, "?line=line-a").await.len(), 1);
}

//! Reports on a real server with a manual clock: a whole shift (a job started and
//! completed, a ticket raised, acknowledged and resolved, stops, one classified, a
//! micro-stop), stored by the shift reporter at the shift's end; its JSON, CSV and HTML
//! against `?from=&to=`; every figure row of shift, day and week reports against the
//! span query; a DST night shift's length; OEE series; regeneration; bad input, unknown
//! lines and line scope.

mod common;

use common::*;
use ms5::actors::report::CheckShifts;
use ms5::domain::access::Role;
use serde_json::{Value, json};

/// 06:00 on the test day (a Monday): the day shift starts.
const SHIFT_START: i64 = DAY + 6 * 60 * MIN;
/// 14:00: it ends.
const SHIFT_END: i64 = DAY + 14 * 60 * MIN;

/// The test plant with a reason tree and a second line.
fn plant() -> String {
    format!(
        r#"{TEST_PLANT}{LINE_B}
[andon]
reasons = {{ mechanical = ["belt", "bearing"], electrical = ["sensor"], other = [] }}
"#
    )
}

/// The textbook shift on the filler (8 h, 60 min breaks, a 47 min jam from 10:00, 19,271
/// parts, 423 rejects), the packer running with a 5 min unclassified stop at 11:00 and a
/// 1 min micro-stop at 12:40, and the press on line B running all shift.
async fn feed_shift(app: &TestApp) {
    let s = SHIFT_START;
    let mut samples: Vec<(&str, Value, i64)> = vec![
        ("A.Filler.State", json!(1), s),
        ("A.Filler.Total", json!(0), s),
        ("A.Filler.Reject", json!(0), s),
        ("A.Filler.State", json!(3), s + 240 * MIN),
        ("A.Filler.Fault", json!(7), s + 240 * MIN),
        ("A.Filler.State", json!(1), s + 287 * MIN),
        ("A.Packer.Run", json!(true), s),
        ("A.Packer.Fault", json!(false), s),
        ("A.Packer.Good", json!(0), s),
        ("A.Packer.Reject", json!(0), s),
        ("A.Packer.Fault", json!(true), s + 300 * MIN),
        ("A.Packer.Run", json!(false), s + 300 * MIN),
        ("A.Packer.Run", json!(true), s + 305 * MIN),
        ("A.Packer.Fault", json!(false), s + 305 * MIN),
        ("A.Packer.Fault", json!(true), s + 400 * MIN),
        ("A.Packer.Run", json!(false), s + 400 * MIN),
        ("A.Packer.Run", json!(true), s + 401 * MIN),
        ("A.Packer.Fault", json!(false), s + 401 * MIN),
        ("B.Press.State", json!(1), s),
        ("B.Press.Total", json!(0), s),
        ("B.Press.Reject", json!(0), s),
    ];
    for k in 1..480i64 {
        let total = if k == 479 { 19_271 } else { 19_271 * k / 479 };
        let reject = if k == 479 { 423 } else { 423 * k / 479 };
        let t = s + k * MIN;
        samples.push(("A.Filler.Total", json!(total), t));
        samples.push(("A.Filler.Reject", json!(reject), t));
        samples.push(("A.Packer.Good", json!(k * 25), t));
        samples.push(("A.Packer.Reject", json!(k / 10), t));
        samples.push(("B.Press.Total", json!(k * 50), t));
        samples.push(("B.Press.Reject", json!(k / 4), t));
    }
    for tag in ["A.Filler.State", "B.Press.State"] {
        samples.push((tag, json!(1), SHIFT_END));
    }
    samples.push(("A.Packer.Run", json!(true), SHIFT_END));
    samples.sort_by_key(|s| s.2);
    let report = app.ingest(&samples).await;
    assert_eq!(report["applied"], json!(samples.len()), "{report}");
}

/// A GET with a token and an Accept header → (status, content type, body, CSP).
async fn fetch(app: &TestApp, path: &str, token: &str, accept: &str) -> (u16, String, String, String) {
    let mut res = app
        .client
        .get(format!("{}{path}", app.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Accept", accept))
        .send()
        .await
        .expect("GET");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (status, kind, csp) = (
        res.status().as_u16(),
        header("content-type"),
        header("content-security-policy"),
    );
    let body = res.body().limit(16 << 20).await.expect("body");
    (status, kind, String::from_utf8_lossy(&body).into_owned(), csp)
}

/// `?from=&to=` figures of a line or machine.
async fn span(app: &TestApp, scope: &str, id: &str, from: &str, to: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/{scope}/{id}/oee?from={from}&to={to}")).await;
    assert_eq!(status, 200, "{body}");
    body["oee"].clone()
}

/// A time from the JSON as it goes into a URL (`+` escaped).
fn url_time(v: &Value) -> String {
    v.as_str().unwrap_or("").replace('+', "%2B")
}

/// Holds every figure row of a report against the span queries: each line and machine's
/// OEE, each job's parts within the span, the downtime reasons against the Pareto, the
/// tickets against the ticket list.
async fn check_against_span_queries(app: &TestApp, report: &Value) {
    let (from, to) = (url_time(&report["period"]["from"]), url_time(&report["period"]["to"]));
    let lines = report["lines"].as_array().expect("lines");
    assert!(!lines.is_empty());
    for line in lines {
        let id = line["id"].as_str().expect("id");
        assert_eq!(line["oee"], span(app, "lines", id, &from, &to).await, "line {id}");
        for m in line["machines"].as_array().expect("machines") {
            let mid = m["id"].as_str().expect("machine id");
            assert_eq!(m["oee"], span(app, "machines", mid, &from, &to).await, "machine {mid}");
        }
        let (_, pareto) = app
            .get(&format!("/api/v1/downtime/pareto?line={id}&from={from}&to={to}"))
            .await;
        let rows: Vec<Value> = pareto["reasons"]
            .as_array()
            .expect("rows")
            .iter()
            .take(10)
            .cloned()
            .collect();
        assert_eq!(line["downtime"]["reasons"], Value::Array(rows), "downtime of {id}");
        let (_, tickets) = app
            .get(&format!("/api/v1/andon/tickets?line={id}&from={from}&to={to}"))
            .await;
        assert_eq!(
            line["andon"]["raised"].as_u64().map(|n| n as usize),
            tickets["tickets"].as_array().map(Vec::len),
            "tickets of {id}"
        );
        for job in line["jobs"].as_array().expect("jobs") {
            let (_, view) = app.get(&format!("/api/v1/jobs/{}", job["id"])).await;
            let mut good = 0;
            for s in view["spans"].as_array().expect("spans") {
                let a = url_time(&s["from"]).max(from.clone());
                let b = url_time(&s["to"]).min(to.clone());
                if a < b {
                    good += span(app, "lines", id, &a, &b).await["good"].as_i64().unwrap_or(0);
                }
            }
            assert_eq!(job["in_period"]["good"], json!(good), "job {}", job["id"]);
        }
    }
}

/// Runs the shift: job, ticket and the counts; the stop on the packer classified.
async fn run_shift(app: &TestApp) -> (i64, i64) {
    let admin = app.admin();
    let product = json!({"name": "Cola 2 l", "ideal_cycle_ms": 1000});
    let (status, _) = app
        .call("PUT", "/api/v1/products/cola", Some(&admin), Some(&product))
        .await;
    assert_eq!(status, 201);
    let (_, job) = app
        .post(
            "/api/v1/jobs",
            &json!({"line": "line-a", "product": "cola", "target": 20000}),
        )
        .await;
    let job = job["id"].as_i64().expect("job id");
    assert_eq!(
        app.post(&format!("/api/v1/jobs/{job}/release"), &json!({})).await.0,
        200
    );
    app.clock.set(SHIFT_START);
    // The shift-start checklist blocks the job until it passed.
    let template = json!({"line": "line-a", "name": "Start-up", "blocks_job_start": true,
        "items": [{"key": "guard", "label": "Guard closed?", "kind": "yes_no", "required": true}]});
    let (status, template) = app.post("/api/v1/checklist-templates", &template).await;
    assert_eq!(status, 201, "{template}");
    assert_eq!(app.post(&format!("/api/v1/jobs/{job}/start"), &json!({})).await.0, 409);
    let op = app.token_with("olga", Role::Operator, None).await;
    let fill = json!({"template": template["id"], "answers": {"guard": true}});
    assert_eq!(app.post_as("/api/v1/lines/line-a/checklists", &op, &fill).await.0, 201);
    assert_eq!(app.post(&format!("/api/v1/jobs/{job}/start"), &json!({})).await.0, 200);
    // The ticket: raised 10:01, acknowledged two minutes later, resolved at 10:50.
    app.clock.set(DAY + (10 * 60 + 1) * MIN);
    let op = app.token_with("olga", Role::Operator, None).await;
    let (status, ticket) = app
        .post_as(
            "/api/v1/andon/tickets",
            &op,
            &json!({"line": "line-a", "machine": "a-filler", "category": "maintenance", "priority": "high",
                    "description": "filler jammed <again> & again"}),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    let ticket = ticket["id"].as_i64().expect("ticket id");
    app.clock.set(DAY + (10 * 60 + 3) * MIN);
    let op = app.token_with("olga", Role::Operator, None).await;
    let path = format!("/api/v1/andon/tickets/{ticket}/acknowledge");
    assert_eq!(app.call("POST", &path, Some(&op), None).await.0, 200);
    app.clock.set(DAY + (10 * 60 + 50) * MIN);
    let op = app.token_with("olga", Role::Operator, None).await;
    let path = format!("/api/v1/andon/tickets/{ticket}/resolve");
    assert_eq!(app.call("POST", &path, Some(&op), None).await.0, 200);
    app.clock.set(DAY + 13 * 60 * MIN);
    assert_eq!(
        app.post(&format!("/api/v1/jobs/{job}/complete"), &json!({})).await.0,
        200
    );
    let op = app.token_with("olga", Role::Operator, None).await;
    let note = json!({"note": "belt on the packer squeaks; spare ordered"});
    assert_eq!(app.post_as("/api/v1/lines/line-a/handover", &op, &note).await.0, 201);
    // The counts arrive; the packer's 5 min stop is classified.
    app.clock.set(SHIFT_END - 1);
    feed_shift(app).await;
    let (_, stops) = app
        .get(&format!(
            "/api/v1/downtime?machine=a-packer&micro_stop=false&to={}",
            rfc3339(SHIFT_END)
        ))
        .await;
    let stop = stops["downtime"][0]["id"].as_i64().expect("a packer stop");
    let op = app.token_with("olga", Role::Operator, None).await;
    let (status, classified) = app
        .post_as(
            &format!("/api/v1/downtime/{stop}/classify"),
            &op,
            &json!({"reason": "mechanical/belt"}),
        )
        .await;
    assert_eq!(status, 200, "{classified}");
    // Three cartons found crushed at the packer (not the line's output machine).
    let reject = json!({"machine": "a-packer", "defect": "other", "quantity": 3, "at": rfc3339(DAY + 12 * 60 * MIN)});
    let (status, logged) = app.post_as("/api/v1/rejects", &op, &reject).await;
    assert_eq!(status, 201, "{logged}");
    (job, ticket)
}

#[actix_web::test]
async fn a_whole_shift_is_stored_at_its_end_and_its_json_csv_and_html_agree_with_the_span_query() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &plant(), SHIFT_START - MIN, json!({})).await;
    let (job, ticket) = run_shift(&app).await;
    let path = "/api/v1/reports/shift?line=line-a&date=2026-03-02&shift=day";
    // Before the end the shift is reported up to now, and not stored.
    assert_eq!(
        app.reporter.send(CheckShifts).await.expect("reporter").expect("store"),
        0
    );
    let (_, partial) = app.get(path).await;
    assert_eq!(partial["lines"][0]["source"], "computed", "{partial}");
    assert_eq!(partial["lines"][0]["partial"], true);
    // The shift ends: the reporter stores both lines' reports, once.
    app.clock.set(SHIFT_END + 1_000);
    assert_eq!(
        app.reporter.send(CheckShifts).await.expect("reporter").expect("store"),
        2
    );
    assert_eq!(
        app.reporter.send(CheckShifts).await.expect("reporter").expect("store"),
        0
    );
    let (status, report) = app.get(path).await;
    assert_eq!(status, 200, "{report}");
    let line = &report["lines"][0];
    assert_eq!(
        (line["source"].clone(), line["partial"].clone()),
        (json!("stored"), json!(false))
    );
    assert_eq!(report["period"]["from_local"], "2026-03-02T06:00:00+00:00");
    assert_eq!(report["period"]["length_s"], json!(28_800.0));
    // The textbook figures: A 88.81 %, P 86.11 %, Q 97.80 %, OEE 74.79 %.
    assert_eq!(pct(&line["oee"]["oee"]), Some(74.79), "{}", line["oee"]);
    assert_eq!(
        (line["oee"]["good"].clone(), line["oee"]["reject"].clone()),
        (json!(18_848), json!(423))
    );
    check_against_span_queries(&app, &report).await;
    // Downtime: the jam 47 min, the belt 5 min; the micro-stop apart; nothing unclassified.
    let d = &line["downtime"];
    let reasons: Vec<(&str, f64)> = d["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| (r["reason"].as_str().unwrap_or(""), r["minutes"].as_f64().unwrap_or(0.0)))
        .collect();
    assert_eq!(reasons, vec![("jam", 47.0), ("mechanical/belt", 5.0)]);
    assert_eq!(d["unclassified"], json!({"minutes": 0.0, "occurrences": 0}));
    assert_eq!(d["micro_stops"], json!({"minutes": 1.0, "occurrences": 1}));
    let packer = &line["machines"][1];
    assert_eq!(
        (packer["id"].clone(), packer["micro_stops"].clone()),
        (json!("a-packer"), json!(1))
    );
    assert_eq!(packer["oee"]["micro_stop_s"], json!(60.0));
    // The ticket: acknowledged after 120 s, resolved after 49 min.
    let t = &line["andon"]["tickets"][0];
    assert_eq!(t["id"], json!(ticket));
    assert_eq!(
        (t["time_to_acknowledge_s"].clone(), t["time_to_resolve_s"].clone()),
        (json!(120.0), json!(2_940.0))
    );
    // The job ran 06:00-13:00: 7 h of it in the shift.
    let j = &line["jobs"][0];
    assert_eq!((j["id"].clone(), j["state"].clone()), (json!(job), json!("completed")));
    assert_eq!(j["in_period"]["run_s"], json!(25_200.0));
    // The sections: the reject, the checklist, the handover note.
    assert_eq!(
        line["sections"]["rejects_by_defect"],
        json!([{"machine": "a-packer", "defect": "other", "quantity": 3, "entries": 1}])
    );
    let checklist = &line["sections"]["checklists"][0];
    assert_eq!(
        (
            checklist["template"].clone(),
            checklist["result"].clone(),
            checklist["filled_by"].clone()
        ),
        (json!("Start-up"), json!("passed"), json!("olga"))
    );
    assert_eq!(
        line["sections"]["handover"][0]["note"],
        "belt on the packer squeaks; spare ordered"
    );

    // CSV, by format= and by Accept: the same text, parsed back it sums to the JSON.
    let admin = app.admin();
    let (status, kind, csv_text, _) = fetch(&app, &format!("{path}&format=csv"), &admin, "*/*").await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "text/csv; charset=utf-8; header=present")
    );
    let (_, _, by_accept, _) = fetch(&app, path, &admin, "text/csv").await;
    assert_eq!(csv_text, by_accept);
    assert!(csv_text.contains("\r\n"));
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader.headers().expect("header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let section = col("section");
    let of = |name: &'static str| rows.iter().filter(move |r| &r[section] == name);
    let machine_good: i64 = of("machine")
        .map(|r| r[col("good")].parse::<i64>().expect("good"))
        .sum();
    let json_good: i64 = line["machines"]
        .as_array()
        .expect("machines")
        .iter()
        .map(|m| m["oee"]["good"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(machine_good, json_good);
    let line_row = of("line").next().expect("line row");
    for field in [
        "availability",
        "performance",
        "quality",
        "oee",
        "run_s",
        "planned_production_s",
    ] {
        let v: f64 = line_row[col(field)].parse().expect(field);
        assert_eq!(Some(v), line["oee"][field].as_f64(), "{field} to the last digit");
    }
    assert_eq!(&line_row[col("period_from")], "2026-03-02T06:00:00+00:00");
    let ticket_row = of("andon").next().expect("ticket row");
    assert_eq!(&ticket_row[col("description")], "filler jammed <again> & again");
    assert_eq!(&ticket_row[col("raised_at")], "2026-03-02T10:01:00+00:00");
    let minutes: f64 = of("downtime")
        .map(|r| r[col("minutes")].parse::<f64>().expect("minutes"))
        .sum();
    assert_eq!(minutes, 52.0);

    // HTML: a page per line with its figures, text escaped, no script, its own CSP.
    let (status, kind, html, csp) = fetch(&app, &format!("{path}&format=html"), &admin, "*/*").await;
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"), "{csp}");
    assert!(html.contains("size: A4 landscape"));
    assert!(html.contains("74.79 %") && html.contains("<td>18848</td>"), "{html}");
    assert!(html.contains("filler jammed &lt;again&gt; &amp; again"));
    assert!(!html.contains("<script") && !html.contains("<again>"));
    assert_eq!(html.matches("<section class=\"page\">").count(), 1);
}

#[actix_web::test]
async fn every_figure_row_of_shift_day_and_week_reports_equals_the_span_query() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &plant(), SHIFT_START - MIN, json!({})).await;
    run_shift(&app).await;
    app.clock.set(DAY + 2 * 24 * 60 * MIN);
    for path in [
        "/api/v1/reports/shift?date=2026-03-02&shift=day",
        "/api/v1/reports/day?date=2026-03-02",
        "/api/v1/reports/day?date=2026-03-02&line=line-b",
        "/api/v1/reports/week?week=2026-W10",
    ] {
        let (status, report) = app.get(path).await;
        assert_eq!(status, 200, "{path}: {report}");
        check_against_span_queries(&app, &report).await;
    }
    // The day runs midnight to midnight; the week Monday to Monday.
    let (_, day) = app.get("/api/v1/reports/day?date=2026-03-02").await;
    assert_eq!(
        (day["period"]["from_local"].clone(), day["period"]["to_local"].clone()),
        (json!("2026-03-02T00:00:00+00:00"), json!("2026-03-03T00:00:00+00:00"))
    );
    assert_eq!(day["lines"].as_array().map(Vec::len), Some(2));
    let (_, week) = app.get("/api/v1/reports/week?week=2026-W10").await;
    assert_eq!(week["period"]["length_s"], json!(7.0 * 86_400.0));
    // The whole day's output of line A is the shift's: nothing ran outside it.
    assert_eq!(day["lines"][0]["oee"]["good"], json!(18_848));
}

#[actix_web::test]
async fn a_dst_night_shift_report_is_seven_or_nine_hours_long() {
    let plant = r#"
timezone = "Europe/Berlin"
microstop_threshold = "2m"
stale_after = "30s"

[[shifts]]
name = "early"
start = "06:00"
end = "14:00"
days = ["mon", "tue", "wed", "thu", "fri"]

[[shifts]]
name = "night"
start = "22:00"
end = "06:00"
crosses_midnight = true

[[lines]]
id = "line-a"
name = "Line A"
output_machine = "a-filler"
constraint_machine = "a-filler"

[[lines.machines]]
id = "a-filler"
name = "Filler"
ideal_cycle_time = "1s"
tags = { state = { tag = "A.Filler.State" }, total = { tag = "A.Filler.Total", width = 32 } }
"#;
    let dir = temp();
    // 1 December 2026, long after both nights; the March night is past the default 90
    // days of telemetry, which the retention pass at start would delete under the test.
    let keep_a_year = json!({ "store": { "telemetry_retention": "365days" } });
    let app = spawn_plant_at(dir.path(), plant, 1_796_083_200_000, keep_a_year).await;
    // (date, night from UTC, to UTC, hand-computed hours): spring forward on 29 March
    // (22:00 CET = 21:00Z to 06:00 CEST = 04:00Z: 7 h), fall back on 25 October
    // (22:00 CEST = 20:00Z to 06:00 CET = 05:00Z: 9 h).
    let nights = [
        ("2026-03-28", 1_774_731_600_000i64, 1_774_756_800_000i64, 7.0),
        ("2026-10-24", 1_792_872_000_000, 1_792_904_400_000, 9.0),
    ];
    for (date, from, to, hours) in nights {
        app.ingest(&[
            ("A.Filler.State", json!(1), from),
            ("A.Filler.Total", json!(0), from),
            ("A.Filler.Total", json!(3_600), to - MIN),
            ("A.Filler.State", json!(1), to),
        ])
        .await;
        let (status, r) = app.get(&format!("/api/v1/reports/shift?date={date}&shift=night")).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["period"]["length_s"], json!(hours * 3600.0), "{date}");
        assert_eq!(
            (r["period"]["from"].clone(), r["period"]["to"].clone()),
            (json!(rfc3339(from)), json!(rfc3339(to)))
        );
        // Running all night: planned production time is the night's real length.
        assert_eq!(
            r["lines"][0]["oee"]["planned_production_s"],
            json!(hours * 3600.0),
            "{date}"
        );
        assert_eq!(r["lines"][0]["oee"]["run_s"], json!(hours * 3600.0), "{date}");
        check_against_span_queries(&app, &r).await;
    }
    let (_, r) = app
        .get("/api/v1/reports/shift?date=2026-10-24&shift=night&format=csv")
        .await;
    assert_eq!(r, Value::Null, "CSV is not JSON");
    let (_, _, text, _) = fetch(
        &app,
        "/api/v1/reports/shift?date=2026-10-24&shift=night&format=csv",
        &app.admin(),
        "*/*",
    )
    .await;
    assert!(
        text.contains(",night 2026-10-24,2026-10-24T22:00:00+02:00,2026-10-25T06:00:00+01:00,"),
        "{text}"
    );
    // Early shifts run Monday to Friday: none on Saturday 28 March.
    let (status, body) = app.get("/api/v1/reports/shift?date=2026-03-28&shift=early").await;
    assert_eq!(status, 404, "{body}");
}

#[actix_web::test]
async fn oee_series_buckets_each_equal_the_span_query() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &plant(), SHIFT_END - 1, json!({})).await;
    feed_shift(&app).await;
    let (from, to) = (rfc3339(SHIFT_START), rfc3339(SHIFT_END));
    for (bucket, n) in [("1h", 8), ("15m", 32)] {
        let (status, s) = app
            .get(&format!(
                "/api/v1/lines/line-a/oee/series?from={from}&to={to}&bucket={bucket}"
            ))
            .await;
        assert_eq!(status, 200, "{s}");
        let points = s["points"].as_array().expect("points");
        assert_eq!(points.len(), n, "{bucket}");
        let mut good = 0;
        for p in points {
            let (a, b) = (url_time(&p["from"]), url_time(&p["to"]));
            assert_eq!(p["oee"], span(&app, "lines", "line-a", &a, &b).await, "{bucket} {a}");
            good += p["oee"]["good"].as_i64().unwrap_or(0);
        }
        assert_eq!(good, 18_848, "{bucket}: the buckets add up to the shift");
    }
    // A span not on the hour: the first and last buckets are cut to it.
    let (_, s) = app
        .get(&format!(
            "/api/v1/lines/line-a/oee/series?from={}&to={}",
            rfc3339(SHIFT_START + 20 * MIN),
            rfc3339(SHIFT_START + 130 * MIN)
        ))
        .await;
    let edges: Vec<&str> = s["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["from_local"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        edges,
        vec![
            "2026-03-02T06:20:00+00:00",
            "2026-03-02T07:00:00+00:00",
            "2026-03-02T08:00:00+00:00"
        ]
    );
    let (_, _, text, _) = fetch(
        &app,
        &format!("/api/v1/lines/line-a/oee/series?from={from}&to={to}"),
        &app.admin(),
        "text/csv",
    )
    .await;
    assert_eq!(text.lines().count(), 1 + 8, "{text}");
}

/// A stored line report's `generated_at`.
async fn stored_at(app: &TestApp, line: &str) -> Value {
    let (status, r) = app
        .get(&format!("/api/v1/reports/shift?line={line}&date=2026-03-02&shift=day"))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["lines"][0]["source"], "stored", "{r}");
    r["lines"][0]["generated_at"].clone()
}

#[actix_web::test]
async fn regenerate_replaces_the_stored_report_is_audited_and_bad_input_changes_nothing() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &plant(), SHIFT_END - 1, json!({})).await;
    feed_shift(&app).await;
    app.clock.set(SHIFT_END + 1_000);
    assert_eq!(
        app.reporter.send(CheckShifts).await.expect("reporter").expect("store"),
        2
    );
    let first = stored_at(&app, "line-a").await;
    // The packer's stop is classified after the shift: the stored report still says
    // `unclassified`, the Pareto already the new reason.
    app.clock.set(SHIFT_END + 60 * MIN);
    let (_, stops) = app
        .get(&format!(
            "/api/v1/downtime?machine=a-packer&micro_stop=false&to={}",
            rfc3339(SHIFT_END)
        ))
        .await;
    let stop = stops["downtime"][0]["id"].as_i64().expect("stop");
    let (status, classified) = app
        .post(
            &format!("/api/v1/downtime/{stop}/classify"),
            &json!({"reason": "electrical/sensor"}),
        )
        .await;
    assert_eq!(status, 200, "{classified}");
    let path = "/api/v1/reports/shift?line=line-a&date=2026-03-02&shift=day";
    let (_, before) = app.get(path).await;
    assert_eq!(
        before["lines"][0]["downtime"]["unclassified"]["minutes"],
        json!(5.0),
        "{}",
        before["lines"][0]["downtime"]
    );

    // Bad bodies name the field and store nothing; an operator may not; a shift not yet
    // over is refused with when it ends.
    let sup = app.token_with("sam", Role::Supervisor, None).await;
    let url = "/api/v1/reports/shift/regenerate";
    let bad = [
        (json!({"date": "2026-02-30", "shift": "day"}), 400, Some("date")),
        (json!({"date": "2026-03-02", "shift": "night"}), 400, Some("shift")),
        (json!({"date": "2026-03-02"}), 400, None),
        (
            json!({"date": "2026-03-02", "shift": "day", "lines": ["line-a"]}),
            400,
            None,
        ),
        (
            json!({"line": "line-z", "date": "2026-03-02", "shift": "day"}),
            404,
            None,
        ),
        (json!({"date": "2026-03-03", "shift": "day"}), 409, None),
    ];
    for (body, status, field) in bad {
        let (got, answer) = app.post_as(url, &sup, &body).await;
        assert_eq!(got, status, "{body}: {answer}");
        if let Some(field) = field {
            assert_eq!(answer["error"]["details"]["field"], field, "{answer}");
        }
        if status == 409 {
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("ends at 2026-03-03T14:00:00+00:00"),
                "{answer}"
            );
        }
    }
    let op = app.token_with("olga", Role::Operator, None).await;
    let (status, _) = app
        .post_as(url, &op, &json!({"date": "2026-03-02", "shift": "day"}))
        .await;
    assert_eq!(status, 403);
    assert_eq!(stored_at(&app, "line-a").await, first, "nothing was replaced");
    assert_eq!(stored_at(&app, "line-b").await, first);

    // Regenerated: both lines replaced, the new reason in it, audited.
    let (status, again) = app
        .post_as(url, &sup, &json!({"date": "2026-03-02", "shift": "day"}))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["lines"].as_array().map(Vec::len), Some(2));
    let (_, after) = app.get(path).await;
    let line = &after["lines"][0];
    assert_eq!(line["source"], "stored");
    assert_ne!(line["generated_at"], first);
    assert_eq!(line["downtime"]["unclassified"]["minutes"], json!(0.0));
    assert_eq!(line["downtime"]["reasons"][1]["reason"], "electrical/sensor");
    check_against_span_queries(&app, &after).await;
    let (_, log) = app.get("/api/v1/audit?action=report.").await;
    let entries = log["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(
        (
            entries[0]["action"].clone(),
            entries[0]["actor"].clone(),
            entries[0]["target"].clone()
        ),
        (json!("report.regenerate"), json!("sam"), json!("day 2026-03-02"))
    );
    assert_eq!(entries[0]["details"]["lines"], json!(["line-a", "line-b"]));
}

#[actix_web::test]
async fn bad_parameters_unknown_lines_and_line_scope_are_refused() {
    let dir = temp();
    let app = spawn_plant_at(dir.path(), &plant(), SHIFT_END - 1, json!({})).await;
    feed_shift(&app).await;
    let series = format!(
        "/api/v1/lines/line-a/oee/series?from={}&to={}",
        rfc3339(SHIFT_START),
        rfc3339(SHIFT_END)
    );
    // (path, status, parameter named)
    let cases = [
        ("/api/v1/reports/shift?date=2026-03-02".to_owned(), 400, Some("shift")),
        ("/api/v1/reports/shift?shift=day".to_owned(), 400, Some("date")),
        (
            "/api/v1/reports/shift?date=02.03.2026&shift=day".to_owned(),
            400,
            Some("date"),
        ),
        (
            "/api/v1/reports/shift?date=2026-03-02&shift=nights".to_owned(),
            400,
            Some("shift"),
        ),
        (
            "/api/v1/reports/shift?date=2026-03-02&shift=day&format=pdf".to_owned(),
            400,
            Some("format"),
        ),
        (
            "/api/v1/reports/shift?date=2026-03-02&shift=day&lines=a".to_owned(),
            400,
            Some("lines"),
        ),
        (
            "/api/v1/reports/shift?date=2026-03-02&shift=day&line=line-z".to_owned(),
            404,
            None,
        ),
        ("/api/v1/reports/shift?date=2026-03-03&shift=day".to_owned(), 409, None),
        ("/api/v1/reports/day?date=2026-3-2x".to_owned(), 400, Some("date")),
        ("/api/v1/reports/day?date=2026-03-09".to_owned(), 409, None),
        ("/api/v1/reports/week?week=2026-W60".to_owned(), 400, Some("week")),
        ("/api/v1/reports/week?week=2026-10".to_owned(), 400, Some("week")),
        ("/api/v1/reports/week?week=2026-W10&line=line-z".to_owned(), 404, None),
        (format!("{series}&bucket=5m"), 400, Some("bucket")),
        (format!("{series}&format=html"), 400, Some("format")),
        (
            "/api/v1/lines/line-a/oee/series?from=2026-03-02T08:00:00Z&to=2026-03-02T06:00:00Z".to_owned(),
            400,
            Some("to"),
        ),
        (
            "/api/v1/lines/line-a/oee/series?from=2026-01-01T00:00:00Z&to=2026-03-02T00:00:00Z".to_owned(),
            400,
            Some("to"),
        ),
        (
            "/api/v1/lines/line-a/oee/series?from=yesterday&to=2026-03-02T06:00:00Z".to_owned(),
            400,
            Some("from"),
        ),
        (
            "/api/v1/lines/line-a/oee/series?to=2026-03-02T06:00:00Z".to_owned(),
            400,
            Some("from"),
        ),
        (
            "/api/v1/lines/line-z/oee/series?from=2026-03-02T06:00:00Z&to=2026-03-02T08:00:00Z".to_owned(),
            404,
            None,
        ),
    ];
    for (path, status, parameter) in cases {
        let (got, body) = app.get(&path).await;
        assert_eq!(got, status, "{path}: {body}");
        if let Some(p) = parameter {
            assert_eq!(body["error"]["details"]["parameter"], p, "{path}: {body}");
        }
    }
    // A caller limited to line A gets only line A for the plant, and 403 for line B.
    let ann = app.token_with("ann", Role::Operator, Some(vec!["line-a".into()])).await;
    let (status, r) = app
        .get_as("/api/v1/reports/shift?date=2026-03-02&shift=day", &ann)
        .await;
    assert_eq!(status, 200, "{r}");
    let ids: Vec<&str> = r["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["line-a"]);
    for path in [
        "/api/v1/reports/shift?date=2026-03-02&shift=day&line=line-b",
        "/api/v1/reports/day?date=2026-03-02&line=line-b",
        "/api/v1/reports/week?week=2026-W10&line=line-b",
    ] {
        assert_eq!(app.get_as(path, &ann).await.0, 403, "{path}");
    }
    let b_series = series.replace("line-a", "line-b");
    assert_eq!(app.get_as(&b_series, &ann).await.0, 403);
    // Without a token: 401; a display token reads.
    assert_eq!(
        app.call("GET", "/api/v1/reports/day?date=2026-03-02", None, None)
            .await
            .0,
        401
    );
    let (_, d) = app.post("/api/v1/display-tokens", &json!({"name": "hall"})).await;
    let display = d["token"].as_str().expect("display token");
    assert_eq!(app.get_as("/api/v1/reports/day?date=2026-03-02", display).await.0, 200);
}

//! The live board and the floor app in a real browser: Debian chromium driven by
//! playwright-core (tests/browser/board.mjs, tests/browser/floor.mjs) against real
//! servers: the board on the simulated plant, the floor app on a manual clock; and both
//! on a replica whose Redis goes away and comes back (tests/browser/degraded.mjs).

mod common;

use std::path::Path;

use common::*;
use ms5::clock::Clock;

const INJECTION: &str = "<img src=x onerror=alert(1)>";
const TICKET_TEXT: &str = "<b>Filler</b> valve fault <img src=x onerror=alert(2)>";

/// Whether chromium and the node packages are here; without them the test is skipped,
/// unless `MS5_REQUIRE_BROWSER` is set.
fn browser_ready() -> bool {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules");
    let ready = Path::new("/usr/bin/chromium").exists()
        && ["playwright-core", "axe-core", "jsqr"]
            .iter()
            .all(|m| modules.join(m).exists());
    if !ready {
        assert!(
            std::env::var_os("MS5_REQUIRE_BROWSER").is_none(),
            "chromium or the browser test packages missing: scripts/test.sh installs them"
        );
        eprintln!("skipped: chromium or the browser test packages not installed (scripts/test.sh installs them)");
    }
    ready
}

/// Runs a browser script; it must exit 0 and report no failed check.
async fn run_browser_script(mut node: tokio::process::Command) {
    let out = node.output().await.expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser test failed:\n{text}");
    assert!(text.contains(", 0 failed"), "{text}");
    eprintln!("{}", text.trim());
}

#[actix_web::test]
async fn the_board_renders_the_live_plant_in_chromium() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/board.mjs");
    if !browser_ready() {
        return;
    }
    let dir = temp();
    // escalation policies so tickets show their countdown; the pager is never reached in time
    let plant = andon_plant("http://127.0.0.1:1").replace(r#"name = "Packer""#, &format!("name = {:?}", INJECTION));
    let app = spawn_app(Spawn {
        plant: &plant,
        dir: dir.path(),
        clock: Clock::System,
        simulator: true,
        settings: serde_json::json!({}),
    })
    .await;
    let (status, ticket) = app
        .post(
            "/api/v1/andon/tickets",
            &serde_json::json!({"line": "line-a", "machine": "a-filler", "category": "maintenance", "priority": "critical",
                                "description": TICKET_TEXT}),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    let (status, display) = app
        .post("/api/v1/display-tokens", &serde_json::json!({"name": "hall wall"}))
        .await;
    assert_eq!(status, 201, "{display}");
    let display_token = display["token"].as_str().expect("token").to_owned();
    let mut node = tokio::process::Command::new("node");
    node.arg(&script)
        .env("MS5_URL", format!("{}/", app.base))
        .env("MS5_DISPLAY_TOKEN", &display_token)
        .env("MS5_ADMIN_TOKEN", &app.token)
        .env("MS5_USER", "root")
        .env("MS5_PASSWORD", TEST_PASSWORD)
        .env("MS5_INJECTION_NAME", INJECTION)
        .env("MS5_EXPECT_TICKET", ticket["id"].to_string())
        .env("MS5_EXPECT_TICKET_TEXT", TICKET_TEXT);
    run_browser_script(node).await;
}

/// Midnight of the floor test's day, 13 days after [`DAY`] (a Sunday, 2026-03-15).
const FLOOR_DAY: i64 = DAY + 13 * 24 * 60 * MIN;
/// 08:00 on that day, two hours into the day shift (06:00-14:00 UTC).
const FLOOR_T0: i64 = FLOOR_DAY + 8 * 60 * MIN;

/// The test plant with a reason tree, a defect tree and products on the filler.
fn floor_plant() -> String {
    let plant = TEST_PLANT.replace(
        "fault_codes = { 7 = \"jam\" }",
        "fault_codes = { 7 = \"jam\" }\nproducts = [{ code = 1, name = \"Cola 2 l\", ideal_cycle_time = \"1s\" }]",
    );
    format!(
        r#"{plant}
[andon]
reasons = {{ mechanical = ["belt", "bearing"], electrical = ["sensor"], other = [] }}

[[andon.policies]]
category = "maintenance"
levels = [{{ after = "5m", targets = [] }}]

[defects]
fill = ["underfill", "overfill"]
cap = ["missing", "loose"]
"#
    )
}

#[actix_web::test]
async fn the_floor_app_serves_every_role_in_chromium() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/floor.mjs");
    if !browser_ready() {
        return;
    }
    let dir = temp();
    // Recent window 3 days, baseline the 10 days before (as in tests/maintenance.rs).
    let settings =
        serde_json::json!({"analytics": {"trend_window": "3d", "trend_baseline": "10d", "trend_half_life": "1d"}});
    let app = spawn_plant_at(dir.path(), &floor_plant(), FLOOR_T0, settings).await;
    let day = |d: i64, h: i64, m: i64| FLOOR_DAY - d * 24 * 60 * MIN + h * 60 * MIN + m * MIN;
    // The filler's history makes it at risk: 5 min jams on days −12 and −6, then 3 on day
    // −1 and 1 on day −2 (failing several times faster than its baseline).
    let mut history = vec![("A.Filler.State", serde_json::json!(1), day(13, 6, 0))];
    for (d, h) in [(12, 7), (6, 7), (2, 7), (1, 7), (1, 8), (1, 10)] {
        history.push(("A.Filler.State", serde_json::json!(3), day(d, h, 0)));
        history.push(("A.Filler.State", serde_json::json!(1), day(d, h, 5)));
    }
    history.push(("A.Filler.State", serde_json::json!(1), day(1, 14, 0)));
    app.ingest(&history).await;
    // Today 06:00-07:40 running, 07:40-07:50 down (a stop to classify), running since: the
    // filler has made 4,000 parts by 08:00, 30 of them PLC rejects.
    let start = FLOOR_DAY + 6 * 60 * MIN;
    app.ingest(&[
        ("A.Filler.State", serde_json::json!(1), start),
        ("A.Filler.Total", serde_json::json!(0), start),
        ("A.Filler.Reject", serde_json::json!(0), start),
        ("A.Packer.Run", serde_json::json!(true), start),
        ("A.Packer.Good", serde_json::json!(0), start),
        ("A.Filler.State", serde_json::json!(3), FLOOR_T0 - 20 * MIN),
        ("A.Filler.Total", serde_json::json!(3_500), FLOOR_T0 - 20 * MIN),
        ("A.Filler.State", serde_json::json!(1), FLOOR_T0 - 10 * MIN),
        ("A.Filler.Total", serde_json::json!(4_000), FLOOR_T0),
        ("A.Filler.Reject", serde_json::json!(30), FLOOR_T0),
        ("A.Filler.State", serde_json::json!(1), FLOOR_T0),
        ("A.Packer.Good", serde_json::json!(1_000), FLOOR_T0),
        ("A.Packer.Run", serde_json::json!(true), FLOOR_T0),
    ])
    .await;
    let (status, template) = app
        .post(
            "/api/v1/checklist-templates",
            &serde_json::json!({"line": "line-a", "name": "Start-up", "items": [
                {"key": "guard", "label": "Guards closed", "kind": "yes_no", "required": true},
                {"key": "air", "label": "Air pressure", "kind": "number", "min": 4, "max": 6, "unit": "bar", "required": true}]}),
        )
        .await;
    assert_eq!(status, 201, "{template}");
    for (name, role) in [
        ("olga", ms5::domain::access::Role::Operator),
        ("sam", ms5::domain::access::Role::Supervisor),
        ("eve", ms5::domain::access::Role::Engineer),
    ] {
        make_user(&app.store, name, role, None, FLOOR_T0).await;
    }
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screens");
    std::fs::create_dir_all(&shots).expect("screenshot directory");
    let mut node = tokio::process::Command::new("node");
    node.arg(&script)
        .env("MS5_URL", format!("{}/", app.base))
        .env("MS5_NOW_MS", FLOOR_T0.to_string())
        .env("MS5_DATE", "2026-03-15")
        .env("MS5_PASSWORD", TEST_PASSWORD)
        .env("MS5_ADMIN_TOKEN", &app.token)
        .env("MS5_SUPERVISOR_TOKEN", app.token_for("sam").await)
        .env("MS5_SCREENSHOTS", &shots);
    run_browser_script(node).await;
}

#[actix_web::test]
async fn the_board_and_the_floor_app_show_when_the_replicas_cannot_reach_each_other() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/degraded.mjs");
    if !browser_ready() {
        return;
    }
    let (Some(server), Some(mut redis)) = (common::stores::postgres_server(), common::redis::RedisServer::start())
    else {
        return;
    };
    let dir = temp();
    let db = postgres_database(&server, &format!("browser::degraded::{}", dir.path().display())).await;
    let app = spawn_app(Spawn {
        plant: &two_line_plant(),
        dir: dir.path(),
        clock: Clock::System,
        simulator: false,
        settings: serde_json::json!({
            "store": { "url": db },
            "cluster": { "enabled": true, "replica": "ms5-a" },
            "redis": { "url": redis.url() },
        }),
    })
    .await;
    let (status, display) = app
        .post("/api/v1/display-tokens", &serde_json::json!({"name": "hall wall"}))
        .await;
    assert_eq!(status, 201, "{display}");
    let mut node = tokio::process::Command::new("node");
    node.arg(&script)
        .env("MS5_URL", format!("{}/", app.base))
        .env("MS5_DISPLAY_TOKEN", display["token"].as_str().expect("token"))
        .env("MS5_USER", "root")
        .env("MS5_PASSWORD", TEST_PASSWORD)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    let mut child = node.spawn().expect("node runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut text = String::new();
    // The script asks for Redis to go and to come back, and is answered once it has.
    while let Ok(Some(line)) = out.next_line().await {
        match line.as_str() {
            "redis down" => redis.down(),
            "redis up" => redis.up(),
            _ => {
                text.push_str(&line);
                text.push('\n');
                continue;
            }
        }
        stdin.write_all(b"ok\n").await.expect("answer the script");
    }
    let status = child.wait().await.expect("node exits");
    assert!(
        status.success() && text.contains(", 0 failed"),
        "browser test failed:\n{text}"
    );
    eprintln!("{}", text.trim());
}

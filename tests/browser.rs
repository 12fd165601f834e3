//! The live board in a real browser: Debian chromium driven by playwright-core
//! (tests/browser/board.mjs) against a server running the simulated plant.

mod common;

use std::path::Path;

use common::*;
use ms5::clock::Clock;

const INJECTION: &str = "<img src=x onerror=alert(1)>";
const TICKET_TEXT: &str = "<b>Filler</b> valve fault <img src=x onerror=alert(2)>";

#[actix_web::test]
async fn the_board_renders_the_live_plant_in_chromium() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/board.mjs");
    let ready = Path::new("/usr/bin/chromium").exists()
        && Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser/node_modules/playwright-core")
            .exists();
    if !ready {
        assert!(
            std::env::var_os("MS5_REQUIRE_BROWSER").is_none(),
            "chromium or playwright-core missing: scripts/test.sh installs them"
        );
        eprintln!("skipped: chromium or playwright-core not installed (scripts/test.sh installs them)");
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
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .env("MS5_URL", format!("{}/", app.base))
        .env("MS5_DISPLAY_TOKEN", &display_token)
        .env("MS5_ADMIN_TOKEN", &app.token)
        .env("MS5_USER", "root")
        .env("MS5_PASSWORD", TEST_PASSWORD)
        .env("MS5_INJECTION_NAME", INJECTION)
        .env("MS5_EXPECT_TICKET", ticket["id"].to_string())
        .env("MS5_EXPECT_TICKET_TEXT", TICKET_TEXT)
        .output()
        .await
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser test failed:\n{text}");
    assert!(text.contains(", 0 failed"), "{text}");
}

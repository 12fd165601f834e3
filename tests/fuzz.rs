//! Schema-driven fuzzing: schemathesis (from PyPI; `scripts/test.sh` installs it) reads
//! the served OpenAPI document and throws generated and boundary requests at every
//! operation, as an admin. No answer may be a 5xx.

mod common;

use std::path::PathBuf;

use common::*;
use ms5::clock::Clock;

fn schemathesis() -> Option<PathBuf> {
    let path = std::env::var_os("MS5_SCHEMATHESIS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ms5/venv/bin/schemathesis")))?;
    path.exists().then_some(path)
}

#[actix_web::test]
async fn fuzzing_the_openapi_document_finds_no_server_error() {
    let Some(bin) = schemathesis() else {
        assert!(
            std::env::var_os("MS5_REQUIRE_FUZZ").is_none(),
            "schemathesis missing: scripts/test.sh installs it"
        );
        eprintln!("skipped: schemathesis not installed (scripts/test.sh installs it)");
        return;
    };
    let dir = temp();
    let pager = common::pager::PagerServer::start();
    let app = spawn_app(Spawn {
        plant: &andon_plant(&pager.base),
        dir: dir.path(),
        clock: Clock::System,
        simulator: true,
        settings: serde_json::json!({}),
    })
    .await;
    let work = temp();
    // Changing the signed-in admin's own account ends its tokens, so that one
    // operation goes in a second run after everything else. Sign-out is left out (it
    // would end the token too) and /ws needs a WebSocket client.
    let everything_else = [
        "--exclude-path",
        "/api/v1/users/{username}",
        "--exclude-path",
        "/api/v1/auth/logout",
        "--exclude-path",
        "/ws",
    ];
    let account_changes = ["--include-path", "/api/v1/users/{username}"];
    let (mut tested, mut total) = (0, 0);
    for selection in [&everything_else[..], &account_changes[..]] {
        let out = tokio::process::Command::new(&bin)
            .current_dir(work.path())
            .stdin(std::process::Stdio::null())
            .args([
                "run",
                &format!("{}/api/v1/openapi.json", app.base),
                "--header",
                &format!("Authorization: Bearer {}", app.token),
                "--checks",
                "not_a_server_error",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "30",
                "--seed",
                "5",
                "--workers",
                "1",
                "--no-color",
                "--request-timeout",
                "20",
            ])
            .args(selection)
            .output()
            .await
            .expect("schemathesis runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{text}");
        assert!(out.status.success(), "schemathesis found problems:\n{text}");
        assert!(!text.contains("Server error"), "{text}");
        let count = |prefix: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(prefix).map(str::to_owned))
                .unwrap_or_default()
        };
        let (selected, of) = count("Selected: ").split_once('/').map_or((0, 0), |(a, b)| {
            (a.trim().parse().unwrap_or(0), b.trim().parse().unwrap_or(0))
        });
        assert_eq!(count("Tested: ").trim().parse::<usize>().ok(), Some(selected), "{text}");
        tested += selected;
        total = of;
    }
    // Schemathesis leaves out the operation that serves the document it reads.
    assert_eq!(
        total,
        ms5::http::ROUTES.len() - 1,
        "schemathesis loaded every other operation"
    );
    assert_eq!(tested, total - 2, "every operation but sign-out and /ws was fuzzed");
}

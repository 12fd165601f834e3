//! Accounts and security against a real server: the role × route matrix, sign-in,
//! refresh rotation and reuse, sign-out, rate limiting, display and ingest tokens, line
//! scope, the audit log, feature flags, maintenance mode, CORS, origin checks and the
//! OpenAPI document.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use ms5::auth::jwt::{Claims, JwtKeys};
use ms5::clock::Clock;
use ms5::domain::access::Role;
use serde_json::{Value, json};

const T0: i64 = DAY + 7 * 60 * MIN;
const INGEST_TOKEN: &str = "ingest-token-for-tests-0123456789";

const LINE_B: &str = r#"
[[lines]]
id = "line-b"
name = "Line B"
output_machine = "b-press"
constraint_machine = "b-press"

[[lines.machines]]
id = "b-press"
name = "Press"
ideal_cycle_time = "1s"
tags = { state = { tag = "B.Press.State" }, total = { tag = "B.Press.Total", width = 32 }, reject = { tag = "B.Press.Reject", width = 32 } }
"#;

async fn two_line_app(dir: &std::path::Path, settings: Value) -> TestApp {
    let plant = format!("{TEST_PLANT}{LINE_B}");
    let mut merged = json!({ "auth": { "ingest_token": INGEST_TOKEN } });
    if let (Some(m), Some(extra)) = (merged.as_object_mut(), settings.as_object()) {
        for (k, v) in extra {
            m.insert(k.clone(), v.clone());
        }
    }
    spawn_app(Spawn {
        plant: &plant,
        dir,
        clock: Clock::manual(T0),
        simulator: false,
        settings: merged,
    })
    .await
}

fn claims(sub: &str, uid: i64, role: Role, now_s: i64, ttl_s: i64) -> Claims {
    Claims {
        sub: sub.into(),
        uid,
        role,
        lines: None,
        iss: "ms5".into(),
        aud: "ms5".into(),
        exp: now_s + ttl_s,
        nbf: now_s,
        iat: now_s,
        jti: "forged".into(),
    }
}

/// An admin token that expired a minute ago (signed with the right secret).
fn expired_token(app: &TestApp) -> String {
    let now_s = app.clock.now_ms() / 1000;
    let c = claims("root", app.root.id, Role::Admin, now_s - 3600, 3540);
    JwtKeys::new(TEST_JWT_SECRET.as_bytes(), "ms5", "ms5", 30).sign(&c).expect("sign")
}

/// A valid-looking admin token signed with another secret.
fn forged_token(app: &TestApp) -> String {
    let now_s = app.clock.now_ms() / 1000;
    let c = claims("root", app.root.id, Role::Admin, now_s, 1800);
    JwtKeys::new(b"not-the-secret-not-the-secret-!!", "ms5", "ms5", 30).sign(&c).expect("sign")
}

/// An admin token with `alg: none` and no signature.
fn alg_none_token(app: &TestApp) -> String {
    let now_s = app.clock.now_ms() / 1000;
    let c = claims("root", app.root.id, Role::Admin, now_s, 1800);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).expect("json"));
    format!("{header}.{body}.")
}

async fn display_token(app: &TestApp, lines: Option<Vec<&str>>) -> (String, i64) {
    let (status, d) = app
        .post("/api/v1/display-tokens", &json!({ "name": "hall wall", "lines": lines }))
        .await;
    assert_eq!(status, 201, "{d}");
    (
        d["token"].as_str().expect("token").to_owned(),
        d["display_token"]["id"].as_i64().expect("id"),
    )
}

/// Who calls, in the matrix's column order.
const CALLERS: [&str; 10] = [
    "anonymous", "expired", "forged", "alg_none", "display", "ingest", "operator", "supervisor", "engineer", "admin",
];

/// Expected outcome per caller: `ok` (anything but 401/403/5xx), or an exact status.
fn expected(class: &str) -> [&'static str; 10] {
    match class {
        "open" => ["ok"; 10],
        "read" => ["401", "401", "401", "401", "ok", "403", "ok", "ok", "ok", "ok"],
        "operate" => ["401", "401", "401", "401", "403", "403", "ok", "ok", "ok", "ok"],
        "supervise" => ["401", "401", "401", "401", "403", "403", "403", "ok", "ok", "ok"],
        "ingest" => ["401", "401", "401", "401", "403", "ok", "403", "403", "ok", "ok"],
        "admin" => ["401", "401", "401", "401", "403", "403", "403", "403", "403", "ok"],
        // an open route whose body carries a bad credential: refused whoever calls
        "bad-refresh" => ["401"; 10],
        other => panic!("no class {other}"),
    }
}

/// The test's own statement of who may call what (the service's table must agree).
const CLASSES: &[(&str, &str)] = &[
    ("GET /health", "open"),
    ("GET /ready", "open"),
    ("GET /metrics", "open"),
    ("GET /ws", "read"),
    ("GET /api/v1/openapi.json", "open"),
    ("POST /api/v1/auth/login", "open"),
    ("POST /api/v1/auth/refresh", "bad-refresh"),
    ("POST /api/v1/auth/logout", "open"),
    ("GET /api/v1/auth/me", "read"),
    ("GET /api/v1/production/lines", "read"),
    ("GET /api/v1/lines/{id}", "read"),
    ("GET /api/v1/lines/{id}/oee", "read"),
    ("GET /api/v1/machines/{id}", "read"),
    ("GET /api/v1/machines/{id}/oee", "read"),
    ("POST /api/v1/ingest", "ingest"),
    ("GET /api/v1/andon/tickets", "read"),
    ("POST /api/v1/andon/tickets", "operate"),
    ("GET /api/v1/andon/tickets/{id}", "read"),
    ("POST /api/v1/andon/tickets/{id}/acknowledge", "operate"),
    ("POST /api/v1/andon/tickets/{id}/resolve", "operate"),
    ("POST /api/v1/andon/tickets/{id}/cancel", "supervise"),
    ("GET /api/v1/downtime", "read"),
    ("GET /api/v1/downtime/reasons", "read"),
    ("GET /api/v1/downtime/pareto", "read"),
    ("POST /api/v1/downtime/{id}/classify", "operate"),
    ("GET /api/v1/flags", "read"),
    ("PUT /api/v1/flags/{name}", "admin"),
    ("GET /api/v1/users", "admin"),
    ("POST /api/v1/users", "admin"),
    ("PATCH /api/v1/users/{username}", "admin"),
    ("GET /api/v1/display-tokens", "admin"),
    ("POST /api/v1/display-tokens", "admin"),
    ("DELETE /api/v1/display-tokens/{id}", "admin"),
    ("GET /api/v1/audit", "admin"),
    ("GET /", "open"),
    ("GET /{file}", "open"),
];

/// `{name:regex}` → `{name}` (MS5's patterns have no braces inside their regexes).
fn plain_path(path: &str) -> String {
    let (mut out, mut skipping) = (String::new(), false);
    for c in path.chars() {
        match c {
            '}' => {
                skipping = false;
                out.push(c);
            }
            ':' if out.rfind('{') > out.rfind('}') => skipping = true,
            _ if skipping => {}
            _ => out.push(c),
        }
    }
    out
}

#[actix_web::test]
async fn every_route_answers_every_kind_of_caller_as_the_role_table_says() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    let (display, _) = display_token(&app, None).await;
    let (_, victim_display) = display_token(&app, None).await;
    make_user(&app.store, "matrix", Role::Operator, None, T0).await;
    make_user(&app.store, "target", Role::Operator, None, T0).await;
    let (_, ticket) = app
        .post(
            "/api/v1/andon/tickets",
            &json!({"line": "line-a", "category": "quality", "priority": "low", "description": "matrix"}),
        )
        .await;
    let ticket = ticket["id"].as_i64().expect("ticket id");
    let tokens: Vec<Option<String>> = vec![
        None,
        Some(expired_token(&app)),
        Some(forged_token(&app)),
        Some(alg_none_token(&app)),
        Some(display),
        Some(INGEST_TOKEN.to_owned()),
        Some(app.token_with("op", Role::Operator, None).await),
        Some(app.token_with("sup", Role::Supervisor, None).await),
        Some(app.token_with("eng", Role::Engineer, None).await),
        Some(app.admin()),
    ];

    // The table here and the service's route table name the same routes.
    let ours: BTreeMap<String, &str> = CLASSES.iter().map(|(k, c)| ((*k).to_owned(), *c)).collect();
    let theirs: BTreeSet<String> = ms5::http::ROUTES
        .iter()
        .map(|r| format!("{} {}", r.method, plain_path(r.path)))
        .collect();
    assert_eq!(ours.keys().cloned().collect::<BTreeSet<_>>(), theirs, "route tables differ");

    let window = "from=2026-03-02T06:00:00Z&to=2026-03-02T08:00:00Z";
    let mut new_user = 0;
    let mut failures = Vec::new();
    // Sign-out revokes the access token it is sent with: it goes last.
    let mut order: Vec<_> = ours.iter().collect();
    order.sort_by_key(|(route, _)| route.ends_with("/auth/logout"));
    for (route, class) in order {
        let (method, pattern) = route.split_once(' ').expect("METHOD path");
        let path = pattern
            .replace("/lines/{id}", "/lines/line-a")
            .replace("/machines/{id}", "/machines/a-filler")
            .replace("/tickets/{id}", &format!("/tickets/{ticket}"))
            .replace("/downtime/{id}", "/downtime/999")
            .replace("/flags/{name}", "/flags/offline_support")
            .replace("/users/{username}", "/users/target")
            .replace("/display-tokens/{id}", &format!("/display-tokens/{victim_display}"))
            .replace("/{file}", "/app.js")
            .replace("/downtime/pareto", &format!("/downtime/pareto?{window}"));
        for (i, token) in tokens.iter().enumerate() {
            let body = match route.as_str() {
                "POST /api/v1/auth/login" => Some(json!({"username": "matrix", "password": TEST_PASSWORD})),
                "POST /api/v1/auth/refresh" => Some(json!({"refresh_token": "ms5r_not-a-real-token"})),
                "POST /api/v1/ingest" => Some(json!([])),
                "POST /api/v1/andon/tickets" => Some(
                    json!({"line": "line-a", "category": "quality", "priority": "low", "description": "from the matrix"}),
                ),
                "POST /api/v1/downtime/{id}/classify" => Some(json!({"reason": "other"})),
                "PUT /api/v1/flags/{name}" => Some(json!({"enabled": true})),
                "POST /api/v1/users" => {
                    new_user += 1;
                    Some(json!({"username": format!("new-{new_user}"), "password": TEST_PASSWORD, "role": "operator"}))
                }
                "PATCH /api/v1/users/{username}" => Some(json!({"disabled": false})),
                "POST /api/v1/display-tokens" => Some(json!({"name": "matrix wall"})),
                _ if method == "POST" => Some(json!({})),
                _ => None,
            };
            let (status, answer) = app.call(method, &path, token.as_deref(), body.as_ref()).await;
            let want = expected(class)[i];
            let good = match want {
                "ok" => !matches!(status, 401 | 403) && status < 500,
                exact => status.to_string() == exact,
            };
            if !good {
                failures.push(format!("{route} as {}: {status}, wanted {want}: {answer}", CALLERS[i]));
            }
            if matches!(status, 401 | 403) {
                assert_eq!(
                    answer["error"]["code"],
                    json!(if status == 401 { "unauthorized" } else { "forbidden" }),
                    "{route} as {}: {answer}",
                    CALLERS[i]
                );
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

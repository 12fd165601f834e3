//! Accounts and security against a real server: the role × route matrix, sign-in,
//! refresh rotation and reuse, sign-out, rate limiting, display and ingest tokens, line
//! scope, the audit log, feature flags, maintenance mode, CORS, origin checks and the
//! OpenAPI document.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::ws::*;
use common::*;
use ms5::auth::jwt::{Claims, JwtKeys};
use ms5::clock::Clock;
use ms5::domain::access::Role;
use serde_json::{Value, json};

const T0: i64 = DAY + 7 * 60 * MIN;
const INGEST_TOKEN: &str = "ingest-token-for-tests-0123456789";

async fn two_line_app(dir: &std::path::Path, settings: Value) -> TestApp {
    let plant = two_line_plant();
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
        ver: 0,
    }
}

/// An admin token that expired a minute ago (signed with the right secret).
fn expired_token(app: &TestApp) -> String {
    let now_s = app.clock.now_ms() / 1000;
    let c = claims("root", app.root.id, Role::Admin, now_s - 3600, 3540);
    JwtKeys::new(TEST_JWT_SECRET.as_bytes(), "ms5", "ms5", 30)
        .sign(&c)
        .expect("sign")
}

/// A valid-looking admin token signed with another secret.
fn forged_token(app: &TestApp) -> String {
    let now_s = app.clock.now_ms() / 1000;
    let c = claims("root", app.root.id, Role::Admin, now_s, 1800);
    JwtKeys::new(b"not-the-secret-not-the-secret-!!", "ms5", "ms5", 30)
        .sign(&c)
        .expect("sign")
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
        .post(
            "/api/v1/display-tokens",
            &json!({ "name": "hall wall", "lines": lines }),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    (
        d["token"].as_str().expect("token").to_owned(),
        d["display_token"]["id"].as_i64().expect("id"),
    )
}

/// Who calls, in the matrix's column order.
const CALLERS: [&str; 10] = [
    "anonymous",
    "expired",
    "forged",
    "alg_none",
    "display",
    "ingest",
    "operator",
    "supervisor",
    "engineer",
    "admin",
];

/// Expected outcome per caller: `ok` (anything but 401/403/5xx), or an exact status.
fn expected(class: &str) -> [&'static str; 10] {
    match class {
        "open" => ["ok"; 10],
        "read" => ["401", "401", "401", "401", "ok", "403", "ok", "ok", "ok", "ok"],
        "operate" => ["401", "401", "401", "401", "403", "403", "ok", "ok", "ok", "ok"],
        "supervise" => ["401", "401", "401", "401", "403", "403", "403", "ok", "ok", "ok"],
        "engineer" => ["401", "401", "401", "401", "403", "403", "403", "403", "ok", "ok"],
        "ingest" => ["401", "401", "401", "401", "403", "ok", "403", "403", "ok", "ok"],
        "admin" => ["401", "401", "401", "401", "403", "403", "403", "403", "403", "ok"],
        // the forward token only (tests/forward.rs shows it let in)
        "forward" => ["401", "401", "401", "401", "403", "403", "403", "403", "403", "403"],
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
    ("GET /api/v1/lines/{id}/oee/series", "read"),
    ("GET /api/v1/machines/{id}", "read"),
    ("GET /api/v1/machines/{id}/oee", "read"),
    ("GET /api/v1/lines/{id}/defects", "read"),
    ("GET /api/v1/rejects", "read"),
    ("POST /api/v1/rejects", "operate"),
    ("GET /api/v1/rejects/{id}", "read"),
    ("POST /api/v1/rejects/{id}/void", "supervise"),
    ("GET /api/v1/machines/{id}/maintenance", "read"),
    ("GET /api/v1/machines/{id}/health", "read"),
    ("GET /api/v1/lines/{id}/losses", "read"),
    ("GET /api/v1/analytics/machines", "read"),
    ("GET /api/v1/maintenance/orders", "read"),
    ("POST /api/v1/maintenance/orders", "engineer"),
    ("GET /api/v1/maintenance/orders/{id}", "read"),
    ("POST /api/v1/maintenance/orders/{id}/start", "engineer"),
    ("POST /api/v1/maintenance/orders/{id}/complete", "engineer"),
    ("POST /api/v1/maintenance/orders/{id}/cancel", "engineer"),
    ("POST /api/v1/maintenance/orders/{id}/notes", "engineer"),
    ("POST /api/v1/ingest", "ingest"),
    ("GET /api/v1/andon/tickets", "read"),
    ("POST /api/v1/andon/tickets", "operate"),
    ("GET /api/v1/andon/tickets/{id}", "read"),
    ("POST /api/v1/andon/tickets/{id}/acknowledge", "operate"),
    ("POST /api/v1/andon/tickets/{id}/resolve", "operate"),
    ("POST /api/v1/andon/tickets/{id}/cancel", "supervise"),
    ("POST /api/v1/andon/tickets/{id}/assign", "supervise"),
    ("GET /api/v1/andon/assignees", "supervise"),
    ("GET /api/v1/downtime", "read"),
    ("GET /api/v1/downtime/reasons", "read"),
    ("GET /api/v1/downtime/pareto", "read"),
    ("POST /api/v1/downtime/{id}/classify", "operate"),
    ("POST /api/v1/downtime/{id}/split", "operate"),
    ("GET /api/v1/products", "read"),
    ("GET /api/v1/products/{code}", "read"),
    ("PUT /api/v1/products/{code}", "engineer"),
    ("DELETE /api/v1/products/{code}", "engineer"),
    ("GET /api/v1/jobs", "read"),
    ("POST /api/v1/jobs", "supervise"),
    ("GET /api/v1/jobs/{id}", "read"),
    ("PATCH /api/v1/jobs/{id}", "supervise"),
    ("POST /api/v1/jobs/{id}/release", "supervise"),
    ("POST /api/v1/jobs/{id}/start", "supervise"),
    ("POST /api/v1/jobs/{id}/pause", "supervise"),
    ("POST /api/v1/jobs/{id}/complete", "supervise"),
    ("POST /api/v1/jobs/{id}/cancel", "supervise"),
    ("GET /api/v1/checklist-templates", "read"),
    ("POST /api/v1/checklist-templates", "admin"),
    ("GET /api/v1/checklist-templates/{id}", "read"),
    ("PUT /api/v1/checklist-templates/{id}", "admin"),
    ("DELETE /api/v1/checklist-templates/{id}", "admin"),
    ("GET /api/v1/lines/{id}/checklists", "read"),
    ("POST /api/v1/lines/{id}/checklists", "operate"),
    ("GET /api/v1/lines/{id}/checklists/current", "read"),
    ("GET /api/v1/lines/{id}/handover", "read"),
    ("POST /api/v1/lines/{id}/handover", "operate"),
    ("GET /api/v1/reports/shift", "read"),
    ("POST /api/v1/reports/shift/regenerate", "supervise"),
    ("GET /api/v1/reports/day", "read"),
    ("GET /api/v1/reports/week", "read"),
    ("GET /api/v1/flags", "read"),
    ("PUT /api/v1/flags/{name}", "admin"),
    ("GET /api/v1/users", "admin"),
    ("POST /api/v1/users", "admin"),
    ("PATCH /api/v1/users/{username}", "admin"),
    ("GET /api/v1/display-tokens", "admin"),
    ("POST /api/v1/display-tokens", "admin"),
    ("DELETE /api/v1/display-tokens/{id}", "admin"),
    ("GET /api/v1/audit", "admin"),
    ("POST /api/v1/forward", "forward"),
    ("GET /api/v1/forward/status", "admin"),
    ("GET /api/v1/forward/quarantine", "admin"),
    ("POST /api/v1/forward/quarantine/{seq}/retry", "admin"),
    ("DELETE /api/v1/forward/quarantine/{seq}", "admin"),
    ("GET /", "open"),
    ("GET /app", "open"),
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
    let matrix_product = json!({"name": "Matrix part", "ideal_cycle_ms": 1000});
    let (status, _) = app
        .call(
            "PUT",
            "/api/v1/products/matrix-p",
            Some(&app.admin()),
            Some(&matrix_product),
        )
        .await;
    assert_eq!(status, 201);
    let matrix_job = json!({"line": "line-a", "product": "matrix-p", "target": 10});
    let (_, job) = app.post("/api/v1/jobs", &matrix_job).await;
    let job = job["id"].as_i64().expect("job id");
    app.ingest(&[
        ("A.Filler.State", json!(1), T0 - 10 * MIN),
        ("A.Filler.Total", json!(0), T0 - 10 * MIN),
        ("A.Filler.Total", json!(100), T0),
    ])
    .await;
    let (_, reject) = app
        .post(
            "/api/v1/rejects",
            &json!({"machine": "a-filler", "defect": "other", "quantity": 1}),
        )
        .await;
    let reject = reject["id"].as_i64().expect("reject id");
    let (_, order) = app
        .post(
            "/api/v1/maintenance/orders",
            &json!({"machine": "a-filler", "problem": "matrix", "priority": "low"}),
        )
        .await;
    let order_id = order["order"]["id"].as_i64().expect("order id");
    let checklist_template =
        json!({"line": "line-a", "name": "matrix", "items": [{"key": "ok", "label": "OK?", "kind": "yes_no"}]});
    let (_, template) = app.post("/api/v1/checklist-templates", &checklist_template).await;
    let template = template["id"].as_i64().expect("template id");
    let (_, victim_template) = app
        .post("/api/v1/checklist-templates", &json!({"line": "line-a", "name": "matrix victim", "items": [{"key": "ok", "label": "OK?", "kind": "yes_no"}]}))
        .await;
    let victim_template = victim_template["id"].as_i64().expect("template id");
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
    assert_eq!(
        ours.keys().cloned().collect::<BTreeSet<_>>(),
        theirs,
        "route tables differ"
    );

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
            .replace("/rejects/{id}", &format!("/rejects/{reject}"))
            .replace("/downtime/{id}", "/downtime/999")
            .replace("/flags/{name}", "/flags/offline_support")
            .replace("/products/{code}", "/products/matrix-p")
            .replace("/jobs/{id}", &format!("/jobs/{job}"))
            .replace("/users/{username}", "/users/target")
            .replace("/display-tokens/{id}", &format!("/display-tokens/{victim_display}"))
            .replace("/{file}", "/app.js")
            .replace("/downtime/pareto", &format!("/downtime/pareto?{window}"))
            .replace("/orders/{id}", &format!("/orders/{order_id}"))
            .replace("/losses", &format!("/losses?{window}"))
            .replace("/analytics/machines", &format!("/analytics/machines?{window}"))
            .replace(
                "/checklist-templates/{id}",
                &format!(
                    "/checklist-templates/{}",
                    if method == "DELETE" { victim_template } else { template }
                ),
            )
            .replace("/oee/series", &format!("/oee/series?{window}"))
            .replace("/reports/shift", "/reports/shift?date=2026-03-02&shift=day")
            .replace(
                "/reports/shift?date=2026-03-02&shift=day/regenerate",
                "/reports/shift/regenerate",
            )
            .replace("/andon/assignees", "/andon/assignees?line=line-a")
            .replace("/reports/day", "/reports/day?date=2026-03-02")
            .replace("/reports/week", "/reports/week?week=2026-W10")
            .replace("/quarantine/{seq}", "/quarantine/1");
        for (i, token) in tokens.iter().enumerate() {
            let body = match route.as_str() {
                "POST /api/v1/auth/login" => Some(json!({"username": "matrix", "password": TEST_PASSWORD})),
                "POST /api/v1/auth/refresh" => Some(json!({"refresh_token": "ms5r_not-a-real-token"})),
                "POST /api/v1/ingest" => Some(json!([])),
                "POST /api/v1/forward" => Some(json!({"edge": "matrix", "records": []})),
                "POST /api/v1/andon/tickets" => Some(
                    json!({"line": "line-a", "category": "quality", "priority": "low", "description": "from the matrix"}),
                ),
                "POST /api/v1/downtime/{id}/classify" => Some(json!({"reason": "other"})),
                "POST /api/v1/rejects" => Some(json!({"machine": "a-filler", "defect": "other", "quantity": 1})),
                "POST /api/v1/andon/tickets/{id}/assign" => Some(json!({"assignee": "target"})),
                "POST /api/v1/rejects/{id}/void" => Some(json!({"reason": "from the matrix"})),
                "POST /api/v1/maintenance/orders" => {
                    Some(json!({"machine": "a-filler", "problem": "from the matrix", "priority": "low"}))
                }
                "POST /api/v1/maintenance/orders/{id}/notes" => Some(json!({"note": "from the matrix"})),
                "PUT /api/v1/flags/{name}" => Some(json!({"enabled": true})),
                "PUT /api/v1/products/{code}" => Some(matrix_product.clone()),
                "POST /api/v1/jobs" | "PATCH /api/v1/jobs/{id}" => Some(matrix_job.clone()),
                "POST /api/v1/users" => {
                    new_user += 1;
                    Some(json!({"username": format!("new-{new_user}"), "password": TEST_PASSWORD, "role": "operator"}))
                }
                "PATCH /api/v1/users/{username}" => Some(json!({"disabled": false})),
                "POST /api/v1/display-tokens" => Some(json!({"name": "matrix wall"})),
                "POST /api/v1/checklist-templates" => Some(json!({
                    "line": "line-a", "name": format!("matrix {i}"), "items": [{"key": "ok", "label": "OK?", "kind": "yes_no"}]
                })),
                "PUT /api/v1/checklist-templates/{id}" => Some(checklist_template.clone()),
                "POST /api/v1/lines/{id}/checklists" => Some(json!({"template": template, "answers": {"ok": true}})),
                "POST /api/v1/lines/{id}/handover" => Some(json!({"note": "from the matrix"})),
                "POST /api/v1/reports/shift/regenerate" => Some(json!({"date": "2026-03-01", "shift": "day"})),
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
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn login(app: &TestApp, username: &str, password: &str) -> (u16, Value) {
    app.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"username": username, "password": password})),
    )
    .await
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    app.call(
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(&json!({ "refresh_token": token })),
    )
    .await
}

async fn audit_actions(app: &TestApp, query: &str) -> Vec<(String, String, String)> {
    let (status, page) = app.get(&format!("/api/v1/audit?limit=1000{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or("").to_owned(),
                e["actor"].as_str().unwrap_or("").to_owned(),
                e["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn sign_in_refresh_rotation_reuse_detection_and_sign_out() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    make_user(&app.store, "ann", Role::Operator, Some(vec!["line-a".into()]), T0).await;

    // Unknown user and wrong password get the very same answer.
    let (s1, unknown) = login(&app, "nobody", TEST_PASSWORD).await;
    let (s2, wrong) = login(&app, "ann", "wrong password!!").await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(unknown, wrong, "no hint which of the two was wrong");

    let (status, first) = login(&app, "ann", TEST_PASSWORD).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (
            first["token_type"].clone(),
            first["expires_in"].clone(),
            first["refresh_expires_in"].clone()
        ),
        (json!("Bearer"), json!(1800), json!(7 * 24 * 3600))
    );
    assert_eq!(first["user"]["role"], json!("operator"));
    assert!(first["user"].get("password_hash").is_none(), "{first}");
    let access = first["access_token"].as_str().expect("access");
    let (status, me) = app.get_as("/api/v1/auth/me", access).await;
    assert_eq!(status, 200);
    assert_eq!(
        me,
        json!({"kind": "user", "name": "ann", "role": "operator", "lines": ["line-a"], "timezone": "UTC"})
    );

    // The access token lives 30 min, give or take the 30 s leeway.
    app.clock.advance(30 * MIN + 20_000);
    assert_eq!(app.get_as("/api/v1/auth/me", access).await.0, 200, "inside the leeway");
    app.clock.advance(20_000);
    assert_eq!(app.get_as("/api/v1/auth/me", access).await.0, 401, "expired");

    // Refresh rotates: the new pair works, the old refresh token is dead.
    let r1 = first["refresh_token"].as_str().expect("refresh").to_owned();
    let (status, second) = refresh(&app, &r1).await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().expect("refresh").to_owned();
    assert_ne!(r1, r2);
    let access2 = second["access_token"].as_str().expect("access").to_owned();
    assert_eq!(app.get_as("/api/v1/auth/me", &access2).await.0, 200);

    // Reusing the rotated token revokes the whole family: r2 dies with it.
    let (status, _) = refresh(&app, &r1).await;
    assert_eq!(status, 401);
    let (status, _) = refresh(&app, &r2).await;
    assert_eq!(status, 401, "the family is revoked");
    assert!(
        audit_actions(&app, "&action=auth.refresh_reuse").await
            == vec![("auth.refresh_reuse".into(), "ann".into(), "denied".into())]
    );

    // Sign-out revokes the refresh token and the access token sent with it.
    let (_, third) = login(&app, "ann", TEST_PASSWORD).await;
    let (access3, r3) = (
        third["access_token"].as_str().expect("access").to_owned(),
        third["refresh_token"].as_str().expect("refresh").to_owned(),
    );
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/auth/logout",
            Some(&access3),
            Some(&json!({"refresh_token": r3})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.get_as("/api/v1/auth/me", &access3).await.0, 401);
    let (status, _) = refresh(&app, &r3).await;
    assert_eq!(status, 401);

    // A changed account's tokens stop working at once.
    let (_, fourth) = login(&app, "ann", TEST_PASSWORD).await;
    let access4 = fourth["access_token"].as_str().expect("access").to_owned();
    app.clock.advance(1_000);
    let (status, _) = app
        .call(
            "PATCH",
            "/api/v1/users/ann",
            Some(&app.admin()),
            Some(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.get_as("/api/v1/auth/me", &access4).await.0, 401);
    assert_eq!(login(&app, "ann", TEST_PASSWORD).await.0, 401, "disabled");

    let log = audit_actions(&app, "&actor=ann").await;
    for action in ["auth.login", "auth.refresh", "auth.refresh_reuse", "auth.logout"] {
        assert!(log.iter().any(|(a, _, _)| a == action), "{action} missing from {log:?}");
    }
    assert!(log.contains(&("auth.login".into(), "ann".into(), "denied".into())));
}

#[actix_web::test]
async fn failed_sign_ins_lock_a_user_and_an_address_and_the_lock_passes() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    make_user(&app.store, "vic", Role::Operator, None, T0).await;
    for i in 1..=5 {
        assert_eq!(
            login(&app, "vic", "not the password").await.0,
            401,
            "failure {i} is free"
        );
    }
    // The sixth failure locks the name for 1 s; even the right password waits.
    assert_eq!(login(&app, "vic", "not the password").await.0, 401);
    let (status, locked) = login(&app, "vic", TEST_PASSWORD).await;
    assert_eq!(status, 429, "{locked}");
    assert_eq!(locked["error"]["details"]["retry_after_s"], json!(1));
    app.clock.advance(1_000);
    assert_eq!(login(&app, "vic", TEST_PASSWORD).await.0, 200, "the lock passed");

    // Per address: 20 free failures in all (6 were spent above), then a lock whatever
    // the name.
    let mut refused = 0;
    let mut first_lock = None;
    for i in 0..30 {
        let (status, _) = login(&app, &format!("guess-{i}"), "x").await;
        match status {
            401 => refused += 1,
            429 => {
                first_lock = Some(i);
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        (refused, first_lock),
        (15, Some(15)),
        "locked after the 21st failure from this address"
    );
}

#[actix_web::test]
async fn with_no_accounts_sign_in_is_refused_with_how_to_make_the_first_admin() {
    let dir = temp();
    std::fs::write(dir.path().join("plant.toml"), TEST_PLANT).expect("plant");
    let config_path = dir.path().join("ms5.toml");
    std::fs::write(&config_path, include_str!("../config/default.toml")).expect("config");
    let overrides = figment::Figment::new().merge(figment::providers::Serialized::defaults(json!({
        "http": { "host": "127.0.0.1", "port": 0 },
        "store": { "url": format!("sqlite://{}/ms5.db", dir.path().display()) },
        "simulator": { "enabled": false },
        "log": { "level": "warn" },
    })));
    let config = ms5::config::Config::load_with(Some(&config_path), overrides).expect("config");
    let app = ms5::startup::Application::build(config, Clock::manual(T0))
        .await
        .expect("starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    // Until an account exists, a development machine's own board opens read-only by link;
    // each start makes a new link and ends the old one.
    let first = app
        .local_board_link()
        .await
        .expect("link")
        .expect("a link in development");
    let second = app
        .local_board_link()
        .await
        .expect("link")
        .expect("a link in development");
    let token = |link: &str| link.split("#token=").nth(1).expect("token in link").to_owned();
    assert!(
        first.starts_with(&format!("http://localhost:{}/#token=ms5d_", app.port())),
        "{first}"
    );
    actix_rt::spawn(app.run_until_stopped(false));
    let client = awc::Client::default();
    let lines = |t: String| {
        client
            .get(format!("{base}/api/v1/production/lines"))
            .insert_header(("Authorization", format!("Bearer {t}")))
            .send()
    };
    assert_eq!(lines(token(&second)).await.expect("get").status().as_u16(), 200);
    assert_eq!(
        lines(token(&first)).await.expect("get").status().as_u16(),
        401,
        "the older link ended"
    );
    let raise = client
        .post(format!("{base}/api/v1/andon/tickets"))
        .insert_header(("Authorization", format!("Bearer {}", token(&second))))
        .send_json(&json!({"line": "line-a", "category": "quality", "priority": "low", "description": "x"}))
        .await
        .expect("post");
    assert_eq!(raise.status().as_u16(), 403, "read-only");
    let mut res = awc::Client::default()
        .post(format!("{base}/api/v1/auth/login"))
        .send_json(&json!({"username": "admin", "password": "admin123"}))
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 503);
    let body: Value = res.json().await.expect("json");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("ms5 --config ") && message.contains(" user add --username <name> --role admin"),
        "{body}"
    );
}

#[actix_web::test]
async fn every_kind_of_write_is_audited_and_the_log_cannot_be_changed() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    make_user(&app.store, "ann", Role::Operator, None, T0).await;
    let _ = login(&app, "ann", "wrong password!!").await;
    let (_, tokens) = login(&app, "ann", TEST_PASSWORD).await;
    let first = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let (_, rotated) = refresh(&app, &first).await;
    let _ = refresh(&app, &first).await;
    let ann = rotated["access_token"].as_str().expect("access").to_owned();
    let (status, _) = app
        .post(
            "/api/v1/users",
            &json!({"username": "bob", "password": TEST_PASSWORD, "role": "supervisor", "lines": ["line-a"]}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .call(
            "PATCH",
            "/api/v1/users/bob",
            Some(&app.admin()),
            Some(&json!({"role": "engineer"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, display) = display_token(&app, Some(vec!["line-b"])).await;
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/display-tokens/{display}"),
            Some(&app.admin()),
            None
        )
        .await
        .0,
        200
    );
    let (status, t) = app
        .post_as(
            "/api/v1/andon/tickets",
            &app.token_for("anna").await,
            &json!({"line": "line-a", "category": "quality", "priority": "low", "description": "scratch"}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let id = t["id"].as_i64().expect("id");
    for action in ["acknowledge", "resolve"] {
        let (status, _) = app
            .post_as(
                &format!("/api/v1/andon/tickets/{id}/{action}"),
                &app.token_for("ben").await,
                &json!({}),
            )
            .await;
        assert_eq!(status, 200);
    }
    app.ingest(&[
        ("A.Filler.State", json!(1), T0),
        ("A.Filler.State", json!(3), T0 + MIN),
        ("A.Filler.State", json!(1), T0 + 11 * MIN),
    ])
    .await;
    app.clock.set(T0 + 12 * MIN);
    let (_, events) = app.get("/api/v1/downtime?line=line-a").await;
    let event = events["downtime"][0]["id"].as_i64().expect("a downtime event");
    let (status, c) = app
        .post_as(
            &format!("/api/v1/downtime/{event}/classify"),
            &ann,
            &json!({"reason": "other"}),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["classified"]["by"], json!("ann"), "who classified is who signed in");
    let (status, _) = app
        .call(
            "PUT",
            "/api/v1/flags/advanced_analytics",
            Some(&app.admin()),
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    let _ = app
        .call("POST", "/api/v1/auth/logout", Some(&ann), Some(&json!({})))
        .await;

    let log = audit_actions(&app, "").await;
    let want: &[(&str, &str, &str)] = &[
        ("auth.login", "ann", "denied"),
        ("auth.login", "ann", "ok"),
        ("auth.refresh", "ann", "ok"),
        ("auth.refresh_reuse", "ann", "denied"),
        ("auth.logout", "ann", "ok"),
        ("user.create", "root", "ok"),
        ("user.update", "root", "ok"),
        ("display_token.create", "root", "ok"),
        ("display_token.revoke", "root", "ok"),
        ("andon.raise", "anna", "ok"),
        ("andon.acknowledge", "ben", "ok"),
        ("andon.resolve", "ben", "ok"),
        ("downtime.classify", "ann", "ok"),
        ("flag.set", "root", "ok"),
    ];
    for (action, actor, outcome) in want {
        assert!(
            log.contains(&((*action).into(), (*actor).into(), (*outcome).into())),
            "{action} by {actor} ({outcome}) missing from {log:?}"
        );
    }
    let (_, page) = app.get("/api/v1/audit?action=flag.set").await;
    let entry = &page["entries"][0];
    assert_eq!(
        (
            entry["target"].clone(),
            entry["details"].clone(),
            entry["source"].clone()
        ),
        (
            json!("advanced_analytics"),
            json!({"from": true, "to": false}),
            json!("127.0.0.1")
        )
    );
    let andon_only = audit_actions(&app, "&action=andon.").await;
    assert_eq!(andon_only.len(), 3, "{andon_only:?}");
    assert!(
        !serde_json::to_string(&page).expect("json").contains(TEST_PASSWORD),
        "no password in the log"
    );

    // No route changes the log, and the database refuses to.
    for method in ["PUT", "PATCH", "DELETE", "POST"] {
        let (status, _) = app
            .call(method, "/api/v1/audit", Some(&app.admin()), Some(&json!({})))
            .await;
        assert_eq!(status, 404, "{method} /api/v1/audit");
    }
    let before = audit_actions(&app, "").await.len();
    assert!(
        app.store
            .execute_raw("UPDATE audit_log SET actor = 'mallory'")
            .await
            .is_err()
    );
    assert!(app.store.execute_raw("DELETE FROM audit_log").await.is_err());
    let after = audit_actions(&app, "").await;
    assert_eq!(after.len(), before);
    assert!(!after.iter().any(|(_, actor, _)| actor == "mallory"));
    assert_eq!(app.get_as("/api/v1/audit", &ann).await.0, 401, "signed out");
    assert_eq!(app.get_as("/api/v1/audit", &app.token_for("ben").await).await.0, 403);
}

#[actix_web::test]
async fn display_tokens_are_read_only_line_scoped_and_die_when_revoked() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    let (token, id) = display_token(&app, Some(vec!["line-b"])).await;
    let (status, lines) = app.get_as("/api/v1/production/lines", &token).await;
    assert_eq!(status, 200);
    let ids: Vec<_> = lines["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("line-b")], "only its line");
    assert_eq!(app.get_as("/api/v1/lines/line-a", &token).await.0, 403);
    assert_eq!(app.get_as("/api/v1/machines/a-filler/oee", &token).await.0, 403);
    assert_eq!(app.get_as("/api/v1/lines/line-b", &token).await.0, 200);
    let (status, _) = app
        .post_as(
            "/api/v1/andon/tickets",
            &token,
            &json!({"line": "line-b", "category": "quality", "priority": "low", "description": "x"}),
        )
        .await;
    assert_eq!(status, 403, "read-only");

    // Over the WebSocket: all-lines channels carry only its line; other lines are refused.
    let mut ws = connect_to(&app, &token).await;
    send(&mut ws, r#"{"type":"subscribe","channel":"production_updates"}"#).await;
    let snapshot = next_json(&mut ws).await;
    let ids: Vec<_> = snapshot["data"]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("line-b")], "{snapshot}");
    send(&mut ws, r#"{"type":"subscribe","channel":"machine:a-filler"}"#).await;
    let refused = next_json(&mut ws).await;
    assert_eq!(
        (refused["type"].clone(), refused["code"].clone()),
        (json!("error"), json!("forbidden"))
    );
    app.ingest(&[("A.Filler.State", json!(1), T0), ("B.Press.State", json!(1), T0)])
        .await;
    let update = next_json(&mut ws).await;
    assert_eq!(
        (update["type"].clone(), update["data"]["id"].clone()),
        (json!("update"), json!("line-b"))
    );

    // Revoked: REST refuses it and the open socket is closed.
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/v1/display-tokens/{id}"),
            Some(&app.admin()),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(app.get_as("/api/v1/production/lines", &token).await.0, 401);
    let closed = closes_within(&mut ws, 10).await;
    assert_eq!(
        closed,
        Some(1008),
        "the socket of a revoked display token closes (policy)"
    );
    let (status, list) = app.get("/api/v1/display-tokens").await;
    assert_eq!(status, 200);
    assert!(list["display_tokens"][0]["revoked_at"].is_string(), "{list}");
    assert!(!list.to_string().contains(&token), "secrets are shown once only");
}

/// The close code the server sends within `secs`, if the socket closes (0: no code).
async fn closes_within(ws: &mut Conn, secs: u64) -> Option<u16> {
    use futures_util::StreamExt;
    let deadline = std::time::Duration::from_secs(secs);
    tokio::time::timeout(deadline, async {
        while let Some(frame) = ws.next().await {
            match frame {
                Ok(awc::ws::Frame::Close(reason)) => return reason.map_or(0, |r| u16::from(r.code)),
                Err(_) => return 0,
                _ => {}
            }
        }
        0
    })
    .await
    .ok()
}

#[actix_web::test]
async fn the_ingest_token_ingests_and_does_nothing_else() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    let (status, report) = app
        .post_as(
            "/api/v1/ingest",
            INGEST_TOKEN,
            &json!([{"tag": "A.Filler.Total", "value": 5, "ts": T0}]),
        )
        .await;
    assert_eq!((status, report["applied"].clone()), (200, json!(1)));
    assert_eq!(app.get_as("/api/v1/production/lines", INGEST_TOKEN).await.0, 403);
    assert_eq!(
        app.post_as("/api/v1/ingest", "wrong-token-wrong-token-wrong", &json!([]))
            .await
            .0,
        401
    );
}

async fn set_flag(app: &TestApp, name: &str, enabled: bool) -> Value {
    let (status, flags) = app
        .call(
            "PUT",
            &format!("/api/v1/flags/{name}"),
            Some(&app.admin()),
            Some(&json!({ "enabled": enabled })),
        )
        .await;
    assert_eq!(status, 200, "{flags}");
    flags
}

#[actix_web::test]
async fn each_flag_gates_its_feature_and_survives_a_restart() {
    let dir = temp();
    let pager = common::pager::PagerServer::start();
    let app = spawn_app(Spawn {
        plant: &andon_plant(&pager.base),
        dir: dir.path(),
        clock: Clock::manual(T0),
        simulator: false,
        settings: json!({}),
    })
    .await;
    let (status, flags) = app.get_as("/api/v1/flags", &app.token_for("ben").await).await;
    assert_eq!(status, 200);
    assert_eq!(
        flags["flags"],
        json!({"advanced_analytics": true, "escalation_system": true, "maintenance_mode": false,
               "offline_support": true, "real_time_updates": true})
    );
    assert_eq!(
        app.call(
            "PUT",
            "/api/v1/flags/turbo",
            Some(&app.admin()),
            Some(&json!({"enabled": true}))
        )
        .await
        .0,
        404
    );

    // advanced_analytics: past spans and the Pareto, not the live windows.
    let span = "from=2026-03-02T06:00:00Z&to=2026-03-02T08:00:00Z";
    assert_eq!(app.get(&format!("/api/v1/lines/line-a/oee?{span}")).await.0, 200);
    set_flag(&app, "advanced_analytics", false).await;
    let (status, err) = app.get(&format!("/api/v1/lines/line-a/oee?{span}")).await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (403, json!("feature_disabled")),
        "{err}"
    );
    assert_eq!(app.get(&format!("/api/v1/downtime/pareto?{span}")).await.0, 403);
    assert_eq!(app.get("/api/v1/lines/line-a/oee?window=1h").await.0, 200);

    // escalation_system: a due level waits while it is off and fires once it is on.
    set_flag(&app, "escalation_system", false).await;
    let (status, t) = app
        .post(
            "/api/v1/andon/tickets",
            &json!({"line": "line-a", "category": "maintenance", "priority": "high", "description": "held"}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    app.clock.set(T0 + 6 * MIN);
    app.plant.tick().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(pager.on("/ok/slack").is_empty(), "no page while escalation is off");
    set_flag(&app, "escalation_system", true).await;
    assert_eq!(
        pager.wait_for("/ok/slack", 1).await.len(),
        1,
        "the held level fires when it is on"
    );

    // offline_support: the service worker is served only while it is on.
    assert_eq!(app.call("GET", "/sw.js", None, None).await.0, 200);
    set_flag(&app, "offline_support", false).await;
    assert_eq!(app.call("GET", "/sw.js", None, None).await.0, 403);

    // real_time_updates: open sockets close, new ones are refused.
    let mut ws = connect_to(&app, &app.token).await;
    send(&mut ws, r#"{"type":"ping"}"#).await;
    assert_eq!(next_json(&mut ws).await["type"], json!("pong"));
    set_flag(&app, "real_time_updates", false).await;
    assert_eq!(
        closes_within(&mut ws, 10).await,
        Some(1001),
        "open sockets close, going away"
    );
    let (status, err) = app.call("GET", "/ws", Some(&app.admin()), None).await;
    assert_eq!(status, 503, "{err}");
    set_flag(&app, "real_time_updates", true).await;

    // The changes are stored: a restart keeps them.
    app.stopper.stop().await;
    let again = spawn_app(Spawn {
        plant: &andon_plant(&pager.base),
        dir: dir.path(),
        clock: Clock::manual(T0 + 10 * MIN),
        simulator: false,
        settings: json!({}),
    })
    .await;
    let (_, flags) = again.get("/api/v1/flags").await;
    assert_eq!(flags["flags"]["advanced_analytics"], json!(false));
    assert_eq!(flags["flags"]["offline_support"], json!(false));
    assert_eq!(flags["flags"]["real_time_updates"], json!(true));
}

#[actix_web::test]
async fn maintenance_mode_banners_every_screen_and_pauses_writes_but_for_admins() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    let operator = app.token_with("olga", Role::Operator, None).await;
    let mut ws = connect_to(&app, &app.token).await;
    send(&mut ws, r#"{"type":"ping"}"#).await;
    assert_eq!(next_json(&mut ws).await["type"], json!("pong"));

    set_flag(&app, "maintenance_mode", true).await;
    let banner = next_json(&mut ws).await;
    assert_eq!(banner["type"], json!("banner"), "{banner}");
    assert_eq!(banner["data"]["maintenance_mode"], json!(true));
    assert!(
        banner["data"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Maintenance"))
    );

    let raise = json!({"line": "line-a", "category": "quality", "priority": "low", "description": "x"});
    let (status, err) = app.post_as("/api/v1/andon/tickets", &operator, &raise).await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (503, json!("maintenance_mode")),
        "{err}"
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("maintenance mode"))
    );
    let (_, list) = app.get("/api/v1/andon/tickets").await;
    assert_eq!(list["tickets"], json!([]), "nothing was raised");
    assert_eq!(
        app.post_as("/api/v1/ingest", INGEST_TOKEN, &json!([])).await.0,
        200,
        "telemetry keeps flowing"
    );
    assert_eq!(
        app.get_as("/api/v1/production/lines", &operator).await.0,
        200,
        "reads go on"
    );
    assert_eq!(login(&app, "olga", TEST_PASSWORD).await.0, 200, "sign-in goes on");
    assert_eq!(
        app.post("/api/v1/andon/tickets", &raise).await.0,
        201,
        "admins may write"
    );

    // A screen that connects during maintenance gets the banner at once.
    let mut late = connect_to(&app, &app.token).await;
    assert_eq!(next_json(&mut late).await["type"], json!("banner"));

    set_flag(&app, "maintenance_mode", false).await;
    let mut cleared = next_json(&mut ws).await;
    while cleared["type"] != json!("banner") {
        cleared = next_json(&mut ws).await;
    }
    assert_eq!(cleared["data"]["maintenance_mode"], json!(false));
    assert_eq!(app.post_as("/api/v1/andon/tickets", &operator, &raise).await.0, 201);
}

#[actix_web::test]
async fn cors_origin_checks_headers_and_the_metrics_token() {
    let dir = temp();
    let app = two_line_app(
        dir.path(),
        json!({
            "http": { "host": "127.0.0.1", "port": 0, "allowed_origins": ["https://wall.example.com"] },
            "auth": { "ingest_token": INGEST_TOKEN, "metrics_token": "metrics-token-for-tests-0123456" },
        }),
    )
    .await;
    let get = |origin: &'static str| {
        app.client
            .get(format!("{}/api/v1/production/lines", app.base))
            .insert_header(("Origin", origin))
            .insert_header(("Authorization", format!("Bearer {}", app.admin())))
            .send()
    };
    let res = get("https://wall.example.com").await.expect("get");
    assert_eq!(
        res.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://wall.example.com")
    );
    let res = get("https://evil.example").await.expect("get");
    assert!(
        res.headers().get("access-control-allow-origin").is_none(),
        "other origins get no CORS grant"
    );
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(
            res.headers().get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name}"
        );
    }
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
        "{csp}"
    );

    // WebSocket Origin: its own and listed origins only.
    let ws_with = |origin: String| {
        app.client
            .ws(&app.ws_url)
            .bearer_auth(&app.token)
            .origin(origin)
            .connect()
    };
    let own = format!("http://127.0.0.1:{}", app.base.rsplit(':').next().expect("port"));
    assert!(ws_with(own).await.is_ok(), "its own origin");
    assert!(
        ws_with("https://wall.example.com".into()).await.is_ok(),
        "a listed origin"
    );
    let (status, err) = app
        .client
        .get(format!("{}/ws", app.base))
        .insert_header(("Origin", "https://evil.example"))
        .insert_header(("Authorization", format!("Bearer {}", app.admin())))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .expect("get");
    assert_eq!((status, err), (403, ()), "a foreign page may not open the socket");

    // /metrics needs its token once one is configured; health stays open.
    assert_eq!(app.call("GET", "/metrics", None, None).await.0, 401);
    assert_eq!(
        app.call("GET", "/metrics", Some("metrics-token-for-tests-0123456"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        app.call("GET", "/metrics", Some(&app.token_for("ben").await), None)
            .await
            .0,
        403
    );
    assert_eq!(app.call("GET", "/health", None, None).await.0, 200);
    assert_eq!(app.call("GET", "/ready", None, None).await.0, 200);
}

#[actix_web::test]
async fn the_openapi_document_describes_every_route_and_nothing_else() {
    let dir = temp();
    let app = spawn_test_plant(dir.path(), T0).await;
    let (status, doc) = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let routed: BTreeSet<String> = ms5::http::ROUTES
        .iter()
        .map(|r| format!("{} {}", r.method, plain_path(r.path)))
        .collect();
    assert_eq!(documented, routed, "the document and the router disagree");
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    for name in [
        "bearer",
        "display_token",
        "ingest_token",
        "metrics_token",
        "forward_token",
    ] {
        assert!(schemes.contains_key(name), "{name} missing");
    }
    assert_eq!(schemes["bearer"]["bearerFormat"], json!("JWT"));
    // Protected operations name their scheme; open ones do not.
    for rule in ms5::http::ROUTES {
        let op = &doc["paths"][plain_path(rule.path)][rule.method.to_lowercase()];
        let secured = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(|o| !o.is_empty())));
        let open = matches!(rule.access, ms5::domain::access::Access::Open);
        assert_eq!(secured, !open, "{} {}", rule.method, rule.path);
    }
}

#[actix_web::test]
async fn websocket_credentials_come_by_header_or_subprotocol_and_sockets_end_with_their_credential() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    // Browsers offer the token as a subprotocol; MS5 answers with `ms5.bearer`.
    let (res, mut ws) = app
        .client
        .ws(&app.ws_url)
        .protocols(["ms5.bearer", app.token.as_str()])
        .connect()
        .await
        .expect("subprotocol credential");
    assert_eq!(
        res.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("ms5.bearer")
    );
    send(&mut ws, r#"{"type":"ping"}"#).await;
    assert_eq!(next_json(&mut ws).await["type"], json!("pong"));
    // A token in the URL is not accepted (it would end up in proxy logs).
    let (status, _) = app
        .call("GET", &format!("/ws?access_token={}", app.token), None, None)
        .await;
    assert_eq!(status, 401);

    // Signing out closes the sockets of that access token.
    let (_, tokens) = {
        make_user(&app.store, "olga", Role::Operator, None, T0).await;
        login(&app, "olga", TEST_PASSWORD).await
    };
    let olga = tokens["access_token"].as_str().expect("access").to_owned();
    let mut signed_out = connect_to(&app, &olga).await;
    send(&mut signed_out, r#"{"type":"ping"}"#).await;
    assert_eq!(next_json(&mut signed_out).await["type"], json!("pong"));
    let (status, _) = app
        .call("POST", "/api/v1/auth/logout", Some(&olga), Some(&json!({})))
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        closes_within(&mut signed_out, 10).await,
        Some(1008),
        "signed out: socket closed"
    );

    // An account change closes the user's sockets; a no-op change does not end sessions.
    let (_, tokens) = login(&app, "olga", TEST_PASSWORD).await;
    let olga = tokens["access_token"].as_str().expect("access").to_owned();
    let (status, _) = app
        .call(
            "PATCH",
            "/api/v1/users/olga",
            Some(&app.admin()),
            Some(&json!({"role": "operator"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.get_as("/api/v1/auth/me", &olga).await.0,
        200,
        "nothing changed: still signed in"
    );
    let mut changed = connect_to(&app, &olga).await;
    send(&mut changed, r#"{"type":"ping"}"#).await;
    assert_eq!(next_json(&mut changed).await["type"], json!("pong"));
    let (status, _) = app
        .call(
            "PATCH",
            "/api/v1/users/olga",
            Some(&app.admin()),
            Some(&json!({"lines": ["line-b"]})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        closes_within(&mut changed, 10).await,
        Some(1008),
        "account changed: socket closed"
    );
    assert_eq!(app.get_as("/api/v1/auth/me", &olga).await.0, 401);
}

#[actix_web::test]
async fn scoped_ingest_unknown_names_and_the_last_admin_are_guarded() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    // An engineer limited to line-a cannot feed line-b, and nothing of that batch applies.
    let eng = app
        .token_with("erin", Role::Engineer, Some(vec!["line-a".into()]))
        .await;
    let batch =
        json!([{"tag": "A.Filler.Total", "value": 5, "ts": T0}, {"tag": "B.Press.Total", "value": 9, "ts": T0}]);
    let (status, err) = app.post_as("/api/v1/ingest", &eng, &batch).await;
    assert_eq!(status, 403, "{err}");
    assert!(
        err["error"]["message"].as_str().is_some_and(|m| m.contains("sample 1")),
        "{err}"
    );
    let (_, m) = app.get("/api/v1/machines/a-filler").await;
    assert_eq!(m["windows"]["today"]["total"], json!(0), "nothing applied: {m}");
    let (status, report) = app
        .post_as(
            "/api/v1/ingest",
            &eng,
            &json!([{"tag": "A.Filler.Total", "value": 5, "ts": T0}]),
        )
        .await;
    assert_eq!((status, report["applied"].clone()), (200, json!(1)));

    // A failed sign-in under a name no account has is audited without that name.
    let secret_typed_as_name = "hunter2-typed-into-the-name-field";
    assert_eq!(login(&app, secret_typed_as_name, "x").await.0, 401);
    let (_, page) = app.get("/api/v1/audit?action=auth.login").await;
    assert_eq!(page["entries"][0]["actor"], json!("(unknown user)"));
    assert!(!page.to_string().contains(secret_typed_as_name));

    // The last active admin can be neither demoted nor disabled.
    for change in [json!({"role": "engineer"}), json!({"disabled": true})] {
        let (status, err) = app
            .call("PATCH", "/api/v1/users/root", Some(&app.admin()), Some(&change))
            .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (409, json!("conflict")),
            "{change}"
        );
    }
    let (_, me) = app.get("/api/v1/auth/me").await;
    assert_eq!(me["role"], json!("admin"), "refused changes change nothing");
}

#[actix_web::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_address() {
    let dir = temp();
    let app = two_line_app(
        dir.path(),
        json!({ "http": { "host": "127.0.0.1", "port": 0, "trusted_proxies": ["127.0.0.1"] } }),
    )
    .await;
    let attempt = |client: &'static str, name: String| {
        app.client
            .post(format!("{}/api/v1/auth/login", app.base))
            .insert_header(("X-Forwarded-For", format!("198.51.100.99, {client}")))
            .send_json(&json!({"username": name, "password": "not it"}))
    };
    let mut statuses = Vec::new();
    for i in 0..22 {
        statuses.push(
            attempt("203.0.113.1", format!("guess-{i}"))
                .await
                .expect("post")
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses[..21], [401; 21], "20 free failures, the 21st locks");
    assert_eq!(statuses[21], 429);
    let other = attempt("203.0.113.2", "guess-x".into())
        .await
        .expect("post")
        .status()
        .as_u16();
    assert_eq!(other, 401, "another client behind the same proxy is not locked");
    let (_, page) = app.get("/api/v1/audit?action=auth.login&limit=1").await;
    assert_eq!(
        page["entries"][0]["source"],
        json!("203.0.113.2"),
        "the forwarded client, not the proxy"
    );
    // A proxy that appends its own header line: the last line counts, not what the client sent.
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .insert_header(("X-Forwarded-For", "203.0.113.1"))
        .append_header(("X-Forwarded-For", "203.0.113.3"))
        .send_json(&json!({"username": "guess-y", "password": "not it"}))
        .await
        .expect("post");
    assert_eq!(
        res.status().as_u16(),
        401,
        "203.0.113.3 is not locked, whatever the client wrote"
    );
    let (_, page) = app.get("/api/v1/audit?action=auth.login&limit=1").await;
    assert_eq!(page["entries"][0]["source"], json!("203.0.113.3"));
}

#[actix_web::test]
async fn changes_made_elsewhere_reach_the_service_and_racing_sign_ins_get_nothing() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    let user = make_user(&app.store, "pat", Role::Operator, None, T0).await;
    let pat = app.auth.access_token(&user).expect("token");
    let (display, display_id) = display_token(&app, None).await;
    assert_eq!(app.get_as("/api/v1/auth/me", &pat).await.0, 200);

    // What `ms5 user passwd` or another replica does: straight to the store.
    let change = ms5::store::UserChange {
        password_hash: Some(test_hash().to_owned()),
        ..Default::default()
    };
    let changed = app
        .store
        .update_user("pat", &change, true, T0)
        .await
        .expect("update")
        .expect("pat");
    assert_eq!(changed.token_version, user.token_version + 1);
    app.store
        .revoke_display_token(display_id, "elsewhere", T0)
        .await
        .expect("revoke");
    // A sign-in that read the account before the change stores nothing.
    let stale = ms5::store::NewRefresh {
        hash: &[7; 32],
        family: "f",
        user_id: user.id,
        now: T0,
        expires_at: T0 + DAY,
        token_version: user.token_version,
    };
    assert!(
        !app.store.insert_refresh(&stale).await.expect("insert"),
        "stale version refused"
    );
    let fresh = ms5::store::NewRefresh {
        token_version: changed.token_version,
        ..stale.clone()
    };
    assert!(app.store.insert_refresh(&fresh).await.expect("insert"));

    // Until the reload the service does not know; after it, both credentials are refused.
    assert_eq!(app.get_as("/api/v1/auth/me", &pat).await.0, 200);
    let news = app.auth.reload().await.expect("reload");
    assert!(news.contains(&ms5::actors::hub::Revoked::User(user.id)), "{news:?}");
    assert!(
        news.contains(&ms5::actors::hub::Revoked::Display(display_id)),
        "{news:?}"
    );
    assert_eq!(app.get_as("/api/v1/auth/me", &pat).await.0, 401);
    assert_eq!(app.get_as("/api/v1/auth/me", &display).await.0, 401);
    assert!(
        app.auth.reload().await.expect("reload").is_empty(),
        "nothing new the second time"
    );
}

#[actix_web::test]
async fn a_successful_sign_in_leaves_the_address_count_as_it_was() {
    let dir = temp();
    let app = two_line_app(dir.path(), json!({})).await;
    make_user(&app.store, "sam", Role::Operator, None, T0).await;
    for i in 0..20 {
        assert_eq!(login(&app, &format!("typo-{i}"), "x").await.0, 401);
    }
    assert_eq!(
        login(&app, "sam", TEST_PASSWORD).await.0,
        200,
        "the 20 free failures are spent, not exceeded"
    );
    assert_eq!(
        login(&app, "typo-20", "x").await.0,
        401,
        "the sign-in did not count as a 21st failure"
    );
    assert_eq!(login(&app, "typo-21", "x").await.0, 429, "the 21st failure did");
}

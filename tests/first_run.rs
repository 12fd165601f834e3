//! What a new user meets first, step by step: the CLI says which configuration and
//! database it used and the first-admin hints repeat the server's `--config`; a busy port
//! ends the start with code 2 and nothing started; development listens on this machine
//! only; the audit log records the same details on every path; query errors name the
//! parameter; Andon acknowledge and resolve take no body.

mod common;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ms5::domain::access::Role;
use ms5::store::{AuditFilter, Store};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_ms5");
const SECRET: &str = "secret-of-the-first-run-test-0123456789";

/// A folder with a copy of the shipped `config/`.
fn config_dir() -> tempfile::TempDir {
    let dir = temp();
    std::fs::create_dir(dir.path().join("config")).expect("mkdir");
    for (name, text) in [
        ("default.toml", include_str!("../config/default.toml")),
        ("plant.toml", include_str!("../config/plant.toml")),
    ] {
        std::fs::write(dir.path().join("config").join(name), text).expect("write");
    }
    dir
}

fn real(p: &Path) -> PathBuf {
    p.canonicalize().expect("canonical path")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// `ms5 ARGS` in `dir` with `stdin` piped → (exit code, stdout + stderr).
fn ms5(args: &[&str], stdin: &str, dir: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("MS5_CONFIG")
        .env("MS5__LOG__LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A child process group, killed as a whole on drop (with bash's own `kill`, which takes
/// a process group).
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .args(["-c", &format!("kill -KILL -- -{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.0 exchange on loopback → (status, body).
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    Some((status, answer.split_once("\r\n\r\n")?.1.to_owned()))
}

fn wait_ready(port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some((200, _)) = http(port, "GET", "/ready", None) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "not ready on {port}: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Waits until `file` contains `text`, and returns the file.
fn wait_for_text(file: &Path, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = std::fs::read_to_string(file).unwrap_or_default();
        if seen.contains(text) || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn audit(db: &Path, action: &str) -> Vec<ms5::store::AuditRecord> {
    let store = Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("store");
    store
        .audit(&AuditFilter {
            action: Some(action.to_owned()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit")
}

#[actix_web::test]
async fn user_commands_name_the_config_and_database_they_used_and_audit_like_rest() {
    let dir = config_dir();
    let (config, db) = (
        real(dir.path()).join("config/default.toml"),
        real(dir.path()).join("data/ms5.db"),
    );
    let used = format!("ms5: config {}, database {}", config.display(), db.display());
    let add = [
        "user",
        "add",
        "--username",
        "ada",
        "--role",
        "supervisor",
        "--lines",
        "line-1",
    ];
    let (code, text) = ms5(&add, "a long password of ada\n", dir.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&used), "want {used:?} in {text}");
    assert!(text.contains("did not exist and is created now"), "{text}");
    assert!(text.contains("created ada (supervisor)"), "{text}");
    let (code, text) = ms5(
        &["user", "passwd", "--username", "ada"],
        "another long password\n",
        dir.path(),
        &[],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&used), "{text}");
    assert!(!text.contains("did not exist"), "the database exists now: {text}");
    let (code, text) = ms5(&["migrate"], "", dir.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&used), "{text}");

    // Same details as POST/PATCH /api/v1/users record.
    let created = audit(&db, "user.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].details, json!({"role": "supervisor", "lines": ["line-1"]}));
    assert!(created[0].actor.starts_with("cli"), "{:?}", created[0].actor);
    let updated = audit(&db, "user.update").await;
    assert_eq!(
        updated[0].details,
        json!({"role": null, "lines": null, "disabled": null, "password_changed": true})
    );

    // From a folder without config/: the built-in configuration, said so, and a new
    // database in that folder, said so too.
    let elsewhere = temp();
    let (code, text) = ms5(
        &["user", "add", "--username", "bob", "--role", "admin"],
        "a long password of bob\n",
        elsewhere.path(),
        &[],
    );
    assert_eq!(code, 0, "{text}");
    let other_db = real(elsewhere.path()).join("data/ms5.db");
    assert!(
        text.contains(&format!(
            "ms5: config built-in (no config/default.toml here), database {}",
            other_db.display()
        )),
        "{text}"
    );
    assert!(text.contains("did not exist and is created now"), "{text}");
}

#[actix_web::test]
async fn first_admin_hints_repeat_the_servers_config_and_the_refused_sign_in_says_why() {
    let dir = config_dir();
    let port = free_port();
    let log = dir.path().join("serve.log");
    // `script` gives the server a terminal, as a person's shell would: the board banner
    // is printed on terminals only.
    let command = format!("{BIN} --config config/default.toml serve");
    let child = Command::new("script")
        .args(["-q", "-f", "-e", "-c", &command])
        .arg(&log)
        .current_dir(dir.path())
        .env_remove("MS5_CONFIG")
        .env("MS5__HTTP__PORT", port.to_string())
        .env("MS5__SIMULATOR__ENABLED", "false")
        .env("MS5__AUTH__JWT_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("script runs");
    let _server = Group(child);
    wait_ready(port, &log);
    let hint = format!(
        "ms5 --config {} user add --username <name> --role admin",
        real(dir.path()).join("config/default.toml").display()
    );
    let (status, body) = http(
        port,
        "POST",
        "/api/v1/auth/login",
        Some(r#"{"username":"ada","password":"a long password of ada"}"#),
    )
    .expect("sign-in answers");
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&hint), "want {hint:?} in {message:?}");
    let seen = wait_for_text(&log, "To sign in and act");
    assert!(seen.contains(&format!("To sign in and act: {hint}")), "banner: {seen}");
    assert!(seen.contains("/#token=ms5d_"), "board link: {seen}");
    assert!(
        seen.contains(&format!("create the first admin with `{hint}`")),
        "start-up warning: {seen}"
    );

    // The refused sign-in is audited as `failed`, with the reason.
    let db = real(dir.path()).join("data/ms5.db");
    let logins = audit(&db, "auth.login").await;
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0].outcome, "failed");
    assert_eq!(logins[0].details, json!({"reason": "no_accounts"}));
}

#[test]
fn a_busy_port_ends_the_start_with_code_2_before_anything_runs() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = temp();
    let (code, text) = ms5(&["serve"], "", dir.path(), &[("MS5__HTTP__PORT", &port.to_string())]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(
        !dir.path().join("data").exists(),
        "no database was opened before the port: {text}"
    );
}

#[test]
fn the_development_profile_listens_on_this_machine_only() {
    let dir = temp();
    let log = dir.path().join("serve.log");
    let out = std::fs::File::create(&log).expect("log file");
    let child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("MS5_CONFIG")
        .env("MS5__HTTP__PORT", "0")
        .env("MS5__SIMULATOR__ENABLED", "false")
        .env("MS5__LOG__LEVEL", "info")
        .env("NO_COLOR", "1")
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .process_group(0)
        .spawn()
        .expect("spawn");
    let _server = Group(child);
    let seen = wait_for_text(&log, "listening");
    assert!(seen.contains("listening addr=127.0.0.1:"), "{seen}");
    // The production profile (and so the container) listens on every interface.
    use figment::providers::Format;
    let production: String = figment::Figment::from(figment::providers::Toml::file(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/production.toml"),
    ))
    .extract_inner("http.host")
    .expect("http.host");
    assert_eq!(production, "0.0.0.0");
}

#[actix_web::test]
async fn query_errors_name_the_parameter_what_it_got_and_an_example() {
    let dir = temp();
    let app = spawn_test_plant(dir.path(), DAY + 8 * 60 * MIN).await;
    let cases = [
        // (path, parameter, in the message)
        (
            "/api/v1/downtime/pareto?from=2026-11-28&to=2026-11-29T00:00:00Z",
            "from",
            vec!["`from` must be", "got `2026-11-28`", "from=2026-11-28T06:00:00Z"],
        ),
        (
            "/api/v1/audit?limit=abc",
            "limit",
            vec!["`limit` must be a whole number", "got `abc`", "limit=100"],
        ),
        (
            "/api/v1/downtime?from=2026-03-02T06:00:00+01:00",
            "from",
            vec!["got `2026-03-02T06:00:00 01:00`", "%2B01:00"],
        ),
        (
            "/api/v1/lines/line-a/oee?from=2026-03-02T06:00:00+01:00&to=2026-03-02T08:00:00Z",
            "from",
            vec![
                "got `2026-03-02T06:00:00 01:00`",
                "%2B01:00",
                "from=2026-11-23T06:00:00Z",
            ],
        ),
        (
            "/api/v1/downtime/pareto?to=2026-11-29T00:00:00Z",
            "from",
            vec!["`from` is required, e.g. `from=2026-11-28T06:00:00Z`"],
        ),
        (
            "/api/v1/andon/tickets?lines=line-a",
            "lines",
            vec!["unknown query parameter `lines`; this route takes", "`line`"],
        ),
    ];
    for (path, parameter, wanted) in cases {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        for want in wanted {
            assert!(message.contains(want), "{path}: want {want:?} in {message:?}");
        }
        assert_eq!(body["error"]["details"]["parameter"], parameter, "{path}");
    }
}

#[actix_web::test]
async fn operators_acknowledge_and_resolve_with_no_body_and_a_bad_body_changes_nothing() {
    let dir = temp();
    let app = spawn_test_plant(dir.path(), DAY + 8 * 60 * MIN).await;
    let operator = app.token_with("olga", Role::Operator, None).await;
    let raise = json!({"line": "line-a", "category": "material", "priority": "medium", "description": "no caps"});
    let (status, ticket) = app.post_as("/api/v1/andon/tickets", &operator, &raise).await;
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["id"].as_i64().expect("id");
    let send = |path: String, content_type: Option<&'static str>, body: &'static str| {
        let mut req = app
            .client
            .post(format!("{}{path}", app.base))
            .insert_header(("Authorization", format!("Bearer {operator}")));
        if let Some(t) = content_type {
            req = req.insert_header(("Content-Type", t));
        }
        async move {
            let mut res = req.send_body(body).await.expect("POST");
            let bytes = res.body().await.expect("body");
            (
                res.status().as_u16(),
                serde_json::from_slice::<Value>(&bytes).unwrap_or_default(),
            )
        }
    };
    let ack = format!("/api/v1/andon/tickets/{id}/acknowledge");
    // Bad bodies: a 400 that says why, and the ticket stays open.
    for (content_type, body, want) in [
        (Some("application/json"), "{not json", "invalid JSON body"),
        (None, r#"{"comment":"on it"}"#, "Content-Type: application/json"),
        (
            Some("application/json"),
            r#"{"coment":"typo"}"#,
            "unknown field `coment`",
        ),
    ] {
        let (status, answer) = send(ack.clone(), content_type, body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(want), "{body}: want {want:?} in {message:?}");
        let (_, now) = app.get(&format!("/api/v1/andon/tickets/{id}")).await;
        assert_eq!(now["ticket"]["state"], "open", "{body} changed the ticket: {now}");
    }
    // No body at all: an empty comment.
    let (status, acked) = send(ack, None, "").await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["state"], "acknowledged");
    let (status, resolved) = send(format!("/api/v1/andon/tickets/{id}/resolve"), None, "").await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["state"], "resolved");
    let (_, page) = app.get("/api/v1/audit?action=andon.acknowledge").await;
    assert_eq!(page["entries"][0]["actor"], "olga");
    assert_eq!(page["entries"][0]["details"]["comment"], Value::Null);
}

//! The `ms5` binary's configuration handling: check-config, environment overrides, and
//! serve refusing a bad configuration with file, key and reason.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ms5");

fn run(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> (i32, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir).env_remove("MS5_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("ms5 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("config")).expect("mkdir");
    std::fs::write(
        dir.path().join("config/default.toml"),
        include_str!("../config/default.toml"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("config/plant.toml"),
        include_str!("../config/plant.toml"),
    )
    .expect("write");
    dir
}

#[test]
fn check_config_accepts_the_shipped_configuration() {
    let dir = config_dir();
    let (code, text) = run(&["check-config"], &[], dir.path());
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("config/default.toml: ok (2 lines, 8 machines, 38 tags)"),
        "{text}"
    );
    // the built-in copy is used where no config/ exists
    let empty = tempfile::tempdir().expect("tempdir");
    let (code, text) = run(&["check-config"], &[], empty.path());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("embedded default.toml: ok"), "{text}");
}

#[test]
fn errors_name_the_file_the_key_and_the_reason() {
    let dir = config_dir();
    let plant =
        include_str!("../config/plant.toml").replacen("ideal_cycle_time = \"1s\"", "ideal_cycle_time = \"0s\"", 1);
    std::fs::write(dir.path().join("config/plant.toml"), plant).expect("write");
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 3] = [
        (
            &["check-config"],
            &[],
            "config/plant.toml: lines[0].machines[1].ideal_cycle_time: must be longer than 0",
        ),
        // serve refuses the same way, before binding anything
        (
            &["serve"],
            &[],
            "config/plant.toml: lines[0].machines[1].ideal_cycle_time: must be longer than 0",
        ),
        (
            &["check-config"],
            &[("MS5__SIMULATOR__SPEED", "0")],
            "simulator.speed: must be above 0",
        ),
    ];
    for (args, env, want) in cases {
        let (code, text) = run(args, env, dir.path());
        assert_eq!(code, 2, "{args:?} {env:?}: {text}");
        assert!(text.contains(want), "{args:?} {env:?}: want {want:?} in {text}");
    }
}

#[test]
fn environment_overrides_reach_the_settings() {
    let dir = config_dir();
    let (code, text) = run(&["check-config"], &[("MS5__HTTP__PORT", "not-a-port")], dir.path());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("http.port"), "{text}");
    let (code, text) = run(&["check-config"], &[("MS5__HTTP__PORT", "9000")], dir.path());
    assert_eq!(code, 0, "{text}");
    let (code, text) = run(&["--config", "missing.toml", "check-config"], &[], dir.path());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("missing.toml: (file): no such file"), "{text}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// `ms5 simulate` and `ms5 serve` as two processes, with the shipped OPC UA example config:
/// the served plant runs on data that came over OPC UA.
#[test]
fn serve_runs_on_the_simulated_plc_over_opcua() {
    let opc = free_port();
    // the endpoint URL in the example names port 4855; point it at this test's port
    let config = include_str!("../config/opcua.toml")
        .replace("opc.tcp://127.0.0.1:4855/", &format!("opc.tcp://127.0.0.1:{opc}/"));
    simulate_then_serve("opcua.toml", &config, &[("MS5__OPCUA__SERVER__PORT", opc.to_string())]);
}

/// The same with the shipped Modbus example config: `simulate` serves Modbus TCP only,
/// `serve` polls it.
#[test]
fn serve_runs_on_the_simulated_plc_over_modbus() {
    let port = free_port();
    let config = include_str!("../config/modbus.toml").replace("127.0.0.1:5020", &format!("127.0.0.1:{port}"));
    simulate_then_serve(
        "modbus.toml",
        &config,
        &[("MS5__MODBUS__SERVER__PORT", port.to_string())],
    );
}

/// Runs `simulate` and `serve` on `config/<file>` (written from `text`) until the filler
/// has counted parts that came from the simulated PLC (60 s at most).
fn simulate_then_serve(file: &str, text: &str, env: &[(&str, String)]) {
    let dir = config_dir();
    let config = format!("config/{file}");
    std::fs::write(dir.path().join(&config), text).expect("write");
    let http = free_port();
    let spawn = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("MS5__HTTP__PORT", http.to_string())
            .env("MS5__HTTP__HOST", "127.0.0.1")
            .env("MS5__LOG__LEVEL", "warn")
            .env("MS5__SIMULATOR__SPEED", "20")
            .env("MS5__AUTH__JWT_SECRET", SECRET)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn")
    };
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    // A reader's account, and an access token for it signed with the served secret.
    const SECRET: &str = "secret-of-this-test-secret-of-this-test";
    let (code, text) = run_with_stdin(
        &[
            "--config",
            &config,
            "user",
            "add",
            "--username",
            "watcher",
            "--role",
            "operator",
        ],
        "watcher's long password\n",
        dir.path(),
    );
    assert_eq!(code, 0, "{text}");
    let now = chrono::Utc::now().timestamp();
    let token = ms5::auth::jwt::JwtKeys::new(SECRET.as_bytes(), "ms5", "ms5", 30)
        .sign(&ms5::auth::jwt::Claims {
            sub: "watcher".into(),
            uid: 1,
            role: ms5::domain::access::Role::Operator,
            lines: None,
            iss: "ms5".into(),
            aud: "ms5".into(),
            exp: now + 1800,
            nbf: now,
            iat: now,
            jti: "cli-test".into(),
            ver: 0,
        })
        .expect("sign");
    let _plc = Kill(spawn(&["--config", &config, "simulate"]));
    let _ms5 = Kill(spawn(&["--config", &config, "serve"]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", http)) else {
            continue;
        };
        use std::io::{Read, Write};
        let request =
            format!("GET /api/v1/machines/l1-filler HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
        let _ = s.write_all(request.as_bytes());
        last.clear();
        let _ = s.read_to_string(&mut last);
        let body = last.split("\r\n\r\n").nth(1).unwrap_or_default();
        let m: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let counted = m["windows"]["today"]["total"].as_i64().unwrap_or(0);
        if m["state"] != serde_json::json!("unknown") && counted > 0 {
            return;
        }
    }
    panic!("no data from the simulated PLC reached ms5 serve with {file} in 60 s; last answer: {last}");
}

#[test]
fn opcua_settings_are_validated_naming_the_key() {
    let dir = config_dir();
    let base = include_str!("../config/opcua.toml");
    let cases = [
        (
            base.replace("opc.tcp://127.0.0.1:4855/", "http://plc:4840/"),
            "opcua.endpoints[0].url: must be an opc.tcp:// URL",
        ),
        (
            base.replace("security_mode = \"none\" ", "security_mode = \"sign\" "),
            "opcua.endpoints[0].security_mode",
        ),
        (
            format!("{base}\n[opcua.endpoints.sampling]\n\"No.Such.Tag\" = \"1s\"\n"),
            "opcua.endpoints[0].sampling.No.Such.Tag: no such tag in the plant model",
        ),
        (
            base.replace("node_id = \"ns=2;s={tag}\"", "node_id = \"ns=2;s=Fixed\""),
            "opcua.endpoints[0].node_id: the template must contain {tag}",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(dir.path().join("config/opcua.toml"), &text).expect("write");
        let (code, out) = run(&["--config", "config/opcua.toml", "check-config"], &[], dir.path());
        assert_eq!(code, 2, "{want}: {out}");
        assert!(out.contains(want), "want {want:?} in {out}");
    }
}

#[test]
fn the_production_profile_refuses_example_short_and_missing_secrets() {
    let dir = config_dir();
    std::fs::write(
        dir.path().join("config/production.toml"),
        include_str!("../config/production.toml"),
    )
    .expect("write");
    let args = ["--config", "config/production.toml", "check-config"];
    let good = "a-real-secret-of-more-than-32-bytes-0123456789";
    type Case<'a> = (&'a [(&'a str, &'a str)], i32, &'a str);
    let cases: [Case; 4] = [
        (&[], 2, "auth.jwt_secret: is the example value"),
        (
            &[("MS5__AUTH__JWT_SECRET", "short")],
            2,
            "auth.jwt_secret: must be at least 32 bytes",
        ),
        (
            &[
                ("MS5__AUTH__JWT_SECRET", good),
                ("MS5__AUTH__INGEST_TOKEN", "CHANGE-ME-ingest-token-xxxxxx"),
            ],
            2,
            "auth.ingest_token: is the example value",
        ),
        (&[("MS5__AUTH__JWT_SECRET", good)], 0, "config/production.toml: ok"),
    ];
    for (env, code, want) in cases {
        let (got, text) = run(&args, env, dir.path());
        assert_eq!(got, code, "{env:?}: {text}");
        assert!(text.contains(want), "{env:?}: want {want:?} in {text}");
        assert!(!text.contains(good), "secrets are never printed: {text}");
    }
    // serve refuses the example secret before binding anything
    let (code, text) = run(&["--config", "config/production.toml", "serve"], &[], dir.path());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("auth.jwt_secret"), "{text}");
}

fn run_with_stdin(args: &[&str], stdin: &str, dir: &std::path::Path) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("MS5_CONFIG")
        .env("MS5__LOG__LEVEL", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
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

#[actix_web::test]
async fn user_add_and_passwd_take_the_password_from_stdin_and_store_only_a_hash() {
    let dir = config_dir();
    std::fs::create_dir(dir.path().join("data")).expect("mkdir");
    let first = "first password of ada";
    let (code, text) = run_with_stdin(
        &["user", "add", "--username", "ada", "--role", "admin"],
        &format!("{first}\n"),
        dir.path(),
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("created ada (admin)"), "{text}");
    assert!(!text.contains(first), "the password is not echoed: {text}");
    let (code, text) = run_with_stdin(
        &["user", "add", "--username", "ada", "--role", "operator"],
        "another password!\n",
        dir.path(),
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("user `ada` exists"), "{text}");
    let (code, text) = run_with_stdin(
        &[
            "user",
            "add",
            "--username",
            "bo",
            "--role",
            "operator",
            "--lines",
            "nope",
        ],
        "long enough password\n",
        dir.path(),
    );
    assert_eq!(code, 1);
    assert!(text.contains("no line `nope`"), "{text}");
    let (code, text) = run_with_stdin(
        &["user", "add", "--username", "cy", "--role", "operator"],
        "short\n",
        dir.path(),
    );
    assert_eq!(code, 1);
    assert!(text.contains("at least 12 characters"), "{text}");
    let (code, text) = run_with_stdin(
        &["user", "passwd", "--username", "nobody"],
        "long enough password\n",
        dir.path(),
    );
    assert_eq!(code, 1);
    assert!(text.contains("no user `nobody`"), "{text}");
    // A password is never an argument.
    let (code, _) = run(
        &["user", "add", "--username", "eve", "--role", "admin", "--password", "x"],
        &[],
        dir.path(),
    );
    assert_eq!(code, 2, "clap refuses --password");

    let second = "second password of ada";
    let (code, text) = run_with_stdin(
        &["user", "passwd", "--username", "ada"],
        &format!("{second}\n"),
        dir.path(),
    );
    assert_eq!(code, 0, "{text}");
    let store = ms5::store::Store::connect(&format!("sqlite://{}/data/ms5.db", dir.path().display()))
        .await
        .expect("store");
    let (user, hash) = store.user_with_hash("ada").await.expect("query").expect("ada exists");
    assert_eq!(user.role, ms5::domain::access::Role::Admin);
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(ms5::auth::password::verify(second, &hash));
    assert!(!ms5::auth::password::verify(first, &hash));
    assert_eq!(store.user_count().await.expect("count"), 1, "nothing else was created");
}

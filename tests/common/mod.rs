//! Test harness: starts MS5 on a random port with a temporary database and a manual clock,
//! and talks to it over real HTTP and WebSockets. The database is SQLite in the test's
//! directory, or with `MS5_TEST_STORE=postgres` a PostgreSQL database of its own on the
//! server `MS5_TEST_POSTGRES_URL` names (see [`store_url`]).
#![allow(dead_code)]

pub mod nginx;
pub mod node;
pub mod pager;
pub mod private_postgres;
pub mod redis;
pub mod stores;
pub mod tools;
pub mod ws;

use std::path::Path;

use figment::Figment;
use figment::providers::Serialized;
use ms5::actors::plant::PlantHandle;
use ms5::clock::Clock;
use ms5::config::Config;
use ms5::domain::access::Role;
use ms5::startup::{Application, Stopper};
use serde_json::Value;
use tempfile::TempDir;

/// A plant with one shift 06:00-14:00 UTC and two 30-minute breaks (60 min planned stop).
pub const TEST_PLANT: &str = r#"
timezone = "UTC"
microstop_threshold = "2m"
stale_after = "30s"

[[shifts]]
name = "day"
start = "06:00"
end = "14:00"
breaks = [{ start = "09:00", end = "09:30" }, { start = "12:00", end = "12:30" }]

[[lines]]
id = "line-a"
name = "Line A"
output_machine = "a-filler"
constraint_machine = "a-filler"

[[lines.machines]]
id = "a-filler"
name = "Filler"
ideal_cycle_time = "1s"
fault_codes = { 7 = "jam" }
tags = { state = { tag = "A.Filler.State" }, total = { tag = "A.Filler.Total", width = 32 }, reject = { tag = "A.Filler.Reject", width = 32 }, fault_code = "A.Filler.Fault" }

[[lines.machines]]
id = "a-packer"
name = "Packer"
ideal_cycle_time = "2s"
tags = { running = "A.Packer.Run", fault = "A.Packer.Fault", good = { tag = "A.Packer.Good", width = 16 }, reject = { tag = "A.Packer.Reject", width = 16 } }
"#;

/// A second line for [`TEST_PLANT`]: one press with total and reject counters.
pub const LINE_B: &str = r#"
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

/// [`TEST_PLANT`] with [`LINE_B`].
pub fn two_line_plant() -> String {
    format!("{TEST_PLANT}{LINE_B}")
}

/// 2026-03-02 (a Monday) at 00:00 UTC, in ms.
pub const DAY: i64 = 1_772_409_600_000;
/// One minute, ms.
pub const MIN: i64 = 60_000;

/// A running service for one test.
/// The JWT secret of test apps (tests forge tokens with it and with others).
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
/// Password of every user tests create.
pub const TEST_PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    /// http://127.0.0.1:PORT
    pub base: String,
    /// ws://127.0.0.1:PORT/ws
    pub ws_url: String,
    /// Access token of `root`, an admin, when the app started (see [`TestApp::admin`]).
    pub token: String,
    /// `root`.
    pub root: ms5::store::User,
    /// Sign-in and credentials.
    pub auth: std::sync::Arc<ms5::auth::Auth>,
    users: std::sync::Mutex<std::collections::HashMap<String, ms5::store::User>>,
    /// The plant actors.
    pub plant: PlantHandle,
    /// The manual clock.
    pub clock: Clock,
    /// Stops the service.
    pub stopper: Stopper,
    /// The store.
    pub store: ms5::store::Store,
    /// The shift reporter (send it `CheckShifts` after moving the clock past a shift end).
    pub reporter: actix::Addr<ms5::actors::report::ShiftReporter>,
    /// HTTP client.
    pub client: awc::Client,
    /// This process as a replica (`cluster.enabled`): run its lease rounds after moving
    /// the clock.
    pub replica: Option<ms5::cluster::replica::Replica>,
}

/// Options for [`spawn_app`].
pub struct Spawn<'a> {
    /// Plant model TOML.
    pub plant: &'a str,
    /// Directory for config and database (kept by the caller to restart on the same data).
    pub dir: &'a Path,
    /// Wall clock.
    pub clock: Clock,
    /// Run the simulator.
    pub simulator: bool,
    /// Extra settings merged last (e.g. `{"pager": {...}}`).
    pub settings: Value,
}

/// Writes the configuration into `dir` and starts the service.
pub async fn spawn_app(opts: Spawn<'_>) -> TestApp {
    std::fs::write(opts.dir.join("plant.toml"), opts.plant).expect("write plant");
    let default = include_str!("../../config/default.toml");
    let config_path = opts.dir.join("ms5.toml");
    std::fs::write(&config_path, default).expect("write config");
    let overrides = Figment::new()
        .merge(Serialized::defaults(serde_json::json!({
            "http": { "host": "127.0.0.1", "port": 0 },
            "store": { "url": store_url(opts.dir).await, "flush_interval": "50ms" },
            "simulator": { "enabled": opts.simulator, "step": "100ms", "speed": 1.0 },
            "websocket": { "coalesce": "0ms", "heartbeat": "1s", "idle_timeout": "5s" },
            "log": { "level": "warn" },
            "auth": { "jwt_secret": TEST_JWT_SECRET },
            "pager": { "timeout": "2s", "backoff_base": "10ms", "backoff_max": "50ms", "max_attempts": 5 },
        })))
        .merge(Serialized::defaults(opts.settings));
    let config = Config::load_with(Some(&config_path), overrides).expect("test config is valid");
    let app = Application::build(config, opts.clock.clone())
        .await
        .expect("app starts");
    let port = app.port();
    let plant = app.plant().clone();
    let stopper = app.stopper();
    let store = app.store().clone();
    let auth = app.auth().clone();
    let reporter = app.reporter().clone();
    let replica = app.replica().cloned();
    actix_rt::spawn(app.run_until_stopped(false));
    let root = make_user(&store, "root", Role::Admin, None, opts.clock.now_ms()).await;
    let token = auth.access_token(&root).expect("token");
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        ws_url: format!("ws://127.0.0.1:{port}/ws"),
        token,
        root,
        auth,
        users: Default::default(),
        plant,
        clock: opts.clock,
        stopper,
        store,
        reporter,
        client: awc::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish(),
        replica,
    }
}

/// Whether the tests run on PostgreSQL (`MS5_TEST_STORE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("MS5_TEST_STORE").is_ok_and(|s| s == "postgres")
}

/// The store URL for a test whose data lives in `dir`: `sqlite://dir/ms5.db`, or on
/// PostgreSQL a database named after `dir`, created when missing (so a restart on the same
/// directory finds its data).
pub async fn store_url(dir: &Path) -> String {
    if !on_postgres() {
        return format!("sqlite://{}/ms5.db", dir.display());
    }
    let server = std::env::var("MS5_TEST_POSTGRES_URL")
        .expect("MS5_TEST_STORE=postgres needs MS5_TEST_POSTGRES_URL (scripts/test.sh sets both)");
    postgres_database(&server, &format!("{}", dir.display())).await
}

/// A database on the PostgreSQL server at `server` (an admin URL) named after `key`,
/// created when missing; returns its URL.
pub async fn postgres_database(server: &str, key: &str) -> String {
    use sqlx::Connection;
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    let name = format!("ms5_test_{:016x}", hasher.finish());
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .expect("connect to the test PostgreSQL");
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .expect("pg_database");
    if !exists {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create database");
    }
    let _ = admin.close().await;
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{name}")
}

/// A fresh temporary directory.
/// The argon2id hash of [`TEST_PASSWORD`], made once per test binary.
pub fn test_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| ms5::auth::password::hash(TEST_PASSWORD).expect("hash"))
}

/// Stores a user with [`TEST_PASSWORD`].
pub async fn make_user(
    store: &ms5::store::Store,
    name: &str,
    role: Role,
    lines: Option<Vec<String>>,
    now: i64,
) -> ms5::store::User {
    if let Some((user, _)) = store.user_with_hash(name).await.expect("store") {
        return user;
    }
    store
        .insert_user(name, test_hash(), role, &lines, now)
        .await
        .expect("user")
}

pub fn temp() -> TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Starts `plant` (no simulator) with a manual clock at `now` and extra `settings`.
pub async fn spawn_plant_at(dir: &Path, plant: &str, now: i64, settings: Value) -> TestApp {
    spawn_app(Spawn {
        plant,
        dir,
        clock: Clock::manual(now),
        simulator: false,
        settings,
    })
    .await
}

/// Starts the test plant (no simulator) with a manual clock at `now`.
pub async fn spawn_test_plant(dir: &Path, now: i64) -> TestApp {
    spawn_app(Spawn {
        plant: TEST_PLANT,
        dir,
        clock: Clock::manual(now),
        simulator: false,
        settings: serde_json::json!({}),
    })
    .await
}

/// Escalation policy, auto-raise rule and pager targets on the recording server at `pager`:
/// maintenance/high pages generic + slack after 5 min (L1), PagerDuty after 15 min (L2),
/// and generic again 30 min after acknowledgement (resolve deadline, L3); quality tickets
/// page a flaky, a hanging and a healthy endpoint.
pub fn andon_plant(pager: &str) -> String {
    format!(
        r#"{TEST_PLANT}
[andon]
reasons = {{ mechanical = ["belt", "bearing"], electrical = ["sensor"], other = [] }}

[[andon.targets]]
name = "generic"
kind = "generic"
url = "{pager}/ok/generic"
secret = "test-secret"

[[andon.targets]]
name = "slack"
kind = "slack"
url = "{pager}/ok/slack"

[[andon.targets]]
name = "pd"
kind = "pagerduty"
url = "{pager}/pd/enqueue"
routing_key = "R0UT1NGKEY"

[[andon.targets]]
name = "flaky"
kind = "slack"
url = "{pager}/flaky/hook"

[[andon.targets]]
name = "hang"
kind = "slack"
url = "{pager}/hang/hook"

[[andon.targets]]
name = "healthy"
kind = "slack"
url = "{pager}/ok/healthy"

[[andon.policies]]
category = "maintenance"
levels = [{{ after = "5m", targets = ["generic", "slack"] }}, {{ after = "15m", targets = ["pd"] }}]
resolve_deadline = {{ after = "30m", targets = ["generic"] }}

[[andon.policies]]
category = "quality"
levels = [{{ after = "1m", targets = ["flaky", "hang", "healthy"] }}]

[[andon.auto_raise]]
machine = "a-filler"
after = "5m"
category = "maintenance"
priority = "high"
"#
    )
}

impl TestApp {
    /// A fresh access token of `root` (the manual clock may have moved past the first one).
    pub fn admin(&self) -> String {
        self.auth.access_token(&self.root).expect("token")
    }

    /// A fresh access token for `name`, a supervisor made on first use (tickets and
    /// classifications then carry that name).
    pub async fn token_for(&self, name: &str) -> String {
        let known = self.users.lock().expect("lock").get(name).cloned();
        let user = match known {
            Some(u) => u,
            None => {
                let u = make_user(&self.store, name, Role::Supervisor, None, self.clock.now_ms()).await;
                self.users.lock().expect("lock").insert(name.to_owned(), u.clone());
                u
            }
        };
        self.auth.access_token(&user).expect("token")
    }

    /// An access token for a new user with `role` and `lines`.
    pub async fn token_with(&self, name: &str, role: Role, lines: Option<Vec<String>>) -> String {
        let user = make_user(&self.store, name, role, lines, self.clock.now_ms()).await;
        self.auth.access_token(&user).expect("token")
    }

    /// Any request, with an optional bearer token and JSON body.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        let mut res = match body {
            Some(b) => req
                .insert_header(("Content-Type", "application/json"))
                .send_body(b.to_string())
                .await
                .expect("request"),
            None => req.send().await.expect("request"),
        };
        let status = res.status().as_u16();
        let bytes = res.body().limit(16 << 20).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// GET with a token.
    pub async fn get_as(&self, path: &str, token: &str) -> (u16, Value) {
        self.call("GET", path, Some(token), None).await
    }

    /// POST JSON with a token.
    pub async fn post_as(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// GET as the admin → (status, body bytes).
    async fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let mut res = self
            .client
            .get(format!("{}{path}", self.base))
            .insert_header(("Authorization", format!("Bearer {}", self.admin())))
            .send()
            .await
            .expect("GET");
        let status = res.status().as_u16();
        let body = res.body().limit(16 << 20).await.expect("body");
        (status, body.to_vec())
    }

    /// GET → (status, JSON body).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (status, body) = self.get_bytes(path).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// GET → (status, text body).
    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let (status, body) = self.get_bytes(path).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// POST raw body with JSON content type → (status, JSON body).
    pub async fn post_raw(&self, path: &str, body: impl Into<Vec<u8>>) -> (u16, Value) {
        let mut res = self
            .client
            .post(format!("{}{path}", self.base))
            .insert_header(("Authorization", format!("Bearer {}", self.admin())))
            .insert_header(("Content-Type", "application/json"))
            .send_body(body.into())
            .await
            .expect("POST");
        let status = res.status().as_u16();
        let body = res.body().limit(16 << 20).await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// POST JSON → (status, JSON body).
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, body.to_string()).await
    }

    /// Ingests samples `(tag, value, ts_ms)` and returns the report.
    pub async fn ingest(&self, samples: &[(&str, Value, i64)]) -> Value {
        let body: Vec<Value> = samples
            .iter()
            .map(|(tag, value, ts)| serde_json::json!({ "tag": tag, "value": value, "ts": ts }))
            .collect();
        let (status, report) = self.post("/api/v1/ingest", &Value::Array(body)).await;
        assert_eq!(status, 200, "ingest failed: {report}");
        report
    }

    /// A machine's figures for a live window.
    pub async fn machine_window(&self, machine: &str, window: &str) -> Value {
        let (status, body) = self.get(&format!("/api/v1/machines/{machine}")).await;
        assert_eq!(status, 200, "{body}");
        body["windows"][window].clone()
    }
}

/// An RFC 3339 instant.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Rounds a ratio to a percentage with two decimals.
pub fn pct(v: &Value) -> Option<f64> {
    v.as_f64().map(|x| (x * 10_000.0).round() / 100.0)
}

/// Wall-clock now, in ms (for tests on the system clock).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Polls a machine until `check` holds (20 s at most), returning the last snapshot.
pub async fn until_machine(app: &TestApp, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..1000 {
        last = app.get(&format!("/api/v1/machines/{id}")).await.1;
        if check(&last) {
            return last;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{what}: last snapshot {last}");
}

/// The first `/metrics` line that starts with `needle`.
pub async fn metric_line(app: &TestApp, needle: &str) -> Option<String> {
    let text = app.get_text("/metrics").await.1;
    text.lines().find(|l| l.starts_with(needle)).map(str::to_owned)
}

/// Polls `/metrics` until a line starts with `needle` (20 s at most).
pub async fn until_metric(app: &TestApp, needle: &str) {
    for _ in 0..1000 {
        if metric_line(app, needle).await.is_some() {
            return;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("metric never showed {needle}");
}

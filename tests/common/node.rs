//! A real `ms5` process for tests: its folder (configuration, plant, database, log), its
//! port and environment, started with `ms5 serve` and stopped (SIGTERM, waited for) however
//! the test ends.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_ms5");
const JWT: &str = "node-test-secret-node-test-secret-0123456789";
/// The password of the admin `root` ([`Node::add_admin`]).
pub const PASSWORD: &str = "correct horse battery staple";

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process stopped (SIGTERM, then waited for) however the test ends.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: kill has no memory preconditions; pid is our own child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = self.0.wait();
    }
}

/// One MS5: its folder (config, plant, database, log) and port.
pub struct Node {
    /// Its folder.
    pub dir: PathBuf,
    /// Its HTTP port.
    pub port: u16,
    env: Vec<(String, String)>,
}

impl Node {
    pub fn new(dir: &Path, plant: &str, env: &[(&str, String)]) -> Node {
        std::fs::create_dir_all(dir).expect("dir");
        std::fs::write(dir.join("ms5.toml"), include_str!("../../config/default.toml")).expect("config");
        std::fs::write(dir.join("plant.toml"), plant).expect("plant");
        let port = free_port();
        let mut all: Vec<(String, String)> = vec![
            ("MS5__HTTP__PORT".into(), port.to_string()),
            ("MS5__STORE__URL".into(), format!("sqlite://{}/ms5.db", dir.display())),
            ("MS5__STORE__FLUSH_INTERVAL".into(), "50ms".into()),
            ("MS5__SIMULATOR__ENABLED".into(), "false".into()),
            ("MS5__AUTH__JWT_SECRET".into(), JWT.into()),
            ("MS5__LOG__LEVEL".into(), "warn,ms5=info".into()),
        ];
        all.extend(env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        Node {
            dir: dir.to_path_buf(),
            port,
            env: all,
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config")
            .arg(self.dir.join("ms5.toml"))
            .args(args)
            .env_remove("MS5_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// `ms5 user add` an admin `root`.
    pub fn add_admin(&self) {
        use std::io::Write;
        let mut child = self
            .command(&["user", "add", "--username", "root", "--role", "admin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ms5 user add");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .expect("password");
        let out = child.wait_with_output().expect("user add");
        assert!(
            out.status.success(),
            "user add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `ms5 serve`, its log in `serve.log`; returns once it answers `/health`.
    pub async fn serve(&self) -> Proc {
        let log = std::fs::File::create(self.dir.join("serve.log")).expect("log");
        let child = self
            .command(&["serve"])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("ms5 serve");
        let mut proc = Proc(child);
        let client = awc::Client::default();
        for _ in 0..600 {
            if let Ok(Some(status)) = proc.0.try_wait() {
                panic!("ms5 serve exited: {status}\n{}", self.log());
            }
            if let Ok(res) = client.get(format!("{}/health", self.base())).send().await
                && res.status().is_success()
            {
                return proc;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("ms5 serve did not come up\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join("ms5.db")
    }

    pub async fn call(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
        let client = awc::Client::builder().timeout(Duration::from_secs(20)).finish();
        let req = client
            .request(method.parse().expect("method"), format!("{}{path}", self.base()))
            .bearer_auth(token);
        let mut res = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        }
        .expect("request");
        let bytes = res.body().limit(64 << 20).await.expect("body");
        (
            res.status().as_u16(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn login(&self) -> String {
        let (status, body) = self
            .call(
                "POST",
                "/api/v1/auth/login",
                "",
                Some(&json!({ "username": "root", "password": PASSWORD })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    pub async fn metric(&self, name: &str) -> f64 {
        let client = awc::Client::default();
        let mut res = client
            .get(format!("{}/metrics", self.base()))
            .send()
            .await
            .expect("metrics");
        let text = String::from_utf8(res.body().limit(16 << 20).await.expect("body").to_vec()).expect("utf8");
        text.lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

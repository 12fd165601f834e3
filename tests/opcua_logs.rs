//! What `ms5 serve` logs and counts about its OPC UA source, from the real binaries: `ms5
//! simulate` as the PLC in one process, `ms5 serve` subscribed to it in another, with the
//! shipped `config/opcua.toml` and their output written to files, as a service manager
//! keeps it.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ms5");
const JWT_SECRET: &str = "secret-of-this-test-secret-of-this-test";
const METRICS_TOKEN: &str = "metrics-token-of-this-test-0123456789";
/// Every retry of the client shows at DEBUG (`info` alone shows none).
const RETRIES_VISIBLE: &str = "info,ms5::plc=debug";
const CONNECTED: &str = "OPC UA connected";
const RECONNECTED: &str = "OPC UA reconnected";
const RETRY_FAILED: &str = "OPC UA retry failed";
const RECONNECTS: &str = r#"ms5_plc_reconnects_total{kind="opcua",endpoint="simulated-plc"}"#;
const NOTIFICATIONS: &str = r#"ms5_plc_values_total{kind="opcua",endpoint="simulated-plc"}"#;
const UP: &str = r#"ms5_plc_connected{kind="opcua",endpoint="simulated-plc"}"#;

/// A process killed when the test ends, however it ends.
struct Running(Child);

impl Running {
    /// Ends it at once, as a PLC that loses power.
    fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory with the OPC UA example configuration on free ports and a first admin (so
/// the start is the healthy start of an installed service).
struct Site {
    dir: TempDir,
    opc: u16,
    http: u16,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("config")).expect("mkdir");
        let (opc, http) = (free_port(), free_port());
        let config = include_str!("../config/opcua.toml")
            .replace("port = 4855", &format!("port = {opc}"))
            .replace("opc.tcp://127.0.0.1:4855/", &format!("opc.tcp://127.0.0.1:{opc}/"));
        std::fs::write(dir.path().join("config/opcua.toml"), config).expect("write");
        std::fs::write(
            dir.path().join("config/plant.toml"),
            include_str!("../config/plant.toml"),
        )
        .expect("write");
        let site = Site { dir, opc, http };
        let mut add = site
            .command(&["user", "add", "--username", "admin", "--role", "admin"], None)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        add.stdin
            .take()
            .expect("stdin")
            .write_all(b"the admin's long password\n")
            .expect("write stdin");
        let out = add.wait_with_output().expect("wait");
        assert!(out.status.success(), "user add: {out:?}");
        site
    }

    /// `ms5 --config config/opcua.toml <args>` in the site, with nothing of the test's own
    /// environment that would change its settings or colours.
    fn command(&self, args: &[&str], level: Option<&str>) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(["--config", "config/opcua.toml"])
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("MS5_CONFIG")
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("MS5__") {
                cmd.env_remove(key);
            }
        }
        cmd.env("MS5__HTTP__HOST", "127.0.0.1")
            .env("MS5__HTTP__PORT", self.http.to_string())
            .env("MS5__AUTH__JWT_SECRET", JWT_SECRET)
            .env("MS5__AUTH__METRICS_TOKEN", METRICS_TOKEN);
        if let Some(level) = level {
            cmd.env("MS5__LOG__LEVEL", level);
        }
        cmd
    }

    /// Starts `ms5 <what>` with stdout and stderr appended to `<what>.log`.
    fn start(&self, what: &str, level: Option<&str>) -> Running {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path(what))
            .expect("log file");
        let err = log.try_clone().expect("log file");
        let child = self
            .command(&[what], level)
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn");
        Running(child)
    }

    fn log_path(&self, what: &str) -> PathBuf {
        self.dir.path().join(format!("{what}.log"))
    }

    /// The log as written.
    fn raw_log(&self, what: &str) -> String {
        std::fs::read_to_string(self.log_path(what)).unwrap_or_default()
    }

    /// The log as text (colour codes, if any, removed: they have their own test).
    fn log(&self, what: &str) -> String {
        plain(&self.raw_log(what))
    }

    /// A metric's value from `GET /metrics` (with the metrics token), if it is there.
    fn metric(&self, series: &str) -> Option<f64> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.http)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let request = format!("GET /metrics HTTP/1.0\r\nHost: ms5\r\nAuthorization: Bearer {METRICS_TOKEN}\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        answer
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
    }

    /// Waits (20 s at most) until `check` holds; polls, no fixed sleeps.
    fn until(&self, what: &str, mut check: impl FnMut(&Site) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{what}: not within 20 s\n--- serve.log\n{}\n--- simulate.log\n{}",
            self.log("serve"),
            self.log("simulate")
        );
    }

    /// Starts `ms5 simulate` and waits until it serves, so the first connection succeeds.
    fn start_plc(&self) -> Running {
        let plc = self.start("simulate", None);
        self.until("the PLC serves", |s| {
            s.log("simulate").contains("simulated PLC serving")
        });
        plc
    }

    /// Waits until data flows and keeps flowing: the subscription is set up, and whatever
    /// the start logs has been logged.
    fn until_data_flows(&self) {
        self.until("data flows", |s| s.metric(NOTIFICATIONS).unwrap_or(0.0) > 0.0);
        let seen = self.metric(NOTIFICATIONS).unwrap_or(0.0);
        self.until("data keeps flowing", |s| s.metric(NOTIFICATIONS).unwrap_or(0.0) > seen);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// Text without ANSI colour sequences (`ESC [ … m`).
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("\x1b[") {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = rest.find('m').map_or("", |end| &rest[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// The level of a text log line (`<time>  WARN target: message`).
fn level(line: &str) -> &str {
    line.split_whitespace().nth(1).unwrap_or_default()
}

fn lines_at<'a>(log: &'a str, levels: &[&str]) -> Vec<&'a str> {
    log.lines().filter(|l| levels.contains(&level(l))).collect()
}

fn lines_with<'a>(log: &'a str, text: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(text)).collect()
}

fn assert_no_colour(site: &Site) {
    for what in ["serve", "simulate"] {
        let log = site.raw_log(what);
        assert!(!log.contains("\x1b["), "ANSI escapes in {what}.log:\n{log}");
    }
}

#[test]
fn a_healthy_start_logs_one_connected_line_and_no_warning() {
    let site = Site::new();
    let _plc = site.start_plc();
    let _ms5 = site.start("serve", None);
    site.until_data_flows();

    let serve = site.log("serve");
    assert_eq!(lines_at(&serve, &["WARN", "ERROR"]), Vec::<&str>::new(), "{serve}");
    let simulate = site.log("simulate");
    assert_eq!(
        lines_at(&simulate, &["WARN", "ERROR"]),
        Vec::<&str>::new(),
        "{simulate}"
    );
    let connected = lines_with(&serve, CONNECTED);
    assert_eq!(connected.len(), 1, "{serve}");
    assert_eq!(level(connected[0]), "INFO");
    let url = format!("url=\"opc.tcp://127.0.0.1:{}/\"", site.opc);
    assert!(connected[0].contains(&url), "{}", connected[0]);
    assert!(lines_with(&serve, RECONNECTED).is_empty(), "{serve}");
    assert_eq!(site.metric(RECONNECTS), Some(0.0), "no retry on a healthy start");
    assert_no_colour(&site);
}

#[test]
fn each_retry_while_the_plc_is_away_is_counted_and_the_loss_is_logged_once() {
    let site = Site::new();
    let plc = site.start_plc();
    let _ms5 = site.start("serve", Some(RETRIES_VISIBLE));
    site.until_data_flows();
    assert_eq!(site.metric(RECONNECTS), Some(0.0));

    plc.kill();
    site.until("down", |s| s.metric(UP) == Some(0.0));
    // The client retries at 0, 0.5, 1.5, 3.5 s… after the loss: the count follows each one.
    let mut seen = Vec::new();
    site.until("three retries counted", |s| {
        let n = s.metric(RECONNECTS).unwrap_or(0.0);
        if seen.last() != Some(&n) {
            seen.push(n);
        }
        n >= 3.0
    });
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert!(lines_with(&site.log("serve"), RECONNECTED).is_empty());

    let _plc = site.start("simulate", None);
    site.until("reconnected", |s| s.log("serve").contains(RECONNECTED));
    site.until_data_flows();

    let serve = site.log("serve");
    // one line per change: connected, lost (the only warning), reconnected
    let connected = lines_with(&serve, CONNECTED);
    let reconnected = lines_with(&serve, RECONNECTED);
    assert_eq!((connected.len(), reconnected.len()), (1, 1), "{serve}");
    let position = |line: &str| serve.find(line).unwrap_or(usize::MAX);
    assert!(position(connected[0]) < position(reconnected[0]), "{serve}");
    assert_eq!(level(reconnected[0]), "INFO");
    let warnings = lines_at(&serve, &["WARN", "ERROR"]);
    assert_eq!(warnings.len(), 1, "{serve}");
    assert!(warnings[0].contains("OPC UA connection lost"), "{serve}");
    // every attempt counted: the failed ones (each at DEBUG) and the one that made it
    let failed = lines_with(&serve, RETRY_FAILED);
    assert!(failed.iter().all(|l| level(l) == "DEBUG"), "{serve}");
    assert!(failed.len() >= 3, "{serve}");
    let attempts = failed.len() + 1;
    assert_eq!(site.metric(RECONNECTS), Some(attempts as f64), "{serve}");
    assert!(
        reconnected[0].contains(&format!("retries={attempts}")),
        "{}",
        reconnected[0]
    );
    assert_eq!(site.metric(UP), Some(1.0));
    assert_no_colour(&site);
}

#[test]
fn a_plc_away_at_start_is_reported_once_and_then_connected() {
    let site = Site::new();
    let _ms5 = site.start("serve", Some(RETRIES_VISIBLE));
    site.until("two retries counted", |s| s.metric(RECONNECTS).unwrap_or(0.0) >= 2.0);
    let _plc = site.start("simulate", None);
    site.until_data_flows();

    let serve = site.log("serve");
    let warnings = lines_at(&serve, &["WARN", "ERROR"]);
    assert_eq!(warnings.len(), 1, "{serve}");
    assert!(warnings[0].contains("OPC UA endpoint unavailable"), "{serve}");
    let connected = lines_with(&serve, CONNECTED);
    assert_eq!(connected.len(), 1, "{serve}");
    assert!(lines_with(&serve, RECONNECTED).is_empty(), "{serve}");
    // the first attempt is not a retry; each one after it is counted
    let retries = lines_with(&serve, RETRY_FAILED).len() + 1;
    assert_eq!(site.metric(RECONNECTS), Some(retries as f64), "{serve}");
    assert!(connected[0].contains(&format!("retries={retries}")), "{}", connected[0]);
    assert_no_colour(&site);
}

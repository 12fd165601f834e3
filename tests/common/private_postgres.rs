//! A private PostgreSQL server for one test, which the test can stop and start again on the
//! same port and data (an outage). Debian's postgresql package (scripts/test.sh installs it);
//! as root the server runs as the package's `postgres` user. `None` (skipped) without the
//! package, unless `MS5_REQUIRE_POSTGRES` is set.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::node::free_port;

/// The server.
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

impl PrivatePostgres {
    /// An initialised, running server.
    pub fn start() -> Option<PrivatePostgres> {
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var_os("MS5_REQUIRE_POSTGRES").is_none(),
                "MS5_REQUIRE_POSTGRES is set but Debian's postgresql is not installed"
            );
            eprintln!("skipping: postgresql is not installed");
            return None;
        };
        let dir = tempfile::Builder::new().prefix("ms5-pg-").tempdir().expect("temp dir");
        let pg = PrivatePostgres {
            bin,
            dir,
            port: free_port(),
        };
        if is_root() {
            let ok = Command::new("chown")
                .args(["postgres"])
                .arg(pg.dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown the data folder to postgres");
        }
        let data = pg.dir.path().join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
        );
        pg.up();
        Some(pg)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts it (again) and waits until it accepts connections.
    pub fn up(&self) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-s",
                "-o",
                &options,
                "start",
            ],
        );
    }

    /// Stops it (fast shutdown: sessions are cut).
    pub fn down(&self) {
        let data = self.dir.path().join("data");
        self.run(
            "pg_ctl",
            &["-D", &data.to_string_lossy(), "-m", "fast", "-w", "-s", "stop"],
        );
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let exe = self.bin.join("pg_ctl");
        let args = ["-D", &data.to_string_lossy(), "-m", "immediate", "-w", "-s", "stop"].map(str::to_owned);
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(&args)
                .output()
        } else {
            Command::new(&exe).args(&args).output()
        };
    }
}

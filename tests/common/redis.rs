//! A private `redis-server` for a test, on a free loopback port, with no persistence
//! (`--save ''`), which the test can stop and start again on the same port. Skipped
//! (`None`) when Debian's redis-server is not installed, unless `MS5_REQUIRE_REDIS` is set
//! (scripts/test.sh installs it).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::node::free_port;

/// The server.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

fn binary() -> Option<&'static str> {
    ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

impl RedisServer {
    /// A running server, or `None` when redis-server is missing (and not required).
    pub fn start() -> Option<RedisServer> {
        if binary().is_none() {
            assert!(
                std::env::var_os("MS5_REQUIRE_REDIS").is_none(),
                "MS5_REQUIRE_REDIS is set but redis-server is not installed (scripts/test.sh installs it)"
            );
            eprintln!("skipping: redis-server is not installed");
            return None;
        }
        let mut server = RedisServer {
            port: free_port(),
            child: None,
        };
        server.up();
        Some(server)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on its port and waits until it answers PING.
    pub fn up(&mut self) {
        assert!(self.child.is_none(), "already running");
        let bin = binary().expect("redis-server");
        let child = Command::new(bin)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.pong() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not answer within 10 s", self.port);
    }

    /// Kills it (SIGKILL): connections drop, and whatever it held is gone.
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn pong(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.down();
    }
}

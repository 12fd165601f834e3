//! `ms5 serve` under systemd's notify protocol: READY=1 once it serves, then WATCHDOG=1 at
//! half of WATCHDOG_USEC, sent to the NOTIFY_SOCKET this test listens on.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{TEST_PLANT, temp};

#[test]
fn serve_tells_systemd_it_is_ready_and_feeds_the_watchdog() {
    let dir = temp();
    std::fs::write(dir.path().join("plant.toml"), TEST_PLANT).expect("plant");
    std::fs::write(dir.path().join("ms5.toml"), include_str!("../config/default.toml")).expect("config");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    socket.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ms5"))
        .arg("--config")
        .arg(dir.path().join("ms5.toml"))
        .arg("serve")
        .env("MS5__STORE__URL", format!("sqlite://{}/ms5.db", dir.path().display()))
        .env("MS5__HTTP__PORT", "0")
        .env("MS5__SIMULATOR__ENABLED", "false")
        .env("MS5__LOG__LEVEL", "warn")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start ms5");
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while seen.iter().filter(|s| *s == "WATCHDOG=1").count() < 2 {
        match socket.recv(&mut buf) {
            Ok(n) => seen.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e) => {
                let _ = child.kill();
                panic!("no notification ({e}); seen so far: {seen:?}");
            }
        }
    }
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().expect("wait");
    assert_eq!(seen.first().map(String::as_str), Some("READY=1"), "{seen:?}");
    assert!(seen[1..].iter().all(|s| s == "WATCHDOG=1"), "{seen:?}");
    assert!(status.success(), "a clean stop on SIGTERM: {status}");
}

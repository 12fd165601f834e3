//! systemd's notify protocol (`Type=notify`, `WatchdogSec=`): `READY=1` once the server is
//! bound and the plant runs, then `WATCHDOG=1` while every plant actor answers, so systemd
//! restarts a process that hangs without exiting. Without `NOTIFY_SOCKET` (not under
//! systemd) nothing is sent.

use std::time::Duration;

use crate::actors::plant::PlantHandle;

/// How often to ping systemd's watchdog: half the `WATCHDOG_USEC` it set, when the variable is
/// meant for this process (`WATCHDOG_PID` unset or ours) and is a positive number.
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(me)
    {
        return None;
    }
    let usec = usec?.trim().parse::<u64>().ok().filter(|&u| u > 0)?;
    Some(Duration::from_micros(usec / 2))
}

/// Sends one notification (`READY=1`, `WATCHDOG=1`, `STOPPING=1`) to `$NOTIFY_SOCKET`, if set.
pub fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send(&socket, state) {
        tracing::warn!(error = %e, state, "cannot notify systemd");
    }
}

fn send(socket: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::UnixDatagram;
    let out = UnixDatagram::unbound()?;
    let bytes = socket.as_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        // An abstract socket (systemd's default for user services in containers).
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        out.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        out.send_to(state.as_bytes(), std::path::Path::new(socket))?;
    }
    Ok(())
}

/// Says `READY=1`, and keeps the watchdog fed while the plant's actors answer.
pub fn ready(plant: PlantHandle) {
    notify("READY=1");
    let every = watchdog_interval(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    );
    let Some(every) = every else { return };
    actix_rt::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            // A plant that does not answer within the interval misses a ping; two missed in a
            // row and systemd restarts MS5.
            match tokio::time::timeout(every, plant.actors_up()).await {
                Ok(true) => notify("WATCHDOG=1"),
                _ => tracing::warn!("plant actors are not answering; the systemd watchdog is not fed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_pings_at_half_its_timeout_when_it_is_ours() {
        // (WATCHDOG_USEC, WATCHDOG_PID, our pid, interval)
        let table = [
            (Some("20000000"), None, 7, Some(Duration::from_secs(10))),
            (Some("20000000"), Some("7"), 7, Some(Duration::from_secs(10))),
            (Some("20000000"), Some("8"), 7, None), // meant for another process
            (Some("0"), None, 7, None),
            (Some("soon"), None, 7, None),
            (None, Some("7"), 7, None),
            (Some(" 3000000 "), None, 7, Some(Duration::from_millis(1500))),
        ];
        for (usec, pid, me, want) in table {
            assert_eq!(watchdog_interval(usec, pid, me), want, "{usec:?} {pid:?}");
        }
    }
}

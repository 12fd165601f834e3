//! The one summary a run prints (and writes as JSON for scripts), and the arithmetic
//! behind it. Pure: the run hands in what it counted.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::frames::TypeCount;

/// The `p`-th percentile (0–100) of `sorted` by nearest rank: the smallest value with at
/// least `p` % of the values at or below it. `None` when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Latency of the probe: ingest posted → matching frame received.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Latency {
    /// Product changes posted.
    pub probes: u64,
    /// Answered by a matching frame.
    pub matched: u64,
    /// Not answered within the probe timeout.
    pub timed_out: u64,
    /// Ingest requests that failed (not sent, or not `200`).
    pub ingest_failed: u64,
    /// Median, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Longest, ms.
    pub max_ms: Option<f64>,
}

impl Latency {
    /// Fills the percentiles from the matched latencies in ms (any order).
    pub fn with_samples(mut self, mut ms: Vec<f64>) -> Latency {
        ms.sort_by(f64::total_cmp);
        self.p50_ms = percentile(&ms, 50.0);
        self.p99_ms = percentile(&ms, 99.0);
        self.max_ms = ms.last().copied();
        self
    }
}

/// The server's share of the window.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Server {
    /// The processes read (ms5, or nginx's master and workers).
    pub pids: Vec<u32>,
    /// utime + stime spent inside the window, s.
    pub cpu_s: f64,
    /// Frames delivered to all clients per server CPU-second.
    pub deliveries_per_cpu_s: Option<f64>,
    /// Resident memory at the end of the window, MiB.
    pub rss_mib: f64,
    /// Peak resident memory (VmHWM), MiB.
    pub peak_rss_mib: f64,
}

/// A publisher's count (nchan).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Published {
    /// Frames posted and accepted.
    pub frames: u64,
    /// Posts that failed.
    pub failed: u64,
    /// Size of each, bytes.
    pub frame_bytes: usize,
}

/// Everything one run found.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// `ms5` or `nchan`.
    pub target: String,
    /// WebSocket protocol version asked for (ms5).
    pub protocol: u8,
    /// Channel the clients subscribed to.
    pub channel: String,
    /// Clients asked for.
    pub clients: usize,
    /// Clients connected (and, on ms5, with their snapshot).
    pub connected: usize,
    /// Clients that could not connect.
    pub failed: usize,
    /// The first connect error, if any.
    pub first_error: Option<String>,
    /// Clients whose socket closed inside the window.
    pub closed_early: usize,
    /// Length of the measurement window, s.
    pub seconds: f64,
    /// Frames the clients received inside the window.
    pub frames: u64,
    /// Frames per second, all clients together.
    pub frames_per_s: f64,
    /// Bytes per connected client per second.
    pub bytes_per_client_s: f64,
    /// Every frame seen (also while connecting), by type.
    pub by_type: BTreeMap<String, TypeCount>,
    /// The latency probe, when it ran.
    pub latency: Option<Latency>,
    /// The server, when its pids were given.
    pub server: Option<Server>,
    /// The publisher, on nchan.
    pub published: Option<Published>,
}

impl Summary {
    /// Fills the rates from `frames`, `seconds`, `connected` and the window's bytes.
    pub fn with_rates(mut self, window_bytes: u64) -> Summary {
        if self.seconds > 0.0 {
            self.frames_per_s = self.frames as f64 / self.seconds;
            if self.connected > 0 {
                self.bytes_per_client_s = window_bytes as f64 / self.connected as f64 / self.seconds;
            }
        }
        self
    }

    /// The summary as text, one fact a line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let target = match self.target.as_str() {
            "ms5" => format!("ms5 (protocol {})", self.protocol),
            other => other.to_owned(),
        };
        let _ = writeln!(
            out,
            "ws_load: {target}, {} clients on {} ({} connected, {} failed{}), window {:.1} s",
            self.clients,
            self.channel,
            self.connected,
            self.failed,
            self.first_error.as_ref().map(|e| format!(": {e}")).unwrap_or_default(),
            self.seconds
        );
        let _ = writeln!(
            out,
            "delivered: {} frames ({:.1}/s), {:.0} bytes per client per second, {} closed early",
            self.frames, self.frames_per_s, self.bytes_per_client_s, self.closed_early
        );
        let _ = writeln!(out, "frame sizes (every frame seen):");
        for (kind, c) in &self.by_type {
            let _ = writeln!(
                out,
                "  {kind:<12} {:>10} frames  mean {:>9.0} B  max {:>9} B",
                c.frames,
                c.mean(),
                c.max
            );
        }
        if let Some(l) = &self.latency {
            let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"));
            let _ = writeln!(
                out,
                "latency: {} probes, {} matched, {} timed out, {} ingest failed; p50 {}, p99 {}, max {}",
                l.probes,
                l.matched,
                l.timed_out,
                l.ingest_failed,
                ms(l.p50_ms),
                ms(l.p99_ms),
                ms(l.max_ms)
            );
        }
        if let Some(p) = &self.published {
            let _ = writeln!(
                out,
                "published: {} frames of {} B, {} failed",
                p.frames, p.frame_bytes, p.failed
            );
        }
        if let Some(s) = &self.server {
            let per = s
                .deliveries_per_cpu_s
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
            let _ = writeln!(
                out,
                "server {:?}: {:.2} CPU-s in the window, {per} deliveries per CPU-second, RSS {:.1} MiB, peak {:.1} MiB",
                s.pids, s.cpu_s, s.rss_mib, s.peak_rss_mib
            );
        }
        out
    }
}

//! The polling loop of one EtherNet/IP endpoint, whatever it speaks (Logix or PCCC):
//! connect (retried with capped backoff and jitter), read every tag each `poll`, hand the
//! values that changed to the sink, heartbeat the endpoint's machines while reads succeed,
//! and on any failure of the connection tell them at once (after the values read before
//! it) and connect again. A tag that cannot be read is counted (success ratio, tag error)
//! and logged once, and the others keep flowing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::RngExt;

use super::EnipError;
use crate::clock::Clock;
use crate::config::Reconnect;
use crate::domain::plant::MachineIdx;
use crate::domain::tag::{Quality, TagUpdate, TagValue};
use crate::plc::TagSink;
use crate::plc::health::Link;

/// What one tag's read gave.
pub type Read = Result<TagValue, String>;

/// A protocol's side of the loop.
pub trait Poller {
    /// An open connection.
    type Conn;
    /// Connects (and opens whatever the protocol needs).
    fn connect(&mut self) -> impl Future<Output = Result<Self::Conn, EnipError>>;
    /// Reads every tag once: one result per tag, in the order of [`Endpoint::tags`]. An
    /// error fails the connection.
    fn poll(&mut self, conn: &mut Self::Conn) -> impl Future<Output = Result<Vec<Read>, EnipError>>;
    /// Closes the connection, best effort.
    fn close(&mut self, conn: Self::Conn) -> impl Future<Output = ()>;
}

/// Where an endpoint's values go and how it runs.
pub struct Endpoint {
    /// The endpoint's link (logs, metrics).
    pub link: Link,
    /// MS5 tag of each polled address, in the poller's order.
    pub tags: Vec<String>,
    /// Machines fed by the endpoint (heartbeats, loss).
    pub machines: Vec<MachineIdx>,
    /// Time between polls.
    pub poll: Duration,
    /// Reconnect delays.
    pub reconnect: Reconnect,
    /// The sink.
    pub sink: TagSink,
    /// Timestamps of values.
    pub clock: Clock,
}

/// How often a connected endpoint heartbeats its machines at most.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// Runs the endpoint forever.
pub async fn run<P: Poller>(mut poller: P, mut ep: Endpoint) {
    let mut failures = 0u32;
    loop {
        // One of several replicas talks to the controller only while it runs its lines.
        ep.link.until_runs_any(&ep.sink, &ep.machines).await;
        match poller.connect().await {
            Ok(mut conn) => {
                ep.link.connected();
                let (error, polled) = connected(&mut poller, &mut conn, &mut ep).await;
                poller.close(conn).await;
                if matches!(error, EnipError::HandedOver) {
                    ep.link.handed_over();
                    failures = 0;
                    continue;
                }
                ep.link.lost(&error);
                ep.sink.comms_lost(ep.clock.now_ms(), &ep.machines);
                if polled {
                    // a connection that delivered is retried at once, then with backoff
                    failures = 0;
                    continue;
                }
                // one that failed its first poll is a failed attempt: no retry storm
                failures += 1;
            }
            Err(e) => {
                ep.link.failed(&e);
                failures += 1;
            }
        }
        let jitter: f64 = rand::rng().random();
        let (base, max) = (millis(ep.reconnect.base), millis(ep.reconnect.max));
        let wait = crate::domain::page::backoff_ms(failures, base, max, jitter);
        tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(500))).await;
    }
}

/// Polls until the connection fails; returns why, and whether any poll succeeded.
async fn connected<P: Poller>(poller: &mut P, conn: &mut P::Conn, ep: &mut Endpoint) -> (EnipError, bool) {
    let mut last: HashMap<usize, TagValue> = HashMap::new();
    let mut failing: Vec<bool> = vec![false; ep.tags.len()];
    let mut beat: Option<Instant> = None;
    let mut every = tokio::time::interval(ep.poll);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = ep.sink.until_runs_none(&ep.machines) => return (EnipError::HandedOver, beat.is_some()),
        }
        let started = Instant::now();
        let reads = match poller.poll(conn).await {
            Ok(reads) => reads,
            Err(e) => return (e, beat.is_some()),
        };
        let latency = started.elapsed().as_secs_f64();
        let now = ep.clock.now_ms();
        let (mut good, mut updates) = (0u64, Vec::new());
        for (i, read) in reads.iter().enumerate() {
            let Some(tag) = ep.tags.get(i) else { break };
            match read {
                Ok(value) => {
                    good += 1;
                    if std::mem::take(&mut failing[i]) {
                        ep.link.health.tag_ok(tag);
                    }
                    if last.insert(i, *value) != Some(*value) {
                        updates.push(TagUpdate {
                            tag: tag.clone(),
                            value: *value,
                            ts: now,
                            quality: Quality::Good,
                        });
                    }
                }
                Err(reason) => {
                    if !std::mem::replace(&mut failing[i], true) {
                        let (endpoint, kind) = (ep.link.health.endpoint(), ep.link.health.kind());
                        tracing::error!(endpoint, kind, tag = %tag, %reason, "PLC tag unreadable; it gets no data");
                    }
                    ep.link.health.tag_failed(tag);
                    last.remove(&i);
                }
            }
        }
        ep.link.health.latency(latency);
        ep.link.health.counted(good, reads.len() as u64);
        ep.link.health.delivered(updates.len());
        if !updates.is_empty() {
            ep.sink.deliver(updates);
        }
        if beat.is_none_or(|b| b.elapsed() >= HEARTBEAT_EVERY) {
            ep.sink.heartbeat_machines(now, &ep.machines);
            beat = Some(Instant::now());
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

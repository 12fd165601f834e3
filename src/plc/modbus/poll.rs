//! The connection loop of one Modbus endpoint: connect (never blocking start-up; retried
//! with backoff and jitter), read the planned requests every `poll_interval`, deliver
//! what changed, and heartbeat the endpoint's machines after complete polls (at most once a
//! second).
//!
//! - **A timeout** (no reply within `timeout`) replaces the connection at once: one
//!   reconnect, so a reply that comes late on the old connection is never read as the
//!   answer to the next request. If that reconnect fails, the device is gone.
//! - **A lost connection** (reset, closed, refused) tells the endpoint's machines at once
//!   (`comms_lost`, after the values read before it), then reconnects.
//! - **An exception reply** (illegal address, device busy, …) fails the tags of that
//!   request: counted per tag (`ms5_plc_tag_errors_total`, `ms5_plc_tag_error` = 1 until a
//!   read succeeds) and delivered as bad quality; the other requests go on.

use std::fmt::Display;
use std::time::{Duration, Instant};

use rand::RngExt;
use tokio::time::MissedTickBehavior;
use tokio_modbus::client::{Context, Reader, tcp};
use tokio_modbus::prelude::{Slave, SlaveContext};

use super::KIND;
use super::codec::decode;
use super::plan::{Item, Plan, Request, plan};
use crate::clock::Clock;
use crate::config::{ModbusEndpoint, Reconnect, TagPoint};
use crate::domain::plant::MachineIdx;
use crate::domain::tag::{Quality, TagUpdate, TagValue};
use crate::plc::TagSink;
use crate::plc::health::Link;

/// Least time between two heartbeats of a connected endpoint's machines, ms.
const HEARTBEAT_MS: i64 = 1_000;

/// Why a connection could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum ModbusError {
    /// The host name did not resolve.
    #[error("cannot resolve {0}")]
    Resolve(String),
    /// No answer in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection failed or broke.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The device answered something that does not belong to the request.
    #[error(transparent)]
    Protocol(#[from] tokio_modbus::Error),
    /// Closed on purpose: another replica runs the endpoint's lines now.
    #[error("another replica runs the endpoint's lines")]
    HandedOver,
}

/// What a read request brought back.
enum Data {
    Words(Vec<u16>),
    Bits(Vec<bool>),
}

/// One endpoint's poller.
pub struct Endpoint {
    settings: ModbusEndpoint,
    points: Vec<TagPoint>,
    plan: Plan,
    /// The points each request reads.
    by_request: Vec<Vec<usize>>,
    machines: Vec<MachineIdx>,
    reconnect: Reconnect,
    sink: TagSink,
    clock: Clock,
    link: Link,
    /// The last value delivered per point (cleared at each connect, so all go out again).
    last: Vec<Option<TagValue>>,
    /// Points whose last read failed.
    failing: Vec<bool>,
    /// When the machines were last heartbeated, by the clock (none since the last connect).
    heartbeat_at: Option<i64>,
}

impl Endpoint {
    /// The poller of `settings`, reading `points` for `machines`.
    pub fn new(
        settings: ModbusEndpoint,
        points: Vec<TagPoint>,
        machines: Vec<MachineIdx>,
        reconnect: Reconnect,
        sink: TagSink,
        clock: Clock,
    ) -> Self {
        let items: Vec<Item> = points
            .iter()
            .map(|p| Item {
                unit: p.unit,
                table: p.address.table,
                start: p.address.address,
                len: p.encoding.data_type.registers(),
            })
            .collect();
        let plan = plan(&items, settings.max_gap);
        let mut by_request = vec![Vec::new(); plan.requests.len()];
        for (i, &(r, _)) in plan.places.iter().enumerate() {
            by_request[r].push(i);
        }
        let link = Link::new(KIND, &settings.name, &settings.address);
        Endpoint {
            last: vec![None; points.len()],
            failing: vec![false; points.len()],
            heartbeat_at: None,
            settings,
            points,
            plan,
            by_request,
            machines,
            reconnect,
            sink,
            clock,
            link,
        }
    }

    /// Polls until the process ends.
    pub async fn run(mut self) {
        tracing::debug!(
            endpoint = %self.settings.name,
            tags = self.points.len(),
            requests = self.plan.requests.len(),
            "Modbus endpoint planned"
        );
        let mut failures = 0u32;
        let mut next: Option<Context> = None;
        loop {
            // One of several replicas talks to the device only while it runs its lines.
            if next.is_none() {
                self.link.until_runs_any(&self.sink, &self.machines).await;
            }
            let mut ctx = match next.take() {
                Some(ctx) => ctx,
                None => match self.connect().await {
                    Ok(ctx) => {
                        self.link.connected();
                        self.fresh();
                        failures = 0;
                        ctx
                    }
                    Err(e) => {
                        if self.link.up {
                            self.lose(&e);
                        } else {
                            self.link.failed(&e);
                        }
                        failures += 1;
                        tokio::time::sleep(self.backoff(failures)).await;
                        continue;
                    }
                },
            };
            let broken = self.poll(&mut ctx).await;
            // Dropping the context closes its socket: nothing more is read from it.
            drop(ctx);
            match broken {
                ModbusError::Timeout(after) => {
                    self.link.health.retried();
                    let endpoint = self.settings.name.as_str();
                    tracing::warn!(endpoint, ?after, "Modbus request timed out; reconnecting");
                    match self.connect().await {
                        Ok(ctx) => {
                            self.fresh();
                            next = Some(ctx);
                        }
                        Err(e) => {
                            self.lose(&e);
                            failures = 1;
                            tokio::time::sleep(self.backoff(failures)).await;
                        }
                    }
                }
                ModbusError::HandedOver => {
                    self.link.handed_over();
                    failures = 0;
                }
                other => self.lose(&other),
            }
        }
    }

    /// A fresh connection, within `timeout`.
    async fn connect(&self) -> Result<Context, ModbusError> {
        let timeout = self.settings.timeout;
        let address = self.settings.address.as_str();
        let resolved = tokio::time::timeout(timeout, tokio::net::lookup_host(address))
            .await
            .map_err(|_| ModbusError::Timeout(timeout))??
            .next()
            .ok_or_else(|| ModbusError::Resolve(address.to_owned()))?;
        let ctx = tokio::time::timeout(timeout, tcp::connect(resolved))
            .await
            .map_err(|_| ModbusError::Timeout(timeout))??;
        Ok(ctx)
    }

    /// A new connection: every value goes out again, and the machines hear at once.
    fn fresh(&mut self) {
        self.last.fill(None);
        self.heartbeat_at = None;
    }

    /// The connection is gone: said once, and the machines told at once.
    fn lose(&mut self, why: &dyn Display) {
        if self.link.up {
            self.link.lost(why);
            self.sink.comms_lost(self.clock.now_ms(), &self.machines);
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let jitter: f64 = rand::rng().random();
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let wait =
            crate::domain::page::backoff_ms(failures.max(1), ms(self.reconnect.base), ms(self.reconnect.max), jitter);
        Duration::from_millis(u64::try_from(wait).unwrap_or(500))
    }

    /// Polls every `poll_interval` until the connection breaks or a request times out.
    async fn poll(&mut self, ctx: &mut Context) -> ModbusError {
        let mut every = tokio::time::interval(self.settings.poll_interval);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = self.sink.until_runs_none(&self.machines) => return ModbusError::HandedOver,
            }
            if let Err(broken) = self.poll_once(ctx).await {
                return broken;
            }
        }
    }

    /// Reads every request once; delivers the values that changed, and heartbeats the
    /// machines when the device answered every request.
    async fn poll_once(&mut self, ctx: &mut Context) -> Result<(), ModbusError> {
        let mut updates = Vec::new();
        let (mut good, mut total) = (0u64, 0u64);
        let mut broken = None;
        for r in 0..self.plan.requests.len() {
            let req = self.plan.requests[r];
            let started = Instant::now();
            let outcome = tokio::time::timeout(self.settings.timeout, read(ctx, req)).await;
            let now = self.clock.now_ms();
            let points = std::mem::take(&mut self.by_request[r]);
            total += points.len() as u64;
            match outcome {
                Err(_) => broken = Some(ModbusError::Timeout(self.settings.timeout)),
                Ok(Err(e)) => broken = Some(e.into()),
                Ok(Ok(Err(code))) => {
                    for &i in &points {
                        self.refused(i, &code);
                        updates.push(self.update(i, TagValue::Int(0), now, Quality::Bad));
                    }
                }
                Ok(Ok(Ok(data))) => {
                    self.link.health.latency(started.elapsed().as_secs_f64());
                    for &i in &points {
                        let offset = usize::from(self.plan.places[i].1);
                        let value = match &data {
                            Data::Words(words) => words.get(offset..).and_then(|w| decode(w, &self.points[i].encoding)),
                            Data::Bits(bits) => bits.get(offset).map(|&b| TagValue::Bool(b)),
                        };
                        let Some(value) = value else {
                            // no usable value (NaN, out of range): counted as bad quality
                            updates.push(self.update(i, TagValue::Int(0), now, Quality::Bad));
                            continue;
                        };
                        good += 1;
                        if std::mem::take(&mut self.failing[i]) {
                            self.link.health.tag_ok(&self.points[i].tag);
                        }
                        if self.last[i] != Some(value) {
                            self.last[i] = Some(value);
                            updates.push(self.update(i, value, now, Quality::Good));
                        }
                    }
                }
            }
            self.by_request[r] = points;
            if broken.is_some() {
                break;
            }
        }
        self.link.health.counted(good, total);
        self.link.health.delivered(updates.len());
        if !updates.is_empty() {
            self.sink.deliver(updates);
        }
        match broken {
            Some(e) => Err(e),
            None => {
                // at most once a second, however fast the polls
                let now = self.clock.now_ms();
                if self.heartbeat_at.is_none_or(|at| now - at >= HEARTBEAT_MS) {
                    self.heartbeat_at = Some(now);
                    self.sink.heartbeat_machines(now, &self.machines);
                }
                Ok(())
            }
        }
    }

    fn update(&self, i: usize, value: TagValue, ts: i64, quality: Quality) -> TagUpdate {
        TagUpdate {
            tag: self.points[i].tag.clone(),
            value,
            ts,
            quality,
        }
    }

    /// An exception reply for point `i`: counted every time, logged when it starts.
    fn refused(&mut self, i: usize, code: &tokio_modbus::ExceptionCode) {
        let point = &self.points[i];
        self.link.health.tag_failed(&point.tag);
        if !std::mem::replace(&mut self.failing[i], true) {
            tracing::error!(
                endpoint = %self.settings.name,
                tag = %point.tag,
                address = %point.address,
                unit = point.unit,
                exception = %code,
                "Modbus device refused the read; this tag gets no data"
            );
        }
    }
}

/// Sends one read request.
async fn read(ctx: &mut Context, req: Request) -> tokio_modbus::Result<Data> {
    use super::address::Table;
    ctx.set_slave(Slave(req.unit));
    Ok(match req.table {
        Table::HoldingRegister => ctx.read_holding_registers(req.start, req.count).await?.map(Data::Words),
        Table::InputRegister => ctx.read_input_registers(req.start, req.count).await?.map(Data::Words),
        Table::Coil => ctx.read_coils(req.start, req.count).await?.map(Data::Bits),
        Table::DiscreteInput => ctx.read_discrete_inputs(req.start, req.count).await?.map(Data::Bits),
    })
}

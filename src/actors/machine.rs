//! `MachineActor`: one per machine. Applies routed samples to the domain [`Machine`],
//! sends what happened to the telemetry writer, and pushes its snapshot to its line and
//! the hub (at most once per coalesce interval).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::andon::DowntimeNotice;
use super::guarded;
use super::hub::{Hub, Publish};
use super::line::{LineActor, MachineChanged};
use super::live_cache::LiveCache;
use super::telemetry_writer::{Record, TelemetryWriter};
use crate::clock::Clock;
use crate::cluster::bus::Bus;
use crate::domain::EpochMs;
use crate::domain::cluster::bus_message::EntityKind;
use crate::domain::machine::{CounterReset, Machine, MachineEvent, MachineHistory, Sample, SampleOutcome};
use crate::domain::machine_state::MachineState;
use crate::domain::plant::{MachineIdx, PlantModel, Product};
use crate::domain::production::trend::TrendWarning;
use crate::domain::snapshot::{MachineSnapshot, machine_snapshot};
use crate::domain::tally::Tally;
use crate::domain::throttle::{Cause, Push, Throttle};
use crate::metrics::{self as m, OeeGauges};

/// How often machines check for silent sources, and checkpoint every how many ticks.
const TICK: Duration = Duration::from_secs(1);
const CHECKPOINT_TICKS: u32 = 5;

/// Samples for this machine, from one source.
#[derive(Message)]
#[rtype(result = "SampleCounts")]
pub struct ApplySamples {
    /// Source name (metrics label).
    pub source: &'static str,
    /// The samples, in arrival order.
    pub samples: Vec<Sample>,
    /// When MS5 received them (the start of the push latency).
    pub received: Instant,
}

/// What became of a batch of samples.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, MessageResponse)]
pub struct SampleCounts {
    /// Applied.
    pub applied: usize,
    /// Same tag and timestamp as before.
    pub duplicate: usize,
    /// Older than the last applied for the tag.
    pub late: usize,
    /// Value does not fit the tag.
    pub wrong_value: usize,
}

/// The source is alive at `ts`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Heartbeat(pub EpochMs);

/// The source of this machine knew at `at` (wall clock) that its connection is gone (a
/// lost OPC UA session): the machine is `unknown` (`comms_lost`) at once, not after
/// `stale_after`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CommsLost {
    /// When the source noticed.
    pub at: EpochMs,
}

/// Check for staleness now (the periodic tick, or a test driving a manual clock).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Tick;

/// A parts correction a person logged (a manual reject, or the void of one), at `at`.
/// The store holds the correction already; this brings the live windows in line.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CorrectParts {
    /// The instant the correction belongs to.
    pub at: EpochMs,
    /// What it adds (see `domain::production::rejects`).
    pub tally: Tally,
}

/// The machine's current snapshot.
#[derive(Message)]
#[rtype(result = "Arc<MachineSnapshot>")]
pub struct GetMachine;

/// The line's running job makes this product (`None`: no job runs). Parts counted while
/// the PLC reports no product are counted as it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetJobProduct(pub Option<Product>);

/// The machine's trend warning, judged from the store (see `actors::trend_watch`): shown
/// on its snapshot from now on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetTrendWarning(pub Option<TrendWarning>);

/// This replica now owns the machine's line (see `cluster`): the machine starts again
/// from its history in the store (which its previous owner wrote) and runs.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Own {
    /// What the store holds of the machine.
    pub history: MachineHistory,
    /// When that was read.
    pub now: EpochMs,
}

/// Another replica owns the machine's line now: this actor applies, ticks and writes
/// nothing until it is owned again. What it counted and had not passed on yet goes to the
/// telemetry writer, which writes it only while the lease still holds.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disown;

/// Makes the actor panic (fault-injection tests and drills): it must come back with its
/// counts.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Poison;

/// The actor.
pub struct MachineActor {
    machine: Machine,
    idx: MachineIdx,
    plant: Arc<PlantModel>,
    line: Addr<LineActor>,
    line_position: usize,
    hub: Addr<Hub>,
    cache: Arc<LiveCache>,
    writer: Addr<TelemetryWriter>,
    andon: Recipient<DowntimeNotice>,
    clock: Clock,
    throttle: Throttle,
    /// A change waits in the scheduled flush.
    pending_change: bool,
    /// When the latest samples not yet pushed were received (a change pushed at once is
    /// timed from the samples that caused it, not from counts waiting to be coalesced).
    unpushed_since: Option<Instant>,
    events: Vec<MachineEvent>,
    ticks: u32,
    shown_state: Option<MachineState>,
    trend_warning: Option<TrendWarning>,
    gauges: OeeGauges,
    /// `ms5_parts_total` for good and for rejected parts.
    parts: [metrics::Counter; 2],
    /// This replica owns the machine's line (always, for a lone MS5).
    owned: bool,
    /// The channel to the other replicas: states of an owned machine go to them, and
    /// while not owned the owner's states (relayed) are shown instead of this actor's.
    bus: Option<Bus>,
    /// A state was published (a replica shows its own, from the store, until the
    /// owner's arrives).
    published: bool,
}

impl MachineActor {
    /// A machine actor; `machine` may carry restored history.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        machine: Machine,
        idx: MachineIdx,
        plant: Arc<PlantModel>,
        line: Addr<LineActor>,
        (hub, cache): (Addr<Hub>, Arc<LiveCache>),
        writer: Addr<TelemetryWriter>,
        andon: Recipient<DowntimeNotice>,
        clock: Clock,
        coalesce: Duration,
    ) -> Self {
        let model = &plant.machines[idx];
        let line_position = plant.lines[model.line]
            .machines
            .iter()
            .position(|&i| i == idx)
            .unwrap_or(0);
        let gauges = OeeGauges::new("machine", &model.id);
        let parts =
            ["good", "reject"].map(|kind| metrics::counter!(m::PARTS, "machine" => model.id.clone(), "kind" => kind));
        MachineActor {
            machine,
            idx,
            plant,
            line,
            line_position,
            hub,
            cache,
            writer,
            andon,
            clock,
            throttle: Throttle::new(coalesce),
            pending_change: false,
            unpushed_since: None,
            events: Vec::new(),
            ticks: 0,
            shown_state: None,
            trend_warning: None,
            gauges,
            parts,
            owned: true,
            bus: None,
            published: false,
        }
    }

    /// What a person at the line watches for first: state, reason and product.
    fn shown(&self) -> (MachineState, Option<String>, Option<String>) {
        let m = &self.machine;
        (
            m.state(),
            m.reason().map(str::to_owned),
            m.product_name().map(str::to_owned),
        )
    }

    fn snapshot(&self) -> MachineSnapshot {
        let mut snapshot = machine_snapshot(&self.plant, &self.machine);
        snapshot.trend_warning = self.trend_warning;
        snapshot
    }

    /// Sends the events gathered by the last call to the writer, counting parts and downtime.
    fn after_change(&mut self, ctx: &mut Context<Self>, cause: Cause) {
        if self.events.is_empty() {
            return;
        }
        let id = &self.plant.machines[self.idx].id;
        for e in &self.events {
            match e {
                MachineEvent::Parts { tally, .. } => {
                    if tally.good > 0 {
                        self.parts[0].increment(tally.good as u64);
                    }
                    if tally.reject() > 0 {
                        self.parts[1].increment(tally.reject() as u64);
                    }
                }
                MachineEvent::DowntimeEnded { start, end, reason, .. } => {
                    metrics::counter!(m::DOWNTIME_SECONDS, "machine" => id.clone(), "reason" => reason.clone())
                        .increment(((end - start) / 1000).max(0) as u64);
                    self.andon.do_send(DowntimeNotice {
                        machine: self.idx,
                        start: *start,
                        reason: reason.clone(),
                        end: Some(*end),
                    });
                }
                MachineEvent::DowntimeOpen { start, reason } => self.andon.do_send(DowntimeNotice {
                    machine: self.idx,
                    start: *start,
                    reason: reason.clone(),
                    end: None,
                }),
                MachineEvent::CounterReset {
                    signal,
                    previous,
                    current,
                    gap_ms,
                    kind,
                } => {
                    metrics::counter!(m::COUNTER_RESETS, "machine" => id.clone(), "reason" => kind.as_str())
                        .increment(1);
                    if *kind == CounterReset::ImplausibleJump {
                        let tag = self.plant.machines[self.idx]
                            .signals
                            .get(*signal)
                            .map_or("?", |s| s.tag.as_str());
                        tracing::warn!(machine = %id, tag, previous, current, gap_ms,
                            "counter jumped further than the machine could count across a gap in the data; \
                             taken as a reset, no parts added");
                    }
                }
                _ => {}
            }
        }
        self.writer.do_send(Record {
            machine: self.idx,
            events: std::mem::take(&mut self.events),
        });
        self.changed(ctx, cause);
    }

    fn changed(&mut self, ctx: &mut Context<Self>, cause: Cause) {
        let push = self.throttle.on(cause, Instant::now());
        if cause == Cause::Change && push != Push::Now {
            self.pending_change = true;
        }
        match push {
            Push::Now => {
                // Only changes pushed at once are timed: a coalesced count waits on purpose.
                let since = self.unpushed_since.take();
                // A new state, reason or product goes to every socket at once; counts and
                // time passing take their pace.
                self.publish(cause, since, cause != Cause::StateChange);
            }
            Push::After(wait) => {
                ctx.run_later(wait, |act, _| {
                    act.throttle.flushed(Instant::now());
                    act.unpushed_since = None;
                    let cause = if std::mem::take(&mut act.pending_change) {
                        Cause::Change
                    } else {
                        Cause::TimePassing
                    };
                    act.publish(cause, None, true);
                });
            }
            Push::Scheduled => {}
        }
    }

    /// Checks for a silent source, lets time pass in the windows, and every
    /// `CHECKPOINT_TICKS` writes the open interval.
    /// Whether it runs from the start (a replica's machines wait for their line's lease).
    pub fn owned(mut self, owned: bool) -> Self {
        self.owned = owned;
        self
    }

    /// Sends its states to the other replicas while owned (see `cluster::bus`).
    pub fn relay(mut self, bus: Option<Bus>) -> Self {
        self.bus = bus;
        self
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if !self.owned {
            return;
        }
        self.cache.machine_changed(self.idx);
        self.ticks = self.ticks.wrapping_add(1);
        let wall = self.clock.now_ms();
        let checkpoint = self.ticks.is_multiple_of(CHECKPOINT_TICKS);
        guarded(self, ctx, "machine", |a| {
            a.machine.tick(wall, &mut a.events);
            if checkpoint && let Some(open) = a.machine.open_interval() {
                a.events.push(open);
            }
        });
        self.after_change(ctx, Cause::TimePassing);
    }

    /// Pushes the machine's state; `since`: when the samples it shows were received;
    /// `paced`: see [`Publish::paced`].
    fn publish(&mut self, cause: Cause, since: Option<Instant>, paced: bool) {
        // Another replica runs it and sends its states: this actor's would show a stale one.
        if !self.owned && self.bus.is_some() && self.published {
            return;
        }
        self.published = true;
        let snapshot = Arc::new(self.snapshot());
        let id = snapshot.id.clone();
        let line = snapshot.line.clone();
        self.gauges.set(&snapshot.windows);
        if self.shown_state != Some(snapshot.state) {
            for s in MachineState::ALL {
                metrics::gauge!(m::MACHINE_STATE, "machine" => id.clone(), "line" => line.clone(), "state" => s.as_str())
                    .set(if s == snapshot.state { 1.0 } else { 0.0 });
            }
            self.shown_state = Some(snapshot.state);
        }
        let line_idx = self.plant.machines[self.idx].line;
        let line = Arc::from(self.plant.lines[line_idx].id.as_str());
        let mut publish = Publish::of(
            snapshot.clone(),
            vec![format!("machine:{id}")],
            id,
            line,
            self.idx,
            false,
        );
        publish.since = since;
        publish.paced = paced;
        if let Some(bus) = self.bus.as_ref().filter(|_| self.owned) {
            bus.state(EntityKind::Machine, &publish.entity, paced, publish.json.clone());
        }
        self.cache.store_machine(self.idx, publish.json.clone());
        self.hub.do_send(publish);
        self.line.do_send(MachineChanged {
            position: self.line_position,
            snapshot,
            cause,
            version: self.cache.line_changed(line_idx),
        });
    }
}

impl Actor for MachineActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.publish(Cause::TimePassing, None, false);
        // Each machine ticks at its own phase within the second, so 200 machines do not
        // all tick (and publish) at the same instant and hold up a tag change behind them.
        let phase = TICK.mul_f64(self.idx as f64 / self.plant.machines.len().max(1) as f64);
        ctx.run_later(phase, |_, ctx| {
            ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
        });
    }
}

impl Supervised for MachineActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        tracing::warn!(machine = %self.plant.machines[self.idx].id, "machine actor restarting");
        // Whatever a panic left half-done in the running sums is recomputed. Events
        // already gathered stay queued, so the store sees what the windows counted.
        self.machine.repair();
    }
}

impl Handler<ApplySamples> for MachineActor {
    type Result = SampleCounts;

    fn handle(&mut self, msg: ApplySamples, ctx: &mut Context<Self>) -> SampleCounts {
        if !self.owned {
            return SampleCounts::default();
        }
        self.cache.machine_changed(self.idx);
        self.unpushed_since = Some(msg.received);
        let shown = self.shown();
        let wall = self.clock.now_ms();
        let counts = guarded(self, ctx, "machine", |a| {
            let mut counts = SampleCounts::default();
            for s in msg.samples {
                match a.machine.apply(s, wall, &mut a.events) {
                    SampleOutcome::Applied => counts.applied += 1,
                    SampleOutcome::Duplicate => counts.duplicate += 1,
                    SampleOutcome::Late => counts.late += 1,
                    SampleOutcome::WrongValue => counts.wrong_value += 1,
                }
            }
            counts
        })
        .unwrap_or_default();
        for (reason, n) in [
            ("duplicate", counts.duplicate),
            ("late", counts.late),
            ("wrong_value", counts.wrong_value),
        ] {
            if n > 0 {
                metrics::counter!(m::TAG_REJECTED, "source" => msg.source, "reason" => reason).increment(n as u64);
            }
        }
        let cause = if self.shown() != shown {
            Cause::StateChange
        } else {
            Cause::Change
        };
        if cause == Cause::StateChange && self.events.is_empty() {
            self.changed(ctx, cause);
        }
        self.after_change(ctx, cause);
        counts
    }
}

impl Handler<Heartbeat> for MachineActor {
    type Result = ();

    fn handle(&mut self, msg: Heartbeat, ctx: &mut Context<Self>) {
        if !self.owned {
            return;
        }
        self.cache.machine_changed(self.idx);
        let wall = self.clock.now_ms();
        let before = self.machine.head();
        guarded(self, ctx, "machine", |a| {
            a.machine.heartbeat(msg.0, wall, &mut a.events)
        });
        if self.machine.head() != before {
            // Time passed: windows moved even if nothing else happened.
            self.changed(ctx, Cause::TimePassing);
        }
        self.after_change(ctx, Cause::TimePassing);
    }
}

impl Handler<CommsLost> for MachineActor {
    type Result = ();

    fn handle(&mut self, msg: CommsLost, ctx: &mut Context<Self>) {
        if !self.owned {
            return;
        }
        self.cache.machine_changed(self.idx);
        let before = self.machine.state();
        guarded(self, ctx, "machine", |a| a.machine.comms_lost(msg.at, &mut a.events));
        if self.machine.state() != before {
            // Shown even when no event is stored (a stop that goes on under its own reason).
            self.changed(ctx, Cause::StateChange);
        }
        self.after_change(ctx, Cause::Change);
    }
}

impl Handler<Tick> for MachineActor {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Context<Self>) {
        if !self.owned {
            return;
        }
        self.cache.machine_changed(self.idx);
        let wall = self.clock.now_ms();
        guarded(self, ctx, "machine", |a| a.machine.tick(wall, &mut a.events));
        if let Some(open) = self.machine.open_interval() {
            self.events.push(open);
        }
        self.after_change(ctx, Cause::TimePassing);
    }
}

impl Handler<CorrectParts> for MachineActor {
    type Result = ();

    fn handle(&mut self, msg: CorrectParts, ctx: &mut Context<Self>) {
        if !self.owned {
            return;
        }
        self.cache.machine_changed(self.idx);
        guarded(self, ctx, "machine", |a| a.machine.correct(msg.at, msg.tally));
        self.changed(ctx, Cause::Change);
    }
}

impl Handler<GetMachine> for MachineActor {
    type Result = MessageResult<GetMachine>;

    fn handle(&mut self, _: GetMachine, _: &mut Context<Self>) -> Self::Result {
        MessageResult(Arc::new(self.snapshot()))
    }
}

impl Handler<SetTrendWarning> for MachineActor {
    type Result = ();

    fn handle(&mut self, msg: SetTrendWarning, ctx: &mut Context<Self>) {
        self.cache.machine_changed(self.idx);
        if self.trend_warning != msg.0 {
            self.trend_warning = msg.0;
            self.changed(ctx, Cause::Change);
        }
    }
}

impl Handler<SetJobProduct> for MachineActor {
    type Result = ();

    fn handle(&mut self, msg: SetJobProduct, ctx: &mut Context<Self>) {
        let before = self.machine.product_name().map(str::to_owned);
        self.machine.set_job_product(msg.0);
        // The snapshot names the product; the same product again (every start) is no change.
        if self.machine.product_name() != before.as_deref() {
            self.cache.machine_changed(self.idx);
            self.changed(ctx, Cause::Change);
        }
        self.after_change(ctx, Cause::Change);
    }
}

impl Handler<Own> for MachineActor {
    type Result = ();

    fn handle(&mut self, msg: Own, ctx: &mut Context<Self>) {
        let mut machine = Machine::new(self.plant.clone(), self.idx);
        machine.restore(&msg.history, msg.now);
        // The running job's product is not in the history; every replica keeps it current.
        machine.set_job_product(self.machine.job_product().cloned());
        self.machine = machine;
        self.events.clear();
        self.owned = true;
        self.cache.machine_changed(self.idx);
        self.changed(ctx, Cause::StateChange);
    }
}

impl Handler<Disown> for MachineActor {
    type Result = ();

    fn handle(&mut self, _: Disown, _: &mut Context<Self>) {
        self.owned = false;
        if let Some(open) = self.machine.open_interval() {
            self.events.push(open);
        }
        if !self.events.is_empty() {
            self.writer.do_send(Record {
                machine: self.idx,
                events: std::mem::take(&mut self.events),
            });
        }
    }
}

impl Handler<Poison> for MachineActor {
    type Result = ();

    fn handle(&mut self, _: Poison, ctx: &mut Context<Self>) {
        guarded(self, ctx, "machine", |_| panic!("poisoned on purpose"));
    }
}

//! The plant supervisor: starts the hub, the telemetry writer and, under
//! `actix::Supervisor`, one actor per line and machine (machines restored from the store
//! first). The [`PlantHandle`] it returns is the registry every edge uses: sources deliver
//! tags through it, HTTP reads snapshots through it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::join_all;
use serde::Serialize;

use super::andon::{AndonDesk, CheckNow};
use super::entity_json::EntityJson;
use super::hub::{Hub, PRODUCTION_UPDATES, Publish};
use super::line::{GetLine, GetLineVersion, LineActor};
use super::live_cache::{Body, LiveCache};
use super::machine::{
    ApplySamples, CommsLost, CorrectParts, Disown, GetMachine, Heartbeat, MachineActor, Own, Poison, SampleCounts,
    SetJobProduct, SetTrendWarning, Tick,
};
use super::notifier::Notifier;
use super::telemetry_writer::{Flush, RawSamples, TelemetryWriter, WriterFence};
use crate::clock::Clock;
use crate::cluster::bus::Bus;
use crate::cluster::lease_keeper::Owned;
use crate::cluster::ownership::{Handover, Ownership};
use crate::domain::EpochMs;
use crate::domain::cluster::bus_message::{EntityKind, Topic};
use crate::domain::machine::{Machine, MachineHistory};
use crate::domain::plant::{MachineIdx, PlantModel, Product};
use crate::domain::production::trend::TrendWarning;
use crate::domain::snapshot::{LineSnapshot, MachineSnapshot};
use crate::domain::tag::TagUpdate;
use crate::domain::tally::Tally;
use crate::metrics as m;
use crate::plc::router::{RoutedBatch, TagRouter};
use crate::store::{Store, StoreError};

/// How far back machines reload history at start: the longest rolling window.
const RESTORE_LOOKBACK_MS: EpochMs = 8 * 3_600_000;

/// What became of an ingested batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Samples received.
    pub received: usize,
    /// Applied to live state.
    pub applied: usize,
    /// Tag not in the plant model (ignored).
    pub unknown_tag: usize,
    /// Bad quality (ignored).
    pub bad_quality: usize,
    /// Uncertain quality (applied, counted).
    pub uncertain_quality: usize,
    /// Value does not fit the tag (ignored).
    pub wrong_value: usize,
    /// Same tag and timestamp as one applied before (counted once).
    pub duplicate: usize,
    /// Older than the last applied for its tag (not applied).
    pub late: usize,
    /// For a line another replica owns (not applied here; see docs/cluster.md).
    pub not_owner: usize,
}

/// Options the plant actors need.
#[derive(Debug, Clone)]
pub struct PlantOptions {
    /// Push coalescing interval.
    pub coalesce: Duration,
    /// Keep raw samples.
    pub raw_samples: bool,
    /// Writer batch size.
    pub batch_max: usize,
    /// Raw samples held at most while the store cannot be written.
    pub backlog_max: usize,
    /// Writer flush interval.
    pub flush_interval: Duration,
    /// Pager delivery settings.
    pub pager: crate::config::PagerSettings,
    /// Feature flags (escalation is gated by one).
    pub flags: Arc<crate::flags::FeatureFlags>,
    /// This replica's name, as one of several (`cluster.enabled`): a line runs here only
    /// while this replica leases its shard (none before the first lease round), and its
    /// telemetry is written fenced by the lease. `None`: every line runs here.
    pub replica: Option<String>,
    /// The channel to the other replicas (`redis.url`): owners send their machines' and
    /// lines' states, and corrections reach a machine's owner.
    pub bus: Option<Bus>,
}

struct Inner {
    plant: Arc<PlantModel>,
    router: TagRouter,
    machines: Vec<Addr<MachineActor>>,
    lines: Vec<Addr<LineActor>>,
    hub: Addr<Hub>,
    cache: Arc<LiveCache>,
    writer: Addr<TelemetryWriter>,
    andon: Addr<AndonDesk>,
    raw_samples: bool,
    store: Store,
    ownership: Arc<Ownership>,
    bus: Option<Bus>,
    /// One replica of several (`cluster.enabled`).
    replica: bool,
}

/// The registry of the plant's actors.
#[derive(Clone)]
pub struct PlantHandle {
    inner: Arc<Inner>,
}

impl PlantHandle {
    /// Starts every actor of the plant. Machines rebuild their windows from the store.
    pub async fn start(
        plant: Arc<PlantModel>,
        store: Store,
        options: PlantOptions,
        clock: Clock,
    ) -> Result<PlantHandle, StoreError> {
        let hub = Supervisor::start(|_| Hub::default());
        let cache = LiveCache::new(plant.machines.len(), plant.lines.len());
        // A replica runs nothing before its first lease round.
        let ownership = if options.replica.is_some() {
            Ownership::none(plant.lines.len())
        } else {
            Ownership::all(plant.lines.len())
        };
        let writer = {
            let (plant, store) = (plant.clone(), store.clone());
            let fenced = options.replica.clone().map(|replica| WriterFence {
                replica,
                ownership: ownership.clone(),
                clock: clock.clone(),
            });
            TelemetryWriter::new(
                plant,
                store,
                (options.batch_max, options.backlog_max),
                options.flush_interval,
                fenced,
            )
            .start()
        };
        let notifier = Notifier::new(store.clone(), plant.clone(), options.pager.clone(), clock.clone()).start();
        let andon = {
            let (plant, store, hub, clock) = (plant.clone(), store.clone(), hub.clone(), clock.clone());
            let (flags, ownership, bus) = (options.flags.clone(), ownership.clone(), options.bus.clone());
            Supervisor::start(move |_| {
                AndonDesk::new(plant, store, hub, notifier, clock, flags.clone(), ownership.clone()).relay(bus.clone())
            })
        };
        let lines: Vec<Addr<LineActor>> = (0..plant.lines.len())
            .map(|i| {
                let (plant, hub, cache) = (plant.clone(), hub.clone(), cache.clone());
                let relay = options.bus.clone().map(|bus| (bus, ownership.clone()));
                Supervisor::start(move |_| {
                    LineActor::new(i, plant, hub, cache.clone(), options.coalesce).relay(relay.clone())
                })
            })
            .collect();
        let now = clock.now_ms();
        let mut machines = Vec::with_capacity(plant.machines.len());
        for idx in 0..plant.machines.len() {
            let mut machine = Machine::new(plant.clone(), idx);
            let history = load_history(&store, &plant, idx, now).await?;
            machine.restore(&history, now);
            let line = lines[plant.machines[idx].line].clone();
            let (plant, writer, clock) = (plant.clone(), writer.clone(), clock.clone());
            let publish = (hub.clone(), cache.clone());
            let desk = andon.clone().recipient();
            let coalesce = options.coalesce;
            // A replica runs no machine before its first lease round.
            let owned = options.replica.is_none();
            let bus = options.bus.clone();
            machines.push(Supervisor::start(move |_| {
                MachineActor::new(
                    machine,
                    idx,
                    plant,
                    line,
                    publish.clone(),
                    writer,
                    desk,
                    clock,
                    coalesce,
                )
                .owned(owned)
                .relay(bus.clone())
            }));
        }
        Ok(PlantHandle {
            inner: Arc::new(Inner {
                router: TagRouter::new(plant.clone()),
                plant,
                machines,
                lines,
                hub,
                cache,
                writer,
                andon,
                raw_samples: options.raw_samples,
                store,
                ownership,
                replica: options.replica.is_some(),
                bus: options.bus,
            }),
        })
    }

    /// The plant model.
    pub fn plant(&self) -> &Arc<PlantModel> {
        &self.inner.plant
    }

    /// The hub.
    pub fn hub(&self) -> &Addr<Hub> {
        &self.inner.hub
    }

    /// The REST bytes of machines and lines.
    pub fn cache(&self) -> &Arc<LiveCache> {
        &self.inner.cache
    }

    /// Which lines run here.
    pub fn ownership(&self) -> &Arc<Ownership> {
        &self.inner.ownership
    }

    /// The channel to the other replicas, when there is one.
    pub fn bus(&self) -> Option<&Bus> {
        self.inner.bus.as_ref()
    }

    /// Tells the other replicas that people changed `topic` in the store here.
    pub fn changed(&self, topic: Topic) {
        if let Some(bus) = &self.inner.bus {
            bus.changed(topic);
        }
    }

    /// Shows another replica's state `json` of a machine or line here (REST bodies and
    /// sockets), unless its line runs here (then this replica's own state is the truth).
    pub fn show_relayed(&self, kind: EntityKind, id: &str, paced: bool, json: bytestring::ByteString) {
        let plant = &self.inner.plant;
        let cache = &self.inner.cache;
        let json = EntityJson::from_json(id, json);
        let (line_idx, order, channels) = match kind {
            EntityKind::Machine => {
                let Some((idx, model)) = plant.machine(id) else { return };
                (model.line, idx, vec![format!("machine:{id}")])
            }
            EntityKind::Line => {
                let Some((idx, _)) = plant.line(id) else { return };
                (idx, idx, vec![format!("line:{id}"), PRODUCTION_UPDATES.to_owned()])
            }
        };
        if self.inner.ownership.owns(line_idx) {
            return;
        }
        match kind {
            EntityKind::Machine => {
                cache.machine_changed(order);
                cache.store_machine(order, json.clone());
            }
            EntityKind::Line => {
                let version = cache.line_changed(order);
                cache.store_line(order, version, json.clone());
            }
        }
        self.inner.hub.do_send(Publish {
            channels,
            entity: id.to_owned(),
            line: Arc::from(plant.lines[line_idx].id.as_str()),
            order,
            json,
            retire: false,
            since: None,
            paced,
        });
    }

    /// Sends the other replicas the state of every machine and line that runs here (a
    /// replica that (re)joined the channel asked for them).
    pub async fn send_owned_states(&self) {
        let Some(bus) = &self.inner.bus else { return };
        let plant = &self.inner.plant;
        for (idx, line) in plant.lines.iter().enumerate() {
            if !self.inner.ownership.owns(idx) {
                continue;
            }
            for &m in &line.machines {
                if let Some(body) = self.machine_body(m).await {
                    let id = &plant.machines[m].id;
                    if let Ok(text) = bytestring::ByteString::try_from(body.json().clone()) {
                        bus.state(EntityKind::Machine, id, false, EntityJson::from_json(id, text));
                    }
                }
            }
            if let Some(body) = self.line_body(idx).await
                && let Ok(text) = bytestring::ByteString::try_from(body.json().clone())
            {
                bus.state(EntityKind::Line, &line.id, true, EntityJson::from_json(&line.id, text));
            }
        }
    }

    /// Starts these machines again from the store, which holds more of their history now
    /// (an edge's records, forwarded here): their live windows show it. Machines of lines
    /// run by another replica are started by it, asked through Redis.
    pub async fn reload_machines(&self, machines: &[MachineIdx], now: EpochMs) -> Result<(), StoreError> {
        let (own, others): (Vec<MachineIdx>, Vec<MachineIdx>) = machines.iter().partition(|&&m| self.owns_machine(m));
        if let Some(bus) = self.bus()
            && !others.is_empty()
        {
            bus.reload(
                others
                    .iter()
                    .map(|&m| self.inner.plant.machines[m].id.clone())
                    .collect(),
            );
        }
        for m in own {
            let history = load_history(&self.inner.store, &self.inner.plant, m, now).await?;
            self.inner.machines[m].do_send(Own { history, now });
        }
        Ok(())
    }

    fn owns_machine(&self, idx: MachineIdx) -> bool {
        self.inner
            .plant
            .machines
            .get(idx)
            .is_some_and(|m| self.inner.ownership.owns(m.line))
    }

    /// Takes the shards leased in `owned` (see `cluster`): the machines of lines now owned
    /// start again from the store, those of lines lost stop at once. Answers what changed.
    pub async fn take_leases(&self, owned: &Owned, now: EpochMs) -> Result<Handover, StoreError> {
        let plant = &self.inner.plant;
        let ownership = &self.inner.ownership;
        let handover = ownership.changes(plant, owned);
        for &line in &handover.lost {
            // Samples stop being routed, the machines stop and pass on what they counted,
            // and that is written (under the lease, if it still holds) before the line goes.
            ownership.stop_routing(line);
            for &m in &plant.lines[line].machines {
                let _ = self.inner.machines[m].send(Disown).await;
            }
            let _ = self.inner.writer.send(Flush).await;
            ownership.set(line, None);
            tracing::info!(line = %plant.lines[line].id, "line handed over to another replica");
        }
        for &(line, epoch) in &handover.gained {
            for &m in &plant.lines[line].machines {
                let history = load_history(&self.inner.store, plant, m, now).await?;
                self.inner.machines[m].do_send(Own { history, now });
            }
            // The machines run (their `Own` is queued first) before samples are routed.
            ownership.set(line, Some(epoch));
            tracing::info!(line = %plant.lines[line].id, "line taken over, restored from the store");
        }
        Ok(handover)
    }

    fn route(&self, source: &'static str, updates: Vec<TagUpdate>) -> RoutedBatch {
        metrics::counter!(m::TAG_UPDATES, "source" => source).increment(updates.len() as u64);
        if self.inner.raw_samples {
            let raw = if self.inner.replica {
                // One of several: the raw samples of lines run elsewhere are their owner's.
                let tags = &self.inner.plant.tags;
                updates
                    .iter()
                    .filter(|u| tags.get(&u.tag).is_none_or(|(m, _)| self.owns_machine(*m)))
                    .cloned()
                    .collect()
            } else {
                updates.clone()
            };
            if !raw.is_empty() {
                self.inner.writer.do_send(RawSamples(raw));
            }
        }
        let batch = self.inner.router.route(updates);
        for (reason, n) in [("unknown_tag", batch.unknown_tag), ("bad_quality", batch.bad_quality)] {
            if n > 0 {
                metrics::counter!(m::TAG_REJECTED, "source" => source, "reason" => reason).increment(n as u64);
            }
        }
        if batch.uncertain_quality > 0 {
            metrics::counter!(m::TAG_UNCERTAIN, "source" => source).increment(batch.uncertain_quality as u64);
        }
        batch
    }

    /// Routes and delivers updates without waiting (sources' hot path).
    pub fn deliver(&self, source: &'static str, updates: Vec<TagUpdate>) {
        let received = Instant::now();
        for (machine, samples) in self.route(source, updates).per_machine {
            if !self.owns_machine(machine) {
                metrics::counter!(m::TAG_REJECTED, "source" => source, "reason" => "not_owner")
                    .increment(samples.len() as u64);
                continue;
            }
            self.inner.machines[machine].do_send(ApplySamples {
                source,
                samples,
                received,
            });
        }
    }

    /// Routes and delivers updates, and reports what became of them.
    pub async fn deliver_and_report(&self, source: &'static str, updates: Vec<TagUpdate>) -> IngestReport {
        let (received, at) = (updates.len(), Instant::now());
        let batch = self.route(source, updates);
        let (mine, others): (Vec<_>, Vec<_>) = batch
            .per_machine
            .into_iter()
            .partition(|(machine, _)| self.owns_machine(*machine));
        let not_owner: usize = others.iter().map(|(_, samples)| samples.len()).sum();
        if not_owner > 0 {
            metrics::counter!(m::TAG_REJECTED, "source" => source, "reason" => "not_owner").increment(not_owner as u64);
        }
        let sends = mine.into_iter().map(|(machine, samples)| {
            self.inner.machines[machine].send(ApplySamples {
                source,
                samples,
                received: at,
            })
        });
        let mut report = IngestReport {
            received,
            unknown_tag: batch.unknown_tag,
            bad_quality: batch.bad_quality,
            uncertain_quality: batch.uncertain_quality,
            not_owner,
            ..IngestReport::default()
        };
        for counts in join_all(sends).await {
            let c: SampleCounts = counts.unwrap_or_default();
            report.applied += c.applied;
            report.duplicate += c.duplicate;
            report.late += c.late;
            report.wrong_value += c.wrong_value;
        }
        report
    }

    /// Tells every machine its source is alive at `ts`.
    pub fn heartbeat_all(&self, ts: EpochMs) {
        for (i, m) in self.inner.machines.iter().enumerate() {
            if self.owns_machine(i) {
                m.do_send(Heartbeat(ts));
            }
        }
    }

    /// Tells these machines their source is alive at `ts`.
    pub fn heartbeat(&self, ts: EpochMs, machines: &[MachineIdx]) {
        for &i in machines {
            if let Some(m) = self.inner.machines.get(i).filter(|_| self.owns_machine(i)) {
                m.do_send(Heartbeat(ts));
            }
        }
    }

    /// Tells these machines their source knew at `at` that its connection is gone.
    pub fn comms_lost(&self, at: EpochMs, machines: &[MachineIdx]) {
        for &i in machines {
            if let Some(m) = self.inner.machines.get(i).filter(|_| self.owns_machine(i)) {
                m.do_send(CommsLost { at });
            }
        }
    }

    /// The Andon desk.
    pub fn andon(&self) -> &Addr<AndonDesk> {
        &self.inner.andon
    }

    /// Runs every machine's staleness check, auto-raise checks and due escalations now,
    /// and waits for them (the periodic timers do the same; tests drive a manual clock).
    pub async fn tick(&self) {
        join_all(self.inner.machines.iter().map(|m| m.send(Tick))).await;
        let _ = self.inner.andon.send(CheckNow).await;
    }

    /// Snapshots of every line, in plant order.
    pub async fn lines(&self) -> Vec<Arc<LineSnapshot>> {
        join_all(self.inner.lines.iter().map(|l| l.send(GetLine)))
            .await
            .into_iter()
            .filter_map(Result::ok)
            .collect()
    }

    /// The current JSON of line `idx` (from the cache, or from its actor when the cache is
    /// behind).
    pub async fn line_body(&self, idx: usize) -> Option<Arc<Body>> {
        if let Ok(body) = self.inner.cache.line(idx) {
            return Some(body);
        }
        let (snapshot, version) = self.inner.lines.get(idx)?.send(GetLineVersion).await.ok()?;
        let json = serde_json::to_vec(&*snapshot).ok()?;
        Some(self.inner.cache.store_line_at(idx, version, json))
    }

    /// The current JSON of machine `idx`.
    pub async fn machine_body(&self, idx: usize) -> Option<Arc<Body>> {
        let version = match self.inner.cache.machine(idx) {
            Ok(body) => return Some(body),
            Err(v) => v,
        };
        let snapshot = self.inner.machines.get(idx)?.send(GetMachine).await.ok()?;
        let json = serde_json::to_vec(&*snapshot).ok()?;
        Some(self.inner.cache.store_machine_at(idx, version, json))
    }

    /// Snapshot of one line.
    pub async fn line(&self, id: &str) -> Option<Arc<LineSnapshot>> {
        let (idx, _) = self.inner.plant.line(id)?;
        self.inner.lines[idx].send(GetLine).await.ok()
    }

    /// Snapshot of one machine.
    pub async fn machine(&self, id: &str) -> Option<Arc<MachineSnapshot>> {
        let (idx, _) = self.inner.plant.machine(id)?;
        self.inner.machines[idx].send(GetMachine).await.ok()
    }

    /// Whether every line and machine actor answers (readiness).
    pub async fn actors_up(&self) -> bool {
        let lines = join_all(self.inner.lines.iter().map(|l| l.send(GetLine))).await;
        let machines = join_all(self.inner.machines.iter().map(|m| m.send(GetMachine))).await;
        lines.iter().all(Result::is_ok) && machines.iter().all(Result::is_ok)
    }

    /// Gives machines the product of their line's running job (`None`: no job runs), and
    /// waits until each has it.
    pub async fn set_job_products(&self, products: Vec<(MachineIdx, Option<Product>)>) {
        let sends = products
            .into_iter()
            .filter_map(|(idx, product)| self.inner.machines.get(idx).map(|m| m.send(SetJobProduct(product))));
        join_all(sends).await;
    }

    /// Applies a parts correction (a manual reject or its void) to a machine's live
    /// windows and waits for it, so a read that follows sees it. `false` when the actor
    /// did not answer (the store has the correction; a restart picks it up).
    pub async fn correct_parts(&self, idx: MachineIdx, at: EpochMs, tally: Tally) -> bool {
        // Another replica runs the machine: the correction goes to it.
        if let Some(bus) = self.inner.bus.as_ref().filter(|_| !self.owns_machine(idx))
            && let Some(model) = self.inner.plant.machines.get(idx)
        {
            bus.correct(&model.id, at, tally);
            return true;
        }
        match self.inner.machines.get(idx) {
            Some(m) => m.send(CorrectParts { at, tally }).await.is_ok(),
            None => false,
        }
    }

    /// Shows a machine's trend warning on its snapshot (pushed like any other change), and
    /// waits for it, so a read that follows (through the REST cache too) sees it.
    pub async fn set_trend_warning(&self, idx: MachineIdx, warning: Option<TrendWarning>) {
        if let Some(bus) = self.inner.bus.as_ref().filter(|_| !self.owns_machine(idx))
            && let Some(model) = self.inner.plant.machines.get(idx)
        {
            bus.trend(&model.id, warning);
            return;
        }
        if let Some(m) = self.inner.machines.get(idx) {
            // An actor that does not answer is restarting; the next refresh sets it again.
            let _ = m.send(SetTrendWarning(warning)).await;
        }
    }

    /// Makes a machine actor panic (fault-injection tests and drills).
    pub fn poison_machine(&self, idx: MachineIdx) {
        if let Some(m) = self.inner.machines.get(idx) {
            m.do_send(Poison);
        }
    }

    /// Writes everything the telemetry writer holds and waits for it. Machines first
    /// checkpoint their open intervals.
    pub async fn flush(&self) {
        self.tick().await;
        let _ = self.inner.writer.send(Flush).await;
    }

    /// [`PlantHandle::flush`], and the replicas that run the other lines write what they
    /// hold too (each answers; at most [`crate::cluster::bus::FLUSH_WAIT`]): a read of the
    /// store that follows sees every line as its live state does.
    pub async fn flush_everywhere(&self) {
        let elsewhere: Vec<String> = match &self.inner.bus {
            Some(_) => (0..self.inner.plant.lines.len())
                .filter(|&i| !self.inner.ownership.owns(i))
                .map(|i| self.inner.plant.lines[i].id.clone())
                .collect(),
            None => Vec::new(),
        };
        match &self.inner.bus {
            Some(bus) if !elsewhere.is_empty() => {
                futures_util::join!(self.flush(), bus.flush_owners(elsewhere));
            }
            _ => self.flush().await,
        }
    }
}

async fn load_history(
    store: &Store,
    plant: &PlantModel,
    idx: MachineIdx,
    now: EpochMs,
) -> Result<MachineHistory, StoreError> {
    let model = &plant.machines[idx];
    let cal = &plant.calendar;
    let from = [now - RESTORE_LOOKBACK_MS, cal.day_start(now)]
        .into_iter()
        .chain(cal.shift_at(now).map(|s| s.start))
        .min()
        .unwrap_or(now - RESTORE_LOOKBACK_MS);
    let intervals = store.intervals(&model.id, from, EpochMs::MAX).await?;
    let parts = store.parts(&model.id, from, EpochMs::MAX).await?;
    let tag_names: Vec<&str> = model.signals.iter().map(|s| s.tag.as_str()).collect();
    let tags = store
        .tag_last(&tag_names)
        .await?
        .into_iter()
        .filter_map(|(tag, ts, value)| {
            let (_, signal) = *plant.tags.get(&tag)?;
            Some((signal, ts, value))
        })
        .collect();
    let open_downtime = store.open_downtime(&model.id).await?;
    Ok(MachineHistory {
        intervals,
        parts,
        tags,
        open_downtime,
    })
}

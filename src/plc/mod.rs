//! Where tag values come from: sources (the built-in simulator, OPC UA, Modbus, Logix, PCCC,
//! MQTT, HTTP ingest) all hand [`TagUpdate`]s to a [`TagSink`], which routes them through the one
//! [`router::TagRouter`] to the machine actors.

pub mod enip;
pub mod health;
pub mod logix;
pub mod modbus;
pub mod mqtt;
pub mod opcua;
pub mod opcua_server;
pub mod pccc;
pub mod router;
pub mod simulate;
pub mod simulator;

pub use crate::domain::tag::{Quality, TagUpdate, TagValue};

use crate::actors::plant::{IngestReport, PlantHandle};
use crate::domain::EpochMs;

/// A source of tag values that runs on its own (the simulator, OPC UA): started
/// once with the sink it delivers into. Push sources such as HTTP ingest use a
/// [`TagSink`] directly.
pub trait TagSource {
    /// Name used in logs and as the `source` metrics label.
    fn name(&self) -> &'static str;
    /// Starts delivering into `sink` (spawns its own task; returns at once).
    fn start(self: Box<Self>, sink: TagSink);
}

/// The entry point of every source: routes and delivers tag updates.
#[derive(Clone)]
pub struct TagSink {
    plant: PlantHandle,
    source: &'static str,
}

impl TagSink {
    /// A sink that labels what it delivers with `source` (in metrics).
    pub fn new(plant: PlantHandle, source: &'static str) -> Self {
        TagSink { plant, source }
    }

    /// Delivers updates without waiting for them to be applied (the hot path).
    pub fn deliver(&self, updates: Vec<TagUpdate>) {
        self.plant.deliver(self.source, updates);
    }

    /// Delivers updates and reports what became of each kind (for ingest responses).
    pub async fn deliver_and_report(&self, updates: Vec<TagUpdate>) -> IngestReport {
        self.plant.deliver_and_report(self.source, updates).await
    }

    /// Tells every machine that the source is alive at `ts`.
    pub fn heartbeat(&self, ts: EpochMs) {
        self.plant.heartbeat_all(ts);
    }

    /// Tells these machines that their source is alive at `ts`.
    pub fn heartbeat_machines(&self, ts: EpochMs, machines: &[crate::domain::plant::MachineIdx]) {
        self.plant.heartbeat(ts, machines);
    }

    /// Whether this process runs any of these machines' lines (always, for a lone MS5):
    /// a PLC endpoint is talked to only by a replica that runs some of its machines.
    pub fn runs_any(&self, machines: &[crate::domain::plant::MachineIdx]) -> bool {
        self.plant.ownership().owns_any(&self.lines_of(machines))
    }

    /// Waits until this process runs one of these machines' lines.
    pub async fn until_runs_any(&self, machines: &[crate::domain::plant::MachineIdx]) {
        let lines = self.lines_of(machines);
        self.plant.ownership().until(|o| o.owns_any(&lines)).await;
    }

    /// Waits until this process runs none of these machines' lines (another replica took
    /// them over).
    pub async fn until_runs_none(&self, machines: &[crate::domain::plant::MachineIdx]) {
        let lines = self.lines_of(machines);
        self.plant.ownership().until(|o| !o.owns_any(&lines)).await;
    }

    fn lines_of(&self, machines: &[crate::domain::plant::MachineIdx]) -> Vec<usize> {
        let plant = self.plant.plant();
        let mut lines: Vec<usize> = machines
            .iter()
            .filter_map(|&m| plant.machines.get(m))
            .map(|m| m.line)
            .collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    }

    /// Tells these machines that their source knew at `at` (wall clock) that its
    /// connection is gone: they turn `unknown` (`comms_lost`) at once. Delivered after
    /// every update this sink was given before it.
    pub fn comms_lost(&self, at: EpochMs, machines: &[crate::domain::plant::MachineIdx]) {
        self.plant.comms_lost(at, machines);
    }
}

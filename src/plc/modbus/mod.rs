//! Modbus TCP source: polls devices and gateways (tokio-modbus client) and feeds the same
//! [`TagSink`] as every other source; and `ms5 simulate`'s Modbus server ([`server`]).
//!
//! Per endpoint: the tags' addresses ([`address`]) become as few read requests as the
//! protocol allows ([`plan`]), read every `poll_interval`; the registers become values
//! ([`codec`]) and a value goes into the pipeline when it changed (and once after every
//! connect). The connection loop is in [`poll`].

pub mod address;
pub mod codec;
pub mod plan;
pub mod poll;
pub mod server;

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{TagSink, TagSource};
use crate::clock::Clock;
use crate::config::{ModbusEndpoint, Reconnect};
use crate::domain::plant::{MachineIdx, PlantModel};

/// The `kind` label of this source's metrics.
pub const KIND: &str = "modbus";

/// The source: one task per endpoint.
pub struct ModbusSource {
    endpoints: Vec<ModbusEndpoint>,
    reconnect: Reconnect,
    plant: Arc<PlantModel>,
    clock: Clock,
}

impl ModbusSource {
    /// A source for these endpoints, reconnecting with these delays.
    pub fn new(endpoints: Vec<ModbusEndpoint>, reconnect: Reconnect, plant: Arc<PlantModel>, clock: Clock) -> Self {
        ModbusSource {
            endpoints,
            reconnect,
            plant,
            clock,
        }
    }
}

impl TagSource for ModbusSource {
    fn name(&self) -> &'static str {
        KIND
    }

    fn start(self: Box<Self>, sink: TagSink) {
        for ep in self.endpoints {
            // Validated at load; a tag that still does not resolve feeds nothing.
            let points = ep.points().unwrap_or_default();
            let machines: Vec<MachineIdx> = points
                .iter()
                .filter_map(|p| self.plant.tags.get(&p.tag).map(|&(m, _)| m))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let endpoint = poll::Endpoint::new(ep, points, machines, self.reconnect, sink.clone(), self.clock.clone());
            actix_rt::spawn(endpoint.run());
        }
    }
}

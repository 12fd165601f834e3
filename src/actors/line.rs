//! `LineActor`: one per line. Keeps the latest snapshot of each of its machines and
//! pushes the line roll-up (output machine's counts, constraint machine's time).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::hub::{Hub, PRODUCTION_UPDATES, Publish};
use super::live_cache::LiveCache;
use crate::cluster::bus::Bus;
use crate::cluster::ownership::Ownership;
use crate::domain::cluster::bus_message::EntityKind;
use crate::domain::plant::PlantModel;
use crate::domain::snapshot::{LineSnapshot, MachineSnapshot, line_snapshot};
use crate::domain::throttle::{Cause, Push, Throttle};
use crate::metrics::OeeGauges;

/// A machine of this line has a new snapshot.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MachineChanged {
    /// The machine's position in the line.
    pub position: usize,
    /// Its snapshot.
    pub snapshot: Arc<MachineSnapshot>,
    /// The line's cache version this snapshot brings it to.
    pub version: u64,
    /// Why it changed.
    pub cause: Cause,
}

/// The line's current snapshot.
#[derive(Message)]
#[rtype(result = "Arc<LineSnapshot>")]
pub struct GetLine;

/// The line's current snapshot and the cache version it shows.
#[derive(Message)]
#[rtype(result = "(Arc<LineSnapshot>, u64)")]
pub struct GetLineVersion;

/// The actor.
pub struct LineActor {
    idx: usize,
    plant: Arc<PlantModel>,
    /// Shared with the machines' published states (not copied at each change).
    machines: Vec<Option<Arc<MachineSnapshot>>>,
    hub: Addr<Hub>,
    cache: Arc<LiveCache>,
    /// Newest cache version among the machine snapshots received.
    version: u64,
    throttle: Throttle,
    gauges: OeeGauges,
    /// The channel to the other replicas, and which lines run here: an owned line's
    /// states go to the others.
    relay: Option<(Bus, Arc<Ownership>)>,
}

impl LineActor {
    /// The actor of line `idx`.
    pub fn new(idx: usize, plant: Arc<PlantModel>, hub: Addr<Hub>, cache: Arc<LiveCache>, coalesce: Duration) -> Self {
        let n = plant.lines[idx].machines.len();
        let gauges = OeeGauges::new("line", &plant.lines[idx].id);
        LineActor {
            idx,
            plant,
            machines: vec![None; n],
            hub,
            cache,
            version: 0,
            throttle: Throttle::new(coalesce),
            gauges,
            relay: None,
        }
    }

    /// Sends its states to the other replicas while this replica owns the line.
    pub fn relay(mut self, relay: Option<(Bus, Arc<Ownership>)>) -> Self {
        self.relay = relay;
        self
    }

    fn snapshot(&self) -> LineSnapshot {
        line_snapshot(&self.plant, self.idx, &self.machines)
    }

    /// Pushes the line, paced (see [`Publish::paced`]): a line changes with each of its
    /// machines, and a client of every line would be woken for each change.
    fn publish(&mut self) {
        let snapshot = Arc::new(self.snapshot());
        self.gauges.set(&snapshot.windows);
        let channels = vec![format!("line:{}", snapshot.id), PRODUCTION_UPDATES.to_owned()];
        let (id, line) = (snapshot.id.clone(), Arc::from(snapshot.id.as_str()));
        let mut publish = Publish::of(snapshot, channels, id, line, self.idx, false);
        publish.paced = true;
        if let Some((bus, _)) = self.relay.as_ref().filter(|(_, o)| o.owns(self.idx)) {
            bus.state(EntityKind::Line, &publish.entity, true, publish.json.clone());
        }
        self.cache.store_line(self.idx, self.version, publish.json.clone());
        self.hub.do_send(publish);
    }
}

impl Actor for LineActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        self.publish();
    }
}

impl Supervised for LineActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        tracing::warn!(line = %self.plant.lines[self.idx].id, "line actor restarting");
    }
}

impl Handler<MachineChanged> for LineActor {
    type Result = ();

    fn handle(&mut self, msg: MachineChanged, ctx: &mut Context<Self>) {
        if let Some(slot) = self.machines.get_mut(msg.position) {
            *slot = Some(msg.snapshot);
        }
        self.version = self.version.max(msg.version);
        match self.throttle.on(msg.cause, Instant::now()) {
            Push::Now => self.publish(),
            Push::After(wait) => {
                ctx.run_later(wait, |act, _| {
                    act.throttle.flushed(Instant::now());
                    act.publish();
                });
            }
            Push::Scheduled => {}
        }
    }
}

impl Handler<GetLine> for LineActor {
    type Result = MessageResult<GetLine>;

    fn handle(&mut self, _: GetLine, _: &mut Context<Self>) -> Self::Result {
        MessageResult(Arc::new(self.snapshot()))
    }
}

impl Handler<GetLineVersion> for LineActor {
    type Result = MessageResult<GetLineVersion>;

    fn handle(&mut self, _: GetLineVersion, _: &mut Context<Self>) -> Self::Result {
        MessageResult((Arc::new(self.snapshot()), self.version))
    }
}

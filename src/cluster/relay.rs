//! What a replica does with each message from the others (see `cluster::bus`): shows
//! their machines' and lines' states, sends its own when asked, reads again what people
//! changed elsewhere, applies corrections and trend warnings to machines it runs, starts
//! again machines an edge's records reached elsewhere, and claims the leases of a replica
//! that left.

use crate::actors::andon::Resync;
use crate::actors::job_board::JobBoard;
use crate::actors::plant::PlantHandle;
use crate::clock::Clock;
use crate::domain::cluster::bus_message::{BusMessage, Topic};

use super::replica::Replica;

/// The parts of this replica that messages reach.
#[derive(Clone)]
pub struct Relay {
    /// The plant's actors.
    pub plant: PlantHandle,
    /// Jobs (a job started elsewhere gives this replica's machines their product).
    pub jobs: JobBoard,
    /// The lease keeper.
    pub replica: Replica,
    /// The time.
    pub clock: Clock,
}

impl Relay {
    /// Acts on one message from another replica.
    pub fn receive(&self, msg: BusMessage) {
        match msg {
            BusMessage::State {
                kind, id, paced, data, ..
            } => {
                let json: Box<str> = data.into();
                self.plant.show_relayed(kind, &id, paced, json.into_string().into());
            }
            BusMessage::Resync { .. } => {
                let plant = self.plant.clone();
                actix_rt::spawn(async move { plant.send_owned_states().await });
            }
            BusMessage::Changed {
                topic: Topic::Andon, ..
            } => self.plant.andon().do_send(Resync),
            BusMessage::Changed { topic: Topic::Jobs, .. } => {
                let jobs = self.jobs.clone();
                actix_rt::spawn(async move {
                    if let Err(e) = jobs.reread().await {
                        tracing::warn!(error = %e, "cannot read the jobs changed on another replica");
                    }
                });
            }
            BusMessage::Correct { machine, at, tally, .. } => {
                if let Some(idx) = self.owned_machine(&machine) {
                    let plant = self.plant.clone();
                    actix_rt::spawn(async move {
                        plant.correct_parts(idx, at, tally).await;
                    });
                }
            }
            BusMessage::Trend { machine, warning, .. } => {
                if let Some(idx) = self.owned_machine(&machine) {
                    let plant = self.plant.clone();
                    actix_rt::spawn(async move { plant.set_trend_warning(idx, warning).await });
                }
            }
            BusMessage::Flush { from, lines, nonce } => {
                let plant = self.plant.clone();
                let owned: Vec<String> = lines
                    .into_iter()
                    .filter(|l| plant.plant().line(l).is_some_and(|(i, _)| plant.ownership().owns(i)))
                    .collect();
                if !owned.is_empty() {
                    actix_rt::spawn(async move {
                        plant.flush().await;
                        if let Some(bus) = plant.bus() {
                            bus.flushed(&from, nonce, owned);
                        }
                    });
                }
            }
            // Taken by the bus itself.
            BusMessage::Flushed { .. } => {}
            BusMessage::Reload { machines, .. } => {
                let owned: Vec<usize> = machines.iter().filter_map(|m| self.owned_machine(m)).collect();
                if !owned.is_empty() {
                    let (plant, now) = (self.plant.clone(), self.clock.now_ms());
                    actix_rt::spawn(async move {
                        if let Err(e) = plant.reload_machines(&owned, now).await {
                            tracing::warn!(error = %e, "cannot show an edge's forwarded records live");
                        }
                    });
                }
            }
            BusMessage::Released { from } => {
                tracing::info!(replica = %from, "a replica handed its leases over; claiming now");
                let replica = self.replica.clone();
                actix_rt::spawn(async move {
                    if let Err(e) = replica.round().await {
                        tracing::warn!(error = %e, "lease round failed; trying again at the next");
                    }
                });
            }
        }
    }

    /// The machine `id`, if its line runs here (else its owner acts on it).
    fn owned_machine(&self, id: &str) -> Option<usize> {
        let (idx, model) = self.plant.plant().machine(id)?;
        self.plant.ownership().owns(model.line).then_some(idx)
    }
}

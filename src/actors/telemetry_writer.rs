//! `TelemetryWriter`: gathers machine events and raw samples into batches (merged per
//! interval, machine-minute, downtime and tag) and hands them to one writer task, so the
//! database is written in a few large transactions and never on the hot path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::cluster::ownership::Ownership;
use crate::domain::cluster::shard::shard_of;
use crate::domain::machine::MachineEvent;
use crate::domain::plant::{MachineIdx, PlantModel};
use crate::domain::tag::TagUpdate;
use crate::metrics as m;
use crate::store::batch::Batch;
use crate::store::{Fence, Store};

/// Events of one machine.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Record {
    /// The machine.
    pub machine: MachineIdx,
    /// What happened.
    pub events: Vec<MachineEvent>,
}

/// Raw tag samples to keep.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RawSamples(pub Vec<TagUpdate>);

/// Write everything held now; resolves when it is in the database.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush;

struct WriteJob {
    batch: Batch,
    done: Option<oneshot::Sender<()>>,
}

/// The actor.
pub struct TelemetryWriter {
    plant: Arc<PlantModel>,
    batch: Batch,
    batch_max: usize,
    /// Raw samples held at most (`store.backlog_max`) before new ones are dropped.
    backlog_max: usize,
    flush_interval: Duration,
    jobs: mpsc::Sender<WriteJob>,
}

impl TelemetryWriter {
    /// A writer to `store`; spawns its writer task. A replica's writer is `fenced`.
    pub fn new(
        plant: Arc<PlantModel>,
        store: Store,
        (batch_max, backlog_max): (usize, usize),
        flush_interval: Duration,
        fenced: Option<WriterFence>,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(2);
        actix_rt::spawn(write_loop(store, rx, plant.clone(), fenced));
        TelemetryWriter {
            plant,
            batch: Batch::default(),
            batch_max,
            backlog_max,
            flush_interval,
            jobs,
        }
    }

    /// Hands the batch to the writer task if it has room; otherwise keeps merging.
    fn send_batch(&mut self) {
        if self.batch.is_empty() || self.jobs.capacity() == 0 {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        // Capacity was checked and this actor is the only sender.
        let _ = self.jobs.try_send(WriteJob { batch, done: None });
        metrics::gauge!(m::STORE_BACKLOG).set(0.0);
    }

    fn after_add(&mut self) {
        let len = self.batch.len();
        metrics::gauge!(m::STORE_BACKLOG).set(len as f64);
        if len >= self.batch_max {
            self.send_batch();
        }
    }
}

/// A replica's writer writes only the lines it still leases (see [`Store::write_fenced`]).
pub struct WriterFence {
    /// The replica's name.
    pub replica: String,
    /// Which lines it runs, under which epoch.
    pub ownership: Arc<Ownership>,
    /// Its clock.
    pub clock: Clock,
}

async fn write_loop(
    store: Store,
    mut jobs: mpsc::Receiver<WriteJob>,
    plant: Arc<PlantModel>,
    fenced: Option<WriterFence>,
) {
    let lease_of = |m: MachineIdx| {
        let line = plant.machines.get(m)?.line;
        let epoch = fenced.as_ref()?.ownership.epoch(line)?;
        Some((shard_of(&plant.lines[line].id), epoch))
    };
    let machine_of_tag = |tag: &str| plant.tags.get(tag).map(|(m, _)| *m);
    while let Some(job) = jobs.recv().await {
        let mut delay = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            let fence = fenced.as_ref().map(|f| Fence {
                replica: &f.replica,
                now: f.clock.now_ms(),
                lease_of: &lease_of,
                machine_of_tag: &machine_of_tag,
            });
            match store.write_fenced(&job.batch, fence.as_ref()).await {
                Ok(refused) => {
                    if refused > 0 {
                        tracing::warn!(
                            rows = refused,
                            "telemetry of lines this replica no longer leases refused"
                        );
                        metrics::counter!(m::CLUSTER_ROWS_FENCED).increment(refused as u64);
                    }
                    metrics::histogram!(m::STORE_BATCH_SECONDS).record(started.elapsed().as_secs_f64());
                    for (table, n) in [
                        ("machine_state_intervals", job.batch.intervals.len()),
                        ("production_counts", job.batch.parts.len()),
                        ("downtime_events", job.batch.downtime.len()),
                        ("tag_samples", job.batch.raw.len()),
                    ] {
                        metrics::counter!(m::STORE_ROWS, "table" => table).increment(n as u64);
                    }
                    break;
                }
                Err(e) => {
                    // Keep order and retry: later batches wait behind this one.
                    tracing::warn!(error = %e, retry_in = ?delay, "telemetry write failed");
                    metrics::counter!(m::STORE_ERRORS).increment(1);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        if let Some(done) = job.done {
            let _ = done.send(());
        }
    }
}

impl Actor for TelemetryWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.flush_interval, |act, _| act.send_batch());
    }
}

impl Handler<Record> for TelemetryWriter {
    type Result = ();

    fn handle(&mut self, msg: Record, _: &mut Context<Self>) {
        // An edge's line: its edge records it and forwards the records here.
        if self.plant.is_forwarded(msg.machine) {
            return;
        }
        self.batch.record(&self.plant, msg.machine, msg.events);
        self.after_add();
    }
}

impl Handler<RawSamples> for TelemetryWriter {
    type Result = ();

    fn handle(&mut self, msg: RawSamples, _: &mut Context<Self>) {
        let room = self.backlog_max.saturating_sub(self.batch.raw.len());
        let n = msg.0.len();
        if n > room {
            metrics::counter!(m::STORE_DROPPED).increment((n - room) as u64);
        }
        self.batch.raw.extend(msg.0.into_iter().take(room));
        self.after_add();
    }
}

impl Handler<Flush> for TelemetryWriter {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Flush, _: &mut Context<Self>) -> Self::Result {
        let batch = std::mem::take(&mut self.batch);
        metrics::gauge!(m::STORE_BACKLOG).set(0.0);
        let jobs = self.jobs.clone();
        Box::pin(async move {
            let (done, finished) = oneshot::channel();
            if jobs
                .send(WriteJob {
                    batch,
                    done: Some(done),
                })
                .await
                .is_ok()
            {
                let _ = finished.await;
            }
        })
    }
}

//! Jobs on the live path: what a job looks like with its progress and OEE (from the
//! store, by the same code as `?from=&to=`), the running job's product handed to its
//! line's machines, and `jobs:{line}` frames on every change and every few seconds
//! while a job runs.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use super::hub::Publish;
use super::plant::PlantHandle;
use crate::clock::Clock;
use crate::domain::EpochMs;
use crate::domain::cluster::bus_message::Topic;
use crate::domain::oee::{OeeFigures, compute};
use crate::domain::plant::Product;
use crate::domain::production::job::{JobProgress, JobState, ProgressInputs, progress, recent_spans, running_spans};
use crate::domain::production::product::{ProductDef, plant_products};
use crate::domain::snapshot::utc;
use crate::domain::tally::Tally;
use crate::store::{JobRecord, Store, StoreError};

/// Running time the current rate is measured over.
const RATE_WINDOW_MS: i64 = 15 * 60_000;

/// A job's product as a job shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobProduct {
    /// Code.
    pub code: String,
    /// Name (the code again if the product is gone).
    pub name: String,
}

/// One state change of a job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobChange {
    /// When.
    #[schema(value_type = String)]
    pub at: chrono::DateTime<chrono::Utc>,
    /// The state entered.
    pub state: JobState,
    /// Who.
    pub by: String,
}

/// A span `[from, to)` the job ran.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobSpan {
    /// Start.
    #[schema(value_type = String)]
    pub from: chrono::DateTime<chrono::Utc>,
    /// End (now, while running).
    #[schema(value_type = String)]
    pub to: chrono::DateTime<chrono::Utc>,
}

/// A job with its history, progress and OEE.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    /// Id.
    pub id: i64,
    /// Line id.
    pub line: String,
    /// Product.
    pub product: JobProduct,
    /// Target quantity of good parts.
    pub target: i64,
    /// Planned start.
    #[schema(value_type = Option<String>)]
    pub planned_start: Option<chrono::DateTime<chrono::Utc>>,
    /// Planned end.
    #[schema(value_type = Option<String>)]
    pub planned_end: Option<chrono::DateTime<chrono::Utc>>,
    /// Notes.
    pub notes: String,
    /// Current state.
    pub state: JobState,
    /// Created when.
    #[schema(value_type = String)]
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Created by.
    pub created_by: String,
    /// Every state change, oldest first.
    pub history: Vec<JobChange>,
    /// The spans it ran.
    pub spans: Vec<JobSpan>,
    /// Good, reject and total against the target, the current rate and the ETA.
    pub progress: JobProgress,
    /// OEE over the spans it ran (`null` before it first ran).
    pub oee: Option<OeeFigures>,
    /// Things to look at, e.g. a machine reporting another product than the job's.
    pub warnings: Vec<String>,
}

/// Jobs' views, products and frames.
#[derive(Clone)]
pub struct JobBoard {
    store: Store,
    plant: PlantHandle,
    clock: Clock,
}

impl JobBoard {
    /// A board over this store and plant.
    pub fn new(store: Store, plant: PlantHandle, clock: Clock) -> Self {
        JobBoard { store, plant, clock }
    }

    /// A product by code: a stored one, else the plant model's.
    pub async fn product(&self, code: &str) -> Result<Option<ProductDef>, StoreError> {
        if let Some(p) = self.store.product(code).await? {
            return Ok(Some(p));
        }
        Ok(plant_products(self.plant.plant()).into_iter().find(|p| p.code == code))
    }

    /// A job as the API and the `jobs:{line}` channel show it. A running job's telemetry
    /// is flushed first, so the figures equal `?from=&to=` over the same spans.
    pub async fn view(&self, job: JobRecord) -> Result<JobView, StoreError> {
        if job.state == JobState::Running {
            self.plant.flush().await;
        }
        self.view_flushed(job).await
    }

    /// Views of several jobs, with one flush for all of them.
    pub async fn views(&self, jobs: Vec<JobRecord>) -> Result<Vec<JobView>, StoreError> {
        if jobs.iter().any(|j| j.state == JobState::Running) {
            self.plant.flush().await;
        }
        let mut views = Vec::with_capacity(jobs.len());
        for job in jobs {
            views.push(self.view_flushed(job).await?);
        }
        Ok(views)
    }

    /// [`JobBoard::view`] once telemetry is flushed.
    async fn view_flushed(&self, job: JobRecord) -> Result<JobView, StoreError> {
        let plant = self.plant.plant().clone();
        let now = self.clock.now_ms();
        let changes: Vec<(EpochMs, JobState)> = job.events.iter().map(|(at, s, _)| (*at, *s)).collect();
        let spans = running_spans(&changes, now);
        let line = plant.line(&job.line).map(|(i, _)| i);
        let (mut tally, mut recent) = (Tally::default(), Tally::default());
        let recent_window = recent_spans(&spans, RATE_WINDOW_MS);
        if let Some(line) = line {
            for &(from, to) in &spans {
                tally += self.store.line_tally(&plant, line, from, to).await?;
            }
            for &(from, to) in &recent_window {
                recent += self.store.line_tally(&plant, line, from, to).await?;
            }
        }
        let run_ms: i64 = spans.iter().map(|(f, t)| t - f).sum();
        let recent_ms: i64 = recent_window.iter().map(|(f, t)| t - f).sum();
        let running = job.state == JobState::Running;
        let product = self.product(&job.product).await?;
        let name = product.as_ref().map_or_else(|| job.product.clone(), |p| p.name.clone());
        let warnings = if running {
            self.product_warnings(&job.line, &name).await
        } else {
            Vec::new()
        };
        Ok(JobView {
            id: job.id,
            product: JobProduct {
                code: job.product.clone(),
                name,
            },
            target: job.target,
            planned_start: job.planned_start.map(utc),
            planned_end: job.planned_end.map(utc),
            notes: job.notes.clone(),
            state: job.state,
            created_at: utc(job.created_at),
            created_by: job.created_by.clone(),
            history: job
                .events
                .iter()
                .map(|(at, state, by)| JobChange {
                    at: utc(*at),
                    state: *state,
                    by: by.clone(),
                })
                .collect(),
            spans: spans
                .iter()
                .map(|&(from, to)| JobSpan {
                    from: utc(from),
                    to: utc(to),
                })
                .collect(),
            progress: progress(
                ProgressInputs {
                    target: job.target,
                    good: tally.good,
                    total: tally.total,
                    recent_good: recent.good,
                    recent_ms,
                    run_ms,
                    running,
                },
                now,
            ),
            oee: (!spans.is_empty()).then(|| compute(&tally)),
            warnings,
            line: job.line,
        })
    }

    /// Machines of the line whose PLC reports another product than the job's: the PLC
    /// wins for counting, and the job says so.
    async fn product_warnings(&self, line: &str, job_product: &str) -> Vec<String> {
        let Some(snapshot) = self.plant.line(line).await else {
            return Vec::new();
        };
        snapshot
            .machines
            .iter()
            .filter_map(|m| {
                let reported = m.product.as_deref()?;
                (reported != job_product).then(|| {
                    format!(
                        "{} reports product `{reported}`; the job makes `{job_product}` (parts count as the PLC says)",
                        m.id
                    )
                })
            })
            .collect()
    }

    /// Gives every machine its line's running job's product, or none.
    pub async fn apply_products(&self) -> Result<(), StoreError> {
        let plant = self.plant.plant().clone();
        let running = self.store.running_jobs().await?;
        let mut per_machine = Vec::with_capacity(plant.machines.len());
        for line in &plant.lines {
            let job = running.iter().find(|j| j.line == line.id);
            let def = match job {
                Some(j) => self.product(&j.product).await?,
                None => None,
            };
            for &m in &line.machines {
                let product = def.as_ref().map(|p| Product {
                    name: p.name.clone(),
                    ideal_cycle_ms: p.ideal_cycle_on(&plant, m),
                });
                per_machine.push((m, product));
            }
        }
        self.plant.set_job_products(per_machine).await;
        Ok(())
    }

    /// Reads the jobs again (they changed in the store elsewhere: on another replica, or
    /// forwarded by an edge): machines take their running jobs' products, and every open
    /// job goes on its channel.
    pub async fn reread(&self) -> Result<(), StoreError> {
        self.apply_products().await?;
        self.publish_open(false).await
    }

    /// Sends a job's view on `jobs:{line}`; a completed or cancelled job is sent once
    /// more and then leaves the channel's snapshot.
    pub fn publish(&self, view: &JobView) {
        let channels = vec![format!("jobs:{}", view.line)];
        let order = usize::try_from(view.id).unwrap_or(usize::MAX);
        let line = Arc::from(view.line.as_str());
        let closed = !view.state.is_open();
        let publish = Publish::of(
            Arc::new(view.clone()),
            channels,
            view.id.to_string(),
            line,
            order,
            closed,
        );
        self.plant.hub().do_send(publish);
    }

    /// Sends a job people changed here, and tells the other replicas (their boards read
    /// the jobs again, and the machines of a line that runs there take its product).
    pub fn publish_changed(&self, view: &JobView) {
        self.publish(view);
        self.plant.changed(Topic::Jobs);
    }

    /// Publishes every open job of every line (at start and on each progress tick of a
    /// running job).
    pub async fn publish_open(&self, running_only: bool) -> Result<(), StoreError> {
        let jobs = if running_only {
            self.store.running_jobs().await?
        } else {
            self.store
                .jobs(&crate::store::JobFilter {
                    open_only: true,
                    limit: 1_000,
                    ..Default::default()
                })
                .await?
        };
        for view in self.views(jobs).await? {
            self.publish(&view);
        }
        Ok(())
    }
}

/// Starts the board: machines get their running jobs' products, open jobs go on their
/// channels, and running jobs' progress is pushed every `every`.
pub async fn start(board: JobBoard, every: Duration) -> Result<(), StoreError> {
    board.apply_products().await?;
    board.publish_open(false).await?;
    actix_rt::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = board.publish_open(true).await {
                tracing::warn!(error = %e, "cannot refresh job progress");
            }
        }
    });
    Ok(())
}

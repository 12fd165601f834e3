//! Reports made from the store: per line and machine OEE by the very tallies behind
//! `?from=&to=` ([`Store::line_tally`], [`Store::machine_tally`] and
//! [`crate::domain::oee::compute`]), downtime by the Pareto's rules, Andon tickets, and
//! the jobs that ran with their progress ([`JobBoard::view`]). Shift reports are stored
//! per line when the shift ends (see [`super::report`]) and served as stored.

use std::collections::HashSet;

use crate::actors::job_board::JobBoard;
use crate::actors::plant::PlantHandle;
use crate::clock::Clock;
use crate::domain::EpochMs;
use crate::domain::oee::compute;
use crate::domain::production::job::running_spans;
use crate::domain::production::period::{Period, of_shift, shifts_ended};
use crate::domain::production::report::{
    JobReport, LineReport, MachineReport, PartCounts, Report, ReportSource, Sections, andon_summary, clip,
    downtime_summary, rejects_by_defect,
};
use crate::domain::snapshot::utc;
use crate::domain::tally::Tally;
use crate::store::{ChecklistFilter, RejectFilter, Store, StoreError, StoredReport, TicketFilter};

/// Shifts ending this close to now may still have telemetry on its way: the reporter
/// flushes before it stores their reports.
const FLUSH_MARGIN_MS: i64 = 5 * 60_000;
/// Most tickets a line report lists.
const MAX_TICKETS: i64 = 10_000;

/// Makes, stores and reads reports.
#[derive(Clone)]
pub struct ReportBuilder {
    store: Store,
    plant: PlantHandle,
    jobs: JobBoard,
    clock: Clock,
}

impl ReportBuilder {
    /// A builder over this store, plant and job board.
    pub fn new(store: Store, plant: PlantHandle, jobs: JobBoard, clock: Clock) -> Self {
        ReportBuilder {
            store,
            plant,
            jobs,
            clock,
        }
    }

    /// The plant's time zone.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.plant.plant().calendar.tz()
    }

    /// A report of `lines` (plant indices) over `period`, made now. Telemetry is flushed
    /// first, as `?from=&to=` does, so the figures are the same.
    pub async fn compute(&self, period: &Period, lines: &[usize]) -> Result<Report, StoreError> {
        self.plant.flush().await;
        self.compute_flushed(period, lines).await
    }

    async fn compute_flushed(&self, period: &Period, lines: &[usize]) -> Result<Report, StoreError> {
        let now = self.clock.now_ms();
        let mut out = Vec::with_capacity(lines.len());
        for &line in lines {
            out.push(self.line(period, line, now).await?);
        }
        Ok(self.report(period, out))
    }

    fn report(&self, period: &Period, lines: Vec<LineReport>) -> Report {
        Report {
            period: period.clone(),
            time_zone: self.tz().name().to_owned(),
            lines,
        }
    }

    /// A shift report of `lines`: each line's stored report where there is one, else
    /// made now.
    pub async fn shift_report(&self, period: &Period, lines: &[usize]) -> Result<Report, StoreError> {
        let plant = self.plant.plant().clone();
        let shift = period.shift.as_deref().unwrap_or_default();
        let mut out = Vec::with_capacity(lines.len());
        let mut flushed = false;
        for &line in lines {
            let id = &plant.lines[line].id;
            if let Some(body) = self.store.shift_report(id, shift, &period.date).await? {
                match serde_json::from_str::<LineReport>(&body) {
                    Ok(mut stored) => {
                        stored.source = ReportSource::Stored;
                        out.push(stored);
                        continue;
                    }
                    Err(e) => tracing::warn!(line = %id, shift, date = %period.date, error = %e,
                        "stored shift report unreadable; computing it again"),
                }
            }
            if !flushed {
                self.plant.flush().await;
                flushed = true;
            }
            out.push(self.line(period, line, self.clock.now_ms()).await?);
        }
        Ok(self.report(period, out))
    }

    /// Makes the shift report of `lines` again and stores it in place of the stored one,
    /// all lines or none; `by` is who asked.
    pub async fn regenerate(&self, period: &Period, lines: &[usize], by: &str) -> Result<Report, StoreError> {
        let mut report = self.compute(period, lines).await?;
        let shift = period.shift.clone().unwrap_or_default();
        let mut bodies = Vec::with_capacity(report.lines.len());
        for l in &mut report.lines {
            l.source = ReportSource::Stored;
            bodies.push((l.id.clone(), body(l)?, l.generated_at.timestamp_millis()));
        }
        let rows: Vec<StoredReport<'_>> = bodies
            .iter()
            .map(|(line, body, at)| StoredReport {
                line,
                shift: &shift,
                date: &period.date,
                start: period.from_ms(),
                end: period.to_ms(),
                generated_at: *at,
                generated_by: by,
                body,
            })
            .collect();
        self.store.replace_shift_reports(&rows).await?;
        Ok(report)
    }

    /// Stores the report of every line for each shift that ended in `(after, until]` and
    /// has none stored yet; returns how many line reports were stored.
    pub async fn store_ended(&self, after: EpochMs, until: EpochMs) -> Result<usize, StoreError> {
        let plant = self.plant.plant().clone();
        let ended = shifts_ended(&plant.calendar, after, until);
        if ended.is_empty() {
            return Ok(0);
        }
        let stored: HashSet<(String, String, String)> = self
            .store
            .shift_reports_ending(after, until)
            .await?
            .into_iter()
            .collect();
        let mut count = 0;
        for (date, occurrence) in ended {
            let period = of_shift(&plant.calendar, date, &occurrence);
            let missing: Vec<usize> = (0..plant.lines.len())
                .filter(|&i| {
                    !stored.contains(&(plant.lines[i].id.clone(), occurrence.name.clone(), period.date.clone()))
                })
                .collect();
            if missing.is_empty() {
                continue;
            }
            // Telemetry of a shift that ended long ago is stored (machines reload theirs
            // at start); one that just ended may still be on its way.
            if period.to_ms() + FLUSH_MARGIN_MS > until {
                self.plant.flush().await;
            }
            let report = self.compute_flushed(&period, &missing).await?;
            for mut l in report.lines {
                l.source = ReportSource::Stored;
                let json = body(&l)?;
                let row = StoredReport {
                    line: &l.id,
                    shift: &occurrence.name,
                    date: &period.date,
                    start: period.from_ms(),
                    end: period.to_ms(),
                    generated_at: l.generated_at.timestamp_millis(),
                    generated_by: "system",
                    body: &json,
                };
                if self.store.store_shift_report(&row).await? {
                    count += 1;
                    tracing::info!(line = %l.id, shift = %period.label, "shift report stored");
                }
            }
        }
        Ok(count)
    }

    /// One line over `period`, made at `now` (telemetry already flushed).
    async fn line(&self, period: &Period, line: usize, now: EpochMs) -> Result<LineReport, StoreError> {
        let plant = self.plant.plant().clone();
        let model = &plant.lines[line];
        let (from, to) = (period.from_ms(), period.to_ms());
        let oee = compute(&self.store.line_tally(&plant, line, from, to).await?);
        let stops = self.store.line_downtime(&model.id, from, to).await?;
        let mut machines = Vec::with_capacity(model.machines.len());
        for &m in &model.machines {
            let id = &plant.machines[m].id;
            let tally = self.store.machine_tally(&plant, m, from, to, true, true).await?;
            let micro = stops
                .iter()
                .filter(|(machine, s)| machine == id && s.micro_stop && (from..to).contains(&s.start))
                .count();
            machines.push(MachineReport {
                id: id.clone(),
                name: plant.machines[m].name.clone(),
                oee: compute(&tally),
                micro_stops: u32::try_from(micro).unwrap_or(u32::MAX),
            });
        }
        let spans: Vec<_> = stops.into_iter().map(|(_, s)| s).collect();
        let tickets = self
            .store
            .tickets(&TicketFilter {
                line: Some(model.id.clone()),
                from: Some(from),
                to: Some(to),
                limit: MAX_TICKETS,
                ..TicketFilter::default()
            })
            .await?;
        Ok(LineReport {
            id: model.id.clone(),
            name: model.name.clone(),
            generated_at: utc(now),
            source: ReportSource::Computed,
            partial: now < to,
            oee,
            machines,
            downtime: downtime_summary(&spans, from, to, now),
            andon: andon_summary(&tickets),
            jobs: self.jobs(line, from, to, now).await?,
            sections: self.sections(&model.id, from, to).await?,
        })
    }

    /// Rejects by defect, checklists and handover notes of `line` within `[from, to)`.
    async fn sections(&self, line: &str, from: EpochMs, to: EpochMs) -> Result<Sections, StoreError> {
        let rejects = self
            .store
            .rejects(&RejectFilter {
                line: Some(line.to_owned()),
                from: Some(from),
                to: Some(to),
                limit: i64::MAX,
                ..RejectFilter::default()
            })
            .await?;
        let entries: Vec<(String, String, i64)> = rejects
            .into_iter()
            .filter(|r| r.void.is_none())
            .map(|r| (r.machine, r.defect, r.quantity))
            .collect();
        let mut checklists = self
            .store
            .checklists(&ChecklistFilter {
                line: line.to_owned(),
                from: Some(from),
                to: Some(to),
                limit: i64::MAX,
            })
            .await?;
        checklists.reverse();
        let checklists = checklists
            .into_iter()
            .map(|c| {
                let failed: Vec<&str> = c
                    .checklist
                    .items
                    .iter()
                    .filter(|i| i.fails_checklist())
                    .map(|i| i.key.as_str())
                    .collect();
                serde_json::json!({
                    "template": c.checklist.template_name,
                    "version": c.checklist.template_version,
                    "shift": c.checklist.shift.name,
                    "result": c.checklist.result.as_str(),
                    "failed_items": failed,
                    "filled_by": c.checklist.filled_by,
                    "filled_at": utc(c.checklist.filled_at),
                    "ticket": c.ticket,
                })
            })
            .collect();
        let handover = self
            .store
            .handover_notes_between(line, from, to)
            .await?
            .into_iter()
            .map(|n| {
                serde_json::json!({
                    "shift": n.shift.name,
                    "written_by": n.written_by,
                    "written_at": utc(n.written_at),
                    "note": n.note,
                })
            })
            .collect();
        Ok(Sections {
            rejects_by_defect: Some(rejects_by_defect(&entries)),
            checklists: Some(checklists),
            handover: Some(handover),
        })
    }

    /// The jobs that ran on `line` within `[from, to)`, with what they made there.
    async fn jobs(&self, line: usize, from: EpochMs, to: EpochMs, now: EpochMs) -> Result<Vec<JobReport>, StoreError> {
        let plant = self.plant.plant().clone();
        let mut out = Vec::new();
        for job in self.store.jobs_ran_between(&plant.lines[line].id, from, to).await? {
            let changes: Vec<_> = job.events.iter().map(|(at, s, _)| (*at, *s)).collect();
            let inside = clip(&running_spans(&changes, now), from, to);
            if inside.is_empty() {
                continue;
            }
            let mut tally = Tally::default();
            for &(a, b) in &inside {
                tally += self.store.line_tally(&plant, line, a, b).await?;
            }
            let view = self.jobs.view(job).await?;
            out.push(JobReport {
                id: view.id,
                product: view.product.code,
                product_name: view.product.name,
                state: view.state,
                target: view.target,
                in_period: PartCounts {
                    good: tally.good,
                    reject: tally.reject(),
                    total: tally.total,
                    run_s: inside.iter().map(|(a, b)| b - a).sum::<i64>() as f64 / 1000.0,
                },
                progress: view.progress,
                oee: view.oee,
            });
        }
        Ok(out)
    }
}

fn body(l: &LineReport) -> Result<String, StoreError> {
    serde_json::to_string(l).map_err(|e| StoreError::Encode(format!("report of line {}: {e}", l.id)))
}

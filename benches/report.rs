//! A shift report for 200 machines (20 lines × 10 machines) over a full stored shift:
//! per-minute counts, state intervals with two stops per machine, a running job and an
//! Andon ticket per line, made from the store the way `GET /api/v1/reports/shift` makes
//! one that is not stored yet (telemetry flushed, every line and machine tallied), and
//! the same report written as CSV and as the print view.

use std::sync::Arc;
use std::time::Duration;

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use ms5::actors::job_board::JobBoard;
use ms5::actors::plant::{PlantHandle, PlantOptions};
use ms5::actors::report_builder::ReportBuilder;
use ms5::clock::Clock;
use ms5::config::PagerSettings;
use ms5::domain::andon::{Category, Priority, Ticket, TicketSource, TicketState};
use ms5::domain::plant::PlantModel;
use ms5::domain::production::job::JobState;
use ms5::domain::production::period::shift_period;
use ms5::domain::production::{report_csv, report_html};
use ms5::store::JobPlan;
use support::shift::{LINES, MACHINES_PER_LINE, MIN, SHIFT_END, SHIFT_START, plant_200, stored_shift};

async fn setup(dir: &std::path::Path) -> (ReportBuilder, Arc<PlantModel>) {
    ms5::metrics::install();
    let plant = plant_200();
    let store = stored_shift(&plant, dir).await;
    for line in &plant.lines {
        let plan = JobPlan {
            line: line.id.clone(),
            product: "bench".into(),
            target: 30_000,
            planned_start: None,
            planned_end: None,
            notes: String::new(),
        };
        let job = store
            .insert_job(&plan, SHIFT_START - MIN, "bench")
            .await
            .unwrap_or_else(|e| panic!("job: {e}"));
        for (state, from, at) in [
            (JobState::Released, JobState::Planned, SHIFT_START - MIN),
            (JobState::Running, JobState::Released, SHIFT_START),
            (JobState::Completed, JobState::Running, SHIFT_START + 400 * MIN),
        ] {
            store
                .transition_job(job.id, from, state, at, "bench")
                .await
                .unwrap_or_else(|e| panic!("job: {e}"));
        }
        let ticket = Ticket {
            id: 0,
            line: line.id.clone(),
            machine: None,
            category: Category::Maintenance,
            priority: Priority::High,
            source: TicketSource::Operator,
            description: "bench".into(),
            state: TicketState::Open,
            level: 0,
            deadline_fired: false,
            raised_at: SHIFT_START + 241 * MIN,
            raised_by: "bench".into(),
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            cancelled_at: None,
            cancelled_by: None,
            downtime: None,
            assignee: None,
        };
        store
            .insert_ticket(&ticket)
            .await
            .unwrap_or_else(|e| panic!("ticket: {e}"));
    }
    let clock = Clock::manual(SHIFT_END + 60 * MIN);
    let options = PlantOptions {
        replica: None,
        bus: None,
        coalesce: Duration::from_millis(100),
        raw_samples: false,
        batch_max: 5_000,
        backlog_max: 600_000,
        flush_interval: Duration::from_millis(500),
        pager: PagerSettings::default(),
        flags: Arc::new(ms5::flags::FeatureFlags::defaults()),
    };
    let handle = PlantHandle::start(plant.clone(), store.clone(), options, clock.clone())
        .await
        .unwrap_or_else(|e| panic!("plant: {e}"));
    let jobs = JobBoard::new(store.clone(), handle.clone(), clock.clone());
    (ReportBuilder::new(store, handle, jobs, clock), plant)
}

fn report(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let system = actix_rt::System::new();
    let (builder, plant) = system.block_on(setup(dir.path()));
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
    let period = shift_period(&plant.calendar, "early", date).unwrap_or_else(|e| panic!("period: {e}"));
    let lines: Vec<usize> = (0..plant.lines.len()).collect();
    let made = system
        .block_on(builder.compute(&period, &lines))
        .unwrap_or_else(|e| panic!("report: {e}"));
    // Sanity: 480 minutes × 54 good on each output machine, one job per line (the
    // figures themselves are held against the span queries by tests/reports.rs).
    assert_eq!(made.lines.len(), LINES);
    assert_eq!(made.lines[0].machines.len(), MACHINES_PER_LINE);
    assert_eq!(made.lines[0].oee.good, 480 * 54);
    assert_eq!(made.lines[0].jobs.len(), 1);
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    g.bench_function("shift_200_machines", |b| {
        b.iter(|| {
            system
                .block_on(builder.compute(&period, &lines))
                .unwrap_or_else(|e| panic!("report: {e}"))
        });
    });
    g.bench_function("shift_200_machines_csv_and_html", |b| {
        b.iter(|| {
            let csv = report_csv::to_csv(&made, plant.calendar.tz()).unwrap_or_else(|e| panic!("csv: {e}"));
            let html = report_html::to_html(&made, plant.calendar.tz());
            (csv.len(), html.len())
        });
    });
    g.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);

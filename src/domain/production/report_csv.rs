//! A report as CSV (RFC 4180: CRLF line ends, fields quoted where needed, one header
//! row). One table for the whole report: the `section` column says what a row is (`line`,
//! `machine`, `downtime`, `andon`, `job`, …) and the columns that do not apply to it stay
//! empty. Times are plant-local with their offset; numbers are written exactly (the
//! shortest text that reads back to the same value), so sums agree with the JSON.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::period::local_time;
use super::report::{LineReport, ReasonTotal, Report};
use crate::domain::oee::OeeFigures;

/// The columns, in order.
pub const COLUMNS: [&str; 37] = [
    "section",
    "period",
    "period_from",
    "period_to",
    "line",
    "machine",
    "availability",
    "performance",
    "quality",
    "oee",
    "good",
    "reject",
    "total",
    "run_s",
    "down_s",
    "micro_stop_s",
    "planned_stop_s",
    "planned_production_s",
    "micro_stops",
    "reason",
    "minutes",
    "occurrences",
    "share",
    "id",
    "category",
    "priority",
    "source",
    "state",
    "raised_at",
    "acknowledged_at",
    "resolved_at",
    "time_to_acknowledge_s",
    "time_to_resolve_s",
    "product",
    "target",
    "progress",
    "description",
];

/// Why a report could not be written as CSV.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The writer failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The buffer could not be taken back.
    #[error("cannot finish CSV: {0}")]
    Finish(String),
    /// Not UTF-8 (cannot happen: every field is a Rust string).
    #[error("CSV is not UTF-8")]
    Utf8,
}

/// One row under construction.
struct Row(Vec<String>);

impl Row {
    fn new(section: &str, report: &Report, line: &str) -> Row {
        let mut row = Row(vec![String::new(); COLUMNS.len()]);
        row.set("section", section);
        row.set("period", &report.period.label);
        row.set("period_from", &report.period.from_local);
        row.set("period_to", &report.period.to_local);
        row.set("line", line);
        row
    }

    fn set(&mut self, column: &str, value: impl ToString) {
        if let Some(i) = COLUMNS.iter().position(|c| *c == column) {
            self.0[i] = value.to_string();
        }
    }

    fn opt<T: ToString>(&mut self, column: &str, value: Option<T>) {
        if let Some(v) = value {
            self.set(column, v);
        }
    }

    fn figures(&mut self, f: &OeeFigures) {
        self.opt("availability", f.availability);
        self.opt("performance", f.performance);
        self.opt("quality", f.quality);
        self.opt("oee", f.oee);
        self.set("good", f.good);
        self.set("reject", f.reject);
        self.set("total", f.total);
        self.set("run_s", f.run_s);
        self.set("down_s", f.down_s);
        self.set("micro_stop_s", f.micro_stop_s);
        self.set("planned_stop_s", f.planned_stop_s);
        self.set("planned_production_s", f.planned_production_s);
    }

    fn reason(&mut self, reason: &str, total: &ReasonTotal) {
        self.set("reason", reason);
        self.set("minutes", total.minutes);
        self.set("occurrences", total.occurrences);
    }
}

fn local(tz: Tz, t: &DateTime<Utc>) -> String {
    local_time(tz, t.timestamp_millis())
}

fn line_rows(report: &Report, tz: Tz, l: &LineReport, out: &mut Vec<Row>) {
    let row = |section: &str| Row::new(section, report, &l.id);
    let mut r = row("line");
    r.figures(&l.oee);
    r.set("micro_stops", l.machines.iter().map(|m| m.micro_stops).sum::<u32>());
    out.push(r);
    for m in &l.machines {
        let mut r = row("machine");
        r.set("machine", &m.id);
        r.figures(&m.oee);
        r.set("micro_stops", m.micro_stops);
        out.push(r);
    }
    for p in &l.downtime.reasons {
        let mut r = row("downtime");
        r.set("reason", &p.reason);
        r.set("minutes", p.minutes);
        r.set("occurrences", p.occurrences);
        r.set("share", p.share);
        out.push(r);
    }
    let d = &l.downtime;
    for (section, reason, total) in [
        ("downtime_others", "(others)", &d.others),
        ("downtime_unclassified", "unclassified", &d.unclassified),
        ("downtime_total", "(all)", &d.total),
        ("micro_stops", "(micro-stops)", &d.micro_stops),
    ] {
        let mut r = row(section);
        r.reason(reason, total);
        out.push(r);
    }
    for t in &l.andon.tickets {
        let mut r = row("andon");
        r.opt("machine", t.machine.as_deref());
        r.set("id", t.id);
        r.set("category", &t.category);
        r.set("priority", &t.priority);
        r.set("source", &t.source);
        r.set("state", &t.state);
        r.set("raised_at", local(tz, &t.raised_at));
        r.opt("acknowledged_at", t.acknowledged_at.map(|a| local(tz, &a)));
        r.opt("resolved_at", t.resolved_at.map(|a| local(tz, &a)));
        r.opt("time_to_acknowledge_s", t.time_to_acknowledge_s);
        r.opt("time_to_resolve_s", t.time_to_resolve_s);
        r.set("description", &t.description);
        out.push(r);
    }
    for j in &l.jobs {
        let mut r = row("job");
        r.set("id", j.id);
        r.set("product", &j.product);
        r.set("description", &j.product_name);
        r.set("state", j.state.as_str());
        r.set("target", j.target);
        r.set("good", j.in_period.good);
        r.set("reject", j.in_period.reject);
        r.set("total", j.in_period.total);
        r.set("run_s", j.in_period.run_s);
        r.set("progress", j.progress.fraction);
        out.push(r);
    }
    let sections = [
        ("rejects_by_defect", &l.sections.rejects_by_defect),
        ("checklist", &l.sections.checklists),
        ("handover", &l.sections.handover),
    ];
    for (section, rows) in sections {
        for v in rows.iter().flatten() {
            let mut r = row(section);
            r.set("description", super::report::section_text(v));
            out.push(r);
        }
    }
}

/// The report as CSV text.
pub fn to_csv(report: &Report, tz: Tz) -> Result<String, CsvError> {
    let mut rows = Vec::new();
    for l in &report.lines {
        line_rows(report, tz, l, &mut rows);
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(COLUMNS)?;
    for r in rows {
        w.write_record(&r.0)?;
    }
    let bytes = w.into_inner().map_err(|e| CsvError::Finish(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| CsvError::Utf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::oee::compute;
    use crate::domain::production::period::{Period, PeriodKind};
    use crate::domain::production::report::{
        AndonSummary, DowntimeSummary, MachineReport, ReportSource, Sections, ticket_report,
    };
    use crate::domain::snapshot::utc;
    use crate::domain::tally::Tally;

    fn report() -> Report {
        let figures = compute(&Tally {
            run_ms: 373 * 60_000,
            down_ms: 47 * 60_000,
            micro_stop_ms: 0,
            planned_stop_ms: 60 * 60_000,
            comms_lost_ms: 0,
            total: 19_271,
            good: 18_848,
            ideal_ms: 19_271_000,
        });
        let none = ReasonTotal::default();
        Report {
            period: Period {
                kind: PeriodKind::Shift,
                label: "night 2026-11-27".into(),
                shift: Some("night".into()),
                date: "2026-11-27".into(),
                from: utc(1_795_813_200_000),
                to: utc(1_795_842_000_000),
                from_local: "2026-11-27T22:00:00+01:00".into(),
                to_local: "2026-11-28T06:00:00+01:00".into(),
                length_s: 28_800.0,
            },
            time_zone: "Europe/Berlin".into(),
            lines: vec![LineReport {
                id: "line-1".into(),
                name: "Line, \"one\"".into(),
                generated_at: utc(1_795_842_000_000),
                source: ReportSource::Stored,
                partial: false,
                oee: figures.clone(),
                machines: vec![MachineReport {
                    id: "l1-filler".into(),
                    name: "Filler".into(),
                    oee: figures,
                    micro_stops: 2,
                }],
                downtime: DowntimeSummary {
                    reasons: vec![],
                    unclassified: none,
                    others: none,
                    total: none,
                    micro_stops: none,
                },
                andon: AndonSummary {
                    raised: 0,
                    acknowledged: 0,
                    resolved: 0,
                    mean_time_to_acknowledge_s: None,
                    mean_time_to_resolve_s: None,
                    tickets: vec![],
                },
                jobs: vec![],
                sections: Sections::default(),
            }],
        }
    }

    #[test]
    fn one_header_row_crlf_exact_numbers_and_local_times() {
        let mut r = report();
        let mut t = ticket_report(&crate::domain::andon::Ticket {
            id: 7,
            line: "line-1".into(),
            machine: None,
            category: crate::domain::andon::Category::Quality,
            priority: crate::domain::andon::Priority::Low,
            source: crate::domain::andon::TicketSource::Operator,
            description: "caps, \"loose\"\nagain".into(),
            state: crate::domain::andon::TicketState::Open,
            level: 0,
            deadline_fired: false,
            raised_at: 1_795_820_400_000, // 2026-11-28T00:00:00+01:00
            raised_by: "olga".into(),
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            cancelled_at: None,
            cancelled_by: None,
            downtime: None,
            assignee: None,
        });
        t.time_to_acknowledge_s = None;
        r.lines[0].andon.tickets.push(t);
        let text = to_csv(&r, chrono_tz::Europe::Berlin).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        // header, line, machine, 4 downtime totals, 1 ticket (the LF inside its quoted
        // description is no record end), and the empty piece after the last CRLF.
        assert_eq!(lines.len(), 1 + 2 + 4 + 1 + 1, "{text}");
        assert!(
            lines[1].starts_with("line,night 2026-11-27,2026-11-27T22:00:00+01:00,2026-11-28T06:00:00+01:00,line-1,,")
        );
        // A = 373/420 written exactly: 0.888095238095238 reads back to the same f64.
        let a: f64 = lines[1].split(',').nth(6).unwrap().parse().unwrap();
        assert_eq!(a, 373.0 / 420.0);
        assert!(
            lines[1].contains(",18848,423,19271,22380,2820,0,3600,25200,2,"),
            "{}",
            lines[1]
        );
        // Quotes doubled, the field quoted; the local time carries its offset.
        assert!(text.contains("\"caps, \"\"loose\"\"\nagain\""), "{text}");
        assert!(text.contains(",2026-11-28T00:00:00+01:00,"), "{text}");
    }
}

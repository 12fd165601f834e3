//! What a report says about a span (a shift, a day, a week), per line and machine: OEE
//! with its inputs (from the same tallies as `?from=&to=`), downtime by reason, Andon
//! tickets with their response times, the jobs that ran, and the sections other parts of
//! production management fill in (rejects by defect code, checklists, handover notes).
//! The pure parts: types and the summaries made from stored rows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::job::{JobProgress, JobState};
use super::period::Period;
use crate::domain::EpochMs;
use crate::domain::andon::{DowntimeSpan, ParetoRow, Ticket, pareto};
use crate::domain::downtime::REASON_UNCLASSIFIED;
use crate::domain::oee::OeeFigures;
use crate::domain::snapshot::utc;

/// How many reasons a report lists by name; the rest are summed as `others`.
pub const TOP_REASONS: usize = 10;

/// A report: one span, its lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// The span.
    pub period: Period,
    /// The plant's IANA time zone, which the local times are in.
    pub time_zone: String,
    /// One entry per line asked for, in plant order.
    pub lines: Vec<LineReport>,
}

/// Where a line's report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportSource {
    /// Stored when its shift ended, or regenerated since; served as stored.
    Stored,
    /// Made for this request.
    Computed,
}

/// One line over the span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LineReport {
    /// Line id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// When these figures were made.
    #[schema(value_type = String)]
    pub generated_at: DateTime<Utc>,
    /// Stored or computed for the request.
    pub source: ReportSource,
    /// The span had not ended when it was made: the figures run up to `generated_at`.
    pub partial: bool,
    /// The line's OEE: time from its constraint machine, parts from its output machine
    /// (exactly `GET /api/v1/lines/{id}/oee?from=&to=` over the span).
    pub oee: OeeFigures,
    /// Each machine (exactly `GET /api/v1/machines/{id}/oee?from=&to=`), in flow order.
    pub machines: Vec<MachineReport>,
    /// Downtime of the line's machines by reason.
    pub downtime: DowntimeSummary,
    /// Andon tickets raised on the line within the span.
    pub andon: AndonSummary,
    /// Jobs that ran on the line within the span.
    pub jobs: Vec<JobReport>,
    /// Sections filled in by other parts of production management.
    #[serde(default)]
    pub sections: Sections,
}

/// Sections of a line report that other parts of production management provide. `null`
/// means this server does not have that part yet; an empty list means nothing happened.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Sections {
    /// Manual rejects by defect code.
    #[schema(value_type = Option<Vec<Object>>)]
    pub rejects_by_defect: Option<Vec<serde_json::Value>>,
    /// Shift-start checklist results.
    #[schema(value_type = Option<Vec<Object>>)]
    pub checklists: Option<Vec<serde_json::Value>>,
    /// Handover notes of the line and shift.
    #[schema(value_type = Option<Vec<Object>>)]
    pub handover: Option<Vec<serde_json::Value>>,
}

/// One machine over the span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MachineReport {
    /// Machine id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Its OEE with A/P/Q, parts and times (`micro_stop_s` is its micro-stop time).
    pub oee: OeeFigures,
    /// Micro-stops that started within the span.
    pub micro_stops: u32,
}

/// Minutes and occurrences of one reason or group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReasonTotal {
    /// Minutes within the span, rounded to 2 decimals.
    pub minutes: f64,
    /// Stops with any part within the span.
    pub occurrences: u32,
}

/// Downtime by reason, as the Pareto (`/api/v1/downtime/pareto?line=&from=&to=`) counts
/// it: stops clipped to the span, micro-stops apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DowntimeSummary {
    /// The top reasons by minutes (at most 10), with shares of all downtime.
    pub reasons: Vec<ParetoRow>,
    /// Stops nobody has given a reason (`unclassified`), wherever they rank.
    pub unclassified: ReasonTotal,
    /// Every reason below the top 10, together.
    pub others: ReasonTotal,
    /// All downtime but micro-stops.
    pub total: ReasonTotal,
    /// Micro-stops (a performance loss, not downtime).
    pub micro_stops: ReasonTotal,
}

/// Andon tickets raised within the span, with response times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AndonSummary {
    /// Raised.
    pub raised: u32,
    /// Acknowledged by the time of the report.
    pub acknowledged: u32,
    /// Resolved by the time of the report.
    pub resolved: u32,
    /// Mean time from raise to acknowledgement of those acknowledged, seconds.
    pub mean_time_to_acknowledge_s: Option<f64>,
    /// Mean time from raise to resolution of those resolved, seconds.
    pub mean_time_to_resolve_s: Option<f64>,
    /// The tickets, oldest first.
    pub tickets: Vec<TicketReport>,
}

/// One Andon ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TicketReport {
    /// Id.
    pub id: i64,
    /// Machine, if any.
    pub machine: Option<String>,
    /// maintenance, quality, material, safety or other.
    pub category: String,
    /// low … critical.
    pub priority: String,
    /// operator or auto.
    pub source: String,
    /// What was wrong.
    pub description: String,
    /// State at the time of the report.
    pub state: String,
    /// Raised.
    #[schema(value_type = String)]
    pub raised_at: DateTime<Utc>,
    /// Acknowledged.
    #[schema(value_type = Option<String>)]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Resolved.
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Raise to acknowledgement, seconds.
    pub time_to_acknowledge_s: Option<f64>,
    /// Raise to resolution, seconds.
    pub time_to_resolve_s: Option<f64>,
}

/// A job that ran within the span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobReport {
    /// Id.
    pub id: i64,
    /// Product code.
    pub product: String,
    /// Product name.
    pub product_name: String,
    /// State at the time of the report.
    pub state: JobState,
    /// Target good parts.
    pub target: i64,
    /// Parts made while it ran within the span (the line's tally over its running spans
    /// clipped to the span).
    pub in_period: PartCounts,
    /// Its whole progress at the time of the report.
    pub progress: JobProgress,
    /// Its OEE over all it ran, at the time of the report.
    pub oee: Option<OeeFigures>,
}

/// Parts and running time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PartCounts {
    /// Good parts.
    pub good: i64,
    /// Rejected parts.
    pub reject: i64,
    /// All parts.
    pub total: i64,
    /// Running time of the job within the span, seconds.
    pub run_s: f64,
}

fn total_of(rows: &[ParetoRow]) -> ReasonTotal {
    // Minutes are summed from the rounded rows and rounded again, as a reader would.
    let minutes = rows.iter().fold(0.0, |sum, r| sum + r.minutes);
    ReasonTotal {
        minutes: (minutes * 100.0).round() / 100.0,
        occurrences: rows.iter().map(|r| r.occurrences).sum(),
    }
}

/// Downtime by reason over `[from, to)`, by the Pareto's own rules (`now` ends open
/// stops): the top 10, `unclassified`, the rest, the total and the micro-stops.
pub fn downtime_summary(spans: &[DowntimeSpan], from: EpochMs, to: EpochMs, now: EpochMs) -> DowntimeSummary {
    let rows = pareto(spans, from, to, now, false);
    let micro: Vec<DowntimeSpan> = spans.iter().filter(|s| s.micro_stop).cloned().collect();
    let micro_rows = pareto(&micro, from, to, now, true);
    let unclassified = rows
        .iter()
        .filter(|r| r.reason == REASON_UNCLASSIFIED)
        .cloned()
        .collect::<Vec<_>>();
    DowntimeSummary {
        total: total_of(&rows),
        unclassified: total_of(&unclassified),
        others: total_of(rows.get(TOP_REASONS..).unwrap_or_default()),
        micro_stops: total_of(&micro_rows),
        reasons: rows.into_iter().take(TOP_REASONS).collect(),
    }
}

/// A ticket as a report lists it.
pub fn ticket_report(t: &Ticket) -> TicketReport {
    let since_raise = |at: Option<EpochMs>| at.map(|a| (a - t.raised_at) as f64 / 1000.0);
    TicketReport {
        id: t.id,
        machine: t.machine.clone(),
        category: t.category.as_str().to_owned(),
        priority: t.priority.as_str().to_owned(),
        source: t.source.as_str().to_owned(),
        description: t.description.clone(),
        state: t.state.as_str().to_owned(),
        raised_at: utc(t.raised_at),
        acknowledged_at: t.acknowledged_at.map(utc),
        resolved_at: t.resolved_at.map(utc),
        time_to_acknowledge_s: since_raise(t.acknowledged_at),
        time_to_resolve_s: since_raise(t.resolved_at),
    }
}

/// The tickets raised within a span, oldest first, with counts and mean response times.
pub fn andon_summary(tickets: &[Ticket]) -> AndonSummary {
    let mut rows: Vec<TicketReport> = tickets.iter().map(ticket_report).collect();
    rows.sort_by_key(|t| (t.raised_at, t.id));
    let mean = |xs: Vec<f64>| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    let acks: Vec<f64> = rows.iter().filter_map(|t| t.time_to_acknowledge_s).collect();
    let fixes: Vec<f64> = rows.iter().filter_map(|t| t.time_to_resolve_s).collect();
    AndonSummary {
        raised: u32::try_from(rows.len()).unwrap_or(u32::MAX),
        acknowledged: u32::try_from(acks.len()).unwrap_or(u32::MAX),
        resolved: u32::try_from(fixes.len()).unwrap_or(u32::MAX),
        mean_time_to_acknowledge_s: mean(acks),
        mean_time_to_resolve_s: mean(fixes),
        tickets: rows,
    }
}

/// `spans` clipped to `[from, to)`, empty pieces dropped.
pub fn clip(spans: &[(EpochMs, EpochMs)], from: EpochMs, to: EpochMs) -> Vec<(EpochMs, EpochMs)> {
    spans
        .iter()
        .map(|&(a, b)| (a.max(from), b.min(to)))
        .filter(|(a, b)| a < b)
        .collect()
}

/// A section row as one line of text for CSV and the print view: `key: value` pairs in
/// order, separated by ` · ` (strings bare, lists joined with `, `, `null` left out).
pub fn section_text(v: &serde_json::Value) -> String {
    use serde_json::Value;
    fn plain(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(a) => a.iter().map(plain).collect::<Vec<_>>().join(", "),
            other => other.to_string(),
        }
    }
    match v {
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}: {}", plain(v)))
            .collect::<Vec<_>>()
            .join(" · "),
        other => plain(other),
    }
}

/// Manual rejects of a line summed by machine and defect code, most parts first (ties by
/// machine, then code): `(machine, defect, quantity)` of each entry that is not void.
pub fn rejects_by_defect(entries: &[(String, String, i64)]) -> Vec<serde_json::Value> {
    let mut sums: std::collections::BTreeMap<(&str, &str), (i64, i64)> = std::collections::BTreeMap::new();
    for (machine, defect, quantity) in entries {
        let e = sums.entry((machine.as_str(), defect.as_str())).or_default();
        e.0 += quantity;
        e.1 += 1;
    }
    let mut rows: Vec<_> = sums.into_iter().collect();
    rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    rows.into_iter()
        .map(|((machine, defect), (quantity, entries))| {
            serde_json::json!({ "machine": machine, "defect": defect, "quantity": quantity, "entries": entries })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::andon::{Category, Priority, TicketSource, TicketState};

    const MIN: i64 = 60_000;
    const T0: EpochMs = 1_772_431_200_000; // 2026-03-02T06:00:00Z

    #[test]
    fn rejects_are_summed_by_machine_and_defect_most_first() {
        let e = |m: &str, d: &str, q| (m.to_owned(), d.to_owned(), q);
        // filler/fill-level 3 + 4 = 7 in two entries; capper/cap 7 in one (tie: by machine)
        let rows = rejects_by_defect(&[
            e("filler", "fill/level", 3),
            e("capper", "cap/loose", 7),
            e("filler", "fill/level", 4),
            e("filler", "other", 1),
        ]);
        assert_eq!(
            rows,
            vec![
                serde_json::json!({"machine": "capper", "defect": "cap/loose", "quantity": 7, "entries": 1}),
                serde_json::json!({"machine": "filler", "defect": "fill/level", "quantity": 7, "entries": 2}),
                serde_json::json!({"machine": "filler", "defect": "other", "quantity": 1, "entries": 1}),
            ]
        );
    }

    fn stop(reason: &str, start_min: i64, end_min: Option<i64>, micro: bool) -> DowntimeSpan {
        DowntimeSpan {
            reason: reason.to_owned(),
            start: T0 + start_min * MIN,
            end: end_min.map(|m| T0 + m * MIN),
            micro_stop: micro,
        }
    }

    #[test]
    fn downtime_lists_the_top_ten_unclassified_and_the_rest() {
        // Twelve reasons r01..r12 of 12, 11, …, 1 min; an unclassified stop of 30 min
        // of which 20 lie in the 8 h span (it began 10 min before); two micro-stops of
        // 1 min; an open stop (jam) from 470 min, ended by the span's end at 480: 10 min.
        let mut spans: Vec<DowntimeSpan> = (1..=12)
            .map(|i| stop(&format!("r{i:02}"), 10 * i, Some(10 * i + 13 - i), false))
            .collect();
        spans.push(stop(REASON_UNCLASSIFIED, -10, Some(20), false));
        spans.push(stop("jam", 470, None, false));
        spans.push(stop("r01", 300, Some(301), true));
        spans.push(stop("r02", 310, Some(311), true));
        let s = downtime_summary(&spans, T0, T0 + 480 * MIN, T0 + 600 * MIN);
        // Ranked: unclassified 20, r01 12, r02 11, jam 10, r03 10 (ties: more occurrences,
        // then name: jam < r03), r04 9 … r08 5 → ten rows; r09 … r12 go to others.
        let names: Vec<&str> = s.reasons.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "unclassified",
                "r01",
                "r02",
                "jam",
                "r03",
                "r04",
                "r05",
                "r06",
                "r07",
                "r08"
            ]
        );
        assert_eq!(
            s.unclassified,
            ReasonTotal {
                minutes: 20.0,
                occurrences: 1
            }
        );
        // r09 4 + r10 3 + r11 2 + r12 1 = 10 min in 4 stops.
        assert_eq!(
            s.others,
            ReasonTotal {
                minutes: 10.0,
                occurrences: 4
            }
        );
        // 78 min for r01..r12 + 20 + 10 = 108 min in 14 stops.
        assert_eq!(
            s.total,
            ReasonTotal {
                minutes: 108.0,
                occurrences: 14
            }
        );
        assert_eq!(
            s.micro_stops,
            ReasonTotal {
                minutes: 2.0,
                occurrences: 2
            }
        );
        // Shares are of all downtime: 20 / 108.
        assert_eq!(s.reasons[0].share, 20.0 / 108.0);
    }

    fn ticket(id: i64, raised: i64, ack: Option<i64>, resolved: Option<i64>) -> Ticket {
        Ticket {
            id,
            line: "line-a".into(),
            machine: Some("a-filler".into()),
            category: Category::Maintenance,
            priority: Priority::High,
            source: TicketSource::Operator,
            description: "valve".into(),
            state: match (ack, resolved) {
                (_, Some(_)) => TicketState::Resolved,
                (Some(_), None) => TicketState::Acknowledged,
                _ => TicketState::Open,
            },
            level: 0,
            deadline_fired: false,
            raised_at: T0 + raised,
            raised_by: "olga".into(),
            acknowledged_at: ack.map(|a| T0 + a),
            acknowledged_by: ack.map(|_| "sam".into()),
            resolved_at: resolved.map(|r| T0 + r),
            resolved_by: resolved.map(|_| "sam".into()),
            cancelled_at: None,
            cancelled_by: None,
            downtime: None,
            assignee: None,
        }
    }

    #[test]
    fn tickets_carry_their_response_times_and_the_means() {
        // #2 raised at 10 min, acknowledged 90 s later, resolved 20 min after raising;
        // #1 raised at 5 min, acknowledged after 150 s, still open; #3 raised at 30 min, open.
        let s = andon_summary(&[
            ticket(2, 10 * MIN, Some(10 * MIN + 90_000), Some(30 * MIN)),
            ticket(1, 5 * MIN, Some(5 * MIN + 150_000), None),
            ticket(3, 30 * MIN, None, None),
        ]);
        assert_eq!(s.tickets.iter().map(|t| t.id).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!((s.raised, s.acknowledged, s.resolved), (3, 2, 1));
        // (150 + 90) / 2 = 120 s; one resolved after 1,200 s.
        assert_eq!(s.mean_time_to_acknowledge_s, Some(120.0));
        assert_eq!(s.mean_time_to_resolve_s, Some(1_200.0));
        assert_eq!(s.tickets[1].time_to_acknowledge_s, Some(90.0));
        assert_eq!(s.tickets[2].time_to_acknowledge_s, None);
        assert_eq!(andon_summary(&[]).mean_time_to_resolve_s, None);
    }

    #[test]
    fn job_spans_are_clipped_to_the_period() {
        type Span = (EpochMs, EpochMs);
        // (spans, period, clipped)
        let table: [(&[Span], Span, Vec<Span>); 4] = [
            (&[(0, 100)], (50, 200), vec![(50, 100)]),
            (&[(0, 100), (150, 300)], (50, 200), vec![(50, 100), (150, 200)]),
            (&[(0, 50)], (50, 200), vec![]),
            (&[(60, 70)], (50, 200), vec![(60, 70)]),
        ];
        for (spans, (from, to), want) in table {
            assert_eq!(clip(spans, from, to), want, "{spans:?}");
        }
    }
}

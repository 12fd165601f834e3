//! The six big losses of a line over a span, cut from the very [`Tally`] the line's OEE
//! of that span comes from (`?from=&to=`: times of the constraint machine, counts of the
//! output machine), so that they add up to planned production time minus the fully
//! productive time (OEE × planned production time):
//!
//! | loss | kind | from |
//! |---|---|---|
//! | breakdowns | availability | unplanned stop time ≥ the micro-stop threshold, less setup |
//! | setup | availability | time in the `changeover` state (outside micro-stops) |
//! | micro_stops | performance | stops shorter than the micro-stop threshold |
//! | reduced_speed | performance | run time − ideal time of the parts made (never negative) |
//! | process_rejects | quality | ideal time of the rejects outside start-up |
//! | startup_rejects | quality | ideal time of the rejects made in start-up spans |
//!
//! A reject's time is the span's average ideal time per part (ideal time × rejects /
//! parts), so quality losses are exactly OEE's quality loss. Start-up spans are given by
//! the caller: they follow the end of each changeover of the constraint machine and each
//! job start on the line (see [`startup_spans_with_jobs`]). Parts are stored
//! per minute, so a minute counts as start-up when it starts inside a start-up span.
//!
//! The identity holds whenever performance is at most 100 %. Above it, run time is less
//! than the ideal time of the parts made, reduced speed is reported as 0 and the warning
//! `performance_over_100` says why the losses then add up to less.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::EpochMs;
use crate::domain::history::tally_between;
use crate::domain::machine::{PastInterval, PastParts};
use crate::domain::machine_state::MachineState;
use crate::domain::oee::{OeeWarning, compute};
use crate::domain::shift::ShiftCalendar;
use crate::domain::snapshot::utc;
use crate::domain::tally::Tally;

/// One of the six big losses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SixLoss {
    /// Unplanned stops ≥ the micro-stop threshold that are not changeovers.
    Breakdowns,
    /// Changeover time.
    Setup,
    /// Stops shorter than the micro-stop threshold.
    MicroStops,
    /// Running slower than the ideal cycle time.
    ReducedSpeed,
    /// Rejects in steady production.
    ProcessRejects,
    /// Rejects in start-up after a changeover (later: a job start).
    StartupRejects,
}

/// Which OEE factor a loss lowers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Availability.
    Availability,
    /// Performance.
    Performance,
    /// Quality.
    Quality,
}

/// One loss.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LossRow {
    /// Which.
    pub loss: SixLoss,
    /// The OEE factor it lowers.
    pub kind: LossKind,
    /// Time lost, seconds.
    pub seconds: f64,
    /// Rejected parts (quality losses only).
    pub parts: Option<i64>,
}

/// A start-up span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Span {
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
}

/// The six big losses of a span.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SixLosses {
    /// Planned production time, seconds (as the span's OEE reports it).
    pub planned_production_s: f64,
    /// OEE × planned production time: the ideal time of the good parts, seconds.
    pub fully_productive_s: f64,
    /// The span's OEE.
    pub oee: Option<f64>,
    /// Sum of the six losses, seconds.
    pub total_loss_s: f64,
    /// The six losses, in the order above.
    pub losses: Vec<LossRow>,
    /// The start-up spans rejects were judged against (clipped to the span).
    pub startup_spans: Vec<Span>,
    /// From the span's OEE (`performance_over_100`: see the module documentation).
    pub warnings: Vec<OeeWarning>,
}

/// Start-up spans: `period_ms` from the end of each changeover in `intervals` (oldest
/// first), overlapping spans merged. A changeover still under way (the last interval)
/// has not ended, so it starts nothing yet.
pub fn startup_spans(intervals: &[PastInterval], period_ms: i64) -> Vec<(EpochMs, EpochMs)> {
    let mut spans: Vec<(EpochMs, EpochMs)> = Vec::new();
    if period_ms <= 0 {
        return spans;
    }
    for pair in intervals.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.state == MachineState::Changeover && b.state != MachineState::Changeover {
            let span = (a.end, a.end + period_ms);
            match spans.last_mut() {
                Some(last) if span.0 <= last.1 => last.1 = last.1.max(span.1),
                _ => spans.push(span),
            }
        }
    }
    spans
}

/// Start-up spans: `period_ms` from the end of each changeover in `intervals` (see
/// [`startup_spans`]) and from each job start in `job_starts`, sorted, overlaps merged.
pub fn startup_spans_with_jobs(
    intervals: &[PastInterval],
    job_starts: &[EpochMs],
    period_ms: i64,
) -> Vec<(EpochMs, EpochMs)> {
    let mut all = startup_spans(intervals, period_ms);
    if period_ms > 0 {
        all.extend(job_starts.iter().map(|&at| (at, at + period_ms)));
    }
    all.sort_unstable();
    let mut merged: Vec<(EpochMs, EpochMs)> = Vec::with_capacity(all.len());
    for span in all {
        match merged.last_mut() {
            Some(last) if span.0 <= last.1 => last.1 = last.1.max(span.1),
            _ => merged.push(span),
        }
    }
    merged
}

/// The six losses of `[from, to)` from the constraint machine's intervals, the output
/// machine's parts and the start-up spans.
pub fn six_losses(
    calendar: &ShiftCalendar,
    constraint: &[PastInterval],
    output: &[PastParts],
    startup: &[(EpochMs, EpochMs)],
    from: EpochMs,
    to: EpochMs,
) -> SixLosses {
    let times = tally_between(calendar, constraint, &[], from, to);
    let counts = tally_between(calendar, &[], output, from, to);
    let line = Tally::line(&times, &counts);
    let changeovers: Vec<PastInterval> = constraint
        .iter()
        .filter(|iv| iv.state == MachineState::Changeover)
        .copied()
        .collect();
    let setup_ms = tally_between(calendar, &changeovers, &[], from, to).down_ms;
    let in_startup = |at: EpochMs| startup.iter().any(|&(a, b)| (a..b).contains(&at));
    let startup_rejects: i64 = output
        .iter()
        .filter(|p| (from..to).contains(&p.at) && in_startup(p.at))
        .map(|p| p.tally.reject())
        .sum();
    let rejects = line.reject();
    // The ideal time of the rejects, as OEE's quality factor counts it.
    let per_part = |n: i64| {
        if line.total > 0 {
            line.ideal_ms as f64 * n as f64 / line.total as f64 / 1000.0
        } else {
            0.0
        }
    };
    let s = |ms: i64| ms as f64 / 1000.0;
    let row = |loss, kind, seconds, parts| LossRow {
        loss,
        kind,
        seconds,
        parts,
    };
    use LossKind::*;
    let losses = vec![
        row(SixLoss::Breakdowns, Availability, s(line.down_ms - setup_ms), None),
        row(SixLoss::Setup, Availability, s(setup_ms), None),
        row(SixLoss::MicroStops, Performance, s(line.micro_stop_ms), None),
        row(
            SixLoss::ReducedSpeed,
            Performance,
            s((line.run_ms - line.ideal_ms).max(0)),
            None,
        ),
        row(
            SixLoss::ProcessRejects,
            Quality,
            per_part(rejects - startup_rejects),
            Some(rejects - startup_rejects),
        ),
        row(
            SixLoss::StartupRejects,
            Quality,
            per_part(startup_rejects),
            Some(startup_rejects),
        ),
    ];
    let figures = compute(&line);
    SixLosses {
        planned_production_s: figures.planned_production_s,
        fully_productive_s: per_part(line.good),
        oee: figures.oee,
        total_loss_s: losses.iter().map(|l| l.seconds).sum(),
        losses,
        startup_spans: startup
            .iter()
            .map(|&(a, b)| (a.max(from), b.min(to)))
            .filter(|(a, b)| a < b)
            .map(|(a, b)| Span {
                start: utc(a),
                end: utc(b),
            })
            .collect(),
        warnings: figures.warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::shift::{BreakDef, ShiftDef};

    const MIN: i64 = 60_000;

    fn iv(start_min: i64, end_min: i64, state: MachineState, micro: bool) -> PastInterval {
        PastInterval {
            start: start_min * MIN,
            end: end_min * MIN,
            state,
            micro_stop: micro,
        }
    }

    fn parts(at_min: i64, total: i64, good: i64, ideal_ms: i64) -> PastParts {
        PastParts {
            at: at_min * MIN,
            tally: Tally::of_parts(total, good, ideal_ms),
        }
    }

    fn always_planned() -> ShiftCalendar {
        ShiftCalendar::new(chrono_tz::UTC, vec![], crate::domain::shift::DEFAULT_MAX_SHIFT_MS).unwrap()
    }

    /// 8 h (minutes 0-480): run 0-60, changeover 60-80, run 80-200, breakdown 200-230,
    /// run 230-300, micro-stop 300-301, run 301-480.
    fn shift() -> Vec<PastInterval> {
        use MachineState::*;
        vec![
            iv(0, 60, Running, false),
            iv(60, 80, Changeover, false),
            iv(80, 200, Running, false),
            iv(200, 230, Down, false),
            iv(230, 300, Running, false),
            iv(300, 301, Down, true),
            iv(301, 480, Running, false),
        ]
    }

    /// 24,000 parts at 1 s ideal (400 min): 40 rejects in steady production, 30 in the
    /// minute 85, ten minutes into the start-up after the changeover.
    fn output() -> Vec<PastParts> {
        vec![parts(10, 23_900, 23_860, 23_900_000), parts(85, 100, 70, 100_000)]
    }

    fn seconds(l: &SixLosses) -> Vec<(SixLoss, f64, Option<i64>)> {
        l.losses.iter().map(|r| (r.loss, r.seconds, r.parts)).collect()
    }

    fn assert_identity(l: &SixLosses, name: &str) {
        let ppt = l.planned_production_s;
        let oee_time = l.oee.unwrap_or(0.0) * ppt;
        assert!(
            (l.total_loss_s - (ppt - oee_time)).abs() < 1e-6,
            "{name}: losses {} ≠ PPT {ppt} − OEE time {oee_time}",
            l.total_loss_s
        );
        assert!((l.fully_productive_s - oee_time).abs() < 1e-6, "{name}");
    }

    #[test]
    fn startup_follows_each_changeover_end() {
        use MachineState::*;
        let ivs = [
            iv(0, 10, Changeover, false),
            iv(10, 15, Changeover, false),
            iv(15, 60, Running, false),
            iv(60, 62, Changeover, false),
            iv(62, 100, Running, false),
            iv(100, 110, Changeover, false),
        ];
        // Ends at 15 and 62 (merged: 15-25 and 62-72 do not overlap); 110 is still under way.
        assert_eq!(
            startup_spans(&ivs, 10 * MIN),
            vec![(15 * MIN, 25 * MIN), (62 * MIN, 72 * MIN)]
        );
        // With a 50 min period the two overlap and merge: 15-65 and 62-112 → 15-112.
        assert_eq!(startup_spans(&ivs, 50 * MIN), vec![(15 * MIN, 112 * MIN)]);
        assert!(startup_spans(&ivs, 0).is_empty());
    }

    #[test]
    fn six_losses_by_hand() {
        // PPT 480 min = 28,800 s. Breakdowns 30 min = 1,800 s; setup 20 min = 1,200 s;
        // micro-stops 1 min = 60 s; reduced speed = run 429 min − ideal 400 min = 1,740 s.
        // Quality: 70 rejects × 24,000 s / 24,000 parts = 70 s: start-up (80-90) 30 s,
        // process 40 s. Fully productive = 24,000 s × 23,930 / 24,000 = 23,930 s.
        // Σ losses = 1,800 + 1,200 + 60 + 1,740 + 40 + 30 = 4,870 s = 28,800 − 23,930.
        let startup = startup_spans(&shift(), 10 * MIN);
        assert_eq!(startup, vec![(80 * MIN, 90 * MIN)]);
        let l = six_losses(&always_planned(), &shift(), &output(), &startup, 0, 480 * MIN);
        assert_eq!(
            seconds(&l),
            vec![
                (SixLoss::Breakdowns, 1_800.0, None),
                (SixLoss::Setup, 1_200.0, None),
                (SixLoss::MicroStops, 60.0, None),
                (SixLoss::ReducedSpeed, 1_740.0, None),
                (SixLoss::ProcessRejects, 40.0, Some(40)),
                (SixLoss::StartupRejects, 30.0, Some(30)),
            ]
        );
        assert_eq!((l.planned_production_s, l.fully_productive_s), (28_800.0, 23_930.0));
        assert_eq!(l.total_loss_s, 4_870.0);
        assert_eq!(l.oee.map(|o| (o * 1e6).round()), Some(830_903.0), "23,930 / 28,800");
        assert_identity(&l, "by hand");
        assert_eq!(l.startup_spans.len(), 1);
    }

    #[test]
    fn job_starts_mark_start_up_too() {
        // a changeover ends at 100 (period 50 → [100, 150)); jobs start at 120 and 400
        let intervals = [
            PastInterval {
                start: 0,
                end: 100,
                state: MachineState::Changeover,
                micro_stop: false,
            },
            PastInterval {
                start: 100,
                end: 500,
                state: MachineState::Running,
                micro_stop: false,
            },
        ];
        assert_eq!(
            startup_spans_with_jobs(&intervals, &[400, 120], 50),
            vec![(100, 170), (400, 450)]
        );
        assert_eq!(startup_spans_with_jobs(&intervals, &[400], 0), vec![]);
    }

    #[test]
    fn planned_stops_and_the_span_edges_count_nowhere() {
        // A shift 00:00-08:00 with a break 02:00-02:30; the span 00:30-08:00 cuts the first
        // run and the changeover at 01:00-01:20 stays inside. PPT = 450 − 30 = 420 min.
        let cal = ShiftCalendar::new(
            chrono_tz::UTC,
            vec![ShiftDef {
                name: "day".into(),
                start: chrono::NaiveTime::from_hms_opt(0, 0, 0).unwrap(),
                end: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
                breaks: vec![BreakDef {
                    start: chrono::NaiveTime::from_hms_opt(2, 0, 0).unwrap(),
                    end: chrono::NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
                }],
                days: vec![],
                crosses_midnight: false,
            }],
            crate::domain::shift::DEFAULT_MAX_SHIFT_MS,
        )
        .unwrap();
        let day = 1_772_409_600_000 / MIN; // 2026-03-02 00:00 UTC, in minutes
        let shifted: Vec<PastInterval> = shift()
            .into_iter()
            .map(|mut i| {
                i.start += day * MIN;
                i.end += day * MIN;
                i
            })
            .collect();
        let parts: Vec<PastParts> = output()
            .into_iter()
            .map(|mut p| {
                p.at += day * MIN;
                p
            })
            .collect();
        let (from, to) = ((day + 30) * MIN, (day + 480) * MIN);
        let l = six_losses(&cal, &shifted, &parts, &[], from, to);
        // The minute-10 row is before the span: only the 100 parts at minute 85 count,
        // 30 rejects, all process rejects now (no start-up spans given): 30 × 100 s / 100.
        // Run = 30 + 120 + 70 + 179 − 30 (break) = 369 min; ideal 100 s → reduced speed
        // 369 × 60 − 100 = 22,040 s.
        assert_eq!(l.planned_production_s, 420.0 * 60.0);
        assert_eq!(
            seconds(&l),
            vec![
                (SixLoss::Breakdowns, 1_800.0, None),
                (SixLoss::Setup, 1_200.0, None),
                (SixLoss::MicroStops, 60.0, None),
                (SixLoss::ReducedSpeed, 22_040.0, None),
                (SixLoss::ProcessRejects, 30.0, Some(30)),
                (SixLoss::StartupRejects, 0.0, Some(0)),
            ]
        );
        assert_identity(&l, "with a break");
    }

    #[test]
    fn the_losses_add_up_to_planned_time_minus_oee_time() {
        use MachineState::*;
        let cases: Vec<(&str, Vec<PastInterval>, Vec<PastParts>)> = vec![
            ("the shift", shift(), output()),
            ("nothing made", shift(), vec![]),
            ("down all span", vec![iv(0, 480, Down, false)], vec![]),
            ("all rejects", shift(), vec![parts(100, 500, 0, 500_000)]),
            (
                "idle and unknown count as breakdowns",
                vec![
                    iv(0, 100, Idle, false),
                    iv(100, 200, Unknown, false),
                    iv(200, 480, Running, false),
                ],
                vec![parts(300, 1_000, 990, 2_000_000)],
            ),
        ];
        for (name, ivs, parts) in cases {
            let startup = startup_spans(&ivs, 10 * MIN);
            let l = six_losses(&always_planned(), &ivs, &parts, &startup, 0, 480 * MIN);
            assert!(l.warnings.is_empty(), "{name}");
            assert_identity(&l, name);
        }
    }

    #[test]
    fn over_100_percent_performance_is_reported_not_hidden() {
        // 60 min running, 4,000 parts at 1 s ideal (66.7 min): reduced speed would be
        // −400 s; it is 0 and the warning says the losses no longer add up.
        let l = six_losses(
            &always_planned(),
            &[iv(0, 60, MachineState::Running, false)],
            &[parts(1, 4_000, 4_000, 4_000_000)],
            &[],
            0,
            60 * MIN,
        );
        assert_eq!(l.losses[3].seconds, 0.0);
        assert_eq!(l.warnings, vec![OeeWarning::PerformanceOver100]);
    }
}

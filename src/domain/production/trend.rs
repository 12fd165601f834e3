//! The trend warning: a machine whose recent failures come much faster than its own
//! history says is flagged `at_risk`, with the figures behind it. It is a trend on past
//! failures, not a prediction model: it says "failing more often than usual lately", never
//! "will fail at".
//!
//! - The **recent window** (default the last 7 days) is cut into days back from now; day
//!   `k` (0 = the last 24 h) weighs `0.5^(k days / half-life)`.
//! - **EW-MTBF** = Σ weight × operating time / Σ weight × failures, over those days
//!   (operating time and failures as in [`super::reliability`]). A clean recent day adds
//!   weighted operating time and no failure, so the figure recovers by itself.
//! - The **baseline MTBF** is the plain MTBF of the machine's own history before the
//!   recent window (default 28 days); without a failure there it is the operating time
//!   itself (a lower bound: at least that long between failures).
//! - **at_risk** when the recent window holds at least `min_failures` failures and
//!   EW-MTBF < `ratio` × baseline (default 0.5).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::reliability::operating_ms;
use crate::domain::EpochMs;
use crate::domain::history::tally_between;
use crate::domain::machine::PastInterval;
use crate::domain::shift::ShiftCalendar;
use crate::domain::snapshot::utc;

/// One day: the width of the recent window's buckets.
pub const BUCKET_MS: EpochMs = 24 * 3_600_000;

/// How the warning is judged (`[analytics]` settings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendSettings {
    /// The recent window, ms.
    pub window_ms: EpochMs,
    /// The baseline before it, ms.
    pub baseline_ms: EpochMs,
    /// A day this old weighs half as much, ms.
    pub half_life_ms: EpochMs,
    /// At risk below this share of the baseline MTBF.
    pub ratio: f64,
    /// Fewest recent failures that can raise the warning.
    pub min_failures: u32,
}

impl Default for TrendSettings {
    fn default() -> Self {
        TrendSettings {
            window_ms: 7 * BUCKET_MS,
            baseline_ms: 28 * BUCKET_MS,
            half_life_ms: 2 * BUCKET_MS,
            ratio: 0.5,
            min_failures: 3,
        }
    }
}

/// Why the warning is or is not raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrendBasis {
    /// No operating time before the recent window: nothing to compare with.
    NoBaseline,
    /// No failure in the recent window.
    NoRecentFailures,
    /// Fewer recent failures than `min_failures`.
    TooFewFailures,
    /// EW-MTBF at or above `threshold` × baseline.
    WithinBaseline,
    /// EW-MTBF below `threshold` × baseline: at risk.
    BelowBaseline,
}

/// A machine's trend warning and the figures behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TrendWarning {
    /// Failing much more often than its own baseline lately (a trend, not a prediction).
    pub at_risk: bool,
    /// Why.
    pub basis: TrendBasis,
    /// Exponentially weighted MTBF of the recent window, seconds.
    pub ew_mtbf_s: Option<f64>,
    /// The plain MTBF before the recent window, seconds.
    pub baseline_mtbf_s: Option<f64>,
    /// `ew_mtbf_s` / `baseline_mtbf_s`.
    pub ratio: Option<f64>,
    /// At risk below this ratio.
    pub threshold: f64,
    /// Failures in the recent window.
    pub recent_failures: u32,
    /// Failures in the baseline.
    pub baseline_failures: u32,
    /// Fewest recent failures that can raise the warning.
    pub min_failures: u32,
    /// Start of the recent window.
    pub since: DateTime<Utc>,
    /// Start of the baseline.
    pub baseline_since: DateTime<Utc>,
    /// The instant judged.
    pub as_of: DateTime<Utc>,
}

/// Operating time and failures of one day of the recent window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bucket {
    /// Operating time, ms.
    pub operating_ms: i64,
    /// Failures starting in it.
    pub failures: u32,
}

/// The weight of day `k` (0 = the newest).
pub fn weight(k: usize, half_life_ms: EpochMs) -> f64 {
    0.5f64.powf(k as f64 * BUCKET_MS as f64 / half_life_ms.max(1) as f64)
}

/// EW-MTBF in seconds of days given newest first; `None` without a failure.
pub fn ew_mtbf_s(days: &[Bucket], half_life_ms: EpochMs) -> Option<f64> {
    let (mut op, mut n) = (0.0, 0.0);
    for (k, d) in days.iter().enumerate() {
        let w = weight(k, half_life_ms);
        op += w * d.operating_ms as f64;
        n += w * f64::from(d.failures);
    }
    (n > 0.0).then(|| op / n / 1000.0)
}

/// Judges days of the recent window (newest first) against the baseline.
pub fn assess(s: &TrendSettings, days: &[Bucket], baseline: Bucket, now: EpochMs) -> TrendWarning {
    let recent_failures = days.iter().map(|d| d.failures).sum();
    let ew = ew_mtbf_s(days, s.half_life_ms);
    let base = (baseline.operating_ms > 0)
        .then(|| baseline.operating_ms as f64 / 1000.0 / f64::from(baseline.failures.max(1)));
    let ratio = match (ew, base) {
        (Some(e), Some(b)) if b > 0.0 => Some(e / b),
        _ => None,
    };
    let basis = match (base, ratio) {
        (None, _) => TrendBasis::NoBaseline,
        _ if recent_failures == 0 => TrendBasis::NoRecentFailures,
        _ if recent_failures < s.min_failures => TrendBasis::TooFewFailures,
        (_, Some(r)) if r < s.ratio => TrendBasis::BelowBaseline,
        _ => TrendBasis::WithinBaseline,
    };
    TrendWarning {
        at_risk: basis == TrendBasis::BelowBaseline,
        basis,
        ew_mtbf_s: ew,
        baseline_mtbf_s: base,
        ratio,
        threshold: s.ratio,
        recent_failures,
        baseline_failures: baseline.failures,
        min_failures: s.min_failures,
        since: utc(now - s.window_ms),
        baseline_since: utc(now - s.window_ms - s.baseline_ms),
        as_of: utc(now),
    }
}

/// The warning of a machine at `now` from its state intervals (covering at least the
/// baseline and the recent window) and the start times of its failures.
pub fn trend_warning(
    s: &TrendSettings,
    calendar: &ShiftCalendar,
    intervals: &[PastInterval],
    failure_starts: &[EpochMs],
    now: EpochMs,
) -> TrendWarning {
    let recent_from = now - s.window_ms;
    let operating = |from: EpochMs, to: EpochMs| operating_ms(&tally_between(calendar, intervals, &[], from, to));
    let failures = |from: EpochMs, to: EpochMs| {
        u32::try_from(failure_starts.iter().filter(|t| (from..to).contains(*t)).count()).unwrap_or(u32::MAX)
    };
    let mut days = Vec::new();
    let mut end = now;
    while end > recent_from {
        let start = (end - BUCKET_MS).max(recent_from);
        days.push(Bucket {
            operating_ms: operating(start, end),
            failures: failures(start, end),
        });
        end = start;
    }
    let base_from = recent_from - s.baseline_ms;
    let baseline = Bucket {
        operating_ms: operating(base_from, recent_from),
        failures: failures(base_from, recent_from),
    };
    assess(s, &days, baseline, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::machine_state::MachineState;

    const H: i64 = 3_600_000;
    const DAY: i64 = BUCKET_MS;
    /// 2026-03-02 00:00 UTC.
    const NOW: i64 = 1_772_409_600_000;

    /// Recent window 3 days, half-life 1 day (weights 1, 1/2, 1/4), baseline 10 days.
    fn settings() -> TrendSettings {
        TrendSettings {
            window_ms: 3 * DAY,
            baseline_ms: 10 * DAY,
            half_life_ms: DAY,
            ratio: 0.5,
            min_failures: 3,
        }
    }

    fn always_planned() -> ShiftCalendar {
        ShiftCalendar::new(chrono_tz::UTC, vec![], crate::domain::shift::DEFAULT_MAX_SHIFT_MS).unwrap()
    }

    /// Running for 13 days up to now: 86,400 s operating a day.
    fn running() -> Vec<PastInterval> {
        vec![PastInterval {
            start: NOW - 13 * DAY,
            end: NOW,
            state: MachineState::Running,
            micro_stop: false,
        }]
    }

    /// Failure starts: `baseline` evenly over the baseline, then per recent day (newest first).
    fn failures(baseline: usize, recent: [usize; 3]) -> Vec<EpochMs> {
        let mut out: Vec<EpochMs> = (0..baseline).map(|i| NOW - 13 * DAY + i as i64 * H).collect();
        for (k, n) in recent.into_iter().enumerate() {
            out.extend((0..n).map(|i| NOW - (k as i64 + 1) * DAY + 1 + i as i64 * H));
        }
        out
    }

    #[test]
    fn weights_halve_per_half_life() {
        assert_eq!(weight(0, DAY), 1.0);
        assert_eq!(weight(1, DAY), 0.5);
        assert_eq!(weight(2, DAY), 0.25);
        assert_eq!(weight(2, 2 * DAY), 0.5);
    }

    #[test]
    fn the_warning_by_hand() {
        // Every day has 86,400 s operating; Σ weight × operating = 86,400 × 1.75 = 151,200 s.
        // (name, baseline failures, recent failures per day newest first,
        //  ew_mtbf_s, baseline_mtbf_s, basis)
        let table = [
            // Speeding up: baseline 864,000 / 2 = 432,000 s; recent Σw·n = 3 + 0.5 = 3.5,
            // EW = 151,200 / 3.5 = 43,200 s = 0.1 × baseline < 0.5 → at risk.
            (
                "failures speed up",
                2,
                [3, 1, 0],
                Some(43_200.0),
                Some(432_000.0),
                TrendBasis::BelowBaseline,
            ),
            // Steady, one a day all along: baseline 864,000 / 10 = 86,400 s; recent
            // Σw·n = 1.75, EW = 86,400 s: ratio 1.0.
            (
                "steady",
                10,
                [1, 1, 1],
                Some(86_400.0),
                Some(86_400.0),
                TrendBasis::WithinBaseline,
            ),
            // Two recent failures (EW = 151,200 / 2 = 75,600 s, well below 0.5 × 864,000)
            // are too few to raise it.
            (
                "too few failures",
                1,
                [2, 0, 0],
                Some(75_600.0),
                Some(864_000.0),
                TrendBasis::TooFewFailures,
            ),
            // No failure before the window: the baseline is the 864,000 s of operating time
            // itself (at least that long); 4 recent failures on day 2 (weight 1/4):
            // Σw·n = 1, EW = 151,200 s = 0.175 × baseline → at risk.
            (
                "new trouble on a clean machine",
                0,
                [0, 0, 4],
                Some(151_200.0),
                Some(864_000.0),
                TrendBasis::BelowBaseline,
            ),
            (
                "quiet lately",
                3,
                [0, 0, 0],
                None,
                Some(288_000.0),
                TrendBasis::NoRecentFailures,
            ),
        ];
        for (name, base, recent, ew, baseline, basis) in table {
            let w = trend_warning(&settings(), &always_planned(), &running(), &failures(base, recent), NOW);
            assert_eq!(w.ew_mtbf_s.map(f64::round), ew, "{name}: ew");
            assert_eq!(w.baseline_mtbf_s, baseline, "{name}: baseline");
            assert_eq!(w.basis, basis, "{name}: basis");
            assert_eq!(w.at_risk, basis == TrendBasis::BelowBaseline, "{name}: at_risk");
            assert_eq!(w.recent_failures as usize, recent.iter().sum::<usize>(), "{name}");
            assert_eq!(w.baseline_failures as usize, base, "{name}");
        }
    }

    #[test]
    fn a_machine_without_history_has_no_baseline() {
        let recent_only = vec![PastInterval {
            start: NOW - 3 * DAY,
            end: NOW,
            state: MachineState::Running,
            micro_stop: false,
        }];
        let w = trend_warning(
            &settings(),
            &always_planned(),
            &recent_only,
            &failures(0, [5, 0, 0]),
            NOW,
        );
        assert_eq!(
            (w.basis, w.at_risk, w.baseline_mtbf_s),
            (TrendBasis::NoBaseline, false, None)
        );
        assert_eq!(w.since, utc(NOW - 3 * DAY));
        assert_eq!(w.baseline_since, utc(NOW - 13 * DAY));
    }

    #[test]
    fn only_planned_operating_time_counts() {
        // Down all of the recent window: no operating time, so each failure there makes
        // EW-MTBF 0 s; stopped days still weigh, they just add no time.
        let mut iv = running();
        iv[0].end = NOW - 3 * DAY;
        iv.push(PastInterval {
            start: NOW - 3 * DAY,
            end: NOW,
            state: MachineState::Down,
            micro_stop: false,
        });
        let w = trend_warning(&settings(), &always_planned(), &iv, &failures(10, [1, 1, 1]), NOW);
        assert_eq!((w.ew_mtbf_s, w.ratio, w.at_risk), (Some(0.0), Some(0.0), true));
    }
}

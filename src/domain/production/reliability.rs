//! MTBF and MTTR of a machine over a span, in total and per downtime reason, from its
//! stored stops and the same [`Tally`] the OEE of the span comes from.
//!
//! Definitions:
//! - a **failure** is a downtime event that has ended, is not a micro-stop, is not a
//!   changeover (its reason in force is neither `changeover` nor `changeover/…`) and was not
//!   caused by another machine (`starved`, `blocked`): setup is its own loss, a stop shorter
//!   than the micro-stop threshold is a speed loss, and a neighbour's breakdown is the
//!   neighbour's failure;
//! - it counts in the span it **starts** in, with its whole **repair time** (stop to
//!   running again, even past the span's end): MTTR is about repairs, not about the span;
//! - **operating time** is run time plus micro-stop time within the span's planned time,
//!   exactly OEE's operating time: micro-stops are not failures, so they are part of the
//!   time between failures;
//! - MTBF = operating time / failures; MTTR = total repair time / failures; both are
//!   `null` without a failure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::EpochMs;
use crate::domain::downtime::is_caused_elsewhere;
use crate::domain::tally::Tally;

/// A stop as stored, for reliability figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopRecord {
    /// When the machine stopped.
    pub start: EpochMs,
    /// When it ran again; `None` while stopped.
    pub end: Option<EpochMs>,
    /// The reason in force (the operator's classification, else the automatic one).
    pub reason: String,
    /// Shorter than the micro-stop threshold.
    pub micro_stop: bool,
}

impl StopRecord {
    /// Whether the stop is a failure (see the module documentation).
    pub fn is_failure(&self) -> bool {
        let setup = self.reason == "changeover" || self.reason.starts_with("changeover/");
        self.end.is_some() && !self.micro_stop && !setup && !is_caused_elsewhere(&self.reason)
    }

    /// Stop to running again, ms (0 while open).
    pub fn repair_ms(&self) -> i64 {
        self.end.map_or(0, |end| (end - self.start).max(0))
    }
}

/// OEE's operating time: run plus micro-stops.
pub fn operating_ms(t: &Tally) -> i64 {
    t.run_ms + t.micro_stop_ms
}

/// MTBF and MTTR of one downtime reason.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReasonReliability {
    /// The reason in force.
    pub reason: String,
    /// Failures with this reason.
    pub failures: u32,
    /// Their repair time, seconds.
    pub repair_s: f64,
    /// Operating time / these failures, seconds.
    pub mtbf_s: Option<f64>,
    /// Repair time / these failures, seconds.
    pub mttr_s: Option<f64>,
}

/// MTBF and MTTR of a machine over a span.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reliability {
    /// Run plus micro-stop time in the span's planned time, seconds.
    pub operating_s: f64,
    /// Failures starting in the span.
    pub failures: u32,
    /// Their repair time, seconds.
    pub repair_s: f64,
    /// Mean time between failures, seconds.
    pub mtbf_s: Option<f64>,
    /// Mean time to repair, seconds.
    pub mttr_s: Option<f64>,
    /// Per reason, most failures first (then most repair time, then by name).
    pub reasons: Vec<ReasonReliability>,
}

fn per(total_ms: i64, n: u32) -> Option<f64> {
    (n > 0).then(|| total_ms as f64 / 1000.0 / f64::from(n))
}

/// The figures of `[from, to)` from the span's operating time and the machine's stops.
pub fn reliability(operating_ms: i64, stops: &[StopRecord], from: EpochMs, to: EpochMs) -> Reliability {
    let mut by_reason: BTreeMap<&str, (u32, i64)> = BTreeMap::new();
    for s in stops.iter().filter(|s| s.is_failure() && (from..to).contains(&s.start)) {
        let e = by_reason.entry(s.reason.as_str()).or_default();
        e.0 += 1;
        e.1 += s.repair_ms();
    }
    let failures = by_reason.values().map(|e| e.0).sum();
    let repair_ms = by_reason.values().map(|e| e.1).sum();
    let mut reasons: Vec<ReasonReliability> = by_reason
        .into_iter()
        .map(|(reason, (n, ms))| ReasonReliability {
            reason: reason.to_owned(),
            failures: n,
            repair_s: ms as f64 / 1000.0,
            mtbf_s: per(operating_ms, n),
            mttr_s: per(ms, n),
        })
        .collect();
    reasons.sort_by(|a, b| {
        b.failures
            .cmp(&a.failures)
            .then(b.repair_s.total_cmp(&a.repair_s))
            .then(a.reason.cmp(&b.reason))
    });
    Reliability {
        operating_s: operating_ms as f64 / 1000.0,
        failures,
        repair_s: repair_ms as f64 / 1000.0,
        mtbf_s: per(operating_ms, failures),
        mttr_s: per(repair_ms, failures),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn stop(start_min: i64, end_min: Option<i64>, reason: &str, micro: bool) -> StopRecord {
        StopRecord {
            start: start_min * MIN,
            end: end_min.map(|m| m * MIN),
            reason: reason.into(),
            micro_stop: micro,
        }
    }

    #[test]
    fn which_stops_are_failures() {
        // (stop, failure?)
        let table = [
            (stop(10, Some(20), "jam", false), true),
            (stop(10, Some(11), "jam", true), false),
            (stop(10, None, "jam", false), false),
            (stop(10, Some(40), "changeover", false), false),
            (stop(10, Some(40), "changeover/overrun", false), false),
            (stop(10, Some(40), "changeovers_are_not_this", false), true),
            (stop(10, Some(40), "idle", false), true),
            (stop(10, Some(40), "comms_lost", false), true),
            // the machine before or after it broke down, not this one
            (stop(10, Some(40), "starved", false), false),
            (stop(10, Some(40), "blocked", false), false),
            // the reason in force decides: an operator's classification replaces `starved`
            (stop(10, Some(40), "material/shortage", false), true),
        ];
        for (s, want) in table {
            assert_eq!(s.is_failure(), want, "{s:?}");
        }
    }

    #[test]
    fn mtbf_and_mttr_by_hand() {
        // An 8 h span, 06:00-14:00 (minutes 360-840), with 385 min operating time
        // (23,100 s). Failures starting in the span: jam 07:00-07:10 (600 s), jam
        // 11:00-11:20 (1,200 s), electrical 13:00-13:05 (300 s) → 3 failures, 2,100 s.
        // MTBF = 23,100 / 3 = 7,700 s; MTTR = 2,100 / 3 = 700 s.
        // jam: 2 failures, 1,800 s → MTBF 11,550 s, MTTR 900 s.
        // electrical: 1 failure, 300 s → MTBF 23,100 s, MTTR 300 s.
        // Not counted: a micro-stop, a changeover, a stop still open, a jam that started
        // at 05:50 (before the span) and one at 14:00 (the span's end is exclusive).
        let stops = [
            stop(350, Some(365), "jam", false),
            stop(420, Some(430), "jam", false),
            stop(480, Some(481), "jam", true),
            stop(540, Some(560), "changeover", false),
            stop(660, Some(680), "jam", false),
            stop(780, Some(785), "electrical", false),
            stop(830, None, "jam", false),
            stop(840, Some(850), "jam", false),
        ];
        let r = reliability(385 * MIN, &stops, 360 * MIN, 840 * MIN);
        assert_eq!(r.operating_s, 23_100.0);
        assert_eq!((r.failures, r.repair_s), (3, 2_100.0));
        assert_eq!((r.mtbf_s, r.mttr_s), (Some(7_700.0), Some(700.0)));
        let rows: Vec<_> = r
            .reasons
            .iter()
            .map(|x| (x.reason.as_str(), x.failures, x.repair_s, x.mtbf_s, x.mttr_s))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("jam", 2, 1_800.0, Some(11_550.0), Some(900.0)),
                ("electrical", 1, 300.0, Some(23_100.0), Some(300.0)),
            ]
        );
    }

    #[test]
    fn a_repair_that_ends_after_the_span_counts_whole() {
        // Stop 13:50, running again 14:30: 40 min = 2,400 s of repair, all of it.
        let r = reliability(60 * MIN, &[stop(830, Some(870), "jam", false)], 360 * MIN, 840 * MIN);
        assert_eq!((r.failures, r.mttr_s, r.mtbf_s), (1, Some(2_400.0), Some(3_600.0)));
    }

    #[test]
    fn without_failures_there_is_no_mtbf_or_mttr() {
        let r = reliability(420 * MIN, &[stop(400, Some(401), "jam", true)], 360 * MIN, 840 * MIN);
        assert_eq!((r.failures, r.mtbf_s, r.mttr_s), (0, None, None));
        assert_eq!(r.operating_s, 25_200.0, "the operating time is still reported");
        assert!(r.reasons.is_empty());
    }

    #[test]
    fn operating_time_is_run_plus_micro_stops() {
        let t = Tally {
            run_ms: 380 * MIN,
            micro_stop_ms: 5 * MIN,
            down_ms: 35 * MIN,
            planned_stop_ms: 60 * MIN,
            ..Tally::default()
        };
        assert_eq!(operating_ms(&t), 385 * MIN);
    }
}

//! OEE from a [`Tally`]: availability × performance × quality.
//!
//! Definitions follow ISO 22400 and the usual practice (oee.com, Vorne):
//! - planned production time (PPT) = run + unplanned stops (+ micro-stops)
//! - availability = operating time / PPT, where operating time = run + micro-stops
//!   (a stop shorter than the micro-stop threshold is a performance loss, not an
//!   availability loss)
//! - performance = Σ(ideal cycle time × parts) / operating time
//! - quality = good / total
//!
//! A window with PPT = 0 has no availability, performance or OEE (`None`, never 0 or NaN).
//! Performance above 100 % is reported as measured with a warning: it means the ideal
//! cycle time is set wrong, and clamping it would hide that.

use serde::{Deserialize, Serialize};

use super::tally::Tally;

/// Something about the figures a reader should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OeeWarning {
    /// Performance above 100 %: the ideal cycle time is probably too long.
    #[serde(rename = "performance_over_100")]
    PerformanceOver100,
}

/// OEE figures of one window, with the inputs they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OeeFigures {
    /// Operating time / planned production time.
    pub availability: Option<f64>,
    /// Ideal time of the parts made / operating time.
    pub performance: Option<f64>,
    /// Good / total.
    pub quality: Option<f64>,
    /// Availability × performance × quality.
    pub oee: Option<f64>,
    /// See [`OeeWarning`].
    pub warnings: Vec<OeeWarning>,
    /// Good parts.
    pub good: i64,
    /// Rejected parts.
    pub reject: i64,
    /// All parts.
    pub total: i64,
    /// Run time, seconds.
    pub run_s: f64,
    /// Unplanned stop time counted as availability loss, seconds.
    pub down_s: f64,
    /// Micro-stop time (performance loss), seconds.
    pub micro_stop_s: f64,
    /// Planned time without data (state `unknown`: communication lost), seconds. Part of
    /// `down_s`, not added to it. Absent from reports stored before it existed (read as 0).
    #[serde(default)]
    pub comms_lost_s: f64,
    /// Planned stop time, seconds.
    pub planned_stop_s: f64,
    /// Planned production time, seconds.
    pub planned_production_s: f64,
}

fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// Computes OEE from a tally.
pub fn compute(t: &Tally) -> OeeFigures {
    let ppt = t.planned_production_ms();
    let operating = t.run_ms + t.micro_stop_ms;
    let availability = ratio(operating, ppt);
    let performance = ratio(t.ideal_ms, operating);
    let quality = ratio(t.good, t.total);
    // With planned time but nothing run or nothing made, OEE is genuinely 0.
    let oee = availability.map(|a| a * performance.unwrap_or(0.0) * quality.unwrap_or(0.0));
    let mut warnings = Vec::new();
    if performance.is_some_and(|p| p > 1.0) {
        warnings.push(OeeWarning::PerformanceOver100);
    }
    OeeFigures {
        availability,
        performance,
        quality,
        oee,
        warnings,
        good: t.good,
        reject: t.reject(),
        total: t.total,
        run_s: t.run_ms as f64 / 1000.0,
        down_s: t.down_ms as f64 / 1000.0,
        micro_stop_s: t.micro_stop_ms as f64 / 1000.0,
        comms_lost_s: t.comms_lost_ms as f64 / 1000.0,
        planned_stop_s: t.planned_stop_ms as f64 / 1000.0,
        planned_production_s: ppt as f64 / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn pct(x: Option<f64>) -> Option<f64> {
        x.map(|v| (v * 10_000.0).round() / 100.0)
    }

    /// (name, tally, A %, P %, Q %, OEE %, warning)
    type Row = (
        &'static str,
        Tally,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        bool,
    );

    #[test]
    fn oee_table() {
        let rows: Vec<Row> = vec![
            // The textbook shift: 480 min shift, 60 min planned breaks → PPT 420 min;
            // 47 min down → run 373 min; A = 373/420 = 88.81 %.
            // 19,271 parts × 1.0 s = 19,271 s ideal; P = 19,271 / 22,380 s = 86.11 %.
            // good = 19,271 − 423 = 18,848; Q = 18,848 / 19,271 = 97.80 %.
            // OEE = 18,848 s / 25,200 s = 74.79 %.
            (
                "textbook shift",
                Tally {
                    run_ms: 373 * MIN,
                    down_ms: 47 * MIN,
                    micro_stop_ms: 0,
                    planned_stop_ms: 60 * MIN,
                    comms_lost_ms: 0,
                    total: 19_271,
                    good: 18_848,
                    ideal_ms: 19_271_000,
                },
                Some(88.81),
                Some(86.11),
                Some(97.80),
                Some(74.79),
                false,
            ),
            // Micro-stops are performance loss: 10 min of them keep A at 100 %;
            // 60 min PPT, 45 min of ideal output → P = 45/60 = 75 %.
            (
                "micro-stops are performance loss",
                Tally {
                    run_ms: 50 * MIN,
                    micro_stop_ms: 10 * MIN,
                    total: 2_700,
                    good: 2_700,
                    ideal_ms: 2_700_000,
                    ..Tally::default()
                },
                Some(100.0),
                Some(75.0),
                Some(100.0),
                Some(75.0),
                false,
            ),
            // All time planned stop: no PPT, so A, P and OEE are null; Q from the parts.
            (
                "zero planned production time",
                Tally {
                    planned_stop_ms: 60 * MIN,
                    total: 10,
                    good: 9,
                    ideal_ms: 10_000,
                    ..Tally::default()
                },
                None,
                None,
                Some(90.0),
                None,
                false,
            ),
            // Nothing at all.
            ("empty", Tally::default(), None, None, None, None, false),
            // Ideal cycle time too long: 1 h run, 4,000 parts × 1 s = 4,000 s ideal → P 111.11 %
            // reported as measured, with a warning; OEE = 1 × 1.1111 × 1 = 111.11 %.
            (
                "performance over 100 % is not clamped",
                Tally {
                    run_ms: 60 * MIN,
                    total: 4_000,
                    good: 4_000,
                    ideal_ms: 4_000_000,
                    ..Tally::default()
                },
                Some(100.0),
                Some(111.11),
                Some(100.0),
                Some(111.11),
                true,
            ),
            // Down the whole hour: A = 0, no operating time so P null, OEE 0 (not null).
            (
                "down all window",
                Tally {
                    down_ms: 60 * MIN,
                    ..Tally::default()
                },
                Some(0.0),
                None,
                None,
                Some(0.0),
                false,
            ),
            // Ran but made nothing: P = 0, Q null, OEE 0.
            (
                "ran but made nothing",
                Tally {
                    run_ms: 30 * MIN,
                    ..Tally::default()
                },
                Some(100.0),
                Some(0.0),
                None,
                Some(0.0),
                false,
            ),
            // Two products: 1,000 × 0.5 s + 500 × 2.0 s = 1,500 s ideal over 30 min run
            // (1,800 s) → P = 83.33 %; 10 min down in 40 min PPT → A = 75 %;
            // 1,470 good of 1,500 → Q = 98 %; OEE = 0.75 × 0.8333 × 0.98 = 61.25 %.
            (
                "mixed products",
                Tally {
                    run_ms: 30 * MIN,
                    down_ms: 10 * MIN,
                    total: 1_500,
                    good: 1_470,
                    ideal_ms: 1_500_000,
                    ..Tally::default()
                },
                Some(75.0),
                Some(83.33),
                Some(98.0),
                Some(61.25),
                false,
            ),
        ];
        for (name, tally, a, p, q, oee, warn) in rows {
            let f = compute(&tally);
            assert_eq!(pct(f.availability), a, "{name}: availability");
            assert_eq!(pct(f.performance), p, "{name}: performance");
            assert_eq!(pct(f.quality), q, "{name}: quality");
            assert_eq!(pct(f.oee), oee, "{name}: oee");
            assert_eq!(
                f.warnings.contains(&OeeWarning::PerformanceOver100),
                warn,
                "{name}: warning"
            );
            for v in [f.availability, f.performance, f.quality, f.oee].into_iter().flatten() {
                assert!(v.is_finite(), "{name}: {v}");
            }
        }
    }

    #[test]
    fn warnings_have_their_documented_wire_names() {
        let json = serde_json::to_string(&OeeWarning::PerformanceOver100).unwrap_or_default();
        assert_eq!(json, r#""performance_over_100""#);
    }

    #[test]
    fn figures_carry_their_inputs_in_seconds() {
        let f = compute(&Tally {
            run_ms: 1_500,
            down_ms: 500,
            micro_stop_ms: 250,
            planned_stop_ms: 1_000,
            comms_lost_ms: 400,
            total: 5,
            good: 4,
            ideal_ms: 1_000,
        });
        assert_eq!(f.run_s, 1.5);
        // comms lost is inside the down time, not on top of it
        assert_eq!((f.down_s, f.comms_lost_s), (0.5, 0.4));
        assert_eq!(f.planned_production_s, 2.25);
        assert_eq!(f.reject, 1);
    }
}

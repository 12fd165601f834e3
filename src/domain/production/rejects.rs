//! Manual rejects, pure: what a logged reject does to the figures, and what may be logged.
//!
//! A manual reject is a part the PLC counted as good and a person found bad. Logging `q`
//! of them on a machine at `at` is a parts correction there: `good − q`, `total`
//! unchanged, so the reject count rises by `q` and quality falls, in every window that
//! holds `at` (live, and `?from=&to=` recomputed from the store, which counts it in the
//! minute of `at` exactly as PLC parts are counted). A void is the opposite correction at
//! the same instant. Because only parts counted good can be taken back, and never more
//! than the machine's good parts in the shift of `at`, no part is rejected twice, whatever
//! counters the machine has (see the table test below).

use super::super::EpochMs;
use super::super::shift::ShiftCalendar;
use super::super::tally::Tally;

/// Most parts one entry may reject.
pub const MAX_QUANTITY: i64 = 1_000_000;
/// How far back a reject may be logged.
pub const MAX_AGE_MS: EpochMs = 24 * 3_600_000;
/// Longest note or void reason, in characters.
pub const MAX_TEXT_CHARS: usize = 1_000;

/// The correction `quantity` manual rejects make: good parts become bad.
pub fn correction(quantity: i64) -> Tally {
    Tally {
        good: -quantity,
        ..Tally::default()
    }
}

/// The correction voiding an entry of `quantity` makes: the parts are good again.
pub fn void_correction(quantity: i64) -> Tally {
    -correction(quantity)
}

/// The span whose good parts bound a reject logged at some instant: the shift occurrence
/// holding it, or, outside every shift, the plant-local day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountSpan {
    /// The shift's name; `None` for a day.
    pub shift: Option<String>,
    /// Start.
    pub from: EpochMs,
    /// End.
    pub to: EpochMs,
}

impl CountSpan {
    /// The span of `at` in `calendar` (time zone and DST as the calendar has them).
    pub fn of(calendar: &ShiftCalendar, at: EpochMs) -> CountSpan {
        match calendar.shift_at(at) {
            Some(s) => CountSpan {
                shift: Some(s.name),
                from: s.start,
                to: s.end,
            },
            None => CountSpan {
                shift: None,
                from: calendar.day_start(at),
                to: calendar.next_day_start(at),
            },
        }
    }

    /// `shift early` or `the day`, for messages.
    pub fn describe(&self) -> String {
        match &self.shift {
            Some(name) => format!("shift `{name}`"),
            None => "the plant-local day".to_owned(),
        }
    }
}

/// Why a reject cannot be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectError {
    /// Zero, negative or absurdly many parts.
    #[error("`quantity` must be a whole number from 1 to {MAX_QUANTITY}, got {0}")]
    Quantity(i64),
    /// `at` lies after now.
    #[error("`at` is in the future; leave it out to log at the server's time")]
    InFuture,
    /// `at` lies further back than [`MAX_AGE_MS`].
    #[error("`at` is more than 24 hours ago; rejects are logged within a day of the parts")]
    TooOld,
    /// More parts than the machine counted good in the span of `at`.
    #[error(
        "`quantity` {quantity} is more than the {good} good parts {machine} has in {span}; \
         a manual reject takes back parts the PLC counted as good"
    )]
    MoreThanGood {
        /// Asked for.
        quantity: i64,
        /// Good parts there are (PLC good less manual rejects already logged).
        good: i64,
        /// The machine.
        machine: String,
        /// `shift early`, `the plant-local day`.
        span: String,
    },
}

/// Checks a quantity's range.
pub fn check_quantity(quantity: i64) -> Result<(), RejectError> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(RejectError::Quantity(quantity))
    }
}

/// Checks that `at` is neither after `now` nor more than a day before it.
pub fn check_time(at: EpochMs, now: EpochMs) -> Result<(), RejectError> {
    if at > now {
        Err(RejectError::InFuture)
    } else if now - at > MAX_AGE_MS {
        Err(RejectError::TooOld)
    } else {
        Ok(())
    }
}

impl RejectError {
    /// The refusal of `quantity` rejects on `machine` when it has only `good` good parts in
    /// `span`. (The store checks `quantity <= good` in the statement that logs, so two
    /// entries logged at once cannot take the same parts.)
    pub fn more_than_good(quantity: i64, good: i64, machine: &str, span: &CountSpan) -> RejectError {
        RejectError::MoreThanGood {
            quantity,
            good: good.max(0),
            machine: machine.to_owned(),
            span: span.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::history::tally_between;
    use crate::domain::machine::{Machine, MachineEvent, PastParts, Sample};
    use crate::domain::plant::PlantModel;
    use crate::domain::tag::TagValue;
    use crate::domain::window::WindowName;

    const MIN: i64 = 60_000;

    /// 2026-03-02 00:00 UTC.
    const DAY: i64 = 1_772_409_600_000;

    /// One machine per counter layout; counters count increments.
    const LAYOUTS: &str = r#"
        timezone = "UTC"
        [[shifts]]
        name = "day"
        start = "06:00"
        end = "14:00"
        [[lines]]
        id = "l"
        name = "L"
        [[lines.machines]]
        id = "good-reject"
        name = "good + reject"
        ideal_cycle_time = "1s"
        tags = { running = "GR.Run", good = { tag = "GR.Good", mode = "increment" }, reject = { tag = "GR.Reject", mode = "increment" } }
        [[lines.machines]]
        id = "total-reject"
        name = "total + reject"
        ideal_cycle_time = "1s"
        tags = { running = "TR.Run", total = { tag = "TR.Total", mode = "increment" }, reject = { tag = "TR.Reject", mode = "increment" } }
        [[lines.machines]]
        id = "total-good"
        name = "total + good"
        ideal_cycle_time = "1s"
        tags = { running = "TG.Run", total = { tag = "TG.Total", mode = "increment" }, good = { tag = "TG.Good", mode = "increment" } }
        [[lines.machines]]
        id = "total"
        name = "total only"
        ideal_cycle_time = "1s"
        tags = { running = "T.Run", total = { tag = "T.Total", mode = "increment" } }
        [[lines.machines]]
        id = "good"
        name = "good only"
        ideal_cycle_time = "1s"
        tags = { running = "G.Run", good = { tag = "G.Good", mode = "increment" } }
    "#;

    fn plant() -> Arc<PlantModel> {
        Arc::new(crate::config::parse_plant(LAYOUTS, "layouts.toml").unwrap())
    }

    /// Feeds `counts` at 07:00 to a machine running since 06:00; returns it with the PLC
    /// parts as the store would hold them (one row per minute).
    fn fed(plant: &Arc<PlantModel>, id: &str, counts: &[(&str, i64)]) -> (Machine, Vec<PastParts>) {
        let (idx, model) = plant.machine(id).unwrap();
        let run_tag = &model.signals[0].tag;
        let mut m = Machine::new(plant.clone(), idx);
        let mut events = Vec::new();
        let sample = |tag: &str, value: TagValue, ts: i64| Sample {
            signal: plant.tags[tag].1,
            value,
            ts,
        };
        let start = DAY + 6 * 60 * MIN;
        m.apply(sample(run_tag, TagValue::Bool(true), start), start, &mut events);
        for (tag, n) in counts {
            m.apply(sample(tag, TagValue::Int(*n), start + 60 * MIN), start, &mut events);
        }
        let parts = events
            .iter()
            .filter_map(|e| match e {
                MachineEvent::Parts { at, tally, .. } => Some(PastParts {
                    at: at.div_euclid(MIN) * MIN,
                    tally: *tally,
                }),
                _ => None,
            })
            .collect();
        (m, parts)
    }

    /// (machine, PLC counts, PLC (total, good, reject), after the rejects, quality after)
    type Layout = (
        &'static str,
        &'static [(&'static str, i64)],
        (i64, i64, i64),
        (i64, i64, i64),
        f64,
    );

    fn counts(t: &Tally) -> (i64, i64, i64) {
        (t.total, t.good, t.reject())
    }

    #[test]
    fn manual_rejects_take_good_parts_back_whatever_counters_the_machine_has() {
        let plant = plant();
        let at = DAY + 7 * 60 * MIN + 30 * MIN + 12_345;
        // (machine, PLC counts at 07:00, PLC (total, good, reject),
        //  after 5 manual rejects at 07:30:12.345 (total, good, reject), quality after)
        let table: [Layout; 5] = [
            // good 90 + reject 10 = 100 made; 5 of the 90 good are bad: 85 / 100
            (
                "good-reject",
                &[("GR.Good", 90), ("GR.Reject", 10)],
                (100, 90, 10),
                (100, 85, 15),
                0.85,
            ),
            // 100 made, 10 rejected by the PLC: 90 good; 5 more bad: 85 / 100
            (
                "total-reject",
                &[("TR.Total", 100), ("TR.Reject", 10)],
                (100, 90, 10),
                (100, 85, 15),
                0.85,
            ),
            // 100 made, 90 good by the PLC; 5 more bad: 85 / 100
            (
                "total-good",
                &[("TG.Total", 100), ("TG.Good", 90)],
                (100, 90, 10),
                (100, 85, 15),
                0.85,
            ),
            // 100 made, all good to the PLC; 5 bad: 95 / 100
            ("total", &[("T.Total", 100)], (100, 100, 0), (100, 95, 5), 0.95),
            // 90 good made; 5 bad: 85 / 90 = 0.9444…
            ("good", &[("G.Good", 90)], (90, 90, 0), (90, 85, 5), 85.0 / 90.0),
        ];
        for (id, plc, before, after, quality) in table {
            let (mut m, stored) = fed(&plant, id, plc);
            assert_eq!(counts(&m.window(WindowName::Shift)), before, "{id}: PLC counts");
            m.correct(at, correction(5));
            for w in [WindowName::Shift, WindowName::Today, WindowName::H1, WindowName::H8] {
                assert_eq!(counts(&m.window(w)), after, "{id}: {w} after the reject");
            }
            let q = crate::domain::oee::compute(&m.window(WindowName::Shift)).quality;
            assert!(q.is_some_and(|q| (q - quality).abs() < 1e-12), "{id}: quality {q:?}");
            // `?from=&to=` over the shift: PLC rows plus the correction in its minute.
            let mut history = stored.clone();
            history.push(PastParts {
                at: at.div_euclid(MIN) * MIN,
                tally: correction(5),
            });
            let (from, to) = (DAY + 6 * 60 * MIN, DAY + 14 * 60 * MIN);
            let past = tally_between(&plant.calendar, &[], &history, from, to);
            assert_eq!(counts(&past), after, "{id}: recomputed");
            // The void restores the PLC's figures, live and recomputed.
            m.correct(at, void_correction(5));
            assert_eq!(counts(&m.window(WindowName::Shift)), before, "{id}: after the void");
            history.push(PastParts {
                at: at.div_euclid(MIN) * MIN,
                tally: void_correction(5),
            });
            let past = tally_between(&plant.calendar, &[], &history, from, to);
            assert_eq!(counts(&past), before, "{id}: recomputed after the void");
        }
    }

    #[test]
    fn a_correction_leaves_time_and_ideal_time_alone() {
        let c = correction(7);
        assert_eq!(
            c,
            Tally {
                good: -7,
                ..Tally::default()
            }
        );
        assert_eq!(
            (c.total, c.reject(), c.ideal_ms, c.planned_production_ms()),
            (0, 7, 0, 0)
        );
        assert_eq!(c + void_correction(7), Tally::default());
    }

    #[test]
    fn quantities_are_whole_parts_and_more_than_the_good_ones_are_refused_with_their_number() {
        // (quantity, in range)
        for (q, ok) in [
            (1, true),
            (MAX_QUANTITY, true),
            (0, false),
            (-3, false),
            (MAX_QUANTITY + 1, false),
        ] {
            assert_eq!(check_quantity(q).is_ok(), ok, "{q}");
        }
        let span = CountSpan {
            shift: Some("day".into()),
            from: 0,
            to: 1,
        };
        // More than the good parts is refused with how many there are (never below 0:
        // a machine whose PLC rejected more than it counted good has none to give).
        let err = RejectError::more_than_good(86, 85, "l1-filler", &span);
        assert_eq!(
            err.to_string(),
            "`quantity` 86 is more than the 85 good parts l1-filler has in shift `day`; \
             a manual reject takes back parts the PLC counted as good"
        );
        let day = CountSpan { shift: None, ..span };
        assert!(
            RejectError::more_than_good(1, -2, "m", &day)
                .to_string()
                .contains("the 0 good parts m has in the plant-local day")
        );
    }

    #[test]
    fn rejects_are_logged_within_a_day_and_never_ahead() {
        let now = DAY + 10 * 60 * MIN;
        // (at, result)
        let table = [
            (now, Ok(())),
            (now - MAX_AGE_MS, Ok(())),
            (now - MAX_AGE_MS - 1, Err(RejectError::TooOld)),
            (now + 1, Err(RejectError::InFuture)),
        ];
        for (at, want) in table {
            assert_eq!(check_time(at, now), want, "{at}");
        }
    }

    #[test]
    fn the_count_span_is_the_shift_of_the_reject_or_else_its_day() {
        let berlin = r#"
            timezone = "Europe/Berlin"
            [[shifts]]
            name = "early"
            start = "06:00"
            end = "14:00"
            [[shifts]]
            name = "night"
            start = "22:00"
            end = "06:00"
            crosses_midnight = true
            [[lines]]
            id = "l"
            name = "L"
            [[lines.machines]]
            id = "m"
            name = "M"
            ideal_cycle_time = "1s"
            tags = { running = "M.Run", good = { tag = "M.Good" } }
        "#;
        let cal = crate::config::parse_plant(berlin, "berlin.toml").unwrap().calendar;
        let t = |y, mo, d, h, mi| Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap().timestamp_millis();
        // (at, shift, from, to)
        let table = [
            // 2026-03-02 08:00 CET (07:00Z): early, 06:00-14:00 CET = 05:00Z-13:00Z
            (
                t(2026, 3, 2, 7, 0),
                Some("early"),
                t(2026, 3, 2, 5, 0),
                t(2026, 3, 2, 13, 0),
            ),
            // the DST night 28/29 March: 22:00 CET (21:00Z) to 06:00 CEST (04:00Z), 7 h
            (
                t(2026, 3, 29, 0, 0),
                Some("night"),
                t(2026, 3, 28, 21, 0),
                t(2026, 3, 29, 4, 0),
            ),
            // 2026-03-30 15:00 CEST (13:00Z) is in no shift: the day, 00:00 CEST (22:00Z
            // the day before) to 00:00 CEST next day
            (
                t(2026, 3, 30, 13, 0),
                None,
                t(2026, 3, 29, 22, 0),
                t(2026, 3, 30, 22, 0),
            ),
        ];
        for (at, shift, from, to) in table {
            let span = CountSpan::of(&cal, at);
            assert_eq!(
                span,
                CountSpan {
                    shift: shift.map(str::to_owned),
                    from,
                    to
                },
                "{at}"
            );
        }
        assert_eq!(t(2026, 3, 29, 4, 0) - t(2026, 3, 28, 21, 0), 7 * 60 * MIN);
    }
}

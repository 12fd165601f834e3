//! Which shift occurrence a checklist or a handover note belongs to, pure: the current
//! one at `now` and the one before it (what the next shift reads at its start), from the
//! plant's [`ShiftCalendar`] (time zone and DST included), and how an occurrence is
//! shown: its name and its start and end in plant-local time with their offsets.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::EpochMs;
use crate::domain::shift::{ShiftCalendar, ShiftInstance};
use crate::domain::snapshot::utc;

/// Which occurrence a read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// The occurrence running now.
    Current,
    /// The occurrence before the current one (or the last one that ended, between
    /// shifts): what the next shift reads at its start.
    #[default]
    Previous,
}

/// The shift occurrence running at `now`, if any.
pub fn current_shift(calendar: &ShiftCalendar, now: EpochMs) -> Option<ShiftInstance> {
    calendar.shift_at(now)
}

/// The occurrence before the one running at `now`; between shifts, the last one that
/// ended.
pub fn previous_shift(calendar: &ShiftCalendar, now: EpochMs) -> Option<ShiftInstance> {
    let before = calendar.shift_at(now).map_or(now, |s| s.start);
    calendar.shift_before(before)
}

/// The occurrence `which` names at `now`.
pub fn shift_of(calendar: &ShiftCalendar, which: Which, now: EpochMs) -> Option<ShiftInstance> {
    match which {
        Which::Current => current_shift(calendar, now),
        Which::Previous => previous_shift(calendar, now),
    }
}

/// A shift occurrence as shown: plant-local times with their UTC offsets, so a night
/// shift over a DST change shows a different offset at each end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ShiftSlot {
    /// The shift's configured name.
    pub name: String,
    /// First instant, plant-local (`2026-03-28T22:00:00+01:00`).
    #[schema(value_type = String, format = DateTime)]
    pub start: DateTime<FixedOffset>,
    /// First instant after it, plant-local.
    #[schema(value_type = String, format = DateTime)]
    pub end: DateTime<FixedOffset>,
}

/// `at` in the plant's time zone, with its offset.
pub fn local(calendar: &ShiftCalendar, at: EpochMs) -> DateTime<FixedOffset> {
    utc(at).with_timezone(&calendar.tz()).fixed_offset()
}

/// How the occurrence `[start, end)` named `name` is shown.
pub fn slot(calendar: &ShiftCalendar, name: &str, start: EpochMs, end: EpochMs) -> ShiftSlot {
    ShiftSlot {
        name: name.to_owned(),
        start: local(calendar, start),
        end: local(calendar, end),
    }
}

/// How an occurrence is shown.
pub fn slot_of(calendar: &ShiftCalendar, s: &ShiftInstance) -> ShiftSlot {
    slot(calendar, &s.name, s.start, s.end)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, Weekday};

    use super::*;
    use crate::domain::shift::ShiftDef;

    const H: i64 = 3_600_000;

    fn at(s: &str) -> EpochMs {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn def(name: &str, start: &str, end: &str, days: &[Weekday]) -> ShiftDef {
        ShiftDef {
            name: name.into(),
            start: start.parse::<NaiveTime>().unwrap(),
            end: end.parse::<NaiveTime>().unwrap(),
            breaks: vec![],
            days: days.to_vec(),
            crosses_midnight: end < start,
        }
    }

    /// Berlin, every day: early 06-14, late 14-22, night 22-06.
    fn three_shifts() -> ShiftCalendar {
        let shifts = vec![
            def("early", "06:00", "14:00", &[]),
            def("late", "14:00", "22:00", &[]),
            def("night", "22:00", "06:00", &[]),
        ];
        ShiftCalendar::new(
            chrono_tz::Europe::Berlin,
            shifts,
            crate::domain::shift::DEFAULT_MAX_SHIFT_MS,
        )
        .unwrap()
    }

    /// Berlin, Monday to Friday: early 06-14, late 14-22 (nothing at night or weekends).
    fn two_shifts_weekdays() -> ShiftCalendar {
        use Weekday::*;
        let days = [Mon, Tue, Wed, Thu, Fri];
        let shifts = vec![
            def("early", "06:00", "14:00", &days),
            def("late", "14:00", "22:00", &days),
        ];
        ShiftCalendar::new(
            chrono_tz::Europe::Berlin,
            shifts,
            crate::domain::shift::DEFAULT_MAX_SHIFT_MS,
        )
        .unwrap()
    }

    /// (name, start, end) written with the offset in force at each end.
    fn shown(s: Option<ShiftInstance>, c: &ShiftCalendar) -> Option<(String, String, String)> {
        s.map(|s| {
            let v = slot_of(c, &s);
            (v.name, v.start.to_rfc3339(), v.end.to_rfc3339())
        })
    }

    fn want(name: &str, start: &str, end: &str) -> Option<(String, String, String)> {
        Some((name.into(), start.into(), end.into()))
    }

    #[test]
    fn current_and_previous_across_midnight_and_dst() {
        let c = three_shifts();
        // (now, current, previous)
        let cases = [
            // June, CEST (+02:00): the night shift runs across midnight.
            (
                "2026-06-04T01:00:00+02:00",
                want("night", "2026-06-03T22:00:00+02:00", "2026-06-04T06:00:00+02:00"),
                want("late", "2026-06-03T14:00:00+02:00", "2026-06-03T22:00:00+02:00"),
            ),
            // At 06:00 sharp the early shift has begun; the night before is previous.
            (
                "2026-06-04T06:00:00+02:00",
                want("early", "2026-06-04T06:00:00+02:00", "2026-06-04T14:00:00+02:00"),
                want("night", "2026-06-03T22:00:00+02:00", "2026-06-04T06:00:00+02:00"),
            ),
            // Spring forward, 2026-03-29 02:00 CET → 03:00 CEST: the night shift starts
            // at 22:00+01:00 (21:00Z) and ends at 06:00+02:00 (04:00Z): 7 h.
            (
                "2026-03-29T03:30:00+02:00",
                want("night", "2026-03-28T22:00:00+01:00", "2026-03-29T06:00:00+02:00"),
                want("late", "2026-03-28T14:00:00+01:00", "2026-03-28T22:00:00+01:00"),
            ),
            (
                "2026-03-29T07:00:00+02:00",
                want("early", "2026-03-29T06:00:00+02:00", "2026-03-29T14:00:00+02:00"),
                want("night", "2026-03-28T22:00:00+01:00", "2026-03-29T06:00:00+02:00"),
            ),
            // Fall back, 2026-10-25 03:00 CEST → 02:00 CET: 22:00+02:00 (20:00Z) to
            // 06:00+01:00 (05:00Z): 9 h.
            (
                "2026-10-25T06:30:00+01:00",
                want("early", "2026-10-25T06:00:00+01:00", "2026-10-25T14:00:00+01:00"),
                want("night", "2026-10-24T22:00:00+02:00", "2026-10-25T06:00:00+01:00"),
            ),
        ];
        for (now, current, previous) in cases {
            let t = at(now);
            assert_eq!(shown(current_shift(&c, t), &c), current, "current at {now}");
            assert_eq!(shown(previous_shift(&c, t), &c), previous, "previous at {now}");
            assert_eq!(shown(shift_of(&c, Which::Current, t), &c), current, "{now}");
            assert_eq!(shown(shift_of(&c, Which::Previous, t), &c), previous, "{now}");
        }
    }

    #[test]
    fn a_dst_night_shift_lasts_7_or_9_hours() {
        let c = three_shifts();
        let spring = current_shift(&c, at("2026-03-29T01:00:00+01:00")).unwrap();
        assert_eq!(spring.end - spring.start, 7 * H);
        let autumn = previous_shift(&c, at("2026-10-25T07:00:00+01:00")).unwrap();
        assert_eq!(autumn.end - autumn.start, 9 * H);
    }

    #[test]
    fn between_shifts_previous_is_the_last_one_that_ended() {
        let c = two_shifts_weekdays();
        // 2026-06-05 is a Friday, 2026-06-08 the Monday after.
        let cases = [
            // Friday 23:00: no shift; the late shift ended an hour ago.
            (
                "2026-06-05T23:00:00+02:00",
                None,
                want("late", "2026-06-05T14:00:00+02:00", "2026-06-05T22:00:00+02:00"),
            ),
            // Sunday noon: still Friday's late shift.
            (
                "2026-06-07T12:00:00+02:00",
                None,
                want("late", "2026-06-05T14:00:00+02:00", "2026-06-05T22:00:00+02:00"),
            ),
            // Monday 06:00: the early shift reads Friday's late shift's notes.
            (
                "2026-06-08T06:00:00+02:00",
                want("early", "2026-06-08T06:00:00+02:00", "2026-06-08T14:00:00+02:00"),
                want("late", "2026-06-05T14:00:00+02:00", "2026-06-05T22:00:00+02:00"),
            ),
            // Monday 05:59:59.999: not yet.
            (
                "2026-06-08T05:59:59.999+02:00",
                None,
                want("late", "2026-06-05T14:00:00+02:00", "2026-06-05T22:00:00+02:00"),
            ),
        ];
        for (now, current, previous) in cases {
            let t = at(now);
            assert_eq!(shown(current_shift(&c, t), &c), current, "current at {now}");
            assert_eq!(shown(previous_shift(&c, t), &c), previous, "previous at {now}");
        }
    }

    #[test]
    fn a_calendar_without_shifts_has_no_occurrences() {
        let c = ShiftCalendar::new(chrono_tz::UTC, vec![], crate::domain::shift::DEFAULT_MAX_SHIFT_MS).unwrap();
        let t = at("2026-06-04T01:00:00Z");
        assert_eq!(current_shift(&c, t), None);
        assert_eq!(previous_shift(&c, t), None);
    }
}

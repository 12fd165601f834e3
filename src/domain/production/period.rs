//! The spans reports cover, from the plant's shift calendar: one occurrence of a shift
//! (named by the shift and the plant-local date it starts on), a plant-local day, an ISO
//! week. Plant-local times are written with their
//! offset (`2026-11-27T22:00:00+01:00`), DST included.

use chrono::{DateTime, Datelike, Days, NaiveDate, SecondsFormat, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::EpochMs;
use crate::domain::shift::{ShiftCalendar, ShiftInstance};
use crate::domain::snapshot::utc;

/// What kind of span a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// One occurrence of a shift.
    Shift,
    /// A plant-local calendar day.
    Day,
    /// An ISO week, Monday to Monday, plant-local.
    Week,
}

/// The span of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Period {
    /// shift, day or week.
    pub kind: PeriodKind,
    /// For people: `night 2026-11-27`, `2026-11-27`, `2026-W48`.
    pub label: String,
    /// The shift's name (shift reports).
    pub shift: Option<String>,
    /// The plant-local date it starts on (a week: its Monday), `YYYY-MM-DD`.
    pub date: String,
    /// Start.
    #[schema(value_type = String)]
    pub from: DateTime<Utc>,
    /// End (exclusive).
    #[schema(value_type = String)]
    pub to: DateTime<Utc>,
    /// Start, plant-local with its offset.
    pub from_local: String,
    /// End, plant-local with its offset.
    pub to_local: String,
    /// Real length in seconds (a DST night shift is an hour shorter or longer).
    pub length_s: f64,
}

impl Period {
    /// Start, ms.
    pub fn from_ms(&self) -> EpochMs {
        self.from.timestamp_millis()
    }

    /// End, ms.
    pub fn to_ms(&self) -> EpochMs {
        self.to.timestamp_millis()
    }
}

/// A period that cannot be made from what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Not a `YYYY-MM-DD` date.
    #[error("`date` must be a plant-local date like 2026-11-27, got `{0}`")]
    BadDate(String),
    /// Not an ISO week `YYYY-Www`.
    #[error("`week` must be an ISO week like 2026-W48, got `{0}`")]
    BadWeek(String),
    /// No shift of that name.
    #[error("`shift` must be one of the plant's shifts ({}), got `{name}`", .known.join(", "))]
    UnknownShift {
        /// What was asked.
        name: String,
        /// The shifts there are.
        known: Vec<String>,
    },
    /// The shift does not run on that date (its `days`), or vanishes in a DST gap.
    #[error("shift `{shift}` does not run on {date}")]
    NoOccurrence {
        /// The shift.
        shift: String,
        /// The date.
        date: NaiveDate,
    },
}

/// An instant as plant-local RFC 3339 with its offset; milliseconds only when there are
/// some.
pub fn local_time(tz: Tz, ms: EpochMs) -> String {
    let t = utc(ms).with_timezone(&tz);
    let format = if ms.rem_euclid(1000) == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Millis
    };
    t.to_rfc3339_opts(format, false)
}

/// Reads a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Result<NaiveDate, PeriodError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|d| (1970..=9999).contains(&d.year()))
        .ok_or_else(|| PeriodError::BadDate(s.to_owned()))
}

/// Reads an ISO week `YYYY-Www` (`2026-W48`) into its Monday.
pub fn parse_week(s: &str) -> Result<NaiveDate, PeriodError> {
    let bad = || PeriodError::BadWeek(s.to_owned());
    let (year, week) = s.split_once("-W").ok_or_else(bad)?;
    if year.len() != 4 || week.len() != 2 {
        return Err(bad());
    }
    let (year, week): (i32, u32) = (year.parse().map_err(|_| bad())?, week.parse().map_err(|_| bad())?);
    if year < 1970 {
        return Err(bad());
    }
    NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)
}

fn period(
    cal: &ShiftCalendar,
    kind: PeriodKind,
    label: String,
    shift: Option<String>,
    date: NaiveDate,
    from: EpochMs,
    to: EpochMs,
) -> Period {
    Period {
        kind,
        label,
        shift,
        date: date.format("%Y-%m-%d").to_string(),
        from: utc(from),
        to: utc(to),
        from_local: local_time(cal.tz(), from),
        to_local: local_time(cal.tz(), to),
        length_s: (to - from) as f64 / 1000.0,
    }
}

/// The occurrence of shift `name` that starts on plant-local date `date`.
pub fn shift_period(cal: &ShiftCalendar, name: &str, date: NaiveDate) -> Result<Period, PeriodError> {
    let known = cal.shift_names();
    if !known.contains(&name) {
        return Err(PeriodError::UnknownShift {
            name: name.to_owned(),
            known: known.into_iter().map(str::to_owned).collect(),
        });
    }
    let occurrence = cal
        .shifts_on(date)
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| PeriodError::NoOccurrence {
            shift: name.to_owned(),
            date,
        })?;
    Ok(of_shift(cal, date, &occurrence))
}

/// The period of a shift occurrence that starts on `date`.
pub fn of_shift(cal: &ShiftCalendar, date: NaiveDate, s: &ShiftInstance) -> Period {
    let label = format!("{} {}", s.name, date.format("%Y-%m-%d"));
    period(
        cal,
        PeriodKind::Shift,
        label,
        Some(s.name.clone()),
        date,
        s.start,
        s.end,
    )
}

/// Plant-local day `date`, midnight to midnight.
pub fn day_period(cal: &ShiftCalendar, date: NaiveDate) -> Period {
    let next = date.checked_add_days(Days::new(1)).unwrap_or(date);
    let (from, to) = (cal.start_of_date(date), cal.start_of_date(next));
    let label = date.format("%Y-%m-%d").to_string();
    period(cal, PeriodKind::Day, label, None, date, from, to)
}

/// The ISO week starting on Monday `monday`, plant-local.
pub fn week_period(cal: &ShiftCalendar, monday: NaiveDate) -> Period {
    let next = monday.checked_add_days(Days::new(7)).unwrap_or(monday);
    let (from, to) = (cal.start_of_date(monday), cal.start_of_date(next));
    let week = monday.iso_week();
    let label = format!("{}-W{:02}", week.year(), week.week());
    period(cal, PeriodKind::Week, label, None, monday, from, to)
}

/// Shift occurrences that ended in `(after, until]`, oldest first, with the local date
/// each started on.
pub fn shifts_ended(cal: &ShiftCalendar, after: EpochMs, until: EpochMs) -> Vec<(NaiveDate, ShiftInstance)> {
    if until <= after {
        return Vec::new();
    }
    // A shift is shorter than a day, so one ending after `after` started at most a day
    // before `after`'s date.
    let first = cal.date_of(after);
    let first = first.pred_opt().unwrap_or(first);
    let last = cal.date_of(until);
    let mut out: Vec<(NaiveDate, ShiftInstance)> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .flat_map(|d| cal.shifts_on(d).into_iter().map(move |s| (d, s)))
        .filter(|(_, s)| s.end > after && s.end <= until)
        .collect();
    out.sort_by_key(|(_, s)| s.end);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::shift::{DEFAULT_MAX_SHIFT_MS, ShiftDef};

    const H: i64 = 3_600_000;

    fn at(s: &str) -> EpochMs {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .unwrap_or(0)
    }

    fn date(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    /// Berlin, early 06-14, late 14-22, night 22-06 (crossing midnight), every day.
    fn berlin() -> ShiftCalendar {
        let def = |name: &str, start: &str, end: &str| ShiftDef {
            name: name.into(),
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
            crosses_midnight: name == "night",
            breaks: vec![],
            days: vec![],
        };
        let shifts = vec![
            def("early", "06:00", "14:00"),
            def("late", "14:00", "22:00"),
            def("night", "22:00", "06:00"),
        ];
        ShiftCalendar::new(chrono_tz::Europe::Berlin, shifts, DEFAULT_MAX_SHIFT_MS).unwrap()
    }

    #[test]
    fn a_dst_night_shift_has_its_real_length() {
        let cal = berlin();
        // (date, from local, to local, hours)
        let table = [
            // A winter night: 22:00 CET to 06:00 CET, 8 h.
            (
                "2026-11-27",
                "2026-11-27T22:00:00+01:00",
                "2026-11-28T06:00:00+01:00",
                8,
            ),
            // Spring forward 2026-03-29 02:00 CET → 03:00 CEST: 22:00 CET (21:00 UTC) to
            // 06:00 CEST (04:00 UTC) is 7 h.
            (
                "2026-03-28",
                "2026-03-28T22:00:00+01:00",
                "2026-03-29T06:00:00+02:00",
                7,
            ),
            // Fall back 2026-10-25 03:00 CEST → 02:00 CET: 22:00 CEST (20:00 UTC) to
            // 06:00 CET (05:00 UTC) is 9 h.
            (
                "2026-10-24",
                "2026-10-24T22:00:00+02:00",
                "2026-10-25T06:00:00+01:00",
                9,
            ),
        ];
        for (d, from, to, hours) in table {
            let p = shift_period(&cal, "night", date(d)).unwrap();
            assert_eq!((p.from_local.as_str(), p.to_local.as_str()), (from, to), "{d}");
            assert_eq!((p.from_ms(), p.to_ms()), (at(from), at(to)), "{d}");
            assert_eq!(p.length_s, (hours * 3600) as f64, "{d}");
            assert_eq!(p.label, format!("night {d}"));
        }
    }

    #[test]
    fn days_and_weeks_follow_the_local_calendar() {
        let cal = berlin();
        // The fall-back Sunday has 25 h, the spring-forward Sunday 23 h.
        let table = [
            (
                "2026-10-25",
                "2026-10-25T00:00:00+02:00",
                "2026-10-26T00:00:00+01:00",
                25 * H,
            ),
            (
                "2026-03-29",
                "2026-03-29T00:00:00+01:00",
                "2026-03-30T00:00:00+02:00",
                23 * H,
            ),
            (
                "2026-11-27",
                "2026-11-27T00:00:00+01:00",
                "2026-11-28T00:00:00+01:00",
                24 * H,
            ),
        ];
        for (d, from, to, len) in table {
            let p = day_period(&cal, date(d));
            assert_eq!((p.from_local.as_str(), p.to_local.as_str()), (from, to), "{d}");
            assert_eq!(p.to_ms() - p.from_ms(), len, "{d}");
        }
        // 2026-W48 is Monday 23 November to Monday 30 November: 7 × 24 h in winter.
        let monday = parse_week("2026-W48").unwrap();
        assert_eq!(monday, date("2026-11-23"));
        let w = week_period(&cal, monday);
        assert_eq!(w.label, "2026-W48");
        assert_eq!(w.from_local, "2026-11-23T00:00:00+01:00");
        assert_eq!(w.length_s, (7 * 24 * 3600) as f64);
        // The week of the fall-back night has an hour more: 169 h.
        let w = week_period(&cal, parse_week("2026-W43").unwrap());
        assert_eq!(w.length_s, (169 * 3600) as f64);
    }

    #[test]
    fn bad_dates_weeks_and_shifts_are_named() {
        let cal = berlin();
        for bad in ["2026-13-01", "27.11.2026", "", "2026-11-27T00:00"] {
            assert_eq!(parse_date(bad), Err(PeriodError::BadDate(bad.into())), "{bad}");
        }
        for bad in ["2026-W54", "2026W48", "2026-W4", "26-W48", "2026-Wxx"] {
            assert_eq!(parse_week(bad), Err(PeriodError::BadWeek(bad.into())), "{bad}");
        }
        let err = shift_period(&cal, "nights", date("2026-11-27")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`shift` must be one of the plant's shifts (early, late, night), got `nights`"
        );
    }

    #[test]
    fn shifts_ended_lists_each_occurrence_once_with_its_start_date() {
        let cal = berlin();
        // From 05:00 to 23:00 on 27 Nov (CET): the night of the 26th ends at 06:00, early
        // at 14:00, late at 22:00.
        let ended = shifts_ended(&cal, at("2026-11-27T05:00:00+01:00"), at("2026-11-27T23:00:00+01:00"));
        let got: Vec<(String, String)> = ended.iter().map(|(d, s)| (d.to_string(), s.name.clone())).collect();
        let want = [("2026-11-26", "night"), ("2026-11-27", "early"), ("2026-11-27", "late")];
        assert_eq!(got, want.map(|(d, n)| (d.to_owned(), n.to_owned())).to_vec());
        // The end itself is included, the start of the window not.
        let at_end = at("2026-11-27T14:00:00+01:00");
        assert_eq!(shifts_ended(&cal, at_end, at_end + 1).len(), 0);
        assert_eq!(shifts_ended(&cal, at_end - 1, at_end).len(), 1);
    }
}

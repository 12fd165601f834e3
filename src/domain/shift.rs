//! The plant's shift calendar: which time is planned production time.
//!
//! OEE measures availability against planned production time: time inside a
//! shift and not in a planned break. Breaks and all time outside any shift are
//! planned stop, which must not count as downtime. Shifts are configured as
//! wall-clock times in the plant's IANA time zone and mapped onto real time
//! DST-correctly: a local time inside a spring-forward gap is the first instant
//! after the gap, an ambiguous fall-back time the earlier instant. So a 22:00 to
//! 06:00 night shift lasts 7 h over a spring-forward night and 9 h over a
//! fall-back night. A shift crossing midnight belongs to the day it starts on,
//! and must say it crosses midnight: an end before the start is more often a
//! typo than a night shift. No shift may be longer than a set maximum.
//!
//! The calendar is pure (no clock, no IO): every query takes the instant it is
//! about, in milliseconds since the Unix epoch. Instants further than 10^15 ms
//! (about 31,000 years) from the epoch lie outside it: no shift occurs there and
//! local days are UTC days.

use std::fmt;
use std::ops::ControlFlow::{self, Break, Continue};

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, de};

use super::EpochMs;

const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
/// The calendar's range, ± this many ms around the epoch. Keeps every date
/// computation well inside what chrono can represent, so nothing can panic.
const LIMIT_MS: i64 = 1_000_000_000_000_000;
/// How many local days `planned_at` and `next_shift_start` look ahead. A
/// weekly pattern has a change within 8 days; the rest is slack for
/// occurrences that vanish in a DST gap.
const HORIZON_DAYS: usize = 16;
/// The longest shift allowed unless the plant configures another: 12 h.
pub const DEFAULT_MAX_SHIFT_MS: i64 = 12 * 3_600_000;

/// A shift as configured: local wall-clock times in the plant time zone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftDef {
    /// Name shown on the dashboard; unique within a calendar.
    pub name: String,
    /// Local start time, from "06:00" or "06:00:00".
    #[serde(deserialize_with = "wall_time")]
    pub start: NaiveTime,
    /// Local end time; `end <= start` means the shift ends the next day, which
    /// `crosses_midnight` must then say (unless it ends at 00:00).
    #[serde(deserialize_with = "wall_time")]
    pub end: NaiveTime,
    /// The shift ends the next day on purpose (a night shift). Without it, an end at or
    /// before the start is refused: it is far more often a typo (03:30 for 15:30).
    #[serde(default)]
    pub crosses_midnight: bool,
    /// Planned breaks, each inside the shift.
    #[serde(default)]
    pub breaks: Vec<BreakDef>,
    /// Days on which the shift starts (local date): "mon".."sun" or full
    /// names, case-insensitive. Empty means every day.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub days: Vec<Weekday>,
}

/// A planned break inside a shift, in local wall-clock time. It may lie after
/// midnight in a night shift, or cross midnight itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakDef {
    /// Local start time.
    #[serde(deserialize_with = "wall_time")]
    pub start: NaiveTime,
    /// Local end time; `end < start` means the break crosses midnight.
    #[serde(deserialize_with = "wall_time")]
    pub end: NaiveTime,
}

/// A wall-clock time written "06:00" or "06:00:30"; anything else is refused naming what
/// was written.
fn wall_time<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let text = String::deserialize(d)?;
    text.parse()
        .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(&text), &"a time of day like 06:00 or 06:00:30"))
}

impl fmt::Display for BreakDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {}", hm(self.start), hm(self.end))
    }
}

/// One occurrence of a shift: `start <= t < end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ShiftInstance {
    /// The shift's configured name.
    pub name: String,
    /// First instant of the occurrence.
    pub start: EpochMs,
    /// First instant after the occurrence.
    pub end: EpochMs,
}

/// Why a set of shift definitions was rejected. Each mistake has its own message, naming
/// the shift (by name and by its place in the configured list, `shifts[i]`), the times as
/// written and how they were read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShiftError {
    /// Start and end are the same wall-clock time.
    #[error("shift {shift:?} starts and ends at {at}, so it has no length")]
    StartEqualsEnd { index: usize, shift: String, at: String },
    /// Ends at or before its start, so the next day, without saying so; not too long.
    #[error(
        "shift {shift:?} runs {times}, read as {len} crossing midnight; \
         if it really ends the next day set crosses_midnight = true"
    )]
    UnmarkedMidnight {
        index: usize,
        shift: String,
        times: String,
        len: String,
    },
    /// Ends at or before its start without saying so, and would be longer than allowed:
    /// most likely a typo in a time.
    #[error(
        "shift {shift:?} runs {times}, read as {len} crossing midnight; longest allowed is {max} \
         (max_shift_length): check the times, or if it really ends the next day set \
         crosses_midnight = true and raise max_shift_length"
    )]
    UnmarkedTooLong {
        index: usize,
        shift: String,
        times: String,
        len: String,
        max: String,
    },
    /// Longer than allowed, as written (`reading` says whether it crosses midnight).
    #[error("shift {shift:?} runs {times}, read as {reading}; longest allowed is {max} (max_shift_length)")]
    TooLong {
        index: usize,
        shift: String,
        times: String,
        reading: String,
        max: String,
    },
    /// Says it crosses midnight, but ends after its start on the same day.
    #[error(
        "shift {shift:?} runs {times}, read as {len} within one day, but it says \
         crosses_midnight = true: check the times, or remove crosses_midnight"
    )]
    MarkedButSameDay {
        index: usize,
        shift: String,
        times: String,
        len: String,
    },
    /// A break of zero length.
    #[error("shift {shift:?}: break {brk} is empty")]
    EmptyBreak {
        index: usize,
        brk_index: usize,
        shift: String,
        brk: String,
    },
    /// A break not contained in its shift.
    #[error("shift {shift:?}: break {brk} is outside the shift's {times}")]
    BreakOutsideShift {
        index: usize,
        brk_index: usize,
        shift: String,
        brk: String,
        times: String,
    },
    /// Two breaks of one shift overlap.
    #[error("shift {shift:?}: breaks {first} and {second} overlap")]
    BreaksOverlap {
        index: usize,
        shift: String,
        first: String,
        second: String,
    },
    /// The breaks leave no production time in the shift.
    #[error("shift {shift:?}: breaks cover the whole shift {times}")]
    BreaksCoverShift { index: usize, shift: String, times: String },
    /// Two shifts share a name, so occurrences could not be told apart.
    #[error("shift {shift:?} is defined twice, as shifts[{first_index}] and shifts[{index}]")]
    DuplicateName {
        index: usize,
        first_index: usize,
        shift: String,
    },
    /// Two shifts overlap.
    #[error("{0}")]
    ShiftsOverlap(Box<ShiftOverlap>),
}

/// Two shifts that overlap: `day` is the first weekday on which an overlap begins,
/// `from` and `to` the wall-clock times it begins and ends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "shift {:?} (shifts[{}], {}) and shift {:?} (shifts[{}], {}) overlap on {} from {} to {}",
    .first.name, .first.index, .first.times, .second.name, .second.index, .second.times,
    weekday_name(.day), .from, .to
)]
pub struct ShiftOverlap {
    /// The shift given first.
    pub first: ShiftRef,
    /// The shift given later.
    pub second: ShiftRef,
    /// The first weekday an overlap begins on.
    pub day: Weekday,
    /// When it begins, wall clock.
    pub from: String,
    /// When it ends, wall clock.
    pub to: String,
}

/// A shift named in an error: its name, place in the list and times as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftRef {
    /// The shift's name.
    pub name: String,
    /// Its place in the configured list.
    pub index: usize,
    /// Its times, `start → end`.
    pub times: String,
}

impl ShiftError {
    /// The configuration key the mistake is at, e.g. `shifts[2].end`.
    pub fn key(&self) -> String {
        use ShiftError::*;
        match self {
            StartEqualsEnd { index, .. }
            | UnmarkedMidnight { index, .. }
            | UnmarkedTooLong { index, .. }
            | TooLong { index, .. } => format!("shifts[{index}].end"),
            MarkedButSameDay { index, .. } => format!("shifts[{index}].crosses_midnight"),
            EmptyBreak { index, brk_index, .. } | BreakOutsideShift { index, brk_index, .. } => {
                format!("shifts[{index}].breaks[{brk_index}]")
            }
            BreaksOverlap { index, .. } | BreaksCoverShift { index, .. } => format!("shifts[{index}].breaks"),
            DuplicateName { index, .. } => format!("shifts[{index}].name"),
            ShiftsOverlap(overlap) => format!("shifts[{}]", overlap.second.index),
        }
    }
}

/// A validated shift, as offsets in ms from local midnight of its start day.
#[derive(Debug, Clone)]
struct Shift {
    name: String,
    /// Place in the configured list, and times as written (for messages).
    index: usize,
    times: String,
    /// `start < end < start + DAY_MS`; `end` beyond a day means next day.
    start: i64,
    end: i64,
    /// Sorted, disjoint, inside `[start, end]`, same reference midnight.
    breaks: Vec<(i64, i64)>,
    /// Bit `n` set: the shift starts on weekday `n` (0 = Monday).
    days: u8,
}

impl Shift {
    /// Validates one definition, the `index`th of the list; `max_len` is the longest
    /// shift allowed, ms.
    fn from_def(index: usize, def: ShiftDef, max_len: i64) -> Result<Self, ShiftError> {
        let start = time_ms(def.start);
        let len = (time_ms(def.end) - start).rem_euclid(DAY_MS);
        let times = format!("{} → {}", hm(def.start), hm(def.end));
        // Ending at 00:00 is ending at midnight, not crossing it: either way is fine.
        let at_midnight = def.end == NaiveTime::MIN;
        let crosses = def.end < def.start && !at_midnight;
        if len == 0 {
            let at = hm(def.start).to_string();
            return Err(ShiftError::StartEqualsEnd {
                index,
                shift: def.name,
                at,
            });
        }
        let shift = def.name.clone();
        if crosses && !def.crosses_midnight {
            let too_long = len > max_len;
            let len = length(len);
            return Err(if too_long {
                ShiftError::UnmarkedTooLong {
                    index,
                    shift,
                    times,
                    len,
                    max: length(max_len),
                }
            } else {
                ShiftError::UnmarkedMidnight {
                    index,
                    shift,
                    times,
                    len,
                }
            });
        }
        if !crosses && !at_midnight && def.crosses_midnight {
            let len = length(len);
            return Err(ShiftError::MarkedButSameDay {
                index,
                shift,
                times,
                len,
            });
        }
        if len > max_len {
            let reading = if crosses {
                format!("{} crossing midnight", length(len))
            } else {
                length(len)
            };
            let max = length(max_len);
            return Err(ShiftError::TooLong {
                index,
                shift,
                times,
                reading,
                max,
            });
        }
        let end = start + len;
        let mut breaks = Vec::with_capacity(def.breaks.len());
        for (brk_index, b) in def.breaks.iter().enumerate() {
            // Measured forwards from the shift start, a break that lies after
            // midnight in a night shift gets an offset beyond one day.
            let bs = start + (time_ms(b.start) - start).rem_euclid(DAY_MS);
            let be = bs + (time_ms(b.end) - time_ms(b.start)).rem_euclid(DAY_MS);
            if be == bs {
                let brk = b.to_string();
                return Err(ShiftError::EmptyBreak {
                    index,
                    brk_index,
                    shift,
                    brk,
                });
            }
            if be > end {
                let brk = b.to_string();
                return Err(ShiftError::BreakOutsideShift {
                    index,
                    brk_index,
                    shift,
                    brk,
                    times,
                });
            }
            breaks.push((bs, be, *b));
        }
        breaks.sort_by_key(|b| b.0);
        if let Some(w) = breaks.windows(2).find(|w| w[0].1 > w[1].0) {
            return Err(ShiftError::BreaksOverlap {
                index,
                shift,
                first: w[0].2.to_string(),
                second: w[1].2.to_string(),
            });
        }
        if breaks.iter().map(|b| b.1 - b.0).sum::<i64>() == len {
            return Err(ShiftError::BreaksCoverShift { index, shift, times });
        }
        let days = def.days.iter().fold(0, |m, d| m | day_bit(*d));
        let days = if days == 0 { 0x7f } else { days };
        let breaks = breaks.into_iter().map(|(s, e, _)| (s, e)).collect();
        Ok(Shift {
            name: def.name,
            index,
            times,
            start,
            end,
            breaks,
            days,
        })
    }

    fn planned_len(&self) -> i64 {
        self.end - self.start - self.breaks.iter().map(|(s, e)| e - s).sum::<i64>()
    }
}

/// The plant's shift calendar: which instants are planned production time.
#[derive(Debug, Clone)]
pub struct ShiftCalendar {
    tz: Tz,
    /// Sorted by start time, so occurrences come out in time order per day.
    shifts: Vec<Shift>,
    /// No shifts, or shifts without breaks tiling the whole week: every
    /// instant is planned and no scan is needed.
    always_planned: bool,
}

impl ShiftCalendar {
    /// Validates the shifts and builds the calendar for time zone `tz`;
    /// `max_shift_ms` is the longest shift allowed, as written on the wall clock
    /// (a DST night may make the real occurrence an hour longer or shorter).
    ///
    /// Rejected: a shift whose start equals its end, one ending at or before
    /// its start without `crosses_midnight`, one with `crosses_midnight` that
    /// ends the same day, one longer than `max_shift_ms`, an empty break, a
    /// break outside its shift, overlapping breaks, breaks covering a whole
    /// shift, duplicate names, and shifts overlapping on any weekday
    /// (including the part of a shift after midnight).
    pub fn new(tz: Tz, shifts: Vec<ShiftDef>, max_shift_ms: i64) -> Result<Self, ShiftError> {
        let mut parsed: Vec<Shift> = Vec::with_capacity(shifts.len());
        for (index, def) in shifts.into_iter().enumerate() {
            if let Some(first) = parsed.iter().find(|s| s.name == def.name) {
                return Err(ShiftError::DuplicateName {
                    index,
                    first_index: first.index,
                    shift: def.name,
                });
            }
            parsed.push(Shift::from_def(index, def, max_shift_ms)?);
        }
        check_overlaps(&parsed)?;
        parsed.sort_by_key(|s| s.start);
        // Shifts are disjoint, so their weekly planned time adds up to a full
        // week exactly when every wall-clock instant is covered; the mapping to
        // real time is monotonic, so the real time line is covered too.
        let weekly: i64 = parsed
            .iter()
            .map(|s| i64::from(s.days.count_ones()) * s.planned_len())
            .sum();
        let always_planned = parsed.is_empty() || weekly == WEEK_MS;
        Ok(Self {
            tz,
            shifts: parsed,
            always_planned,
        })
    }

    /// The plant time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The shift occurrence containing `t` (start <= t < end), if any.
    pub fn shift_at(&self, t: EpochMs) -> Option<ShiftInstance> {
        if !in_range(t) {
            return None;
        }
        // A shift is shorter than a day, so only occurrences starting on t's
        // local day or the day before can contain t.
        let today = self.local_date(t);
        [today.pred_opt().unwrap_or(today), today]
            .into_iter()
            .flat_map(|day| self.occurrences(day))
            .find(|&(_, start, end)| start <= t && t < end)
            .map(|(s, start, end)| ShiftInstance {
                name: s.name.clone(),
                start,
                end,
            })
    }

    /// Start of the plant-local calendar day containing `t`: local midnight,
    /// or the first instant of the day where midnight does not exist locally.
    pub fn day_start(&self, t: EpochMs) -> EpochMs {
        if !in_range(t) {
            return t.div_euclid(DAY_MS).saturating_mul(DAY_MS);
        }
        self.instant(self.local_date(t), 0)
    }

    /// Start of the next local day after the one containing `t`.
    pub fn next_day_start(&self, t: EpochMs) -> EpochMs {
        if !in_range(t) {
            return (t.div_euclid(DAY_MS) + 1).saturating_mul(DAY_MS);
        }
        // Normally the first candidate. Where clocks fall back across
        // midnight, the repeated hour belongs to the old date while the next
        // date's midnight came earlier, so skip ahead to stay after `t`.
        let today = self.local_date(t);
        today
            .iter_days()
            .skip(1)
            .take(3)
            .map(|d| self.instant(d, 0))
            .find(|&s| s > t)
            .unwrap_or(t + DAY_MS)
    }

    /// Whether `t` is planned production time, and the first instant after
    /// `t` where that answer changes (`i64::MAX` if never). With no shifts
    /// configured, every instant is planned production time.
    ///
    /// Looks at most 16 local days ahead; should no change occur within
    /// them (only possible in pathological time zones), the end of the look-
    /// ahead is returned as a point to ask again.
    pub fn planned_at(&self, t: EpochMs) -> (bool, EpochMs) {
        if self.always_planned {
            return (true, i64::MAX);
        }
        if t >= LIMIT_MS {
            return (false, i64::MAX);
        }
        let first = self.first_day(t);
        let mut answer = None;
        self.runs(t, first, HORIZON_DAYS, |a, b| {
            answer = Some(if a <= t { (true, b) } else { (false, a) });
            Break(())
        });
        answer.unwrap_or_else(|| {
            let end = first.checked_add_days(Days::new(HORIZON_DAYS as u64)).unwrap_or(first);
            (false, self.instant(end, 0).max(t + 1))
        })
    }

    /// Milliseconds of planned production time within `[from, to)`; 0 when
    /// `to <= from`. Cost is proportional to days × shifts in the span.
    pub fn planned_ms(&self, from: EpochMs, to: EpochMs) -> i64 {
        let mut sum: i64 = 0;
        self.for_each_segment(from, to, |a, b, planned| {
            if planned {
                sum = sum.saturating_add(b.saturating_sub(a));
            }
        });
        sum
    }

    /// Calls `f(seg_start, seg_end, planned)` for consecutive segments that
    /// cover `[from, to)` exactly, split at every planned/unplanned boundary
    /// (so neighbouring segments alternate). Nothing is called when
    /// `to <= from`.
    pub fn for_each_segment(&self, from: EpochMs, to: EpochMs, mut f: impl FnMut(EpochMs, EpochMs, bool)) {
        if to <= from {
            return;
        }
        if self.always_planned {
            f(from, to, true);
            return;
        }
        let (lo, hi) = (from.max(-LIMIT_MS), to.min(LIMIT_MS));
        let mut cursor = from;
        if lo < hi {
            let first = self.first_day(lo);
            let days = (self.local_date(hi) - first).num_days() + 1;
            self.runs(lo, first, usize::try_from(days).unwrap_or(0), |a, b| {
                if a >= to {
                    return Break(());
                }
                let (a, b) = (a.max(from), b.min(to));
                if a > cursor {
                    f(cursor, a, false);
                }
                f(a, b, true);
                cursor = b;
                if b >= to { Break(()) } else { Continue(()) }
            });
        }
        if cursor < to {
            f(cursor, to, false);
        }
    }

    /// The start of the first shift occurrence after `t` (for arming timers),
    /// if any shift exists.
    pub fn next_shift_start(&self, t: EpochMs) -> Option<EpochMs> {
        if t >= LIMIT_MS {
            return None;
        }
        // Occurrences starting on earlier days start before t's day, so not
        // after t. One entirely inside a DST gap (start == end) never happens.
        let days = self.local_date(t).iter_days().take(HORIZON_DAYS);
        days.flat_map(|day| self.occurrences(day))
            .find(|&(_, start, end)| start > t && end > start)
            .map(|(_, start, _)| start)
    }

    /// The latest shift occurrence that ended at or before `t` (the one before
    /// the current shift, when `t` is its start), looking back at most 16
    /// local days; occurrences lost in a DST gap do not count.
    pub fn shift_before(&self, t: EpochMs) -> Option<ShiftInstance> {
        if !in_range(t) {
            return None;
        }
        // Occurrences are disjoint and in time order, so the last one of the
        // latest day that has any ending by `t` is the latest of all.
        let mut day = self.local_date(t);
        for _ in 0..HORIZON_DAYS {
            let found = self
                .occurrences(day)
                .filter(|&(_, start, end)| end <= t && end > start)
                .last();
            if let Some((s, start, end)) = found {
                return Some(ShiftInstance {
                    name: s.name.clone(),
                    start,
                    end,
                });
            }
            day = day.pred_opt()?;
        }
        None
    }

    /// The occurrences of shifts starting on local date `day`, in time order; one that
    /// vanishes in a DST gap is left out. Reports name an occurrence by its shift's name
    /// and this date.
    pub fn shifts_on(&self, day: NaiveDate) -> Vec<ShiftInstance> {
        self.occurrences(day)
            .filter(|&(_, start, end)| end > start)
            .map(|(s, start, end)| ShiftInstance {
                name: s.name.clone(),
                start,
                end,
            })
            .collect()
    }

    /// The configured shifts' names, in start-time order.
    pub fn shift_names(&self) -> Vec<&str> {
        self.shifts.iter().map(|s| s.name.as_str()).collect()
    }

    /// The plant-local date `t` falls on.
    pub fn date_of(&self, t: EpochMs) -> NaiveDate {
        self.local_date(t)
    }

    /// The first instant of local date `day`: local midnight, or the end of the DST gap
    /// where midnight does not exist.
    pub fn start_of_date(&self, day: NaiveDate) -> EpochMs {
        self.instant(day, 0)
    }

    /// Occurrences starting on local date `day`, in time order, as
    /// (shift, start, end).
    fn occurrences(&self, day: NaiveDate) -> impl Iterator<Item = (&Shift, EpochMs, EpochMs)> {
        let bit = day_bit(day.weekday());
        self.shifts
            .iter()
            .filter(move |s| s.days & bit != 0)
            .map(move |s| (s, self.instant(day, s.start), self.instant(day, s.end)))
    }

    /// Local date of `t` (clamped into the calendar's range).
    fn local_date(&self, t: EpochMs) -> NaiveDate {
        DateTime::from_timestamp_millis(t.clamp(-LIMIT_MS, LIMIT_MS))
            .map_or(NaiveDate::default(), |u| u.with_timezone(&self.tz).date_naive())
    }

    /// The day before `t`'s local date: occurrences starting then (night
    /// shifts) may still run at `t`.
    fn first_day(&self, t: EpochMs) -> NaiveDate {
        let d = self.local_date(t);
        d.pred_opt().unwrap_or(d)
    }

    /// The instant of the wall-clock time `off` ms after local midnight
    /// starting `day` (`off` may exceed a day). A time in a gap maps to the
    /// end of the gap, an ambiguous one to the earlier instant.
    fn instant(&self, day: NaiveDate, off: i64) -> EpochMs {
        let midnight = day.and_time(NaiveTime::MIN);
        let Some(wall) = midnight.checked_add_signed(TimeDelta::milliseconds(off)) else {
            return if off < 0 { i64::MIN } else { i64::MAX };
        };
        match self.tz.from_local_datetime(&wall).earliest() {
            Some(dt) => dt.timestamp_millis(),
            None => self.gap_end(wall),
        }
    }

    /// The first instant after the spring-forward gap containing `wall`: the
    /// transition, found by bisecting for the first UTC second whose local
    /// time has reached `wall` (transitions fall on whole seconds).
    fn gap_end(&self, wall: NaiveDateTime) -> EpochMs {
        let target = wall.and_utc().timestamp_millis();
        let local_ms = |secs: i64| {
            let offset = DateTime::from_timestamp(secs, 0).map_or(0, |u| {
                let off = self.tz.offset_from_utc_datetime(&u.naive_utc());
                off.fix().local_minus_utc()
            });
            (secs + i64::from(offset)) * 1000
        };
        // UTC offsets stay well within ±26 h, so local time is before `wall`
        // at `lo` and at or after it at `hi`.
        let (mut lo, mut hi) = (target / 1000 - 26 * 3600, target / 1000 + 26 * 3600);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if local_ms(mid) >= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi * 1000
    }

    /// Feeds `f` the maximal planned runs that end after `from`, in time
    /// order, from the occurrences starting on `days` local days from `first`,
    /// until `f` breaks. A run still open when the days run out is passed on
    /// as it stands. Runs are clipped to the calendar's range.
    fn runs(
        &self,
        from: EpochMs,
        first: NaiveDate,
        days: usize,
        mut f: impl FnMut(EpochMs, EpochMs) -> ControlFlow<()>,
    ) {
        let mut open: Option<(EpochMs, EpochMs)> = None;
        // Takes one planned piece (shift minus breaks). Pieces inside a DST gap
        // are empty and dropped; adjacent ones (a shift ending where the next
        // begins) extend the open run so callers only see real changes.
        let mut piece = |a: EpochMs, b: EpochMs| {
            let (a, b) = (a.max(-LIMIT_MS), b.min(LIMIT_MS));
            if a >= b || b <= from {
                return Continue(());
            }
            match open.replace((a, b)) {
                Some((start, end)) if end == a => {
                    open = Some((start, b));
                    Continue(())
                }
                Some((start, end)) => f(start, end),
                None => Continue(()),
            }
        };
        // Validation made occurrences disjoint at wall-clock level and the
        // mapping to instants is monotonic, so this order is time order.
        for day in first.iter_days().take(days) {
            for (s, start, end) in self.occurrences(day).filter(|&(_, _, end)| end > from) {
                let mut cursor = start;
                for &(bs, be) in &s.breaks {
                    if piece(cursor, self.instant(day, bs)).is_break() {
                        return;
                    }
                    cursor = self.instant(day, be);
                }
                if piece(cursor, end).is_break() {
                    return;
                }
            }
        }
        if let Some((start, end)) = open {
            let _ = f(start, end);
        }
    }
}

/// Rejects shifts overlapping on any weekday, comparing occurrences as
/// intervals on the wall-clock week, which wraps from Sunday to Monday.
fn check_overlaps(shifts: &[Shift]) -> Result<(), ShiftError> {
    // Where occurrences (a, da) and (b, db) overlap: the weekday and
    // wall-clock time the overlap begins (whichever start lies inside the
    // other occurrence) and its length.
    let overlap = |a: &Shift, da: Weekday, b: &Shift, db: Weekday| {
        let sa = i64::from(da.num_days_from_monday()) * DAY_MS + a.start;
        let sb = i64::from(db.num_days_from_monday()) * DAY_MS + b.start;
        let (la, lb) = (a.end - a.start, b.end - b.start);
        let (b_after_a, a_after_b) = ((sb - sa).rem_euclid(WEEK_MS), (sa - sb).rem_euclid(WEEK_MS));
        if b_after_a < la {
            Some((db, b.start, (la - b_after_a).min(lb)))
        } else {
            (a_after_b < lb).then_some((da, a.start, (lb - a_after_b).min(la)))
        }
    };
    for (i, a) in shifts.iter().enumerate() {
        for b in &shifts[i + 1..] {
            let first = weekdays(a.days)
                .flat_map(|da| weekdays(b.days).filter_map(move |db| overlap(a, da, b, db)))
                .min_by_key(|&(day, from, _)| (day.num_days_from_monday(), from));
            if let Some((day, from, len)) = first {
                let place = |s: &Shift| ShiftRef {
                    name: s.name.clone(),
                    index: s.index,
                    times: s.times.clone(),
                };
                return Err(ShiftError::ShiftsOverlap(Box::new(ShiftOverlap {
                    first: place(a),
                    second: place(b),
                    day,
                    from: clock(from),
                    to: clock(from + len),
                })));
            }
        }
    }
    Ok(())
}

fn in_range(t: EpochMs) -> bool {
    (-LIMIT_MS..LIMIT_MS).contains(&t)
}

/// The weekdays set in a mask, Monday first.
fn weekdays(mask: u8) -> impl Iterator<Item = Weekday> {
    std::iter::successors(Some(Weekday::Mon), |d| Some(d.succ()))
        .take(7)
        .filter(move |d| mask & day_bit(*d) != 0)
}

fn day_bit(d: Weekday) -> u8 {
    1 << d.num_days_from_monday()
}

/// Milliseconds after midnight; a leap second counts as the second's last ms.
fn time_ms(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight()) * 1000 + i64::from(t.nanosecond().min(999_999_999) / 1_000_000)
}

/// "06:00", or "06:00:30" / "06:00:30.5" when seconds are set.
fn hm(t: NaiveTime) -> impl fmt::Display {
    let exact_minute = t.second() == 0 && t.nanosecond() == 0;
    t.format(if exact_minute { "%H:%M" } else { "%H:%M:%S%.f" })
}

/// A wall-clock time of day from ms after midnight (wrapping past midnight).
fn clock(ms: i64) -> String {
    let ms = ms.rem_euclid(DAY_MS);
    let secs = u32::try_from(ms / 1000).unwrap_or(0);
    let nanos = u32::try_from(ms % 1000).unwrap_or(0) * 1_000_000;
    NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos).map_or_else(String::new, |t| hm(t).to_string())
}

/// A length of time as people say it: "20 h 30 min", "8 h", "45 min", "30 s".
fn length(ms: i64) -> String {
    let secs = ms / 1000;
    let parts = [(secs / 3600, "h"), (secs / 60 % 60, "min"), (secs % 60, "s")];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n != 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if text.is_empty() {
        format!("{ms} ms")
    } else {
        text.join(" ")
    }
}

/// The English name of a weekday, for messages.
fn weekday_name(day: &Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::{Fri, Mon, Thu, Tue, Wed};

    const M: i64 = 60_000;
    const H: i64 = 60 * M;
    const WORKDAYS: [Weekday; 5] = [Mon, Tue, Wed, Thu, Fri];

    /// An instant written with its local offset, so the offset in each
    /// expectation is the hand-computed DST state.
    fn at(s: &str) -> EpochMs {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn time(s: &str) -> NaiveTime {
        s.parse().unwrap()
    }

    /// A shift as configured; one ending at or before its start says it
    /// crosses midnight (the rule tests set the flag themselves).
    fn def(name: &str, start: &str, end: &str, breaks: &[(&str, &str)]) -> ShiftDef {
        ShiftDef {
            name: name.into(),
            start: time(start),
            end: time(end),
            crosses_midnight: time(end) <= time(start),
            breaks: breaks
                .iter()
                .map(|&(s, e)| BreakDef {
                    start: time(s),
                    end: time(e),
                })
                .collect(),
            days: vec![],
        }
    }

    /// early 06-14 (breaks 15 + 30 min), late 14-22 (30 min), night 22-06
    /// (30 min): 24 h - 105 min = 22 h 15 min planned per full day.
    fn three_shifts(days: &[Weekday]) -> Vec<ShiftDef> {
        let mut shifts = vec![
            def("early", "06:00", "14:00", &[("09:00", "09:15"), ("12:00", "12:30")]),
            def("late", "14:00", "22:00", &[("18:00", "18:30")]),
            def("night", "22:00", "06:00", &[("02:00", "02:30")]),
        ];
        for s in &mut shifts {
            s.days = days.to_vec();
        }
        shifts
    }

    fn cal(tz: Tz, shifts: Vec<ShiftDef>) -> ShiftCalendar {
        ShiftCalendar::new(tz, shifts, DEFAULT_MAX_SHIFT_MS).unwrap()
    }

    fn berlin() -> ShiftCalendar {
        cal(chrono_tz::Europe::Berlin, three_shifts(&[]))
    }

    fn inst(name: &str, start: &str, end: &str) -> Option<ShiftInstance> {
        Some(ShiftInstance {
            name: name.into(),
            start: at(start),
            end: at(end),
        })
    }

    #[test]
    fn shift_at_respects_boundaries() {
        let c = berlin();
        assert_eq!(c.tz(), chrono_tz::Europe::Berlin);
        let night_before = inst("night", "2026-06-02T22:00:00+02:00", "2026-06-03T06:00:00+02:00");
        let early = inst("early", "2026-06-03T06:00:00+02:00", "2026-06-03T14:00:00+02:00");
        let late = inst("late", "2026-06-03T14:00:00+02:00", "2026-06-03T22:00:00+02:00");
        let night = inst("night", "2026-06-03T22:00:00+02:00", "2026-06-04T06:00:00+02:00");
        let cases = [
            // Berlin is on CEST (+02:00) in June.
            ("2026-06-03T00:00:00+02:00", &night_before),
            ("2026-06-03T05:59:59.999+02:00", &night_before), // end is exclusive
            ("2026-06-03T06:00:00+02:00", &early),            // start is inclusive
            ("2026-06-03T09:05:00+02:00", &early),            // a break is still the shift
            ("2026-06-03T13:59:59.999+02:00", &early),
            ("2026-06-03T14:00:00+02:00", &late),
            ("2026-06-03T21:59:59.999+02:00", &late),
            ("2026-06-03T22:00:00+02:00", &night),
            ("2026-06-04T05:59:59.999+02:00", &night),
        ];
        for (t, want) in cases {
            assert_eq!(c.shift_at(at(t)), *want, "at {t}");
        }
    }

    #[test]
    fn planned_ms_over_days_and_partial_spans() {
        let c = berlin();
        let cases = [
            // Normal day: 00-06 night minus 30 = 5h30, early 8h - 45 = 7h15,
            // late 8h - 30 = 7h30, 22-24 = 2h: 22h15.
            (
                "2026-06-03T00:00:00+02:00",
                "2026-06-04T00:00:00+02:00",
                22 * H + 15 * M,
            ),
            // Spring forward: 00:00 CET to 06:00 CEST is 5 h and the 02:00
            // break lies in the gap (zero length): 5h + 7h15 + 7h30 + 2h.
            (
                "2026-03-29T00:00:00+01:00",
                "2026-03-30T00:00:00+02:00",
                21 * H + 45 * M,
            ),
            // Fall back: 00:00 CEST to 06:00 CET is 7 h, break 30 min (first
            // 02:00): 6h30 + 7h15 + 7h30 + 2h.
            (
                "2026-10-25T00:00:00+02:00",
                "2026-10-26T00:00:00+01:00",
                23 * H + 15 * M,
            ),
            // 09:10-12:10: planned 09:15-12:00.
            ("2026-06-03T09:10:00+02:00", "2026-06-03T12:10:00+02:00", 2 * H + 45 * M),
            // 13:00-15:00 crosses the early/late change: all planned.
            ("2026-06-03T13:00:00+02:00", "2026-06-03T15:00:00+02:00", 2 * H),
            // Whole year 2026: 365 × 22h15, -30 min on the spring day, +1 h
            // on the autumn day = 8121h15 + 30 min.
            (
                "2026-01-01T00:00:00+01:00",
                "2027-01-01T00:00:00+01:00",
                8121 * H + 45 * M,
            ),
            // Empty and reversed spans.
            ("2026-06-03T10:00:00+02:00", "2026-06-03T10:00:00+02:00", 0),
            ("2026-06-03T11:00:00+02:00", "2026-06-03T10:00:00+02:00", 0),
        ];
        for (from, to, want) in cases {
            assert_eq!(c.planned_ms(at(from), at(to)), want, "{from} .. {to}");
        }
    }

    #[test]
    fn planned_at_steps_through_breaks() {
        let c = berlin();
        let cases = [
            ("2026-06-03T08:00:00+02:00", true, "2026-06-03T09:00:00+02:00"),
            ("2026-06-03T09:00:00+02:00", false, "2026-06-03T09:15:00+02:00"),
            ("2026-06-03T09:10:00+02:00", false, "2026-06-03T09:15:00+02:00"),
            ("2026-06-03T09:15:00+02:00", true, "2026-06-03T12:00:00+02:00"),
            ("2026-06-03T12:00:00+02:00", false, "2026-06-03T12:30:00+02:00"),
            // early hands over to late at 14:00 without a stop: next change
            // is late's break.
            ("2026-06-03T12:30:00+02:00", true, "2026-06-03T18:00:00+02:00"),
            ("2026-06-03T18:00:00+02:00", false, "2026-06-03T18:30:00+02:00"),
            // late to night at 22:00, then night's break after midnight.
            ("2026-06-03T18:30:00+02:00", true, "2026-06-04T02:00:00+02:00"),
            ("2026-06-04T02:00:00+02:00", false, "2026-06-04T02:30:00+02:00"),
            ("2026-06-04T02:30:00+02:00", true, "2026-06-04T09:00:00+02:00"),
        ];
        for (t, planned, next) in cases {
            assert_eq!(c.planned_at(at(t)), (planned, at(next)), "at {t}");
        }
    }

    #[test]
    fn day_start_follows_local_midnight_across_dst() {
        let berlin = berlin();
        let new_york = cal(chrono_tz::America::New_York, vec![]);
        let havana = cal(chrono_tz::America::Havana, vec![]);
        let cases = [
            (
                &berlin,
                "2026-06-03T12:00:00+02:00",
                "2026-06-03T00:00:00+02:00",
                "2026-06-04T00:00:00+02:00",
                24,
            ),
            (
                &berlin,
                "2026-06-03T00:00:00+02:00",
                "2026-06-03T00:00:00+02:00",
                "2026-06-04T00:00:00+02:00",
                24,
            ),
            (
                &berlin,
                "2026-06-03T23:59:59.999+02:00",
                "2026-06-03T00:00:00+02:00",
                "2026-06-04T00:00:00+02:00",
                24,
            ),
            // Berlin 2026-03-29 02:00 CET -> 03:00 CEST: a 23 h day.
            (
                &berlin,
                "2026-03-29T12:00:00+02:00",
                "2026-03-29T00:00:00+01:00",
                "2026-03-30T00:00:00+02:00",
                23,
            ),
            // Berlin 2026-10-25 03:00 CEST -> 02:00 CET: a 25 h day.
            (
                &berlin,
                "2026-10-25T02:30:00+01:00",
                "2026-10-25T00:00:00+02:00",
                "2026-10-26T00:00:00+01:00",
                25,
            ),
            // New York 2026-03-08 02:00 EST -> 03:00 EDT, 2026-11-01 02:00 EDT -> 01:00 EST.
            (
                &new_york,
                "2026-03-08T12:00:00-04:00",
                "2026-03-08T00:00:00-05:00",
                "2026-03-09T00:00:00-04:00",
                23,
            ),
            (
                &new_york,
                "2026-11-01T01:30:00-05:00",
                "2026-11-01T00:00:00-04:00",
                "2026-11-02T00:00:00-05:00",
                25,
            ),
            // Havana springs forward at midnight (2026-03-08 00:00 CST ->
            // 01:00 CDT): the day starts at 01:00.
            (
                &havana,
                "2026-03-08T12:00:00-04:00",
                "2026-03-08T01:00:00-04:00",
                "2026-03-09T00:00:00-04:00",
                23,
            ),
            (
                &havana,
                "2026-03-07T12:00:00-05:00",
                "2026-03-07T00:00:00-05:00",
                "2026-03-08T01:00:00-04:00",
                24,
            ),
        ];
        for (c, t, start, next, hours) in cases {
            assert_eq!(c.day_start(at(t)), at(start), "day_start {t}");
            assert_eq!(c.next_day_start(at(t)), at(next), "next_day_start {t}");
            assert_eq!(at(next) - at(start), hours * H, "length of day of {t}");
        }
    }

    #[test]
    fn night_shift_over_dst_nights() {
        let berlin = berlin();
        let new_york = cal(chrono_tz::America::New_York, three_shifts(&[]));
        let cases = [
            // 22:00 CET -> 06:00 CEST: 7 h; the 02:00-02:30 break falls in
            // the gap (both ends map to 03:00), so all 7 h are planned.
            (
                &berlin,
                "2026-03-28T23:00:00+01:00",
                "2026-03-28T22:00:00+01:00",
                "2026-03-29T06:00:00+02:00",
                7 * H,
                7 * H,
            ),
            // 22:00 CEST -> 06:00 CET: 9 h; break 02:00-02:30 CEST (earlier
            // of the two), so 8h30 planned.
            (
                &berlin,
                "2026-10-24T23:00:00+02:00",
                "2026-10-24T22:00:00+02:00",
                "2026-10-25T06:00:00+01:00",
                9 * H,
                8 * H + 30 * M,
            ),
            // New York: gap 02:00-03:00 swallows the break as well.
            (
                &new_york,
                "2026-03-07T23:00:00-05:00",
                "2026-03-07T22:00:00-05:00",
                "2026-03-08T06:00:00-04:00",
                7 * H,
                7 * H,
            ),
            // New York falls back at 02:00 EDT, so 02:00-02:30 exists once (EST).
            (
                &new_york,
                "2026-10-31T23:00:00-04:00",
                "2026-10-31T22:00:00-04:00",
                "2026-11-01T06:00:00-05:00",
                9 * H,
                8 * H + 30 * M,
            ),
        ];
        for (c, t, start, end, len, planned) in cases {
            let night = c.shift_at(at(t)).unwrap();
            assert_eq!(
                (night.name.as_str(), night.start, night.end),
                ("night", at(start), at(end)),
                "{t}"
            );
            assert_eq!(night.end - night.start, len, "{t}");
            assert_eq!(c.planned_ms(night.start, night.end), planned, "{t}");
        }
    }

    #[test]
    fn times_in_gap_and_fold_map_to_first_valid_and_earlier_instant() {
        let c = cal(
            chrono_tz::America::New_York,
            vec![def("odd", "02:30", "10:00", &[]), def("fold", "01:30", "02:15", &[])],
        );
        let cases = [
            // 02:30 does not exist on 2026-03-08: starts when the gap ends, 03:00 EDT.
            ("2026-03-08T01:45:00-05:00", "2026-03-08T03:00:00-04:00"),
            // 2026-11-01 01:30 happens twice: the earlier (EDT) one.
            ("2026-11-01T00:00:00-04:00", "2026-11-01T01:30:00-04:00"),
            // Strictly after t: at a start, the next day's start follows.
            ("2026-06-03T01:30:00-04:00", "2026-06-03T02:30:00-04:00"),
            ("2026-06-03T02:30:00-04:00", "2026-06-04T01:30:00-04:00"),
        ];
        for (t, want) in cases {
            assert_eq!(c.next_shift_start(at(t)), Some(at(want)), "after {t}");
        }
        // fold runs 01:30 EDT .. 02:15 EST = 1h45 that night.
        let fold = c.shift_at(at("2026-11-01T01:45:00-05:00")).unwrap();
        assert_eq!(fold.end - fold.start, 105 * M);
    }

    #[test]
    fn weekday_restricted_shifts() {
        let c = cal(chrono_tz::Europe::Berlin, three_shifts(&WORKDAYS));
        let days = [
            // Friday: Thursday's night until 06:00 plus a full day: 22h15.
            (
                "2026-06-05T00:00:00+02:00",
                "2026-06-06T00:00:00+02:00",
                22 * H + 15 * M,
            ),
            // Saturday: only Friday's night shift, 00-06 minus the break.
            ("2026-06-06T00:00:00+02:00", "2026-06-07T00:00:00+02:00", 5 * H + 30 * M),
            ("2026-06-07T00:00:00+02:00", "2026-06-08T00:00:00+02:00", 0),
            // Monday: no Sunday night shift, so 06:00-24:00: 7h15 + 7h30 + 2h.
            (
                "2026-06-08T00:00:00+02:00",
                "2026-06-09T00:00:00+02:00",
                16 * H + 45 * M,
            ),
        ];
        for (from, to, want) in days {
            assert_eq!(c.planned_ms(at(from), at(to)), want, "{from}");
        }
        let sat_morning = "2026-06-06T05:00:00+02:00";
        let friday_night = inst("night", "2026-06-05T22:00:00+02:00", "2026-06-06T06:00:00+02:00");
        assert_eq!(c.shift_at(at(sat_morning)), friday_night);
        assert_eq!(c.planned_at(at(sat_morning)), (true, at("2026-06-06T06:00:00+02:00")));
        let monday_start = at("2026-06-08T06:00:00+02:00");
        for t in [
            "2026-06-06T06:00:00+02:00",
            "2026-06-06T10:00:00+02:00",
            "2026-06-08T03:00:00+02:00",
        ] {
            assert_eq!(c.shift_at(at(t)), None, "{t}");
            assert_eq!(c.planned_at(at(t)), (false, monday_start), "{t}");
            assert_eq!(c.next_shift_start(at(t)), Some(monday_start), "{t}");
        }
    }

    #[test]
    fn calendars_without_stops_are_always_planned() {
        let empty = cal(chrono_tz::Europe::Berlin, vec![]);
        let mut nonstop = three_shifts(&[]);
        nonstop.iter_mut().for_each(|s| s.breaks.clear());
        let nonstop = cal(chrono_tz::Europe::Berlin, nonstop);
        let (from, to) = (at("2026-03-28T00:00:00+01:00"), at("2026-03-30T00:00:00+02:00"));
        for c in [&empty, &nonstop] {
            assert_eq!(c.planned_at(from), (true, i64::MAX));
            assert_eq!(c.planned_at(i64::MIN), (true, i64::MAX));
            // 28 March (24 h) + 29 March (23 h).
            assert_eq!(c.planned_ms(from, to), 47 * H);
            assert_eq!(c.planned_ms(i64::MIN, i64::MAX), i64::MAX);
            let mut segs = vec![];
            c.for_each_segment(from, to, |a, b, p| segs.push((a, b, p)));
            assert_eq!(segs, [(from, to, true)]);
        }
        assert_eq!(empty.shift_at(from), None);
        assert_eq!(empty.next_shift_start(from), None);
        assert_eq!(nonstop.shift_at(from).unwrap().name, "night");
    }

    #[test]
    fn invalid_definitions_are_rejected_naming_the_shift_and_the_key() {
        let mut early_weekdays = def("early", "05:00", "13:00", &[]);
        early_weekdays.days = vec![Mon];
        let cases: [(Vec<ShiftDef>, &str, &str); 11] = [
            (
                vec![def("x", "06:00", "06:00", &[])],
                "shifts[0].end",
                "shift \"x\" starts and ends at 06:00, so it has no length",
            ),
            (
                vec![def("late", "16:00", "22:00", &[("15:00", "15:15")])],
                "shifts[0].breaks[0]",
                "shift \"late\": break 15:00 → 15:15 is outside the shift's 16:00 → 22:00",
            ),
            (
                vec![def("late", "16:00", "22:00", &[("18:00", "18:30"), ("21:45", "22:15")])],
                "shifts[0].breaks[1]",
                "shift \"late\": break 21:45 → 22:15 is outside the shift's 16:00 → 22:00",
            ),
            // After midnight, but past the night shift's end.
            (
                vec![def("night", "22:00", "06:00", &[("05:45", "06:15")])],
                "shifts[0].breaks[0]",
                "shift \"night\": break 05:45 → 06:15 is outside the shift's 22:00 → 06:00",
            ),
            (
                vec![def("x", "06:00", "14:00", &[("09:00", "09:00")])],
                "shifts[0].breaks[0]",
                "shift \"x\": break 09:00 → 09:00 is empty",
            ),
            (
                vec![def(
                    "early",
                    "06:00",
                    "14:00",
                    &[("09:15", "09:45"), ("09:00", "09:30")],
                )],
                "shifts[0].breaks",
                "shift \"early\": breaks 09:00 → 09:30 and 09:15 → 09:45 overlap",
            ),
            (
                vec![def("x", "06:00", "08:00", &[("06:00", "07:00"), ("07:00", "08:00")])],
                "shifts[0].breaks",
                "shift \"x\": breaks cover the whole shift 06:00 → 08:00",
            ),
            (
                vec![def("early", "06:00", "14:00", &[]), def("early", "14:00", "22:00", &[])],
                "shifts[1].name",
                "shift \"early\" is defined twice, as shifts[0] and shifts[1]",
            ),
            // Every day: late starts at 13:00, an hour before early ends.
            (
                vec![def("early", "06:00", "14:00", &[]), def("late", "13:00", "21:00", &[])],
                "shifts[1]",
                "shift \"early\" (shifts[0], 06:00 → 14:00) and shift \"late\" (shifts[1], \
                 13:00 → 21:00) overlap on Monday from 13:00 to 14:00",
            ),
            // Sunday's night runs into Monday until 06:00; Monday's early starts at 05:00.
            (
                vec![def("night", "22:00", "06:00", &[]), early_weekdays],
                "shifts[1]",
                "shift \"night\" (shifts[0], 22:00 → 06:00) and shift \"early\" (shifts[1], \
                 05:00 → 13:00) overlap on Monday from 05:00 to 06:00",
            ),
            // Friday's night runs to Saturday 06:00; Saturday's shift starts at 05:30.
            (
                {
                    let mut fri_night = def("night", "22:00", "06:00", &[]);
                    fri_night.days = vec![Fri];
                    let mut sat = def("sat", "05:30", "12:00", &[]);
                    sat.days = vec![Weekday::Sat];
                    vec![sat, fri_night]
                },
                "shifts[1]",
                "shift \"sat\" (shifts[0], 05:30 → 12:00) and shift \"night\" (shifts[1], \
                 22:00 → 06:00) overlap on Saturday from 05:30 to 06:00",
            ),
        ];
        for (defs, key, want) in cases {
            let err = ShiftCalendar::new(chrono_tz::Europe::Berlin, defs, DEFAULT_MAX_SHIFT_MS).unwrap_err();
            assert_eq!((err.key().as_str(), err.to_string().as_str()), (key, want));
        }
    }

    #[test]
    fn shift_length_is_capped_and_crossing_midnight_must_be_said() {
        const TOO_LONG: &str = "longest allowed is 12 h (max_shift_length)";
        // (start, end, crosses_midnight, max hours, Err((key, message)) or Ok);
        // lengths are end - start on the wall clock, plus 24 h when the end is earlier.
        type Want = Result<(), (&'static str, String)>;
        let cases: [(&str, &str, bool, i64, Want); 15] = [
            // The typo: 15:30 written 03:30 reads as 07:00 to 03:30 the next day,
            // 17 h + 3 h 30 min = 20 h 30 min.
            (
                "07:00",
                "03:30",
                false,
                12,
                Err((
                    "shifts[0].end",
                    "shift \"day\" runs 07:00 → 03:30, read as 20 h 30 min crossing midnight; \
                     longest allowed is 12 h (max_shift_length): check the times, or if it really \
                     ends the next day set crosses_midnight = true and raise max_shift_length"
                        .into(),
                )),
            ),
            // Saying so does not make 20 h 30 min allowed.
            (
                "07:00",
                "03:30",
                true,
                12,
                Err((
                    "shifts[0].end",
                    format!("shift \"day\" runs 07:00 → 03:30, read as 20 h 30 min crossing midnight; {TOO_LONG}"),
                )),
            ),
            // A night shift 22:00 to 06:00 is 2 h + 6 h = 8 h: fine if it says so.
            (
                "22:00",
                "06:00",
                false,
                12,
                Err((
                    "shifts[0].end",
                    "shift \"day\" runs 22:00 → 06:00, read as 8 h crossing midnight; if it really \
                     ends the next day set crosses_midnight = true"
                        .into(),
                )),
            ),
            ("22:00", "06:00", true, 12, Ok(())),
            // 18:00 to 06:00 is 6 h + 6 h = 12 h exactly: the maximum is allowed.
            ("18:00", "06:00", true, 12, Ok(())),
            // 06:00 to 20:00 is 14 h, same day.
            (
                "06:00",
                "20:00",
                false,
                12,
                Err((
                    "shifts[0].end",
                    format!("shift \"day\" runs 06:00 → 20:00, read as 14 h; {TOO_LONG}"),
                )),
            ),
            ("06:00", "20:00", false, 14, Ok(())),
            // One second over: 12 h 1 s.
            (
                "06:00",
                "18:00:01",
                false,
                12,
                Err((
                    "shifts[0].end",
                    format!("shift \"day\" runs 06:00 → 18:00:01, read as 12 h 1 s; {TOO_LONG}"),
                )),
            ),
            // 18:00 to 08:30 is 6 h + 8 h 30 min = 14 h 30 min, over a 14 h maximum.
            (
                "18:00",
                "08:30",
                true,
                14,
                Err((
                    "shifts[0].end",
                    "shift \"day\" runs 18:00 → 08:30, read as 14 h 30 min crossing midnight; \
                     longest allowed is 14 h (max_shift_length)"
                        .into(),
                )),
            ),
            // Says it crosses midnight, but 06:00 to 14:00 is 8 h on one day.
            (
                "06:00",
                "14:00",
                true,
                12,
                Err((
                    "shifts[0].crosses_midnight",
                    "shift \"day\" runs 06:00 → 14:00, read as 8 h within one day, but it says \
                     crosses_midnight = true: check the times, or remove crosses_midnight"
                        .into(),
                )),
            ),
            // Ending at midnight is not crossing it, said or not: 16:00 to 00:00 is 8 h.
            ("16:00", "00:00", false, 12, Ok(())),
            ("16:00", "00:00", true, 12, Ok(())),
            // 11:00 to 00:00 is 13 h.
            (
                "11:00",
                "00:00",
                false,
                12,
                Err((
                    "shifts[0].end",
                    format!("shift \"day\" runs 11:00 → 00:00, read as 13 h; {TOO_LONG}"),
                )),
            ),
            // 23:59 to 00:01 is 2 min across midnight.
            (
                "23:59",
                "00:01",
                false,
                12,
                Err((
                    "shifts[0].end",
                    "shift \"day\" runs 23:59 → 00:01, read as 2 min crossing midnight; if it \
                     really ends the next day set crosses_midnight = true"
                        .into(),
                )),
            ),
            (
                "06:00",
                "06:00",
                true,
                12,
                Err((
                    "shifts[0].end",
                    "shift \"day\" starts and ends at 06:00, so it has no length".into(),
                )),
            ),
        ];
        for (start, end, crosses_midnight, max_h, want) in cases {
            let shift = ShiftDef {
                crosses_midnight,
                ..def("day", start, end, &[])
            };
            let got = ShiftCalendar::new(chrono_tz::Europe::Berlin, vec![shift], max_h * H)
                .map(|_| ())
                .map_err(|e| (e.key(), e.to_string()));
            let want = want.map_err(|(k, m)| (k.to_owned(), m));
            assert_eq!(
                got, want,
                "{start} → {end} crosses_midnight={crosses_midnight} max {max_h} h"
            );
        }
    }

    #[test]
    fn lengths_read_as_people_say_them() {
        let cases = [
            (20 * H + 30 * M, "20 h 30 min"),
            (8 * H, "8 h"),
            (45 * M, "45 min"),
            (H + 30_000, "1 h 30 s"),
            (500, "500 ms"),
        ];
        for (ms, want) in cases {
            assert_eq!(length(ms), want);
        }
    }

    #[test]
    fn valid_edge_definitions_are_accepted() {
        let mut fri_night = def("night", "22:00", "06:00", &[("23:45", "00:15")]);
        fri_night.days = vec![Fri];
        let mut sat = def("sat", "06:00", "12:00", &[("06:00", "06:30"), ("06:30", "07:00")]);
        sat.days = vec![Weekday::Sat];
        let c = cal(chrono_tz::Europe::Berlin, vec![sat, fri_night]);
        // Friday 22:00 to Saturday 12:00: 14 h minus three half hours.
        let from = at("2026-06-05T00:00:00+02:00");
        assert_eq!(c.planned_ms(from, at("2026-06-07T00:00:00+02:00")), 12 * H + 30 * M);
        // The break crossing midnight: 23:45 .. 00:15.
        assert_eq!(
            c.planned_at(at("2026-06-05T23:50:00+02:00")),
            (false, at("2026-06-06T00:15:00+02:00"))
        );
        // Adjacent breaks at the start of sat merge into one stop until 07:00.
        assert_eq!(
            c.planned_at(at("2026-06-06T05:59:00+02:00")),
            (true, at("2026-06-06T06:00:00+02:00"))
        );
        assert_eq!(
            c.planned_at(at("2026-06-06T06:00:00+02:00")),
            (false, at("2026-06-06T07:00:00+02:00"))
        );
    }

    #[test]
    fn for_each_segment_covers_the_range_exactly() {
        let berlin = berlin();
        let ny = cal(chrono_tz::America::New_York, three_shifts(&WORKDAYS));
        let cases = [
            (&berlin, "2026-06-03T09:10:00+02:00", "2026-06-03T12:10:00+02:00"),
            (&berlin, "2026-03-27T07:00:00+01:00", "2026-03-31T13:00:00+02:00"),
            (&berlin, "2026-10-23T00:00:00+02:00", "2026-10-27T00:00:00+01:00"),
            (&ny, "2026-03-05T17:17:00-05:00", "2026-03-12T05:00:00-04:00"),
            (&ny, "2026-10-29T00:00:00-04:00", "2026-11-04T00:00:00-05:00"),
        ];
        for (c, from, to) in cases {
            let (from, to) = (at(from), at(to));
            let mut segs: Vec<(EpochMs, EpochMs, bool)> = vec![];
            c.for_each_segment(from, to, |a, b, p| segs.push((a, b, p)));
            assert_eq!(segs.first().map(|s| s.0), Some(from));
            assert_eq!(segs.last().map(|s| s.1), Some(to));
            for w in segs.windows(2) {
                assert_eq!(w[0].1, w[1].0, "adjacent");
                assert_ne!(w[0].2, w[1].2, "alternating");
            }
            for &(a, b, p) in &segs {
                assert!(a < b);
                let (now, next) = c.planned_at(a);
                assert_eq!(now, p);
                assert_eq!(next.min(to), b);
            }
            let total: i64 = segs.iter().map(|s| s.1 - s.0).sum();
            let planned: i64 = segs.iter().filter(|s| s.2).map(|s| s.1 - s.0).sum();
            assert_eq!(total, to - from);
            assert_eq!(planned, c.planned_ms(from, to));
        }
        let mut calls = 0;
        berlin.for_each_segment(10, 10, |_, _, _| calls += 1);
        assert_eq!(calls, 0);
    }

    #[test]
    fn planned_at_agrees_with_itself_and_shift_at() {
        // Every 7 minutes across both New York DST weeks and a weekend.
        let ny = cal(chrono_tz::America::New_York, three_shifts(&WORKDAYS));
        for start in ["2026-03-05T00:00:00-05:00", "2026-10-29T00:00:00-04:00"] {
            let mut t = at(start);
            while t < at(start) + 8 * 24 * H {
                let (p, next) = ny.planned_at(t);
                assert!(next > t);
                assert_eq!(ny.planned_at(next - 1).0, p);
                assert_ne!(ny.planned_at(next).0, p);
                if p {
                    assert!(ny.shift_at(t).is_some());
                }
                assert!(ny.day_start(t) <= t && t < ny.next_day_start(t));
                t += 7 * M;
            }
        }
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let c = berlin();
        for t in [i64::MIN, -LIMIT_MS - 1, -LIMIT_MS, LIMIT_MS - 1, LIMIT_MS, i64::MAX - 1] {
            let (_, next) = c.planned_at(t);
            assert!(next > t, "{t}");
            assert!(c.day_start(t) <= t && t < c.next_day_start(t), "{t}");
            let _ = (c.shift_at(t), c.next_shift_start(t));
        }
        assert_eq!(c.planned_at(i64::MIN), (false, -LIMIT_MS));
        assert_eq!(
            c.planned_ms(LIMIT_MS - DAY_MS, i64::MAX),
            c.planned_ms(LIMIT_MS - DAY_MS, LIMIT_MS)
        );
    }

    #[test]
    fn deserialises_config() {
        let json = r#"[
            {"name": "night", "start": "22:00", "end": "06:00:00", "crosses_midnight": true,
             "breaks": [{"start": "02:00", "end": "02:30"}], "days": ["mon", "TUE", "Friday"]},
            {"name": "early", "start": "06:00", "end": "14:00"}
        ]"#;
        let defs: Vec<ShiftDef> = serde_json::from_str(json).unwrap();
        let mut night = def("night", "22:00", "06:00", &[("02:00", "02:30")]);
        night.days = vec![Mon, Tue, Fri];
        assert_eq!(defs, [night, def("early", "06:00", "14:00", &[])]);
        let bad_day = r#"{"name": "x", "start": "06:00", "end": "07:00", "days": ["mo"]}"#;
        assert!(serde_json::from_str::<ShiftDef>(bad_day).is_err());
        let typo = r#"{"name": "x", "start": "06:00", "end": "07:00", "brakes": []}"#;
        assert!(serde_json::from_str::<ShiftDef>(typo).is_err());
        let round_trip: Vec<ShiftDef> = serde_json::from_str(&serde_json::to_string(&defs).unwrap()).unwrap();
        assert_eq!(round_trip, defs);
    }
}

//! Past windows recomputed from stored events, by the same rules as the live windows:
//! the same [`Tally::of_time`] classification and the same shift calendar, so a shift
//! report equals what the wall display showed.

use super::EpochMs;
use super::machine::{PastInterval, PastParts};
use super::shift::ShiftCalendar;
use super::tally::Tally;

/// The tally of `[from, to)`: intervals clipped to the window and split at calendar
/// boundaries; parts counted in minutes that start inside the window.
pub fn tally_between(
    calendar: &ShiftCalendar,
    intervals: &[PastInterval],
    parts: &[PastParts],
    from: EpochMs,
    to: EpochMs,
) -> Tally {
    let mut t = Tally::default();
    for iv in intervals {
        let (start, end) = (iv.start.max(from), iv.end.min(to));
        if start < end {
            calendar.for_each_segment(start, end, |a, b, planned| {
                t += Tally::of_time(iv.state, planned, iv.micro_stop, b - a);
            });
        }
    }
    for p in parts.iter().filter(|p| p.at >= from && p.at < to) {
        t += p.tally;
    }
    t
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::machine_state::MachineState;

    const MIN: EpochMs = 60_000;
    /// 2026-03-02 07:00 UTC.
    const FROM: EpochMs = 1_772_409_600_000 + 7 * 60 * MIN;
    const TO: EpochMs = FROM + 60 * MIN;

    fn calendar() -> ShiftCalendar {
        // no shifts: every instant is planned
        crate::config::parse_plant(
            "timezone = \"UTC\"\n[[lines]]\nid = \"l\"\nname = \"L\"\n[[lines.machines]]\nid = \"m\"\n\
             name = \"M\"\nideal_cycle_time = \"1s\"\ntags = { running = \"R\", good = { tag = \"G\" } }\n",
            "plant.toml",
        )
        .map(|p| p.calendar)
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn spans_are_half_open_and_a_sample_stamped_at_the_end_counts_in_the_next_span() {
        let cal = calendar();
        let parts = |at: EpochMs| PastParts {
            at,
            tally: Tally::of_parts(1, 1, 1_000),
        };
        let iv = |start, end, state| PastInterval {
            start,
            end,
            state,
            micro_stop: false,
        };
        // one part stored per minute row; an interval crossing each edge by 30 s
        let rows = [parts(FROM - MIN), parts(FROM), parts(TO - MIN), parts(TO)];
        let intervals = [
            iv(FROM - 30_000, FROM + 30_000, MachineState::Running),
            iv(TO - 30_000, TO + 30_000, MachineState::Unknown),
        ];
        // (span, parts, run ms, comms lost ms)
        let table = [
            // [FROM, TO): the rows of FROM and TO − 1 min; 30 s of each interval
            ((FROM, TO), 2, 30_000, 30_000),
            // the row stamped at TO belongs to the span that starts at TO
            ((TO, TO + MIN), 1, 0, 30_000),
            ((FROM - MIN, FROM), 1, 30_000, 0),
            // the two spans side by side are the whole: nothing lost or counted twice
            ((FROM - MIN, TO + MIN), 4, 60_000, 60_000),
        ];
        for ((from, to), total, run, comms_lost) in table {
            let t = tally_between(&cal, &intervals, &rows, from, to);
            assert_eq!(
                (t.total, t.run_ms, t.comms_lost_ms),
                (total, run, comms_lost),
                "[{from}, {to})"
            );
        }
    }
}

//! PLC part counters: cumulative values with rollover and reset, or plain increments, and
//! the plausibility check for a counter step across a gap in the data.

use serde::Deserialize;

/// The bit width of a cumulative PLC counter, which decides where it rolls over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "u8")]
pub enum CounterWidth {
    /// Wraps after 65,535.
    Bits16,
    /// Wraps after 4,294,967,295.
    Bits32,
    /// No known width: every decrease is a reset.
    #[default]
    Unbounded,
}

impl TryFrom<u8> for CounterWidth {
    type Error = String;
    fn try_from(bits: u8) -> Result<Self, Self::Error> {
        match bits {
            16 => Ok(CounterWidth::Bits16),
            32 => Ok(CounterWidth::Bits32),
            other => Err(format!("counter width must be 16 or 32, not {other}")),
        }
    }
}

impl CounterWidth {
    /// The largest value the counter can hold, if the width is known.
    pub fn max(self) -> Option<u64> {
        match self {
            CounterWidth::Bits16 => Some(u16::MAX as u64),
            CounterWidth::Bits32 => Some(u32::MAX as u64),
            CounterWidth::Unbounded => None,
        }
    }
}

/// How a counter tag reports parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterMode {
    /// A running total kept by the PLC; parts = new − old.
    #[default]
    Cumulative,
    /// Each value is a number of parts made since the previous value.
    Increment,
}

/// What kind of step a counter took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaKind {
    /// The first value seen: it sets the baseline and counts nothing.
    Baseline,
    /// new ≥ old.
    Normal,
    /// The counter wrapped past its maximum.
    Rollover,
    /// The counter was reset (by an operator or a PLC restart).
    Reset,
    /// Across a gap in the data, the counter moved by more parts than the machine could
    /// have made in the gap: read as a reset to an unrelated value (a PLC replaced or
    /// restored from a backup). The new value is the baseline and counts nothing.
    ImplausibleJump,
}

/// Parts counted by one counter step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    /// Parts made.
    pub parts: u64,
    /// Why the step counted what it counted.
    pub kind: DeltaKind,
}

/// Parts between two readings of a cumulative counter.
///
/// A decrease is a rollover only when the width is known, the old value was in the top
/// quarter of the range and the new one is in the bottom quarter: a counter cannot climb
/// three quarters of its range between two readings, while a reset to zero followed by a
/// few parts looks exactly like that. Every other decrease is a reset, counted as `new`.
pub fn cumulative_delta(previous: Option<u64>, current: u64, width: CounterWidth) -> Delta {
    let Some(previous) = previous else {
        return Delta {
            parts: 0,
            kind: DeltaKind::Baseline,
        };
    };
    if current >= previous {
        return Delta {
            parts: current - previous,
            kind: DeltaKind::Normal,
        };
    }
    if let Some(max) = width.max() {
        let quarter = max / 4;
        if previous >= max - quarter && current <= quarter {
            return Delta {
                parts: (max - previous) + current + 1,
                kind: DeltaKind::Rollover,
            };
        }
    }
    Delta {
        parts: current,
        kind: DeltaKind::Reset,
    }
}

/// The margin over the ideal rate allowed across a gap, as a fraction: a machine may run
/// up to 1.5 × its ideal rate (the ideal cycle time is a target, not a physical limit).
pub const JUMP_RATE_MARGIN: (u64, u64) = (3, 2);
/// Parts allowed across a gap on top of the rate margin: a part in progress at each end
/// and the counter's own sampling lag.
pub const JUMP_SLACK_PARTS: u64 = 5;

/// The most parts a machine can have made in `gap_ms` at `ideal_cycle_ms` per part:
/// ⌈gap ÷ ideal cycle × 1.5⌉ + 5 ([`JUMP_RATE_MARGIN`], [`JUMP_SLACK_PARTS`]). No bound
/// (`u64::MAX`) without a usable ideal cycle time.
pub fn max_parts_in_gap(gap_ms: i64, ideal_cycle_ms: i64) -> u64 {
    if ideal_cycle_ms <= 0 {
        return u64::MAX;
    }
    let (num, den) = JUMP_RATE_MARGIN;
    let gap = u128::try_from(gap_ms.max(0)).unwrap_or(0);
    let per = u128::from(den) * u128::try_from(ideal_cycle_ms).unwrap_or(1);
    let parts = (gap * u128::from(num)).div_ceil(per);
    u64::try_from(parts)
        .unwrap_or(u64::MAX)
        .saturating_add(JUMP_SLACK_PARTS)
}

/// A counter step taken across a gap in the data (communication lost, or MS5 restarted):
/// `delta` unless it counts more than [`max_parts_in_gap`], then an
/// [`DeltaKind::ImplausibleJump`] that counts nothing. `gap_ms` is the time between the
/// counter's two readings.
pub fn across_gap(delta: Delta, gap_ms: i64, ideal_cycle_ms: i64) -> Delta {
    if delta.kind != DeltaKind::Baseline && delta.parts > max_parts_in_gap(gap_ms, ideal_cycle_ms) {
        return Delta {
            parts: 0,
            kind: DeltaKind::ImplausibleJump,
        };
    }
    delta
}

#[cfg(test)]
mod tests {
    use super::*;
    use CounterWidth::*;
    use DeltaKind::*;

    #[test]
    fn cumulative_deltas_follow_the_counter_rules() {
        let table: [(Option<u64>, u64, CounterWidth, u64, DeltaKind); 10] = [
            // first reading only sets the baseline
            (None, 500, Bits32, 0, Baseline),
            (Some(100), 100, Bits16, 0, Normal),
            (Some(100), 137, Bits16, 37, Normal),
            // 65,530 → 65,535 is 5, → 0 is 6, → 4 is 10
            (Some(65_530), 4, Bits16, 10, Rollover),
            // 4,294,967,290 → 4,294,967,295 is 5, → 0 is 6, → 9 is 15
            (Some(4_294_967_290), 9, Bits32, 15, Rollover),
            // a drop from the middle of the range is a reset: the new value counts
            (Some(30_000), 12, Bits16, 12, Reset),
            // top quarter, but the new value is not near zero: reset
            (Some(65_000), 40_000, Bits16, 40_000, Reset),
            // no width configured: every decrease is a reset
            (Some(4_294_967_290), 9, Unbounded, 9, Reset),
            (Some(7), 0, Unbounded, 0, Reset),
            // exactly at the maximum, then 0: one part
            (Some(65_535), 0, Bits16, 1, Rollover),
        ];
        for (previous, current, width, parts, kind) in table {
            let got = cumulative_delta(previous, current, width);
            assert_eq!(
                got,
                Delta { parts, kind },
                "previous={previous:?} current={current} width={width:?}"
            );
        }
    }

    #[test]
    fn width_parses_from_bits_and_rejects_others() {
        assert_eq!(CounterWidth::try_from(16), Ok(Bits16));
        assert_eq!(CounterWidth::try_from(32), Ok(Bits32));
        assert!(CounterWidth::try_from(8).unwrap_err().contains("16 or 32"));
    }

    #[test]
    fn the_most_parts_in_a_gap_is_the_ideal_rate_with_margin_and_slack() {
        let table: [(i64, i64, u64); 7] = [
            // (gap ms, ideal cycle ms, most parts)
            // 60 s at 1 s: 60 × 1.5 = 90, + 5
            (60_000, 1_000, 95),
            // 10 s at 3 s: 10 / 3 × 1.5 = 5, + 5
            (10_000, 3_000, 10),
            // 1 s at 2 s: 0.75 rounds up to 1, + 5
            (1_000, 2_000, 6),
            // 1 h at 0.9 s: 3,600 / 0.9 × 1.5 = 6,000, + 5
            (3_600_000, 900, 6_005),
            // no time at all: only the slack
            (0, 1_000, 5),
            // no usable ideal cycle: no bound
            (60_000, 0, u64::MAX),
            // a gap of years does not overflow: 100 y / 1 ms × 1.5 ≈ 4.7e12, + 5
            (3_155_760_000_000, 1, 4_733_640_000_005),
        ];
        for (gap, ideal, want) in table {
            assert_eq!(max_parts_in_gap(gap, ideal), want, "gap={gap} ideal={ideal}");
        }
    }

    #[test]
    fn a_step_across_a_gap_beyond_the_most_parts_is_an_implausible_jump() {
        let d = |parts, kind| Delta { parts, kind };
        let table: [(Delta, i64, i64, Delta); 7] = [
            // (step, gap ms, ideal cycle ms, counted as)
            // 60 s at 1 s allows 95: 95 counts, 96 does not
            (d(95, Normal), 60_000, 1_000, d(95, Normal)),
            (d(96, Normal), 60_000, 1_000, d(0, ImplausibleJump)),
            // 1,000 → 5,000,000 after a 40 s outage
            (d(4_999_000, Normal), 40_000, 1_000, d(0, ImplausibleJump)),
            // a reset counts its new value: 12 after 30 s is plausible, 900 is not
            (d(12, Reset), 30_000, 1_000, d(12, Reset)),
            (d(900, Reset), 30_000, 1_000, d(0, ImplausibleJump)),
            // a rollover is judged by the parts it counts: 10 in 10 s allows 20
            (d(10, Rollover), 10_000, 1_000, d(10, Rollover)),
            // a baseline counts nothing and stays one
            (d(0, Baseline), 10, 1_000, d(0, Baseline)),
        ];
        for (delta, gap, ideal, want) in table {
            assert_eq!(across_gap(delta, gap, ideal), want, "{delta:?} gap={gap} ideal={ideal}");
        }
    }
}

//! PLC part counters: cumulative values with rollover and reset, or plain increments.

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
}

//! OEE windows kept live in O(1) per update.
//!
//! Rolling windows (15 min, 1 h, 8 h) share one ring of 15-second buckets with one running
//! sum per span: adding to the current bucket adds to every sum, and moving the head one
//! bucket forward subtracts, from each sum, the bucket that just left that span. Anchored
//! windows (current shift, today) are a single running sum reset at their boundary.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::EpochMs;
use super::bucket_ring::BucketRing;
use super::tally::Tally;

/// Width of one ring bucket. Rolling windows move in steps of this size.
pub const BUCKET_MS: i64 = 15_000;
const SPAN_BUCKETS: [usize; 3] = [60, 240, 1920];
const RING_LEN: usize = 1920;

/// The windows OEE is reported over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum WindowName {
    /// Rolling 15 minutes.
    #[serde(rename = "15m")]
    M15,
    /// Rolling hour.
    #[serde(rename = "1h")]
    H1,
    /// Rolling 8 hours.
    #[serde(rename = "8h")]
    H8,
    /// The current (or last) shift.
    #[serde(rename = "shift")]
    Shift,
    /// The plant-local calendar day.
    #[serde(rename = "today")]
    Today,
}

impl WindowName {
    /// Every window, in display order.
    pub const ALL: [WindowName; 5] = [
        WindowName::Shift,
        WindowName::M15,
        WindowName::H1,
        WindowName::H8,
        WindowName::Today,
    ];

    /// The wire name (`15m`, `1h`, `8h`, `shift`, `today`).
    pub fn as_str(self) -> &'static str {
        match self {
            WindowName::M15 => "15m",
            WindowName::H1 => "1h",
            WindowName::H8 => "8h",
            WindowName::Shift => "shift",
            WindowName::Today => "today",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<WindowName> {
        WindowName::ALL.into_iter().find(|w| w.as_str() == s)
    }

    fn rolling_index(self) -> Option<usize> {
        match self {
            WindowName::M15 => Some(0),
            WindowName::H1 => Some(1),
            WindowName::H8 => Some(2),
            WindowName::Shift | WindowName::Today => None,
        }
    }
}

impl fmt::Display for WindowName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Start of the bucket containing `t`.
pub fn bucket_start(t: EpochMs) -> EpochMs {
    t.div_euclid(BUCKET_MS) * BUCKET_MS
}

/// The rolling windows of one machine.
#[derive(Debug, Clone)]
pub struct RollingWindows {
    buckets: BucketRing,
    /// Start of the newest bucket; `None` until the first add.
    head_start: Option<EpochMs>,
    head_idx: usize,
    sums: [Tally; 3],
}

impl Default for RollingWindows {
    fn default() -> Self {
        RollingWindows {
            buckets: BucketRing::new(RING_LEN),
            head_start: None,
            head_idx: 0,
            sums: [Tally::default(); 3],
        }
    }
}

impl RollingWindows {
    /// Adds a tally at instant `at`. A later instant moves the windows forward; an earlier
    /// one lands in its own bucket while the ring still holds it (late parts, a micro-stop
    /// reclassified after it ended), else it is too old for any rolling window and ignored.
    pub fn add(&mut self, at: EpochMs, t: Tally) {
        let start = bucket_start(at);
        let head = match self.head_start {
            None => {
                self.head_start = Some(start);
                start
            }
            Some(head) if start > head => {
                self.advance(head, start);
                start
            }
            Some(head) => head,
        };
        let age = ((head - start) / BUCKET_MS) as usize;
        if age >= RING_LEN {
            return;
        }
        let idx = (self.head_idx + RING_LEN - age) % RING_LEN;
        self.buckets.add(idx, t);
        for (sum, span) in self.sums.iter_mut().zip(SPAN_BUCKETS) {
            if age < span {
                *sum += t;
            }
        }
    }

    /// Moves the windows forward to `now` with nothing added (time passing on its own).
    pub fn advance_to(&mut self, now: EpochMs) {
        self.add(now, Tally::default());
    }

    fn advance(&mut self, from: EpochMs, to: EpochMs) {
        let steps = ((to - from) / BUCKET_MS) as usize;
        if steps >= RING_LEN {
            // Everything in the ring has left every window.
            self.buckets.clear();
            self.sums = [Tally::default(); 3];
            self.head_idx = 0;
            self.head_start = Some(to);
            return;
        }
        for _ in 0..steps {
            let next = (self.head_idx + 1) % RING_LEN;
            for (sum, span) in self.sums.iter_mut().zip(SPAN_BUCKETS) {
                // The bucket that falls out of a span of n buckets is n − 1 behind the new head.
                let leaving = (next + RING_LEN - span) % RING_LEN;
                *sum -= self.buckets.get(leaving);
            }
            self.buckets.set(next, Tally::default());
            self.head_idx = next;
        }
        self.head_start = Some(to);
    }

    /// The running sum of a rolling window; `None` for anchored windows.
    pub fn sum(&self, window: WindowName) -> Option<Tally> {
        window.rolling_index().map(|i| self.sums[i])
    }

    /// Recomputes the running sums from the buckets: after a restart, sums that a panic
    /// may have left half-updated are made true again.
    pub fn repair(&mut self) {
        for (i, span) in SPAN_BUCKETS.into_iter().enumerate() {
            self.sums[i] = (0..span)
                .map(|age| self.buckets.get((self.head_idx + RING_LEN - age) % RING_LEN))
                .fold(Tally::default(), |a, b| a + b);
        }
    }
}

/// A window with fixed bounds (a shift, a day): one running sum, reset when time moves
/// into the next occurrence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnchoredWindow {
    /// Bounds of the occurrence being summed, `[start, end)`; `None` before the first.
    pub bounds: Option<(EpochMs, EpochMs)>,
    /// The sum so far.
    pub sum: Tally,
}

impl AnchoredWindow {
    /// Adds `t` at `at`, where `bounds` are the bounds of the occurrence containing `at`
    /// (`None` when no occurrence contains it, e.g. between shifts). A newer occurrence
    /// resets the sum; an older one is ignored (it is history, not this window).
    pub fn add(&mut self, at: EpochMs, bounds: Option<(EpochMs, EpochMs)>, t: Tally) {
        let Some((start, end)) = bounds else { return };
        debug_assert!(start <= at && at < end);
        match self.bounds {
            Some((s, _)) if s == start => {}
            Some((s, _)) if s > start => return,
            _ => {
                self.bounds = Some((start, end));
                self.sum = Tally::default();
            }
        }
        self.sum += t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::machine_state::MachineState;

    const MIN: i64 = 60_000;

    fn run(ms: i64) -> Tally {
        Tally::of_time(MachineState::Running, true, false, ms)
    }

    /// The brute-force sum of everything added in `[from, to)`.
    fn brute(log: &[(EpochMs, Tally)], from: EpochMs, to: EpochMs) -> Tally {
        log.iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .fold(Tally::default(), |a, (_, t)| a + *t)
    }

    #[test]
    fn rolling_sums_equal_brute_force_sums_over_ten_hours() {
        let mut w = RollingWindows::default();
        let mut log = Vec::new();
        // one add every 7 s for 10 h with varying amounts
        let mut at = 1_000_000_000_000;
        for i in 0..(10 * 3600 / 7) {
            let t = run(1 + (i % 13)) + Tally::of_parts(i % 3, i % 2, 7);
            w.add(at, t);
            log.push((at, t));
            at += 7_000;
        }
        let head = bucket_start(at - 7_000);
        for (name, span) in [(WindowName::M15, 60), (WindowName::H1, 240), (WindowName::H8, 1920)] {
            let from = head - (span - 1) * BUCKET_MS;
            assert_eq!(w.sum(name), Some(brute(&log, from, head + BUCKET_MS)), "{name}");
        }
    }

    #[test]
    fn late_adds_land_in_their_bucket_and_old_ones_are_dropped() {
        let mut w = RollingWindows::default();
        let t0 = 1_000_000_020_000;
        w.add(t0, run(1_000));
        w.add(t0 + 20 * MIN, run(1_000));
        // 10 min late: still inside 15 min and 1 h
        w.add(t0 + 10 * MIN, run(500));
        assert_eq!(w.sum(WindowName::M15).map(|t| t.run_ms), Some(1_500));
        assert_eq!(w.sum(WindowName::H1).map(|t| t.run_ms), Some(2_500));
        // 9 h late: older than every window
        w.add(t0 - 9 * 60 * MIN, run(7));
        assert_eq!(w.sum(WindowName::H8).map(|t| t.run_ms), Some(2_500));
    }

    #[test]
    fn a_gap_longer_than_the_ring_clears_every_window() {
        let mut w = RollingWindows::default();
        w.add(0, run(1_000));
        w.advance_to(9 * 60 * MIN);
        for name in [WindowName::M15, WindowName::H1, WindowName::H8] {
            assert_eq!(w.sum(name), Some(Tally::default()), "{name}");
        }
    }

    #[test]
    fn the_15_minute_window_forgets_what_is_15_minutes_old() {
        let mut w = RollingWindows::default();
        w.add(0, run(1_000));
        // 59 buckets later the first bucket is still in the 60-bucket span …
        w.advance_to(59 * BUCKET_MS);
        assert_eq!(w.sum(WindowName::M15).map(|t| t.run_ms), Some(1_000));
        // … one more and it has left, while the hour still holds it.
        w.advance_to(60 * BUCKET_MS);
        assert_eq!(w.sum(WindowName::M15).map(|t| t.run_ms), Some(0));
        assert_eq!(w.sum(WindowName::H1).map(|t| t.run_ms), Some(1_000));
    }

    #[test]
    fn repair_recomputes_sums_from_buckets() {
        let mut w = RollingWindows::default();
        for i in 0..500 {
            w.add(i * 10_000, run(100));
        }
        let good = w.clone();
        w.sums = [Tally::default(); 3];
        w.repair();
        for name in [WindowName::M15, WindowName::H1, WindowName::H8] {
            assert_eq!(w.sum(name), good.sum(name), "{name}");
        }
    }

    #[test]
    fn anchored_window_resets_on_the_next_occurrence_and_ignores_older_ones() {
        let mut w = AnchoredWindow::default();
        w.add(10, Some((0, 100)), run(10));
        w.add(20, Some((0, 100)), run(10));
        assert_eq!(w.sum.run_ms, 20);
        w.add(50, None, run(99));
        assert_eq!(w.sum.run_ms, 20);
        w.add(110, Some((100, 200)), run(5));
        assert_eq!((w.bounds, w.sum.run_ms), (Some((100, 200)), 5));
        w.add(30, Some((0, 100)), run(1));
        assert_eq!(w.sum.run_ms, 5);
    }

    #[test]
    fn window_names_round_trip() {
        for w in WindowName::ALL {
            assert_eq!(WindowName::parse(w.as_str()), Some(w));
        }
        assert_eq!(WindowName::parse("2h"), None);
    }
}

//! Leading-edge throttling of pushes: the first change after a quiet spell goes out at
//! once, a burst of changes goes out at most once per interval, and the last state of a
//! burst is always sent.

use std::time::{Duration, Instant};

/// What to do with a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Send now.
    Now,
    /// Send after this delay (schedule one flush).
    After(Duration),
    /// A flush is already scheduled; it will carry this change.
    Scheduled,
}

/// Per-entity throttle state.
#[derive(Debug, Clone)]
pub struct Throttle {
    interval: Duration,
    last_sent: Option<Instant>,
    scheduled: bool,
}

impl Throttle {
    /// A throttle that sends at most once per `interval` (zero: always at once).
    pub fn new(interval: Duration) -> Self {
        Throttle {
            interval,
            last_sent: None,
            scheduled: false,
        }
    }

    /// Decides what to do with a change at `now`.
    pub fn on_change(&mut self, now: Instant) -> Push {
        if self.scheduled {
            return Push::Scheduled;
        }
        match self.last_sent {
            Some(last) if now.duration_since(last) < self.interval => {
                self.scheduled = true;
                Push::After(self.interval - now.duration_since(last))
            }
            _ => {
                self.last_sent = Some(now);
                Push::Now
            }
        }
    }

    /// Records that the scheduled flush ran at `now`.
    pub fn flushed(&mut self, now: Instant) {
        self.scheduled = false;
        self.last_sent = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_are_coalesced_and_quiet_changes_go_at_once() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut th = Throttle::new(ms(100));
        assert_eq!(th.on_change(t0), Push::Now);
        assert_eq!(th.on_change(t0 + ms(30)), Push::After(ms(70)));
        assert_eq!(th.on_change(t0 + ms(60)), Push::Scheduled);
        th.flushed(t0 + ms(100));
        assert_eq!(th.on_change(t0 + ms(150)), Push::After(ms(50)));
        th.flushed(t0 + ms(200));
        assert_eq!(th.on_change(t0 + ms(500)), Push::Now);
        let mut zero = Throttle::new(Duration::ZERO);
        assert_eq!(zero.on_change(t0), Push::Now);
        assert_eq!(zero.on_change(t0), Push::Now);
    }
}

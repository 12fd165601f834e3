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

/// Why an entity's state changed: decides how its push is throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The state, its reason or the product changed: pushed at once, whatever the rate.
    StateChange,
    /// A sample, a correction or a new job: pushed at once after a quiet spell.
    Change,
    /// Time passed (ticks, heartbeats): throttled without delaying the next change.
    TimePassing,
}

/// Per-entity throttle state.
///
/// Changes come in two kinds. A *change* (a sample, a correction, a new job) is what a
/// person watches for: the first after a quiet spell goes out at once. *Time passing*
/// (staleness checks, heartbeats moving the windows) is throttled the same way but never
/// uses up that leading edge, so a tick a few milliseconds before a sample does not hold
/// the sample back.
#[derive(Debug, Clone)]
pub struct Throttle {
    interval: Duration,
    last_change: Option<Instant>,
    last_sent: Option<Instant>,
    scheduled: bool,
}

impl Throttle {
    /// A throttle that sends at most once per `interval` per kind (zero: always at once).
    pub fn new(interval: Duration) -> Self {
        Throttle {
            interval,
            last_change: None,
            last_sent: None,
            scheduled: false,
        }
    }

    fn recent(&self, last: Option<Instant>, now: Instant) -> Option<Duration> {
        let since = now.duration_since(last?);
        (since < self.interval).then(|| self.interval - since)
    }

    /// Decides what to do with a change at `now`.
    pub fn on_change(&mut self, now: Instant) -> Push {
        match self.recent(self.last_change, now) {
            None => {
                self.last_change = Some(now);
                self.last_sent = Some(now);
                Push::Now
            }
            Some(_) if self.scheduled => Push::Scheduled,
            Some(wait) => {
                self.scheduled = true;
                Push::After(wait)
            }
        }
    }

    /// Decides what to do with a change of this `cause` at `now`.
    pub fn on(&mut self, cause: Cause, now: Instant) -> Push {
        match cause {
            Cause::StateChange => self.on_state_change(now),
            Cause::Change => self.on_change(now),
            Cause::TimePassing => self.on_time_passing(now),
        }
    }

    /// A change of state (or its reason, or the product) at `now`: sent at once, whatever
    /// the rate; a flush already scheduled still follows.
    pub fn on_state_change(&mut self, now: Instant) -> Push {
        self.last_change = Some(now);
        self.last_sent = Some(now);
        Push::Now
    }

    /// Decides what to do with time passing at `now`.
    pub fn on_time_passing(&mut self, now: Instant) -> Push {
        if self.scheduled {
            return Push::Scheduled;
        }
        match self.recent(self.last_sent, now) {
            None => {
                self.last_sent = Some(now);
                Push::Now
            }
            Some(wait) => {
                self.scheduled = true;
                Push::After(wait)
            }
        }
    }

    /// Records that the scheduled flush ran at `now`.
    pub fn flushed(&mut self, now: Instant) {
        self.scheduled = false;
        self.last_sent = Some(now);
        self.last_change = Some(now);
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

    #[test]
    fn time_passing_never_holds_back_the_next_change() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut th = Throttle::new(ms(100));
        // a tick goes out, and a sample 5 ms later still goes at once
        assert_eq!(th.on_time_passing(t0), Push::Now);
        assert_eq!(th.on_change(t0 + ms(5)), Push::Now);
        // ticks are rate-limited against everything sent
        assert_eq!(th.on_time_passing(t0 + ms(20)), Push::After(ms(85)));
        assert_eq!(th.on_time_passing(t0 + ms(30)), Push::Scheduled);
        // a change while a tick flush is pending waits for it (it carries the change)
        assert_eq!(th.on_change(t0 + ms(40)), Push::Scheduled);
        th.flushed(t0 + ms(105));
        assert_eq!(th.on_change(t0 + ms(150)), Push::After(ms(55)));
        th.flushed(t0 + ms(205));
        assert_eq!(th.on_time_passing(t0 + ms(1_000)), Push::Now);
        assert_eq!(th.on_change(t0 + ms(1_001)), Push::Now);
        // a state change goes at once even inside the interval, and counts as sent
        assert_eq!(th.on_state_change(t0 + ms(1_010)), Push::Now);
        assert_eq!(th.on_change(t0 + ms(1_020)), Push::After(ms(90)));
    }
}

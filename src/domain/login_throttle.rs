//! Login rate limiting: after a few free failures a key (a username or a client address)
//! is locked for a delay that doubles with each further failure, up to a cap; a quiet
//! spell forgets it. Pure: the caller passes the instant.

use std::collections::HashMap;

use super::EpochMs;

/// How forgiving one kind of key is.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures allowed before the first lock.
    pub free_failures: u32,
    /// First lock, ms; doubles per further failure.
    pub base_ms: i64,
    /// Longest lock, ms.
    pub max_ms: i64,
    /// A key with no failure for this long starts afresh.
    pub forget_after_ms: i64,
}

/// What is known of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    failures: u32,
    last_failure: EpochMs,
    locked_until: EpochMs,
}

/// Failures per key.
#[derive(Debug)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    entries: HashMap<String, Entry>,
}

impl LoginThrottle {
    /// An empty throttle.
    pub fn new(policy: ThrottlePolicy) -> Self {
        LoginThrottle {
            policy,
            entries: HashMap::new(),
        }
    }

    fn live(&self, key: &str, now: EpochMs) -> Option<&Entry> {
        self.entries.get(key).filter(|e| self.remembered(e, now))
    }

    /// A key is forgotten `forget_after_ms` after its last failure or the end of its lock,
    /// whichever is later (so a long lock does not end with a clean slate).
    fn remembered(&self, e: &Entry, now: EpochMs) -> bool {
        now - e.last_failure.max(e.locked_until) < self.policy.forget_after_ms
    }

    /// `Err(ms)` while `key` is locked: how long until it may try again.
    pub fn check(&self, key: &str, now: EpochMs) -> Result<(), i64> {
        match self.live(key, now) {
            Some(e) if now < e.locked_until => Err(e.locked_until - now),
            _ => Ok(()),
        }
    }

    /// Records a failure; returns the lock it earned (0: none yet).
    pub fn failed(&mut self, key: &str, now: EpochMs) -> i64 {
        let failures = self.live(key, now).map_or(0, |e| e.failures) + 1;
        let p = self.policy;
        let lock = if failures > p.free_failures {
            let doublings = (failures - p.free_failures - 1).min(30);
            p.base_ms.saturating_mul(1_i64 << doublings).min(p.max_ms)
        } else {
            0
        };
        self.entries.insert(
            key.to_owned(),
            Entry {
                failures,
                last_failure: now,
                locked_until: now + lock,
            },
        );
        if self.entries.len() > 10_000 {
            self.prune(now);
        }
        lock
    }

    /// Forgets `key` (after a successful login).
    pub fn succeeded(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// What is known of `key` now (to [`LoginThrottle::restore`] it after an attempt that
    /// was counted in advance and did not fail).
    pub fn entry(&self, key: &str) -> Option<Entry> {
        self.entries.get(key).copied()
    }

    /// Puts `key` back as it was before an attempt counted in advance.
    pub fn restore(&mut self, key: &str, before: Option<Entry>) {
        match before {
            Some(e) => {
                self.entries.insert(key.to_owned(), e);
            }
            None => {
                self.entries.remove(key);
            }
        }
    }

    /// Drops keys that have been quiet long enough to be forgotten.
    pub fn prune(&mut self, now: EpochMs) {
        let policy = LoginThrottle::new(self.policy);
        self.entries.retain(|_, e| policy.remembered(e, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        free_failures: 3,
        base_ms: 1_000,
        max_ms: 5_000,
        forget_after_ms: 60_000,
    };

    #[test]
    fn locks_double_after_the_free_failures_and_cap() {
        let mut t = LoginThrottle::new(POLICY);
        // failure number → lock earned: 1-3 free, then 1 s, 2 s, 4 s, capped at 5 s.
        let expected = [0, 0, 0, 1_000, 2_000, 4_000, 5_000, 5_000];
        let mut now = 0;
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(t.check("u", now), Ok(()), "attempt {} should be allowed", i + 1);
            assert_eq!(t.failed("u", now), *want, "failure {}", i + 1);
            if *want > 0 {
                assert_eq!(t.check("u", now + want - 1), Err(1), "still locked 1 ms before");
            }
            now += want;
        }
        assert_eq!(t.check("other", now), Ok(()), "keys are independent");
    }

    #[test]
    fn success_and_quiet_time_forget_a_key() {
        let mut t = LoginThrottle::new(POLICY);
        for _ in 0..4 {
            t.failed("u", 0);
        }
        assert_eq!(t.check("u", 0), Err(1_000));
        t.succeeded("u");
        assert_eq!(t.check("u", 0), Ok(()));
        for _ in 0..3 {
            t.failed("v", 0);
        }
        // A fourth failure a minute later counts as the first of a new run.
        assert_eq!(t.failed("v", 60_000), 0);
        t.prune(200_000);
        assert!(t.entries.is_empty());
    }

    #[test]
    fn a_long_lock_is_remembered_past_its_end_and_forgiving_takes_one_back() {
        let mut t = LoginThrottle::new(POLICY);
        for _ in 0..7 {
            t.failed("u", 0);
        }
        // 7 failures: locked 5 s (the cap); remembered until 60 s after the lock ends,
        // not 60 s after the last failure.
        assert_eq!(t.check("u", 4_999), Err(1));
        assert_eq!(t.failed("u", 64_999), 5_000, "the 8th failure counts on from 7");
        assert_eq!(t.failed("v", 0), 0);
        assert_eq!(
            t.failed("v", 60_000),
            0,
            "without a lock, 60 s after the last failure it starts afresh"
        );
        let mut f = LoginThrottle::new(POLICY);
        for _ in 0..3 {
            f.failed("a", 0);
        }
        let before = f.entry("a");
        assert_eq!(f.failed("a", 1_000), 1_000, "the 4th, counted in advance, locks");
        f.restore("a", before);
        assert_eq!(f.check("a", 1_000), Ok(()), "restored: no lock");
        assert_eq!(f.failed("a", 2_000), 1_000, "and the count is 3 again");
        f.restore("b", None);
        assert_eq!(f.entry("b"), None);
    }
}

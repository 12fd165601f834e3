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

#[derive(Debug, Clone, Copy)]
struct Entry {
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
        self.entries
            .get(key)
            .filter(|e| now - e.last_failure < self.policy.forget_after_ms || now < e.locked_until)
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

    /// Drops keys that have been quiet long enough to be forgotten.
    pub fn prune(&mut self, now: EpochMs) {
        let forget = self.policy.forget_after_ms;
        self.entries
            .retain(|_, e| now - e.last_failure < forget || now < e.locked_until);
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
}

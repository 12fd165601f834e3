//! The wall clock, injectable: tests drive time by hand instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::domain::EpochMs;

/// A source of wall-clock time in epoch milliseconds.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A clock that moves only when told (tests).
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock at `start`.
    pub fn manual(start: EpochMs) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(start)))
    }

    /// Now, in ms since the epoch.
    pub fn now_ms(&self) -> EpochMs {
        match self {
            Clock::System => chrono::Utc::now().timestamp_millis(),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward (no effect on the system clock).
    pub fn advance(&self, ms: i64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(ms, Ordering::SeqCst);
        }
    }

    /// Sets a manual clock (no effect on the system clock).
    pub fn set(&self, at: EpochMs) {
        if let Clock::Manual(t) = self {
            t.store(at, Ordering::SeqCst);
        }
    }
}

//! The feature flags in force: read lock-free on hot paths, changed by admins.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::FlagSettings;
use crate::domain::flags::Flag;

/// Current flag values.
#[derive(Debug)]
pub struct FeatureFlags {
    values: [AtomicBool; Flag::ALL.len()],
}

impl FeatureFlags {
    /// Flags as configured, then with stored admin changes applied.
    pub fn new(configured: &FlagSettings, changes: &[(String, bool)]) -> Self {
        let flags = FeatureFlags {
            values: Flag::ALL.map(|f| AtomicBool::new(configured.get(f))),
        };
        for (name, on) in changes {
            match Flag::parse(name) {
                Some(f) => {
                    flags.set(f, *on);
                }
                None => tracing::warn!(flag = %name, "ignoring a stored change of an unknown flag"),
            }
        }
        flags
    }

    /// All flags on as in the default configuration.
    pub fn defaults() -> Self {
        Self::new(&FlagSettings::default(), &[])
    }

    /// Whether `flag` is on.
    pub fn get(&self, flag: Flag) -> bool {
        self.values[flag.index()].load(Ordering::Relaxed)
    }

    /// Sets `flag`; returns the old value.
    pub fn set(&self, flag: Flag, on: bool) -> bool {
        self.values[flag.index()].swap(on, Ordering::Relaxed)
    }

    /// Every flag and its value.
    pub fn all(&self) -> Vec<(Flag, bool)> {
        Flag::ALL.into_iter().map(|f| (f, self.get(f))).collect()
    }
}

//! `[analytics]`: the start-up period of the six big losses and how the trend warning
//! judges machines.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::domain::production::trend::TrendSettings;

/// `[analytics]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsSettings {
    /// Rejects made this long after a changeover ends are start-up rejects.
    #[serde(with = "humantime_serde")]
    pub startup_period: Duration,
    /// The trend warning's recent window, weighted by day.
    #[serde(with = "humantime_serde")]
    pub trend_window: Duration,
    /// A day this old weighs half as much in the recent window.
    #[serde(with = "humantime_serde")]
    pub trend_half_life: Duration,
    /// The machine's own baseline: the stretch before the recent window.
    #[serde(with = "humantime_serde")]
    pub trend_baseline: Duration,
    /// At risk when the weighted MTBF is below this share of the baseline MTBF …
    pub trend_ratio: f64,
    /// … and the recent window holds at least this many failures.
    pub trend_min_failures: u32,
    /// How often the trend warnings on machine snapshots are recomputed.
    #[serde(with = "humantime_serde")]
    pub trend_refresh: Duration,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        let t = TrendSettings::default();
        let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
        AnalyticsSettings {
            startup_period: Duration::from_secs(600),
            trend_window: ms(t.window_ms),
            trend_half_life: ms(t.half_life_ms),
            trend_baseline: ms(t.baseline_ms),
            trend_ratio: t.ratio,
            trend_min_failures: t.min_failures,
            trend_refresh: Duration::from_secs(300),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl AnalyticsSettings {
    /// The start-up period, ms.
    pub fn startup_period_ms(&self) -> i64 {
        ms(self.startup_period)
    }

    /// The trend warning's settings.
    pub fn trend(&self) -> TrendSettings {
        TrendSettings {
            window_ms: ms(self.trend_window),
            baseline_ms: ms(self.trend_baseline),
            half_life_ms: ms(self.trend_half_life),
            ratio: self.trend_ratio,
            min_failures: self.trend_min_failures,
        }
    }

    pub(super) fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let err = |key: &str, reason: &str| Err(ConfigError::new(file, format!("analytics.{key}"), reason));
        const YEAR: Duration = Duration::from_secs(366 * 24 * 3600);
        if self.startup_period > Duration::from_secs(24 * 3600) {
            return err("startup_period", "must be at most 24h (0 turns start-up rejects off)");
        }
        for (key, d) in [
            ("trend_window", self.trend_window),
            ("trend_half_life", self.trend_half_life),
            ("trend_baseline", self.trend_baseline),
        ] {
            if d < Duration::from_secs(3600) || d > YEAR {
                return err(key, "must be between 1h and 366d");
            }
        }
        if !(self.trend_ratio > 0.0 && self.trend_ratio <= 1.0) {
            return err("trend_ratio", "must be above 0 and at most 1");
        }
        if self.trend_min_failures == 0 {
            return err("trend_min_failures", "must be at least 1");
        }
        if self.trend_refresh < Duration::from_secs(1) {
            return err("trend_refresh", "must be at least 1s");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(AnalyticsSettings::default().validate("f").is_ok());
        assert_eq!(AnalyticsSettings::default().trend(), TrendSettings::default());
        let with = |f: fn(&mut AnalyticsSettings)| {
            let mut s = AnalyticsSettings::default();
            f(&mut s);
            s.validate("f").err().map(|e| e.key)
        };
        type Change = fn(&mut AnalyticsSettings);
        let table: [(Change, &str); 6] = [
            (
                |s| s.startup_period = Duration::from_secs(90_000),
                "analytics.startup_period",
            ),
            (|s| s.trend_window = Duration::from_secs(60), "analytics.trend_window"),
            (|s| s.trend_half_life = Duration::ZERO, "analytics.trend_half_life"),
            (|s| s.trend_ratio = 1.5, "analytics.trend_ratio"),
            (|s| s.trend_min_failures = 0, "analytics.trend_min_failures"),
            (|s| s.trend_refresh = Duration::ZERO, "analytics.trend_refresh"),
        ];
        for (change, key) in table {
            assert_eq!(with(change).as_deref(), Some(key));
        }
    }
}

//! `[redis]`: the channel replicas share their live state through (docs/cluster.md).
//! Optional: without it each replica shows live only the lines it runs.

use serde::Deserialize;

use super::ConfigError;

/// `[redis]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// `redis://host:port[/db]`; unset: no Redis.
    pub url: Option<String>,
    /// Prefix of the pub/sub channel names, so several plants can share one Redis.
    pub channel: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings {
            url: None,
            channel: "ms5".to_owned(),
        }
    }
}

impl RedisSettings {
    pub(super) fn validate(&self, file: &str, cluster: bool) -> Result<(), ConfigError> {
        let err = |key: &str, reason: &str| Err(ConfigError::new(file, key, reason));
        let Some(url) = &self.url else {
            return Ok(());
        };
        if !cluster {
            return err(
                "redis.url",
                "Redis carries live state between replicas: set cluster.enabled = true (one node needs no Redis)",
            );
        }
        if !url.starts_with("redis://") {
            return err("redis.url", "must be a redis://host:port URL");
        }
        let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if self.channel.is_empty() || self.channel.len() > 100 || !self.channel.chars().all(fits) {
            return err("redis.channel", "must be 1 to 100 letters, digits, '-', '_' or '.'");
        }
        Ok(())
    }
}

//! `[cluster]`: running as one of several replicas on one PostgreSQL (docs/cluster.md).
//! Off by default: a lone MS5 owns every line without leases.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// `[cluster]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    /// Share the plant with other replicas through shard leases in the store.
    pub enabled: bool,
    /// This replica's name, unique among the replicas; default: the host name and the
    /// HTTP port (`host:8080`).
    pub replica: Option<String>,
    /// How long a shard lease lasts unless renewed (it is renewed every quarter of it). A
    /// replica that dies is taken over after at most this plus one renewal round.
    #[serde(with = "humantime_serde")]
    pub lease_ttl: Duration,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            enabled: false,
            replica: None,
            lease_ttl: Duration::from_secs(15),
        }
    }
}

/// Longest replica name.
const MAX_REPLICA: usize = 100;

impl ClusterSettings {
    pub(super) fn validate(&self, file: &str, store_url: &str) -> Result<(), ConfigError> {
        let err = |key: &str, reason: &str| Err(ConfigError::new(file, key, reason));
        if !self.enabled {
            return Ok(());
        }
        if !crate::store::is_postgres(store_url) {
            return err(
                "cluster.enabled",
                "replicas share one PostgreSQL: set store.url = \"postgres://…\" (SQLite is for one node)",
            );
        }
        if self.lease_ttl < Duration::from_secs(3) || self.lease_ttl > Duration::from_secs(300) {
            return err("cluster.lease_ttl", "must be between 3s and 5m");
        }
        if let Some(name) = &self.replica {
            let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
            if name.is_empty() || name.len() > MAX_REPLICA || !name.chars().all(fits) {
                return err(
                    "cluster.replica",
                    "must be 1 to 100 letters, digits, '-', '_', '.' or ':'",
                );
            }
        }
        Ok(())
    }

    /// This replica's name: `replica`, or the host name and `port`.
    pub fn replica_name(&self, port: u16) -> String {
        if let Some(name) = &self.replica {
            return name.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "ms5".to_owned());
        format!("{host}:{port}")
    }
}

//! MS5: a real-time factory floor dashboard.
//!
//! The flow, in five lines:
//! 1. `plc/`: sources (the simulator, HTTP ingest) produce tag updates; the router maps
//!    each tag to a machine signal.
//! 2. `actors/machine.rs`: a machine actor turns samples into state, counts, downtime and
//!    rolling OEE with the pure rules of `domain/`.
//! 3. `actors/line.rs`: line actors roll machines up; the hub fans changes out.
//! 4. `http/`: WebSocket sessions push changes; REST reads snapshots and history.
//! 5. `store/`: the telemetry writer batches history into SQLite.

pub mod actors;
pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod flags;
pub mod http;
pub mod metrics;
pub mod plc;
pub mod startup;
pub mod store;

#[cfg(test)]
pub(crate) mod test_support;

use config::{Config, LogFormat};

/// Starts logging as configured. Safe to call more than once (later calls do nothing).
pub fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&config.settings.log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match config.settings.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

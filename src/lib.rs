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
pub mod cluster;
pub mod config;
pub mod domain;
pub mod flags;
pub mod forward;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod plc;
pub mod startup;
pub mod store;
pub mod systemd;

#[cfg(test)]
pub(crate) mod test_support;

pub use logging::init_logging;

//! What only PostgreSQL does: bulk COPY of raw samples, day partitions of the telemetry
//! tables, and TimescaleDB when the server has it.

pub mod copy;
pub(crate) mod partitions;
pub(crate) mod timescale;

pub use timescale::Layout;

//! Pure domain logic: how tag values become machine state, counts, downtime and OEE.
//!
//! Nothing here does IO, reads a clock or knows about actors: every function takes the
//! instant it reasons about, so the live path (actors) and the history path (reports
//! recomputed from the store) run the very same code.

pub mod access;
pub mod andon;
pub mod andon_assign;
pub mod bucket_ring;
pub mod cluster;
pub mod counter;
pub mod downtime;
pub mod downtime_split;
pub mod flags;
pub mod forward;
pub mod forward_tables;
pub mod history;
pub mod idempotency;
pub mod login_throttle;
pub mod machine;
pub mod machine_state;
pub mod merge_patch;
pub mod oee;
pub mod page;
pub mod plant;
pub mod production;
pub mod shift;
pub mod snapshot;
pub mod tag;
pub mod tally;
pub mod throttle;
pub mod window;
pub mod wire_doc;

/// Milliseconds since the Unix epoch (UTC): the one time type of the domain.
pub type EpochMs = i64;

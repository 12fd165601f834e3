//! Several `ms5 serve` replicas on one PostgreSQL: shard leases decide which replica owns
//! each line (with its machines and tickets). See docs/cluster.md.

pub mod bus;
pub mod lease_keeper;
pub mod ownership;
pub mod relay;
pub mod replica;

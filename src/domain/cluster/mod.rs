//! Running as several replicas: which shard an entity belongs to, and which shards a
//! replica claims, keeps or hands over (the lease table itself is in the store).

pub mod bus_message;
pub mod lease_plan;
pub mod shard;

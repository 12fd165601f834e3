//! Shards: the unit of ownership between replicas. A line, its machines and its Andon
//! tickets hash to the line's shard, so one replica owns a line whole (a line rolls up
//! its machines in memory).

/// How many shards there are (fixed: every replica must agree).
pub const SHARDS: u32 = 256;

/// A shard number, `0..SHARDS`.
pub type Shard = u32;

/// The shard of the line `line_id` (and of everything on it). FNV-1a, which, unlike the
/// standard library's hasher, is the same in every build and on every platform.
pub fn shard_of(line_id: &str) -> Shard {
    let mut h: u32 = 0x811c_9dc5;
    for b in line_id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % SHARDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_fixed_values_of_the_line_id() {
        // FNV-1a 32 by hand: "" is the offset basis; "a" is (0x811c9dc5 ^ 0x61) * 0x01000193.
        for (line, shard) in [("", 0x811c_9dc5 % SHARDS), ("a", 0xe40c_292c % SHARDS)] {
            assert_eq!(shard_of(line), shard, "{line:?}");
        }
        // 20 lines spread over many shards, not a few.
        let mut shards: Vec<Shard> = (1..=20).map(|i| shard_of(&format!("line-{i}"))).collect();
        shards.sort_unstable();
        shards.dedup();
        assert!(shards.len() >= 18, "{shards:?}");
    }
}

//! One lease round of a replica, decided from the lease table as read: which shards to
//! claim and which to hand over, so that the shards in use spread evenly over the live
//! replicas (each holds at most its fair share, `ceil(shards in use / replicas)`).

use super::shard::Shard;
use crate::domain::EpochMs;

/// A row of the lease table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The shard.
    pub shard: Shard,
    /// The replica holding it (`None`: released).
    pub owner: Option<String>,
    /// Bumped at each change of owner: the fencing token every owner write carries.
    pub epoch: i64,
    /// Until when the owner holds it unless it renews.
    pub expires_ms: EpochMs,
}

impl Lease {
    /// Whether `replica` holds it at `now`.
    pub fn held_by(&self, replica: &str, now: EpochMs) -> bool {
        self.owner.as_deref() == Some(replica) && self.expires_ms > now
    }

    /// Whether anyone may claim it at `now` (released or expired).
    pub fn free(&self, now: EpochMs) -> bool {
        self.owner.is_none() || self.expires_ms <= now
    }
}

/// What a replica does in one round (besides renewing what it holds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Free shards to claim.
    pub claim: Vec<Shard>,
    /// Held shards to hand over (beyond the fair share).
    pub release: Vec<Shard>,
}

/// Most shards one of `replicas` live replicas holds when `in_use` shards are in use.
pub fn fair_share(in_use: usize, replicas: usize) -> usize {
    in_use.div_ceil(replicas.max(1))
}

/// `me`'s round at `now`: `in_use` are the shards that have lines in this plant, `leases`
/// the table as read, `replicas` how many replicas are alive (`me` included). Free shards
/// are claimed up to the fair share, in an order of `me`'s own (so that replicas starting
/// together do not all try the same shards first); shards beyond it are handed over, the
/// highest first.
pub fn round(me: &str, in_use: &[Shard], leases: &[Lease], replicas: usize, now: EpochMs) -> Round {
    let lease = |s: Shard| leases.iter().find(|l| l.shard == s);
    let mine: Vec<Shard> = in_use
        .iter()
        .copied()
        .filter(|&s| lease(s).is_some_and(|l| l.held_by(me, now)))
        .collect();
    let share = fair_share(in_use.len(), replicas);
    if mine.len() > share {
        let mut release = mine;
        release.sort_unstable_by(|a, b| b.cmp(a));
        release.truncate(release.len() - share);
        return Round {
            claim: Vec::new(),
            release,
        };
    }
    // A shard missing from the table is free (the table is seeded with every shard).
    let mut free: Vec<Shard> = in_use
        .iter()
        .copied()
        .filter(|&s| lease(s).is_none_or(|l| l.free(now)))
        .collect();
    let seed = super::shard::shard_of(me);
    free.sort_unstable_by_key(|&s| ((s ^ seed).wrapping_mul(0x9E37_79B1), s));
    free.truncate(share - mine.len());
    Round {
        claim: free,
        release: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(shard: Shard, owner: Option<&str>, expires_ms: EpochMs) -> Lease {
        Lease {
            shard,
            owner: owner.map(str::to_owned),
            epoch: 1,
            expires_ms,
        }
    }

    fn sorted(mut v: Vec<Shard>) -> Vec<Shard> {
        v.sort_unstable();
        v
    }

    #[test]
    fn fair_shares_by_hand() {
        // (shards in use, replicas, share)
        for (in_use, replicas, share) in [(20, 1, 20), (20, 2, 10), (20, 3, 7), (1, 3, 1), (0, 2, 0), (5, 0, 5)] {
            assert_eq!(fair_share(in_use, replicas), share, "{in_use} over {replicas}");
        }
    }

    #[test]
    fn a_lone_replica_claims_every_free_or_expired_shard_in_use() {
        let in_use = [3, 7, 9, 12];
        let now = 1_000;
        let leases = [
            lease(3, None, 0),
            lease(7, Some("b"), 999),    // b's lease ran out a millisecond ago
            lease(9, Some("b"), 1_000),  // expiring now is expired
            lease(12, Some("a"), 5_000), // already mine
            lease(40, None, 0),          // not in use
        ];
        let r = round("a", &in_use, &leases, 1, now);
        assert_eq!(sorted(r.claim), vec![3, 7, 9]);
        assert!(r.release.is_empty());
    }

    #[test]
    fn a_live_lease_of_another_replica_is_never_claimed() {
        let leases = [lease(3, Some("b"), 1_001), lease(7, None, 0)];
        let r = round("a", &[3, 7], &leases, 2, 1_000);
        assert_eq!(r.claim, vec![7]);
    }

    #[test]
    fn a_replica_joining_gets_shards_handed_over_down_to_the_fair_share() {
        // a holds all 20; b joins: a hands over its 10 highest, b claims them as they free.
        let in_use: Vec<Shard> = (0..20).collect();
        let now = 1_000;
        let all_a: Vec<Lease> = in_use.iter().map(|&s| lease(s, Some("a"), 9_000)).collect();
        let a = round("a", &in_use, &all_a, 2, now);
        assert_eq!(sorted(a.release), (10..20).collect::<Vec<_>>());
        assert!(a.claim.is_empty());
        assert!(round("b", &in_use, &all_a, 2, now).claim.is_empty(), "nothing free yet");
        let handed: Vec<Lease> = in_use
            .iter()
            .map(|&s| {
                if s < 10 {
                    lease(s, Some("a"), 9_000)
                } else {
                    lease(s, None, 0)
                }
            })
            .collect();
        assert_eq!(
            sorted(round("b", &in_use, &handed, 2, now).claim),
            (10..20).collect::<Vec<_>>()
        );
        assert_eq!(
            round("a", &in_use, &handed, 2, now),
            Round::default(),
            "a is at its share"
        );
    }

    #[test]
    fn replicas_starting_together_try_different_shards_first() {
        let in_use: Vec<Shard> = (0..20).collect();
        let (a, b) = (round("ms5-a", &in_use, &[], 2, 0), round("ms5-b", &in_use, &[], 2, 0));
        assert_eq!((a.claim.len(), b.claim.len()), (10, 10));
        let overlap = a.claim.iter().filter(|s| b.claim.contains(s)).count();
        assert!(overlap < 10, "{a:?} {b:?}");
    }
}

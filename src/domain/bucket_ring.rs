//! The bucket storage of the rolling OEE windows: a [`Tally`] per 15-second bucket, kept in
//! 32-bit fields (half the memory of the 64-bit [`Tally`]: a 200-machine plant holds
//! 384,000 buckets). A bucket's times are at most a few minutes of milliseconds and its
//! counts a few parts, far inside 32 bits; a bucket whose figures do not fit (a counter
//! burst, a long span landing late) keeps its exact tally on the side, so nothing is lost.

use super::tally::Tally;

/// One bucket in 32-bit fields, in [`Tally`]'s field order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Narrow([i32; 8]);

impl Narrow {
    fn of(t: &Tally) -> Option<Narrow> {
        let f = |v: i64| i32::try_from(v).ok();
        Some(Narrow([
            f(t.run_ms)?,
            f(t.down_ms)?,
            f(t.micro_stop_ms)?,
            f(t.planned_stop_ms)?,
            f(t.comms_lost_ms)?,
            f(t.total)?,
            f(t.good)?,
            f(t.ideal_ms)?,
        ]))
    }

    fn tally(self) -> Tally {
        let [
            run_ms,
            down_ms,
            micro_stop_ms,
            planned_stop_ms,
            comms_lost_ms,
            total,
            good,
            ideal_ms,
        ] = self.0.map(i64::from);
        Tally {
            run_ms,
            down_ms,
            micro_stop_ms,
            planned_stop_ms,
            comms_lost_ms,
            total,
            good,
            ideal_ms,
        }
    }
}

/// A fixed number of buckets, each a [`Tally`], all zero at first.
#[derive(Debug, Clone)]
pub struct BucketRing {
    narrow: Box<[Narrow]>,
    /// Buckets whose tally does not fit 32-bit fields (almost always none).
    wide: Vec<(usize, Tally)>,
}

impl BucketRing {
    /// `len` zero buckets.
    pub fn new(len: usize) -> BucketRing {
        BucketRing {
            narrow: vec![Narrow::default(); len].into_boxed_slice(),
            wide: Vec::new(),
        }
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.narrow.len()
    }

    /// Whether it has no buckets.
    pub fn is_empty(&self) -> bool {
        self.narrow.is_empty()
    }

    /// Bucket `idx`.
    pub fn get(&self, idx: usize) -> Tally {
        match self.wide.iter().find(|(i, _)| *i == idx) {
            Some((_, t)) => *t,
            None => self.narrow[idx].tally(),
        }
    }

    /// Sets bucket `idx` to `t`.
    pub fn set(&mut self, idx: usize, t: Tally) {
        self.wide.retain(|(i, _)| *i != idx);
        match Narrow::of(&t) {
            Some(n) => self.narrow[idx] = n,
            None => {
                self.narrow[idx] = Narrow::default();
                self.wide.push((idx, t));
            }
        }
    }

    /// Adds `t` to bucket `idx`.
    pub fn add(&mut self, idx: usize, t: Tally) {
        let sum = self.get(idx) + t;
        self.set(idx, sum);
    }

    /// Sets every bucket to zero.
    pub fn clear(&mut self) {
        self.narrow.fill(Narrow::default());
        self.wide.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_their_exact_tally_whether_or_not_it_fits_32_bits() {
        let small = Tally {
            run_ms: 15_000,
            total: 12,
            good: 11,
            ideal_ms: 12_000,
            ..Tally::default()
        };
        let big = Tally {
            total: 3_000_000_000,
            good: 3_000_000_000,
            ideal_ms: 3_000_000_000_000,
            ..Tally::default()
        };
        let below = Tally {
            good: -2_147_483_649,
            ..Tally::default()
        };
        let mut ring = BucketRing::new(4);
        ring.set(0, small);
        ring.set(1, big);
        ring.set(2, below);
        assert_eq!(
            (ring.get(0), ring.get(1), ring.get(2), ring.get(3)),
            (small, big, below, Tally::default())
        );
        // a wide bucket back under 32 bits is narrow again, and still exact
        ring.add(1, -big + small);
        assert_eq!(ring.get(1), small);
        assert!(ring.wide.len() == 1, "only bucket 2 is still wide: {:?}", ring.wide);
        ring.add(0, big);
        assert_eq!(ring.get(0), small + big);
        ring.clear();
        assert_eq!(
            (0..4).map(|i| ring.get(i)).collect::<Vec<_>>(),
            vec![Tally::default(); 4]
        );
        assert_eq!(ring.len(), 4);
    }
}

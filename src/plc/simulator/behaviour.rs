//! What a simulated machine does by itself: how long each cycle takes, which parts it
//! rejects, and when it stops of its own accord (faults, micro-stops, changeovers).
//!
//! Every machine draws from its own seeded generator, one draw per cycle and one per part
//! made, so what a machine draws does not depend on when its neighbours let it work: the
//! line's history is a function of the seed and the start instant alone.

use std::collections::VecDeque;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A stop a machine makes by itself (not starved, not blocked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnStop {
    /// A fault, with the PLC fault code it reports (0 when the machine has none).
    Fault(i64),
    /// A short stop: idle for seconds (a jammed part cleared, a sensor re-triggered).
    MicroStop,
    /// A product changeover (the line's next product).
    Changeover,
}

/// How often and how long a machine stops by itself, and how fast it runs.
///
/// Stops are drawn per part with the chance `cycle / every`, so a machine stops as often
/// per running hour whatever its speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Each cycle takes the ideal cycle time × a uniform draw from 1 to 1 + this: the
    /// machine's own speed loss (it never runs faster than ideal).
    pub speed_loss: f64,
    /// Chance that a part is a reject.
    pub reject: f64,
    /// Mean running time between micro-stops, ms (0: none).
    pub micro_stop_every_ms: i64,
    /// Shortest and longest micro-stop, ms.
    pub micro_stop_ms: (i64, i64),
    /// Mean running time between faults, ms (0: none).
    pub fault_every_ms: i64,
    /// Shortest and longest fault, ms.
    pub fault_ms: (i64, i64),
    /// Mean running time between changeovers, ms (0: none); only a line's product leader
    /// changes over (see [`super::line_flow`]).
    pub changeover_every_ms: i64,
    /// Shortest and longest changeover, ms.
    pub changeover_ms: (i64, i64),
}

const MIN: i64 = 60_000;

impl Rates {
    /// The shipped plant: machines around 90 % available and 90 % performing on their own,
    /// a micro-stop every few minutes and a fault every couple of hours.
    pub const DEMO: Rates = Rates {
        speed_loss: 0.10,
        reject: 0.02,
        micro_stop_every_ms: 6 * MIN,
        micro_stop_ms: (5_000, 60_000),
        fault_every_ms: 150 * MIN,
        fault_ms: (3 * MIN, 15 * MIN),
        changeover_every_ms: 8 * 60 * MIN,
        changeover_ms: (10 * MIN, 20 * MIN),
    };

    /// A machine that runs at exactly its ideal cycle time, makes no rejects and never
    /// stops by itself: the baseline for stops given by hand ([`Behaviour::stop_after`]).
    pub const STEADY: Rates = Rates {
        speed_loss: 0.0,
        reject: 0.0,
        micro_stop_every_ms: 0,
        micro_stop_ms: (0, 0),
        fault_every_ms: 0,
        fault_ms: (0, 0),
        changeover_every_ms: 0,
        changeover_ms: (0, 0),
    };
}

/// What came of a part: good or not, and the stop the machine makes after it, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartOutcome {
    /// The part is good.
    pub good: bool,
    /// The stop the machine makes now, and for how long (ms).
    pub stop: Option<(OwnStop, i64)>,
}

/// One machine's own behaviour: its rates, its generator and any stops given by hand.
#[derive(Debug, Clone)]
pub struct Behaviour {
    rng: ChaCha8Rng,
    rates: Rates,
    fault_codes: Vec<i64>,
    changes_over: bool,
    parts: u64,
    /// Stops given by hand: after which part, which stop, how long (ms); in part order.
    planned: VecDeque<(u64, OwnStop, i64)>,
}

impl Behaviour {
    /// A machine stopping at `rates`, drawing from `seed`; its faults report one of
    /// `fault_codes`, and it changes over only when `changes_over`.
    pub fn new(rates: Rates, seed: u64, fault_codes: Vec<i64>, changes_over: bool) -> Self {
        Behaviour {
            rng: ChaCha8Rng::seed_from_u64(seed),
            rates,
            fault_codes,
            changes_over,
            parts: 0,
            planned: VecDeque::new(),
        }
    }

    /// A machine at exactly its ideal speed that never stops by itself.
    pub fn steady() -> Self {
        Behaviour::new(Rates::STEADY, 0, Vec::new(), false)
    }

    /// Also stops with `stop` for `ms` right after its `part`-th part (counting from 1).
    pub fn stop_after(mut self, part: u64, stop: OwnStop, ms: i64) -> Self {
        let at = self.planned.partition_point(|(p, _, _)| *p <= part);
        self.planned.insert(at, (part, stop, ms));
        self
    }

    /// The length of the next cycle of a machine whose ideal cycle time is `ideal_ms`.
    pub fn cycle_ms(&mut self, ideal_ms: i64) -> i64 {
        if self.rates.speed_loss <= 0.0 {
            return ideal_ms;
        }
        let factor = self.rng.random_range(1.0..1.0 + self.rates.speed_loss);
        (ideal_ms as f64 * factor).round() as i64
    }

    /// A part is done after a cycle of `cycle_ms`: is it good, and does the machine stop?
    pub fn after_part(&mut self, cycle_ms: i64) -> PartOutcome {
        self.parts += 1;
        let r = self.rates;
        let good = !(r.reject > 0.0 && self.rng.random_bool(r.reject.min(1.0)));
        if self.planned.front().is_some_and(|(p, _, _)| *p == self.parts) {
            let stop = self.planned.pop_front().map(|(_, stop, ms)| (stop, ms));
            return PartOutcome { good, stop };
        }
        let chance = |every: i64| {
            if every > 0 {
                (cycle_ms as f64 / every as f64).min(1.0)
            } else {
                0.0
            }
        };
        let (fault, micro) = (chance(r.fault_every_ms), chance(r.micro_stop_every_ms));
        let changeover = if self.changes_over {
            chance(r.changeover_every_ms)
        } else {
            0.0
        };
        if fault + micro + changeover <= 0.0 {
            return PartOutcome { good, stop: None };
        }
        let roll: f64 = self.rng.random();
        let stop = if roll < fault {
            let code = match self.fault_codes.len() {
                0 => 0,
                n => self.fault_codes[self.rng.random_range(0..n)],
            };
            Some((OwnStop::Fault(code), self.duration(r.fault_ms)))
        } else if roll < fault + changeover {
            Some((OwnStop::Changeover, self.duration(r.changeover_ms)))
        } else if roll < fault + changeover + micro {
            Some((OwnStop::MicroStop, self.duration(r.micro_stop_ms)))
        } else {
            None
        };
        PartOutcome { good, stop }
    }

    fn duration(&mut self, (shortest, longest): (i64, i64)) -> i64 {
        if longest > shortest {
            self.rng.random_range(shortest..longest)
        } else {
            shortest
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_machine_runs_at_its_ideal_and_stops_only_where_told() {
        let mut b =
            Behaviour::steady()
                .stop_after(3, OwnStop::Fault(7), 60_000)
                .stop_after(1, OwnStop::MicroStop, 5_000);
        let outcomes: Vec<_> = (0..4).map(|_| (b.cycle_ms(900), b.after_part(900))).collect();
        let stop = |s| PartOutcome { good: true, stop: s };
        assert_eq!(
            outcomes,
            [
                (900, stop(Some((OwnStop::MicroStop, 5_000)))),
                (900, stop(None)),
                (900, stop(Some((OwnStop::Fault(7), 60_000)))),
                (900, stop(None)),
            ]
        );
    }

    #[test]
    fn demo_rates_give_stops_in_proportion_to_running_time() {
        // 100 h of 1 s cycles = 360,000 parts. Expected: faults every 150 min → 40,
        // micro-stops every 6 min → 1,000, changeovers every 8 h → 12.5, rejects 2 % →
        // 7,200; cycles 1.00–1.10 s, mean 1.05 s.
        let mut b = Behaviour::new(Rates::DEMO, 3, vec![201, 202], true);
        let (mut faults, mut micro, mut changeovers, mut rejects, mut cycle_sum) = (0, 0, 0, 0, 0);
        for _ in 0..360_000 {
            let cycle = b.cycle_ms(1000);
            assert!((1000..=1100).contains(&cycle), "{cycle}");
            cycle_sum += cycle;
            let out = b.after_part(1000);
            rejects += i32::from(!out.good);
            match out.stop {
                Some((OwnStop::Fault(code), ms)) => {
                    assert!([201, 202].contains(&code) && (3 * MIN..15 * MIN).contains(&ms));
                    faults += 1;
                }
                Some((OwnStop::MicroStop, ms)) => {
                    assert!((5_000..60_000).contains(&ms));
                    micro += 1;
                }
                Some((OwnStop::Changeover, _)) => changeovers += 1,
                None => {}
            }
        }
        assert!((25..=55).contains(&faults), "faults {faults}");
        assert!((900..=1100).contains(&micro), "micro-stops {micro}");
        assert!((5..=22).contains(&changeovers), "changeovers {changeovers}");
        assert!((6_800..=7_600).contains(&rejects), "rejects {rejects}");
        assert!((1_045..=1_055).contains(&(cycle_sum / 360_000)), "mean cycle");
        let mut follower = Behaviour::new(Rates::DEMO, 3, vec![], false);
        let changes = (0..360_000)
            .filter(|_| matches!(follower.after_part(1000).stop, Some((OwnStop::Changeover, _))))
            .count();
        assert_eq!(changes, 0, "only the product leader changes over");
    }
}

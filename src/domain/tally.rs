//! The additive inputs of OEE over a span of time.
//!
//! A [`Tally`] can be added and subtracted, which is what lets rolling windows keep
//! running sums (O(1) per update) and lets a past window be rebuilt from stored events.

use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use super::machine_state::{MachineState, TimeClass};

/// Time and counts over some span. Times in milliseconds; counts in parts.
///
/// Counts are signed so that a correction (a reject reported after its part was counted
/// as good) can land in a later bucket than the part itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Time running.
    pub run_ms: i64,
    /// Unplanned stop time that is an availability loss (stops ≥ the micro-stop threshold,
    /// and stops still open).
    pub down_ms: i64,
    /// Stops shorter than the micro-stop threshold: a performance loss, counted as run time.
    pub micro_stop_ms: i64,
    /// Breaks, time outside shifts and planned-stop states: outside planned production time.
    pub planned_stop_ms: i64,
    /// Planned time with no data from the machine (state `unknown`: communication lost).
    /// Already inside `down_ms`: it says how much of the availability loss is not known to
    /// be a stop, and is not added to planned production time again.
    pub comms_lost_ms: i64,
    /// Parts made.
    pub total: i64,
    /// Good parts.
    pub good: i64,
    /// Σ ideal cycle time × parts, for the product each part was made as.
    pub ideal_ms: i64,
}

impl Tally {
    /// Planned production time: everything but planned stops.
    pub fn planned_production_ms(&self) -> i64 {
        self.run_ms + self.down_ms + self.micro_stop_ms
    }

    /// Rejected parts.
    pub fn reject(&self) -> i64 {
        self.total - self.good
    }

    /// The tally of `ms` milliseconds spent in `state`.
    ///
    /// `planned` says whether the shift calendar plans production at that time (outside a
    /// shift or in a break every state is a planned stop); `micro_stop` says whether the
    /// stop this time belongs to ended below the micro-stop threshold. Time without data
    /// (`unknown`) is never a micro-stop: micro-stop time counts as operating time, and
    /// nobody knows the machine ran.
    pub fn of_time(state: MachineState, planned: bool, micro_stop: bool, ms: i64) -> Tally {
        let mut t = Tally::default();
        let no_data = state == MachineState::Unknown;
        match (planned, state.time_class()) {
            (false, _) | (true, TimeClass::Planned) => t.planned_stop_ms = ms,
            (true, TimeClass::Run) => t.run_ms = ms,
            (true, TimeClass::Stop) if micro_stop && !no_data => t.micro_stop_ms = ms,
            (true, TimeClass::Stop) => {
                t.down_ms = ms;
                if no_data {
                    t.comms_lost_ms = ms;
                }
            }
        }
        t
    }

    /// The tally of parts counted.
    pub fn of_parts(total: i64, good: i64, ideal_ms: i64) -> Tally {
        Tally {
            total,
            good,
            ideal_ms,
            ..Tally::default()
        }
    }

    /// Moves `ms` of availability-loss time to micro-stop time (a stop ended short).
    pub fn reclassified_as_micro_stop(ms: i64) -> Tally {
        Tally {
            down_ms: -ms,
            micro_stop_ms: ms,
            ..Tally::default()
        }
    }

    /// Line roll-up: times from the constraint machine, counts from the output machine.
    pub fn line(constraint: &Tally, output: &Tally) -> Tally {
        Tally {
            run_ms: constraint.run_ms,
            down_ms: constraint.down_ms,
            micro_stop_ms: constraint.micro_stop_ms,
            planned_stop_ms: constraint.planned_stop_ms,
            comms_lost_ms: constraint.comms_lost_ms,
            total: output.total,
            good: output.good,
            ideal_ms: output.ideal_ms,
        }
    }
}

macro_rules! fieldwise {
    ($trait:ident, $method:ident, $assign_trait:ident, $assign:ident, $op:tt) => {
        impl $trait for Tally {
            type Output = Tally;
            fn $method(self, o: Tally) -> Tally {
                Tally {
                    run_ms: self.run_ms $op o.run_ms,
                    down_ms: self.down_ms $op o.down_ms,
                    micro_stop_ms: self.micro_stop_ms $op o.micro_stop_ms,
                    planned_stop_ms: self.planned_stop_ms $op o.planned_stop_ms,
                    comms_lost_ms: self.comms_lost_ms $op o.comms_lost_ms,
                    total: self.total $op o.total,
                    good: self.good $op o.good,
                    ideal_ms: self.ideal_ms $op o.ideal_ms,
                }
            }
        }
        impl $assign_trait for Tally {
            fn $assign(&mut self, o: Tally) {
                *self = *self $op o;
            }
        }
    };
}
fieldwise!(Add, add, AddAssign, add_assign, +);
fieldwise!(Sub, sub, SubAssign, sub_assign, -);

impl Neg for Tally {
    type Output = Tally;
    fn neg(self) -> Tally {
        Tally::default() - self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_classified_by_calendar_state_and_micro_stop() {
        use MachineState::*;
        let table = [
            // (state, planned by calendar, micro-stop, field that gets the time, comms lost)
            (Running, true, false, "run", 0),
            (Running, false, false, "planned", 0),
            (Down, true, false, "down", 0),
            (Down, true, true, "micro", 0),
            (Down, false, false, "planned", 0),
            (Idle, true, false, "down", 0),
            (Changeover, true, false, "down", 0),
            (Unknown, true, false, "down", 1000),
            // no data is never a micro-stop, even inside a stop that ended short
            (Unknown, true, true, "down", 1000),
            // a break without data is a break
            (Unknown, false, false, "planned", 0),
            (PlannedStop, true, false, "planned", 0),
        ];
        for (state, planned, micro, field, comms_lost) in table {
            let t = Tally::of_time(state, planned, micro, 1000);
            let got = match t {
                Tally { run_ms: 1000, .. } => "run",
                Tally { down_ms: 1000, .. } => "down",
                Tally {
                    micro_stop_ms: 1000, ..
                } => "micro",
                Tally {
                    planned_stop_ms: 1000, ..
                } => "planned",
                _ => "none",
            };
            assert_eq!(got, field, "{state:?} planned={planned} micro={micro}");
            assert_eq!(t.comms_lost_ms, comms_lost, "{state:?} planned={planned} micro={micro}");
            assert_eq!(t.run_ms + t.down_ms + t.micro_stop_ms + t.planned_stop_ms, 1000);
        }
    }

    #[test]
    fn tallies_add_and_subtract_fieldwise() {
        let a = Tally::of_time(MachineState::Running, true, false, 500) + Tally::of_parts(3, 2, 3000);
        let b = Tally::of_time(MachineState::Down, true, false, 200) + Tally::of_parts(1, 1, 1000);
        let sum = a + b;
        assert_eq!(sum.run_ms, 500);
        assert_eq!(sum.down_ms, 200);
        assert_eq!((sum.total, sum.good, sum.ideal_ms), (4, 3, 4000));
        assert_eq!(sum.reject(), 1);
        assert_eq!(sum.planned_production_ms(), 700);
        assert_eq!(sum - b, a);
        assert_eq!(-a + a, Tally::default());
    }

    #[test]
    fn micro_stop_reclassification_keeps_planned_production_time() {
        let mut t = Tally::of_time(MachineState::Down, true, false, 90_000);
        t += Tally::reclassified_as_micro_stop(90_000);
        assert_eq!((t.down_ms, t.micro_stop_ms), (0, 90_000));
        assert_eq!(t.planned_production_ms(), 90_000);
    }
}

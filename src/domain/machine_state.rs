//! Machine states and how they count for OEE.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What a machine is doing, as read from its PLC tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MachineState {
    /// Producing.
    Running,
    /// Starved or blocked: able to run but not running.
    Idle,
    /// Stopped by a fault.
    Down,
    /// Stopped on purpose: planned maintenance, no order, cleaning.
    PlannedStop,
    /// Changing over to another product (an availability loss).
    Changeover,
    /// No data within `stale_after`: communication lost.
    Unknown,
}

/// How time spent in a state counts for OEE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeClass {
    /// Run time.
    Run,
    /// Unplanned stop time (availability loss, or performance loss for micro-stops).
    Stop,
    /// Planned stop: not part of planned production time.
    Planned,
}

impl MachineState {
    /// Every state, in display order.
    pub const ALL: [MachineState; 6] = [
        MachineState::Running,
        MachineState::Idle,
        MachineState::Down,
        MachineState::PlannedStop,
        MachineState::Changeover,
        MachineState::Unknown,
    ];

    /// The state's wire and config name.
    pub fn as_str(self) -> &'static str {
        match self {
            MachineState::Running => "running",
            MachineState::Idle => "idle",
            MachineState::Down => "down",
            MachineState::PlannedStop => "planned_stop",
            MachineState::Changeover => "changeover",
            MachineState::Unknown => "unknown",
        }
    }

    /// Parses a wire or config name.
    pub fn parse(name: &str) -> Option<MachineState> {
        MachineState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// How time in this state counts for OEE.
    pub fn time_class(self) -> TimeClass {
        match self {
            MachineState::Running => TimeClass::Run,
            MachineState::PlannedStop => TimeClass::Planned,
            MachineState::Idle | MachineState::Down | MachineState::Changeover | MachineState::Unknown => {
                TimeClass::Stop
            }
        }
    }

    /// True for the states that make a downtime event.
    pub fn is_unplanned_stop(self) -> bool {
        self.time_class() == TimeClass::Stop
    }
}

/// Maps a PLC state code to a state; `None` for a code the plant model does not know.
pub fn state_from_code(map: &HashMap<i64, MachineState>, code: i64) -> Option<MachineState> {
    map.get(&code).copied()
}

/// Derives the state from running/fault bits: a fault wins over running, and a
/// machine that is neither running nor faulted is idle (starved or blocked).
pub fn state_from_bits(running: bool, fault: bool) -> MachineState {
    match (running, fault) {
        (_, true) => MachineState::Down,
        (true, false) => MachineState::Running,
        (false, false) => MachineState::Idle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_map_to_states_with_fault_winning() {
        let table = [
            (false, false, MachineState::Idle),
            (true, false, MachineState::Running),
            (false, true, MachineState::Down),
            (true, true, MachineState::Down),
        ];
        for (running, fault, want) in table {
            assert_eq!(state_from_bits(running, fault), want, "running={running} fault={fault}");
        }
    }

    #[test]
    fn codes_map_through_the_plant_model_and_unknown_codes_are_none() {
        let map = HashMap::from([(1, MachineState::Running), (3, MachineState::Down)]);
        assert_eq!(state_from_code(&map, 1), Some(MachineState::Running));
        assert_eq!(state_from_code(&map, 3), Some(MachineState::Down));
        assert_eq!(state_from_code(&map, 9), None);
    }

    #[test]
    fn only_running_is_run_time_and_only_planned_stop_leaves_planned_time() {
        let table = [
            (MachineState::Running, TimeClass::Run),
            (MachineState::Idle, TimeClass::Stop),
            (MachineState::Down, TimeClass::Stop),
            (MachineState::PlannedStop, TimeClass::Planned),
            (MachineState::Changeover, TimeClass::Stop),
            (MachineState::Unknown, TimeClass::Stop),
        ];
        for (state, class) in table {
            assert_eq!(state.time_class(), class, "{state:?}");
            assert_eq!(MachineState::parse(state.as_str()), Some(state));
        }
        assert_eq!(MachineState::parse("exploded"), None);
    }
}

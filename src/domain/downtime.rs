//! Downtime events: when a machine leaves `running` for an unplanned state until it runs
//! again (or enters a planned stop).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::EpochMs;
use super::machine_state::MachineState;

/// The reason given to downtime caused by lost communication.
pub const REASON_COMMS_LOST: &str = "comms_lost";
/// The reason given when nothing better is known.
pub const REASON_UNCLASSIFIED: &str = "unclassified";
/// The reason of a machine idle for want of parts: a machine before it stopped.
pub const REASON_STARVED: &str = "starved";
/// The reason of a machine idle for want of room for its parts: a machine after it stopped.
pub const REASON_BLOCKED: &str = "blocked";

/// Why a machine is idle, as its PLC reports it through its fault code tag: a stop of this
/// machine caused by another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdleCause {
    /// Nothing to work on.
    Starved,
    /// No room for what it made.
    Blocked,
}

impl IdleCause {
    /// The downtime reason it gives.
    pub fn reason(self) -> &'static str {
        match self {
            IdleCause::Starved => REASON_STARVED,
            IdleCause::Blocked => REASON_BLOCKED,
        }
    }
}

/// The reason a stop gets when it starts or its cause changes: `down` takes the text of
/// its fault code, `idle` the cause its code names (starved, blocked).
pub fn reason_for(
    state: MachineState,
    fault_code: Option<i64>,
    fault_codes: &HashMap<i64, String>,
    idle_codes: &HashMap<i64, IdleCause>,
) -> String {
    match state {
        MachineState::Unknown => REASON_COMMS_LOST.to_owned(),
        MachineState::Changeover => "changeover".to_owned(),
        MachineState::Idle => fault_code
            .and_then(|c| idle_codes.get(&c))
            .map_or("idle", |cause| cause.reason())
            .to_owned(),
        MachineState::Down => fault_code
            .and_then(|c| fault_codes.get(&c).cloned())
            .unwrap_or_else(|| REASON_UNCLASSIFIED.to_owned()),
        MachineState::Running | MachineState::PlannedStop => REASON_UNCLASSIFIED.to_owned(),
    }
}

/// Whether a reason only says what state the machine was in, not why it stopped.
pub fn is_generic(reason: &str) -> bool {
    matches!(reason, REASON_UNCLASSIFIED | REASON_COMMS_LOST | "idle" | "changeover")
}

/// Whether a reason says the stop was caused by another machine (starved or blocked).
pub fn is_caused_elsewhere(reason: &str) -> bool {
    matches!(reason, REASON_STARVED | REASON_BLOCKED)
}

/// How much a reason says about why the machine stopped: a state only, a neighbour, or
/// the machine's own fault.
fn specificity(reason: &str) -> u8 {
    if is_generic(reason) {
        0
    } else if is_caused_elsewhere(reason) {
        1
    } else {
        2
    }
}

/// The reason a running downtime should carry when its cause may have changed: a reason
/// is not overwritten by a less specific one (comms lost during a jam is still the jam,
/// and a jam that leaves the machine starved is still the jam).
pub fn updated_reason(current: &str, new: &str) -> Option<String> {
    (current != new && specificity(new) >= specificity(current)).then(|| new.to_owned())
}

/// A stop shorter than the threshold is a micro-stop: a performance loss.
pub fn is_micro_stop(start: EpochMs, end: EpochMs, threshold_ms: i64) -> bool {
    end - start < threshold_ms
}

/// A downtime event as stored and reported.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DowntimeEvent {
    /// The machine.
    pub machine_id: String,
    /// When it started (ms since epoch).
    pub start: EpochMs,
    /// When it ended; `None` while open.
    pub end: Option<EpochMs>,
    /// Why.
    pub reason: String,
    /// Shorter than the micro-stop threshold.
    pub micro_stop: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_come_from_state_and_fault_code_map() {
        let map = HashMap::from([(101, "jam".to_owned())]);
        let idle = HashMap::from([(900, IdleCause::Starved), (901, IdleCause::Blocked)]);
        let table = [
            (MachineState::Down, Some(101), "jam"),
            (MachineState::Down, Some(999), REASON_UNCLASSIFIED),
            (MachineState::Down, None, REASON_UNCLASSIFIED),
            // an idle code means nothing to a faulted machine
            (MachineState::Down, Some(900), REASON_UNCLASSIFIED),
            (MachineState::Unknown, Some(101), REASON_COMMS_LOST),
            (MachineState::Changeover, None, "changeover"),
            (MachineState::Idle, None, "idle"),
            (MachineState::Idle, Some(900), "starved"),
            (MachineState::Idle, Some(901), "blocked"),
            // a fault code left over from the last fault says nothing about being idle
            (MachineState::Idle, Some(101), "idle"),
            (MachineState::Idle, Some(0), "idle"),
        ];
        for (state, code, want) in table {
            assert_eq!(reason_for(state, code, &map, &idle), want, "{state:?} {code:?}");
        }
    }

    #[test]
    fn a_specific_reason_is_not_overwritten_by_a_generic_one() {
        let table = [
            ("unclassified", "jam", Some("jam")),
            ("idle", "jam", Some("jam")),
            ("jam", "comms_lost", None),
            ("jam", "unclassified", None),
            ("jam", "valve fault", Some("valve fault")),
            ("comms_lost", "idle", Some("idle")),
            ("jam", "jam", None),
            // a neighbour's stop names more than a state, less than a fault of its own
            ("idle", "starved", Some("starved")),
            ("starved", "idle", None),
            ("starved", "comms_lost", None),
            ("starved", "blocked", Some("blocked")),
            ("starved", "jam", Some("jam")),
            ("jam", "starved", None),
        ];
        for (current, new, want) in table {
            assert_eq!(updated_reason(current, new).as_deref(), want, "{current} → {new}");
        }
    }

    #[test]
    fn micro_stop_is_strictly_shorter_than_the_threshold() {
        assert!(is_micro_stop(0, 119_999, 120_000));
        assert!(!is_micro_stop(0, 120_000, 120_000));
    }
}

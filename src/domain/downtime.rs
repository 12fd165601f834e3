//! Downtime events: when a machine leaves `running` for an unplanned state until it runs
//! again (or enters a planned stop).

use std::collections::HashMap;

use serde::Serialize;

use super::EpochMs;
use super::machine_state::MachineState;

/// The reason given to downtime caused by lost communication.
pub const REASON_COMMS_LOST: &str = "comms_lost";
/// The reason given when nothing better is known.
pub const REASON_UNCLASSIFIED: &str = "unclassified";

/// The reason a stop gets when it starts or its cause changes.
pub fn reason_for(state: MachineState, fault_code: Option<i64>, fault_codes: &HashMap<i64, String>) -> String {
    match state {
        MachineState::Unknown => REASON_COMMS_LOST.to_owned(),
        MachineState::Changeover => "changeover".to_owned(),
        MachineState::Idle => "idle".to_owned(),
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

/// The reason a running downtime should carry when its cause may have changed: a specific
/// reason (a PLC fault) is not overwritten by a generic one (comms lost during a jam is
/// still the jam).
pub fn updated_reason(current: &str, new: &str) -> Option<String> {
    (current != new && (is_generic(current) || !is_generic(new))).then(|| new.to_owned())
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
        let table = [
            (MachineState::Down, Some(101), "jam"),
            (MachineState::Down, Some(999), REASON_UNCLASSIFIED),
            (MachineState::Down, None, REASON_UNCLASSIFIED),
            (MachineState::Unknown, Some(101), REASON_COMMS_LOST),
            (MachineState::Changeover, None, "changeover"),
            (MachineState::Idle, None, "idle"),
        ];
        for (state, code, want) in table {
            assert_eq!(reason_for(state, code, &map), want, "{state:?} {code:?}");
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

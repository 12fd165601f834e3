//! The validated plant model: lines, machines and what each tag means.
//!
//! Built once from configuration (`crate::config`), then shared read-only by the router,
//! the actors and the history queries.

use std::collections::HashMap;

use super::andon::{Category, PolicyBook, Priority, ReasonTree};
use super::counter::{CounterMode, CounterWidth};
use super::downtime::IdleCause;
use super::machine_state::MachineState;
use super::page::PagerKind;
use super::production::defects::DefectTree;
use super::shift::ShiftCalendar;

/// Index of a machine in [`PlantModel::machines`].
pub type MachineIdx = usize;
/// Index of a signal in [`MachineModel::signals`].
pub type SignalIdx = usize;

/// The whole plant.
#[derive(Debug, Clone)]
pub struct PlantModel {
    /// Production lines in configured order.
    pub lines: Vec<LineModel>,
    /// Every machine of every line, flat; lines refer to them by index.
    pub machines: Vec<MachineModel>,
    /// Shifts and breaks in the plant's time zone.
    pub calendar: ShiftCalendar,
    /// Tag name → (machine, signal).
    pub tags: HashMap<String, (MachineIdx, SignalIdx)>,
    /// Andon: escalation policies, pager targets, auto-raise rules, downtime reasons.
    pub andon: AndonModel,
}

/// How the plant escalates and whom it pages.
#[derive(Debug, Clone, Default)]
pub struct AndonModel {
    /// Escalation policies by category and priority.
    pub policies: PolicyBook,
    /// Pager targets by name.
    pub targets: Vec<PagerTarget>,
    /// When downtime raises a ticket by itself.
    pub auto_raise: Vec<AutoRaiseRule>,
    /// Reason codes operators classify downtime with.
    pub reasons: ReasonTree,
}

impl AndonModel {
    /// The auto-raise rule for a machine: its own rule first, else its line's.
    pub fn rule_for(&self, machine: MachineIdx, line: usize) -> Option<&AutoRaiseRule> {
        self.auto_raise
            .iter()
            .find(|r| r.scope == AutoRaiseScope::Machine(machine))
            .or_else(|| self.auto_raise.iter().find(|r| r.scope == AutoRaiseScope::Line(line)))
    }

    /// The target with this name.
    pub fn target(&self, name: &str) -> Option<&PagerTarget> {
        self.targets.iter().find(|t| t.name == name)
    }
}

/// A pager endpoint. Secrets are kept out of `Debug`.
#[derive(Clone, PartialEq)]
pub struct PagerTarget {
    /// Name used by policies.
    pub name: String,
    /// Payload format.
    pub kind: PagerKind,
    /// Webhook URL.
    pub url: String,
    /// HMAC secret (generic format).
    pub secret: Option<String>,
    /// Routing key (PagerDuty).
    pub routing_key: Option<String>,
}

impl std::fmt::Debug for PagerTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerTarget")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("routing_key", &self.routing_key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Where an auto-raise rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRaiseScope {
    /// Every machine of a line.
    Line(usize),
    /// One machine.
    Machine(MachineIdx),
}

/// Raise a ticket when unplanned downtime lasts longer than `after_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoRaiseRule {
    /// Where.
    pub scope: AutoRaiseScope,
    /// After how long, ms.
    pub after_ms: i64,
    /// Ticket category.
    pub category: Category,
    /// Ticket priority.
    pub priority: Priority,
    /// Resolve the ticket when the machine runs again.
    pub auto_resolve: bool,
}

impl PlantModel {
    /// Whether `machine` is on a line an edge runs (its records come forwarded).
    pub fn is_forwarded(&self, machine: MachineIdx) -> bool {
        self.lines[self.machines[machine].line].edge.is_some()
    }

    /// The line with this id.
    pub fn line(&self, id: &str) -> Option<(usize, &LineModel)> {
        self.lines.iter().enumerate().find(|(_, l)| l.id == id)
    }

    /// The machine with this id.
    pub fn machine(&self, id: &str) -> Option<(MachineIdx, &MachineModel)> {
        self.machines.iter().enumerate().find(|(_, m)| m.id == id)
    }
}

/// Parts the simulated plant holds between two consecutive machines of a line that does
/// not set its own `buffer_capacity`: a short conveyor.
pub const DEFAULT_BUFFER_CAPACITY: u32 = 20;

/// A production line.
#[derive(Debug, Clone)]
pub struct LineModel {
    /// Stable id used in URLs and channels.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Its machines, in flow order.
    pub machines: Vec<MachineIdx>,
    /// The machine whose counts are the line's output.
    pub output: MachineIdx,
    /// The machine whose availability is the line's.
    pub constraint: MachineIdx,
    /// Defect codes operators log manual rejects with.
    pub defects: DefectTree,
    /// Parts the simulated plant holds between two consecutive machines (at least 1).
    pub buffer_capacity: u32,
    /// On a central: the edge that runs this line. Its records come forwarded from that
    /// edge; the central's own actors for it record nothing (docs/edge.md).
    pub edge: Option<String>,
}

/// A machine and how to read it.
#[derive(Debug, Clone)]
pub struct MachineModel {
    /// Stable id used in URLs and channels.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Index of its line in [`PlantModel::lines`].
    pub line: usize,
    /// The line's id (for messages and rows).
    pub line_id: String,
    /// Its tags.
    pub signals: Vec<SignalDef>,
    /// Ideal cycle time when no product is known, ms.
    pub ideal_cycle_ms: i64,
    /// Products by PLC product code.
    pub products: HashMap<i64, Product>,
    /// PLC fault code → downtime reason.
    pub fault_codes: HashMap<i64, String>,
    /// PLC fault code → why the machine is idle (starved, blocked), read while it is idle.
    pub idle_codes: HashMap<i64, IdleCause>,
    /// Stops shorter than this are micro-stops, ms.
    pub micro_stop_threshold_ms: i64,
    /// No data for this long means `unknown`, ms.
    pub stale_after_ms: i64,
}

/// A product a machine can make.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Display name.
    pub name: String,
    /// Ideal cycle time, ms.
    pub ideal_cycle_ms: i64,
}

/// One tag of a machine.
#[derive(Debug, Clone)]
pub struct SignalDef {
    /// Tag name as the source spells it.
    pub tag: String,
    /// What the tag means.
    pub kind: SignalKind,
}

/// What a tag means to its machine.
#[derive(Debug, Clone)]
pub enum SignalKind {
    /// A state code mapped through the plant model.
    StateCode(HashMap<i64, MachineState>),
    /// A running bit.
    RunningBit,
    /// A fault bit.
    FaultBit,
    /// A part counter.
    Counter(CounterDef),
    /// The current fault code (gives downtime its reason).
    FaultCode,
    /// The current product code (gives parts their ideal cycle time).
    ProductCode,
}

/// A part counter and what its parts add to the totals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterDef {
    /// What the counter counts.
    pub role: CounterRole,
    /// Cumulative or increments.
    pub mode: CounterMode,
    /// Bit width for rollover.
    pub width: CounterWidth,
    /// Parts added to `total` per part counted (0 or 1).
    pub adds_total: i64,
    /// Parts added to `good` per part counted (−1, 0 or 1).
    pub adds_good: i64,
}

/// Which counters a machine has; decides what each counter adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterRole {
    /// Good parts.
    Good,
    /// Rejected parts.
    Reject,
    /// All parts.
    Total,
}

impl CounterDef {
    /// What a counter of `role` adds, given which other counters the machine has:
    /// with a total counter, good and reject counters only split it; without one,
    /// good and reject parts are both parts made.
    pub fn for_role(
        role: CounterRole,
        has_total: bool,
        has_good: bool,
        mode: CounterMode,
        width: CounterWidth,
    ) -> CounterDef {
        let (adds_total, adds_good) = match role {
            CounterRole::Total if has_good => (1, 0),
            CounterRole::Total => (1, 1),
            CounterRole::Good if has_total => (0, 1),
            CounterRole::Good => (1, 1),
            CounterRole::Reject if has_total && !has_good => (0, -1),
            CounterRole::Reject if has_total => (0, 0),
            CounterRole::Reject => (1, 0),
        };
        CounterDef {
            role,
            mode,
            width,
            adds_total,
            adds_good,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CounterRole::*;

    #[test]
    fn counter_roles_split_parts_into_total_and_good() {
        // (role, has_total, has_good, adds_total, adds_good)
        let table = [
            // good + reject counters: each part is made once
            (Good, false, true, 1, 1),
            (Reject, false, true, 1, 0),
            // total + reject: rejects turn good parts bad
            (Total, true, false, 1, 1),
            (Reject, true, false, 0, -1),
            // total + good: the good counter says which were good
            (Total, true, true, 1, 0),
            (Good, true, true, 0, 1),
            // total + good + reject: reject is informational
            (Reject, true, true, 0, 0),
        ];
        for (role, has_total, has_good, t, g) in table {
            let d = CounterDef::for_role(role, has_total, has_good, CounterMode::Cumulative, CounterWidth::Bits32);
            assert_eq!(
                (d.adds_total, d.adds_good),
                (t, g),
                "{role:?} total={has_total} good={has_good}"
            );
        }
    }
}

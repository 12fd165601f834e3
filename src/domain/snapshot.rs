//! What the outside sees of a machine or a line: the JSON pushed on WebSockets and
//! returned by the REST API.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::EpochMs;
use super::machine::Machine;
use super::machine_state::MachineState;
use super::oee::{OeeFigures, compute};
use super::plant::PlantModel;
use super::tally::Tally;
use super::window::WindowName;

/// An instant as RFC 3339 UTC.
pub fn utc(ms: EpochMs) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A shift occurrence.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShiftView {
    /// Shift name.
    pub name: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
}

/// A machine as shown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MachineSnapshot {
    /// Id.
    pub id: String,
    /// Line id.
    pub line: String,
    /// Display name.
    pub name: String,
    /// Current state.
    pub state: MachineState,
    /// Since when.
    pub state_since: Option<DateTime<Utc>>,
    /// Reason of the open downtime.
    pub reason: Option<String>,
    /// Current product.
    pub product: Option<String>,
    /// The shift the `shift` window covers.
    pub shift: Option<ShiftView>,
    /// OEE figures per window.
    pub windows: BTreeMap<&'static str, OeeFigures>,
    /// Event time the figures are accounted up to.
    pub updated_at: Option<DateTime<Utc>>,
    /// The trend warning (loss analytics): failing much more often than its own baseline
    /// lately. A trend on past failures, not a prediction; `null` until first judged
    /// (within `analytics.trend_refresh` of start) and while `advanced_analytics` is off.
    pub trend_warning: Option<super::production::trend::TrendWarning>,
    /// Raw tallies per window (for line roll-ups), in [`WindowName::ALL`] order.
    #[serde(skip)]
    pub tallies: [Tally; 5],
}

/// A line as shown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LineSnapshot {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The constraint machine's state.
    pub state: MachineState,
    /// The shift the `shift` window covers.
    pub shift: Option<ShiftView>,
    /// OEE per window: counts of the output machine, times of the constraint machine.
    pub windows: BTreeMap<&'static str, OeeFigures>,
    /// Its machines, in flow order.
    pub machines: Vec<MachineSnapshot>,
    /// Latest machine update.
    pub updated_at: Option<DateTime<Utc>>,
}

fn figures(tallies: &[Tally; 5]) -> BTreeMap<&'static str, OeeFigures> {
    WindowName::ALL
        .iter()
        .zip(tallies)
        .map(|(w, t)| (w.as_str(), compute(t)))
        .collect()
}

fn shift_view(plant: &PlantModel, bounds: Option<(EpochMs, EpochMs)>) -> Option<ShiftView> {
    let (start, end) = bounds?;
    let name = plant.calendar.shift_at(start).map(|s| s.name).unwrap_or_default();
    Some(ShiftView {
        name,
        start: utc(start),
        end: utc(end),
    })
}

/// The snapshot of a machine.
pub fn machine_snapshot(plant: &PlantModel, machine: &Machine) -> MachineSnapshot {
    let model = machine.model();
    let tallies = WindowName::ALL.map(|w| machine.window(w));
    MachineSnapshot {
        id: model.id.clone(),
        line: model.line_id.clone(),
        name: model.name.clone(),
        state: machine.state(),
        state_since: machine.state_since().map(utc),
        reason: machine.reason().map(str::to_owned),
        product: machine.product_name().map(str::to_owned),
        shift: shift_view(plant, machine.shift_bounds()),
        windows: figures(&tallies),
        updated_at: machine.head().map(utc),
        trend_warning: None,
        tallies,
    }
}

/// The snapshot of line `line` from the latest snapshots of its machines (flow order;
/// `None` for a machine not heard from yet).
pub fn line_snapshot<M: Borrow<MachineSnapshot>>(
    plant: &PlantModel,
    line: usize,
    machines: &[Option<M>],
) -> LineSnapshot {
    let model = &plant.lines[line];
    let find = |idx: usize| {
        model
            .machines
            .iter()
            .position(|&m| m == idx)
            .and_then(|p| machines.get(p))
            .and_then(Option::as_ref)
            .map(Borrow::borrow)
    };
    let (constraint, output) = (find(model.constraint), find(model.output));
    let empty = [Tally::default(); 5];
    let c = constraint.map_or(&empty, |m| &m.tallies);
    let o = output.map_or(&empty, |m| &m.tallies);
    let tallies: [Tally; 5] = std::array::from_fn(|i| Tally::line(&c[i], &o[i]));
    LineSnapshot {
        id: model.id.clone(),
        name: model.name.clone(),
        state: constraint.map_or(MachineState::Unknown, |m| m.state),
        shift: constraint.and_then(|m| m.shift.clone()),
        windows: figures(&tallies),
        machines: machines.iter().flatten().map(|m| m.borrow().clone()).collect(),
        updated_at: machines.iter().flatten().filter_map(|m| m.borrow().updated_at).max(),
    }
}

/// The next escalation of a ticket, as shown (so people see when the next page goes out).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NextEscalation {
    /// Level number.
    pub level: u32,
    /// When it is due.
    pub at: DateTime<Utc>,
    /// Response escalation or resolve deadline.
    pub kind: super::andon::DueKind,
}

/// An Andon ticket as shown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TicketView {
    /// Id.
    pub id: i64,
    /// Line.
    pub line: String,
    /// Machine, if any.
    pub machine: Option<String>,
    /// Category.
    pub category: super::andon::Category,
    /// Priority.
    pub priority: super::andon::Priority,
    /// Raised by an operator or automatically.
    pub source: super::andon::TicketSource,
    /// What was written.
    pub description: String,
    /// open, acknowledged, resolved, cancelled.
    pub state: super::andon::TicketState,
    /// Response escalation levels fired.
    pub level: u32,
    /// When raised.
    pub raised_at: DateTime<Utc>,
    /// By whom.
    pub raised_by: String,
    /// When acknowledged.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// By whom.
    pub acknowledged_by: Option<String>,
    /// When resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// By whom.
    pub resolved_by: Option<String>,
    /// When cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// By whom.
    pub cancelled_by: Option<String>,
    /// The person the ticket is assigned to (a username), if any.
    pub assignee: Option<String>,
    /// The next escalation, if one is armed.
    pub next_escalation: Option<NextEscalation>,
}

/// The view of a ticket with its next escalation.
pub fn ticket_view(t: &super::andon::Ticket, next: Option<super::andon::Due>) -> TicketView {
    TicketView {
        id: t.id,
        line: t.line.clone(),
        machine: t.machine.clone(),
        category: t.category,
        priority: t.priority,
        source: t.source,
        description: t.description.clone(),
        state: t.state,
        level: t.level,
        raised_at: utc(t.raised_at),
        raised_by: t.raised_by.clone(),
        acknowledged_at: t.acknowledged_at.map(utc),
        acknowledged_by: t.acknowledged_by.clone(),
        resolved_at: t.resolved_at.map(utc),
        resolved_by: t.resolved_by.clone(),
        cancelled_at: t.cancelled_at.map(utc),
        cancelled_by: t.cancelled_by.clone(),
        assignee: t.assignee.clone(),
        next_escalation: next.map(|d| NextEscalation {
            level: d.level,
            at: utc(d.at),
            kind: d.kind,
        }),
    }
}

impl TicketView {
    /// Still open after its last response level fired: nobody is left to page, so the
    /// ticket waits on whoever got the last page (the `MS5AndonLastLevel` alert watches these).
    pub fn at_last_level(&self) -> bool {
        self.state == super::andon::TicketState::Open && self.level > 0 && self.next_escalation.is_none()
    }
}

#[cfg(test)]
mod last_level_tests {
    use super::super::andon::{DueKind, TicketState};
    use super::*;

    fn view(state: TicketState, level: u32, next: Option<u32>) -> TicketView {
        let at = utc(0);
        TicketView {
            id: 1,
            line: "line-1".into(),
            machine: None,
            category: super::super::andon::Category::Maintenance,
            priority: super::super::andon::Priority::High,
            source: super::super::andon::TicketSource::Operator,
            description: String::new(),
            state,
            level,
            raised_at: at,
            raised_by: "ada".into(),
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            cancelled_at: None,
            cancelled_by: None,
            assignee: None,
            next_escalation: next.map(|level| NextEscalation {
                level,
                at,
                kind: DueKind::Response,
            }),
        }
    }

    #[test]
    fn only_an_open_ticket_past_its_last_level_is_at_the_last_level() {
        // (state, levels fired, next level armed, at the last level)
        let table = [
            (TicketState::Open, 0, Some(1), false),      // fresh: level 1 armed
            (TicketState::Open, 1, Some(2), false),      // between levels
            (TicketState::Open, 2, None, true),          // the last of 2 levels fired
            (TicketState::Open, 0, None, false),         // a policy without levels paged nobody
            (TicketState::Acknowledged, 2, None, false), // someone answered
            (TicketState::Resolved, 2, None, false),
            (TicketState::Cancelled, 2, None, false),
        ];
        for (state, level, next, want) in table {
            assert_eq!(
                view(state, level, next).at_last_level(),
                want,
                "{state:?} {level} {next:?}"
            );
        }
    }
}

//! Maintenance orders, pure: the states an order goes through (open → in_progress → done,
//! or cancelled), what each action may do in which state, and the order's own times, which
//! are reported beside MTTR and never mixed in. The checks on what engineers write are in
//! [`super::maintenance_fields`].

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::EpochMs;
use crate::domain::andon::Priority;
use crate::domain::snapshot::utc;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Created, nobody working on it yet.
    Open,
    /// Someone is working on it.
    InProgress,
    /// The work is finished.
    Done,
    /// Dropped.
    Cancelled,
}

impl OrderState {
    /// Every state, in lifecycle order.
    pub const ALL: [OrderState; 4] = [
        OrderState::Open,
        OrderState::InProgress,
        OrderState::Done,
        OrderState::Cancelled,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Open => "open",
            OrderState::InProgress => "in_progress",
            OrderState::Done => "done",
            OrderState::Cancelled => "cancelled",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Done or cancelled: nothing more happens to it.
    pub fn is_closed(self) -> bool {
        matches!(self, OrderState::Done | OrderState::Cancelled)
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an engineer does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    /// open → in_progress.
    Start,
    /// in_progress → done.
    Complete,
    /// open or in_progress → cancelled.
    Cancel,
    /// A work note; the state stays.
    Note,
}

impl OrderAction {
    /// The history entry and audit suffix: `started`, `completed`, `cancelled`, `note`.
    pub fn event(self) -> &'static str {
        match self {
            OrderAction::Start => "started",
            OrderAction::Complete => "completed",
            OrderAction::Cancel => "cancelled",
            OrderAction::Note => "note",
        }
    }

    /// The audit action.
    pub fn audit(self) -> &'static str {
        match self {
            OrderAction::Start => "maintenance.start",
            OrderAction::Complete => "maintenance.complete",
            OrderAction::Cancel => "maintenance.cancel",
            OrderAction::Note => "maintenance.note",
        }
    }

    fn refused(self) -> &'static str {
        match self {
            OrderAction::Start => "started",
            OrderAction::Complete => "completed",
            OrderAction::Cancel => "cancelled",
            OrderAction::Note => "given notes",
        }
    }
}

/// Why an action does not apply to an order in its state (a 409 that names the state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The action would leave the order where it is.
    #[error("order {id} is already {state}")]
    Already {
        /// The order.
        id: i64,
        /// Its current state.
        state: OrderState,
    },
    /// Not from this state.
    #[error("order {id} is {state}; it cannot be {}{}", .action.refused(), hint(*.state, *.action))]
    NotAllowed {
        /// The order.
        id: i64,
        /// Its current state.
        state: OrderState,
        /// What was asked.
        action: OrderAction,
    },
}

fn hint(state: OrderState, action: OrderAction) -> &'static str {
    match (state, action) {
        (OrderState::Open, OrderAction::Complete) => " before it is started",
        _ => "",
    }
}

impl OrderError {
    /// The state the order is in.
    pub fn state(&self) -> OrderState {
        match self {
            OrderError::Already { state, .. } | OrderError::NotAllowed { state, .. } => *state,
        }
    }
}

/// A maintenance order as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// Id.
    pub id: i64,
    /// The machine worked on.
    pub machine: String,
    /// Its line.
    pub line: String,
    /// What is wrong.
    pub problem: String,
    /// How urgent.
    pub priority: Priority,
    /// Who should do it.
    pub assignee: Option<String>,
    /// Where it stands.
    pub state: OrderState,
    /// The downtime event it came from.
    pub downtime_id: Option<i64>,
    /// The Andon ticket it came from.
    pub ticket_id: Option<i64>,
    /// Created.
    pub created_at: EpochMs,
    /// By.
    pub created_by: String,
    /// Started.
    pub started_at: Option<EpochMs>,
    /// By.
    pub started_by: Option<String>,
    /// Completed.
    pub completed_at: Option<EpochMs>,
    /// By.
    pub completed_by: Option<String>,
    /// Cancelled.
    pub cancelled_at: Option<EpochMs>,
    /// By.
    pub cancelled_by: Option<String>,
    /// Sum of the minutes its notes account for.
    pub minutes_spent: i64,
}

/// The state `action` takes an order in `state` to (`Note` keeps it).
pub fn next_state(id: i64, state: OrderState, action: OrderAction) -> Result<OrderState, OrderError> {
    use OrderAction as A;
    use OrderState as S;
    match (state, action) {
        (S::Open, A::Start) => Ok(S::InProgress),
        (S::InProgress, A::Complete) => Ok(S::Done),
        (S::Open | S::InProgress, A::Cancel) => Ok(S::Cancelled),
        (S::Open | S::InProgress, A::Note) => Ok(state),
        (S::InProgress, A::Start) | (S::Done, A::Complete) | (S::Cancelled, A::Cancel) => {
            Err(OrderError::Already { id, state })
        }
        _ => Err(OrderError::NotAllowed { id, state, action }),
    }
}

/// The order after `action` by `by` at `at`. Starting an order nobody is assigned to
/// assigns it to whoever starts it.
pub fn apply(order: &Order, action: OrderAction, by: &str, at: EpochMs) -> Result<Order, OrderError> {
    let mut next = order.clone();
    next.state = next_state(order.id, order.state, action)?;
    let who = Some(by.to_owned());
    match action {
        OrderAction::Start => {
            (next.started_at, next.started_by) = (Some(at), who.clone());
            next.assignee = next.assignee.or(who);
        }
        OrderAction::Complete => (next.completed_at, next.completed_by) = (Some(at), who),
        OrderAction::Cancel => (next.cancelled_at, next.cancelled_by) = (Some(at), who),
        OrderAction::Note => {}
    }
    Ok(next)
}

/// Seconds between two instants.
fn seconds(from: Option<EpochMs>, to: Option<EpochMs>) -> Option<f64> {
    Some((to? - from?).max(0) as f64 / 1000.0)
}

/// An order as the API shows it, with its own times. These are the order's times, not
/// the machine's: MTTR counts the linked stop (downtime start to running again).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    /// Id.
    pub id: i64,
    /// Machine.
    pub machine: String,
    /// Its line.
    pub line: String,
    /// What is wrong.
    pub problem: String,
    /// How urgent.
    pub priority: Priority,
    /// Who should do it.
    pub assignee: Option<String>,
    /// open, in_progress, done or cancelled.
    pub state: OrderState,
    /// The downtime event it came from.
    pub downtime_id: Option<i64>,
    /// The Andon ticket it came from.
    pub ticket_id: Option<i64>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// By.
    pub created_by: String,
    /// Started.
    pub started_at: Option<DateTime<Utc>>,
    /// By.
    pub started_by: Option<String>,
    /// Completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// By.
    pub completed_by: Option<String>,
    /// Cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// By.
    pub cancelled_by: Option<String>,
    /// Created → started, seconds.
    pub open_to_start_s: Option<f64>,
    /// Started → completed, seconds.
    pub start_to_done_s: Option<f64>,
    /// Created → completed, seconds.
    pub open_to_done_s: Option<f64>,
    /// Sum of the minutes the notes account for.
    pub minutes_spent: i64,
}

/// The view of an order.
pub fn order_view(o: &Order) -> OrderView {
    OrderView {
        id: o.id,
        machine: o.machine.clone(),
        line: o.line.clone(),
        problem: o.problem.clone(),
        priority: o.priority,
        assignee: o.assignee.clone(),
        state: o.state,
        downtime_id: o.downtime_id,
        ticket_id: o.ticket_id,
        created_at: utc(o.created_at),
        created_by: o.created_by.clone(),
        started_at: o.started_at.map(utc),
        started_by: o.started_by.clone(),
        completed_at: o.completed_at.map(utc),
        completed_by: o.completed_by.clone(),
        cancelled_at: o.cancelled_at.map(utc),
        cancelled_by: o.cancelled_by.clone(),
        open_to_start_s: seconds(Some(o.created_at), o.started_at),
        start_to_done_s: seconds(o.started_at, o.completed_at),
        open_to_done_s: seconds(Some(o.created_at), o.completed_at),
        minutes_spent: o.minutes_spent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn order(state: OrderState) -> Order {
        Order {
            id: 7,
            machine: "a-filler".into(),
            line: "line-a".into(),
            problem: "valve 3 leaking".into(),
            priority: Priority::High,
            assignee: None,
            state,
            downtime_id: Some(3),
            ticket_id: None,
            created_at: 10 * MIN,
            created_by: "eve".into(),
            started_at: None,
            started_by: None,
            completed_at: None,
            completed_by: None,
            cancelled_at: None,
            cancelled_by: None,
            minutes_spent: 0,
        }
    }

    #[test]
    fn every_action_in_every_state() {
        use OrderAction::*;
        use OrderState::*;
        // (state, action, Ok(next) or the refusal's message)
        let table: [(OrderState, OrderAction, Result<OrderState, &str>); 16] = [
            (Open, Start, Ok(InProgress)),
            (
                Open,
                Complete,
                Err("order 7 is open; it cannot be completed before it is started"),
            ),
            (Open, Cancel, Ok(Cancelled)),
            (Open, Note, Ok(Open)),
            (InProgress, Start, Err("order 7 is already in_progress")),
            (InProgress, Complete, Ok(Done)),
            (InProgress, Cancel, Ok(Cancelled)),
            (InProgress, Note, Ok(InProgress)),
            (Done, Start, Err("order 7 is done; it cannot be started")),
            (Done, Complete, Err("order 7 is already done")),
            (Done, Cancel, Err("order 7 is done; it cannot be cancelled")),
            (Done, Note, Err("order 7 is done; it cannot be given notes")),
            (Cancelled, Start, Err("order 7 is cancelled; it cannot be started")),
            (Cancelled, Complete, Err("order 7 is cancelled; it cannot be completed")),
            (Cancelled, Cancel, Err("order 7 is already cancelled")),
            (Cancelled, Note, Err("order 7 is cancelled; it cannot be given notes")),
        ];
        for (state, action, want) in table {
            let got = next_state(7, state, action);
            match (got, want) {
                (Ok(s), Ok(w)) => assert_eq!(s, w, "{state} {action:?}"),
                (Err(e), Err(w)) => {
                    assert_eq!(e.to_string(), w, "{state} {action:?}");
                    assert_eq!(e.state(), state, "the refusal names the current state");
                }
                (got, want) => panic!("{state} {action:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn apply_times_each_step_and_starting_assigns_the_starter() {
        // Created 00:10, started 00:25 by bob, completed 01:05 by bob:
        // open → start 15 min = 900 s, start → done 40 min = 2,400 s, open → done 3,300 s.
        let started = apply(&order(OrderState::Open), OrderAction::Start, "bob", 25 * MIN).unwrap();
        assert_eq!(started.assignee.as_deref(), Some("bob"));
        assert_eq!(
            (started.started_at, started.started_by.as_deref()),
            (Some(25 * MIN), Some("bob"))
        );
        let mut done = apply(&started, OrderAction::Complete, "bob", 65 * MIN).unwrap();
        done.minutes_spent = 35;
        let v = order_view(&done);
        assert_eq!(v.state, OrderState::Done);
        assert_eq!(
            (v.open_to_start_s, v.start_to_done_s, v.open_to_done_s),
            (Some(900.0), Some(2_400.0), Some(3_300.0))
        );
        assert_eq!(
            v.minutes_spent, 35,
            "minutes spent are reported as written, beside the times"
        );

        // An assignee named at creation stays when someone else starts it.
        let mut assigned = order(OrderState::Open);
        assigned.assignee = Some("carla".into());
        let started = apply(&assigned, OrderAction::Start, "bob", 25 * MIN).unwrap();
        assert_eq!(started.assignee.as_deref(), Some("carla"));

        // Cancelled while open: no start or done times.
        let cancelled = apply(&order(OrderState::Open), OrderAction::Cancel, "eve", 30 * MIN).unwrap();
        let v = order_view(&cancelled);
        assert_eq!((v.open_to_start_s, v.open_to_done_s), (None, None));
        assert_eq!(cancelled.cancelled_by.as_deref(), Some("eve"));
    }

    #[test]
    fn states_round_trip_their_wire_names() {
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        assert_eq!(OrderState::parse("closed"), None);
    }
}

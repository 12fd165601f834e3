//! Andon tickets: a call for help raised on a line (optionally a machine), by an operator or
//! automatically when a machine has been down too long. An open ticket escalates on timers to
//! pager groups until someone acknowledges it; an optional resolve deadline escalates once more
//! if an acknowledged ticket is still not resolved in time.
//!
//! Also here: the reason codes operators may pick for downtime, and the downtime Pareto.
//!
//! Pure like the rest of the domain: no clocks, no IO; every function takes the instant it
//! reasons about.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::EpochMs;

/// Milliseconds in a minute.
const MINUTE_MS: f64 = 60_000.0;

/// What kind of help is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Maintenance,
    Quality,
    Material,
    Safety,
    Other,
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: [Category; 5] = [
        Category::Maintenance,
        Category::Quality,
        Category::Material,
        Category::Safety,
        Category::Other,
    ];

    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Maintenance => "maintenance",
            Category::Quality => "quality",
            Category::Material => "material",
            Category::Safety => "safety",
            Category::Other => "other",
        }
    }

    /// The category with this exact snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How urgent; ordered from `Low` to `Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Medium, Priority::High, Priority::Critical];

    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    /// The priority with this exact snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Who raised a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketSource {
    /// A person on the floor.
    Operator,
    /// The system, because a machine has been down too long.
    Auto,
}

impl TicketSource {
    /// Every source, in declaration order.
    pub const ALL: [TicketSource; 2] = [TicketSource::Operator, TicketSource::Auto];

    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketSource::Operator => "operator",
            TicketSource::Auto => "auto",
        }
    }

    /// The source with this exact snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Open,
    Acknowledged,
    Resolved,
    Cancelled,
}

impl TicketState {
    /// Every state, in life order.
    pub const ALL: [TicketState; 4] = [
        TicketState::Open,
        TicketState::Acknowledged,
        TicketState::Resolved,
        TicketState::Cancelled,
    ];

    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Open => "open",
            TicketState::Acknowledged => "acknowledged",
            TicketState::Resolved => "resolved",
            TicketState::Cancelled => "cancelled",
        }
    }

    /// The state with this exact snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Resolved or cancelled: nothing more can happen to the ticket.
    pub fn is_closed(self) -> bool {
        matches!(self, TicketState::Resolved | TicketState::Cancelled)
    }
}

/// What someone does to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Acknowledge,
    Resolve,
    Cancel,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 3] = [Action::Acknowledge, Action::Resolve, Action::Cancel];

    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::Resolve => "resolve",
            Action::Cancel => "cancel",
        }
    }

    /// The action with this exact snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The state a successful action leaves the ticket in.
    pub fn target(self) -> TicketState {
        match self {
            Action::Acknowledge => TicketState::Acknowledged,
            Action::Resolve => TicketState::Resolved,
            Action::Cancel => TicketState::Cancelled,
        }
    }

    /// The past participle, for messages ("it cannot be cancelled").
    pub fn past_tense(self) -> &'static str {
        self.target().as_str()
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(Category, Priority, TicketSource, TicketState, Action);

/// An Andon ticket.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: i64,
    pub line: String,
    pub machine: Option<String>,
    pub category: Category,
    pub priority: Priority,
    pub source: TicketSource,
    pub description: String,
    pub state: TicketState,
    /// Response escalation levels fired so far (0 = none).
    pub level: u32,
    /// Whether the resolve-deadline escalation has fired.
    pub deadline_fired: bool,
    pub raised_at: EpochMs,
    pub raised_by: String,
    pub acknowledged_at: Option<EpochMs>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<EpochMs>,
    pub resolved_by: Option<String>,
    pub cancelled_at: Option<EpochMs>,
    pub cancelled_by: Option<String>,
    /// For auto-raised tickets: the downtime event (machine id, start) that raised it.
    pub downtime: Option<(String, EpochMs)>,
    /// The person the ticket is assigned to (a username), if any.
    pub assignee: Option<String>,
}

/// Why an action cannot be applied to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The action would leave the ticket in the state it is already in.
    #[error("ticket {id} is already {state}")]
    Already { id: i64, state: TicketState },
    /// The ticket is closed (or the action otherwise does not apply in its state).
    #[error("ticket {id} is {state}; it cannot be {}", .action.past_tense())]
    NotAllowed {
        id: i64,
        state: TicketState,
        action: Action,
    },
}

/// The new ticket after `action` by `by` at `at`, or why not. Valid: open→acknowledged, open→resolved
/// (fixed before anyone acknowledged), acknowledged→resolved, open→cancelled, acknowledged→cancelled.
/// Everything else is an error and the ticket is unchanged (the function takes &Ticket).
///
/// On success the state changes and the action's who/when is recorded; nothing else changes (an
/// open ticket resolved directly keeps `acknowledged_at`/`acknowledged_by` empty).
pub fn transition(ticket: &Ticket, action: Action, by: &str, at: EpochMs) -> Result<Ticket, TransitionError> {
    let state = ticket.state;
    let allowed = match state {
        TicketState::Open => true,
        TicketState::Acknowledged => action != Action::Acknowledge,
        TicketState::Resolved | TicketState::Cancelled => false,
    };
    if !allowed {
        let id = ticket.id;
        return Err(if action.target() == state {
            TransitionError::Already { id, state }
        } else {
            TransitionError::NotAllowed { id, state, action }
        });
    }
    let mut next = ticket.clone();
    next.state = action.target();
    let (when, who) = match action {
        Action::Acknowledge => (&mut next.acknowledged_at, &mut next.acknowledged_by),
        Action::Resolve => (&mut next.resolved_at, &mut next.resolved_by),
        Action::Cancel => (&mut next.cancelled_at, &mut next.cancelled_by),
    };
    *when = Some(at);
    *who = Some(by.to_owned());
    Ok(next)
}

/// What a level's `after_ms` counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// From the moment the ticket was raised.
    #[default]
    Raise,
    /// From the previous level's due time (the first level from the raise).
    Previous,
}

/// One step of escalation: after so long, page these targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationLevel {
    /// Delay in ms (see [`Anchor`]); negative counts as zero.
    pub after_ms: i64,
    /// Pager groups to notify.
    pub targets: Vec<String>,
}

/// How a ticket escalates: response levels while open, then an optional resolve deadline once
/// acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EscalationPolicy {
    pub anchor: Anchor,
    /// Response levels, fired in order while the ticket is open.
    pub levels: Vec<EscalationLevel>,
    /// Fires once, `after_ms` after acknowledgement, if the ticket is still acknowledged.
    pub resolve_deadline: Option<EscalationLevel>,
}

impl EscalationPolicy {
    /// When each response level falls due for a ticket raised at `raised_at`, in level order.
    ///
    /// Levels fire in order, so the times never decrease: under [`Anchor::Raise`] a level configured
    /// earlier than its predecessor falls due together with it.
    pub fn response_times(&self, raised_at: EpochMs) -> Vec<EpochMs> {
        let mut previous = raised_at;
        self.levels
            .iter()
            .map(|level| {
                let base = match self.anchor {
                    Anchor::Raise => raised_at,
                    Anchor::Previous => previous,
                };
                previous = base.saturating_add(level.after_ms.max(0)).max(previous);
                previous
            })
            .collect()
    }
}

/// Which escalation a [`Due`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    Response,
    ResolveDeadline,
}

/// An escalation of a ticket and when it falls due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Due {
    pub kind: DueKind,
    /// 1-based level number; the resolve deadline is level levels.len()+1
    pub level: u32,
    pub at: EpochMs,
    pub targets: Vec<String>,
}

/// The next escalation of the ticket under the policy, whether due yet or not: for an open ticket the next
/// response level (none after the last); for an acknowledged one the resolve deadline (at acknowledged_at + after)
/// if configured and not fired; nothing for resolved/cancelled.
///
/// An acknowledged ticket without `acknowledged_at` (inconsistent data) counts from `raised_at`.
pub fn next_due(ticket: &Ticket, policy: &EscalationPolicy) -> Option<Due> {
    match ticket.state {
        TicketState::Open => {
            let index = usize::try_from(ticket.level).ok()?;
            let level = policy.levels.get(index)?;
            let at = *policy.response_times(ticket.raised_at).get(index)?;
            Some(Due {
                kind: DueKind::Response,
                level: ticket.level + 1,
                at,
                targets: level.targets.clone(),
            })
        }
        TicketState::Acknowledged => {
            if ticket.deadline_fired {
                return None;
            }
            let deadline = policy.resolve_deadline.as_ref()?;
            let from = ticket.acknowledged_at.unwrap_or(ticket.raised_at);
            Some(Due {
                kind: DueKind::ResolveDeadline,
                level: u32::try_from(policy.levels.len()).map_or(u32::MAX, |n| n.saturating_add(1)),
                at: from.saturating_add(deadline.after_ms.max(0)),
                targets: deadline.targets.clone(),
            })
        }
        TicketState::Resolved | TicketState::Cancelled => None,
    }
}

/// Every escalation due at `now` (at <= now), in order, each once — e.g. after a restart several levels may be
/// overdue. Does not change the ticket.
pub fn due_by(ticket: &Ticket, policy: &EscalationPolicy, now: EpochMs) -> Vec<Due> {
    let mut ticket = ticket.clone();
    let mut out = Vec::new();
    while let Some(due) = next_due(&ticket, policy)
        && due.at <= now
    {
        mark_fired(&mut ticket, &due);
        out.push(due);
    }
    out
}

/// Records that `due` fired (level = due.level for Response, deadline_fired = true for ResolveDeadline).
/// The level never goes down: marking an older level again changes nothing.
pub fn mark_fired(ticket: &mut Ticket, due: &Due) {
    match due.kind {
        DueKind::Response => ticket.level = ticket.level.max(due.level),
        DueKind::ResolveDeadline => ticket.deadline_fired = true,
    }
}

/// Which policy applies: policies keyed by (category, priority) with fallbacks — exact match, then category with
/// any priority, then any category with that priority, then the default.
#[derive(Debug, Clone, Default)]
pub struct PolicyBook {
    entries: HashMap<(Option<Category>, Option<Priority>), EscalationPolicy>,
    empty: EscalationPolicy,
}

impl PolicyBook {
    /// A book from `(category, priority, policy)` entries; `None` means "any". A later entry for
    /// the same key replaces an earlier one; `(None, None)` is the default.
    pub fn new(entries: Vec<(Option<Category>, Option<Priority>, EscalationPolicy)>) -> Self {
        PolicyBook {
            entries: entries.into_iter().map(|(c, p, policy)| ((c, p), policy)).collect(),
            empty: EscalationPolicy::default(),
        }
    }

    /// The policy for a ticket of this category and priority (an empty policy when nothing matches).
    pub fn policy(&self, category: Category, priority: Priority) -> &EscalationPolicy {
        [
            (Some(category), Some(priority)),
            (Some(category), None),
            (None, Some(priority)),
            (None, None),
        ]
        .iter()
        .find_map(|key| self.entries.get(key))
        .unwrap_or(&self.empty)
    }
}

/// Downtime reason codes operators may choose: categories with optional sub-reasons, written "category" or
/// "category/sub". Serde: a map category -> list of subs, e.g. { mechanical = ["bearing", "belt"], other = [] }.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ReasonTree(pub BTreeMap<String, Vec<String>>);

impl ReasonTree {
    /// The built-in tree: mechanical, electrical, material, quality, changeover, other.
    pub fn standard() -> Self {
        let tree: [(&str, &[&str]); 6] = [
            ("mechanical", &["bearing", "belt", "jam", "motor", "tooling"]),
            ("electrical", &["drive", "power", "sensor", "wiring"]),
            ("material", &["shortage", "wrong_material", "blocked_output"]),
            ("quality", &["out_of_spec", "inspection", "rework"]),
            ("changeover", &["planned", "overrun"]),
            ("other", &[]),
        ];
        ReasonTree(
            tree.into_iter()
                .map(|(category, subs)| (category.to_owned(), subs.iter().map(|s| (*s).to_owned()).collect()))
                .collect(),
        )
    }

    /// Whether `code` is a known category, or `category/sub` with a known sub of that category.
    /// Matching is exact (case and whitespace count); a code has at most one `/`.
    pub fn contains(&self, code: &str) -> bool {
        match code.split_once('/') {
            None => self.0.contains_key(code),
            Some((category, sub)) => {
                !sub.contains('/') && self.0.get(category).is_some_and(|subs| subs.iter().any(|s| s == sub))
            }
        }
    }

    /// Every valid code: each category (sorted) followed by its `category/sub` codes in configured order.
    pub fn codes(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|(category, subs)| {
                std::iter::once(category.clone()).chain(subs.iter().map(move |sub| format!("{category}/{sub}")))
            })
            .collect()
    }
}

/// A downtime event as input to Pareto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DowntimeSpan {
    pub reason: String,
    pub start: EpochMs,
    /// `None` while the event is still open.
    pub end: Option<EpochMs>,
    pub micro_stop: bool,
}

/// One reason's line in a Pareto.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ParetoRow {
    pub reason: String,
    /// Minutes within the window, rounded to 2 decimals.
    pub minutes: f64,
    pub occurrences: u32,
    /// Share of total minutes, 0-1.
    pub share: f64,
    /// Share of this row and every row above it, 0-1 (1 on the last row).
    pub cumulative_share: f64,
}

/// Minutes and occurrences by reason within [from, to): events clipped to the window (open ones end at `now`
/// or `to`, whichever is earlier); an event counts as one occurrence if any part of it lies in the window;
/// micro-stops left out unless include_micro; sorted by minutes desc, then occurrences desc, then reason;
/// minutes rounded to 2 decimals for output but shares computed from exact ms.
///
/// Details: sorting uses exact ms. An event of zero length counts (with zero minutes) when its instant
/// lies in the window; an event ending before it starts (including an open one starting after `now`) is
/// ignored. An empty window (`to <= from`) gives no rows; when every row has zero minutes all shares are 0.
pub fn pareto(
    events: &[DowntimeSpan],
    from: EpochMs,
    to: EpochMs,
    now: EpochMs,
    include_micro: bool,
) -> Vec<ParetoRow> {
    if to <= from {
        return Vec::new();
    }
    let mut by_reason: BTreeMap<&str, (i64, u32)> = BTreeMap::new();
    for event in events {
        if event.micro_stop && !include_micro {
            continue;
        }
        let end = event.end.unwrap_or_else(|| now.min(to));
        if end < event.start {
            continue;
        }
        let (start_in, end_in) = (event.start.max(from), end.min(to));
        let overlap = end_in - start_in;
        let counts = overlap > 0 || (event.start == end && (from..to).contains(&event.start));
        if counts {
            let entry = by_reason.entry(event.reason.as_str()).or_default();
            entry.0 += overlap.max(0);
            entry.1 += 1;
        }
    }
    let mut rows: Vec<(&str, i64, u32)> = by_reason.into_iter().map(|(r, (ms, n))| (r, ms, n)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)));
    let total: i64 = rows.iter().map(|r| r.1).sum();
    let fraction = |ms: i64| if total > 0 { ms as f64 / total as f64 } else { 0.0 };
    let mut cumulative = 0;
    rows.into_iter()
        .map(|(reason, ms, occurrences)| {
            cumulative += ms;
            ParetoRow {
                reason: reason.to_owned(),
                minutes: (ms as f64 / MINUTE_MS * 100.0).round() / 100.0,
                occurrences,
                share: fraction(ms),
                cumulative_share: fraction(cumulative),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    /// Raise time used throughout.
    const R: EpochMs = 1_700_000_000_000;

    fn ticket(state: TicketState) -> Ticket {
        let mut t = Ticket {
            id: 12,
            line: "line-1".to_owned(),
            machine: Some("press-3".to_owned()),
            category: Category::Maintenance,
            priority: Priority::High,
            source: TicketSource::Operator,
            description: "hydraulic leak".to_owned(),
            state: TicketState::Open,
            level: 0,
            deadline_fired: false,
            raised_at: R,
            raised_by: "olga".to_owned(),
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            cancelled_at: None,
            cancelled_by: None,
            downtime: None,
            assignee: None,
        };
        match state {
            TicketState::Open => {}
            TicketState::Acknowledged => {
                t = transition(&t, Action::Acknowledge, "alice", R + MIN).unwrap();
            }
            TicketState::Resolved => {
                t = transition(&t, Action::Acknowledge, "alice", R + MIN).unwrap();
                t = transition(&t, Action::Resolve, "alice", R + 2 * MIN).unwrap();
            }
            TicketState::Cancelled => {
                t = transition(&t, Action::Cancel, "olga", R + MIN).unwrap();
            }
        }
        assert_eq!(t.state, state);
        t
    }

    fn level(after_min: i64, target: &str) -> EscalationLevel {
        EscalationLevel {
            after_ms: after_min * MIN,
            targets: vec![target.to_owned()],
        }
    }

    /// Levels after 5, 15 and 30 minutes; resolve deadline 60 minutes after acknowledgement.
    fn policy(anchor: Anchor) -> EscalationPolicy {
        EscalationPolicy {
            anchor,
            levels: vec![level(5, "lead"), level(15, "supervisor"), level(30, "manager")],
            resolve_deadline: Some(level(60, "plant_manager")),
        }
    }

    fn response(level: u32, at: EpochMs, target: &str) -> Due {
        Due {
            kind: DueKind::Response,
            level,
            at,
            targets: vec![target.to_owned()],
        }
    }

    #[test]
    fn enum_names_round_trip_and_match_serde() {
        fn check<T: Copy + PartialEq + fmt::Debug + fmt::Display + Serialize + for<'de> Deserialize<'de>>(
            all: &[T],
            as_str: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for &v in all {
                let name = as_str(v);
                assert_eq!(parse(name), Some(v));
                assert_eq!(v.to_string(), name);
                assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{name}\""));
                assert_eq!(serde_json::from_str::<T>(&format!("\"{name}\"")).unwrap(), v);
                assert_eq!(parse(&name.to_uppercase()), None, "{name}: parse is exact");
            }
            assert_eq!(parse(""), None);
        }
        check(&Category::ALL, Category::as_str, Category::parse);
        check(&Priority::ALL, Priority::as_str, Priority::parse);
        check(&TicketSource::ALL, TicketSource::as_str, TicketSource::parse);
        check(&TicketState::ALL, TicketState::as_str, TicketState::parse);
        check(&Action::ALL, Action::as_str, Action::parse);
        assert!(Priority::Low < Priority::Medium && Priority::High < Priority::Critical);
        assert_eq!(
            serde_json::from_str::<Anchor>("\"previous\"").unwrap(),
            Anchor::Previous
        );
        assert_eq!(Anchor::default(), Anchor::Raise);
    }

    #[test]
    fn transition_table_covers_every_state_and_action() {
        use Action::*;
        use TicketState::*;
        // (from, action, Ok(new state) or Err(message))
        let table: [(TicketState, Action, Result<TicketState, &str>); 12] = [
            (Open, Acknowledge, Ok(Acknowledged)),
            (Open, Resolve, Ok(Resolved)),
            (Open, Cancel, Ok(Cancelled)),
            (Acknowledged, Acknowledge, Err("ticket 12 is already acknowledged")),
            (Acknowledged, Resolve, Ok(Resolved)),
            (Acknowledged, Cancel, Ok(Cancelled)),
            (
                Resolved,
                Acknowledge,
                Err("ticket 12 is resolved; it cannot be acknowledged"),
            ),
            (Resolved, Resolve, Err("ticket 12 is already resolved")),
            (Resolved, Cancel, Err("ticket 12 is resolved; it cannot be cancelled")),
            (
                Cancelled,
                Acknowledge,
                Err("ticket 12 is cancelled; it cannot be acknowledged"),
            ),
            (Cancelled, Resolve, Err("ticket 12 is cancelled; it cannot be resolved")),
            (Cancelled, Cancel, Err("ticket 12 is already cancelled")),
        ];
        for state in TicketState::ALL {
            for action in Action::ALL {
                assert_eq!(table.iter().filter(|r| r.0 == state && r.1 == action).count(), 1);
            }
        }
        let at = R + 10 * MIN;
        for (from, action, expected) in table {
            let before = ticket(from);
            let snapshot = before.clone();
            let got = transition(&before, action, "bob", at);
            assert_eq!(before, snapshot, "{from} {action}: input untouched");
            match expected {
                Ok(state) => {
                    let mut want = before.clone();
                    want.state = state;
                    match action {
                        Acknowledge => (want.acknowledged_at, want.acknowledged_by) = (Some(at), Some("bob".into())),
                        Resolve => (want.resolved_at, want.resolved_by) = (Some(at), Some("bob".into())),
                        Cancel => (want.cancelled_at, want.cancelled_by) = (Some(at), Some("bob".into())),
                    }
                    assert_eq!(got, Ok(want), "{from} {action}");
                }
                Err(message) => assert_eq!(got.unwrap_err().to_string(), message, "{from} {action}"),
            }
        }
    }

    #[test]
    fn acknowledging_twice_is_an_error() {
        let t = ticket(TicketState::Open);
        let once = transition(&t, Action::Acknowledge, "alice", R + MIN).unwrap();
        let twice = transition(&once, Action::Acknowledge, "bob", R + 2 * MIN);
        assert_eq!(
            twice,
            Err(TransitionError::Already {
                id: 12,
                state: TicketState::Acknowledged
            })
        );
        // The first acknowledgement stands.
        assert_eq!(once.acknowledged_by.as_deref(), Some("alice"));
        assert_eq!(once.acknowledged_at, Some(R + MIN));
    }

    #[test]
    fn resolving_a_cancelled_ticket_is_an_error() {
        let t = ticket(TicketState::Cancelled);
        let err = transition(&t, Action::Resolve, "bob", R + 5 * MIN).unwrap_err();
        assert_eq!(
            err,
            TransitionError::NotAllowed {
                id: 12,
                state: TicketState::Cancelled,
                action: Action::Resolve
            }
        );
        assert_eq!(err.to_string(), "ticket 12 is cancelled; it cannot be resolved");
    }

    #[test]
    fn resolving_an_open_ticket_leaves_acknowledgement_empty() {
        let t = transition(&ticket(TicketState::Open), Action::Resolve, "carl", R + 3 * MIN).unwrap();
        assert_eq!(t.state, TicketState::Resolved);
        assert_eq!(
            (t.resolved_at, t.resolved_by.as_deref()),
            (Some(R + 3 * MIN), Some("carl"))
        );
        assert_eq!((t.acknowledged_at, t.acknowledged_by), (None, None));
    }

    #[test]
    fn ticket_serializes_snake_case() {
        let mut t = ticket(TicketState::Acknowledged);
        t.source = TicketSource::Auto;
        t.downtime = Some(("press-3".to_owned(), R - 10 * MIN));
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["state"], "acknowledged");
        assert_eq!(json["category"], "maintenance");
        assert_eq!(json["priority"], "high");
        assert_eq!(json["source"], "auto");
        assert_eq!(json["downtime"], serde_json::json!(["press-3", R - 10 * MIN]));
        assert_eq!(json["resolved_at"], serde_json::Value::Null);
    }

    #[test]
    fn first_level_is_due_exactly_at_raise_plus_after() {
        let p = policy(Anchor::Raise);
        let t = ticket(TicketState::Open);
        // Level 1: R + 5 min.
        let due = R + 5 * MIN;
        assert_eq!(next_due(&t, &p), Some(response(1, due, "lead")));
        assert_eq!(due_by(&t, &p, due - 1), vec![]);
        assert_eq!(due_by(&t, &p, due), vec![response(1, due, "lead")]);
    }

    #[test]
    fn next_due_walks_the_levels_for_each_anchor() {
        // Raise: 5, 15, 30 after R. Previous: 5, 5+15 = 20, 20+30 = 50 after R.
        let table = [
            (Anchor::Raise, 0, Some((1, 5, "lead"))),
            (Anchor::Raise, 1, Some((2, 15, "supervisor"))),
            (Anchor::Raise, 2, Some((3, 30, "manager"))),
            (Anchor::Raise, 3, None),
            (Anchor::Previous, 0, Some((1, 5, "lead"))),
            (Anchor::Previous, 1, Some((2, 20, "supervisor"))),
            (Anchor::Previous, 2, Some((3, 50, "manager"))),
            (Anchor::Previous, 3, None),
            // A ticket that fired more levels than the policy now has (policy changed): nothing.
            (Anchor::Previous, 7, None),
        ];
        for (anchor, fired, expected) in table {
            let mut t = ticket(TicketState::Open);
            t.level = fired;
            let want = expected.map(|(l, after_min, target)| response(l, R + after_min * MIN, target));
            assert_eq!(next_due(&t, &policy(anchor)), want, "{anchor:?} after level {fired}");
        }
    }

    #[test]
    fn response_times_never_go_backwards() {
        // Raise anchor with levels 10, 5, -3 min: 10, then 5 < 10 falls due with it at 10, then -3 → 10.
        let p = EscalationPolicy {
            anchor: Anchor::Raise,
            levels: vec![level(10, "a"), level(5, "b"), level(-3, "c")],
            resolve_deadline: None,
        };
        assert_eq!(p.response_times(R), vec![R + 10 * MIN, R + 10 * MIN, R + 10 * MIN]);
        // Previous anchor with a negative step: 10, 10 + 0, 10 + 5 = 15.
        let p = EscalationPolicy {
            anchor: Anchor::Previous,
            levels: vec![level(10, "a"), level(-2, "b"), level(5, "c")],
            ..p
        };
        assert_eq!(p.response_times(R), vec![R + 10 * MIN, R + 10 * MIN, R + 15 * MIN]);
        assert_eq!(EscalationPolicy::default().response_times(R), Vec::<EpochMs>::new());
    }

    #[test]
    fn no_response_level_after_acknowledge() {
        let p = policy(Anchor::Raise);
        let mut t = ticket(TicketState::Open);
        t.level = 1; // lead was paged at R + 5 min
        let t = transition(&t, Action::Acknowledge, "alice", R + 7 * MIN).unwrap();
        // Hours later: levels 2 and 3 never fire, only the resolve deadline at R + 7 + 60 = R + 67 min.
        let deadline = Due {
            kind: DueKind::ResolveDeadline,
            level: 4,
            at: R + 67 * MIN,
            targets: vec!["plant_manager".into()],
        };
        assert_eq!(due_by(&t, &p, R + 10 * 60 * MIN), vec![deadline]);
        // Without a resolve deadline an acknowledged ticket never escalates.
        let quiet = EscalationPolicy {
            resolve_deadline: None,
            ..p
        };
        assert_eq!(next_due(&t, &quiet), None);
        assert_eq!(due_by(&t, &quiet, R + 10 * 60 * MIN), vec![]);
    }

    #[test]
    fn resolve_deadline_counts_from_acknowledgement_and_fires_once() {
        for anchor in [Anchor::Raise, Anchor::Previous] {
            let p = policy(anchor);
            // Acknowledged at R + 1 min (see `ticket`): deadline at R + 1 + 60 = R + 61 min, level 3 + 1 = 4.
            let mut t = ticket(TicketState::Acknowledged);
            let due = R + 61 * MIN;
            let deadline = Due {
                kind: DueKind::ResolveDeadline,
                level: 4,
                at: due,
                targets: vec!["plant_manager".into()],
            };
            assert_eq!(next_due(&t, &p), Some(deadline.clone()));
            assert_eq!(due_by(&t, &p, due - 1), vec![]);
            assert_eq!(due_by(&t, &p, due), vec![deadline.clone()]);
            mark_fired(&mut t, &deadline);
            assert!(t.deadline_fired);
            assert_eq!(t.level, 0, "the response level is untouched");
            assert_eq!(next_due(&t, &p), None);
            assert_eq!(due_by(&t, &p, due + 24 * 60 * MIN), vec![]);
        }
    }

    #[test]
    fn closed_tickets_never_escalate() {
        let p = policy(Anchor::Raise);
        for state in [TicketState::Resolved, TicketState::Cancelled] {
            let t = ticket(state);
            assert_eq!(next_due(&t, &p), None, "{state}");
            assert_eq!(due_by(&t, &p, R + 1000 * MIN), vec![], "{state}");
        }
        // And an empty policy never escalates anything.
        assert_eq!(next_due(&ticket(TicketState::Open), &EscalationPolicy::default()), None);
        assert_eq!(
            next_due(&ticket(TicketState::Acknowledged), &EscalationPolicy::default()),
            None
        );
    }

    #[test]
    fn after_the_last_level_nothing_is_next() {
        let p = policy(Anchor::Previous);
        let mut t = ticket(TicketState::Open);
        for expected_level in 1..=3 {
            let due = next_due(&t, &p).unwrap();
            assert_eq!(due.level, expected_level);
            mark_fired(&mut t, &due);
            assert_eq!(t.level, expected_level);
        }
        assert_eq!(next_due(&t, &p), None);
        assert!(!t.deadline_fired);
    }

    #[test]
    fn long_outage_returns_every_overdue_level_once_in_order() {
        let p = policy(Anchor::Previous);
        let mut t = ticket(TicketState::Open);
        // Back after 10 h: levels at R + 5, R + 20, R + 50 min are all overdue.
        let now = R + 10 * 60 * MIN;
        let expected = vec![
            response(1, R + 5 * MIN, "lead"),
            response(2, R + 20 * MIN, "supervisor"),
            response(3, R + 50 * MIN, "manager"),
        ];
        let due = due_by(&t, &p, now);
        assert_eq!(due, expected);
        assert_eq!(t.level, 0, "due_by does not change the ticket");
        assert_eq!(due_by(&t, &p, now), expected, "asking again gives the same answer");
        for d in &due {
            mark_fired(&mut t, d);
        }
        assert_eq!(t.level, 3);
        assert_eq!(due_by(&t, &p, now), vec![]);
        assert_eq!(due_by(&t, &p, now + 1000 * MIN), vec![]);
        // Marking an old level again does not lower the level.
        mark_fired(&mut t, &expected[0]);
        assert_eq!(t.level, 3);
    }

    #[test]
    fn partial_outage_returns_only_the_levels_due_so_far() {
        // Raise anchor: 5, 15, 30 min. Level 1 already fired; at R + 16 min only level 2 is due.
        let p = policy(Anchor::Raise);
        let mut t = ticket(TicketState::Open);
        t.level = 1;
        assert_eq!(
            due_by(&t, &p, R + 16 * MIN),
            vec![response(2, R + 15 * MIN, "supervisor")]
        );
        assert_eq!(due_by(&t, &p, R + 30 * MIN).len(), 2);
    }

    #[test]
    fn policy_book_falls_back_from_exact_to_category_to_priority_to_default() {
        fn named(name: &str) -> EscalationPolicy {
            EscalationPolicy {
                levels: vec![level(1, name)],
                ..EscalationPolicy::default()
            }
        }
        let book = PolicyBook::new(vec![
            (Some(Category::Safety), Some(Priority::Critical), named("exact")),
            (Some(Category::Safety), None, named("safety-any")),
            (None, Some(Priority::Critical), named("any-critical")),
            (None, None, named("default")),
            // Replaced by the later entry for the same key.
            (Some(Category::Quality), Some(Priority::High), named("old")),
            (Some(Category::Quality), Some(Priority::High), named("new")),
        ]);
        let table = [
            (Category::Safety, Priority::Critical, "exact"),
            (Category::Safety, Priority::Low, "safety-any"),
            (Category::Quality, Priority::Critical, "any-critical"),
            (Category::Maintenance, Priority::Critical, "any-critical"),
            (Category::Quality, Priority::Low, "default"),
            (Category::Quality, Priority::High, "new"),
        ];
        for (c, p, expected) in table {
            assert_eq!(book.policy(c, p), &named(expected), "{c} {p}");
        }
        // Without a default, an unmatched pair gets the empty policy.
        let book = PolicyBook::new(vec![(Some(Category::Safety), None, named("safety-any"))]);
        assert_eq!(book.policy(Category::Safety, Priority::Low), &named("safety-any"));
        assert_eq!(
            book.policy(Category::Other, Priority::Low),
            &EscalationPolicy::default()
        );
        assert_eq!(
            PolicyBook::default().policy(Category::Other, Priority::Low),
            &EscalationPolicy::default()
        );
    }

    fn span(reason: &str, start_min: f64, end_min: Option<f64>, micro_stop: bool) -> DowntimeSpan {
        let ms = |m: f64| (m * MIN as f64).round() as i64;
        DowntimeSpan {
            reason: reason.to_owned(),
            start: ms(start_min),
            end: end_min.map(ms),
            micro_stop,
        }
    }

    fn assert_rows(got: &[ParetoRow], want: &[(&str, f64, u32, f64, f64)]) {
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (row, &(reason, minutes, occurrences, share, cumulative)) in got.iter().zip(want) {
            assert_eq!(row.reason, reason);
            assert_eq!(row.minutes, minutes, "{reason} minutes");
            assert_eq!(row.occurrences, occurrences, "{reason} occurrences");
            assert!(
                (row.share - share).abs() < 1e-9,
                "{reason} share {} vs {share}",
                row.share
            );
            assert!(
                (row.cumulative_share - cumulative).abs() < 1e-9,
                "{reason} cumulative {}",
                row.cumulative_share
            );
        }
    }

    /// Window [10, 70) min, now = 60 min.
    fn pareto_events() -> Vec<DowntimeSpan> {
        vec![
            // Straddles `from`: 5..20 clipped to 10..20 = 10 min.
            span("mechanical/jam", 5.0, Some(20.0), false),
            // 30..33.5 = 3.5 min. jam total 13.5 min, 2 occurrences.
            span("mechanical/jam", 30.0, Some(33.5), false),
            // Open since 40: ends at min(now 60, to 70) = 60 → 20 min.
            span("material/shortage", 40.0, None, false),
            // Micro-stop 25..25⅓ (20 s) = 1/3 min.
            span("quality", 25.0, Some(25.0 + 1.0 / 3.0), true),
            // 50..54 = 4 min.
            span("quality", 50.0, Some(54.0), false),
            // Ends exactly at `from`: no part in [10, 70) → not counted at all.
            span("electrical", 2.0, Some(10.0), false),
            // Starts exactly at `to`: not counted.
            span("electrical", 70.0, Some(75.0), false),
        ]
    }

    #[test]
    fn pareto_clips_counts_and_sorts() {
        let (from, to, now) = (10 * MIN, 70 * MIN, 60 * MIN);
        // Without micro-stops: total 20 + 13.5 + 4 = 37.5 min.
        //   shortage 20/37.5 = 0.533333…, jam 13.5/37.5 = 0.36 (cum 0.893333…), quality 4/37.5 = 0.106666… (cum 1).
        assert_rows(
            &pareto(&pareto_events(), from, to, now, false),
            &[
                ("material/shortage", 20.0, 1, 20.0 / 37.5, 20.0 / 37.5),
                ("mechanical/jam", 13.5, 2, 0.36, 33.5 / 37.5),
                ("quality", 4.0, 1, 4.0 / 37.5, 1.0),
            ],
        );
        // With micro-stops: quality = 4 + 1/3 min = 260 s → 4.33 shown, 2 occurrences.
        //   Total 1200 + 810 + 260 = 2270 s: shares 1200/2270, 810/2270, 260/2270 (from exact ms, not 4.33).
        assert_rows(
            &pareto(&pareto_events(), from, to, now, true),
            &[
                ("material/shortage", 20.0, 1, 1200.0 / 2270.0, 1200.0 / 2270.0),
                ("mechanical/jam", 13.5, 2, 810.0 / 2270.0, 2010.0 / 2270.0),
                ("quality", 4.33, 2, 260.0 / 2270.0, 1.0),
            ],
        );
    }

    #[test]
    fn pareto_open_events_end_at_the_earlier_of_now_and_to() {
        let events = [span("a", 40.0, None, false)];
        // now 100 > to 70: ends at 70 → 30 min.
        assert_rows(
            &pareto(&events, 10 * MIN, 70 * MIN, 100 * MIN, false),
            &[("a", 30.0, 1, 1.0, 1.0)],
        );
        // now 45 < to: 5 min.
        assert_rows(
            &pareto(&events, 10 * MIN, 70 * MIN, 45 * MIN, false),
            &[("a", 5.0, 1, 1.0, 1.0)],
        );
        // now before the event started (clock skew): ignored.
        assert_rows(&pareto(&events, 10 * MIN, 70 * MIN, 30 * MIN, false), &[]);
        // Just started at now: one occurrence, zero minutes, share 0.
        assert_rows(
            &pareto(&events, 10 * MIN, 70 * MIN, 40 * MIN, false),
            &[("a", 0.0, 1, 0.0, 0.0)],
        );
    }

    #[test]
    fn pareto_ties_break_on_occurrences_then_reason() {
        // b: 2 × 3 = 6 min; a, c: 1 × 6 min each; d: 1 min. Total 19 min.
        let events = [
            span("c", 0.0, Some(6.0), false),
            span("b", 10.0, Some(13.0), false),
            span("b", 20.0, Some(23.0), false),
            span("a", 30.0, Some(36.0), false),
            span("d", 40.0, Some(41.0), false),
        ];
        assert_rows(
            &pareto(&events, 0, 60 * MIN, 60 * MIN, false),
            &[
                ("b", 6.0, 2, 6.0 / 19.0, 6.0 / 19.0),
                ("a", 6.0, 1, 6.0 / 19.0, 12.0 / 19.0),
                ("c", 6.0, 1, 6.0 / 19.0, 18.0 / 19.0),
                ("d", 1.0, 1, 1.0 / 19.0, 1.0),
            ],
        );
    }

    #[test]
    fn pareto_empty_inputs() {
        assert_eq!(pareto(&[], 0, 60 * MIN, 60 * MIN, true), vec![]);
        // Empty or inverted window.
        assert_eq!(pareto(&pareto_events(), 10 * MIN, 10 * MIN, 60 * MIN, true), vec![]);
        assert_eq!(pareto(&pareto_events(), 70 * MIN, 10 * MIN, 60 * MIN, true), vec![]);
        // Only a micro-stop, left out.
        assert_eq!(
            pareto(&[span("q", 1.0, Some(1.1), true)], 0, 60 * MIN, 60 * MIN, false),
            vec![]
        );
    }

    #[test]
    fn reason_tree_contains() {
        let standard = ReasonTree::standard();
        let odd = ReasonTree(BTreeMap::from([(
            "a".to_owned(),
            vec!["b".to_owned(), "b/c".to_owned()],
        )]));
        let table = [
            (&standard, "mechanical", true),
            (&standard, "mechanical/bearing", true),
            (&standard, "mechanical/x", false),
            (&standard, "other", true),
            (&standard, "other/", false),
            (&standard, "mechanical/", false),
            (&standard, "/bearing", false),
            (&standard, "", false),
            (&standard, "a/b/c", false),
            (&standard, "mechanical/bearing/x", false),
            (&standard, "Mechanical", false),
            (&standard, " mechanical", false),
            (&standard, "unknown", false),
            (&odd, "a/b", true),
            // At most one '/', even if a sub was configured with one.
            (&odd, "a/b/c", false),
        ];
        for (tree, code, expected) in table {
            assert_eq!(tree.contains(code), expected, "{code:?}");
        }
    }

    #[test]
    fn reason_tree_codes_and_serde() {
        let tree: ReasonTree = serde_json::from_str(r#"{"other": [], "mechanical": ["bearing", "belt"]}"#).unwrap();
        // Categories sorted, subs in configured order.
        assert_eq!(
            tree.codes(),
            vec!["mechanical", "mechanical/bearing", "mechanical/belt", "other"]
        );
        assert_eq!(
            serde_json::to_string(&tree).unwrap(),
            r#"{"mechanical":["bearing","belt"],"other":[]}"#
        );
        assert_eq!(ReasonTree::default().codes(), Vec::<String>::new());

        let standard = ReasonTree::standard();
        let categories: Vec<&str> = standard.0.keys().map(String::as_str).collect();
        assert_eq!(
            categories,
            ["changeover", "electrical", "material", "mechanical", "other", "quality"]
        );
        let codes = standard.codes();
        assert!(codes.iter().all(|c| standard.contains(c)), "every listed code is valid");
        assert!(codes.contains(&"mechanical/bearing".to_owned()));
        assert_eq!(codes.len(), 6 + standard.0.values().map(Vec::len).sum::<usize>());
    }
}

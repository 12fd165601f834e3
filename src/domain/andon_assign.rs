//! Assigning an Andon ticket to a person: who may be assigned a ticket on a line, and the
//! ticket after an assignment. Pure: the caller looks the account up and passes it in.

use super::andon::{Ticket, TicketState};

/// What the rules need to know of an account.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Disabled accounts cannot sign in, so they cannot take a ticket.
    pub disabled: bool,
    /// The account's line scope; `None`: every line.
    pub lines: Option<&'a [String]>,
}

/// Whether an account may be assigned tickets of `line`: active, and with access to the line.
pub fn may_take(candidate: Candidate<'_>, line: &str) -> bool {
    !candidate.disabled && candidate.lines.is_none_or(|ls| ls.iter().any(|l| l == line))
}

/// Why a ticket cannot be (re)assigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignError {
    /// Resolved or cancelled tickets keep the assignee they ended with.
    #[error("ticket {id} is {state}; it cannot be assigned")]
    Closed { id: i64, state: TicketState },
}

/// The ticket assigned to `assignee` (`None`: to nobody). Allowed while the ticket is open or
/// acknowledged; only the assignee changes, so escalation (level, deadline) goes on as before.
pub fn assign(ticket: &Ticket, assignee: Option<&str>) -> Result<Ticket, AssignError> {
    if ticket.state.is_closed() {
        return Err(AssignError::Closed {
            id: ticket.id,
            state: ticket.state,
        });
    }
    let mut next = ticket.clone();
    next.assignee = assignee.map(str::to_owned);
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::andon::{Category, Priority, TicketSource};

    fn ticket(state: TicketState, assignee: Option<&str>) -> Ticket {
        Ticket {
            id: 7,
            line: "line-1".into(),
            machine: None,
            category: Category::Maintenance,
            priority: Priority::High,
            source: TicketSource::Operator,
            description: "jam".into(),
            state,
            level: 2,
            deadline_fired: false,
            raised_at: 1_000,
            raised_by: "op".into(),
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            cancelled_at: None,
            cancelled_by: None,
            downtime: None,
            assignee: assignee.map(str::to_owned),
        }
    }

    /// (state, assignee before, asked for, the assignee after or `None` for an error)
    type Row = (
        TicketState,
        Option<&'static str>,
        Option<&'static str>,
        Option<Option<&'static str>>,
    );

    #[test]
    fn assignment_is_allowed_while_open_or_acknowledged_only() {
        let table: [Row; 6] = [
            (TicketState::Open, None, Some("ben"), Some(Some("ben"))),
            (TicketState::Open, Some("ben"), Some("cleo"), Some(Some("cleo"))),
            (TicketState::Acknowledged, Some("ben"), None, Some(None)),
            (TicketState::Acknowledged, None, Some("ben"), Some(Some("ben"))),
            (TicketState::Resolved, Some("ben"), Some("cleo"), None),
            (TicketState::Cancelled, None, Some("cleo"), None),
        ];
        for (state, before, asked, want) in table {
            let got = assign(&ticket(state, before), asked);
            match want {
                Some(a) => assert_eq!(
                    got.map(|t| t.assignee),
                    Ok(a.map(str::to_owned)),
                    "{state} {before:?}→{asked:?}"
                ),
                None => assert_eq!(got, Err(AssignError::Closed { id: 7, state }), "{state}"),
            }
        }
    }

    #[test]
    fn assignment_keeps_the_escalation_where_it_was() {
        let before = ticket(TicketState::Open, None);
        let after = assign(&before, Some("ben")).map_err(|e| e.to_string());
        let Ok(after) = after else { panic!("{after:?}") };
        assert_eq!(
            (after.level, after.deadline_fired, after.state),
            (2, false, TicketState::Open)
        );
        assert_eq!(
            Ticket {
                assignee: None,
                ..after
            },
            before
        );
    }

    #[test]
    fn only_active_accounts_with_the_line_may_take_a_ticket() {
        let one = vec!["line-1".to_owned()];
        let other = vec!["line-2".to_owned()];
        let table: [(bool, Option<&[String]>, bool); 5] = [
            (false, None, true),
            (false, Some(&one), true),
            (false, Some(&other), false),
            (true, None, false),
            (true, Some(&one), false),
        ];
        for (disabled, lines, want) in table {
            assert_eq!(
                may_take(Candidate { disabled, lines }, "line-1"),
                want,
                "{disabled} {lines:?}"
            );
        }
    }
}

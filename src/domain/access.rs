//! Who may do what: roles, what a route needs, who is calling, and the one decision
//! between them. The route table in `http/mod.rs` names an [`Access`] per route; this
//! module decides.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A person's role, lowest first: each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs a line: reads, raises, acknowledges and resolves Andon tickets, classifies downtime.
    Operator,
    /// Leads a shift: also cancels and assigns tickets.
    Supervisor,
    /// Owns the plant model and PLC data: also ingests tags.
    Engineer,
    /// Owns accounts, display tokens, flags and the audit log.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Operator, Role::Supervisor, Role::Engineer, Role::Admin];

    /// The name used in config, tokens and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Engineer => "engineer",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone (health, the web UI's files, login).
    Open,
    /// Prometheus metrics: open unless a metrics token is configured.
    Metrics,
    /// Reads: every signed-in role and display tokens (line scope applies).
    Read,
    /// Shop-floor writes: every signed-in role.
    Operate,
    /// Supervisor writes (cancelling a ticket, running jobs, voiding entries).
    Supervise,
    /// Engineer writes (products, maintenance orders): engineers and admins.
    Engineer,
    /// Tag ingest: engineers, admins and the ingest token.
    Ingest,
    /// Accounts, display tokens, flags, audit.
    Admin,
    /// Records forwarded by an edge: the forward token only.
    Forward,
}

impl Access {
    /// Whether the route changes something.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Access::Operate | Access::Supervise | Access::Engineer | Access::Ingest | Access::Admin | Access::Forward
        )
    }

    /// Whether maintenance mode pauses the route for non-admins: every write but tag
    /// ingest and an edge's forwarded records (telemetry keeps flowing, as it does over
    /// OPC UA).
    pub fn paused_in_maintenance(self) -> bool {
        self.is_write() && self != Access::Ingest && self != Access::Forward
    }
}

/// Who is calling, once their credential checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A signed-in person (access token).
    User {
        /// Username.
        username: String,
        /// Role.
        role: Role,
        /// Lines they see and act on; `None`: all.
        lines: Option<Vec<String>>,
    },
    /// A wall display (read-only display token).
    Display {
        /// Token id.
        id: i64,
        /// Its name ("Hall 2 east wall").
        name: String,
        /// Lines it shows; `None`: all.
        lines: Option<Vec<String>>,
    },
    /// A tag gateway (the configured ingest token).
    Ingest,
    /// A Prometheus scraper (the configured metrics token).
    Metrics,
    /// An edge MS5 forwarding its records (the configured forward token).
    Forward,
}

impl Principal {
    /// The name written to the audit log and onto tickets.
    pub fn name(&self) -> String {
        match self {
            Principal::User { username, .. } => username.clone(),
            Principal::Display { name, id, .. } => format!("display:{id}:{name}"),
            Principal::Ingest => "ingest-token".to_owned(),
            Principal::Metrics => "metrics-token".to_owned(),
            Principal::Forward => "forward-token".to_owned(),
        }
    }

    /// The role of a person; `None` for tokens.
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::User { role, .. } => Some(*role),
            _ => None,
        }
    }

    /// Whether this is an admin.
    pub fn is_admin(&self) -> bool {
        self.role() == Some(Role::Admin)
    }

    /// Lines this caller is limited to; `None`: all lines.
    pub fn line_scope(&self) -> Option<&[String]> {
        match self {
            Principal::User { lines, .. } | Principal::Display { lines, .. } => lines.as_deref(),
            Principal::Ingest | Principal::Metrics | Principal::Forward => None,
        }
    }

    /// Whether the caller may see and act on `line`.
    pub fn sees_line(&self, line: &str) -> bool {
        self.line_scope().is_none_or(|lines| lines.iter().any(|l| l == line))
    }
}

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No valid credential: 401.
    Unauthenticated,
    /// A valid credential without the right: 403, saying what is needed.
    Forbidden(&'static str),
}

/// Decides whether `caller` may use a route that needs `access`.
pub fn decide(access: Access, caller: Option<&Principal>) -> Result<(), Denial> {
    use Principal as P;
    if access == Access::Open {
        return Ok(());
    }
    let Some(caller) = caller else {
        return Err(Denial::Unauthenticated);
    };
    let allowed = match (access, caller) {
        (Access::Open, _) => true,
        (Access::Metrics, P::Metrics) => true,
        (Access::Metrics, P::User { role, .. }) => *role >= Role::Engineer,
        (Access::Read, P::User { .. } | P::Display { .. }) => true,
        (Access::Operate, P::User { .. }) => true,
        (Access::Supervise, P::User { role, .. }) => *role >= Role::Supervisor,
        (Access::Engineer, P::User { role, .. }) => *role >= Role::Engineer,
        (Access::Ingest, P::Ingest) => true,
        (Access::Ingest, P::User { role, .. }) => *role >= Role::Engineer,
        (Access::Admin, P::User { role, .. }) => *role == Role::Admin,
        (Access::Forward, P::Forward) => true,
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    Err(Denial::Forbidden(match access {
        Access::Open | Access::Read => "a person's access token or a display token",
        Access::Metrics => "the metrics token or an engineer",
        Access::Operate => "a signed-in person (display and ingest tokens are read-only or ingest-only)",
        Access::Supervise => "a supervisor, engineer or admin",
        Access::Engineer => "an engineer or admin",
        Access::Ingest => "the ingest token, an engineer or an admin",
        Access::Admin => "an admin",
        Access::Forward => "the forward token",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> Principal {
        Principal::User {
            username: "u".into(),
            role,
            lines: None,
        }
    }

    #[test]
    fn decisions_follow_the_role_table() {
        let display = Principal::Display {
            id: 1,
            name: "wall".into(),
            lines: None,
        };
        // (access, caller, allowed); `None` caller is anonymous.
        let op = user(Role::Operator);
        let sup = user(Role::Supervisor);
        let eng = user(Role::Engineer);
        let adm = user(Role::Admin);
        let table: &[(Access, Option<&Principal>, bool)] = &[
            (Access::Open, None, true),
            (Access::Read, None, false),
            (Access::Read, Some(&op), true),
            (Access::Read, Some(&display), true),
            (Access::Read, Some(&Principal::Ingest), false),
            (Access::Operate, Some(&op), true),
            (Access::Operate, Some(&display), false),
            (Access::Operate, Some(&Principal::Ingest), false),
            (Access::Supervise, Some(&op), false),
            (Access::Supervise, Some(&sup), true),
            (Access::Engineer, Some(&sup), false),
            (Access::Engineer, Some(&eng), true),
            (Access::Engineer, Some(&adm), true),
            (Access::Ingest, Some(&sup), false),
            (Access::Ingest, Some(&eng), true),
            (Access::Ingest, Some(&Principal::Ingest), true),
            (Access::Ingest, Some(&display), false),
            (Access::Admin, Some(&eng), false),
            (Access::Admin, Some(&adm), true),
            (Access::Admin, Some(&Principal::Ingest), false),
            (Access::Metrics, Some(&Principal::Metrics), true),
            (Access::Metrics, Some(&op), false),
            (Access::Metrics, Some(&eng), true),
            (Access::Read, Some(&Principal::Metrics), false),
        ];
        for (access, caller, allowed) in table {
            let got = decide(*access, *caller);
            assert_eq!(got.is_ok(), *allowed, "{access:?} by {caller:?}: {got:?}");
            if caller.is_none() && !allowed {
                assert_eq!(got, Err(Denial::Unauthenticated));
            }
        }
    }

    #[test]
    fn line_scope_limits_what_a_caller_sees() {
        let scoped = Principal::Display {
            id: 2,
            name: "east".into(),
            lines: Some(vec!["line-a".into()]),
        };
        assert!(scoped.sees_line("line-a"));
        assert!(!scoped.sees_line("line-b"));
        assert!(user(Role::Operator).sees_line("line-b"));
        assert!(Access::Operate.is_write() && !Access::Read.is_write() && !Access::Metrics.is_write());
    }
}

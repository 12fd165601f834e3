//! Feature flags: the switches admins turn at run time.

use serde::Serialize;

/// One switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// WebSocket pushes (`/ws`); off refuses and closes WebSocket connections.
    RealTimeUpdates,
    /// Past-window OEE (`?from=&to=`) and the downtime Pareto.
    AdvancedAnalytics,
    /// Andon escalation pages; off holds due levels until it is on again.
    EscalationSystem,
    /// The web UI's service worker, which keeps the board's shell loading offline.
    OfflineSupport,
    /// Blocks writes for everyone but admins and shows a banner on every screen.
    MaintenanceMode,
}

impl Flag {
    /// Every flag.
    pub const ALL: [Flag; 5] = [
        Flag::RealTimeUpdates,
        Flag::AdvancedAnalytics,
        Flag::EscalationSystem,
        Flag::OfflineSupport,
        Flag::MaintenanceMode,
    ];

    /// The name in config and the API.
    pub fn name(self) -> &'static str {
        match self {
            Flag::RealTimeUpdates => "real_time_updates",
            Flag::AdvancedAnalytics => "advanced_analytics",
            Flag::EscalationSystem => "escalation_system",
            Flag::OfflineSupport => "offline_support",
            Flag::MaintenanceMode => "maintenance_mode",
        }
    }

    /// Parses a flag name.
    pub fn parse(s: &str) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Position in [`Flag::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_matches_all() {
        for (i, f) in Flag::ALL.into_iter().enumerate() {
            assert_eq!(Flag::parse(f.name()), Some(f));
            assert_eq!(f.index(), i);
        }
        assert_eq!(Flag::parse("maintenance"), None);
    }
}

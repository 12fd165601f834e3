//! `[auth]`, `[flags]` and the deployment profile.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::domain::flags::Flag;

/// The JWT secret printed in `config/production.toml`: production refuses it.
pub const EXAMPLE_SECRET_PREFIX: &str = "CHANGE-ME";
/// Shortest secret accepted for signing tokens.
pub const MIN_SECRET_BYTES: usize = 32;

/// Deployment profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Laptops and tests: a missing JWT secret is generated per start (tokens die on restart).
    #[default]
    Development,
    /// Refuses example or short secrets.
    Production,
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// HS256 secret for access tokens, at least 32 bytes (`MS5__AUTH__JWT_SECRET`).
    pub jwt_secret: Option<String>,
    /// `iss` of access tokens.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// Life of an access token.
    #[serde(with = "humantime_serde")]
    pub access_ttl: Duration,
    /// Life of a refresh token.
    #[serde(with = "humantime_serde")]
    pub refresh_ttl: Duration,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// Bearer token for `POST /api/v1/ingest` (`MS5__AUTH__INGEST_TOKEN`); none: engineers only.
    pub ingest_token: Option<String>,
    /// Bearer token required on `/metrics` (`MS5__AUTH__METRICS_TOKEN`); none: open.
    pub metrics_token: Option<String>,
    /// Bearer token edges forward their records with to `POST /api/v1/forward`
    /// (`MS5__AUTH__FORWARD_TOKEN`); none: this MS5 takes no forwarded records.
    pub forward_token: Option<String>,
    /// Failed logins allowed per username before it is locked.
    pub user_free_failures: u32,
    /// Failed logins allowed per client address before it is locked.
    pub address_free_failures: u32,
    /// First lock; doubles with each further failure.
    #[serde(with = "humantime_serde")]
    pub lockout_base: Duration,
    /// Longest lock.
    #[serde(with = "humantime_serde")]
    pub lockout_max: Duration,
    /// Failures are forgotten after this long without one.
    #[serde(with = "humantime_serde")]
    pub lockout_forget: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            jwt_secret: None,
            issuer: "ms5".into(),
            audience: "ms5".into(),
            access_ttl: Duration::from_secs(30 * 60),
            refresh_ttl: Duration::from_secs(7 * 24 * 3600),
            leeway: Duration::from_secs(30),
            ingest_token: None,
            metrics_token: None,
            forward_token: None,
            user_free_failures: 5,
            address_free_failures: 20,
            lockout_base: Duration::from_secs(1),
            lockout_max: Duration::from_secs(15 * 60),
            lockout_forget: Duration::from_secs(15 * 60),
        }
    }
}

/// `[flags]`: the state of each feature flag at first start (admins change them at run
/// time; their changes are stored and win over these).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlagSettings {
    /// WebSocket pushes.
    pub real_time_updates: bool,
    /// Past-window OEE and the Pareto.
    pub advanced_analytics: bool,
    /// Andon escalation pages.
    pub escalation_system: bool,
    /// The web UI's offline service worker.
    pub offline_support: bool,
    /// Writes blocked for non-admins, banner shown.
    pub maintenance_mode: bool,
}

impl Default for FlagSettings {
    fn default() -> Self {
        FlagSettings {
            real_time_updates: true,
            advanced_analytics: true,
            escalation_system: true,
            offline_support: true,
            maintenance_mode: false,
        }
    }
}

impl FlagSettings {
    /// The configured value of `flag`.
    pub fn get(&self, flag: Flag) -> bool {
        match flag {
            Flag::RealTimeUpdates => self.real_time_updates,
            Flag::AdvancedAnalytics => self.advanced_analytics,
            Flag::EscalationSystem => self.escalation_system,
            Flag::OfflineSupport => self.offline_support,
            Flag::MaintenanceMode => self.maintenance_mode,
        }
    }
}

impl AuthSettings {
    pub(super) fn validate(&self, file: &str, profile: Profile) -> Result<(), ConfigError> {
        let err = |key: &str, reason: String| Err(ConfigError::new(file, key, reason));
        let secrets = [
            ("auth.jwt_secret", &self.jwt_secret, MIN_SECRET_BYTES),
            ("auth.ingest_token", &self.ingest_token, 24),
            ("auth.metrics_token", &self.metrics_token, 24),
            ("auth.forward_token", &self.forward_token, 24),
        ];
        for (key, value, min) in secrets {
            let Some(v) = value else { continue };
            if v.len() < min {
                return err(
                    key,
                    format!("must be at least {min} bytes (e.g. `openssl rand -base64 48`)"),
                );
            }
            if profile == Profile::Production && v.starts_with(EXAMPLE_SECRET_PREFIX) {
                return err(
                    key,
                    "is the example value: the production profile needs a secret of your own".into(),
                );
            }
        }
        if profile == Profile::Production && self.jwt_secret.is_none() {
            return err(
                "auth.jwt_secret",
                "the production profile needs a secret (set MS5__AUTH__JWT_SECRET)".into(),
            );
        }
        if self.access_ttl < Duration::from_secs(60) || self.refresh_ttl <= self.access_ttl {
            return err(
                "auth.refresh_ttl",
                "access_ttl must be at least 1m and refresh_ttl longer than access_ttl".into(),
            );
        }
        if self.leeway > Duration::from_secs(300) {
            return err("auth.leeway", "must be at most 5m".into());
        }
        if self.user_free_failures == 0 || self.address_free_failures == 0 || self.lockout_base.is_zero() {
            return err(
                "auth",
                "user_free_failures, address_free_failures and lockout_base must be above 0".into(),
            );
        }
        if self.lockout_max < self.lockout_base {
            return err("auth.lockout_max", "must not be shorter than auth.lockout_base".into());
        }
        Ok(())
    }
}

/// Checks an allowed origin: `scheme://host[:port]`, no path, no wildcard.
pub(super) fn validate_origin(origin: &str) -> Result<(), String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("`{origin}` must start with http:// or https://"))?;
    if rest.is_empty() || rest.contains('/') || rest.contains('*') || rest.contains(char::is_whitespace) {
        return Err(format!(
            "`{origin}` must be scheme://host[:port] with no path, trailing slash or wildcard"
        ));
    }
    Ok(())
}

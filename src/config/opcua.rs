//! `[opcua]`: PLC endpoints MS5 subscribes to, and the OPC UA server `ms5 simulate` runs.
//!
//! Node ids come from a template per endpoint (`ns=2;s={tag}` by default: the tag name as
//! a string id) with per-tag overrides, so a plant model written for the simulator maps
//! onto a real PLC or gateway by configuration alone.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// `[opcua]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpcUaSettings {
    /// PLCs and gateways to subscribe to.
    #[serde(default)]
    pub endpoints: Vec<OpcUaEndpoint>,
    /// The server of `ms5 simulate`.
    #[serde(default)]
    pub server: OpcUaServerSettings,
    /// Delay before the first reconnect attempt after a lost or failed connection; it
    /// doubles per attempt (with jitter) up to `reconnect_max`.
    #[serde(default = "default_reconnect_base", with = "humantime_serde")]
    pub reconnect_base: Duration,
    /// Longest delay between reconnect attempts: a restarted PLC delivers data again
    /// within about this long.
    #[serde(default = "default_reconnect_max", with = "humantime_serde")]
    pub reconnect_max: Duration,
}

impl Default for OpcUaSettings {
    fn default() -> Self {
        OpcUaSettings {
            endpoints: Vec::new(),
            server: OpcUaServerSettings::default(),
            reconnect_base: default_reconnect_base(),
            reconnect_max: default_reconnect_max(),
        }
    }
}

impl OpcUaSettings {
    /// The reconnect delays as the client uses them.
    pub fn reconnect(&self) -> Reconnect {
        Reconnect {
            base: self.reconnect_base,
            max: self.reconnect_max,
        }
    }

    pub(super) fn validate(&self, file: &str) -> Result<(), ConfigError> {
        self.reconnect().check(file, "opcua")
    }
}

/// How a PLC endpoint retries: the first delay, doubling up to the longest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    /// First delay.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Reconnect {
    /// The delays of `[section]` (`reconnect_base`, `reconnect_max`) make sense: a first
    /// delay above 0, and a longest one not below it.
    pub(super) fn check(self, file: &str, section: &str) -> Result<(), ConfigError> {
        if self.base.is_zero() {
            return Err(ConfigError::new(
                file,
                format!("{section}.reconnect_base"),
                "must be longer than 0",
            ));
        }
        if self.max < self.base {
            return Err(ConfigError::new(
                file,
                format!("{section}.reconnect_max"),
                format!(
                    "must not be shorter than {section}.reconnect_base ({})",
                    humantime::format_duration(self.base)
                ),
            ));
        }
        Ok(())
    }
}

/// Security policy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityPolicyName {
    /// No security.
    #[default]
    None,
    /// Basic256Sha256.
    Basic256sha256,
}

/// Message security modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityModeName {
    /// Plain.
    #[default]
    None,
    /// Signed.
    Sign,
    /// Signed and encrypted.
    SignAndEncrypt,
}

/// A password from its environment variable, else the inline value.
fn password_from(env: &Option<String>, inline: &Option<String>) -> Option<String> {
    env.as_ref()
        .and_then(|v| std::env::var(v).ok())
        .or_else(|| inline.clone())
}

/// The first reconnect delay of every PLC source section, unless set.
pub(super) fn default_reconnect_base() -> Duration {
    Duration::from_millis(500)
}
/// The longest reconnect delay of every PLC source section, unless set.
pub(super) fn default_reconnect_max() -> Duration {
    Duration::from_secs(5)
}
fn default_pki() -> PathBuf {
    PathBuf::from("data/pki")
}
fn default_publishing() -> Duration {
    Duration::from_millis(500)
}
fn default_sampling() -> Duration {
    Duration::from_millis(250)
}
fn default_queue() -> u32 {
    10
}
fn default_template() -> String {
    "ns=2;s={tag}".to_owned()
}

/// `[[opcua.endpoints]]`: one PLC or gateway.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpcUaEndpoint {
    /// Name (logs and metrics).
    pub name: String,
    /// `opc.tcp://host:port/path`.
    pub url: String,
    /// `none` or `basic256sha256`.
    #[serde(default)]
    pub security_policy: SecurityPolicyName,
    /// `none`, `sign` or `sign_and_encrypt`.
    #[serde(default)]
    pub security_mode: SecurityModeName,
    /// User name; anonymous without one.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The password itself (tests and development only).
    #[serde(default)]
    pub password: Option<String>,
    /// Client certificate and trust lists (`own/`, `private/`, `trusted/`, `rejected/`);
    /// the certificate is generated on first start.
    #[serde(default = "default_pki")]
    pub pki_dir: PathBuf,
    /// Trust the server's certificate on first use instead of requiring it in `trusted/`.
    #[serde(default)]
    pub trust_server_certs: bool,
    /// Subscription publishing interval.
    #[serde(default = "default_publishing", with = "humantime_serde")]
    pub publishing_interval: Duration,
    /// Default sampling interval of monitored items.
    #[serde(default = "default_sampling", with = "humantime_serde")]
    pub sampling_interval: Duration,
    /// Values the server keeps per item between publishes (raise it for fast counters, so
    /// no change is dropped between two publishes).
    #[serde(default = "default_queue")]
    pub queue_size: u32,
    /// Node id of a tag: `{tag}` is replaced by the tag name.
    #[serde(default = "default_template")]
    pub node_id: String,
    /// Machines fed by this endpoint (ids); empty: every machine.
    #[serde(default)]
    pub machines: Vec<String>,
    /// Node ids of single tags, overriding the template (`"L1.Filler.Good" = "ns=3;i=1042"`).
    #[serde(default)]
    pub nodes: BTreeMap<String, String>,
    /// Sampling intervals of single tags (`"L1.Filler.State" = "100ms"`).
    #[serde(default)]
    pub sampling: BTreeMap<String, String>,
}

impl std::fmt::Debug for OpcUaEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpcUaEndpoint")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("security_policy", &self.security_policy)
            .field("security_mode", &self.security_mode)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl OpcUaEndpoint {
    /// The password, from the environment variable or inline.
    pub fn password(&self) -> Option<String> {
        password_from(&self.password_env, &self.password)
    }

    /// The node id string of a tag.
    pub fn node_of(&self, tag: &str) -> String {
        self.nodes
            .get(tag)
            .cloned()
            .unwrap_or_else(|| self.node_id.replace("{tag}", tag))
    }

    /// The sampling interval of a tag.
    pub fn sampling_of(&self, tag: &str) -> Duration {
        self.sampling
            .get(tag)
            .and_then(|s| humantime::parse_duration(s).ok())
            .unwrap_or(self.sampling_interval)
    }

    pub(super) fn validate(&self, file: &str, key: &str) -> Result<(), ConfigError> {
        let err = |k: &str, reason: String| Err(ConfigError::new(file, format!("{key}.{k}"), reason));
        if self.name.trim().is_empty() {
            return err("name", "must not be empty".into());
        }
        if self.sampling_interval.is_zero() && self.queue_size < 100 {
            return err(
                "sampling_interval",
                "0 (as fast as the server can) needs queue_size of at least 100".into(),
            );
        }
        if self.password_env.is_some() && self.username.is_none() {
            return err("username", "password_env is set but username is not".into());
        }
        if !self.url.starts_with("opc.tcp://") {
            return err("url", "must be an opc.tcp:// URL".into());
        }
        match (self.security_policy, self.security_mode) {
            (SecurityPolicyName::None, SecurityModeName::None) => {}
            (SecurityPolicyName::None, _) => {
                return err("security_mode", "must be `none` with security_policy `none`".into());
            }
            (_, SecurityModeName::None) => {
                return err(
                    "security_mode",
                    "must be `sign` or `sign_and_encrypt` with a security policy".into(),
                );
            }
            _ => {}
        }
        if self.username.is_some() && self.password().is_none() {
            return err(
                "password_env",
                "a username needs a password (set the environment variable)".into(),
            );
        }
        if !self.node_id.contains("{tag}") {
            return err("node_id", "the template must contain {tag}".into());
        }
        for (tag, value) in &self.sampling {
            if humantime::parse_duration(value).is_err() {
                return err(&format!("sampling.{tag}"), format!("`{value}` is not a duration"));
            }
        }
        if self.queue_size == 0 {
            return err("queue_size", "must be at least 1".into());
        }
        if self.publishing_interval.is_zero() {
            return err("publishing_interval", "must be longer than 0".into());
        }
        Ok(())
    }
}

/// `[opcua.server]`: what `ms5 simulate` serves.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpcUaServerSettings {
    /// Serve the simulated plant over OPC UA (`ms5 simulate`).
    pub enabled: bool,
    /// Address to bind.
    pub host: String,
    /// Port (0: any free port).
    pub port: u16,
    /// Namespace URI of the simulated tags (index 2 on this server).
    pub namespace: String,
    /// Server certificate and trust lists.
    pub pki_dir: PathBuf,
    /// Trust client certificates on first use (a demo stand-in; real PLCs require trust).
    pub trust_client_certs: bool,
    /// Also offer Basic256Sha256 SignAndEncrypt with this user (password from `password_env`).
    pub username: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// The password itself (tests and development only).
    pub password: Option<String>,
}

impl Default for OpcUaServerSettings {
    fn default() -> Self {
        OpcUaServerSettings {
            enabled: true,
            host: "127.0.0.1".to_owned(),
            port: 4855,
            namespace: "urn:ms5:sim".to_owned(),
            pki_dir: PathBuf::from("data/pki-server"),
            trust_client_certs: true,
            username: None,
            password_env: None,
            password: None,
        }
    }
}

impl std::fmt::Debug for OpcUaServerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpcUaServerSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("namespace", &self.namespace)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl OpcUaServerSettings {
    /// The password, from the environment variable or inline.
    pub fn password(&self) -> Option<String> {
        password_from(&self.password_env, &self.password)
    }
}

//! Service configuration: `config/default.toml` (or `--config FILE`), overridden by
//! `MS5__SECTION__KEY` environment variables, plus the plant model file it names.
//!
//! Everything is validated at load; an error names the file, the key (one syntax:
//! `lines[0].machines[2].ideal_cycle_time`), the reason and, where known, the line and the
//! machine, and `serve` refuses to start on one.

mod analytics;
mod andon_file;
mod auth;
mod cluster;
mod defects_file;
mod enip;
mod forward;
mod modbus;
mod mqtt;
mod opcua;
mod plant_file;
mod proxy_range;
mod reason;
mod redis;
mod source;

pub use modbus::{ModbusEndpoint, ModbusServerSettings, ModbusSettings, TagAddress, TagEntry, TagPoint};
pub use mqtt::{MqttEndpoint, MqttSettings, SparkplugNode, SparkplugSettings, TopicMap, broker_address};
pub use opcua::{OpcUaEndpoint, OpcUaServerSettings, OpcUaSettings, Reconnect, SecurityModeName, SecurityPolicyName};

pub use analytics::AnalyticsSettings;
pub use auth::{AuthSettings, EXAMPLE_SECRET_PREFIX, FlagSettings, MIN_SECRET_BYTES, Profile};
pub use cluster::ClusterSettings;
pub use enip::{LogixEndpoint, LogixSettings, PcccEndpoint, PcccSettings, machines_of, parse_route, socket_address};
pub use forward::ForwardSettings;
pub use plant_file::parse as parse_plant;
pub use proxy_range::ProxyRange;
pub use redis::RedisSettings;

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

use crate::domain::plant::PlantModel;
use source::{KeyPath, Segment, SourceMap, SyntaxError, resolve_without_source};

/// The configuration shipped in the binary, used when `config/default.toml` is absent so
/// the binary runs the simulated plant from any directory.
const EMBEDDED_DEFAULT: &str = include_str!("../../config/default.toml");
const EMBEDDED_PLANT: &str = include_str!("../../config/plant.toml");
/// Where `serve` looks when no `--config` is given.
pub const DEFAULT_CONFIG_PATH: &str = "config/default.toml";

/// A configuration error: which file, which key, why, and where known the line and the
/// machine or line it concerns.
///
/// Shown as `file: key: reason (machine l1-capper, file:line)`.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}: {reason}{}", self.whereabouts())]
pub struct ConfigError {
    /// The file (or `environment (MS5__…)` for `MS5__…` variables).
    pub file: String,
    /// The key: keys as written joined by dots, `[n]` for an array element from 0
    /// (`lines[0].machines[2].ideal_cycle_time`); `(file)`, `(toml syntax)` or
    /// `(top level)` when the error is about no one key.
    pub key: String,
    /// What is wrong.
    pub reason: String,
    /// The line of the file the key is on (from 1), where known.
    pub line: Option<usize>,
    /// The machine or line the key belongs to, by id (`machine l1-capper`), where it
    /// belongs to one.
    pub subject: Option<String>,
}

impl ConfigError {
    pub(crate) fn new(file: impl Into<String>, key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            key: key.into(),
            reason: reason.into(),
            line: None,
            subject: None,
        }
    }

    /// ` (machine l1-capper, plant.toml:58)`, as much of it as is known.
    fn whereabouts(&self) -> String {
        let line = self.line.map(|l| format!("{}:{l}", self.file));
        match (self.subject.clone(), line) {
            (Some(s), Some(l)) => format!(" ({s}, {l})"),
            (Some(x), None) | (None, Some(x)) => format!(" ({x})"),
            (None, None) => String::new(),
        }
    }

    /// Adds the line the key is on in `source`, and the machine or line it belongs to.
    pub(crate) fn located(mut self, source: &SourceMap) -> Self {
        if let Some(path) = KeyPath::parse(&self.key) {
            self.line = self.line.or_else(|| source.line_of(&path));
            self.subject = self.subject.or_else(|| source.subject_of(&path));
        }
        self
    }

    /// A file that is not TOML.
    fn syntax(file: &str, e: SyntaxError) -> Self {
        let mut err = ConfigError::new(file, "(toml syntax)", e.message);
        err.line = e.line;
        err
    }

    /// A figment error about `file`, whose text is `source` (when at hand). Values from
    /// `MS5__…` variables are blamed on the environment, without a line.
    fn from_figment(file: &str, err: figment::Error, source: Option<&SourceMap>) -> Self {
        let from_env = err.metadata.as_ref().is_some_and(|m| m.name.contains("environment"));
        let from_file = !from_env && err.metadata.as_ref().is_none_or(|m| m.name.starts_with("TOML"));
        let source = source.filter(|_| from_file);
        let path = match source {
            Some(s) => s.resolve(&err.path),
            None => resolve_without_source(&err.path),
        };
        let (path, reason) = reason::describe(&err.kind, path);
        let key = if path.0.is_empty() {
            "(top level)".to_owned()
        } else {
            path.to_string()
        };
        let file = if from_env { ENV_SOURCE } else { file };
        let err = ConfigError::new(file, key, reason);
        match source {
            Some(s) => err.located(s),
            None => err,
        }
    }
}

/// What errors name as the file for a value from an `MS5__…` variable.
const ENV_SOURCE: &str = "environment (MS5__…)";

/// Everything `serve` needs to know.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `development` (default) or `production` (refuses example and missing secrets).
    #[serde(default)]
    pub profile: Profile,
    /// HTTP server.
    pub http: HttpSettings,
    /// Durable store.
    pub store: StoreSettings,
    /// The plant model file.
    pub plant: PlantSettings,
    /// The built-in simulated plant.
    pub simulator: SimulatorSettings,
    /// WebSocket pushes.
    pub websocket: WebSocketSettings,
    /// Logging.
    pub log: LogSettings,
    /// Pager deliveries.
    #[serde(default)]
    pub pager: PagerSettings,
    /// OPC UA endpoints and the `ms5 simulate` server.
    #[serde(default)]
    pub opcua: OpcUaSettings,
    /// Modbus TCP devices and the `ms5 simulate` Modbus server.
    #[serde(default)]
    pub modbus: ModbusSettings,
    /// Logix (ControlLogix/CompactLogix) controllers over EtherNet/IP.
    #[serde(default)]
    pub logix: LogixSettings,
    /// SLC 500 and MicroLogix controllers (PCCC over EtherNet/IP).
    #[serde(default)]
    pub pccc: PcccSettings,
    /// MQTT brokers (plain topics and Sparkplug B).
    #[serde(default)]
    pub mqtt: MqttSettings,
    /// Accounts and tokens.
    #[serde(default)]
    pub auth: AuthSettings,
    /// Feature flags at first start.
    #[serde(default)]
    pub flags: FlagSettings,
    /// Loss analytics: the start-up period and the trend warning.
    #[serde(default)]
    pub analytics: AnalyticsSettings,
    /// Shift reports stored at shift end.
    #[serde(default)]
    pub reports: ReportSettings,
    /// Store-and-forward to a central MS5 (an edge's).
    #[serde(default)]
    pub forward: ForwardSettings,
    /// `[cluster]`: several replicas on one PostgreSQL.
    #[serde(default)]
    pub cluster: ClusterSettings,
    /// `[redis]`: live state shared between replicas.
    #[serde(default)]
    pub redis: RedisSettings,
}

/// `[reports]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    /// How often the shift reporter looks for shifts that have ended.
    #[serde(with = "humantime_serde")]
    pub check_interval: Duration,
    /// How far back it stores reports of ended shifts that have none (after a restart).
    #[serde(with = "humantime_serde")]
    pub catch_up: Duration,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            check_interval: Duration::from_secs(30),
            catch_up: Duration::from_secs(24 * 3600),
        }
    }
}

/// `[pager]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PagerSettings {
    /// Longest one delivery attempt may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Attempts before a delivery is given up (and counted as failed).
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt (with jitter).
    #[serde(with = "humantime_serde")]
    pub backoff_base: Duration,
    /// Longest retry delay.
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
}

impl Default for PagerSettings {
    fn default() -> Self {
        PagerSettings {
            timeout: Duration::from_secs(10),
            max_attempts: 10,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(300),
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind (0: any free port).
    pub port: u16,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// HTTP worker threads (default: one per core).
    #[serde(default)]
    pub workers: Option<usize>,
    /// Other origins (`https://host[:port]`) whose pages may call the API (CORS) and open
    /// the WebSocket. The dashboard's own origin is always allowed.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Reverse proxies in front of MS5, as addresses or CIDR ranges: from these, the client
    /// address is taken from `X-Forwarded-For` (for sign-in limits and the audit log).
    #[serde(default)]
    pub trusted_proxies: Vec<ProxyRange>,
}

/// `[store]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `sqlite://path` (created if missing) or `postgres://user:password@host/db`.
    pub url: String,
    /// Keep raw tag samples.
    pub raw_samples: bool,
    /// How long raw samples are kept.
    #[serde(with = "humantime_serde")]
    pub raw_retention: Duration,
    /// How long per-minute parts and state intervals are kept.
    #[serde(with = "humantime_serde", default = "default_telemetry_retention")]
    pub telemetry_retention: Duration,
    /// How long audit entries are kept.
    #[serde(with = "humantime_serde", default = "default_audit_retention")]
    pub audit_retention: Duration,
    /// Longest a telemetry row waits before it is written.
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    /// Largest batch written at once (rows).
    pub batch_max: usize,
    /// Most raw tag samples held while the database cannot be written (an outage): past it
    /// new ones are dropped and counted.
    #[serde(default = "default_backlog_max")]
    pub backlog_max: usize,
}

/// `[plant]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantSettings {
    /// The plant model file, relative to the configuration file.
    pub model: PathBuf,
}

/// `[simulator]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSettings {
    /// Run the simulated plant in process.
    pub enabled: bool,
    /// Seed: the same seed gives the same plant history.
    pub seed: u64,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// How often the simulator emits what happened, real time.
    #[serde(with = "humantime_serde")]
    pub step: Duration,
}

/// Two minutes of 5,000 raw samples a second, about 60 MB.
fn default_backlog_max() -> usize {
    600_000
}

fn default_telemetry_retention() -> Duration {
    Duration::from_secs(90 * 86_400)
}

fn default_audit_retention() -> Duration {
    Duration::from_secs(365 * 86_400)
}

impl StoreSettings {
    /// How long each kind of record is kept.
    pub fn retention(&self) -> crate::store::Retention {
        crate::store::Retention {
            raw: self.raw_retention,
            telemetry: self.telemetry_retention,
            audit: self.audit_retention,
        }
    }
}

fn default_outbound_bytes() -> usize {
    64 * 1024
}

/// `[websocket]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSocketSettings {
    /// Changes to one entity are pushed at most once per this interval.
    #[serde(with = "humantime_serde")]
    pub coalesce: Duration,
    /// Interval of server pings and heartbeat frames.
    #[serde(with = "humantime_serde")]
    pub heartbeat: Duration,
    /// A client silent for this long is disconnected.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Largest accepted client frame, bytes.
    pub max_frame_bytes: usize,
    /// Most one-off frames (errors, pongs, heartbeats) waiting for one slow client; states
    /// of entities are kept at most one per entity whatever this says.
    pub outbound_queue: usize,
    /// Most bytes of one-off frames waiting for one client; past it or `outbound_queue`
    /// the client is closed with 1013.
    #[serde(default = "default_outbound_bytes")]
    pub outbound_bytes: usize,
    /// How often a running job's progress is pushed on `jobs:{line}` (changes of state go
    /// out at once).
    #[serde(with = "humantime_serde", default = "default_job_progress")]
    pub job_progress: Duration,
}

fn default_job_progress() -> Duration {
    Duration::from_secs(5)
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info,ms5=debug`. The OPC UA client library's own log
    /// (`opcua_client`) is off unless the filter names it (see [`crate::logging`]).
    pub level: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Settings and plant model, loaded and validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Service settings.
    pub settings: Settings,
    /// The plant.
    pub plant: PlantModel,
    /// Where the settings came from (for messages).
    pub source: String,
    /// The configuration file read, as an absolute path (`None`: the built-in one).
    pub file: Option<PathBuf>,
}

impl Config {
    /// Loads `path`, or `config/default.toml` (falling back to the embedded copy when
    /// that file does not exist and no path was given), then `MS5__…` overrides.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with(path, Figment::new())
    }

    /// As [`Config::load`], with extra overrides merged last (used by tests).
    pub fn load_with(path: Option<&Path>, overrides: Figment) -> Result<Config, ConfigError> {
        let (base, dir, source, file) = match path {
            Some(p) => {
                if !p.is_file() {
                    return Err(ConfigError::new(p.display().to_string(), "(file)", "no such file"));
                }
                let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
                (Toml::file(p), Some(dir), p.display().to_string(), Some(p.to_path_buf()))
            }
            None if Path::new(DEFAULT_CONFIG_PATH).is_file() => (
                Toml::file(DEFAULT_CONFIG_PATH),
                Some(PathBuf::from("config")),
                DEFAULT_CONFIG_PATH.to_owned(),
                Some(PathBuf::from(DEFAULT_CONFIG_PATH)),
            ),
            None => (
                Toml::string(EMBEDDED_DEFAULT),
                None,
                "embedded default.toml".to_owned(),
                None,
            ),
        };
        // The settings file's layout, read again only when an error needs its lines.
        let layout = || -> Result<Option<SourceMap>, ConfigError> {
            let text = match &file {
                Some(f) => match std::fs::read_to_string(f) {
                    Ok(text) => text,
                    Err(_) => return Ok(None),
                },
                None => EMBEDDED_DEFAULT.to_owned(),
            };
            SourceMap::parse(&text)
                .map(Some)
                .map_err(|e| ConfigError::syntax(&source, e))
        };
        let figment = Figment::from(base)
            .merge(Env::prefixed("MS5__").split("__"))
            .merge(overrides);
        let mut settings: Settings = match figment.extract() {
            Ok(settings) => settings,
            Err(e) => return Err(ConfigError::from_figment(&source, e, layout()?.as_ref())),
        };
        let blame = |e: ConfigError| blame_setting(e, &figment, layout().ok().flatten());
        settings.validate(&source).map_err(&blame)?;
        let profile = settings.profile;
        settings
            .forward
            .validate(&source, profile, dir.as_deref())
            .map_err(&blame)?;
        let plant = match &dir {
            Some(dir) => {
                let file = dir.join(&settings.plant.model);
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| ConfigError::new(file.display().to_string(), "(file)", format!("cannot read: {e}")))?;
                plant_file::parse(&text, &file.display().to_string())?
            }
            None => plant_file::parse(EMBEDDED_PLANT, "embedded plant.toml")?,
        };
        check_endpoints(&settings, &plant, &source).map_err(&blame)?;
        settings.modbus.validate(&source, &plant).map_err(&blame)?;
        enip::check(&settings.logix, &settings.pccc, &plant, &source).map_err(&blame)?;
        settings.mqtt.validate(&plant, &source).map_err(&blame)?;
        let file = match path {
            Some(p) => Some(p),
            None => dir.as_ref().map(|_| Path::new(DEFAULT_CONFIG_PATH)),
        }
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
        Ok(Config {
            settings,
            plant,
            source,
            file,
        })
    }

    /// A command line for `ms5 ARGS` that reaches this same configuration and database
    /// from any folder: `ms5 --config /abs/file.toml ARGS`, or, on the built-in
    /// configuration (whose database path is relative), `cd /this/folder && ms5 ARGS`.
    pub fn command_line(&self, args: &str) -> String {
        match &self.file {
            Some(file) => format!("ms5 --config {} {args}", shell_word(&file.display().to_string())),
            None => match std::env::current_dir() {
                Ok(dir) => format!("cd {} && ms5 {args}", shell_word(&dir.display().to_string())),
                Err(_) => format!("ms5 {args}"),
            },
        }
    }

    /// Which configuration and database this is, for commands that touch the store:
    /// `config /etc/ms5/default.toml, database /var/lib/ms5/ms5.db`.
    pub fn describe(&self) -> String {
        let config = match &self.file {
            Some(file) => file.display().to_string(),
            None => "built-in (no config/default.toml here)".to_owned(),
        };
        let database = crate::store::database_file(&self.settings.store.url)
            .map_or_else(|| self.settings.store.url.clone(), |p| p.display().to_string());
        format!("config {config}, database {database}")
    }
}

/// `s` quoted for a POSIX shell when it holds anything but plain path characters.
fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Places an error about a setting: a value from an `MS5__…` variable is blamed on the
/// environment; one from the settings file gets its line there.
fn blame_setting(err: ConfigError, figment: &Figment, layout: Option<SourceMap>) -> ConfigError {
    let Some(path) = KeyPath::parse(&err.key) else {
        return err;
    };
    let dotted: Vec<&str> = path
        .0
        .iter()
        .map_while(|s| match s {
            Segment::Key(k) => Some(k.as_str()),
            Segment::Index(_) => None,
        })
        .collect();
    match figment.find_metadata(&dotted.join(".")) {
        Some(m) if m.name.contains("environment") => ConfigError {
            file: ENV_SOURCE.to_owned(),
            ..err
        },
        Some(m) if !m.name.starts_with("TOML") => err,
        _ => match layout {
            Some(layout) => err.located(&layout),
            None => err,
        },
    }
}

/// OPC UA endpoints: valid, uniquely named, naming machines and tags the plant has.
fn check_endpoints(settings: &Settings, plant: &PlantModel, file: &str) -> Result<(), ConfigError> {
    let mut names = std::collections::HashSet::new();
    for (i, ep) in settings.opcua.endpoints.iter().enumerate() {
        let key = format!("opcua.endpoints[{i}]");
        ep.validate(file, &key)?;
        if !names.insert(ep.name.clone()) {
            return Err(ConfigError::new(
                file,
                format!("{key}.name"),
                format!("`{}` is used twice", ep.name),
            ));
        }
        if let Some(m) = ep.machines.iter().find(|m| plant.machine(m).is_none()) {
            return Err(ConfigError::new(
                file,
                format!("{key}.machines"),
                format!("no machine `{m}`"),
            ));
        }
        for (what, keys) in [
            ("nodes", ep.nodes.keys().collect::<Vec<_>>()),
            ("sampling", ep.sampling.keys().collect()),
        ] {
            if let Some(t) = keys.into_iter().find(|t| !plant.tags.contains_key(*t)) {
                return Err(ConfigError::new(
                    file,
                    format!("{key}.{what}.{t}"),
                    "no such tag in the plant model",
                ));
            }
        }
    }
    Ok(())
}

impl Settings {
    fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let err = |key: &str, reason: &str| Err(ConfigError::new(file, key, reason));
        if !crate::store::is_sqlite(&self.store.url) && !crate::store::is_postgres(&self.store.url) {
            return err(
                "store.url",
                "must start with sqlite: or postgres:// (e.g. sqlite://data/ms5.db, postgres://ms5@db/ms5)",
            );
        }
        if self.store.telemetry_retention < Duration::from_secs(86_400) {
            return err("store.telemetry_retention", "must be at least 1d");
        }
        if self.store.audit_retention < Duration::from_secs(86_400) {
            return err("store.audit_retention", "must be at least 1d");
        }
        if self.store.batch_max == 0 {
            return err("store.batch_max", "must be at least 1");
        }
        if self.store.backlog_max < self.store.batch_max {
            return err("store.backlog_max", "must be at least store.batch_max");
        }
        if self.store.flush_interval.is_zero() {
            return err("store.flush_interval", "must be longer than 0");
        }
        if !(self.simulator.speed > 0.0 && self.simulator.speed <= 1000.0) {
            return err("simulator.speed", "must be above 0 and at most 1000");
        }
        if self.simulator.step.is_zero() {
            return err("simulator.step", "must be longer than 0");
        }
        if self.websocket.heartbeat.is_zero() || self.websocket.idle_timeout <= self.websocket.heartbeat {
            return err(
                "websocket.idle_timeout",
                "must be longer than websocket.heartbeat (> 0)",
            );
        }
        if self.websocket.max_frame_bytes < 256 {
            return err("websocket.max_frame_bytes", "must be at least 256");
        }
        if self.websocket.job_progress.is_zero() {
            return err("websocket.job_progress", "must be longer than 0");
        }
        if self.websocket.outbound_bytes < 1024 {
            return err("websocket.outbound_bytes", "must be at least 1024");
        }
        if self.websocket.outbound_queue == 0 {
            return err("websocket.outbound_queue", "must be at least 1");
        }
        if self.http.max_body_bytes < 1024 {
            return err("http.max_body_bytes", "must be at least 1024");
        }
        if self.pager.max_attempts == 0 || self.pager.timeout.is_zero() || self.pager.backoff_base.is_zero() {
            return err("pager", "max_attempts, timeout and backoff_base must be above 0");
        }
        if self.pager.backoff_max < self.pager.backoff_base {
            return err("pager.backoff_max", "must not be shorter than pager.backoff_base");
        }
        if self.http.workers == Some(0) {
            return err("http.workers", "must be at least 1");
        }
        for (i, origin) in self.http.allowed_origins.iter().enumerate() {
            if let Err(reason) = auth::validate_origin(origin) {
                return Err(ConfigError::new(file, format!("http.allowed_origins[{i}]"), reason));
            }
        }
        self.opcua.validate(file)?;
        self.auth.validate(file, self.profile)?;
        if self.profile == Profile::Production
            && crate::store::is_postgres(&self.store.url)
            && url::Url::parse(&self.store.url)
                .ok()
                .and_then(|u| u.password().map(|p| p.starts_with(auth::EXAMPLE_SECRET_PREFIX)))
                .unwrap_or(false)
        {
            return err(
                "store.url",
                "carries the example password: the production profile needs one of your own (set MS5__STORE__URL)",
            );
        }
        self.analytics.validate(file)?;
        self.cluster.validate(file, &self.store.url)?;
        self.redis.validate(file, self.cluster.enabled)?;
        Ok(())
    }
}

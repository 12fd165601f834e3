//! `[mqtt]`: MQTT brokers MS5 subscribes to, with plain topics mapped to tags (topic filter,
//! JSON pointer, optional timestamp) and Sparkplug B edge nodes whose metrics map to tags.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::opcua::{default_reconnect_base, default_reconnect_max};
use super::{ConfigError, Reconnect};
use crate::domain::plant::PlantModel;
use crate::plc::mqtt::topic::{TagTemplate, TopicFilter, valid_pointer};

/// `[mqtt]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSettings {
    /// Brokers to subscribe to.
    #[serde(default)]
    pub endpoints: Vec<MqttEndpoint>,
    /// Delay before the first reconnect attempt; doubles per attempt (with jitter) up to
    /// `reconnect_max`.
    #[serde(default = "default_reconnect_base", with = "humantime_serde")]
    pub reconnect_base: Duration,
    /// Longest delay between reconnect attempts.
    #[serde(default = "default_reconnect_max", with = "humantime_serde")]
    pub reconnect_max: Duration,
}

impl Default for MqttSettings {
    fn default() -> Self {
        MqttSettings {
            endpoints: Vec::new(),
            reconnect_base: default_reconnect_base(),
            reconnect_max: default_reconnect_max(),
        }
    }
}

fn default_keep_alive() -> Duration {
    Duration::from_secs(5)
}

/// `[[mqtt.endpoints]]`: one broker connection.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttEndpoint {
    /// Name (logs and metrics).
    pub name: String,
    /// `mqtt://host:port` (port 1883 when left out).
    pub url: String,
    /// MQTT client id; default `ms5-<name>`. Unique per broker: a second client with the same
    /// id takes the connection over.
    #[serde(default)]
    pub client_id: Option<String>,
    /// User name; anonymous without one.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The password itself (tests and development only).
    #[serde(default)]
    pub password: Option<String>,
    /// MQTT keep-alive: a silent broker is noticed within about 2 × this.
    #[serde(default = "default_keep_alive", with = "humantime_serde")]
    pub keep_alive: Duration,
    /// Machines this broker's topics feed (ids): heartbeated while connected, `unknown` when
    /// it is lost. Default: the machines of the tags the topics can name.
    #[serde(default)]
    pub machines: Vec<String>,
    /// Plain topics.
    #[serde(default)]
    pub topics: Vec<TopicMap>,
    /// Sparkplug B, as a host application.
    #[serde(default)]
    pub sparkplug: Option<SparkplugSettings>,
}

impl std::fmt::Debug for MqttEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttEndpoint")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// `[[mqtt.endpoints.topics]]`: a topic filter and the tags its payloads carry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicMap {
    /// Topic filter, `+` and `#` allowed (`plant/+/filler/counts`).
    pub topic: String,
    /// The whole payload is this tag's value (a scalar payload: `42`, `true`); `{1}`, `{2}`…
    /// stand for the topic levels the `+` wildcards matched, `{#}` for what `#` matched.
    #[serde(default)]
    pub tag: Option<String>,
    /// JSON pointer → tag (`"/good" = "L1.Filler.Good"`), for JSON payloads.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// JSON pointer to the time of the values (ms since the epoch, or RFC 3339); the time of
    /// receipt without it.
    #[serde(default)]
    pub timestamp: Option<String>,
}

impl TopicMap {
    /// Every (pointer, tag template) of the entry: `tag` reads the whole payload.
    pub fn pointers(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = self.tag.iter().map(|t| (String::new(), t.clone())).collect();
        all.extend(self.values.iter().map(|(p, t)| (p.clone(), t.clone())));
        all
    }
}

/// `[mqtt.endpoints.sparkplug]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SparkplugSettings {
    /// The host application's id: its STATE topic is `spBv1.0/STATE/<host_id>`.
    pub host_id: String,
    /// Edge nodes and devices, and the tags of their metrics.
    #[serde(default)]
    pub nodes: Vec<SparkplugNode>,
}

/// `[[mqtt.endpoints.sparkplug.nodes]]`: the metrics of one edge node or one of its devices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SparkplugNode {
    /// Group id.
    pub group: String,
    /// Edge node id.
    pub node: String,
    /// Device id; without it, the node's own metrics.
    #[serde(default)]
    pub device: Option<String>,
    /// Metric name → tag (`"Counters/Good" = "L1.Filler.Good"`).
    pub metrics: BTreeMap<String, String>,
}

/// `host:port` of an `mqtt://` URL.
pub fn broker_address(url: &str) -> Result<(String, u16), String> {
    let Some(rest) = url.strip_prefix("mqtt://") else {
        return Err("must be an mqtt://host[:port] URL (TLS, mqtts://, is not supported)".into());
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') || rest.contains('@') {
        return Err("must be mqtt://host[:port], nothing else".into());
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.ends_with(':') => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .map(|p| (host.trim_matches(['[', ']']).to_owned(), p))
            .ok_or_else(|| format!("`{port}` is not a port")),
        _ => Ok((rest.to_owned(), 1883)),
    }
}

/// Whether a Sparkplug id is usable in a topic level.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && !id.contains(['/', '+', '#'])
}

impl MqttSettings {
    /// The reconnect delays.
    pub fn reconnect(&self) -> Reconnect {
        Reconnect {
            base: self.reconnect_base,
            max: self.reconnect_max,
        }
    }

    /// Checks everything against the plant: keys named as `mqtt.endpoints[0].topics[1].topic`.
    pub(super) fn validate(&self, plant: &PlantModel, file: &str) -> Result<(), ConfigError> {
        self.reconnect().check(file, "mqtt")?;
        let mut names = std::collections::HashSet::new();
        for (i, ep) in self.endpoints.iter().enumerate() {
            let key = format!("mqtt.endpoints[{i}]");
            ep.validate(plant, file, &key)?;
            if !names.insert(ep.name.clone()) {
                return Err(ConfigError::new(
                    file,
                    format!("{key}.name"),
                    format!("`{}` is used twice", ep.name),
                ));
            }
        }
        Ok(())
    }
}

impl MqttEndpoint {
    /// The password, from the environment variable or inline.
    pub fn password(&self) -> Option<String> {
        self.password_env
            .as_ref()
            .and_then(|v| std::env::var(v).ok())
            .or_else(|| self.password.clone())
    }

    /// The client id.
    pub fn client_id(&self) -> String {
        self.client_id.clone().unwrap_or_else(|| format!("ms5-{}", self.name))
    }

    fn validate(&self, plant: &PlantModel, file: &str, key: &str) -> Result<(), ConfigError> {
        let err = |k: &str, reason: String| Err(ConfigError::new(file, format!("{key}.{k}"), reason));
        if self.name.trim().is_empty() {
            return err("name", "must not be empty".into());
        }
        if let Err(reason) = broker_address(&self.url) {
            return err("url", reason);
        }
        if self.client_id.as_deref().is_some_and(str::is_empty) {
            return err("client_id", "must not be empty".into());
        }
        if self.password_env.is_some() && self.username.is_none() {
            return err("username", "password_env is set but username is not".into());
        }
        if self.username.is_some() && self.password().is_none() {
            return err(
                "password_env",
                "a username needs a password (set the environment variable)".into(),
            );
        }
        if self.keep_alive < Duration::from_secs(1) {
            return err("keep_alive", "must be at least 1s".into());
        }
        if let Some(m) = self.machines.iter().find(|m| plant.machine(m).is_none()) {
            return err("machines", format!("no machine `{m}`"));
        }
        if self.topics.is_empty() && self.sparkplug.is_none() {
            return err("topics", "an endpoint needs topics or a sparkplug section".into());
        }
        for (t, map) in self.topics.iter().enumerate() {
            let at = format!("topics[{t}]");
            let filter = match TopicFilter::parse(&map.topic) {
                Ok(f) => f,
                Err(e) => return err(&format!("{at}.topic"), format!("`{}`: {e}", map.topic)),
            };
            if map.tag.is_none() && map.values.is_empty() {
                return err(&at, "needs `tag` (a scalar payload) or `values` (JSON pointers)".into());
            }
            if let Some(ts) = &map.timestamp
                && !valid_pointer(ts)
            {
                return err(
                    &format!("{at}.timestamp"),
                    format!("`{ts}` is not a JSON pointer (`/field`)"),
                );
            }
            for (pointer, tag) in map.pointers() {
                let k = if pointer.is_empty() && map.tag.as_deref() == Some(tag.as_str()) {
                    format!("{at}.tag")
                } else {
                    format!("{at}.values.{pointer}")
                };
                if !valid_pointer(&pointer) {
                    return err(&k, format!("`{pointer}` is not a JSON pointer (`/field`)"));
                }
                let template = match TagTemplate::parse(&tag, &filter) {
                    Ok(t) => t,
                    Err(e) => return err(&k, format!("`{tag}`: {e}")),
                };
                let known = match template.literal() {
                    Some(literal) => plant.tags.contains_key(literal),
                    None => plant.tags.keys().any(|t| template.could_be(t)),
                };
                if !known {
                    return err(&k, format!("`{tag}` is no tag of the plant model"));
                }
            }
        }
        if let Some(sp) = &self.sparkplug {
            if !valid_id(&sp.host_id) {
                return err(
                    "sparkplug.host_id",
                    "must be a non-empty id without `/`, `+` or `#`".into(),
                );
            }
            let mut seen = std::collections::HashSet::new();
            for (n, node) in sp.nodes.iter().enumerate() {
                let at = format!("sparkplug.nodes[{n}]");
                for (what, id) in [
                    ("group", Some(&node.group)),
                    ("node", Some(&node.node)),
                    ("device", node.device.as_ref()),
                ] {
                    if let Some(id) = id
                        && !valid_id(id)
                    {
                        return err(
                            &format!("{at}.{what}"),
                            format!("`{id}` must be non-empty, without `/`, `+` or `#`"),
                        );
                    }
                }
                if !seen.insert((&node.group, &node.node, &node.device)) {
                    return err(&at, "the same group, node and device twice".into());
                }
                for (metric, tag) in &node.metrics {
                    if !plant.tags.contains_key(tag) {
                        return err(
                            &format!("{at}.metrics.{metric}"),
                            format!("`{tag}` is no tag of the plant model"),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_give_host_and_port() {
        let table = [
            ("mqtt://127.0.0.1:1884", Ok(("127.0.0.1".to_owned(), 1884))),
            ("mqtt://broker.plant.local", Ok(("broker.plant.local".to_owned(), 1883))),
            ("mqtt://broker/", Ok(("broker".to_owned(), 1883))),
            ("mqtt://[::1]:1885", Ok(("::1".to_owned(), 1885))),
        ];
        for (url, want) in table {
            assert_eq!(broker_address(url), want, "{url}");
        }
        for bad in [
            "tcp://x:1883",
            "mqtts://x:8883",
            "mqtt://",
            "mqtt://x:0",
            "mqtt://x:port",
            "mqtt://u@x",
            "mqtt://x/a",
        ] {
            assert!(broker_address(bad).is_err(), "{bad}");
        }
    }
}

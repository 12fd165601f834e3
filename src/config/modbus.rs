//! `[modbus]`: Modbus TCP devices MS5 polls, and the Modbus server `ms5 simulate` runs.
//!
//! Each `[[modbus.endpoints]]` entry is one device or gateway; its `tags` map the plant
//! model's tag names to addresses (`"L1.Filler.Good" = "hr:102:u32"`, or a table with the
//! type, word and byte order, scale, offset and unit id). The endpoint feeds the machines
//! whose tags it maps.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::opcua::{default_reconnect_base, default_reconnect_max};
use super::{ConfigError, Reconnect};
use crate::domain::plant::PlantModel;
use crate::plc::modbus::address::{self, Address, DataType};
use crate::plc::modbus::codec::{Encoding, Order};

/// `[modbus]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusSettings {
    /// Devices and gateways to poll.
    #[serde(default)]
    pub endpoints: Vec<ModbusEndpoint>,
    /// The Modbus server of `ms5 simulate`.
    #[serde(default)]
    pub server: ModbusServerSettings,
    /// Delay before the first reconnect attempt after a lost or failed connection; it
    /// doubles per attempt (with jitter) up to `reconnect_max`.
    #[serde(default = "default_reconnect_base", with = "humantime_serde")]
    pub reconnect_base: Duration,
    /// Longest delay between reconnect attempts.
    #[serde(default = "default_reconnect_max", with = "humantime_serde")]
    pub reconnect_max: Duration,
}

impl Default for ModbusSettings {
    fn default() -> Self {
        ModbusSettings {
            endpoints: Vec::new(),
            server: ModbusServerSettings::default(),
            reconnect_base: default_reconnect_base(),
            reconnect_max: default_reconnect_max(),
        }
    }
}

fn default_unit() -> u8 {
    1
}
fn default_poll() -> Duration {
    Duration::from_millis(500)
}
fn default_timeout() -> Duration {
    Duration::from_secs(1)
}
fn one() -> f64 {
    1.0
}

impl ModbusSettings {
    /// The reconnect delays.
    pub fn reconnect(&self) -> Reconnect {
        Reconnect {
            base: self.reconnect_base,
            max: self.reconnect_max,
        }
    }

    /// Checks the delays, every endpoint, and that the tags exist in `plant`.
    pub(super) fn validate(&self, file: &str, plant: &PlantModel) -> Result<(), ConfigError> {
        self.reconnect().check(file, "modbus")?;
        let mut names = std::collections::HashSet::new();
        for (i, ep) in self.endpoints.iter().enumerate() {
            let key = format!("modbus.endpoints[{i}]");
            ep.validate(file, &key)?;
            if !names.insert(ep.name.as_str()) {
                return Err(ConfigError::new(
                    file,
                    format!("{key}.name"),
                    format!("`{}` is used twice", ep.name),
                ));
            }
            if let Some(tag) = ep.tags.keys().find(|t| !plant.tags.contains_key(*t)) {
                return Err(ConfigError::new(
                    file,
                    format!("{key}.tags.{tag}"),
                    "no such tag in the plant model",
                ));
            }
        }
        Ok(())
    }
}

/// `[[modbus.endpoints]]`: one Modbus TCP device or gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusEndpoint {
    /// Name (logs and metrics).
    pub name: String,
    /// `host:port` (Modbus TCP's port is 502).
    pub address: String,
    /// Unit id (slave id) of tags that name none; gateways route by it.
    #[serde(default = "default_unit")]
    pub unit_id: u8,
    /// How often every tag is read.
    #[serde(default = "default_poll", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Longest wait for a connection or a reply; after a timeout the connection is
    /// replaced, so a late reply is never taken for the next answer.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Unused registers or bits a request may read to merge two runs of tags into one.
    #[serde(default)]
    pub max_gap: u16,
    /// Register order of 32/64-bit values: `big` (first register most significant) or
    /// `little`.
    #[serde(default)]
    pub word_order: Order,
    /// Byte order inside each register: `big` or `little`.
    #[serde(default)]
    pub byte_order: Order,
    /// Tag name → address.
    #[serde(default)]
    pub tags: BTreeMap<String, TagAddress>,
}

/// Where a tag is: an address string, or a table with more.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TagAddress {
    /// `"hr:102:u32"`.
    Short(String),
    /// `{ address = "hr:102", type = "u32", word_order = "little", scale = 0.1 }`.
    Full(TagEntry),
}

/// A tag's address with its type, orders, scaling and unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagEntry {
    /// The address (as in the short form).
    pub address: String,
    /// The stored type (default: `u16` for registers, `bool` for bits).
    #[serde(default, rename = "type")]
    pub data_type: Option<DataType>,
    /// Overrides the endpoint's word order.
    #[serde(default)]
    pub word_order: Option<Order>,
    /// Overrides the endpoint's byte order.
    #[serde(default)]
    pub byte_order: Option<Order>,
    /// Multiplied with the raw value.
    #[serde(default = "one")]
    pub scale: f64,
    /// Added after scaling.
    #[serde(default)]
    pub offset: f64,
    /// Overrides the endpoint's unit id.
    #[serde(default)]
    pub unit_id: Option<u8>,
}

/// A tag resolved: what to read and how to decode it.
#[derive(Debug, Clone, PartialEq)]
pub struct TagPoint {
    /// The plant model's tag name.
    pub tag: String,
    /// Unit id.
    pub unit: u8,
    /// Table and address.
    pub address: Address,
    /// How its registers become a value.
    pub encoding: Encoding,
}

impl ModbusEndpoint {
    /// Every tag resolved, or the first that is not valid: (tag, reason).
    pub fn points(&self) -> Result<Vec<TagPoint>, (String, String)> {
        self.tags
            .iter()
            .map(|(tag, a)| self.point(tag, a).map_err(|reason| (tag.clone(), reason)))
            .collect()
    }

    fn point(&self, tag: &str, a: &TagAddress) -> Result<TagPoint, String> {
        let (text, entry) = match a {
            TagAddress::Short(text) => (text.as_str(), None),
            TagAddress::Full(e) => (e.address.as_str(), Some(e)),
        };
        let address = address::parse(text).map_err(|e| e.to_string())?;
        let data_type = address.resolve_type(entry.and_then(|e| e.data_type))?;
        let scale = entry.map_or(1.0, |e| e.scale);
        let offset = entry.map_or(0.0, |e| e.offset);
        if !scale.is_finite() || scale == 0.0 || !offset.is_finite() {
            return Err("scale must be a number other than 0, offset a number".into());
        }
        if data_type == DataType::Bool && (scale != 1.0 || offset != 0.0) {
            return Err("a bit takes no scale or offset".into());
        }
        Ok(TagPoint {
            tag: tag.to_owned(),
            unit: entry.and_then(|e| e.unit_id).unwrap_or(self.unit_id),
            address,
            encoding: Encoding {
                data_type,
                word_order: entry.and_then(|e| e.word_order).unwrap_or(self.word_order),
                byte_order: entry.and_then(|e| e.byte_order).unwrap_or(self.byte_order),
                bit: address.bit,
                scale,
                offset,
            },
        })
    }

    fn validate(&self, file: &str, key: &str) -> Result<(), ConfigError> {
        let err = |k: &str, reason: String| Err(ConfigError::new(file, format!("{key}.{k}"), reason));
        if self.name.trim().is_empty() {
            return err("name", "must not be empty".into());
        }
        match self.address.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {}
            _ => {
                return err(
                    "address",
                    format!("`{}` is not host:port (e.g. 10.0.0.5:502)", self.address),
                );
            }
        }
        if self.poll_interval.is_zero() {
            return err("poll_interval", "must be longer than 0".into());
        }
        if self.timeout.is_zero() {
            return err("timeout", "must be longer than 0".into());
        }
        if self.tags.is_empty() {
            return err("tags", "maps no tag to an address".into());
        }
        if let Err((tag, reason)) = self.points() {
            return err(&format!("tags.{tag}"), reason);
        }
        Ok(())
    }
}

/// `[modbus.server]`: what `ms5 simulate` serves over Modbus TCP (see
/// [`crate::plc::modbus::server`] for the register map).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModbusServerSettings {
    /// Serve the simulated plant over Modbus TCP.
    pub enabled: bool,
    /// Address to bind.
    pub host: String,
    /// Port (0: any free port).
    pub port: u16,
}

impl Default for ModbusServerSettings {
    fn default() -> Self {
        ModbusServerSettings {
            enabled: false,
            host: "127.0.0.1".to_owned(),
            port: 5020,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(tags: serde_json::Value) -> ModbusEndpoint {
        serde_json::from_value(serde_json::json!({
            "name": "plc", "address": "127.0.0.1:502", "word_order": "little", "tags": tags
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn tags_resolve_with_endpoint_defaults_and_their_own_overrides() {
        let ep = endpoint(serde_json::json!({
            "A.Total": "hr:10:u32",
            "A.Temp": {"address": "ir:4", "type": "i16", "scale": 0.1, "unit_id": 7, "word_order": "big"},
            "A.Run": "co:3",
        }));
        let points = ep.points().unwrap_or_else(|e| panic!("{e:?}"));
        let find = |t: &str| {
            points
                .iter()
                .find(|p| p.tag == t)
                .cloned()
                .unwrap_or_else(|| panic!("{t}"))
        };
        let total = find("A.Total");
        assert_eq!((total.unit, total.encoding.data_type), (1, DataType::U32));
        assert_eq!(total.encoding.word_order, Order::Little, "the endpoint's order");
        let temp = find("A.Temp");
        assert_eq!((temp.unit, temp.encoding.scale), (7, 0.1));
        assert_eq!(temp.encoding.word_order, Order::Big, "the tag's own order");
        assert_eq!(find("A.Run").encoding.data_type, DataType::Bool);
    }

    #[test]
    fn bad_tags_name_the_tag_and_the_reason() {
        let table = [
            (serde_json::json!({"A.X": "hr:x"}), "not a Modbus address"),
            (serde_json::json!({"A.X": "co:1:u16"}), "the type must be bool"),
            (
                serde_json::json!({"A.X": {"address": "hr:1", "scale": 0.0}}),
                "scale must be",
            ),
            (
                serde_json::json!({"A.X": {"address": "co:1", "scale": 2.0}}),
                "a bit takes no scale",
            ),
        ];
        for (tags, reason) in table {
            let (tag, got) = endpoint(tags.clone()).points().err().unwrap_or_default();
            assert_eq!(tag, "A.X", "{tags}");
            assert!(got.contains(reason), "{tags}: {got}");
        }
    }
}

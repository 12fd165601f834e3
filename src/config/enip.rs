//! `[logix]` and `[pccc]`: EtherNet/IP PLCs MS5 polls. Each endpoint maps PLC addresses
//! to plant tags (`tags = { "Program:Main.Count" = "L1.Filler.Good" }`); its machines are
//! those whose tags it maps. Addresses are checked at load with the protocol's parser.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::opcua::{default_reconnect_base, default_reconnect_max};
use super::{ConfigError, Reconnect};
use crate::domain::plant::{MachineIdx, PlantModel};

/// `[logix]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogixSettings {
    /// ControlLogix/CompactLogix controllers.
    #[serde(default)]
    pub endpoints: Vec<LogixEndpoint>,
    /// First reconnect delay; doubles per attempt (with jitter) up to `reconnect_max`.
    #[serde(default = "default_reconnect_base", with = "humantime_serde")]
    pub reconnect_base: Duration,
    /// Longest delay between reconnect attempts.
    #[serde(default = "default_reconnect_max", with = "humantime_serde")]
    pub reconnect_max: Duration,
}

/// `[pccc]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcccSettings {
    /// SLC 500 and MicroLogix controllers.
    #[serde(default)]
    pub endpoints: Vec<PcccEndpoint>,
    /// First reconnect delay; doubles per attempt (with jitter) up to `reconnect_max`.
    #[serde(default = "default_reconnect_base", with = "humantime_serde")]
    pub reconnect_base: Duration,
    /// Longest delay between reconnect attempts.
    #[serde(default = "default_reconnect_max", with = "humantime_serde")]
    pub reconnect_max: Duration,
}

impl Default for LogixSettings {
    fn default() -> Self {
        LogixSettings {
            endpoints: Vec::new(),
            reconnect_base: default_reconnect_base(),
            reconnect_max: default_reconnect_max(),
        }
    }
}

impl Default for PcccSettings {
    fn default() -> Self {
        PcccSettings {
            endpoints: Vec::new(),
            reconnect_base: default_reconnect_base(),
            reconnect_max: default_reconnect_max(),
        }
    }
}

/// `[[logix.endpoints]]`: one controller.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogixEndpoint {
    /// Name (logs and metrics).
    pub name: String,
    /// `host` or `host:port` (port 44818 by default).
    pub address: String,
    /// Route from the Ethernet module to the controller: port and link pairs, `"1,0"`
    /// (backplane, slot 0) by default; `""` for none.
    #[serde(default = "default_route")]
    pub route: String,
    /// Ask for the large (4,000-byte) connection first; the small one (500) if refused.
    #[serde(default = "yes")]
    pub large_connection: bool,
    /// Time between reads of all tags.
    #[serde(default = "default_poll", with = "humantime_serde")]
    pub poll: Duration,
    /// Deadline of each request.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// PLC address → plant tag.
    pub tags: BTreeMap<String, String>,
}

/// `[[pccc.endpoints]]`: one SLC 500 or MicroLogix.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcccEndpoint {
    /// Name (logs and metrics).
    pub name: String,
    /// `host` or `host:port` (port 44818 by default).
    pub address: String,
    /// Time between reads of all tags.
    #[serde(default = "default_poll", with = "humantime_serde")]
    pub poll: Duration,
    /// Deadline of each request.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// PLC address (`N7:0`, `B3:0/5`, `T4:0.ACC`, …) → plant tag.
    pub tags: BTreeMap<String, String>,
}

fn default_route() -> String {
    "1,0".to_owned()
}
fn yes() -> bool {
    true
}
fn default_poll() -> Duration {
    Duration::from_millis(500)
}
fn default_timeout() -> Duration {
    Duration::from_secs(2)
}

impl LogixSettings {
    /// The reconnect delays.
    pub fn reconnect(&self) -> Reconnect {
        Reconnect {
            base: self.reconnect_base,
            max: self.reconnect_max,
        }
    }
}

impl PcccSettings {
    /// The reconnect delays.
    pub fn reconnect(&self) -> Reconnect {
        Reconnect {
            base: self.reconnect_base,
            max: self.reconnect_max,
        }
    }
}

impl LogixEndpoint {
    /// The route as port segment bytes.
    pub fn route_bytes(&self) -> Result<Vec<u8>, String> {
        parse_route(&self.route)
    }
}

/// `host` or `host:port` with the EtherNet/IP port by default.
pub fn socket_address(address: &str) -> String {
    if address.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        address.to_owned()
    } else {
        format!("{address}:44818")
    }
}

/// `"1,0"` → `[1, 0]`: port and link numbers (0–255 each, an even count).
pub fn parse_route(text: &str) -> Result<Vec<u8>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let bytes = text
        .split(',')
        .map(|p| p.trim().parse::<u8>())
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| format!("`{text}` is not port,link pairs of numbers 0–255 (e.g. \"1,0\")"))?;
    if bytes.len() % 2 == 1 || bytes.chunks(2).any(|pair| pair[0] == 0 || pair[0] > 14) {
        return Err(format!(
            "`{text}` is not port,link pairs with ports 1–14 (e.g. \"1,0\")"
        ));
    }
    Ok(bytes)
}

/// The machines whose tags `tags` maps.
pub fn machines_of(tags: &BTreeMap<String, String>, plant: &PlantModel) -> Vec<MachineIdx> {
    let mut out: Vec<MachineIdx> = tags
        .values()
        .filter_map(|t| plant.tags.get(t).map(|(m, _)| *m))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// What every endpoint of both kinds must satisfy.
struct Common<'a> {
    name: &'a str,
    address: &'a str,
    poll: Duration,
    timeout: Duration,
    tags: &'a BTreeMap<String, String>,
}

fn check_common(
    file: &str,
    key: &str,
    ep: Common<'_>,
    parse: impl Fn(&str) -> Result<(), String>,
    plant: &PlantModel,
) -> Result<(), ConfigError> {
    let err = |k: &str, reason: String| Err(ConfigError::new(file, format!("{key}.{k}"), reason));
    if ep.name.trim().is_empty() {
        return err("name", "must not be empty".into());
    }
    let sock = socket_address(ep.address);
    let host_ok = sock
        .rsplit_once(':')
        .is_some_and(|(h, _)| !h.is_empty() && !h.contains('/'));
    if !host_ok {
        return err("address", format!("`{}` is not host or host:port", ep.address));
    }
    if ep.poll.is_zero() {
        return err("poll", "must be longer than 0".into());
    }
    if ep.timeout.is_zero() {
        return err("timeout", "must be longer than 0".into());
    }
    if ep.tags.is_empty() {
        return err("tags", "maps no PLC address to a tag".into());
    }
    for (address, tag) in ep.tags {
        if let Err(reason) = parse(address) {
            return err(&format!("tags.{address}"), reason);
        }
        if !plant.tags.contains_key(tag) {
            return err(&format!("tags.{address}"), format!("no tag `{tag}` in the plant model"));
        }
    }
    Ok(())
}

/// `[logix]` and `[pccc]` against the plant: delays, names unique within each, addresses
/// that parse, tags the plant has.
pub(super) fn check(
    logix: &LogixSettings,
    pccc: &PcccSettings,
    plant: &PlantModel,
    file: &str,
) -> Result<(), ConfigError> {
    logix.reconnect().check(file, "logix")?;
    pccc.reconnect().check(file, "pccc")?;
    let mut names = std::collections::HashSet::new();
    for (i, ep) in logix.endpoints.iter().enumerate() {
        let key = format!("logix.endpoints[{i}]");
        let common = Common {
            name: &ep.name,
            address: &ep.address,
            poll: ep.poll,
            timeout: ep.timeout,
            tags: &ep.tags,
        };
        check_common(
            file,
            &key,
            common,
            |a| crate::plc::logix::address::parse(a).map(|_| ()),
            plant,
        )?;
        if let Err(reason) = ep.route_bytes() {
            return Err(ConfigError::new(file, format!("{key}.route"), reason));
        }
        if !names.insert(ep.name.clone()) {
            return Err(ConfigError::new(
                file,
                format!("{key}.name"),
                format!("`{}` is used twice", ep.name),
            ));
        }
    }
    names.clear();
    for (i, ep) in pccc.endpoints.iter().enumerate() {
        let key = format!("pccc.endpoints[{i}]");
        let common = Common {
            name: &ep.name,
            address: &ep.address,
            poll: ep.poll,
            timeout: ep.timeout,
            tags: &ep.tags,
        };
        check_common(
            file,
            &key,
            common,
            |a| crate::plc::pccc::address::parse(a).map(|_| ()),
            plant,
        )?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_addresses() {
        assert_eq!(parse_route("1,0"), Ok(vec![1, 0]));
        assert_eq!(parse_route(" 1, 3 ,2,1"), Ok(vec![1, 3, 2, 1]));
        assert_eq!(parse_route(""), Ok(vec![]));
        for bad in ["1", "1,x", "0,1", "15,0", "1,256"] {
            assert!(parse_route(bad).is_err(), "{bad}");
        }
        assert_eq!(socket_address("10.0.0.5"), "10.0.0.5:44818");
        assert_eq!(socket_address("plc.local:2222"), "plc.local:2222");
    }
}

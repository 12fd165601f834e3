//! An MQTT endpoint's configuration compiled against the plant: which topic gives which tag,
//! which Sparkplug metric is which tag, and which machines hang on the broker, on a node or
//! on a device (for heartbeats and for `unknown` when they go away).

use std::collections::{BTreeSet, HashMap};

use super::sparkplug::host::{NAMESPACE, Sample};
use super::topic::{self, ReceiptClock, TagTemplate, TopicFilter, ValueError};
use crate::config::MqttEndpoint;
use crate::domain::EpochMs;
use crate::domain::plant::{MachineIdx, PlantModel};
use crate::domain::tag::{Quality, TagUpdate};

/// A plain topic entry, compiled.
struct Entry {
    filter: TopicFilter,
    values: Vec<(String, TagTemplate)>,
    timestamp: Option<String>,
}

/// The tags of one node's own metrics or one device's.
#[derive(Default)]
struct Scope {
    tags: HashMap<String, String>,
    machines: Vec<MachineIdx>,
}

/// What a plain message gave.
#[derive(Debug, Default, PartialEq)]
pub struct PlainValues {
    /// Values read.
    pub updates: Vec<TagUpdate>,
    /// Tags whose value could not be read, with why.
    pub failed: Vec<(String, ValueError)>,
}

/// One endpoint's mapping.
pub struct Mapping {
    entries: Vec<Entry>,
    /// (group, node) → (node's own scope, device → scope).
    nodes: HashMap<(String, String), (Scope, HashMap<String, Scope>)>,
    /// Machines fed by plain topics (or named by `machines`).
    pub plain_machines: Vec<MachineIdx>,
    /// Every machine of the endpoint.
    pub all_machines: Vec<MachineIdx>,
    /// The Sparkplug host id, when the endpoint speaks Sparkplug.
    pub host_id: Option<String>,
}

fn machines_of<'a>(plant: &PlantModel, tags: impl Iterator<Item = &'a str>) -> Vec<MachineIdx> {
    let set: BTreeSet<MachineIdx> = tags.filter_map(|t| plant.tags.get(t).map(|(m, _)| *m)).collect();
    set.into_iter().collect()
}

impl Mapping {
    /// Compiles `ep` (validated at load: entries that do not compile are skipped).
    pub fn new(ep: &MqttEndpoint, plant: &PlantModel) -> Mapping {
        let mut entries = Vec::new();
        for map in &ep.topics {
            let Ok(filter) = TopicFilter::parse(&map.topic) else {
                continue;
            };
            let values = map
                .pointers()
                .into_iter()
                .filter_map(|(p, t)| TagTemplate::parse(&t, &filter).ok().map(|t| (p, t)))
                .collect();
            entries.push(Entry {
                filter,
                values,
                timestamp: map.timestamp.clone(),
            });
        }
        let plain_machines = if ep.machines.is_empty() {
            let templates: Vec<&TagTemplate> = entries.iter().flat_map(|e| e.values.iter().map(|(_, t)| t)).collect();
            let tags = plant.tags.keys().filter(|tag| {
                templates
                    .iter()
                    .any(|t| t.literal().map_or_else(|| t.could_be(tag), |l| l == *tag))
            });
            machines_of(plant, tags.map(String::as_str))
        } else {
            ep.machines
                .iter()
                .filter_map(|id| plant.machine(id).map(|(i, _)| i))
                .collect()
        };
        let mut nodes: HashMap<(String, String), (Scope, HashMap<String, Scope>)> = HashMap::new();
        for node in ep.sparkplug.iter().flat_map(|s| s.nodes.iter()) {
            let entry = nodes.entry((node.group.clone(), node.node.clone())).or_default();
            let scope = match &node.device {
                Some(d) => entry.1.entry(d.clone()).or_default(),
                None => &mut entry.0,
            };
            scope.tags.extend(node.metrics.clone());
            scope.machines = machines_of(plant, scope.tags.values().map(String::as_str));
        }
        let mut all: BTreeSet<MachineIdx> = plain_machines.iter().copied().collect();
        for (own, devices) in nodes.values() {
            all.extend(own.machines.iter().copied());
            devices.values().for_each(|d| all.extend(d.machines.iter().copied()));
        }
        Mapping {
            entries,
            nodes,
            plain_machines,
            all_machines: all.into_iter().collect(),
            host_id: ep.sparkplug.as_ref().map(|s| s.host_id.clone()),
        }
    }

    /// The topic filters to subscribe to after every connect: the plain ones, each mapped
    /// Sparkplug group's namespace, and the host's own STATE topic.
    pub fn subscriptions(&self) -> Vec<String> {
        let mut subs: Vec<String> = self.entries.iter().map(|e| e.filter.as_str().to_owned()).collect();
        let groups: BTreeSet<&str> = self.nodes.keys().map(|(g, _)| g.as_str()).collect();
        subs.extend(groups.into_iter().map(|g| format!("{NAMESPACE}/{g}/#")));
        if let Some(host) = &self.host_id {
            subs.push(super::sparkplug::state_topic(host));
        }
        subs.dedup();
        subs
    }

    /// Whether the node is one this endpoint maps.
    pub fn knows_node(&self, group: &str, node: &str) -> bool {
        self.nodes.contains_key(&(group.to_owned(), node.to_owned()))
    }

    /// The values of a plain message on `topic`, from every entry that matches it, received
    /// at `now` (values without a time stamp of their own are stamped by `receipt`). `None`
    /// when no entry matches.
    pub fn plain(
        &self,
        topic_name: &str,
        payload: &[u8],
        now: EpochMs,
        receipt: &mut ReceiptClock,
    ) -> Option<PlainValues> {
        let mut out: Option<PlainValues> = None;
        let mut doc: Option<Result<serde_json::Value, ValueError>> = None;
        for entry in &self.entries {
            let Some(caps) = entry.filter.captures(topic_name) else {
                continue;
            };
            let got = out.get_or_insert_with(PlainValues::default);
            let doc = doc.get_or_insert_with(|| topic::parse_payload(payload));
            let ts = match (&doc, &entry.timestamp) {
                (Ok(d), Some(p)) => topic::timestamp_at(d, p),
                _ => None,
            };
            for (pointer, template) in &entry.values {
                let tag = template.fill(&caps);
                let ts = ts.unwrap_or_else(|| receipt.stamp(&tag, now));
                match doc.as_ref().map_err(|e| *e).and_then(|d| topic::value_at(d, pointer)) {
                    Ok(value) => got.updates.push(TagUpdate {
                        tag,
                        value,
                        ts,
                        quality: Quality::Good,
                    }),
                    Err(e) => got.failed.push((tag, e)),
                }
            }
        }
        out
    }

    /// The tag of a Sparkplug metric, if it is mapped.
    pub fn metric_tag(&self, group: &str, node: &str, sample: &Sample) -> Option<&str> {
        let (own, devices) = self.nodes.get(&(group.to_owned(), node.to_owned()))?;
        let scope = match &sample.device {
            Some(d) => devices.get(d)?,
            None => own,
        };
        scope.tags.get(&sample.metric).map(String::as_str)
    }

    /// The machines of a node (its own metrics and all its devices'), or of one device.
    pub fn scope_machines(&self, group: &str, node: &str, device: Option<&str>) -> Vec<MachineIdx> {
        let Some((own, devices)) = self.nodes.get(&(group.to_owned(), node.to_owned())) else {
            return Vec::new();
        };
        let set: BTreeSet<MachineIdx> = match device {
            Some(d) => devices
                .get(d)
                .map(|s| s.machines.iter().copied().collect())
                .unwrap_or_default(),
            None => own
                .machines
                .iter()
                .chain(devices.values().flat_map(|s| s.machines.iter()))
                .copied()
                .collect(),
        };
        set.into_iter().collect()
    }

    /// The machines alive now: the plain ones, and those of born nodes and devices, as
    /// `online(group, node, device)` says.
    pub fn alive_machines(&self, online: impl Fn(&str, &str, Option<&str>) -> bool) -> Vec<MachineIdx> {
        let mut set: BTreeSet<MachineIdx> = self.plain_machines.iter().copied().collect();
        for ((group, node), (own, devices)) in &self.nodes {
            if online(group, node, None) {
                set.extend(own.machines.iter().copied());
                for (d, scope) in devices {
                    if online(group, node, Some(d)) {
                        set.extend(scope.machines.iter().copied());
                    }
                }
            }
        }
        set.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tag::TagValue;

    const PLANT: &str = r#"
timezone = "UTC"
[[lines]]
id = "l1"
name = "L1"
[[lines.machines]]
id = "filler"
name = "Filler"
ideal_cycle_time = "1s"
tags = { state = { tag = "L1.Filler.State" }, total = { tag = "L1.Filler.Total" } }
[[lines.machines]]
id = "capper"
name = "Capper"
ideal_cycle_time = "1s"
tags = { state = { tag = "L1.Capper.State" }, total = { tag = "L1.Capper.Total" } }
[[lines.machines]]
id = "packer"
name = "Packer"
ideal_cycle_time = "1s"
tags = { state = { tag = "L1.Packer.State" }, total = { tag = "L1.Packer.Total" } }
"#;

    fn setup(endpoint: serde_json::Value) -> (Mapping, PlantModel) {
        let plant = crate::config::parse_plant(PLANT, "plant.toml").unwrap_or_else(|e| panic!("{e}"));
        let ep: MqttEndpoint = serde_json::from_value(endpoint).unwrap_or_else(|e| panic!("{e}"));
        (Mapping::new(&ep, &plant), plant)
    }

    fn update(tag: &str, value: TagValue, ts: EpochMs) -> TagUpdate {
        TagUpdate {
            tag: tag.into(),
            value,
            ts,
            quality: Quality::Good,
        }
    }

    #[test]
    fn plain_topics_give_tags_by_pointer_and_wildcard() {
        let (map, plant) = setup(serde_json::json!({
            "name": "b", "url": "mqtt://127.0.0.1",
            "topics": [
                {"topic": "plant/L1/+/counts", "values": {"/total": "L1.{1}.Total", "/state": "L1.{1}.State"}, "timestamp": "/ts"},
                {"topic": "plant/L1/Packer/state", "tag": "L1.Packer.State"},
            ],
        }));
        // (topic, payload, values, failures)
        let table = [
            (
                "plant/L1/Filler/counts",
                &br#"{"total": 12, "state": 1, "ts": 5000}"#[..],
                vec![
                    update("L1.Filler.State", TagValue::Int(1), 5_000),
                    update("L1.Filler.Total", TagValue::Int(12), 5_000),
                ],
                vec![],
            ),
            // no timestamp in the payload: the time of receipt (9)
            (
                "plant/L1/Capper/counts",
                br#"{"total": 3.5}"#,
                vec![update("L1.Capper.Total", TagValue::Float(3.5), 9)],
                vec![("L1.Capper.State".to_owned(), ValueError::Missing)],
            ),
            (
                "plant/L1/Packer/state",
                b"2",
                vec![update("L1.Packer.State", TagValue::Int(2), 9)],
                vec![],
            ),
            (
                "plant/L1/Packer/state",
                b"stopped",
                vec![],
                vec![("L1.Packer.State".to_owned(), ValueError::NotJson)],
            ),
        ];
        for (topic, payload, updates, failed) in table {
            let got = map
                .plain(topic, payload, 9, &mut ReceiptClock::default())
                .unwrap_or_else(|| panic!("{topic} matches"));
            let mut sorted = got.updates.clone();
            sorted.sort_by(|a, b| a.tag.cmp(&b.tag));
            assert_eq!(sorted, updates, "{topic}");
            assert_eq!(got.failed, failed, "{topic}");
        }
        assert_eq!(
            map.plain("plant/L2/Filler/counts", b"1", 9, &mut ReceiptClock::default()),
            None
        );
        // every machine a template can name feeds from this broker
        let ids: Vec<&str> = map
            .plain_machines
            .iter()
            .map(|&i| plant.machines[i].id.as_str())
            .collect();
        assert_eq!(ids, ["filler", "capper", "packer"]);
        assert_eq!(map.subscriptions(), ["plant/L1/+/counts", "plant/L1/Packer/state"]);
    }

    #[test]
    fn sparkplug_scopes_name_their_machines_and_subscriptions() {
        let (map, plant) = setup(serde_json::json!({
            "name": "b", "url": "mqtt://127.0.0.1",
            "sparkplug": {"host_id": "ms5", "nodes": [
                {"group": "G", "node": "edge", "metrics": {"Filler/State": "L1.Filler.State"}},
                {"group": "G", "node": "edge", "device": "capper", "metrics": {"Count": "L1.Capper.Total"}},
                {"group": "G", "node": "edge", "device": "packer", "metrics": {"Count": "L1.Packer.Total"}},
            ]},
        }));
        let ids = |v: Vec<MachineIdx>| v.into_iter().map(|i| plant.machines[i].id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(map.scope_machines("G", "edge", None)),
            ["filler", "capper", "packer"]
        );
        assert_eq!(ids(map.scope_machines("G", "edge", Some("packer"))), ["packer"]);
        assert_eq!(ids(map.scope_machines("G", "other", None)), Vec::<String>::new());
        // node born, only the capper device born
        let alive = map.alive_machines(|_, _, d| d.is_none() || d == Some("capper"));
        assert_eq!(ids(alive), ["filler", "capper"]);
        assert_eq!(ids(map.alive_machines(|_, _, _| false)), Vec::<String>::new());
        assert_eq!(map.subscriptions(), ["spBv1.0/G/#", "spBv1.0/STATE/ms5"]);
        let s = |device: Option<&str>, metric: &str| Sample {
            device: device.map(str::to_owned),
            metric: metric.into(),
            value: None,
            quality: Quality::Good,
            ts: 0,
        };
        assert_eq!(
            map.metric_tag("G", "edge", &s(Some("packer"), "Count")),
            Some("L1.Packer.Total")
        );
        assert_eq!(
            map.metric_tag("G", "edge", &s(None, "Filler/State")),
            Some("L1.Filler.State")
        );
        assert_eq!(map.metric_tag("G", "edge", &s(None, "Count")), None);
        assert!(map.knows_node("G", "edge") && !map.knows_node("G", "x"));
    }
}

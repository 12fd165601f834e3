//! The Sparkplug B host application's view of its edge nodes, as a pure state machine: which
//! nodes and devices are born, their metric aliases and types, the node's sequence number
//! and its birth/death sequence (`bdSeq`). Each message goes in with the time it arrived and
//! comes out as a [`Step`]: the values it carries, the scopes that went offline, and whether
//! to ask the node for a rebirth.
//!
//! The rules (Sparkplug 3.0):
//! - NBIRTH starts a node's session: its `bdSeq`, its `seq` (the next message carries
//!   `seq + 1`, wrapping 255 → 0), the aliases and types of its metrics. Its devices must be
//!   born again (DBIRTH) before their data counts.
//! - NDATA, DBIRTH, DDATA and DDEATH carry the next `seq`. One out of order, or one from a
//!   node (or device) that is not born, is dropped and answered with a rebirth request; the
//!   node's data stays dropped until its NBIRTH, and the request is repeated at most every
//!   [`REBIRTH_RETRY_MS`] while messages keep coming.
//! - NDEATH counts only with the `bdSeq` of the node's current birth (an older one is the
//!   late will of a session that has been replaced); it takes the node and all its devices
//!   offline. DDEATH takes one device offline.
//! - When the host loses the broker, every node is unborn: what comes after the reconnect
//!   needs a birth first.

use std::collections::HashMap;

use super::payload::{self, Metric, Payload};
use crate::domain::EpochMs;
use crate::domain::tag::{Quality, TagValue};

/// Least time between two rebirth requests to one node.
pub const REBIRTH_RETRY_MS: EpochMs = 5_000;

/// The message types of the `spBv1.0/<group>/<type>/<node>[/<device>]` namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// Node birth.
    NBirth,
    /// Node death (the node's MQTT will).
    NDeath,
    /// Node data.
    NData,
    /// Command to a node.
    NCmd,
    /// Device birth.
    DBirth,
    /// Device death.
    DDeath,
    /// Device data.
    DData,
    /// Command to a device.
    DCmd,
}

/// Where a Sparkplug message comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparkTopic {
    /// Group id.
    pub group: String,
    /// Message type.
    pub kind: MessageType,
    /// Edge node id.
    pub node: String,
    /// Device id (device messages only).
    pub device: Option<String>,
}

/// The first level of every Sparkplug B topic.
pub const NAMESPACE: &str = "spBv1.0";

/// A topic of the Sparkplug namespace, read; `None` for others (and for STATE).
pub fn parse_topic(topic: &str) -> Option<SparkTopic> {
    let mut parts = topic.split('/');
    if parts.next() != Some(NAMESPACE) {
        return None;
    }
    let (group, kind, node) = (parts.next()?, parts.next()?, parts.next()?);
    let device = parts.next();
    if parts.next().is_some() || group.is_empty() || node.is_empty() || device == Some("") {
        return None;
    }
    let kind = match kind {
        "NBIRTH" => MessageType::NBirth,
        "NDEATH" => MessageType::NDeath,
        "NDATA" => MessageType::NData,
        "NCMD" => MessageType::NCmd,
        "DBIRTH" => MessageType::DBirth,
        "DDEATH" => MessageType::DDeath,
        "DDATA" => MessageType::DData,
        "DCMD" => MessageType::DCmd,
        _ => return None,
    };
    let is_device = matches!(
        kind,
        MessageType::DBirth | MessageType::DDeath | MessageType::DData | MessageType::DCmd
    );
    if is_device != device.is_some() {
        return None;
    }
    Some(SparkTopic {
        group: group.to_owned(),
        kind,
        node: node.to_owned(),
        device: device.map(str::to_owned),
    })
}

/// The topic a node's commands go to.
pub fn ncmd_topic(group: &str, node: &str) -> String {
    format!("{NAMESPACE}/{group}/NCMD/{node}")
}

/// One metric value out of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The device it belongs to; `None`: the node's own metric.
    pub device: Option<String>,
    /// The metric's name.
    pub metric: String,
    /// The value; `None` when it is no tag value (a string, say).
    pub value: Option<TagValue>,
    /// Its quality.
    pub quality: Quality,
    /// Its time: the metric's, else the payload's, else arrival.
    pub ts: EpochMs,
}

/// What went wrong with a message (each is counted; the data is dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Data (or a device message) from a node or device that is not born.
    BeforeBirth,
    /// A sequence number other than the next.
    SeqGap {
        /// The one due.
        expected: u8,
        /// The one that came (`None`: none at all).
        got: Option<u64>,
    },
    /// An NDEATH whose `bdSeq` is not that of the current birth.
    StaleDeath {
        /// The birth's.
        birth: Option<u64>,
        /// The death's.
        death: Option<u64>,
    },
    /// Metrics by an alias no birth defined (the rest of the message counts).
    UnknownAlias(u64),
    /// An NBIRTH without a `bdSeq` metric (accepted; any NDEATH then ends it).
    NoBdSeq,
}

/// What one message means.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    /// Values to deliver.
    pub samples: Vec<Sample>,
    /// The node went offline (and all its devices with it).
    pub node_offline: bool,
    /// Devices that went offline.
    pub devices_offline: Vec<String>,
    /// Send the node a rebirth request now.
    pub rebirth: bool,
    /// What was wrong, if anything.
    pub problems: Vec<Problem>,
}

/// A metric's name and type as a birth defined it.
#[derive(Debug, Clone)]
struct Definition {
    name: String,
    datatype: Option<u32>,
}

/// The metrics of a node or device, by alias and by name.
#[derive(Debug, Clone, Default)]
struct Metrics {
    by_alias: HashMap<u64, Definition>,
    types: HashMap<String, Option<u32>>,
}

impl Metrics {
    fn from_birth(metrics: &[Metric]) -> Metrics {
        let mut defined = Metrics::default();
        for m in metrics {
            let Some(name) = &m.name else { continue };
            defined.types.insert(name.clone(), m.datatype);
            if let Some(alias) = m.alias {
                defined.by_alias.insert(
                    alias,
                    Definition {
                        name: name.clone(),
                        datatype: m.datatype,
                    },
                );
            }
        }
        defined
    }

    /// The samples of `metrics` (the `bdSeq` metric aside), with problems for unknown aliases.
    fn read(&self, metrics: &[Metric], device: Option<&str>, payload_ts: Option<u64>, now: EpochMs, step: &mut Step) {
        for m in metrics {
            let (name, datatype) = match (&m.name, m.alias) {
                (Some(name), _) => (name.clone(), m.datatype.or(self.types.get(name).copied().flatten())),
                (None, Some(alias)) => match self.by_alias.get(&alias) {
                    Some(def) => (def.name.clone(), m.datatype.or(def.datatype)),
                    None => {
                        step.problems.push(Problem::UnknownAlias(alias));
                        continue;
                    }
                },
                (None, None) => continue,
            };
            if name == payload::BD_SEQ || m.is_historical == Some(true) {
                continue;
            }
            let ts = m
                .timestamp
                .or(payload_ts)
                .and_then(|t| EpochMs::try_from(t).ok())
                .unwrap_or(now);
            let quality = payload::quality(m);
            let value = m.value.as_ref().and_then(|v| payload::tag_value(datatype, v));
            step.samples.push(Sample {
                device: device.map(str::to_owned),
                metric: name,
                value,
                quality,
                ts,
            });
        }
    }
}

/// One edge node's session.
#[derive(Debug, Clone, Default)]
struct Node {
    /// Born (NBIRTH seen, no NDEATH or loss since).
    born: bool,
    bd_seq: Option<u64>,
    /// The last sequence number seen.
    seq: u8,
    /// A gap was seen: data is dropped until the next NBIRTH.
    broken: bool,
    metrics: Metrics,
    /// Born devices.
    devices: HashMap<String, Metrics>,
    /// When a rebirth was last asked for.
    asked_at: Option<EpochMs>,
}

/// The host application's view of every edge node it hears from.
#[derive(Debug, Clone, Default)]
pub struct Host {
    nodes: HashMap<(String, String), Node>,
}

impl Host {
    /// A host that knows no node.
    pub fn new() -> Self {
        Host::default()
    }

    /// The host lost the broker: every node must be born again.
    pub fn lost_broker(&mut self) {
        self.nodes.clear();
    }

    /// Whether this node is born.
    pub fn node_online(&self, group: &str, node: &str) -> bool {
        self.node(group, node).is_some_and(|n| n.born)
    }

    /// Whether this device is born (and its node).
    pub fn device_online(&self, group: &str, node: &str, device: &str) -> bool {
        self.node(group, node)
            .is_some_and(|n| n.born && n.devices.contains_key(device))
    }

    fn node(&self, group: &str, node: &str) -> Option<&Node> {
        self.nodes.get(&(group.to_owned(), node.to_owned()))
    }

    /// One message, arrived at `now`.
    pub fn on_message(&mut self, topic: &SparkTopic, payload: &Payload, now: EpochMs) -> Step {
        let mut step = Step::default();
        let key = (topic.group.clone(), topic.node.clone());
        let node = self.nodes.entry(key).or_default();
        match topic.kind {
            MessageType::NCmd | MessageType::DCmd => {}
            MessageType::NBirth => {
                let bd_seq = payload.bd_seq();
                if bd_seq.is_none() {
                    step.problems.push(Problem::NoBdSeq);
                }
                *node = Node {
                    born: true,
                    bd_seq,
                    seq: payload.seq.map_or(0, |s| (s % 256) as u8),
                    metrics: Metrics::from_birth(&payload.metrics),
                    ..Node::default()
                };
                node.metrics
                    .read(&payload.metrics, None, payload.timestamp, now, &mut step);
            }
            MessageType::NDeath => {
                let death = payload.bd_seq();
                if !node.born {
                    return step;
                }
                if node.bd_seq.is_some() && death != node.bd_seq {
                    step.problems.push(Problem::StaleDeath {
                        birth: node.bd_seq,
                        death,
                    });
                    return step;
                }
                step.node_offline = true;
                let mut devices: Vec<String> = node.devices.drain().map(|(d, _)| d).collect();
                devices.sort();
                step.devices_offline = devices;
                node.born = false;
            }
            MessageType::NData | MessageType::DBirth | MessageType::DDeath | MessageType::DData => {
                if !in_sequence(node, topic, payload, &mut step) {
                    if node.asked_at.is_none_or(|t| now - t >= REBIRTH_RETRY_MS) {
                        node.asked_at = Some(now);
                        step.rebirth = true;
                    }
                    return step;
                }
                let device = topic.device.as_deref();
                match (topic.kind, device) {
                    (MessageType::NData, _) => {
                        node.metrics
                            .read(&payload.metrics, None, payload.timestamp, now, &mut step)
                    }
                    (MessageType::DBirth, Some(d)) => {
                        let defined = Metrics::from_birth(&payload.metrics);
                        defined.read(&payload.metrics, device, payload.timestamp, now, &mut step);
                        node.devices.insert(d.to_owned(), defined);
                    }
                    (MessageType::DData, Some(d)) => {
                        if let Some(defined) = node.devices.get(d) {
                            defined.read(&payload.metrics, device, payload.timestamp, now, &mut step);
                        }
                    }
                    (MessageType::DDeath, Some(d)) if node.devices.remove(d).is_some() => {
                        step.devices_offline.push(d.to_owned());
                    }
                    _ => {}
                }
            }
        }
        step
    }
}

/// Checks a message that carries the node's next sequence number, and moves it on. False
/// (with the problem noted) when the message must be dropped.
fn in_sequence(node: &mut Node, topic: &SparkTopic, payload: &Payload, step: &mut Step) -> bool {
    if !node.born || node.broken {
        step.problems.push(Problem::BeforeBirth);
        return false;
    }
    let expected = node.seq.wrapping_add(1);
    if payload.seq != Some(u64::from(expected)) {
        step.problems.push(Problem::SeqGap {
            expected,
            got: payload.seq,
        });
        node.broken = true;
        return false;
    }
    node.seq = expected;
    // Device data before its own birth: the node is asked to rebirth, which brings every
    // DBIRTH again; the sequence itself is intact.
    if let (MessageType::DData | MessageType::DDeath, Some(d)) = (topic.kind, &topic.device)
        && !node.devices.contains_key(d)
    {
        step.problems.push(Problem::BeforeBirth);
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::payload::{MetricValue, datatype};
    use super::*;

    const G: &str = "plant";
    const N: &str = "edge1";

    fn topic(kind: MessageType, device: Option<&str>) -> SparkTopic {
        SparkTopic {
            group: G.into(),
            kind,
            node: N.into(),
            device: device.map(str::to_owned),
        }
    }

    fn metric(name: Option<&str>, alias: Option<u64>, dt: Option<u32>, v: MetricValue) -> Metric {
        Metric {
            name: name.map(str::to_owned),
            alias,
            datatype: dt,
            value: Some(v),
            ..Metric::default()
        }
    }

    fn bd(v: u64) -> Metric {
        metric(
            Some(payload::BD_SEQ),
            None,
            Some(datatype::INT64),
            MetricValue::LongValue(v),
        )
    }

    fn payload(seq: Option<u64>, metrics: Vec<Metric>) -> Payload {
        Payload {
            timestamp: Some(1_000),
            seq,
            metrics,
            ..Payload::default()
        }
    }

    /// NBIRTH (bdSeq 1, seq 0) with `Good` as alias 1 (UInt32) and `Temp` as alias 2 (Int16).
    fn nbirth(bd_seq: u64) -> Payload {
        payload(
            Some(0),
            vec![
                bd(bd_seq),
                metric(Some("Good"), Some(1), Some(datatype::UINT32), MetricValue::IntValue(10)),
                metric(
                    Some("Temp"),
                    Some(2),
                    Some(datatype::INT16),
                    MetricValue::IntValue(0xFFFF),
                ),
            ],
        )
    }

    fn by_alias(seq: u64, alias: u64, v: u32) -> Payload {
        payload(
            Some(seq),
            vec![metric(None, Some(alias), None, MetricValue::IntValue(v))],
        )
    }

    fn sample(device: Option<&str>, metric: &str, v: i64) -> Sample {
        Sample {
            device: device.map(str::to_owned),
            metric: metric.into(),
            value: Some(TagValue::Int(v)),
            quality: Quality::Good,
            ts: 1_000,
        }
    }

    #[test]
    fn a_birth_defines_aliases_and_types_that_data_uses() {
        let mut host = Host::new();
        let born = host.on_message(&topic(MessageType::NBirth, None), &nbirth(1), 5);
        // the birth's own values count; bdSeq is no value; Temp 0xFFFF as Int16 is -1
        assert_eq!(born.samples, vec![sample(None, "Good", 10), sample(None, "Temp", -1)]);
        assert!(host.node_online(G, N));
        let data = host.on_message(&topic(MessageType::NData, None), &by_alias(1, 2, 0xFFFE), 5);
        assert_eq!(data.samples, vec![sample(None, "Temp", -2)]);
        assert_eq!((data.rebirth, data.problems.clone()), (false, vec![]));
        // an alias no birth made is reported, the rest of the message counts
        let mixed = payload(
            Some(2),
            vec![
                metric(None, Some(9), None, MetricValue::IntValue(1)),
                metric(None, Some(1), None, MetricValue::IntValue(12)),
            ],
        );
        let step = host.on_message(&topic(MessageType::NData, None), &mixed, 5);
        assert_eq!(step.samples, vec![sample(None, "Good", 12)]);
        assert_eq!(step.problems, vec![Problem::UnknownAlias(9)]);
    }

    #[test]
    fn sequence_numbers_run_on_across_devices_and_wrap_at_255() {
        let mut host = Host::new();
        let mut birth = nbirth(1);
        birth.seq = Some(254);
        host.on_message(&topic(MessageType::NBirth, None), &birth, 0);
        let dbirth = payload(
            Some(255),
            vec![metric(
                Some("Count"),
                Some(7),
                Some(datatype::UINT16),
                MetricValue::IntValue(3),
            )],
        );
        let step = host.on_message(&topic(MessageType::DBirth, Some("filler")), &dbirth, 0);
        assert_eq!(step.samples, vec![sample(Some("filler"), "Count", 3)]);
        assert!(host.device_online(G, N, "filler"));
        // 255 → 0
        let step = host.on_message(&topic(MessageType::DData, Some("filler")), &by_alias(0, 7, 4), 0);
        assert_eq!(step.samples, vec![sample(Some("filler"), "Count", 4)]);
        let step = host.on_message(&topic(MessageType::NData, None), &by_alias(1, 1, 11), 0);
        assert_eq!(step.samples, vec![sample(None, "Good", 11)]);
    }

    #[test]
    fn gaps_and_data_before_birth_ask_for_a_rebirth_and_drop_data_until_it() {
        // (messages after an NBIRTH with seq 0 (None: no birth at all), at times ms,
        //  → (samples, rebirth asked, problems) of the last one)
        struct Case {
            born: bool,
            messages: Vec<(MessageType, Option<&'static str>, Payload, EpochMs)>,
            rebirth: bool,
            problems: Vec<Problem>,
        }
        let table = vec![
            // NDATA with no birth: dropped, rebirth
            Case {
                born: false,
                messages: vec![(MessageType::NData, None, by_alias(1, 1, 5), 0)],
                rebirth: true,
                problems: vec![Problem::BeforeBirth],
            },
            // seq 1 due, 3 came: a gap
            Case {
                born: true,
                messages: vec![(MessageType::NData, None, by_alias(3, 1, 5), 0)],
                rebirth: true,
                problems: vec![Problem::SeqGap {
                    expected: 1,
                    got: Some(3),
                }],
            },
            // no seq at all is a gap too
            Case {
                born: true,
                messages: vec![(MessageType::NData, None, payload(None, vec![]), 0)],
                rebirth: true,
                problems: vec![Problem::SeqGap { expected: 1, got: None }],
            },
            // after a gap, even the right next number is dropped; asked again only 5 s on
            Case {
                born: true,
                messages: vec![
                    (MessageType::NData, None, by_alias(2, 1, 5), 0),
                    (MessageType::NData, None, by_alias(3, 1, 6), 4_999),
                ],
                rebirth: false,
                problems: vec![Problem::BeforeBirth],
            },
            Case {
                born: true,
                messages: vec![
                    (MessageType::NData, None, by_alias(2, 1, 5), 0),
                    (MessageType::NData, None, by_alias(3, 1, 6), 5_000),
                ],
                rebirth: true,
                problems: vec![Problem::BeforeBirth],
            },
            // DDATA from a device with no DBIRTH: rebirth, the sequence moves on
            Case {
                born: true,
                messages: vec![(MessageType::DData, Some("press"), by_alias(1, 1, 5), 0)],
                rebirth: true,
                problems: vec![Problem::BeforeBirth],
            },
        ];
        for (i, case) in table.into_iter().enumerate() {
            let mut host = Host::new();
            if case.born {
                host.on_message(&topic(MessageType::NBirth, None), &nbirth(1), 0);
            }
            let mut last = Step::default();
            for (kind, device, p, at) in &case.messages {
                last = host.on_message(&topic(*kind, *device), p, *at);
            }
            assert_eq!(last.samples, vec![], "case {i}");
            assert_eq!(last.rebirth, case.rebirth, "case {i}");
            assert_eq!(last.problems, case.problems, "case {i}");
        }
        // the rebirth mends it: data counts again
        let mut host = Host::new();
        host.on_message(&topic(MessageType::NBirth, None), &nbirth(1), 0);
        host.on_message(&topic(MessageType::NData, None), &by_alias(5, 1, 5), 0);
        host.on_message(&topic(MessageType::NBirth, None), &nbirth(1), 0);
        let step = host.on_message(&topic(MessageType::NData, None), &by_alias(1, 1, 20), 0);
        assert_eq!(step.samples, vec![sample(None, "Good", 20)]);
    }

    #[test]
    fn deaths_count_only_with_the_births_bdseq() {
        // (birth bdSeq, death bdSeq, node offline, problem)
        let table = [
            (Some(4), Some(4), true, None),
            (
                Some(4),
                Some(3),
                false,
                Some(Problem::StaleDeath {
                    birth: Some(4),
                    death: Some(3),
                }),
            ),
            (
                Some(4),
                None,
                false,
                Some(Problem::StaleDeath {
                    birth: Some(4),
                    death: None,
                }),
            ),
            // a birth without bdSeq: any death ends it
            (None, Some(9), true, None),
        ];
        for (birth_bd, death_bd, offline, problem) in table {
            let mut host = Host::new();
            let mut birth = nbirth(0);
            birth.metrics.retain(|m| m.name.as_deref() != Some(payload::BD_SEQ));
            if let Some(b) = birth_bd {
                birth.metrics.push(bd(b));
            }
            host.on_message(&topic(MessageType::NBirth, None), &birth, 0);
            host.on_message(
                &topic(MessageType::DBirth, Some("filler")),
                &payload(Some(1), vec![]),
                0,
            );
            let death = payload(None, death_bd.map(bd).into_iter().collect());
            let step = host.on_message(&topic(MessageType::NDeath, None), &death, 0);
            let case = format!("{birth_bd:?} {death_bd:?}");
            assert_eq!(step.node_offline, offline, "{case}");
            assert_eq!(step.problems, problem.into_iter().collect::<Vec<_>>(), "{case}");
            assert_eq!(
                step.devices_offline,
                if offline { vec!["filler".to_owned()] } else { vec![] },
                "{case}"
            );
            assert_eq!(host.node_online(G, N), !offline, "{case}");
            assert_eq!(host.device_online(G, N, "filler"), !offline, "{case}");
        }
    }

    #[test]
    fn a_device_death_and_a_lost_broker() {
        let mut host = Host::new();
        host.on_message(&topic(MessageType::NBirth, None), &nbirth(1), 0);
        host.on_message(&topic(MessageType::DBirth, Some("a")), &payload(Some(1), vec![]), 0);
        host.on_message(&topic(MessageType::DBirth, Some("b")), &payload(Some(2), vec![]), 0);
        let step = host.on_message(&topic(MessageType::DDeath, Some("a")), &payload(Some(3), vec![]), 0);
        assert_eq!((step.node_offline, step.devices_offline), (false, vec!["a".to_owned()]));
        assert!(!host.device_online(G, N, "a") && host.device_online(G, N, "b"));
        // a new NBIRTH: devices must be born again
        host.on_message(&topic(MessageType::NBirth, None), &nbirth(2), 0);
        assert!(!host.device_online(G, N, "b"));
        host.lost_broker();
        assert!(!host.node_online(G, N));
        let step = host.on_message(&topic(MessageType::NData, None), &by_alias(1, 1, 1), 0);
        assert!(step.rebirth);
    }

    #[test]
    fn topics_of_the_namespace_are_read() {
        let t = |kind, device: Option<&str>| {
            Some(SparkTopic {
                group: "g".into(),
                kind,
                node: "n".into(),
                device: device.map(str::to_owned),
            })
        };
        let table = [
            ("spBv1.0/g/NBIRTH/n", t(MessageType::NBirth, None)),
            ("spBv1.0/g/DDATA/n/d", t(MessageType::DData, Some("d"))),
            ("spBv1.0/g/NCMD/n", t(MessageType::NCmd, None)),
            ("spBv1.0/g/NDATA/n/d", None),
            ("spBv1.0/g/DDATA/n", None),
            ("spBv1.0/STATE/ms5", None),
            ("spBv1.0/g/NDATA/n/d/x", None),
            ("spAv1.0/g/NDATA/n", None),
            ("spBv1.0//NDATA/n", None),
            ("spBv1.0/g/XDATA/n", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_topic(text), want, "{text}");
        }
        assert_eq!(ncmd_topic("g", "n"), "spBv1.0/g/NCMD/n");
    }
}

//! MQTT source (rumqttc, MQTT 3.1.1): plain topics with JSON or scalar payloads, and
//! Sparkplug B as a host application, into the same [`TagSink`] as every other source.
//!
//! Per endpoint, one broker connection with a clean session: after every connect (the first
//! and each reconnect) it subscribes again to every topic with QoS 1, since a clean session
//! keeps no subscriptions; with Sparkplug it then publishes its STATE birth (retained; the
//! will says offline with the same timestamp). Messages become tag values through the
//! endpoint's [`mapping::Mapping`]; Sparkplug messages go through the pure
//! [`sparkplug::host::Host`] first (births, aliases, `seq`, `bdSeq`), and a gap or data
//! before a birth is answered with an NCMD `Node Control/Rebirth`. While connected the
//! endpoint heartbeats the machines of its plain topics and of its born nodes and devices; a
//! lost broker makes all its machines `unknown` at once, an NDEATH those of the node, a
//! DDEATH those of the device. It reconnects with backoff and jitter (`[mqtt]
//! reconnect_base` doubling up to `reconnect_max`).

pub mod mapping;
pub mod sparkplug;
pub mod topic;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngExt;
use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, QoS, SubscribeFilter, SubscribeReasonCode,
};

use self::mapping::Mapping;
use self::sparkplug::host::{Host, MessageType, Problem, Step, ncmd_topic, parse_topic};
use self::sparkplug::payload::Payload;
use self::topic::ReceiptClock;
use super::health::{EndpointHealth, Link};
use super::{TagSink, TagSource};
use crate::clock::Clock;
use crate::config::{MqttEndpoint, Reconnect, broker_address};
use crate::domain::EpochMs;
use crate::domain::plant::{MachineIdx, PlantModel};
use crate::domain::tag::{Quality, TagUpdate, TagValue};
use crate::metrics as m;

/// The `kind` label of this source's metrics.
pub const KIND: &str = "mqtt";
/// Largest packet in either direction (Sparkplug births of big nodes are large).
const MAX_PACKET: usize = 4 * 1024 * 1024;
/// Requests (subscribes, publishes) waiting for the event loop.
const REQUESTS: usize = 256;

/// The source: one task per broker.
pub struct MqttSource {
    endpoints: Vec<MqttEndpoint>,
    reconnect: Reconnect,
    plant: Arc<PlantModel>,
    clock: Clock,
}

impl MqttSource {
    /// A source for these brokers, reconnecting with these delays.
    pub fn new(endpoints: Vec<MqttEndpoint>, reconnect: Reconnect, plant: Arc<PlantModel>, clock: Clock) -> Self {
        MqttSource {
            endpoints,
            reconnect,
            plant,
            clock,
        }
    }
}

impl TagSource for MqttSource {
    fn name(&self) -> &'static str {
        KIND
    }

    fn start(self: Box<Self>, sink: TagSink) {
        for settings in self.endpoints {
            let mapping = Mapping::new(&settings, &self.plant);
            let link = Link::new(KIND, &settings.name, &settings.url);
            let endpoint = Endpoint {
                mapping,
                host: Host::new(),
                sink: sink.clone(),
                clock: self.clock.clone(),
                alive: Arc::new(Mutex::new(Vec::new())),
                failing: HashSet::new(),
                receipt: ReceiptClock::default(),
                link,
                connect_ts: 0,
                client: None,
                settings,
            };
            actix_rt::spawn(endpoint.run(self.reconnect));
        }
    }
}

/// One broker connection and what it knows.
struct Endpoint {
    settings: MqttEndpoint,
    mapping: Mapping,
    host: Host,
    sink: TagSink,
    clock: Clock,
    /// Machines to heartbeat now (empty while disconnected).
    alive: Arc<Mutex<Vec<MachineIdx>>>,
    /// Tags whose last value could not be read.
    failing: HashSet<String>,
    /// Time stamps for plain values that carry none.
    receipt: ReceiptClock,
    link: Link,
    /// When the current connection was attempted: the STATE birth and will carry it.
    connect_ts: EpochMs,
    client: Option<AsyncClient>,
}

impl Endpoint {
    async fn run(mut self, reconnect: Reconnect) {
        let (host, port) = match broker_address(&self.settings.url) {
            Ok(address) => address,
            Err(reason) => {
                // check-config refuses this; a source built by hand may still have it
                tracing::error!(endpoint = %self.settings.name, url = %self.settings.url, %reason, "MQTT endpoint not started");
                return;
            }
        };
        let mut options = MqttOptions::new(self.settings.client_id(), host, port);
        options
            .set_keep_alive(self.settings.keep_alive)
            .set_clean_session(true)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET);
        if let (Some(user), Some(password)) = (&self.settings.username, self.settings.password()) {
            options.set_credentials(user.clone(), password);
        }
        let (client, mut events) = AsyncClient::new(options, REQUESTS);
        self.client = Some(client);
        actix_rt::spawn(heartbeat(self.alive.clone(), self.sink.clone(), self.clock.clone()));
        let mut failures = 0u32;
        // One of several replicas subscribes only while it runs the endpoint's lines.
        let sink = self.sink.clone();
        let machines = self.mapping.all_machines.clone();
        self.link.until_runs_any(&sink, &machines).await;
        self.set_will(&mut events);
        loop {
            let event = tokio::select! {
                event = events.poll() => event,
                () = sink.until_runs_none(&machines) => {
                    self.hand_over(&mut events).await;
                    self.link.until_runs_any(&sink, &machines).await;
                    self.set_will(&mut events);
                    continue;
                }
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    failures = 0;
                    self.connected();
                }
                Ok(Event::Incoming(Packet::Publish(p))) => self.on_publish(&p.topic, &p.payload),
                Ok(Event::Incoming(Packet::SubAck(ack))) => self.suback(&ack.return_codes),
                Ok(_) => {}
                Err(e) => {
                    if self.link.up {
                        self.lost(&e);
                    } else {
                        failures += 1;
                        self.link.failed(&e);
                    }
                    let jitter: f64 = rand::rng().random();
                    let (base, max) = (millis(reconnect.base), millis(reconnect.max));
                    let wait = crate::domain::page::backoff_ms(failures.max(1), base, max, jitter);
                    actix_rt::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(500))).await;
                    self.set_will(&mut events);
                }
            }
        }
    }

    /// The next connection's will: STATE offline with its own timestamp (Sparkplug only).
    fn set_will(&mut self, events: &mut EventLoop) {
        self.connect_ts = self.clock.now_ms();
        if let Some(host) = &self.mapping.host_id {
            events.mqtt_options.set_last_will(LastWill::new(
                sparkplug::state_topic(host),
                sparkplug::state_payload(false, self.connect_ts),
                QoS::AtLeastOnce,
                true,
            ));
        }
    }

    /// Connected: subscribe to everything again (a clean session keeps nothing), then say
    /// the host is online.
    fn connected(&mut self) {
        self.link.connected();
        let Some(client) = &self.client else { return };
        let filters: Vec<SubscribeFilter> = self
            .mapping
            .subscriptions()
            .into_iter()
            .map(|f| SubscribeFilter::new(f, QoS::AtLeastOnce))
            .collect();
        if let Err(e) = client.try_subscribe_many(filters) {
            tracing::error!(endpoint = %self.settings.name, error = %e, "cannot subscribe to the MQTT topics");
        }
        self.publish_state();
        self.refresh_alive();
    }

    /// The STATE birth, retained, with the connection's timestamp.
    fn publish_state(&self) {
        let (Some(client), Some(host)) = (&self.client, &self.mapping.host_id) else {
            return;
        };
        let body = sparkplug::state_payload(true, self.connect_ts);
        if let Err(e) = client.try_publish(sparkplug::state_topic(host), QoS::AtLeastOnce, true, body) {
            tracing::error!(endpoint = %self.settings.name, error = %e, "cannot publish the Sparkplug STATE");
        }
    }

    fn suback(&self, codes: &[SubscribeReasonCode]) {
        for (filter, code) in self.mapping.subscriptions().iter().zip(codes) {
            if *code == SubscribeReasonCode::Failure {
                tracing::error!(endpoint = %self.settings.name, topic = %filter, "MQTT broker refused the subscription; its tags get no data");
            }
        }
    }

    /// The broker connection dropped: every machine of the endpoint turns `unknown` now,
    /// and every Sparkplug node must be born again.
    fn lost(&mut self, error: &dyn std::fmt::Display) {
        self.link.lost(error);
        self.set_alive(Vec::new());
        self.host.lost_broker();
        self.sink.comms_lost(self.clock.now_ms(), &self.mapping.all_machines);
    }

    fn on_publish(&mut self, topic_name: &str, payload: &[u8]) {
        let now = self.clock.now_ms();
        if let Some(topic) = parse_topic(topic_name) {
            if self.mapping.knows_node(&topic.group, &topic.node) {
                self.on_sparkplug(&topic, payload, now);
            }
            return;
        }
        if let Some(host) = &self.mapping.host_id
            && topic_name == sparkplug::state_topic(host)
        {
            // Our own STATE said offline for this very connection (a will delivered late,
            // or another host with our id): say online again.
            if sparkplug::read_state(payload) == Some((false, self.connect_ts)) {
                self.publish_state();
            }
            return;
        }
        let Some(values) = self.mapping.plain(topic_name, payload, now, &mut self.receipt) else {
            return;
        };
        for (tag, error) in &values.failed {
            metrics::counter!(m::TAG_REJECTED, "source" => KIND, "reason" => "wrong_value").increment(1);
            if self.failing.insert(tag.clone()) {
                tracing::warn!(endpoint = %self.settings.name, topic = %topic_name, %tag, ?error, "MQTT payload gives no value for this tag");
            }
            self.link.health.tag_failed(tag);
        }
        for u in &values.updates {
            if self.failing.remove(&u.tag) {
                self.link.health.tag_ok(&u.tag);
            }
        }
        let total = (values.updates.len() + values.failed.len()) as u64;
        self.deliver(values.updates, total, now);
    }

    fn on_sparkplug(&mut self, topic: &sparkplug::host::SparkTopic, payload: &[u8], now: EpochMs) {
        let name = self.settings.name.clone();
        let event = |e: &'static str| {
            metrics::counter!(m::SPARKPLUG_EVENTS, "endpoint" => name.clone(), "event" => e).increment(1);
        };
        let Some(decoded) = Payload::decode_bytes(payload) else {
            event("undecodable");
            tracing::warn!(endpoint = %self.settings.name, group = %topic.group, node = %topic.node, "not a Sparkplug B payload; dropped");
            return;
        };
        let step = self.host.on_message(topic, &decoded, now);
        for problem in &step.problems {
            event(match problem {
                Problem::BeforeBirth => "before_birth",
                Problem::SeqGap { .. } => "seq_gap",
                Problem::StaleDeath { .. } => "stale_death",
                Problem::UnknownAlias(_) => "unknown_alias",
                Problem::NoBdSeq => "no_bd_seq",
            });
        }
        if step.problems.is_empty() || !step.samples.is_empty() {
            match topic.kind {
                MessageType::NBirth => event("nbirth"),
                MessageType::DBirth => event("dbirth"),
                MessageType::NDeath if step.node_offline => event("ndeath"),
                MessageType::DDeath if !step.devices_offline.is_empty() => event("ddeath"),
                _ => {}
            }
        }
        self.apply(topic, step, now);
    }

    /// Values in, deaths out, a rebirth asked for.
    fn apply(&mut self, topic: &sparkplug::host::SparkTopic, step: Step, now: EpochMs) {
        let (group, node) = (topic.group.as_str(), topic.node.as_str());
        let total = step.samples.len() as u64;
        let mut updates = Vec::with_capacity(step.samples.len());
        for sample in step.samples {
            let Some(tag) = self.mapping.metric_tag(group, node, &sample) else {
                continue;
            };
            match (sample.value, sample.quality) {
                (Some(value), quality) => updates.push(TagUpdate {
                    tag: tag.to_owned(),
                    value,
                    ts: sample.ts,
                    quality,
                }),
                // a bad value without a usable payload still counts as bad quality
                (None, Quality::Bad) => updates.push(TagUpdate {
                    tag: tag.to_owned(),
                    value: TagValue::Int(0),
                    ts: sample.ts,
                    quality: Quality::Bad,
                }),
                (None, _) => {
                    metrics::counter!(m::TAG_REJECTED, "source" => KIND, "reason" => "wrong_value").increment(1);
                }
            }
        }
        self.deliver(updates, total, now);
        if step.node_offline {
            tracing::info!(endpoint = %self.settings.name, group, node, "Sparkplug node died; its machines are unknown");
            self.sink
                .comms_lost(now, &self.mapping.scope_machines(group, node, None));
        }
        for device in &step.devices_offline {
            if !step.node_offline {
                tracing::info!(endpoint = %self.settings.name, group, node, device, "Sparkplug device died; its machines are unknown");
            }
            self.sink
                .comms_lost(now, &self.mapping.scope_machines(group, node, Some(device)));
        }
        if step.rebirth {
            self.ask_rebirth(group, node, now);
        }
        // only births and deaths change which machines are alive
        if matches!(
            topic.kind,
            MessageType::NBirth | MessageType::DBirth | MessageType::NDeath | MessageType::DDeath
        ) {
            self.refresh_alive();
        }
    }

    fn ask_rebirth(&self, group: &str, node: &str, now: EpochMs) {
        let Some(client) = &self.client else { return };
        let body = Payload::rebirth_request(u64::try_from(now).unwrap_or(0)).to_bytes();
        match client.try_publish(ncmd_topic(group, node), QoS::AtMostOnce, false, body) {
            Ok(()) => {
                metrics::counter!(m::SPARKPLUG_EVENTS, "endpoint" => self.settings.name.clone(), "event" => "rebirth_request")
                    .increment(1);
                tracing::info!(endpoint = %self.settings.name, group, node, "Sparkplug rebirth requested");
            }
            Err(e) => {
                tracing::warn!(endpoint = %self.settings.name, group, node, error = %e, "cannot request a Sparkplug rebirth")
            }
        }
    }

    /// Counts and delivers values: `total` values were read, the good ones among `updates`.
    fn deliver(&mut self, updates: Vec<TagUpdate>, total: u64, now: EpochMs) {
        let health: &mut EndpointHealth = &mut self.link.health;
        let good = updates.iter().filter(|u| u.quality == Quality::Good).count() as u64;
        health.counted(good, total);
        if updates.is_empty() {
            return;
        }
        for u in &updates {
            health.latency(((now - u.ts).max(0) as f64) / 1000.0);
        }
        health.delivered(updates.len());
        self.sink.deliver(updates);
    }

    fn refresh_alive(&self) {
        if !self.link.up {
            return;
        }
        let host = &self.host;
        let alive = self.mapping.alive_machines(|g, n, d| match d {
            None => host.node_online(g, n),
            Some(d) => host.device_online(g, n, d),
        });
        self.set_alive(alive);
    }

    /// Another replica runs the endpoint's lines now: disconnect from the broker cleanly.
    async fn hand_over(&mut self, events: &mut EventLoop) {
        if let Some(client) = &self.client {
            let _ = client.try_disconnect();
        }
        // Until the DISCONNECT has gone out and the connection is closed.
        let _ = tokio::time::timeout(Duration::from_secs(2), async { while events.poll().await.is_ok() {} }).await;
        self.set_alive(Vec::new());
        self.link.handed_over();
    }

    fn set_alive(&self, machines: Vec<MachineIdx>) {
        let mut alive = self.alive.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *alive = machines;
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Every second, tells the machines alive now that their source is.
async fn heartbeat(alive: Arc<Mutex<Vec<MachineIdx>>>, sink: TagSink, clock: Clock) {
    let mut every = actix_rt::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        let machines = alive.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if !machines.is_empty() {
            sink.heartbeat_machines(clock.now_ms(), &machines);
        }
    }
}

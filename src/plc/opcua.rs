//! OPC UA source: subscribes to PLCs and gateways (async-opcua client) and feeds the same
//! [`TagSink`] as every other source.
//!
//! Per endpoint: connect (never blocking start-up; retried with backoff and jitter), create
//! one subscription with a monitored item per tag (in batches), turn data changes into
//! [`TagUpdate`]s with the source timestamp and status quality. The client reconnects by
//! itself (`[opcua] reconnect_base` doubling up to `reconnect_max`) and recreates
//! subscriptions; while connected the endpoint heartbeats its machines, so a PLC that stops
//! answering makes them `unknown` after `stale_after`. When the session is lost the endpoint
//! says so at once (after the data received before it), and its machines turn `unknown`
//! (`comms_lost`) without waiting for `stale_after`. A node id the server
//! does not know is reported once (tag, node, endpoint) and the other tags keep flowing.
//! The connection is logged once per change (connected, unavailable, lost, reconnected),
//! each retry at DEBUG and counted; the client library's own log is off (see
//! [`crate::logging`]), since it reports the same events as errors.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use opcua::client::{
    Client, ClientBuilder, ClientEndpoint, DataChangeCallback, IdentityToken, MonitoredItem, Session, SessionPollResult,
};
use opcua::crypto::SecurityPolicy;
use opcua::types::{
    AttributeId, DataChangeFilter, DataChangeTrigger, DataValue, DeadbandType, Error, ExtensionObject,
    MessageSecurityMode, MonitoredItemCreateRequest, MonitoringMode, MonitoringParameters, NodeId, ReadValueId,
    StatusCode, TimestampsToReturn, Variant,
};
use rand::RngExt;
use tokio::sync::mpsc;

use super::health::{EndpointHealth, Link};
use super::{TagSink, TagSource};
use crate::clock::Clock;
use crate::config::{OpcUaEndpoint, Reconnect, SecurityModeName, SecurityPolicyName};
use crate::domain::plant::{MachineIdx, PlantModel};
use crate::domain::tag::{Quality, TagUpdate, TagValue};
use crate::metrics as m;

/// The `kind` label of this source's metrics.
const KIND: &str = "opcua";
/// Monitored items created per request.
const ITEMS_PER_REQUEST: usize = 500;
/// Most data changes waiting between the client callback and the sink.
const CHANGE_QUEUE: usize = 100_000;

/// A tag value from OPC UA, or why it cannot be one.
pub fn tag_value(v: &Variant) -> Option<TagValue> {
    Some(match v {
        Variant::Boolean(b) => TagValue::Bool(*b),
        Variant::SByte(x) => TagValue::Int(i64::from(*x)),
        Variant::Byte(x) => TagValue::Int(i64::from(*x)),
        Variant::Int16(x) => TagValue::Int(i64::from(*x)),
        Variant::UInt16(x) => TagValue::Int(i64::from(*x)),
        Variant::Int32(x) => TagValue::Int(i64::from(*x)),
        Variant::UInt32(x) => TagValue::Int(i64::from(*x)),
        Variant::Int64(x) => TagValue::Int(*x),
        Variant::UInt64(x) => TagValue::Int(i64::try_from(*x).ok()?),
        Variant::Float(x) => TagValue::Float(f64::from(*x)),
        Variant::Double(x) => TagValue::Float(*x),
        _ => return None,
    })
}

/// OPC UA status → quality.
pub fn quality(status: StatusCode) -> Quality {
    if status.is_good() {
        Quality::Good
    } else if status.is_uncertain() {
        Quality::Uncertain
    } else {
        Quality::Bad
    }
}

/// The source: one task per endpoint.
pub struct OpcUaSource {
    endpoints: Vec<OpcUaEndpoint>,
    reconnect: Reconnect,
    plant: Arc<PlantModel>,
    clock: Clock,
}

impl OpcUaSource {
    /// A source for these endpoints, reconnecting with these delays.
    pub fn new(endpoints: Vec<OpcUaEndpoint>, reconnect: Reconnect, plant: Arc<PlantModel>, clock: Clock) -> Self {
        OpcUaSource {
            endpoints,
            reconnect,
            plant,
            clock,
        }
    }
}

impl TagSource for OpcUaSource {
    fn name(&self) -> &'static str {
        "opcua"
    }

    fn start(self: Box<Self>, sink: TagSink) {
        for ep in self.endpoints {
            let machines: Vec<MachineIdx> = if ep.machines.is_empty() {
                (0..self.plant.machines.len()).collect()
            } else {
                ep.machines
                    .iter()
                    .filter_map(|id| self.plant.machine(id).map(|(i, _)| i))
                    .collect()
            };
            let tags: Vec<String> = machines
                .iter()
                .flat_map(|&i| self.plant.machines[i].signals.iter().map(|s| s.tag.clone()))
                .collect();
            let endpoint = Endpoint {
                settings: ep,
                reconnect: self.reconnect,
                machines,
                tags,
                sink: sink.clone(),
                clock: self.clock.clone(),
            };
            actix_rt::spawn(endpoint.run());
        }
    }
}

/// How a client retries connecting by itself.
#[derive(Clone, Copy)]
enum Retries {
    /// Not at all: one attempt, its outcome seen by the caller.
    None,
    /// Until it connects (the session event loop reports each attempt).
    Forever,
}

struct Endpoint {
    settings: OpcUaEndpoint,
    reconnect: Reconnect,
    machines: Vec<MachineIdx>,
    tags: Vec<String>,
    sink: TagSink,
    clock: Clock,
}

/// What the data-change callback hands over.
struct Change {
    node: NodeId,
    value: DataValue,
}

/// What reaches the forwarding task, in order: data changes, and the loss of the session
/// (after the changes received before it, so no older value undoes the loss).
enum Feed {
    Change(Change),
    Lost,
}

impl Endpoint {
    async fn run(self) {
        let name = self.settings.name.clone();
        let mut link = Link::new(KIND, &name, &self.settings.url);
        // tag by node id; node ids that do not parse are reported once and skipped
        let mut by_node: HashMap<NodeId, String> = HashMap::new();
        for tag in &self.tags {
            let node = self.settings.node_of(tag);
            match NodeId::from_str(&node) {
                Ok(id) => {
                    by_node.insert(id, tag.clone());
                }
                Err(_) => {
                    tracing::error!(endpoint = %name, %tag, %node, "not a valid OPC UA node id; tag skipped");
                    link.health.tag_failed(tag);
                }
            }
        }
        let by_node = Arc::new(by_node);
        let (tx, rx) = mpsc::channel::<Feed>(CHANGE_QUEUE);
        let connected = Arc::new(AtomicBool::new(false));
        actix_rt::spawn(forward(
            rx,
            by_node.clone(),
            Fed {
                sink: self.sink.clone(),
                machines: self.machines.clone(),
            },
            self.clock.clone(),
            link.health.clone(),
        ));
        actix_rt::spawn(heartbeat(
            connected.clone(),
            self.sink.clone(),
            self.machines.clone(),
            self.clock.clone(),
        ));
        // Outer retries: the client could not even be set up (server unreachable before the
        // session existed); inside a session the client retries by itself.
        let mut failures = 0u32;
        loop {
            // One of several replicas subscribes only while it runs the endpoint's lines.
            link.until_runs_any(&self.sink, &self.machines).await;
            if self
                .session(&mut link, tx.clone(), by_node.clone(), connected.clone())
                .await
            {
                failures = 0;
            } else {
                failures += 1;
            }
            connected.store(false, Ordering::Relaxed);
            let jitter: f64 = rand::rng().random();
            let (base, max) = (millis(self.reconnect.base), millis(self.reconnect.max));
            let wait = crate::domain::page::backoff_ms(failures.max(1), base, max, jitter);
            actix_rt::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(500))).await;
        }
    }

    /// One client session, until its event loop ends (it reconnects by itself inside).
    /// Every connection attempt and change of the link is reported to `link`. True if the
    /// session was connected at some point.
    async fn session(
        &self,
        link: &mut Link,
        tx: mpsc::Sender<Feed>,
        by_node: Arc<HashMap<NodeId, String>>,
        connected: Arc<AtomicBool>,
    ) -> bool {
        let lost = tx.clone();
        let s = &self.settings;
        let (policy, mode) = match (s.security_policy, s.security_mode) {
            (SecurityPolicyName::None, _) => (SecurityPolicy::None, MessageSecurityMode::None),
            (SecurityPolicyName::Basic256sha256, SecurityModeName::Sign) => {
                (SecurityPolicy::Basic256Sha256, MessageSecurityMode::Sign)
            }
            (SecurityPolicyName::Basic256sha256, _) => {
                (SecurityPolicy::Basic256Sha256, MessageSecurityMode::SignAndEncrypt)
            }
        };
        // The server's endpoints, asked once: the client would otherwise retry this first
        // connection by itself, unseen, until the server answers.
        let endpoints = match self.client(policy, mode, Retries::None) {
            Ok(discovery) => discovery.get_server_endpoints_from_url(s.url.as_str()).await,
            Err(e) => Err(e),
        };
        let endpoints = match endpoints {
            Ok(endpoints) => endpoints,
            Err(e) => {
                link.failed(&e);
                return false;
            }
        };
        let identity = match (&s.username, s.password()) {
            (Some(user), Some(password)) => IdentityToken::new_user_name(user, password),
            _ => IdentityToken::Anonymous,
        };
        let built = self.client(policy, mode, Retries::Forever).and_then(|client| {
            client
                .session_builder()
                .with_endpoints(endpoints)
                .connect_to_matching_endpoint((s.url.as_str(), policy.to_str(), mode))?
                .user_identity_token(identity)
                .build(client.certificate_store().clone())
        });
        let (session, event_loop) = match built {
            Ok(session) => session,
            Err(e) => {
                link.failed(&e);
                return false;
            }
        };
        let name = s.name.clone();
        let setup = {
            let (session, connected, name) = (session.clone(), connected.clone(), name.clone());
            let health = link.health.clone();
            let (items, publishing, queue) = (self.items(&by_node), s.publishing_interval, s.queue_size);
            actix_rt::spawn(async move {
                if !session.wait_for_connection().await {
                    return;
                }
                match subscribe(&session, items, publishing, queue, tx, &health, &by_node).await {
                    // Only a session that delivers data vouches for its machines.
                    Ok(()) => connected.store(true, Ordering::Relaxed),
                    Err(e) => tracing::error!(endpoint = %name, error = %e, "cannot create the OPC UA subscription"),
                }
            })
        };
        let stream = event_loop.enter();
        futures_util::pin_mut!(stream);
        let mut was_connected = false;
        loop {
            let event = tokio::select! {
                event = stream.next() => event,
                () = self.sink.until_runs_none(&self.machines) => {
                    // Another replica runs the lines now: close the session, quietly.
                    setup.abort();
                    connected.store(false, Ordering::Relaxed);
                    let _ = tokio::time::timeout(Duration::from_secs(2), session.disconnect()).await;
                    link.handed_over();
                    return true;
                }
            };
            let Some(event) = event else { break };
            match event {
                Ok(SessionPollResult::Reconnected(_)) => {
                    // The client recreates subscriptions but sends no publish request by
                    // itself afterwards; without this no data would flow again.
                    session.trigger_publish_now();
                    connected.store(true, Ordering::Relaxed);
                    was_connected = true;
                    link.connected();
                }
                Ok(SessionPollResult::ReconnectFailed(status)) => link.failed(&status),
                Ok(SessionPollResult::ConnectionLost(status)) => {
                    session_lost(link, &status, &connected, &lost).await;
                }
                Ok(_) => {}
                Err(status) => {
                    if link.up {
                        session_lost(link, &status, &connected, &lost).await;
                    } else {
                        link.failed(&status);
                    }
                    break;
                }
            }
        }
        setup.abort();
        if link.up {
            // The event loop ended by itself (the session was closed).
            session_lost(link, &"session closed", &connected, &lost).await;
        }
        was_connected
    }

    /// A client for this endpoint; `retries` is how it retries a lost session by itself.
    fn client(&self, policy: SecurityPolicy, mode: MessageSecurityMode, retries: Retries) -> Result<Client, Error> {
        client_builder(&self.settings, self.reconnect, (policy, mode), retries)
            .client()
            .map_err(|e| Error::new(StatusCode::BadConfigurationError, e.join("; ")))
    }

    fn items(&self, by_node: &HashMap<NodeId, String>) -> Vec<(NodeId, f64)> {
        let mut items: Vec<(NodeId, f64)> = by_node
            .iter()
            .map(|(node, tag)| (node.clone(), self.settings.sampling_of(tag).as_secs_f64() * 1000.0))
            .collect();
        items.sort_by_key(|item| item.0.to_string());
        items
    }
}

/// The session dropped: logged and counted once, heartbeats stopped, and the endpoint's
/// machines told (after the data received before the loss).
async fn session_lost(
    link: &mut Link,
    status: &dyn std::fmt::Display,
    connected: &AtomicBool,
    feed: &mpsc::Sender<Feed>,
) {
    connected.store(false, Ordering::Relaxed);
    link.lost(status);
    // Fails only once the forwarding task is gone, and with it every machine's feed.
    let _ = feed.send(Feed::Lost).await;
}

/// The client settings of an endpoint: identity, trust, the endpoint itself, and the
/// reconnect delays and keep-alive that decide how soon a loss is seen and mended.
fn client_builder(
    s: &OpcUaEndpoint,
    reconnect: Reconnect,
    (policy, mode): (SecurityPolicy, MessageSecurityMode),
    retries: Retries,
) -> ClientBuilder {
    ClientBuilder::new()
        .application_name("MS5")
        .application_uri("urn:ms5:client")
        .product_uri("urn:ms5:client")
        .pki_dir(&s.pki_dir)
        .create_sample_keypair(true)
        .trust_server_certs(s.trust_server_certs)
        // The endpoint is described in the client's own configuration too (otherwise
        // the client warns that it has none, though it is given one per connect).
        .endpoint(
            s.name.as_str(),
            ClientEndpoint {
                security_policy: policy.to_str().to_owned(),
                security_mode: mode.into(),
                ..ClientEndpoint::new(s.url.as_str())
            },
        )
        .session_retry_initial(reconnect.base)
        .session_retry_max(reconnect.max)
        .session_retry_limit(match retries {
            Retries::None => 0,
            Retries::Forever => -1,
        })
        .keep_alive_interval(Duration::from_secs(1))
        .max_failed_keep_alive_count(3)
        .request_timeout(Duration::from_secs(5))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Creates the subscription and its monitored items, reporting items the server refuses.
async fn subscribe(
    session: &Arc<Session>,
    items: Vec<(NodeId, f64)>,
    publishing: Duration,
    queue_size: u32,
    tx: mpsc::Sender<Feed>,
    health: &EndpointHealth,
    by_node: &HashMap<NodeId, String>,
) -> Result<(), String> {
    let callback = DataChangeCallback::new(move |value: DataValue, item: &MonitoredItem| {
        let node = item.item_to_monitor().node_id.clone();
        if tx.try_send(Feed::Change(Change { node, value })).is_err() {
            metrics::counter!(m::TAG_REJECTED, "source" => "opcua", "reason" => "queue_full").increment(1);
        }
    });
    let subscription = session
        .create_subscription(publishing, 60, 10, 0, 0, true, callback)
        .await
        .map_err(|e| e.to_string())?;
    for chunk in items.chunks(ITEMS_PER_REQUEST) {
        let requests: Vec<MonitoredItemCreateRequest> = chunk
            .iter()
            .map(|(node, sampling)| MonitoredItemCreateRequest {
                item_to_monitor: ReadValueId {
                    node_id: node.clone(),
                    attribute_id: AttributeId::Value as u32,
                    ..Default::default()
                },
                monitoring_mode: MonitoringMode::Reporting,
                requested_parameters: MonitoringParameters {
                    sampling_interval: *sampling,
                    queue_size,
                    discard_oldest: true,
                    // Status changes too: Good → Bad with the same value must be seen.
                    filter: ExtensionObject::from_message(DataChangeFilter {
                        trigger: DataChangeTrigger::StatusValue,
                        deadband_type: DeadbandType::None as u32,
                        deadband_value: 0.0,
                    }),
                    ..Default::default()
                },
            })
            .collect();
        let results = session
            .create_monitored_items(subscription, TimestampsToReturn::Both, requests)
            .await
            .map_err(|e| e.to_string())?;
        for ((node, _), result) in chunk.iter().zip(results) {
            let status = result.result.status_code;
            if !status.is_good() {
                report_unknown(health, by_node.get(node).map_or("?", String::as_str), node, status);
            }
        }
    }
    Ok(())
}

fn report_unknown(health: &EndpointHealth, tag: &str, node: &NodeId, status: StatusCode) {
    let endpoint = health.endpoint();
    tracing::error!(endpoint, tag, node = %node, %status, "OPC UA node refused; this tag gets no data");
    health.tag_failed(tag);
}

/// Where an endpoint's data goes: the sink, and the machines it feeds.
struct Fed {
    sink: TagSink,
    machines: Vec<MachineIdx>,
}

/// Drains data changes into the sink in batches (one delivery per burst); a lost session
/// is passed on to the endpoint's machines after the changes that came before it.
async fn forward(
    mut rx: mpsc::Receiver<Feed>,
    by_node: Arc<HashMap<NodeId, String>>,
    fed: Fed,
    clock: Clock,
    mut health: EndpointHealth,
) {
    let sink = &fed.sink;
    let mut reported: HashSet<NodeId> = HashSet::new();
    let mut buf = Vec::with_capacity(256);
    while rx.recv_many(&mut buf, 4096).await > 0 {
        let now = clock.now_ms();
        let mut updates = Vec::with_capacity(buf.len());
        let (mut good, mut total) = (0, 0);
        let mut delivered = 0;
        for feed in buf.drain(..) {
            let change = match feed {
                Feed::Change(change) => change,
                Feed::Lost => {
                    delivered += updates.len();
                    if !updates.is_empty() {
                        sink.deliver(std::mem::take(&mut updates));
                    }
                    sink.comms_lost(now, &fed.machines);
                    continue;
                }
            };
            let Some(tag) = by_node.get(&change.node) else { continue };
            let status = change.value.status();
            total += 1;
            if status == StatusCode::BadNodeIdUnknown {
                // Some servers accept the item and only then say the node is not there.
                if reported.insert(change.node.clone()) {
                    report_unknown(&health, tag, &change.node, status);
                }
                continue;
            }
            if status.is_good() {
                good += 1;
                if reported.remove(&change.node) {
                    // The node exists now (added to the server later): the error clears.
                    health.tag_ok(tag);
                }
            }
            let ts = change
                .value
                .source_timestamp
                .or(change.value.server_timestamp)
                .map_or(now, |t| t.as_chrono().timestamp_millis());
            health.latency(((now - ts).max(0) as f64) / 1000.0);
            let value = change.value.value.as_ref().and_then(tag_value);
            match value {
                Some(value) => updates.push(TagUpdate {
                    tag: tag.clone(),
                    value,
                    ts,
                    quality: quality(status),
                }),
                None if !status.is_good() => updates.push(TagUpdate {
                    // A bad value without a usable payload is still counted as bad quality.
                    tag: tag.clone(),
                    value: TagValue::Int(0),
                    ts,
                    quality: Quality::Bad,
                }),
                None => metrics::counter!(m::TAG_REJECTED, "source" => "opcua", "reason" => "wrong_value").increment(1),
            }
        }
        delivered += updates.len();
        health.delivered(delivered);
        health.counted(good, total);
        if !updates.is_empty() {
            sink.deliver(updates);
        }
    }
}

/// While connected, tells the endpoint's machines their source is alive.
async fn heartbeat(connected: Arc<AtomicBool>, sink: TagSink, machines: Vec<MachineIdx>, clock: Clock) {
    let mut every = actix_rt::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        if connected.load(Ordering::Relaxed) {
            sink.heartbeat_machines(clock.now_ms(), &machines);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_become_tag_values_or_nothing() {
        assert_eq!(tag_value(&Variant::Boolean(true)), Some(TagValue::Bool(true)));
        assert_eq!(tag_value(&Variant::UInt32(7)), Some(TagValue::Int(7)));
        assert_eq!(tag_value(&Variant::Int16(-3)), Some(TagValue::Int(-3)));
        assert_eq!(tag_value(&Variant::UInt64(u64::MAX)), None);
        assert_eq!(tag_value(&Variant::Double(1.5)), Some(TagValue::Float(1.5)));
        assert_eq!(tag_value(&Variant::String("7".into())), None);
    }

    #[test]
    fn the_configured_reconnect_delays_reach_the_client() {
        use crate::config::OpcUaSettings;
        use opcua::client::SessionRetryPolicy;
        let endpoint: OpcUaEndpoint =
            serde_json::from_value(serde_json::json!({"name": "plc", "url": "opc.tcp://127.0.0.1:4840/"}))
                .unwrap_or_else(|e| panic!("{e}"));
        let ms = Duration::from_millis;
        // (reconnect settings, first delay and cap the client retries a lost session with)
        let table = [
            (OpcUaSettings::default().reconnect(), ms(500), ms(5_000)),
            (
                Reconnect {
                    base: ms(200),
                    max: ms(3_000),
                },
                ms(200),
                ms(3_000),
            ),
        ];
        for (reconnect, first, cap) in table {
            let builder = client_builder(
                &endpoint,
                reconnect,
                (SecurityPolicy::None, MessageSecurityMode::None),
                Retries::Forever,
            );
            // The policy keeps its fields to itself; its Debug text shows them all.
            assert_eq!(
                format!("{:?}", builder.config().session_retry_policy()),
                format!("{:?}", SessionRetryPolicy::new(cap, None, first)),
                "{reconnect:?}"
            );
        }
    }

    #[test]
    fn status_codes_become_qualities() {
        assert_eq!(quality(StatusCode::Good), Quality::Good);
        assert_eq!(quality(StatusCode::UncertainLastUsableValue), Quality::Uncertain);
        assert_eq!(quality(StatusCode::BadCommunicationError), Quality::Bad);
    }
}

//! Logix source: ControlLogix and CompactLogix controllers read by symbolic tag name over
//! EtherNet/IP (CIP). Per endpoint one class 3 connection (the large 4,000-byte one where
//! the controller offers it, else 500 bytes), and every poll reads all mapped tags in
//! Multiple Service Packets that fill the connection ([`batch`]). The loop itself is the
//! shared [`crate::plc::enip::poll`].

pub mod address;
pub mod batch;
pub mod value;

use std::sync::Arc;
use std::time::Duration;

use address::LogixAddress;

use super::enip::EnipError;
use super::enip::cip::{
    MESSAGE_ROUTER, MULTIPLE_SERVICE, Reply, STATUS_EMBEDDED_ERROR, multiple_service_data, multiple_service_replies,
    request, status_text,
};
use super::enip::client::Session;
use super::enip::poll::{self, Endpoint, Poller, Read};
use super::health::Link;
use super::{TagSink, TagSource};
use crate::clock::Clock;
use crate::config::{LogixEndpoint, Reconnect, machines_of, socket_address};
use crate::domain::plant::PlantModel;

/// The `kind` label of this source's metrics.
pub const KIND: &str = "logix";
/// Statuses of a packet whose request or reply does not fit the connection: partial
/// transfer, reply data too large, too much data.
const TOO_LARGE: [u8; 3] = [0x06, 0x11, 0x15];

/// The source: one polling task per controller.
pub struct LogixSource {
    endpoints: Vec<LogixEndpoint>,
    reconnect: Reconnect,
    plant: Arc<PlantModel>,
    clock: Clock,
}

impl LogixSource {
    /// A source for these controllers.
    pub fn new(endpoints: Vec<LogixEndpoint>, reconnect: Reconnect, plant: Arc<PlantModel>, clock: Clock) -> Self {
        LogixSource {
            endpoints,
            reconnect,
            plant,
            clock,
        }
    }
}

impl TagSource for LogixSource {
    fn name(&self) -> &'static str {
        KIND
    }

    fn start(self: Box<Self>, sink: TagSink) {
        for ep in self.endpoints {
            let address = socket_address(&ep.address);
            let link = Link::new(KIND, &ep.name, &address);
            let (poller, tags) = LogixPoller::new(&ep, address);
            let endpoint = Endpoint {
                link,
                tags,
                machines: machines_of(&ep.tags, &self.plant),
                poll: ep.poll,
                reconnect: self.reconnect,
                sink: sink.clone(),
                clock: self.clock.clone(),
            };
            actix_rt::spawn(poll::run(poller, endpoint));
        }
    }
}

/// Reads one controller's tags.
pub struct LogixPoller {
    address: String,
    timeout: Duration,
    route: Vec<u8>,
    large: bool,
    /// Each tag's address, or why it has none.
    addresses: Vec<Result<LogixAddress, String>>,
    /// Each tag's Read Tag request.
    requests: Vec<Vec<u8>>,
    /// Each tag's last reply size (learned).
    replies: Vec<usize>,
    name: String,
}

impl LogixPoller {
    /// The poller of an endpoint and the plant tags it reads, in its order.
    pub fn new(ep: &LogixEndpoint, address: String) -> (LogixPoller, Vec<String>) {
        let mut tags = Vec::new();
        let mut addresses = Vec::new();
        let mut requests = Vec::new();
        for (plc, tag) in &ep.tags {
            tags.push(tag.clone());
            let parsed = address::parse(plc);
            requests.push(match &parsed {
                Ok(a) => request(value::READ_TAG, &a.path, &value::ONE_ELEMENT),
                Err(_) => Vec::new(),
            });
            addresses.push(parsed);
        }
        let n = tags.len();
        let poller = LogixPoller {
            address,
            timeout: ep.timeout,
            route: ep.route_bytes().unwrap_or_default(),
            large: ep.large_connection,
            addresses,
            requests,
            replies: vec![batch::FIRST_GUESS; n],
            name: ep.name.clone(),
        };
        (poller, tags)
    }
}

impl Poller for LogixPoller {
    type Conn = Session;

    async fn connect(&mut self) -> Result<Session, EnipError> {
        let mut session = Session::connect(&self.address, self.timeout).await?;
        let size = session.open(&self.route, self.large).await?;
        tracing::info!(endpoint = %self.name, bytes = size, "Logix connection open");
        metrics::gauge!(crate::metrics::PLC_CONNECTION_BYTES, "kind" => KIND, "endpoint" => self.name.clone())
            .set(f64::from(size));
        Ok(session)
    }

    async fn poll(&mut self, conn: &mut Session) -> Result<Vec<Read>, EnipError> {
        let size = usize::from(conn.connection_size().unwrap_or(500));
        let mut reads: Vec<Read> = self
            .addresses
            .iter()
            .map(|a| Err(a.as_ref().err().cloned().unwrap_or_default()))
            .collect();
        let valid: Vec<usize> = (0..self.addresses.len())
            .filter(|&i| self.addresses[i].is_ok())
            .collect();
        let sizes: Vec<usize> = valid.iter().map(|&i| self.requests[i].len()).collect();
        let replies: Vec<usize> = valid.iter().map(|&i| self.replies[i]).collect();
        // Packets in order; one the controller finds too large is split in halves and
        // sent again (the sizes learned make the next poll's plan fit).
        let mut work: Vec<Vec<usize>> = batch::plan(&sizes, &replies, size)
            .into_iter()
            .rev()
            .map(|r| valid[r].to_vec())
            .collect();
        while let Some(group) = work.pop() {
            let embedded: Vec<Vec<u8>> = group.iter().map(|&i| self.requests[i].clone()).collect();
            let msg = request(MULTIPLE_SERVICE, &MESSAGE_ROUTER, &multiple_service_data(&embedded));
            let bytes = conn.connected(&msg).await?;
            let reply = Reply::parse(&bytes)?;
            if reply.status != 0 && reply.status != STATUS_EMBEDDED_ERROR {
                for &i in &group {
                    self.replies[i] = self.replies[i].max(batch::FIRST_GUESS) * 2;
                }
                if group.len() > 1 && TOO_LARGE.contains(&reply.status) {
                    let (a, b) = group.split_at(group.len() / 2);
                    work.push(b.to_vec());
                    work.push(a.to_vec());
                    continue;
                }
                for &i in &group {
                    reads[i] = Err(format!(
                        "CIP status {:#04x} ({})",
                        reply.status,
                        status_text(reply.status)
                    ));
                }
                continue;
            }
            let parts = multiple_service_replies(reply.data)?;
            if parts.len() != group.len() {
                return Err(EnipError::Malformed("multiple service reply count differs"));
            }
            for (&i, part) in group.iter().zip(parts) {
                self.replies[i] = part.len();
                let one = Reply::parse(part)?;
                reads[i] = match (one.check(), &self.addresses[i]) {
                    (Ok(()), Ok(a)) => value::decode(one.data, a.bit),
                    (Err(e), _) => Err(e.to_string()),
                    (_, Err(e)) => Err(e.clone()),
                };
            }
        }
        Ok(reads)
    }

    async fn close(&mut self, conn: Session) {
        conn.close().await;
    }
}

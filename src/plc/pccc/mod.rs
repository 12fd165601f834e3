//! PCCC source: SLC 500 and MicroLogix controllers read by data-table address (`N7:0`,
//! `B3:0/5`, `T4:0.ACC`, …) with typed reads inside Execute PCCC over EtherNet/IP
//! (unconnected). Each poll reads runs of nearby elements of a file, at most 236 bytes
//! each ([`codec::plan`]). The loop itself is the shared [`crate::plc::enip::poll`].

pub mod address;
pub mod codec;

use std::sync::Arc;
use std::time::Duration;

use address::PcccAddress;
use codec::{EXECUTE_PCCC, PCCC_OBJECT, ReadPlan, ReplyError};

use super::enip::EnipError;
use super::enip::cip::{Reply, request};
use super::enip::client::Session;
use super::enip::connection::VENDOR;
use super::enip::poll::{self, Endpoint, Poller, Read};
use super::health::Link;
use super::{TagSink, TagSource};
use crate::clock::Clock;
use crate::config::{PcccEndpoint, Reconnect, machines_of, socket_address};
use crate::domain::plant::PlantModel;

/// The `kind` label of this source's metrics.
pub const KIND: &str = "pccc";

/// The source: one polling task per controller.
pub struct PcccSource {
    endpoints: Vec<PcccEndpoint>,
    reconnect: Reconnect,
    plant: Arc<PlantModel>,
    clock: Clock,
}

impl PcccSource {
    /// A source for these controllers.
    pub fn new(endpoints: Vec<PcccEndpoint>, reconnect: Reconnect, plant: Arc<PlantModel>, clock: Clock) -> Self {
        PcccSource {
            endpoints,
            reconnect,
            plant,
            clock,
        }
    }
}

impl TagSource for PcccSource {
    fn name(&self) -> &'static str {
        KIND
    }

    fn start(self: Box<Self>, sink: TagSink) {
        for ep in self.endpoints {
            let address = socket_address(&ep.address);
            let link = Link::new(KIND, &ep.name, &address);
            let (poller, tags) = PcccPoller::new(&ep, address);
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

/// Reads one controller's data-table addresses.
pub struct PcccPoller {
    address: String,
    timeout: Duration,
    /// Each tag's address, or why it has none.
    addresses: Vec<Result<PcccAddress, String>>,
    /// The reads of the valid addresses.
    reads: Vec<ReadPlan>,
    /// Per tag, its read (valid addresses only).
    read_of: Vec<Option<usize>>,
    tns: u16,
    serial: u32,
}

impl PcccPoller {
    /// The poller of an endpoint and the plant tags it reads, in its order.
    pub fn new(ep: &PcccEndpoint, address: String) -> (PcccPoller, Vec<String>) {
        let tags: Vec<String> = ep.tags.values().cloned().collect();
        let addresses: Vec<Result<PcccAddress, String>> = ep.tags.keys().map(|a| address::parse(a)).collect();
        let valid: Vec<(usize, PcccAddress)> = addresses
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.as_ref().ok().map(|a| (i, *a)))
            .collect();
        let only: Vec<PcccAddress> = valid.iter().map(|(_, a)| *a).collect();
        let (reads, of) = codec::plan(&only);
        let mut read_of = vec![None; addresses.len()];
        for ((i, _), r) in valid.iter().zip(of) {
            read_of[*i] = Some(r);
        }
        let poller = PcccPoller {
            address,
            timeout: ep.timeout,
            addresses,
            reads,
            read_of,
            tns: 0,
            serial: rand::random(),
        };
        (poller, tags)
    }
}

impl Poller for PcccPoller {
    type Conn = Session;

    async fn connect(&mut self) -> Result<Session, EnipError> {
        Session::connect(&self.address, self.timeout).await
    }

    async fn poll(&mut self, conn: &mut Session) -> Result<Vec<Read>, EnipError> {
        let mut results: Vec<Result<Vec<u8>, String>> = Vec::with_capacity(self.reads.len());
        for read in &self.reads {
            self.tns = self.tns.wrapping_add(1);
            let data = codec::read_request(VENDOR, self.serial, self.tns, read);
            let bytes = conn.unconnected(&request(EXECUTE_PCCC, &PCCC_OBJECT, &data)).await?;
            let reply = Reply::parse(&bytes)?;
            if let Err(e) = reply.check() {
                results.push(Err(e.to_string()));
                continue;
            }
            results.push(match codec::parse_reply(reply.data, self.tns) {
                Ok(d) => Ok(d.to_vec()),
                Err(ReplyError::Status(s)) => Err(s.to_string()),
                Err(ReplyError::Malformed(m)) => return Err(EnipError::Malformed(m)),
            });
        }
        Ok(self
            .addresses
            .iter()
            .zip(&self.read_of)
            .map(|(a, r)| match (a, r) {
                (Ok(a), Some(r)) => match &results[*r] {
                    Ok(data) => codec::value_of(a, &self.reads[*r], data),
                    Err(e) => Err(e.clone()),
                },
                (Err(e), _) => Err(e.clone()),
                (Ok(_), None) => Err("not planned".into()),
            })
            .collect())
    }

    async fn close(&mut self, conn: Session) {
        conn.close().await;
    }
}

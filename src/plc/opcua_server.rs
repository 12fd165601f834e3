//! `ms5 simulate`: the built-in simulated plant served as an OPC UA server, a stand-in PLC
//! for demos, training and tests. Every tag of the plant model is a variable in namespace
//! `[opcua.server].namespace` (index 2) with the tag name as string id, typed as a PLC
//! would type it (state and codes Int32, bits Boolean, counters UInt16/UInt32 by width).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opcua::crypto::SecurityPolicy;
use opcua::server::address_space::Variable;
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::memory::{SimpleNodeManager, simple_node_manager};
use opcua::server::{ANONYMOUS_USER_TOKEN_ID, ServerBuilder, ServerHandle, ServerUserToken};
use opcua::types::{DataValue, DateTime, MessageSecurityMode, NodeId, ObjectId, StatusCode, Variant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::OpcUaServerSettings;
use crate::domain::counter::CounterWidth;
use crate::domain::plant::{PlantModel, SignalKind};
use crate::domain::tag::{Quality, TagUpdate, TagValue};

const USER_TOKEN_ID: &str = "ms5-user";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum PlcServerError {
    /// Binding the port.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// host:port.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The OPC UA server refused its configuration.
    #[error("OPC UA server: {0}")]
    Server(String),
    /// `ms5 simulate` was given no server to run.
    #[error("nothing to serve: [opcua.server] and [modbus.server] are both disabled")]
    NothingToServe,
}

/// How a tag is typed on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int32,
    UInt16,
    UInt32,
    Int64,
}

impl Kind {
    fn of(kind: &SignalKind) -> Kind {
        match kind {
            SignalKind::RunningBit | SignalKind::FaultBit => Kind::Bool,
            SignalKind::StateCode(_) | SignalKind::FaultCode | SignalKind::ProductCode => Kind::Int32,
            SignalKind::Counter(c) => match c.width {
                CounterWidth::Bits16 => Kind::UInt16,
                CounterWidth::Bits32 => Kind::UInt32,
                CounterWidth::Unbounded => Kind::Int64,
            },
        }
    }

    fn variant(self, v: TagValue) -> Variant {
        let int = || match v {
            TagValue::Bool(b) => i64::from(b),
            TagValue::Int(i) => i,
            TagValue::Float(f) => f as i64,
        };
        match self {
            Kind::Bool => Variant::Boolean(v.as_bool().unwrap_or(int() != 0)),
            Kind::Int32 => Variant::Int32(int().clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32),
            Kind::UInt16 => Variant::UInt16(int().clamp(0, i64::from(u16::MAX)) as u16),
            Kind::UInt32 => Variant::UInt32(int().clamp(0, i64::from(u32::MAX)) as u32),
            Kind::Int64 => Variant::Int64(int()),
        }
    }
}

/// A running OPC UA server exposing the plant's tags.
pub struct PlcServer {
    handle: ServerHandle,
    nodes: Arc<SimpleNodeManager>,
    tags: HashMap<String, (NodeId, Kind)>,
    port: u16,
    host: String,
    task: JoinHandle<Result<(), String>>,
}

impl PlcServer {
    /// Starts the server with every tag of `plant` at its zero value.
    pub async fn start(plant: &PlantModel, settings: &OpcUaServerSettings) -> Result<PlcServer, PlcServerError> {
        let addr = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&addr).await.map_err(|source| PlcServerError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| PlcServerError::Bind { addr, source })?
            .port();
        let url = format!("opc.tcp://{}:{port}/", settings.host);
        let mut builder = ServerBuilder::new()
            .application_name("MS5 simulated PLC")
            .application_uri("urn:ms5:simulate")
            .product_uri("urn:ms5:simulate")
            .host(&settings.host)
            .port(port)
            .discovery_urls(vec![url])
            .pki_dir(&settings.pki_dir)
            .create_sample_keypair(true)
            .trust_client_certs(settings.trust_client_certs)
            .with_node_manager(simple_node_manager(
                NamespaceMetadata {
                    namespace_uri: settings.namespace.clone(),
                    ..Default::default()
                },
                "ms5-simulate",
            ))
            .add_endpoint(
                "none",
                (
                    "/",
                    SecurityPolicy::None,
                    MessageSecurityMode::None,
                    &[ANONYMOUS_USER_TOKEN_ID] as &[&str],
                ),
            );
        if let (Some(user), Some(password)) = (&settings.username, settings.password()) {
            builder = builder
                .add_user_token(USER_TOKEN_ID, ServerUserToken::user_pass(user, &password))
                .add_endpoint(
                    "basic256sha256_sign_encrypt",
                    (
                        "/",
                        SecurityPolicy::Basic256Sha256,
                        MessageSecurityMode::SignAndEncrypt,
                        &[USER_TOKEN_ID] as &[&str],
                    ),
                );
        }
        let (server, handle) = builder.build().map_err(|e| PlcServerError::Server(e.to_string()))?;
        let nodes = handle
            .node_managers()
            .get_of_type::<SimpleNodeManager>()
            .ok_or_else(|| PlcServerError::Server("no in-memory node manager".into()))?;
        let ns = handle
            .get_namespace_index(&settings.namespace)
            .ok_or_else(|| PlcServerError::Server("namespace not registered".into()))?;
        let mut tags = HashMap::new();
        {
            let mut space = nodes.address_space().write();
            for line in &plant.lines {
                let folder = NodeId::new(ns, format!("lines/{}", line.id));
                space.add_folder(&folder, &line.name, &line.name, &ObjectId::ObjectsFolder.into());
                let mut variables = Vec::new();
                for &m in &line.machines {
                    for s in &plant.machines[m].signals {
                        let kind = Kind::of(&s.kind);
                        let node = NodeId::new(ns, s.tag.clone());
                        variables.push(Variable::new(
                            &node,
                            s.tag.as_str(),
                            s.tag.as_str(),
                            kind.variant(TagValue::Int(0)),
                        ));
                        tags.insert(s.tag.clone(), (node, kind));
                    }
                }
                space.add_variables(variables, &folder);
            }
        }
        let task = tokio::spawn(server.run_with(listener));
        Ok(PlcServer {
            handle,
            nodes,
            tags,
            port,
            host: settings.host.clone(),
            task,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `opc.tcp://host:port/`.
    pub fn url(&self) -> String {
        format!("opc.tcp://{}:{}/", self.host, self.port)
    }

    /// Writes tag values (subscribers are notified). A bad or uncertain quality is written
    /// as the matching status with the value kept, as a PLC gateway reports it.
    pub fn write(&self, updates: &[TagUpdate]) {
        let values: Vec<(&NodeId, DataValue)> = updates
            .iter()
            .filter_map(|u| {
                let (node, kind) = self.tags.get(&u.tag)?;
                let ts = DateTime::from(crate::domain::snapshot::utc(u.ts));
                let value = kind.variant(u.value);
                let dv = match u.quality {
                    Quality::Good => DataValue::new_at(value, ts),
                    Quality::Uncertain => DataValue::new_at_status(value, ts, StatusCode::UncertainLastUsableValue),
                    Quality::Bad => DataValue::new_at_status(value, ts, StatusCode::BadCommunicationError),
                };
                Some((node, dv))
            })
            .collect();
        let subscriptions = self.handle.subscriptions();
        if let Err(e) = self
            .nodes
            .set_values(subscriptions, values.into_iter().map(|(n, dv)| (n, None, dv)))
        {
            tracing::warn!(error = %e, "cannot write simulated values");
        }
    }

    /// Stops the server: clients see the connection drop.
    pub async fn stop(self) {
        self.handle.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

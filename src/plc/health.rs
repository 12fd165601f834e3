//! What every PLC source reports about an endpoint, under the same metric names whatever
//! its protocol (labelled `kind` and `endpoint`): connected, retries, values delivered,
//! latency, the good share of reads, and errors per tag. [`Link`] also logs each change of
//! connection once, so every source reads alike in the log.

use std::fmt::Display;

use super::TagSink;
use crate::domain::plant::MachineIdx;
use crate::metrics as m;

/// The health figures of one endpoint of one source kind.
#[derive(Debug, Clone)]
pub struct EndpointHealth {
    kind: &'static str,
    endpoint: String,
    good: u64,
    total: u64,
}

impl EndpointHealth {
    /// Figures for `endpoint` of a `kind` source (`opcua`, `modbus`, …): not connected, no
    /// retries yet.
    pub fn new(kind: &'static str, endpoint: &str) -> Self {
        metrics::gauge!(m::PLC_CONNECTED, "kind" => kind, "endpoint" => endpoint.to_owned()).set(0.0);
        metrics::gauge!(m::PLC_STANDBY, "kind" => kind, "endpoint" => endpoint.to_owned()).set(0.0);
        metrics::counter!(m::PLC_RECONNECTS, "kind" => kind, "endpoint" => endpoint.to_owned()).absolute(0);
        EndpointHealth {
            kind,
            endpoint: endpoint.to_owned(),
            good: 0,
            total: 0,
        }
    }

    /// The source kind (the `kind` label).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The endpoint's name (the `endpoint` label).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The endpoint is connected now, or not.
    pub fn set_connected(&self, up: bool) {
        metrics::gauge!(m::PLC_CONNECTED, "kind" => self.kind, "endpoint" => self.endpoint.clone()).set(if up {
            1.0
        } else {
            0.0
        });
    }

    /// Another replica runs the endpoint's lines (`true`), or this one does again.
    pub fn set_standby(&self, standby: bool) {
        metrics::gauge!(m::PLC_STANDBY, "kind" => self.kind, "endpoint" => self.endpoint.clone()).set(if standby {
            1.0
        } else {
            0.0
        });
    }

    /// One more connection attempt after the first.
    pub fn retried(&self) {
        metrics::counter!(m::PLC_RECONNECTS, "kind" => self.kind, "endpoint" => self.endpoint.clone()).increment(1);
    }

    /// `n` tag values went into the pipeline.
    pub fn delivered(&self, n: usize) {
        metrics::counter!(m::PLC_VALUES, "kind" => self.kind, "endpoint" => self.endpoint.clone()).increment(n as u64);
    }

    /// A value took `seconds` from its source timestamp (or the request) to arrive.
    pub fn latency(&self, seconds: f64) {
        metrics::histogram!(m::PLC_LATENCY, "kind" => self.kind, "endpoint" => self.endpoint.clone())
            .record(seconds.max(0.0));
    }

    /// Counts reads or values: `good` of `total` came back good. The published ratio covers
    /// everything since start.
    pub fn counted(&mut self, good: u64, total: u64) {
        self.good += good;
        self.total += total;
        if self.total > 0 {
            metrics::gauge!(m::PLC_SUCCESS_RATIO, "kind" => self.kind, "endpoint" => self.endpoint.clone())
                .set(self.good as f64 / self.total as f64);
        }
    }

    /// A tag's address or node was refused, or its read failed: counted, and the tag marked
    /// failing until [`EndpointHealth::tag_ok`].
    pub fn tag_failed(&self, tag: &str) {
        let labels = [
            ("kind", self.kind.to_owned()),
            ("endpoint", self.endpoint.clone()),
            ("tag", tag.to_owned()),
        ];
        metrics::counter!(m::PLC_TAG_ERRORS, &labels).increment(1);
        metrics::gauge!(m::PLC_TAG_ERROR, &labels).set(1.0);
    }

    /// A tag that failed reads again.
    pub fn tag_ok(&self, tag: &str) {
        metrics::gauge!(m::PLC_TAG_ERROR, "kind" => self.kind, "endpoint" => self.endpoint.clone(), "tag" => tag.to_owned())
            .set(0.0);
    }
}

/// The connection state of an endpoint, logged once per change (connected, unavailable,
/// lost, reconnected) with each retry at DEBUG, and every attempt after the first counted
/// in [`m::PLC_RECONNECTS`].
#[derive(Debug)]
pub struct Link {
    /// The endpoint's figures.
    pub health: EndpointHealth,
    url: String,
    /// Connected now.
    pub up: bool,
    /// Connected at some point since start.
    ever_up: bool,
    /// An attempt has ended since start (each later one is a retry).
    tried: bool,
    /// Retries since the last connection (or since start).
    retries: u64,
}

impl Link {
    /// The link of `endpoint` (a `kind` source) at `url`, not yet connected.
    pub fn new(kind: &'static str, endpoint: &str, url: &str) -> Self {
        Link {
            health: EndpointHealth::new(kind, endpoint),
            url: url.to_owned(),
            up: false,
            ever_up: false,
            tried: false,
            retries: 0,
        }
    }

    fn attempted(&mut self) {
        if self.tried {
            self.retries += 1;
            self.health.retried();
        }
        self.tried = true;
    }

    /// An attempt made a connection.
    pub fn connected(&mut self) {
        self.attempted();
        self.up = true;
        self.health.set_connected(true);
        let (who, endpoint, url, retries) = (
            label(self.health.kind),
            self.health.endpoint.as_str(),
            &self.url,
            self.retries,
        );
        if self.ever_up {
            tracing::info!(endpoint, url, retries, "{who} reconnected");
        } else {
            tracing::info!(endpoint, url, retries, "{who} connected");
        }
        self.ever_up = true;
        self.retries = 0;
    }

    /// An attempt made no connection: said once at start, then at DEBUG per retry.
    pub fn failed(&mut self, error: &dyn Display) {
        self.attempted();
        let (who, endpoint, url) = (label(self.health.kind), self.health.endpoint.as_str(), &self.url);
        if self.ever_up || self.retries > 0 {
            tracing::debug!(endpoint, url, retries = self.retries, %error, "{who} retry failed");
        } else {
            tracing::warn!(endpoint, url, %error, "{who} endpoint unavailable; retrying");
        }
    }

    /// Waits, on standby, while another replica runs every line of `machines` (one of
    /// several replicas talks to an endpoint only while it runs some of its lines).
    pub async fn until_runs_any(&mut self, sink: &TagSink, machines: &[MachineIdx]) {
        if sink.runs_any(machines) {
            return;
        }
        self.health.set_standby(true);
        sink.until_runs_any(machines).await;
        self.health.set_standby(false);
    }

    /// The connection was closed on purpose: another replica runs the endpoint's lines now.
    pub fn handed_over(&mut self) {
        self.up = false;
        self.retries = 0;
        self.health.set_connected(false);
        let (who, endpoint, url) = (label(self.health.kind), self.health.endpoint.as_str(), &self.url);
        tracing::info!(endpoint, url, "{who} left to the replica that runs its lines now");
    }

    /// The connection dropped; the retries that follow are counted from here.
    pub fn lost(&mut self, status: &dyn Display) {
        self.up = false;
        self.retries = 0;
        self.health.set_connected(false);
        let (who, endpoint, url) = (label(self.health.kind), self.health.endpoint.as_str(), &self.url);
        tracing::warn!(endpoint, url, %status, "{who} connection lost; retrying");
    }
}

/// How the log names a source kind.
fn label(kind: &'static str) -> &'static str {
    match kind {
        "opcua" => "OPC UA",
        "modbus" => "Modbus",
        "logix" => "Logix",
        "pccc" => "PCCC",
        "mqtt" => "MQTT",
        other => other,
    }
}

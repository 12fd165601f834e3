//! Every metric MS5 exports, named and described once. Prefix `ms5_`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::oee::OeeFigures;
use crate::domain::window::WindowName;

/// OEE of a machine or line per window (0–1; absent while undefined). Labels: scope, id, window.
pub const OEE: &str = "ms5_oee";
/// Availability. Labels: scope, id, window.
pub const AVAILABILITY: &str = "ms5_availability";
/// Performance. Labels: scope, id, window.
pub const PERFORMANCE: &str = "ms5_performance";
/// Quality. Labels: scope, id, window.
pub const QUALITY: &str = "ms5_quality";
/// 1 for a machine's current state, 0 for the others. Labels: machine, line, state.
pub const MACHINE_STATE: &str = "ms5_machine_state";
/// Parts counted. Labels: machine, kind (good | reject).
pub const PARTS: &str = "ms5_parts_total";
/// Cumulative counter readings taken as a reset. Labels: machine, reason (decrease |
/// implausible_jump).
pub const COUNTER_RESETS: &str = "ms5_counter_resets_total";
/// Unplanned downtime ended, seconds. Labels: machine, reason.
pub const DOWNTIME_SECONDS: &str = "ms5_downtime_seconds_total";
/// Tag updates received. Labels: source.
pub const TAG_UPDATES: &str = "ms5_tag_updates_total";
/// Tag updates not applied. Labels: source, reason (unknown_tag | bad_quality | wrong_value | duplicate | late | queue_full).
pub const TAG_REJECTED: &str = "ms5_tag_updates_rejected_total";
/// Uncertain-quality tag values (applied). Labels: source.
pub const TAG_UNCERTAIN: &str = "ms5_tag_updates_uncertain_total";
/// Lines this replica runs (every line for a lone MS5; see docs/cluster.md).
pub const CLUSTER_LINES_OWNED: &str = "ms5_cluster_lines_owned";
/// Telemetry rows a replica did not write: their line's lease had moved on.
pub const CLUSTER_ROWS_FENCED: &str = "ms5_cluster_rows_fenced_total";
/// 1 while this replica reaches Redis (publishes and is subscribed), else 0.
pub const CLUSTER_REDIS_UP: &str = "ms5_cluster_redis_up";
/// Messages between replicas over Redis, by `direction` (`out`, `in`).
pub const CLUSTER_BUS_MESSAGES: &str = "ms5_cluster_bus_messages_total";
/// Messages this replica could not send (Redis unreachable or its queue full).
pub const CLUSTER_BUS_DROPPED: &str = "ms5_cluster_bus_dropped_total";
/// Open WebSocket connections.
pub const WS_CONNECTIONS: &str = "ms5_ws_connections";
/// WebSocket frames. Labels: direction (in | out).
pub const WS_FRAMES: &str = "ms5_ws_frames_total";
/// Outbound frames replaced by a newer state for a slow client. Labels: kind.
pub const WS_FRAMES_COALESCED: &str = "ms5_ws_frames_coalesced_total";
/// WebSocket clients closed with 1013 for reading too slowly for their outbox budget.
pub const WS_SLOW_CLOSED: &str = "ms5_ws_slow_clients_closed_total";
/// HTTP request duration. Labels: method, route, status.
pub const HTTP_REQUEST_SECONDS: &str = "ms5_http_request_duration_seconds";
/// Duration of one store batch write.
pub const STORE_BATCH_SECONDS: &str = "ms5_store_batch_duration_seconds";
/// Rows written. Labels: table.
pub const STORE_ROWS: &str = "ms5_store_rows_written_total";
/// Failed batch writes (retried).
pub const STORE_ERRORS: &str = "ms5_store_write_errors_total";
/// Telemetry rows waiting to be written.
pub const STORE_BACKLOG: &str = "ms5_store_backlog_rows";
/// Raw samples dropped because the store fell too far behind.
pub const STORE_DROPPED: &str = "ms5_store_raw_samples_dropped_total";
/// Open Andon tickets (open or acknowledged). Labels: line, priority.
pub const ANDON_OPEN: &str = "ms5_andon_open_tickets";
/// Open tickets whose last response level has fired (nobody is left to page). Labels: line.
pub const ANDON_AT_LAST_LEVEL: &str = "ms5_andon_tickets_at_last_level";
/// Escalation levels fired. Labels: level, kind (response | resolve_deadline).
pub const ANDON_ESCALATIONS: &str = "ms5_andon_escalations_total";
/// Raise → acknowledge, seconds. Labels: priority.
pub const ANDON_TIME_TO_ACK: &str = "ms5_andon_time_to_acknowledge_seconds";
/// Raise → resolve, seconds. Labels: priority.
pub const ANDON_TIME_TO_RESOLVE: &str = "ms5_andon_time_to_resolve_seconds";
/// Tickets raised. Labels: line, source.
pub const ANDON_RAISED: &str = "ms5_andon_tickets_raised_total";
/// Pager delivery attempts. Labels: target, outcome (delivered | retry | failed).
pub const PAGER_DELIVERIES: &str = "ms5_pager_deliveries_total";
/// 1 while a PLC endpoint is connected. Labels: kind (opcua | modbus | …), endpoint.
pub const PLC_CONNECTED: &str = "ms5_plc_connected";
/// 1 while another replica runs every line of the endpoint's machines (so this one does
/// not connect, on purpose).
pub const PLC_STANDBY: &str = "ms5_plc_standby";
/// PLC connection attempts after the first, failed or not: each retry while an endpoint is
/// unreachable, and the attempt that reconnects (0 after a healthy start). Labels: kind, endpoint.
pub const PLC_RECONNECTS: &str = "ms5_plc_reconnects_total";
/// Tag values delivered into the pipeline. Labels: kind, endpoint.
pub const PLC_VALUES: &str = "ms5_plc_values_total";
/// Source timestamp (or request sent) → value received, seconds. Labels: kind, endpoint.
pub const PLC_LATENCY: &str = "ms5_plc_latency_seconds";
/// Share of reads or values that came back good since start (the poll success ratio; SLO
/// > 0.99). Labels: kind, endpoint.
pub const PLC_SUCCESS_RATIO: &str = "ms5_plc_success_ratio";
/// 1 while a tag's address or node is refused or unreadable. Labels: kind, endpoint, tag.
pub const PLC_TAG_ERROR: &str = "ms5_plc_tag_error";
/// Refusals and error replies per tag. Labels: kind, endpoint, tag.
pub const PLC_TAG_ERRORS: &str = "ms5_plc_tag_errors_total";
/// Size in bytes of the CIP connection an EtherNet/IP endpoint has open (4,000 large, 500
/// small). Labels: kind (logix), endpoint.
pub const PLC_CONNECTION_BYTES: &str = "ms5_plc_connection_bytes";
/// Sparkplug B host events per MQTT endpoint. Labels: endpoint, event (nbirth | ndeath |
/// dbirth | ddeath | rebirth_request | seq_gap | before_birth | stale_death | unknown_alias |
/// no_bd_seq | undecodable).
pub const SPARKPLUG_EVENTS: &str = "ms5_sparkplug_events_total";
/// Tag received → its frames queued to the WebSocket clients, seconds.
pub const WS_PUSH_LATENCY: &str = "ms5_ws_push_latency_seconds";
/// Actor restarts after a panic. Labels: actor.
pub const ACTOR_RESTARTS: &str = "ms5_actor_restarts_total";
/// Audit entries that could not be written.
pub const AUDIT_FAILURES: &str = "ms5_audit_write_errors_total";

/// 1, labelled with the running version. Labels: version.
pub const BUILD_INFO: &str = "ms5_build_info";
/// When this process started, Unix seconds (a change is a restart).
pub const START_TIME: &str = "ms5_start_time_seconds";

/// Edge: records waiting in the forward outbox (not quarantined).
pub const FORWARD_QUEUED: &str = "ms5_forward_queued_records";
/// Edge: bytes of the records waiting in the forward outbox.
pub const FORWARD_QUEUED_BYTES: &str = "ms5_forward_queued_bytes";
/// Edge: records sent to the central (a record sent again counts again).
pub const FORWARD_SENT: &str = "ms5_forward_sent_total";
/// Edge: records the central acknowledged (applied or already applied); they left the outbox.
pub const FORWARD_ACKNOWLEDGED: &str = "ms5_forward_acknowledged_total";
/// Edge: refusals by the central.
pub const FORWARD_REFUSED: &str = "ms5_forward_refused_total";
/// Edge: records dropped to keep the outbox within its bound. Labels: kind.
pub const FORWARD_DROPPED: &str = "ms5_forward_dropped_total";
/// Edge: records in quarantine.
pub const FORWARD_QUARANTINED: &str = "ms5_forward_quarantined_records";
/// Edge: age of the oldest record waiting, seconds (0 when none waits).
pub const FORWARD_LAG: &str = "ms5_forward_lag_seconds";
/// Edge: failed requests to the central (unreachable, refused as a whole, bad answer).
pub const FORWARD_ERRORS: &str = "ms5_forward_request_errors_total";
/// Central: forwarded records received. Labels: edge, outcome (applied | duplicate | refused | deferred).
pub const FORWARD_RECEIVED: &str = "ms5_forward_received_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder once per process and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                // People answer Andon in minutes, not milliseconds.
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(PLC_LATENCY.into()),
                        &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Prefix("ms5_andon_time".into()),
                        &[30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0],
                    )
                })
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Fails only if another recorder is installed already; then ours records
            // nothing, which the /metrics test would show.
            if metrics::set_global_recorder(recorder).is_ok() {
                describe();
            }
            handle
        })
        .clone()
}

/// Sets the process gauges (version, start time); called once at start.
pub fn record_start() {
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    metrics::gauge!(START_TIME).set(started);
}

fn describe() {
    for (name, what) in [
        (OEE, "OEE per scope (machine|line), id and window (0-1)"),
        (AVAILABILITY, "Availability per scope, id and window (0-1)"),
        (PERFORMANCE, "Performance per scope, id and window (0-1, may exceed 1)"),
        (QUALITY, "Quality per scope, id and window (0-1)"),
        (MACHINE_STATE, "1 for the machine's current state"),
        (WS_CONNECTIONS, "Open WebSocket connections"),
        (STORE_BACKLOG, "Telemetry rows waiting to be written"),
        (ANDON_OPEN, "Open Andon tickets by line and priority"),
        (PLC_CONNECTED, "1 while the PLC endpoint is connected"),
        (
            PLC_STANDBY,
            "1 while another replica runs the endpoint's lines (not connected on purpose)",
        ),
        (PLC_SUCCESS_RATIO, "Share of PLC reads or values that came back good"),
        (PLC_TAG_ERROR, "1 while a tag's PLC address or node is refused"),
        (
            ANDON_AT_LAST_LEVEL,
            "Open Andon tickets past their last escalation level",
        ),
        (BUILD_INFO, "1, labelled with the running version"),
        (FORWARD_QUEUED, "Records waiting in the forward outbox"),
        (
            FORWARD_QUEUED_BYTES,
            "Bytes of the records waiting in the forward outbox",
        ),
        (FORWARD_QUARANTINED, "Forwarded records in quarantine"),
        (FORWARD_LAG, "Age of the oldest record waiting to be forwarded, seconds"),
        (START_TIME, "When this process started, Unix seconds"),
        (CLUSTER_LINES_OWNED, "Lines this replica runs under its shard leases"),
        (CLUSTER_REDIS_UP, "1 while this replica reaches Redis, else 0"),
        (
            PLC_CONNECTION_BYTES,
            "Size of the open CIP connection of an EtherNet/IP endpoint",
        ),
    ] {
        describe_gauge!(name, what);
    }
    for (name, what) in [
        (PARTS, "Parts counted by kind"),
        (
            COUNTER_RESETS,
            "Counter readings taken as a reset, by reason (decrease, implausible_jump)",
        ),
        (TAG_UPDATES, "Tag updates received by source"),
        (TAG_REJECTED, "Tag updates not applied, by reason"),
        (
            CLUSTER_BUS_MESSAGES,
            "Messages between replicas over Redis, by direction",
        ),
        (
            CLUSTER_BUS_DROPPED,
            "Messages to other replicas not sent: Redis unreachable or the queue full",
        ),
        (
            CLUSTER_ROWS_FENCED,
            "Telemetry rows refused because this replica no longer leased their line",
        ),
        (TAG_UNCERTAIN, "Uncertain-quality tag values applied"),
        (WS_FRAMES, "WebSocket frames by direction"),
        (WS_FRAMES_COALESCED, "Outbound frames superseded for slow clients"),
        (
            WS_SLOW_CLOSED,
            "WebSocket clients closed (1013) past their outbox budget",
        ),
        (STORE_ROWS, "Rows written by table"),
        (STORE_ERRORS, "Failed store batch writes (retried)"),
        (STORE_DROPPED, "Raw samples dropped while the store lagged"),
        (ACTOR_RESTARTS, "Actor restarts after a panic"),
        (FORWARD_SENT, "Records sent to the central"),
        (FORWARD_ACKNOWLEDGED, "Records the central acknowledged"),
        (FORWARD_REFUSED, "Record refusals by the central"),
        (
            FORWARD_DROPPED,
            "Records dropped to keep the forward outbox within its bound, by kind",
        ),
        (FORWARD_ERRORS, "Failed requests to the central"),
        (
            FORWARD_RECEIVED,
            "Forwarded records received from edges, by edge and outcome",
        ),
        (ANDON_ESCALATIONS, "Andon escalation levels fired"),
        (ANDON_RAISED, "Andon tickets raised by line and source"),
        (PAGER_DELIVERIES, "Pager delivery attempts by target and outcome"),
        (PLC_RECONNECTS, "PLC connection attempts after the first (retries)"),
        (PLC_VALUES, "PLC tag values delivered"),
        (PLC_TAG_ERRORS, "PLC refusals and error replies per tag"),
        (
            SPARKPLUG_EVENTS,
            "Sparkplug B births, deaths, rebirth requests and dropped messages",
        ),
    ] {
        describe_counter!(name, what);
    }
    describe_counter!(
        DOWNTIME_SECONDS,
        Unit::Seconds,
        "Unplanned downtime by machine and reason"
    );
    describe_histogram!(HTTP_REQUEST_SECONDS, Unit::Seconds, "HTTP request duration");
    describe_histogram!(STORE_BATCH_SECONDS, Unit::Seconds, "Store batch write duration");
    describe_histogram!(PLC_LATENCY, Unit::Seconds, "PLC source timestamp or request to receipt");
    describe_histogram!(
        WS_PUSH_LATENCY,
        Unit::Seconds,
        "Tag received to WebSocket frames queued"
    );
    describe_histogram!(ANDON_TIME_TO_ACK, Unit::Seconds, "Andon raise to acknowledge");
    describe_histogram!(ANDON_TIME_TO_RESOLVE, Unit::Seconds, "Andon raise to resolve");
}

/// The OEE gauges of one machine or line (`scope`: `machine` or `line`), registered once:
/// looking a labelled gauge up by name at every publish cost more than the publish's diff.
pub struct OeeGauges {
    /// Per window, in [`WindowName::ALL`] order: OEE, availability, performance, quality.
    windows: [[metrics::Gauge; 4]; 5],
}

impl OeeGauges {
    /// The gauges of entity `id`.
    pub fn new(scope: &'static str, id: &str) -> Self {
        let windows = WindowName::ALL.map(|w| {
            [OEE, AVAILABILITY, PERFORMANCE, QUALITY]
                .map(|name| metrics::gauge!(name, "scope" => scope, "id" => id.to_owned(), "window" => w.as_str()))
        });
        OeeGauges { windows }
    }

    /// Sets every defined figure of `windows` (undefined ones keep their last value).
    pub fn set(&self, windows: &BTreeMap<&'static str, OeeFigures>) {
        for (w, gauges) in WindowName::ALL.iter().zip(&self.windows) {
            let Some(f) = windows.get(w.as_str()) else {
                continue;
            };
            for (gauge, value) in gauges.iter().zip([f.oee, f.availability, f.performance, f.quality]) {
                if let Some(v) = value {
                    gauge.set(v);
                }
            }
        }
    }
}

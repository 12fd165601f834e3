//! Edge store-and-forward, the rules both ends follow (no IO): the records and their wire
//! form, which records a central takes from which edge, what the edge does with each
//! answer, retry delays, and which records go first when the edge's buffer is full.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::forward_tables::{Table, TableRow, decode_row};
use super::plant::PlantModel;

/// What a forwarded record is: one row of one of the forwarded tables, as it was after a
/// write on the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A machine state interval (`machine_state_intervals`).
    Interval,
    /// Parts of a machine-minute-product (`production_counts`).
    Counts,
    /// A downtime event with its classification (`downtime_events`).
    Downtime,
    /// A raw tag sample (`tag_samples`).
    Sample,
    /// An Andon ticket (`andon_tickets`).
    Ticket,
    /// A ticket's event (`andon_events`).
    TicketEvent,
    /// An audit log entry (`audit_log`).
    Audit,
    /// A row of a production-management table (jobs, rejects, checklists, maintenance…).
    Row(Table),
}

impl Kind {
    /// Every kind but the production tables' ([`Table::ALL`]).
    pub const ALL: [Kind; 7] = [
        Kind::Interval,
        Kind::Counts,
        Kind::Downtime,
        Kind::Sample,
        Kind::Ticket,
        Kind::TicketEvent,
        Kind::Audit,
    ];

    /// The name in the outbox and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Interval => "interval",
            Kind::Counts => "counts",
            Kind::Downtime => "downtime",
            Kind::Sample => "sample",
            Kind::Ticket => "ticket",
            Kind::TicketEvent => "ticket_event",
            Kind::Audit => "audit",
            Kind::Row(t) => t.as_str(),
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .chain(Table::ALL.into_iter().map(Kind::Row))
            .find(|k| k.as_str() == s)
    }

    /// Telemetry: what a full buffer drops first (the next record of the same row, if any,
    /// carries the row again).
    pub fn is_telemetry(self) -> bool {
        matches!(self, Kind::Interval | Kind::Counts | Kind::Sample)
    }
}

/// One record on the wire, with its idempotency key (`edge`, `seq`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WireRecord {
    /// Its place in the edge's outbox: increasing, never reused by that edge's database.
    pub seq: i64,
    /// `interval`, `counts`, `downtime`, `sample`, `ticket`, `ticket_event`, `audit`, or a
    /// production table's kind (`job`, `reject`, `maintenance_order`…: docs/edge.md).
    pub kind: String,
    /// Order is kept within a stream: a machine id, `andon`, `audit`, `tag:<tag>`, `jobs`,
    /// `rejects`, `checklists` or `maintenance`.
    pub stream: String,
    /// The row, column names as keys.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// A request of `POST /api/v1/forward`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ForwardBatch {
    /// The edge's `forward.edge_id`.
    pub edge: String,
    /// Records in outbox order.
    pub records: Vec<WireRecord>,
}

/// What the central did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Applied now.
    Applied,
    /// Applied before (a replay): nothing done.
    Duplicate,
    /// Not applied, and it will not be as it is (`error` says why).
    Refused,
    /// Not looked at: an earlier record of its stream was refused in this request, and
    /// order within a stream is kept.
    Deferred,
}

/// The answer about one record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordResult {
    /// The record's `seq`.
    pub seq: i64,
    /// What was done.
    pub outcome: Outcome,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// The answer of `POST /api/v1/forward`: one result per record, in request order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ForwardAnswer {
    /// Results.
    pub results: Vec<RecordResult>,
}

/// What the edge does with a record after the central's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeAction {
    /// Acknowledged: it leaves the outbox.
    Delete,
    /// Refused: counted; at `quarantine_after` refusals it goes to the quarantine.
    Refused {
        /// Whether this refusal puts it in quarantine.
        quarantine: bool,
        /// The central's reason.
        error: String,
    },
    /// Deferred: sent again with the next request.
    Keep,
}

/// The edge's action for one result, given how often the record was refused before.
pub fn edge_action(result: &RecordResult, refusals_before: u32, quarantine_after: u32) -> EdgeAction {
    match result.outcome {
        Outcome::Applied | Outcome::Duplicate => EdgeAction::Delete,
        Outcome::Deferred => EdgeAction::Keep,
        Outcome::Refused => EdgeAction::Refused {
            quarantine: refusals_before.saturating_add(1) >= quarantine_after,
            error: result.error.clone().unwrap_or_else(|| "refused".to_owned()),
        },
    }
}

/// The delay before retrying after `failures` failed requests in a row (1 or more):
/// `base`, doubling per further failure, at most `max`.
pub fn backoff(base: Duration, max: Duration, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    base.saturating_mul(1u32 << doublings).min(max)
}

/// A record waiting in the outbox, as the bound sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// Its seq.
    pub seq: i64,
    /// Its kind.
    pub kind: Kind,
    /// Its size.
    pub bytes: u64,
}

/// The records to drop so that `rows` records of `bytes` fit `max_rows` and `max_bytes`:
/// telemetry first, oldest first; then, only if telemetry alone cannot make room, the
/// oldest of the rest. `oldest` is the outbox's head in seq order (enough of it to make
/// room when it can be made).
pub fn to_drop(rows: u64, bytes: u64, max_rows: u64, max_bytes: u64, oldest: &[Queued]) -> Vec<Queued> {
    let (mut rows, mut bytes) = (rows, bytes);
    let mut out = Vec::new();
    let over = |rows: u64, bytes: u64| rows > max_rows || bytes > max_bytes;
    for telemetry_pass in [true, false] {
        for q in oldest.iter().filter(|q| q.kind.is_telemetry() == telemetry_pass) {
            if !over(rows, bytes) {
                return out;
            }
            out.push(*q);
            rows = rows.saturating_sub(1);
            bytes = bytes.saturating_sub(q.bytes);
        }
    }
    out
}

/// Central side: a record decoded and checked against the central's plant.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A state interval.
    Interval(IntervalRow),
    /// Parts of a machine-minute-product.
    Counts(CountsRow),
    /// A downtime event.
    Downtime(DowntimeRow),
    /// A raw sample.
    Sample(SampleRow),
    /// A ticket (its edge id in `id`).
    Ticket(Box<TicketRow>),
    /// A ticket event (the edge's ticket id in `ticket_id`).
    TicketEvent(TicketEventRow),
    /// An audit entry.
    Audit(AuditRow),
    /// A production table's row.
    Row(TableRow),
}

/// `machine_state_intervals` row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct IntervalRow {
    pub machine_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub state: String,
    #[serde(deserialize_with = "flag")]
    pub micro_stop: bool,
}

/// `production_counts` row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct CountsRow {
    pub machine_id: String,
    pub minute_ms: i64,
    pub product: String,
    pub total: i64,
    pub good: i64,
    pub ideal_ms: i64,
}

/// `downtime_events` row; `id` is the edge's (mapped, for maintenance orders that name it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct DowntimeRow {
    #[serde(default)]
    pub id: Option<i64>,
    pub machine_id: String,
    pub line_id: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub reason: String,
    #[serde(deserialize_with = "flag")]
    pub micro_stop: bool,
    pub classified_reason: Option<String>,
    pub classified_comment: Option<String>,
    pub classified_by: Option<String>,
    pub classified_at_ms: Option<i64>,
}

/// `tag_samples` row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct SampleRow {
    pub tag: String,
    pub ts_ms: i64,
    pub value: f64,
    pub quality: String,
}

/// `andon_tickets` row; `id` is the edge's.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct TicketRow {
    pub id: i64,
    pub line_id: String,
    pub machine_id: Option<String>,
    pub category: String,
    pub priority: String,
    pub source: String,
    pub description: String,
    pub state: String,
    pub level: i64,
    #[serde(deserialize_with = "flag")]
    pub deadline_fired: bool,
    pub raised_at_ms: i64,
    pub raised_by: String,
    pub acknowledged_at_ms: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub resolved_at_ms: Option<i64>,
    pub resolved_by: Option<String>,
    pub cancelled_at_ms: Option<i64>,
    pub cancelled_by: Option<String>,
    pub downtime_machine_id: Option<String>,
    pub downtime_start_ms: Option<i64>,
    pub assignee: Option<String>,
}

/// `andon_events` row; `ticket_id` is the edge's.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct TicketEventRow {
    pub ticket_id: i64,
    pub at_ms: i64,
    pub kind: String,
    pub level: Option<i64>,
    pub actor: String,
    pub detail: Option<String>,
}

/// `audit_log` row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct AuditRow {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub source: Option<String>,
    pub details: Option<String>,
}

/// A 0/1 integer (SQLite) or a boolean (PostgreSQL).
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Int(i) => i != 0,
    })
}

/// Decodes a record from `edge` and checks it belongs to that edge in `plant`: machines,
/// tags and tickets must be on a line the central's plant model gives to this edge
/// (`edge = "<edge id>"` on the line). The error is the reason given back.
pub fn decode(plant: &PlantModel, edge: &str, rec: &WireRecord) -> Result<Record, String> {
    let kind = Kind::parse(&rec.kind).ok_or_else(|| format!("unknown kind `{}`", rec.kind))?;
    fn row<T: for<'de> Deserialize<'de>>(kind: Kind, v: &serde_json::Value) -> Result<T, String> {
        T::deserialize(v).map_err(|e| format!("bad {} record: {e}", kind.as_str()))
    }
    let machine_ok = |id: &str| -> Result<(), String> {
        let Some((_, m)) = plant.machine(id) else {
            return Err(format!("no machine `{id}` in the central's plant model"));
        };
        line_ok(plant, edge, &m.line_id)
    };
    let p = &rec.payload;
    let record = match kind {
        Kind::Interval => {
            let r: IntervalRow = row(kind, p)?;
            machine_ok(&r.machine_id)?;
            if crate::domain::machine_state::MachineState::parse(&r.state).is_none() {
                return Err(format!("unknown machine state `{}`", r.state));
            }
            Record::Interval(r)
        }
        Kind::Counts => {
            let r: CountsRow = row(kind, p)?;
            machine_ok(&r.machine_id)?;
            Record::Counts(r)
        }
        Kind::Downtime => {
            let r: DowntimeRow = row(kind, p)?;
            machine_ok(&r.machine_id)?;
            Record::Downtime(r)
        }
        Kind::Sample => {
            let r: SampleRow = row(kind, p)?;
            let Some(&(m, _)) = plant.tags.get(&r.tag) else {
                return Err(format!("no tag `{}` in the central's plant model", r.tag));
            };
            line_ok(plant, edge, &plant.machines[m].line_id)?;
            Record::Sample(r)
        }
        Kind::Ticket => {
            let r: TicketRow = row(kind, p)?;
            line_ok(plant, edge, &r.line_id)?;
            if let Some(m) = &r.machine_id {
                machine_ok(m)?;
            }
            Record::Ticket(Box::new(r))
        }
        Kind::TicketEvent => Record::TicketEvent(row(kind, p)?),
        Kind::Audit => Record::Audit(row(kind, p)?),
        Kind::Row(table) => Record::Row(decode_row(plant, table, p, |line| line_ok(plant, edge, line))?),
    };
    Ok(record)
}

fn line_ok(plant: &PlantModel, edge: &str, line: &str) -> Result<(), String> {
    match plant.line(line) {
        None => Err(format!("no line `{line}` in the central's plant model")),
        Some((_, l)) if l.edge.as_deref() == Some(edge) => Ok(()),
        Some(_) => Err(format!(
            "line `{line}` is not given to edge `{edge}` in the central's plant model (edge = \"{edge}\")"
        )),
    }
}

/// Streams blocked within one request: after a refusal, the stream's later records are
/// deferred so order within a stream is kept.
#[derive(Debug, Default)]
pub struct Blocked(HashSet<String>);

impl Blocked {
    /// Whether `stream` had a refusal in this request.
    pub fn is_blocked(&self, stream: &str) -> bool {
        self.0.contains(stream)
    }

    /// Marks `stream` blocked.
    pub fn block(&mut self, stream: &str) {
        self.0.insert(stream.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(outcome: Outcome) -> RecordResult {
        RecordResult {
            seq: 1,
            outcome,
            error: Some("no machine `x`".into()),
        }
    }

    #[test]
    fn a_record_is_quarantined_at_its_nth_refusal() {
        // (outcome, refusals before, quarantine after, action)
        let refused = |q| EdgeAction::Refused {
            quarantine: q,
            error: "no machine `x`".into(),
        };
        let cases = [
            (Outcome::Applied, 0, 3, EdgeAction::Delete),
            (Outcome::Duplicate, 4, 3, EdgeAction::Delete),
            (Outcome::Deferred, 2, 3, EdgeAction::Keep),
            (Outcome::Refused, 0, 3, refused(false)),
            (Outcome::Refused, 1, 3, refused(false)),
            (Outcome::Refused, 2, 3, refused(true)),
            (Outcome::Refused, 0, 1, refused(true)),
        ];
        for (outcome, before, after, want) in cases {
            assert_eq!(
                edge_action(&result(outcome), before, after),
                want,
                "{outcome:?} {before}/{after}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let s = Duration::from_secs;
        // base 1 s, cap 60 s: 1, 2, 4, 8, 16, 32, then 60 (64 capped), and no overflow far out.
        let cases = [
            (1, 1),
            (2, 2),
            (3, 4),
            (4, 8),
            (6, 32),
            (7, 60),
            (40, 60),
            (u32::MAX, 60),
        ];
        for (failures, want) in cases {
            assert_eq!(backoff(s(1), s(60), failures), s(want), "after {failures} failures");
        }
    }

    fn q(seq: i64, kind: Kind, bytes: u64) -> Queued {
        Queued { seq, kind, bytes }
    }

    #[test]
    fn a_full_buffer_drops_the_oldest_telemetry_first() {
        let head = [
            q(1, Kind::Audit, 100),
            q(2, Kind::Interval, 100),
            q(3, Kind::Ticket, 100),
            q(4, Kind::Counts, 100),
            q(5, Kind::Sample, 100),
        ];
        let seqs = |v: Vec<Queued>| v.into_iter().map(|q| q.seq).collect::<Vec<_>>();
        // 7 rows, bound 5 rows: the two oldest telemetry records (2, 4), not the audit entry.
        assert_eq!(seqs(to_drop(7, 700, 5, 10_000, &head)), vec![2, 4]);
        // Within both bounds: nothing.
        assert_eq!(seqs(to_drop(5, 500, 5, 10_000, &head)), Vec::<i64>::new());
        // 800 bytes, bound 550: 3 records of 100 must go, all telemetry (2, 4, 5).
        assert_eq!(seqs(to_drop(8, 800, 100, 550, &head)), vec![2, 4, 5]);
        // 9 rows, bound 4: telemetry (3) is not enough, then the oldest other (1, 3).
        assert_eq!(seqs(to_drop(9, 900, 4, 10_000, &head)), vec![2, 4, 5, 1, 3]);
    }

    #[test]
    fn kinds_read_back_by_name() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        for t in Table::ALL {
            assert_eq!(Kind::parse(t.as_str()), Some(Kind::Row(t)));
        }
        assert_eq!(Kind::parse("jobs"), None);
    }
}

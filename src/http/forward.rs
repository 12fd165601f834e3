//! Store-and-forward over HTTP. On a central: `POST /api/v1/forward`, where edges deliver
//! their records with the forward token. On an edge: the outbox's state and its quarantine
//! for admins (list, send again, discard). See docs/edge.md.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::AppState;
use super::access::Caller;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::domain::cluster::bus_message::Topic;
use crate::domain::forward::{Blocked, ForwardAnswer, ForwardBatch, Outcome, Record, RecordResult, decode};
use crate::domain::forward_tables::Val;
use crate::store::{ApplyError, Forwarded, OutboxStats, QuarantinedRecord};

/// Most records in one request.
pub const MAX_RECORDS: usize = 5_000;

/// Applies an edge's records, each at most once (by edge and seq), in order within each
/// stream; answers one result per record.
#[utoipa::path(post, path = "/api/v1/forward", tag = "forward", request_body = ForwardBatch,
    responses((status = 200, description = "one result per record, in request order", body = ForwardAnswer),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 503, description = "the store failed: nothing after the failed record was applied; send again", body = ErrorBody)),
    security(("forward_token" = [])))]
pub async fn receive(state: web::Data<AppState>, body: web::Json<ForwardBatch>) -> Result<HttpResponse, ApiError> {
    let batch = body.into_inner();
    if batch.records.len() > MAX_RECORDS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_RECORDS} records per request"
        )));
    }
    if batch.edge.is_empty() {
        return Err(ApiError::bad_request("`edge` is empty"));
    }
    let plant = state.plant.plant().clone();
    let mut blocked = Blocked::default();
    let mut results = Vec::with_capacity(batch.records.len());
    // Machines whose history grew: their live state is read again from the store.
    let mut grown: Vec<usize> = Vec::new();
    // Whether jobs or products changed: running jobs give machines their products.
    let mut jobs_changed = false;
    for rec in &batch.records {
        let (outcome, error) = if blocked.is_blocked(&rec.stream) {
            (Outcome::Deferred, None)
        } else {
            match decode(&plant, &batch.edge, rec) {
                Err(reason) => (Outcome::Refused, Some(reason)),
                Ok(record) => {
                    let f = Forwarded {
                        edge: &batch.edge,
                        seq: rec.seq,
                        stream: &rec.stream,
                        kind: &rec.kind,
                        record: &record,
                    };
                    match state.store.apply_forwarded(&f, state.clock.now_ms()).await {
                        Ok(outcome) => {
                            if outcome == Outcome::Applied {
                                jobs_changed |= matches!(&record, Record::Row(r) if r.table.changes_jobs());
                                if let Some((idx, _)) = record_machine(&record).and_then(|m| plant.machine(m))
                                    && !grown.contains(&idx)
                                {
                                    grown.push(idx);
                                }
                            }
                            (outcome, None)
                        }
                        Err(ApplyError::Refused(reason)) => (Outcome::Refused, Some(reason)),
                        // What was applied stays applied (each record commits on its own);
                        // the edge sends the rest again, and the applied ones come back as
                        // duplicates.
                        Err(ApplyError::Store(e)) => return Err(e.into()),
                    }
                }
            }
        };
        if outcome == Outcome::Refused {
            blocked.block(&rec.stream);
            tracing::warn!(edge = %batch.edge, seq = rec.seq, kind = %rec.kind,
                error = error.as_deref().unwrap_or_default(), "forwarded record refused");
        }
        let name = match outcome {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Refused => "refused",
            Outcome::Deferred => "deferred",
        };
        metrics::counter!(crate::metrics::FORWARD_RECEIVED, "edge" => batch.edge.clone(), "outcome" => name)
            .increment(1);
        results.push(RecordResult {
            seq: rec.seq,
            outcome,
            error,
        });
    }
    if let Err(e) = state.plant.reload_machines(&grown, state.clock.now_ms()).await {
        tracing::warn!(edge = %batch.edge, error = %e, "cannot show the forwarded records live; they are stored");
    }
    if jobs_changed {
        match state.jobs.reread().await {
            Ok(()) => state.plant.changed(Topic::Jobs),
            Err(e) => {
                tracing::warn!(edge = %batch.edge, error = %e, "cannot show the forwarded jobs live; they are stored")
            }
        }
    }
    Ok(HttpResponse::Ok().json(ForwardAnswer { results }))
}

/// The machine a record's live state belongs to (intervals, counts, downtime, rejects).
fn record_machine(record: &Record) -> Option<&str> {
    match record {
        Record::Interval(r) => Some(&r.machine_id),
        Record::Counts(r) => Some(&r.machine_id),
        Record::Downtime(r) => Some(&r.machine_id),
        Record::Row(r) if r.table.changes_parts() => r.get("machine_id").and_then(Val::as_text),
        _ => None,
    }
}

/// The outbox of this edge.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForwardStatus {
    /// Whether this MS5 forwards (`forward.url` is set).
    enabled: bool,
    /// Its edge id.
    edge_id: String,
    /// The central.
    central: Option<String>,
    /// How full the outbox is.
    outbox: OutboxStats,
}

/// Whether this MS5 forwards, and how full its outbox is.
#[utoipa::path(get, path = "/api/v1/forward/status", tag = "forward",
    responses((status = 200, body = ForwardStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn status(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let f = &state.settings.forward;
    Ok(HttpResponse::Ok().json(ForwardStatus {
        enabled: f.enabled(),
        edge_id: f.edge_id.clone(),
        central: f.url.clone(),
        outbox: state.store.outbox_stats().await?,
    }))
}

/// The quarantine.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuarantineList {
    /// Records the central refused `forward.quarantine_after` times, oldest first.
    quarantine: Vec<QuarantinedRecord>,
}

/// Records the central refused too often, with its last reason.
#[utoipa::path(get, path = "/api/v1/forward/quarantine", tag = "forward",
    responses((status = 200, body = QuarantineList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn quarantine(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(QuarantineList {
        quarantine: state.store.quarantine().await?,
    }))
}

/// Sends a quarantined record again (after the central's plant model was fixed, say).
#[utoipa::path(post, path = "/api/v1/forward/quarantine/{seq}/retry", tag = "forward",
    params(("seq" = i64, Path, description = "the record's seq")),
    responses((status = 200, description = "queued again"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "not in quarantine", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn retry(state: web::Data<AppState>, caller: Caller, seq: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let seq = seq.into_inner();
    if !state.store.quarantine_retry(seq).await? {
        return Err(not_quarantined(seq));
    }
    state
        .audit_by(&caller, "forward.retry", Some(seq.to_string()), json!({}))
        .await;
    Ok(HttpResponse::Ok().json(json!({ "seq": seq, "queued": true })))
}

/// Deletes a quarantined record: it is never forwarded.
#[utoipa::path(delete, path = "/api/v1/forward/quarantine/{seq}", tag = "forward",
    params(("seq" = i64, Path, description = "the record's seq")),
    responses((status = 204, description = "discarded"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "not in quarantine", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn discard(
    state: web::Data<AppState>,
    caller: Caller,
    seq: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let seq = seq.into_inner();
    if !state.store.quarantine_discard(seq).await? {
        return Err(not_quarantined(seq));
    }
    state
        .audit_by(&caller, "forward.discard", Some(seq.to_string()), json!({}))
        .await;
    Ok(HttpResponse::NoContent().finish())
}

fn not_quarantined(seq: i64) -> ApiError {
    ApiError::NotFound {
        what: "quarantined record",
        id: seq.to_string(),
    }
}

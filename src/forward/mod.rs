//! Edge store-and-forward, the sending side: a task that keeps the outbox within its
//! bound, sends its oldest records to the central in batches, and deletes each record
//! only once the central acknowledged it (see docs/edge.md). The records are queued by the
//! store itself (triggers, in the transaction that wrote them); the rules are in
//! `domain::forward`; `store::forward` keeps the outbox.

pub mod client;

use std::time::Duration;

use crate::clock::Clock;
use crate::config::ForwardSettings;
use crate::domain::forward::{EdgeAction, ForwardBatch, backoff, edge_action};
use crate::metrics as m;
use crate::store::{Store, StoreError};

/// Why the forwarder cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The HTTPS client.
    #[error(transparent)]
    Client(#[from] client::ClientError),
    /// The store (turning capture on).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Turns capture on or off to match `settings` and, when forwarding, starts the task.
pub async fn start(settings: &ForwardSettings, store: Store, clock: Clock) -> Result<(), ForwardError> {
    store
        .set_forward_capture(settings.enabled(), settings.raw_samples)
        .await?;
    let (Some(url), Some(token)) = (settings.url.clone(), settings.token.clone()) else {
        return Ok(());
    };
    let http = client::build(settings.ca_file.as_deref(), settings.timeout)?;
    tracing::info!(central = %url, edge = %settings.edge_id, "forwarding records to the central");
    let settings = settings.clone();
    actix_rt::spawn(async move {
        let mut failures = 0u32;
        loop {
            let wait = match round(&settings, &store, &clock, &http, &url, &token).await {
                Ok(Round::Idle) => {
                    failures = 0;
                    settings.poll
                }
                Ok(Round::Sent { refused }) => {
                    failures = 0;
                    // A refusal is retried after a pause, not in a tight loop.
                    if refused { settings.backoff_base } else { Duration::ZERO }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    metrics::counter!(m::FORWARD_ERRORS).increment(1);
                    let delay = backoff(settings.backoff_base, settings.backoff_max, failures);
                    tracing::warn!(error = %e, retry_in = ?delay, "forwarding failed; the records stay queued");
                    delay
                }
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    });
    Ok(())
}

enum Round {
    Idle,
    Sent { refused: bool },
}

#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Send(#[from] client::SendError),
}

/// One pass: bound, gauges, one batch.
async fn round(
    settings: &ForwardSettings,
    store: &Store,
    clock: &Clock,
    http: &awc::Client,
    url: &str,
    token: &str,
) -> Result<Round, RoundError> {
    let dropped = store.outbox_trim(settings.max_rows, settings.max_bytes).await?;
    if !dropped.is_empty() {
        let mut by_kind = std::collections::BTreeMap::<&str, u64>::new();
        for q in &dropped {
            *by_kind.entry(q.kind.as_str()).or_default() += 1;
        }
        for (kind, n) in &by_kind {
            metrics::counter!(m::FORWARD_DROPPED, "kind" => *kind).increment(*n);
        }
        let telemetry_only = dropped.iter().all(|q| q.kind.is_telemetry());
        if telemetry_only {
            tracing::warn!(dropped = ?by_kind, max_rows = settings.max_rows, max_bytes = settings.max_bytes,
                "forward outbox full: oldest telemetry dropped");
        } else {
            tracing::error!(dropped = ?by_kind, max_rows = settings.max_rows, max_bytes = settings.max_bytes,
                "forward outbox full of events: oldest records dropped, tickets or audit among them");
        }
    }
    let stats = store.outbox_stats().await?;
    metrics::gauge!(m::FORWARD_QUEUED).set(stats.queued as f64);
    metrics::gauge!(m::FORWARD_QUEUED_BYTES).set(stats.queued_bytes as f64);
    metrics::gauge!(m::FORWARD_QUARANTINED).set(stats.quarantined as f64);
    let lag = stats
        .oldest_ms
        .map_or(0.0, |oldest| ((clock.now_ms() - oldest).max(0) as f64) / 1000.0);
    metrics::gauge!(m::FORWARD_LAG).set(lag);
    let rows = store.outbox_batch(settings.batch_size).await?;
    if rows.is_empty() {
        return Ok(Round::Idle);
    }
    let refusals: Vec<u32> = rows.iter().map(|r| r.refusals).collect();
    let batch = ForwardBatch {
        edge: settings.edge_id.clone(),
        records: rows.into_iter().map(|r| r.record).collect(),
    };
    metrics::counter!(m::FORWARD_SENT).increment(batch.records.len() as u64);
    let answer = client::send(http, url, token, &batch).await?;
    let mut acked = Vec::new();
    let mut refused = false;
    for (result, before) in answer.results.iter().zip(refusals) {
        match edge_action(result, before, settings.quarantine_after) {
            EdgeAction::Delete => acked.push(result.seq),
            EdgeAction::Keep => {}
            EdgeAction::Refused { quarantine, error } => {
                refused = true;
                metrics::counter!(m::FORWARD_REFUSED).increment(1);
                if quarantine {
                    tracing::error!(seq = result.seq, error = %error, "record refused by the central: quarantined");
                } else {
                    tracing::warn!(seq = result.seq, error = %error, "record refused by the central");
                }
                store
                    .outbox_refused(result.seq, &error, quarantine, clock.now_ms())
                    .await?;
            }
        }
    }
    store.outbox_ack(&acked).await?;
    metrics::counter!(m::FORWARD_ACKNOWLEDGED).increment(acked.len() as u64);
    Ok(Round::Sent { refused })
}

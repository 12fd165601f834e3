//! The edge's outbox (`forward_outbox`): records queued by the schema's triggers in the
//! transaction that wrote them, read in order, deleted once the central acknowledged them,
//! counted when refused, quarantined after too many refusals, and kept within a bound.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{Store, StoreError};
use crate::domain::EpochMs;
use crate::domain::forward::{Kind, Queued, WireRecord, to_drop};

/// A record waiting in the outbox.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    /// The record as sent.
    pub record: WireRecord,
    /// Refusals so far.
    pub refusals: u32,
}

/// How full the outbox is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct OutboxStats {
    /// Records waiting to be sent (not quarantined).
    pub queued: i64,
    /// Their bytes.
    pub queued_bytes: i64,
    /// When the oldest of them was recorded (ms since the epoch).
    pub oldest_ms: Option<i64>,
    /// Records in quarantine.
    pub quarantined: i64,
    /// Every record held (queued and quarantined): what the bound counts.
    pub rows: i64,
    /// Their bytes.
    pub bytes: i64,
}

/// A quarantined record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuarantinedRecord {
    /// Its seq (the idempotency key with the edge id).
    pub seq: i64,
    /// Its kind.
    pub kind: String,
    /// Its stream.
    pub stream: String,
    /// The row.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// When it was recorded (ms since the epoch).
    pub created_ms: i64,
    /// Refusals.
    pub refusals: i64,
    /// The central's last reason.
    pub last_error: Option<String>,
    /// When it was quarantined (ms since the epoch).
    pub quarantined_ms: i64,
}

fn payload(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.to_owned()))
}

impl Store {
    /// Turns the capture triggers on or off (`samples`: raw tag samples too).
    pub async fn set_forward_capture(&self, enabled: bool, samples: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE forward_capture SET enabled = $1, samples = $2 WHERE id = 1")
            .bind(i64::from(enabled))
            .bind(i64::from(samples))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The oldest `limit` records waiting to be sent, in seq order.
    pub async fn outbox_batch(&self, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, stream, payload, refusals FROM forward_outbox \
             WHERE quarantined_ms IS NULL ORDER BY seq LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxRow {
                    record: WireRecord {
                        seq: r.try_get("seq")?,
                        kind: r.try_get("kind")?,
                        stream: r.try_get("stream")?,
                        payload: payload(r.try_get("payload")?),
                    },
                    refusals: u32::try_from(r.try_get::<i64, _>("refusals")?).unwrap_or(u32::MAX),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Deletes acknowledged records.
    pub async fn outbox_ack(&self, seqs: &[i64]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for seq in seqs {
            sqlx::query("DELETE FROM forward_outbox WHERE seq = $1")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Counts a refusal of `seq`; `quarantine` puts it in quarantine at `now`.
    pub async fn outbox_refused(
        &self,
        seq: i64,
        error: &str,
        quarantine: bool,
        now: EpochMs,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE forward_outbox SET refusals = refusals + 1, last_error = $1, \
             quarantined_ms = CASE WHEN $2 = 1 THEN $3 ELSE NULL END WHERE seq = $4",
        )
        .bind(error)
        .bind(i64::from(quarantine))
        .bind(now)
        .bind(seq)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How full the outbox is.
    pub async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let r = sqlx::query(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN quarantined_ms IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN quarantined_ms IS NULL THEN bytes ELSE 0 END), 0) AS BIGINT), \
               MIN(CASE WHEN quarantined_ms IS NULL THEN created_ms END), \
               CAST(COALESCE(SUM(CASE WHEN quarantined_ms IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT), \
               CAST(COUNT(*) AS BIGINT), \
               CAST(COALESCE(SUM(bytes), 0) AS BIGINT) \
             FROM forward_outbox",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(OutboxStats {
            queued: r.try_get(0)?,
            queued_bytes: r.try_get(1)?,
            oldest_ms: r.try_get(2)?,
            quarantined: r.try_get(3)?,
            rows: r.try_get(4)?,
            bytes: r.try_get(5)?,
        })
    }

    /// Keeps the outbox within `max_rows` and `max_bytes` by dropping records (telemetry
    /// first, oldest first: [`to_drop`]); returns what was dropped.
    pub async fn outbox_trim(&self, max_rows: u64, max_bytes: u64) -> Result<Vec<Queued>, StoreError> {
        let stats = self.outbox_stats().await?;
        let (rows, bytes) = (stats.rows.max(0) as u64, stats.bytes.max(0) as u64);
        if rows <= max_rows && bytes <= max_bytes {
            return Ok(Vec::new());
        }
        // Enough of the head to make room: every record, if that is what it takes.
        let head = sqlx::query("SELECT seq, kind, bytes FROM forward_outbox ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        let head: Vec<Queued> = head
            .iter()
            .filter_map(|r| {
                Some(Queued {
                    seq: r.try_get("seq").ok()?,
                    kind: Kind::parse(r.try_get("kind").ok()?)?,
                    bytes: r.try_get::<i64, _>("bytes").ok()?.max(0) as u64,
                })
            })
            .collect();
        let drop = to_drop(rows, bytes, max_rows, max_bytes, &head);
        let seqs: Vec<i64> = drop.iter().map(|q| q.seq).collect();
        self.outbox_ack(&seqs).await?;
        Ok(drop)
    }

    /// The quarantined records, oldest first.
    pub async fn quarantine(&self) -> Result<Vec<QuarantinedRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, stream, payload, created_ms, refusals, last_error, quarantined_ms \
             FROM forward_outbox WHERE quarantined_ms IS NOT NULL ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QuarantinedRecord {
                    seq: r.try_get("seq")?,
                    kind: r.try_get("kind")?,
                    stream: r.try_get("stream")?,
                    payload: payload(r.try_get("payload")?),
                    created_ms: r.try_get("created_ms")?,
                    refusals: r.try_get("refusals")?,
                    last_error: r.try_get("last_error")?,
                    quarantined_ms: r.try_get("quarantined_ms")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Sends a quarantined record again (its refusals start from 0); false if `seq` is
    /// not in quarantine.
    pub async fn quarantine_retry(&self, seq: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE forward_outbox SET quarantined_ms = NULL, refusals = 0 \
             WHERE seq = $1 AND quarantined_ms IS NOT NULL",
        )
        .bind(seq)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a quarantined record; false if `seq` is not in quarantine.
    pub async fn quarantine_discard(&self, seq: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM forward_outbox WHERE seq = $1 AND quarantined_ms IS NOT NULL")
            .bind(seq)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

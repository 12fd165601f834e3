//! Kept answers of idempotent writes (see `domain::idempotency`): claimed before the
//! write is applied, filled with its answer after, forgotten after the key lifetime.

use crate::store::sql;
use sqlx::Row;

use super::{Store, StoreError};
use crate::domain::EpochMs;
use crate::domain::idempotency::{IN_FLIGHT_LIMIT_MS, KEY_LIFETIME_MS, Stored};

/// An answer to keep.
#[derive(Debug, Clone)]
pub struct KeptAnswer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Store {
    /// Claims `(key, user)` for a request of `fingerprint` at `now`. Returns
    /// [`Stored::Nothing`] when the claim is new (the caller applies the request), or
    /// what an earlier request with the key left (and its content type).
    pub async fn claim_idempotency_key(
        &self,
        key: &str,
        user: &str,
        fingerprint: &str,
        now: EpochMs,
    ) -> Result<(Stored, Option<String>), StoreError> {
        let expired_before = now - KEY_LIFETIME_MS;
        let mut tx = self.pool.begin().await?;
        // An expired key, and a claim left unanswered (the service stopped while
        // applying it), free the key for a new request.
        sql::query(
            "DELETE FROM idempotency_keys
             WHERE created_at_ms <= ? OR (status IS NULL AND created_at_ms <= ?)",
        )
        .bind(expired_before)
        .bind(now - IN_FLIGHT_LIMIT_MS)
        .execute(&mut *tx)
        .await?;
        let inserted = sql::query(
            "INSERT INTO idempotency_keys (idem_key, username, fingerprint, created_at_ms)
             VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(key)
        .bind(user)
        .bind(fingerprint)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let found = if inserted == 1 {
            (Stored::Nothing, None)
        } else {
            let row = sql::query(
                "SELECT fingerprint, status, content_type, body FROM idempotency_keys
                 WHERE idem_key = ? AND username = ?",
            )
            .bind(key)
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
            let fingerprint: String = row.try_get("fingerprint")?;
            let status: Option<i64> = row.try_get("status")?;
            match status {
                None => (Stored::InFlight { fingerprint }, None),
                Some(status) => (
                    Stored::Answered {
                        fingerprint,
                        status: u16::try_from(status).unwrap_or(500),
                        body: row.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
                    },
                    row.try_get("content_type")?,
                ),
            }
        };
        tx.commit().await?;
        Ok(found)
    }

    /// Keeps the answer to the request that claimed `(key, user)`.
    pub async fn keep_idempotent_answer(&self, key: &str, user: &str, answer: &KeptAnswer) -> Result<(), StoreError> {
        sql::query(
            "UPDATE idempotency_keys SET status = ?, content_type = ?, body = ?
             WHERE idem_key = ? AND username = ?",
        )
        .bind(i64::from(answer.status))
        .bind(&answer.content_type)
        .bind(&answer.body)
        .bind(key)
        .bind(user)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Lets go of a claim whose answer is not kept (the request may be sent again).
    pub async fn release_idempotency_key(&self, key: &str, user: &str) -> Result<(), StoreError> {
        sql::query("DELETE FROM idempotency_keys WHERE idem_key = ? AND username = ?")
            .bind(key)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

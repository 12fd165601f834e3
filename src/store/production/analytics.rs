//! Loss analytics input: a machine's stops with the reason in force, for MTBF, MTTR and
//! the trend warning.

use crate::store::sql;
use sqlx::Row;

use crate::domain::EpochMs;
use crate::domain::production::reliability::StopRecord;
use crate::store::{Store, StoreError};

impl Store {
    /// The stops of a machine that start in `[from, to)`, oldest first.
    pub async fn stops_starting(
        &self,
        machine: &str,
        from: EpochMs,
        to: EpochMs,
    ) -> Result<Vec<StopRecord>, StoreError> {
        let rows = sql::query(
            "SELECT start_ms, end_ms, COALESCE(classified_reason, reason), micro_stop FROM downtime_events \
             WHERE machine_id = ? AND start_ms >= ? AND start_ms < ? ORDER BY start_ms",
        )
        .bind(machine)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| StopRecord {
                start: r.get(0),
                end: r.get(1),
                reason: r.get(2),
                micro_stop: r.get::<i64, _>(3) != 0,
            })
            .collect())
    }
}

//! Stored products (the plant model's are not stored).

use crate::store::sql;
use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::EpochMs;
use crate::domain::production::product::{ProductDef, ProductSource};
use crate::store::{Store, StoreError};

fn product_from_row(r: &AnyRow) -> ProductDef {
    let cycles: BTreeMap<String, i64> = serde_json::from_str(r.get::<&str, _>(3)).unwrap_or_default();
    ProductDef {
        code: r.get(0),
        name: r.get(1),
        ideal_cycle_ms: Some(r.get(2)),
        machine_cycles: cycles,
        source: ProductSource::Stored,
    }
}

impl Store {
    /// Every stored product, by code.
    pub async fn products(&self) -> Result<Vec<ProductDef>, StoreError> {
        let rows = sql::query("SELECT code, name, ideal_cycle_ms, machine_cycles FROM products ORDER BY code")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(product_from_row).collect())
    }

    /// One stored product.
    pub async fn product(&self, code: &str) -> Result<Option<ProductDef>, StoreError> {
        let row = sql::query("SELECT code, name, ideal_cycle_ms, machine_cycles FROM products WHERE code = ?")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(product_from_row))
    }

    /// Creates or replaces a stored product; `true` when it was new. Each statement is a
    /// write of its own (a read-then-write transaction could lose the write lock to the
    /// telemetry writer).
    pub async fn put_product(&self, p: &ProductDef, at: EpochMs, by: &str) -> Result<bool, StoreError> {
        let cycles = serde_json::to_string(&p.machine_cycles).unwrap_or_else(|_| "{}".to_owned());
        let inserted = sql::query(
            "INSERT INTO products (code, name, ideal_cycle_ms, machine_cycles, updated_at_ms, updated_by) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
        )
        .bind(&p.code)
        .bind(&p.name)
        .bind(p.ideal_cycle_ms.unwrap_or_default())
        .bind(&cycles)
        .bind(at)
        .bind(by)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted > 0 {
            return Ok(true);
        }
        sql::query(
            "UPDATE products SET name = ?, ideal_cycle_ms = ?, machine_cycles = ?, updated_at_ms = ?, \
             updated_by = ? WHERE code = ?",
        )
        .bind(&p.name)
        .bind(p.ideal_cycle_ms.unwrap_or_default())
        .bind(&cycles)
        .bind(at)
        .bind(by)
        .bind(&p.code)
        .execute(&self.pool)
        .await?;
        Ok(false)
    }

    /// Deletes a stored product no open job uses: `Ok(false)` when there was none, a
    /// conflict when a job still needs it. One statement decides, so a job planned at the
    /// same moment cannot lose its product.
    pub async fn delete_product(&self, code: &str) -> Result<bool, StoreError> {
        const OPEN_JOB: &str = "SELECT id FROM jobs WHERE product_code = ? AND state NOT IN ('completed', 'cancelled')";
        let gone = sql::query(format!(
            "DELETE FROM products WHERE code = ? AND NOT EXISTS ({OPEN_JOB})"
        ))
        .bind(code)
        .bind(code)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if gone > 0 {
            return Ok(true);
        }
        let used: Option<i64> = sql::query_scalar(format!("{OPEN_JOB} LIMIT 1"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        match used {
            Some(job) => Err(StoreError::Conflict(format!(
                "product `{code}` is used by job {job}, which is not completed or cancelled"
            ))),
            None => Ok(false),
        }
    }
}

//! Stored products (the plant model's are not stored).

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::domain::EpochMs;
use crate::domain::production::product::{ProductDef, ProductSource};
use crate::store::{Store, StoreError};

fn product_from_row(r: &SqliteRow) -> ProductDef {
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
        let rows = sqlx::query("SELECT code, name, ideal_cycle_ms, machine_cycles FROM products ORDER BY code")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(product_from_row).collect())
    }

    /// One stored product.
    pub async fn product(&self, code: &str) -> Result<Option<ProductDef>, StoreError> {
        let row = sqlx::query("SELECT code, name, ideal_cycle_ms, machine_cycles FROM products WHERE code = ?")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(product_from_row))
    }

    /// Creates or replaces a stored product; `true` when it was new.
    pub async fn put_product(&self, p: &ProductDef, at: EpochMs, by: &str) -> Result<bool, StoreError> {
        let cycles = serde_json::to_string(&p.machine_cycles).unwrap_or_else(|_| "{}".to_owned());
        let mut tx = self.pool.begin().await?;
        let existed = sqlx::query("SELECT 1 FROM products WHERE code = ?")
            .bind(&p.code)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        sqlx::query(
            "INSERT INTO products (code, name, ideal_cycle_ms, machine_cycles, updated_at_ms, updated_by) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, ideal_cycle_ms = excluded.ideal_cycle_ms, \
             machine_cycles = excluded.machine_cycles, updated_at_ms = excluded.updated_at_ms, \
             updated_by = excluded.updated_by",
        )
        .bind(&p.code)
        .bind(&p.name)
        .bind(p.ideal_cycle_ms.unwrap_or_default())
        .bind(cycles)
        .bind(at)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(!existed)
    }

    /// Deletes a stored product no open job uses: `Ok(false)` when there was none, a
    /// conflict when a job still needs it.
    pub async fn delete_product(&self, code: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE product_code = ? AND state NOT IN ('completed', 'cancelled') LIMIT 1",
        )
        .bind(code)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(job) = used {
            return Err(StoreError::Conflict(format!(
                "product `{code}` is used by job {job}, which is not completed or cancelled"
            )));
        }
        let gone = sqlx::query("DELETE FROM products WHERE code = ?")
            .bind(code)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(gone > 0)
    }
}

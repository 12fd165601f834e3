//! Day partitions of the telemetry tables on plain PostgreSQL: each table is partitioned by
//! range of its time column (ms since the epoch), one partition per UTC day named
//! `{table}_pYYYYMMDD`, created a few days ahead and dropped whole once past retention. A
//! default partition takes rows outside them; its rows move into a day's partition when
//! that partition is made.

use chrono::{DateTime, NaiveDate};
use sqlx::{PgPool, Row};

use crate::domain::EpochMs;
use crate::store::StoreError;

/// One day in ms.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// The partitioned telemetry tables and their time columns.
pub(crate) const TABLES: [(&str, &str); 2] = [("tag_samples", "ts_ms"), ("production_counts", "minute_ms")];

/// Days made ahead of now.
const DAYS_AHEAD: i64 = 3;

/// The partition of `table` holding the UTC day that starts at `day_start`.
pub(crate) fn partition_name(table: &str, day_start: EpochMs) -> String {
    let day = DateTime::from_timestamp_millis(day_start)
        .map_or_else(|| "00000000".into(), |d| d.format("%Y%m%d").to_string());
    format!("{table}_p{day}")
}

/// The day `[from, to)` a partition of `table` named by [`partition_name`] holds.
pub(crate) fn partition_day(table: &str, name: &str) -> Option<(EpochMs, EpochMs)> {
    let day = name.strip_prefix(table)?.strip_prefix("_p")?;
    let date = NaiveDate::parse_from_str(day, "%Y%m%d").ok()?;
    let from = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    Some((from, from + DAY_MS))
}

/// Starts of the days that should have partitions at `now`: today and the days ahead,
/// back to the older of yesterday and `oldest` (the retention cutoff), at most a year.
pub(crate) fn days_wanted(now: EpochMs, oldest: EpochMs) -> Vec<EpochMs> {
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    let first = (oldest.div_euclid(DAY_MS) * DAY_MS).clamp(today - 366 * DAY_MS, today - DAY_MS);
    (0..)
        .map(|i| first + i * DAY_MS)
        .take_while(|d| *d <= today + DAYS_AHEAD * DAY_MS)
        .collect()
}

/// Partitions (by name) that hold only rows older than `cutoff`.
pub(crate) fn expired<'a>(table: &str, names: &'a [String], cutoff: EpochMs) -> Vec<&'a str> {
    names
        .iter()
        .filter(|n| partition_day(table, n).is_some_and(|(_, to)| to <= cutoff))
        .map(String::as_str)
        .collect()
}

/// Names of the day partitions of `table`.
pub(crate) async fn existing(pg: &PgPool, table: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = to_regclass($1)",
    )
    .bind(table)
    .fetch_all(pg)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.get::<String, _>(0))
        .filter(|n| partition_day(table, n).is_some())
        .collect())
}

/// Makes the day partition of `table` starting at `day`, moving rows the default
/// partition holds for that day into it.
pub(crate) async fn create(pg: &PgPool, table: &str, column: &str, day: EpochMs) -> Result<(), StoreError> {
    let name = partition_name(table, day);
    let (from, to) = (day, day + DAY_MS);
    let mut tx = pg.begin().await?;
    // Replicas starting together: one makes the partition, the others find it made.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(table)
        .execute(&mut *tx)
        .await?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
    if exists {
        return Ok(());
    }
    // The names and bounds are ours (no outside input), so they are written into the SQL.
    for statement in [
        format!("CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"),
        format!("INSERT INTO {name} SELECT * FROM {table}_default WHERE {column} >= {from} AND {column} < {to}"),
        format!("DELETE FROM {table}_default WHERE {column} >= {from} AND {column} < {to}"),
        format!("ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({from}) TO ({to})"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Makes the partitions wanted at `now` that are missing.
pub(crate) async fn ensure(pg: &PgPool, now: EpochMs, oldest: EpochMs) -> Result<(), StoreError> {
    for (table, column) in TABLES {
        let have = existing(pg, table).await?;
        for day in days_wanted(now, oldest) {
            if !have.contains(&partition_name(table, day)) {
                create(pg, table, column, day).await?;
            }
        }
    }
    Ok(())
}

/// Drops the partitions of `table` wholly older than `cutoff`; returns how many.
pub(crate) async fn drop_expired(pg: &PgPool, table: &str, cutoff: EpochMs) -> Result<usize, StoreError> {
    let names = existing(pg, table).await?;
    let gone = expired(table, &names, cutoff);
    for name in &gone {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {name}")))
            .execute(pg)
            .await?;
    }
    Ok(gone.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_29: EpochMs = 1_795_910_400_000; // 2026-11-29T00:00:00Z

    #[test]
    fn names_and_days_round_trip() {
        assert_eq!(partition_name("tag_samples", NOV_29), "tag_samples_p20261129");
        assert_eq!(
            partition_name("tag_samples", NOV_29 + DAY_MS - 1),
            "tag_samples_p20261129"
        );
        assert_eq!(
            partition_day("tag_samples", "tag_samples_p20261129"),
            Some((NOV_29, NOV_29 + DAY_MS))
        );
        assert_eq!(partition_day("tag_samples", "tag_samples_default"), None);
        assert_eq!(partition_day("tag_samples", "production_counts_p20261129"), None);
        assert_eq!(partition_day("tag_samples", "tag_samples_p20261340"), None);
    }

    #[test]
    fn wanted_days_run_from_the_cutoff_to_three_days_ahead() {
        // (now, oldest, first day, count)
        let table = [
            (NOV_29 + 5_000, NOV_29 - 2 * DAY_MS + 7, NOV_29 - 2 * DAY_MS, 6),
            // a cutoff in the future still keeps yesterday
            (NOV_29 + 5_000, NOV_29 + 10 * DAY_MS, NOV_29 - DAY_MS, 5),
            // 90 days back
            (NOV_29, NOV_29 - 90 * DAY_MS, NOV_29 - 90 * DAY_MS, 94),
            // never more than a year back
            (NOV_29, 0, NOV_29 - 366 * DAY_MS, 370),
        ];
        for (now, oldest, first, count) in table {
            let days = days_wanted(now, oldest);
            assert_eq!(days.first(), Some(&first), "{now} {oldest}");
            assert_eq!(days.len(), count, "{now} {oldest}");
            assert_eq!(days.last(), Some(&(NOV_29 + 3 * DAY_MS)));
        }
    }

    #[test]
    fn only_partitions_wholly_past_the_cutoff_expire() {
        let names: Vec<String> = [
            "tag_samples_p20261127",
            "tag_samples_p20261128",
            "tag_samples_default",
            "tag_samples_p20261129",
        ]
        .map(String::from)
        .to_vec();
        // The cutoff falls inside the 28th: the 27th goes, the 28th stays.
        assert_eq!(expired("tag_samples", &names, NOV_29 - 1), ["tag_samples_p20261127"]);
        assert_eq!(
            expired("tag_samples", &names, NOV_29),
            ["tag_samples_p20261127", "tag_samples_p20261128"]
        );
    }
}

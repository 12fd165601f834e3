//! Raw samples into PostgreSQL in bulk: binary COPY straight into `tag_samples`, and when
//! a batch was written before (a retry after a lost acknowledgement), COPY into a session's
//! temporary table and one `INSERT … ON CONFLICT DO NOTHING` instead, so each sample is
//! stored once. Binary, because the server then reads numbers as they are instead of
//! parsing their digits.

use std::fmt::Write;

use sqlx::PgPool;

use crate::domain::tag::TagUpdate;
use crate::store::StoreError;
use crate::store::batch::Batch;

/// Bytes of COPY data sent at a time.
const CHUNK_BYTES: usize = 256 * 1024;

/// The binary COPY header: signature, flags (none), header extension length (0).
const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The binary COPY trailer: a field count of -1.
const BINARY_TRAILER: &[u8] = &[0xff, 0xff];

/// One COPY text field: backslash, tab, newline and carriage return escaped.
pub(crate) fn copy_text(field: &str, out: &mut String) {
    for c in field.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// A double as PostgreSQL reads it (shortest round-trip digits; its spellings of the
/// non-finite values).
pub(crate) fn copy_double(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let _ = write!(out, "{v}");
    }
}

/// The COPY text line of one sample (as `psql \copy` reads it).
pub fn sample_line(u: &TagUpdate, out: &mut String) {
    copy_text(&u.tag, out);
    let _ = write!(out, "\t{}\t", u.ts);
    copy_double(u.value.as_f64(), out);
    out.push('\t');
    out.push_str(Batch::quality_name(u.quality));
    out.push('\n');
}

/// One sample as a binary COPY tuple: 4 fields, each its length and its bytes in network
/// order (text as UTF-8, `bigint` and `double precision` as 8 bytes).
pub(crate) fn sample_tuple(u: &TagUpdate, out: &mut Vec<u8>) {
    fn text(s: &str, out: &mut Vec<u8>) {
        // Tag names are far below 2 GiB: the length always fits.
        out.extend_from_slice(&i32::try_from(s.len()).unwrap_or(i32::MAX).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(&4i16.to_be_bytes());
    text(&u.tag, out);
    out.extend_from_slice(&8i32.to_be_bytes());
    out.extend_from_slice(&u.ts.to_be_bytes());
    out.extend_from_slice(&8i32.to_be_bytes());
    out.extend_from_slice(&u.value.as_f64().to_bits().to_be_bytes());
    text(Batch::quality_name(u.quality), out);
}

/// Writes `samples` (each stored once, whatever was stored before). They are copied
/// straight into `tag_samples`; only when that meets a sample stored already (a batch
/// written again after a lost acknowledgement) does the batch go through the temporary
/// table and `ON CONFLICT DO NOTHING`, which costs about a third more.
pub(crate) async fn write_samples(pg: &PgPool, samples: &[TagUpdate]) -> Result<u64, StoreError> {
    if samples.is_empty() {
        return Ok(0);
    }
    let mut tx = pg.begin().await?;
    sqlx::query("SAVEPOINT fresh").execute(&mut *tx).await?;
    match copy_into(&mut tx, "tag_samples", samples).await {
        Ok(n) => {
            tx.commit().await?;
            return Ok(n);
        }
        Err(e) if is_unique_violation(&e) => {
            sqlx::query("ROLLBACK TO SAVEPOINT fresh").execute(&mut *tx).await?;
        }
        Err(e) => return Err(e.into()),
    }
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS tag_samples_in \
         (tag TEXT NOT NULL, ts_ms BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL, quality TEXT NOT NULL) \
         ON COMMIT DELETE ROWS",
    )
    .execute(&mut *tx)
    .await?;
    copy_into(&mut tx, "tag_samples_in", samples).await?;
    let done = sqlx::query(
        "INSERT INTO tag_samples (tag, ts_ms, value, quality) \
         SELECT tag, ts_ms, value, quality FROM tag_samples_in ON CONFLICT (tag, ts_ms) DO NOTHING",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// COPYs `samples` into `table`; answers the rows copied.
async fn copy_into(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    table: &str,
    samples: &[TagUpdate],
) -> Result<u64, sqlx::Error> {
    let mut copy = tx
        .copy_in_raw(&format!(
            "COPY {table} (tag, ts_ms, value, quality) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    let mut data = Vec::with_capacity(CHUNK_BYTES + 256);
    data.extend_from_slice(BINARY_HEADER);
    for u in samples {
        sample_tuple(u, &mut data);
        if data.len() >= CHUNK_BYTES {
            copy = send(copy, &data).await?;
            data.clear();
        }
    }
    data.extend_from_slice(BINARY_TRAILER);
    send(copy, &data).await?.finish().await
}

type CopyIn<'c> = sqlx::postgres::PgCopyIn<&'c mut sqlx::PgConnection>;

/// Sends `data`; on failure ends the COPY, or the connection errs on its next use.
async fn send<'c>(mut copy: CopyIn<'c>, data: &[u8]) -> Result<CopyIn<'c>, sqlx::Error> {
    match copy.send(data).await {
        Ok(_) => Ok(copy),
        Err(e) => {
            let _ = copy.abort("not sent").await;
            Err(e)
        }
    }
}

/// A sample stored already (PostgreSQL's `unique_violation`).
fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).as_deref() == Some("23505")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tag::{Quality, TagValue};

    #[test]
    fn fields_are_escaped_as_copy_text_reads_them() {
        let cases = [
            ("l1.filler.count", "l1.filler.count"),
            ("a\tb", "a\\tb"),
            ("line\nbreak\r", "line\\nbreak\\r"),
            ("back\\slash", "back\\\\slash"),
            ("Größe", "Größe"),
        ];
        for (field, want) in cases {
            let mut out = String::new();
            copy_text(field, &mut out);
            assert_eq!(out, want, "{field:?}");
        }
    }

    #[test]
    fn doubles_keep_every_digit_and_postgres_spellings() {
        let cases = [
            (0.1, "0.1"),
            (1234.0, "1234"),
            (-2.5e-7, "-0.00000025"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            let mut out = String::new();
            copy_double(v, &mut out);
            assert_eq!(out, want, "{v}");
        }
    }

    #[test]
    fn a_sample_is_one_binary_tuple_of_four_fields() {
        let mut out = Vec::new();
        let u = TagUpdate {
            tag: "l1\tx".into(),
            value: TagValue::Float(0.5),
            ts: 0x0102_0304_0506_0708,
            quality: Quality::Good,
        };
        sample_tuple(&u, &mut out);
        let mut want: Vec<u8> = vec![0, 4];
        want.extend([0, 0, 0, 4, b'l', b'1', b'\t', b'x']);
        want.extend([0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
        // 0.5 is 0x3FE0_0000_0000_0000.
        want.extend([0, 0, 0, 8, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]);
        want.extend([0, 0, 0, 4, b'g', b'o', b'o', b'd']);
        assert_eq!(out, want);
        assert_eq!(BINARY_HEADER.len(), 19, "11 bytes of signature, then two 32-bit zeros");
    }

    #[test]
    fn a_sample_is_one_tab_separated_line() {
        let mut out = String::new();
        let u = TagUpdate {
            tag: "l1\tx".into(),
            value: TagValue::Int(42),
            ts: 1_700_000_000_123,
            quality: Quality::Uncertain,
        };
        sample_line(&u, &mut out);
        assert_eq!(out, "l1\\tx\t1700000000123\t42\tuncertain\n");
    }
}

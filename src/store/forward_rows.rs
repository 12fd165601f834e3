//! The central's side of forwarded production rows (see `domain::forward_tables`): edge
//! ids in a row are mapped to the central's own (`forward_ids`, `forward_tickets`), then
//! the row is written as its table's spec says: updated through the id map, upserted on
//! its natural key, or deleted.

use sqlx::Row;

use super::forward_apply::ApplyError;
use super::sql;
use crate::domain::forward_tables::{Key, Ref, TableRow, Val};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Writes `row` from `edge` in `tx`.
pub(crate) async fn apply_row(tx: &mut Tx, edge: &str, row: &TableRow) -> Result<(), ApplyError> {
    let spec = row.table.spec();
    let mut values = row.values.clone();
    for &(column, named) in spec.refs {
        let Some(at) = spec.columns.iter().position(|(c, _)| *c == column) else {
            continue;
        };
        let Some(edge_id) = values[at].as_int() else {
            continue;
        };
        let Some(id) = central_id(tx, edge, named, edge_id).await? else {
            return Err(ApplyError::Refused(format!(
                "{} {edge_id} of edge `{edge}` is not known here (its record was not applied)",
                named.as_str().replace('_', " ")
            )));
        };
        values[at] = Val::Int(Some(id));
    }
    let names: Vec<&str> = spec.columns.iter().map(|(c, _)| *c).collect();
    let marks = vec!["?"; names.len()].join(", ");
    match spec.key {
        Key::Mapped => {
            let me = Ref::Row(row.table);
            let edge_id = row.edge_id.unwrap_or_default();
            match central_id(tx, edge, me, edge_id).await? {
                Some(id) => {
                    let set: Vec<String> = names.iter().map(|c| format!("{c} = ?")).collect();
                    let q = format!("UPDATE {} SET {} WHERE id = ?", spec.table, set.join(", "));
                    bind(sql::query(q), &values).bind(id).execute(&mut **tx).await?;
                }
                None => {
                    let q = format!(
                        "INSERT INTO {} ({}) VALUES ({marks}) RETURNING id",
                        spec.table,
                        names.join(", ")
                    );
                    let id: i64 = bind(sql::query(q), &values).fetch_one(&mut **tx).await?.try_get(0)?;
                    remember(tx, edge, me, edge_id, id).await?;
                }
            }
        }
        Key::Natural(key) => {
            let update: Vec<String> = names
                .iter()
                .filter(|c| !key.contains(c))
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            let on_conflict = if update.is_empty() {
                "DO NOTHING".to_owned()
            } else {
                format!("DO UPDATE SET {}", update.join(", "))
            };
            let q = format!(
                "INSERT INTO {} ({}) VALUES ({marks}) ON CONFLICT ({}) {on_conflict}",
                spec.table,
                names.join(", "),
                key.join(", ")
            );
            bind(sql::query(q), &values).execute(&mut **tx).await?;
        }
        Key::Delete(key) => {
            let wher: Vec<String> = key.iter().map(|c| format!("{c} = ?")).collect();
            let q = format!("DELETE FROM {} WHERE {}", spec.table, wher.join(" AND "));
            let key_values: Vec<Val> = key
                .iter()
                .filter_map(|k| names.iter().position(|c| c == k).map(|at| values[at].clone()))
                .collect();
            bind(sql::query(q), &key_values).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

fn bind<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    values: &[Val],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for v in values {
        q = match v {
            Val::Text(t) => q.bind(t.clone()),
            Val::Int(i) => q.bind(*i),
            Val::Real(r) => q.bind(*r),
        };
    }
    q
}

/// The central's id of `edge`'s row `edge_id` of `entity`, if it was applied.
pub(crate) async fn central_id(tx: &mut Tx, edge: &str, entity: Ref, edge_id: i64) -> Result<Option<i64>, sqlx::Error> {
    let row = match entity {
        Ref::Ticket => {
            sql::query("SELECT ticket_id FROM forward_tickets WHERE edge = ? AND edge_ticket_id = ?")
                .bind(edge.to_owned())
                .bind(edge_id)
                .fetch_optional(&mut **tx)
                .await?
        }
        _ => {
            sql::query("SELECT central_id FROM forward_ids WHERE edge = ? AND entity = ? AND edge_id = ?")
                .bind(edge.to_owned())
                .bind(entity.as_str())
                .bind(edge_id)
                .fetch_optional(&mut **tx)
                .await?
        }
    };
    row.map(|r| r.try_get(0)).transpose()
}

/// Notes that `edge`'s `entity` `edge_id` is the central's `id`.
pub(crate) async fn remember(tx: &mut Tx, edge: &str, entity: Ref, edge_id: i64, id: i64) -> Result<(), sqlx::Error> {
    sql::query(
        "INSERT INTO forward_ids (edge, entity, edge_id, central_id) VALUES (?, ?, ?, ?) \
         ON CONFLICT (edge, entity, edge_id) DO UPDATE SET central_id = excluded.central_id",
    )
    .bind(edge.to_owned())
    .bind(entity.as_str())
    .bind(edge_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

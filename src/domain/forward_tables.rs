//! The production-management tables an edge forwards (products, jobs, rejects, checklists,
//! handover notes, maintenance orders), described column by column, so one rule reads
//! them off the wire and one applier writes them on the central.
//!
//! Each forwarded row is the edge's row after a write. A row with its own id is matched
//! to the central's copy through the central's id map (edge, entity, edge id); a column
//! holding an edge id of another row (a job's events, a checklist's template, an order's
//! stop or ticket) is mapped the same way before it is written.

use serde_json::Value;

use super::plant::PlantModel;

/// One forwarded production table (the wire `kind` is [`Table::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// `products`, written or changed.
    Product,
    /// `products`, deleted (the payload holds its `code`).
    ProductDeleted,
    /// `jobs`.
    Job,
    /// `job_events`.
    JobEvent,
    /// `rejects` (logged or voided).
    Reject,
    /// `checklist_templates`.
    ChecklistTemplate,
    /// `checklists` (filled checklists).
    Checklist,
    /// `handover_notes`.
    HandoverNote,
    /// `maintenance_orders`.
    MaintenanceOrder,
    /// `maintenance_order_events`.
    MaintenanceEvent,
    /// `maintenance_notes`.
    MaintenanceNote,
    /// `maintenance_parts`.
    MaintenancePart,
}

/// A column's type, as both backends store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// Text.
    Text,
    /// A 64-bit integer (flags are 0/1 integers on both backends).
    Int,
    /// A double.
    Real,
}

/// A row named by another row's column, through the central's id map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    /// An Andon ticket (mapped in `forward_tickets`).
    Ticket,
    /// A downtime event.
    Downtime,
    /// A row of a forwarded production table.
    Row(Table),
}

impl Ref {
    /// Its name in the central's id map (`forward_ids.entity`).
    pub fn as_str(self) -> &'static str {
        match self {
            Ref::Ticket => "ticket",
            Ref::Downtime => "downtime",
            Ref::Row(t) => t.as_str(),
        }
    }
}

/// How the central finds its copy of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// By the edge's `id`, through the id map (entity: the table's kind).
    Mapped,
    /// By these columns (a primary key or unique constraint): written with an upsert.
    Natural(&'static [&'static str]),
    /// The rows with these columns' values are deleted.
    Delete(&'static [&'static str]),
}

/// A table as forwarded.
#[derive(Debug)]
pub struct Spec {
    /// The table.
    pub table: &'static str,
    /// How its rows are matched.
    pub key: Key,
    /// The columns written (without `id`), with their types.
    pub columns: &'static [(&'static str, Col)],
    /// Columns holding edge ids of other rows.
    pub refs: &'static [(&'static str, Ref)],
    /// The column naming the row's line, checked to be this edge's.
    pub line: Option<&'static str>,
    /// The column naming the row's machine, checked to be on that line.
    pub machine: Option<&'static str>,
}

use Col::{Int, Real, Text};

const PRODUCT: &[(&str, Col)] = &[
    ("code", Text),
    ("name", Text),
    ("ideal_cycle_ms", Int),
    ("machine_cycles", Text),
    ("updated_at_ms", Int),
    ("updated_by", Text),
];

impl Table {
    /// Every table, in the order a fresh central can apply them.
    pub const ALL: [Table; 12] = [
        Table::Product,
        Table::ProductDeleted,
        Table::Job,
        Table::JobEvent,
        Table::Reject,
        Table::ChecklistTemplate,
        Table::Checklist,
        Table::HandoverNote,
        Table::MaintenanceOrder,
        Table::MaintenanceEvent,
        Table::MaintenanceNote,
        Table::MaintenancePart,
    ];

    /// The wire kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Product => "product",
            Table::ProductDeleted => "product_deleted",
            Table::Job => "job",
            Table::JobEvent => "job_event",
            Table::Reject => "reject",
            Table::ChecklistTemplate => "checklist_template",
            Table::Checklist => "checklist",
            Table::HandoverNote => "handover_note",
            Table::MaintenanceOrder => "maintenance_order",
            Table::MaintenanceEvent => "maintenance_event",
            Table::MaintenanceNote => "maintenance_note",
            Table::MaintenancePart => "maintenance_part",
        }
    }

    /// How the table is forwarded.
    pub fn spec(self) -> &'static Spec {
        static PRODUCT_SPEC: Spec = Spec {
            table: "products",
            key: Key::Natural(&["code"]),
            columns: PRODUCT,
            refs: &[],
            line: None,
            machine: None,
        };
        static PRODUCT_DELETED: Spec = Spec {
            table: "products",
            key: Key::Delete(&["code"]),
            columns: &[("code", Text)],
            refs: &[],
            line: None,
            machine: None,
        };
        static JOB: Spec = Spec {
            table: "jobs",
            key: Key::Mapped,
            columns: &[
                ("line_id", Text),
                ("product_code", Text),
                ("target", Int),
                ("planned_start_ms", Int),
                ("planned_end_ms", Int),
                ("notes", Text),
                ("state", Text),
                ("created_at_ms", Int),
                ("created_by", Text),
            ],
            refs: &[],
            line: Some("line_id"),
            machine: None,
        };
        static JOB_EVENT: Spec = Spec {
            table: "job_events",
            key: Key::Natural(&["job_id", "seq"]),
            columns: &[
                ("job_id", Int),
                ("seq", Int),
                ("at_ms", Int),
                ("state", Text),
                ("actor", Text),
            ],
            refs: &[("job_id", Ref::Row(Table::Job))],
            line: None,
            machine: None,
        };
        static REJECT: Spec = Spec {
            table: "rejects",
            key: Key::Mapped,
            columns: &[
                ("line_id", Text),
                ("machine_id", Text),
                ("defect", Text),
                ("quantity", Int),
                ("note", Text),
                ("at_ms", Int),
                ("logged_by", Text),
                ("logged_at_ms", Int),
                ("voided_at_ms", Int),
                ("voided_by", Text),
                ("void_reason", Text),
            ],
            refs: &[],
            line: Some("line_id"),
            machine: Some("machine_id"),
        };
        static CHECKLIST_TEMPLATE: Spec = Spec {
            table: "checklist_templates",
            key: Key::Mapped,
            columns: &[
                ("line_id", Text),
                ("name", Text),
                ("version", Int),
                ("items", Text),
                ("blocks_job_start", Int),
                ("andon_category", Text),
                ("andon_priority", Text),
                ("created_at_ms", Int),
                ("created_by", Text),
                ("updated_at_ms", Int),
                ("updated_by", Text),
                ("deleted_at_ms", Int),
                ("deleted_by", Text),
            ],
            refs: &[],
            line: Some("line_id"),
            machine: None,
        };
        static CHECKLIST: Spec = Spec {
            table: "checklists",
            key: Key::Mapped,
            columns: &[
                ("line_id", Text),
                ("template_id", Int),
                ("template_name", Text),
                ("template_version", Int),
                ("blocks_job_start", Int),
                ("shift_name", Text),
                ("shift_start_ms", Int),
                ("shift_end_ms", Int),
                ("result", Text),
                ("items", Text),
                ("filled_by", Text),
                ("filled_at_ms", Int),
                ("ticket_id", Int),
            ],
            refs: &[
                ("template_id", Ref::Row(Table::ChecklistTemplate)),
                ("ticket_id", Ref::Ticket),
            ],
            line: Some("line_id"),
            machine: None,
        };
        static HANDOVER_NOTE: Spec = Spec {
            table: "handover_notes",
            key: Key::Mapped,
            columns: &[
                ("line_id", Text),
                ("shift_name", Text),
                ("shift_start_ms", Int),
                ("shift_end_ms", Int),
                ("note", Text),
                ("written_by", Text),
                ("written_at_ms", Int),
            ],
            refs: &[],
            line: Some("line_id"),
            machine: None,
        };
        static MAINTENANCE_ORDER: Spec = Spec {
            table: "maintenance_orders",
            key: Key::Mapped,
            columns: &[
                ("machine_id", Text),
                ("line_id", Text),
                ("problem", Text),
                ("priority", Text),
                ("assignee", Text),
                ("state", Text),
                ("downtime_id", Int),
                ("ticket_id", Int),
                ("created_at_ms", Int),
                ("created_by", Text),
                ("started_at_ms", Int),
                ("started_by", Text),
                ("completed_at_ms", Int),
                ("completed_by", Text),
                ("cancelled_at_ms", Int),
                ("cancelled_by", Text),
                ("minutes_spent", Int),
            ],
            refs: &[("downtime_id", Ref::Downtime), ("ticket_id", Ref::Ticket)],
            line: Some("line_id"),
            machine: Some("machine_id"),
        };
        static MAINTENANCE_EVENT: Spec = Spec {
            table: "maintenance_order_events",
            key: Key::Mapped,
            columns: &[
                ("order_id", Int),
                ("at_ms", Int),
                ("kind", Text),
                ("actor", Text),
                ("detail", Text),
            ],
            refs: &[("order_id", Ref::Row(Table::MaintenanceOrder))],
            line: None,
            machine: None,
        };
        static MAINTENANCE_NOTE: Spec = Spec {
            table: "maintenance_notes",
            key: Key::Mapped,
            columns: &[
                ("order_id", Int),
                ("at_ms", Int),
                ("author", Text),
                ("note", Text),
                ("minutes_spent", Int),
            ],
            refs: &[("order_id", Ref::Row(Table::MaintenanceOrder))],
            line: None,
            machine: None,
        };
        static MAINTENANCE_PART: Spec = Spec {
            table: "maintenance_parts",
            key: Key::Mapped,
            columns: &[("note_id", Int), ("order_id", Int), ("part", Text), ("quantity", Real)],
            refs: &[
                ("note_id", Ref::Row(Table::MaintenanceNote)),
                ("order_id", Ref::Row(Table::MaintenanceOrder)),
            ],
            line: None,
            machine: None,
        };
        match self {
            Table::Product => &PRODUCT_SPEC,
            Table::ProductDeleted => &PRODUCT_DELETED,
            Table::Job => &JOB,
            Table::JobEvent => &JOB_EVENT,
            Table::Reject => &REJECT,
            Table::ChecklistTemplate => &CHECKLIST_TEMPLATE,
            Table::Checklist => &CHECKLIST,
            Table::HandoverNote => &HANDOVER_NOTE,
            Table::MaintenanceOrder => &MAINTENANCE_ORDER,
            Table::MaintenanceEvent => &MAINTENANCE_EVENT,
            Table::MaintenanceNote => &MAINTENANCE_NOTE,
            Table::MaintenancePart => &MAINTENANCE_PART,
        }
    }

    /// Whether the central's live parts of the row's machine change with it (rejects
    /// lower a machine's good parts).
    pub fn changes_parts(self) -> bool {
        self == Table::Reject
    }

    /// Whether the central's running jobs or products may change with it.
    pub fn changes_jobs(self) -> bool {
        matches!(self, Table::Product | Table::ProductDeleted | Table::Job)
    }
}

/// One column's value, typed as its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Text or NULL.
    Text(Option<String>),
    /// Integer or NULL.
    Int(Option<i64>),
    /// Double or NULL.
    Real(Option<f64>),
}

impl Val {
    /// The integer, if it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Val::Int(v) => *v,
            _ => None,
        }
    }

    /// The text, if it is some.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Val::Text(v) => v.as_deref(),
            _ => None,
        }
    }
}

/// A production row read off the wire: its edge id (for mapped tables) and its columns'
/// values in the spec's order, edge ids of other entities not yet mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// Its table.
    pub table: Table,
    /// The edge's `id` of the row (mapped tables).
    pub edge_id: Option<i64>,
    /// Values, one per column of the spec.
    pub values: Vec<Val>,
}

impl TableRow {
    /// The value of `column`.
    pub fn get(&self, column: &str) -> Option<&Val> {
        let at = self.table.spec().columns.iter().position(|(c, _)| *c == column)?;
        self.values.get(at)
    }
}

/// Reads a row of `table` from its JSON payload: every column of the spec must be there
/// with its type (NULL allowed; the central's schema says where it is not), and its line
/// and machine must be given to this edge (`line_ok`). The error is the reason given back.
pub fn decode_row(
    plant: &PlantModel,
    table: Table,
    payload: &Value,
    line_ok: impl Fn(&str) -> Result<(), String>,
) -> Result<TableRow, String> {
    let spec = table.spec();
    let bad = |why: String| format!("bad {} record: {why}", table.as_str());
    let Some(obj) = payload.as_object() else {
        return Err(bad("not an object".into()));
    };
    let edge_id = match spec.key {
        Key::Mapped => Some(
            obj.get("id")
                .and_then(Value::as_i64)
                .ok_or_else(|| bad("`id` must be an integer".into()))?,
        ),
        Key::Natural(_) | Key::Delete(_) => None,
    };
    let mut values = Vec::with_capacity(spec.columns.len());
    for &(name, col) in spec.columns {
        let v = obj.get(name).unwrap_or(&Value::Null);
        let val = match (col, v) {
            (Col::Text, Value::Null) => Val::Text(None),
            (Col::Text, Value::String(s)) => Val::Text(Some(s.clone())),
            (Col::Int, Value::Null) => Val::Int(None),
            (Col::Int, Value::Bool(b)) => Val::Int(Some(i64::from(*b))),
            (Col::Int, Value::Number(n)) if n.is_i64() => Val::Int(n.as_i64()),
            (Col::Real, Value::Null) => Val::Real(None),
            (Col::Real, Value::Number(n)) => Val::Real(n.as_f64()),
            (col, _) => return Err(bad(format!("`{name}` must be {}", col_name(col)))),
        };
        values.push(val);
    }
    let row = TableRow { table, edge_id, values };
    if let Some(col) = spec.line {
        let line = row
            .get(col)
            .and_then(Val::as_text)
            .ok_or_else(|| bad(format!("`{col}` is missing")))?;
        line_ok(line)?;
        if let Some(mcol) = spec.machine {
            let machine = row
                .get(mcol)
                .and_then(Val::as_text)
                .ok_or_else(|| bad(format!("`{mcol}` is missing")))?;
            match plant.machine(machine) {
                Some((idx, _)) if plant.line(line).is_some_and(|(_, l)| l.machines.contains(&idx)) => {}
                Some(_) => {
                    return Err(format!(
                        "machine `{machine}` is not on line `{line}` in the central's plant model"
                    ));
                }
                None => return Err(format!("no machine `{machine}` in the central's plant model")),
            }
        }
    }
    Ok(row)
}

fn col_name(col: Col) -> &'static str {
    match col {
        Col::Text => "text or null",
        Col::Int => "an integer or null",
        Col::Real => "a number or null",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plant() -> PlantModel {
        crate::test_support::demo_plant()
    }

    fn any_line(_: &str) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn every_table_reads_back_by_name_and_its_columns_are_unique() {
        for t in Table::ALL {
            let spec = t.spec();
            for (i, (c, _)) in spec.columns.iter().enumerate() {
                assert!(!spec.columns[i + 1..].iter().any(|(d, _)| d == c), "{} {c}", t.as_str());
                assert_ne!(*c, "id", "{}: the id is the key, not a column", t.as_str());
            }
            for (r, _) in spec.refs {
                assert!(spec.columns.iter().any(|(c, _)| c == r), "{} ref {r}", t.as_str());
            }
            if let Key::Natural(cols) | Key::Delete(cols) = spec.key {
                for k in cols {
                    assert!(spec.columns.iter().any(|(c, _)| c == k), "{} key {k}", t.as_str());
                }
            }
        }
    }

    #[test]
    fn a_row_is_read_with_its_types_and_its_line_checked() {
        let p = plant();
        let line = p.lines[0].id.clone();
        let machine = p.machines[p.lines[0].machines[0]].id.clone();
        let reject = json!({ "id": 7, "line_id": line, "machine_id": machine, "defect": "scratch",
            "quantity": 3, "note": null, "at_ms": 1000, "logged_by": "ann", "logged_at_ms": 1001,
            "voided_at_ms": null, "voided_by": null, "void_reason": null });
        let row = decode_row(&p, Table::Reject, &reject, any_line).expect("a reject");
        assert_eq!(row.edge_id, Some(7));
        assert_eq!(row.get("quantity"), Some(&Val::Int(Some(3))));
        assert_eq!(row.get("note"), Some(&Val::Text(None)));
        assert_eq!(row.get("defect").and_then(Val::as_text), Some("scratch"));

        // (payload change, table, what the edge is told)
        let cases: [(Value, Table, &str); 6] = [
            (
                json!({ "quantity": "3" }),
                Table::Reject,
                "bad reject record: `quantity` must be an integer or null",
            ),
            (
                json!({ "quantity": 1.5 }),
                Table::Reject,
                "bad reject record: `quantity` must be an integer or null",
            ),
            (
                json!({ "id": null }),
                Table::Reject,
                "bad reject record: `id` must be an integer",
            ),
            (
                json!({ "machine_id": "nope" }),
                Table::Reject,
                "no machine `nope` in the central's plant model",
            ),
            (
                json!({ "line_id": null }),
                Table::Reject,
                "bad reject record: `line_id` is missing",
            ),
            (
                json!({ "quantity": "2.5" }),
                Table::MaintenancePart,
                "bad maintenance_part record: `quantity` must be a number or null",
            ),
        ];
        for (change, table, want) in cases {
            let mut payload = reject.clone();
            for (k, v) in change.as_object().into_iter().flatten() {
                payload[k] = v.clone();
            }
            assert_eq!(
                decode_row(&p, table, &payload, any_line),
                Err(want.to_owned()),
                "{change}"
            );
        }
        // A part's quantity is a double; flags may come as booleans (to_jsonb) or 0/1.
        let part = json!({ "id": 1, "note_id": 2, "order_id": 3, "part": "belt", "quantity": 2.5 });
        let row = decode_row(&p, Table::MaintenancePart, &part, any_line).expect("a part");
        assert_eq!(row.get("quantity"), Some(&Val::Real(Some(2.5))));
        let template = json!({ "id": 1, "line_id": line, "name": "start", "version": 1, "items": "[]",
            "blocks_job_start": true, "created_at_ms": 1, "created_by": "a", "updated_at_ms": 1, "updated_by": "a" });
        let row = decode_row(&p, Table::ChecklistTemplate, &template, any_line).expect("a template");
        assert_eq!(row.get("blocks_job_start"), Some(&Val::Int(Some(1))));
        assert_eq!(row.get("deleted_at_ms"), Some(&Val::Int(None)));
        // The line must be this edge's.
        let refuse = |l: &str| Err(format!("line `{l}` is not given"));
        assert_eq!(
            decode_row(&p, Table::Reject, &reject, refuse),
            Err(format!("line `{line}` is not given"))
        );
    }

    #[test]
    fn a_machine_on_another_line_is_refused() {
        let p = plant();
        assert!(p.lines.len() > 1, "the demo plant has several lines");
        let other = p.machines[p.lines[1].machines[0]].id.clone();
        let order = json!({ "id": 1, "machine_id": other, "line_id": p.lines[0].id, "problem": "x",
            "priority": "low", "state": "open", "created_at_ms": 1, "created_by": "a", "minutes_spent": 0 });
        assert_eq!(
            decode_row(&p, Table::MaintenanceOrder, &order, any_line),
            Err(format!(
                "machine `{other}` is not on line `{}` in the central's plant model",
                p.lines[0].id
            ))
        );
    }
}

//! What engineers write on maintenance orders, checked at the edge: texts trimmed and
//! bounded, part lines named and positive, minutes within a day. A bad field is a
//! [`FieldError`] naming it (`parts_used[1].quantity`), which the API answers with a 400.

use serde::{Deserialize, Serialize};

/// Longest problem description, note or comment, in characters.
pub const MAX_TEXT: usize = 1_000;
/// Longest assignee or part name, in characters.
pub const MAX_NAME: usize = 200;
/// Most part lines on one note.
pub const MAX_PARTS: usize = 50;
/// Most minutes one note may account for (a day).
pub const MAX_MINUTES: i64 = 24 * 60;
/// Largest quantity of one part line.
pub const MAX_QUANTITY: f64 = 1_000_000.0;

/// One part line of a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartUsed {
    /// Part name or number (1-200 characters).
    pub part: String,
    /// How many (above 0; may be fractional, e.g. litres or metres).
    pub quantity: f64,
}

/// A field an engineer wrote that cannot be taken: a 400 naming it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{field}` {reason}")]
pub struct FieldError {
    /// The field, with its index for list items (`parts_used[1].quantity`).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

fn field_error(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// `value` trimmed, 1 to `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(field_error(field, format!("must be 1-{max} characters")));
    }
    Ok(v.to_owned())
}

/// An optional text: `None` and blank both mean none.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => text(field, v, max).map(Some),
        None => Ok(None),
    }
}

/// Part lines, each named and with a quantity above 0.
pub fn parts(lines: &[PartUsed]) -> Result<Vec<PartUsed>, FieldError> {
    if lines.len() > MAX_PARTS {
        return Err(field_error("parts_used", format!("may have at most {MAX_PARTS} lines")));
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let part = text(&format!("parts_used[{i}].part"), &p.part, MAX_NAME)?;
            if !(p.quantity.is_finite() && p.quantity > 0.0 && p.quantity <= MAX_QUANTITY) {
                return Err(field_error(
                    format!("parts_used[{i}].quantity"),
                    format!("must be above 0 and at most {MAX_QUANTITY}"),
                ));
            }
            Ok(PartUsed {
                part,
                quantity: p.quantity,
            })
        })
        .collect()
}

/// Minutes one note accounts for: 1 to a day.
pub fn minutes(value: Option<i64>) -> Result<Option<i64>, FieldError> {
    match value {
        Some(m) if !(1..=MAX_MINUTES).contains(&m) => {
            Err(field_error("minutes_spent", format!("must be 1-{MAX_MINUTES}")))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_parts_and_minutes_are_checked_and_named() {
        assert_eq!(text("problem", "  belt torn ", MAX_TEXT).unwrap(), "belt torn");
        assert_eq!(text("problem", "   ", MAX_TEXT).unwrap_err().field, "problem");
        assert_eq!(
            text("problem", &"x".repeat(1_001), MAX_TEXT).unwrap_err().field,
            "problem"
        );
        assert_eq!(optional_text("assignee", Some("  "), MAX_NAME).unwrap(), None);
        let part = |p: &str, q: f64| PartUsed {
            part: p.into(),
            quantity: q,
        };
        // (lines, Ok(count) or the field named)
        let table: Vec<(Vec<PartUsed>, Result<usize, &str>)> = vec![
            (vec![], Ok(0)),
            (vec![part("belt B-200", 1.0), part("oil", 0.5)], Ok(2)),
            (vec![part("belt", 1.0), part(" ", 1.0)], Err("parts_used[1].part")),
            (vec![part("belt", 0.0)], Err("parts_used[0].quantity")),
            (vec![part("belt", -2.0)], Err("parts_used[0].quantity")),
            (vec![part("belt", f64::NAN)], Err("parts_used[0].quantity")),
            (vec![part("belt", 2e6)], Err("parts_used[0].quantity")),
            ((0..51).map(|_| part("bolt", 1.0)).collect(), Err("parts_used")),
        ];
        for (lines, want) in table {
            match (parts(&lines), want) {
                (Ok(got), Ok(n)) => assert_eq!(got.len(), n),
                (Err(e), Err(field)) => assert_eq!(e.field, field),
                (got, want) => panic!("{lines:?}: got {got:?}, want {want:?}"),
            }
        }
        for (m, ok) in [
            (None, true),
            (Some(1), true),
            (Some(1_440), true),
            (Some(0), false),
            (Some(1_441), false),
        ] {
            assert_eq!(minutes(m).is_ok(), ok, "{m:?}");
        }
        assert_eq!(
            minutes(Some(-5)).unwrap_err().to_string(),
            "`minutes_spent` must be 1-1440"
        );
    }
}

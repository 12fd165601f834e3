//! Shift-start checklist templates, pure: what a line's operators check at shift start
//! (yes/no, numbers with limits, text), whether a failure blocks starting a job, and
//! which Andon ticket a failure raises. Templates arrive from the REST edge as a
//! [`TemplateSpec`] and become valid through [`TemplateSpec::validate`]; how a filled
//! checklist is judged is in [`super::checklist_eval`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::andon::{Category, Priority};

/// Most items in one template.
pub const MAX_ITEMS: usize = 100;
/// Longest template name, in characters.
pub const MAX_NAME: usize = 100;
/// Longest item key, in characters.
pub const MAX_KEY: usize = 64;
/// Longest item label, in characters.
pub const MAX_LABEL: usize = 200;
/// Longest unit, in characters.
pub const MAX_UNIT: usize = 20;

/// A field of a request that is wrong, and why: becomes a 400 naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {message}")]
pub struct FieldError {
    /// Where: `name`, `items[2].max`, `answers.pressure`.
    pub field: String,
    /// What is wrong, as the end of a sentence starting with the field.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What kind of answer an item takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// `true` (yes, passes) or `false` (no, fails).
    YesNo,
    /// A number, failing outside `[min, max]` (limits inclusive, each optional).
    Number,
    /// Free text; passes whenever given.
    Text,
}

/// One item of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Key of the answer (`guard_closed`): letters, digits, `_` and `-`, unique in the template.
    pub key: String,
    /// The question as shown ("Guard closed and locked?").
    pub label: String,
    /// `yes_no`, `number` or `text`.
    pub kind: ItemKind,
    /// Lowest passing number (inclusive); `number` items only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest passing number (inclusive); `number` items only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Unit shown beside a number (`bar`); `number` items only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Whether the checklist fails when the item is not answered (default true).
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

/// The Andon ticket a failed checklist raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AndonOnFailure {
    /// `quality` or `safety`.
    pub category: Category,
    /// `low`, `medium`, `high` or `critical`.
    pub priority: Priority,
}

/// A template as asked for (by the REST edge), before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSpec {
    /// Line id (its existence is checked against the plant model by the caller).
    pub line: String,
    /// Name, unique among the line's templates.
    pub name: String,
    /// The items, in the order shown.
    pub items: Vec<ChecklistItem>,
    /// Whether a job may start on the line only after this checklist passed in the shift.
    pub blocks_job_start: bool,
    /// The ticket a failure raises, if any.
    pub andon_on_failure: Option<AndonOnFailure>,
}

fn chars_between(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(FieldError::new(field, format!("must be 1-{max} characters")));
    }
    Ok(v.to_owned())
}

impl ChecklistItem {
    fn validate(self, at: usize) -> Result<ChecklistItem, FieldError> {
        let field = |name: &str| format!("items[{at}].{name}");
        let key = self.key.trim().to_owned();
        if key.is_empty()
            || key.chars().count() > MAX_KEY
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(FieldError::new(
                field("key"),
                format!("must be 1-{MAX_KEY} letters, digits, `_` or `-`"),
            ));
        }
        let label = chars_between(&field("label"), &self.label, MAX_LABEL)?;
        let unit = self.unit.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
        if self.kind != ItemKind::Number {
            for (name, set) in [
                ("min", self.min.is_some()),
                ("max", self.max.is_some()),
                ("unit", unit.is_some()),
            ] {
                if set {
                    return Err(FieldError::new(field(name), "is only for `number` items"));
                }
            }
        }
        for (name, limit) in [("min", self.min), ("max", self.max)] {
            if limit.is_some_and(|v| !v.is_finite()) {
                return Err(FieldError::new(field(name), "must be a finite number"));
            }
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            return Err(FieldError::new(field("max"), format!("must be at least `min` ({min})")));
        }
        if unit.as_ref().is_some_and(|u| u.chars().count() > MAX_UNIT) {
            return Err(FieldError::new(
                field("unit"),
                format!("may have at most {MAX_UNIT} characters"),
            ));
        }
        Ok(ChecklistItem {
            key,
            label,
            unit,
            ..self
        })
    }
}

impl TemplateSpec {
    /// The template with names trimmed, or the first field that is wrong: an empty or
    /// long name or label, a bad or repeated key, no items or too many, limits on an item
    /// that is not a number, `min` above `max`, a ticket category other than quality or
    /// safety.
    pub fn validate(self) -> Result<TemplateSpec, FieldError> {
        let name = chars_between("name", &self.name, MAX_NAME)?;
        if self.items.is_empty() || self.items.len() > MAX_ITEMS {
            return Err(FieldError::new("items", format!("must hold 1-{MAX_ITEMS} items")));
        }
        let mut items: Vec<ChecklistItem> = Vec::with_capacity(self.items.len());
        for (at, item) in self.items.into_iter().enumerate() {
            let item = item.validate(at)?;
            if items.iter().any(|i| i.key == item.key) {
                return Err(FieldError::new(
                    format!("items[{at}].key"),
                    format!("`{}` is used by an earlier item", item.key),
                ));
            }
            items.push(item);
        }
        if let Some(a) = self.andon_on_failure
            && !matches!(a.category, Category::Quality | Category::Safety)
        {
            return Err(FieldError::new(
                "andon_on_failure.category",
                "must be `quality` or `safety`",
            ));
        }
        Ok(TemplateSpec { name, items, ..self })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, kind: ItemKind) -> ChecklistItem {
        ChecklistItem {
            key: key.into(),
            label: format!("{key}?"),
            kind,
            min: None,
            max: None,
            unit: None,
            required: true,
        }
    }

    fn spec(items: Vec<ChecklistItem>) -> TemplateSpec {
        TemplateSpec {
            line: "line-a".into(),
            name: " Start-up ".into(),
            items,
            blocks_job_start: true,
            andon_on_failure: None,
        }
    }

    fn number(key: &str, min: Option<f64>, max: Option<f64>) -> ChecklistItem {
        ChecklistItem {
            min,
            max,
            unit: Some(" bar ".into()),
            ..item(key, ItemKind::Number)
        }
    }

    #[test]
    fn a_good_template_is_trimmed_and_kept() {
        let t = spec(vec![
            item("guard", ItemKind::YesNo),
            number("pressure", Some(4.0), Some(4.0)),
        ])
        .validate()
        .unwrap();
        assert_eq!(t.name, "Start-up");
        assert_eq!(t.items[1].unit.as_deref(), Some("bar"));
        // min == max is a valid (single-value) range
        assert_eq!((t.items[1].min, t.items[1].max), (Some(4.0), Some(4.0)));
    }

    #[test]
    fn every_bad_field_is_named() {
        let yes_no_with = |f: fn(&mut ChecklistItem)| {
            let mut i = item("guard", ItemKind::YesNo);
            f(&mut i);
            i
        };
        let quality_andon = |category| AndonOnFailure {
            category,
            priority: Priority::High,
        };
        // (template, field named)
        let cases = [
            (
                TemplateSpec {
                    name: "  ".into(),
                    ..spec(vec![item("a", ItemKind::Text)])
                },
                "name",
            ),
            (
                TemplateSpec {
                    name: "x".repeat(101),
                    ..spec(vec![item("a", ItemKind::Text)])
                },
                "name",
            ),
            (spec(vec![]), "items"),
            (
                spec((0..101).map(|i| item(&format!("k{i}"), ItemKind::Text)).collect()),
                "items",
            ),
            (spec(vec![item("a b", ItemKind::Text)]), "items[0].key"),
            (spec(vec![item("", ItemKind::Text)]), "items[0].key"),
            (
                spec(vec![item("a", ItemKind::Text), item("a", ItemKind::YesNo)]),
                "items[1].key",
            ),
            (spec(vec![yes_no_with(|i| i.label = " ".into())]), "items[0].label"),
            (spec(vec![yes_no_with(|i| i.min = Some(1.0))]), "items[0].min"),
            (spec(vec![yes_no_with(|i| i.max = Some(1.0))]), "items[0].max"),
            (
                spec(vec![yes_no_with(|i| i.unit = Some("bar".into()))]),
                "items[0].unit",
            ),
            (spec(vec![number("p", Some(5.0), Some(4.9))]), "items[0].max"),
            (spec(vec![number("p", Some(f64::NAN), None)]), "items[0].min"),
            (
                spec(vec![ChecklistItem {
                    unit: Some("u".repeat(21)),
                    ..number("p", None, None)
                }]),
                "items[0].unit",
            ),
            (
                TemplateSpec {
                    andon_on_failure: Some(quality_andon(Category::Maintenance)),
                    ..spec(vec![item("a", ItemKind::Text)])
                },
                "andon_on_failure.category",
            ),
        ];
        for (t, field) in cases {
            let err = t.clone().validate().expect_err(field);
            assert_eq!(err.field, field, "{t:?}: {err}");
        }
        for category in [Category::Quality, Category::Safety] {
            let t = TemplateSpec {
                andon_on_failure: Some(quality_andon(category)),
                ..spec(vec![item("a", ItemKind::Text)])
            };
            assert!(t.validate().is_ok(), "{category:?}");
        }
    }

    #[test]
    fn items_read_from_json_default_to_required() {
        let i: ChecklistItem = serde_json::from_str(r#"{"key":"k","label":"L","kind":"yes_no"}"#).unwrap();
        assert!(i.required);
        let e = serde_json::from_str::<ChecklistItem>(r#"{"key":"k","label":"L","kind":"bool"}"#);
        assert!(e.is_err());
    }
}

//! Judging a filled checklist, pure: each item passes, fails (a "no", a number outside
//! its limits), is missing (required and not answered) or is skipped (optional and not
//! answered); the checklist fails when a required item fails or is missing. Also a
//! template's state in a shift, and the text of the Andon ticket a failure raises.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::checklist::{ChecklistItem, FieldError, ItemKind};

/// Longest text answer, in characters.
pub const MAX_TEXT_ANSWER: usize = 1_000;
/// Longest Andon ticket description (as the REST raise accepts).
pub const MAX_TICKET_TEXT: usize = 1_000;

/// How one item came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered and within what the item allows.
    Pass,
    /// A "no", or a number outside the item's limits.
    Fail,
    /// Required and not answered.
    Missing,
    /// Optional and not answered.
    Skipped,
}

/// How a whole checklist came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChecklistResult {
    /// No required item failed or is missing.
    Passed,
    /// A required item failed or is missing.
    Failed,
}

impl ChecklistResult {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecklistResult::Passed => "passed",
            ChecklistResult::Failed => "failed",
        }
    }

    /// The result with this name.
    pub fn parse(s: &str) -> Option<Self> {
        [ChecklistResult::Passed, ChecklistResult::Failed]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A template's state in a shift occurrence: its latest filled checklist's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    /// Not filled in this shift yet.
    NotStarted,
    /// The latest filling passed.
    Passed,
    /// The latest filling failed.
    Failed,
}

impl From<Option<ChecklistResult>> for TemplateStatus {
    fn from(latest: Option<ChecklistResult>) -> Self {
        match latest {
            None => TemplateStatus::NotStarted,
            Some(ChecklistResult::Passed) => TemplateStatus::Passed,
            Some(ChecklistResult::Failed) => TemplateStatus::Failed,
        }
    }
}

/// One item of a filled checklist: the item as the template version had it, the answer
/// and the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemResult {
    /// Item key.
    pub key: String,
    /// The question.
    pub label: String,
    /// `yes_no`, `number` or `text`.
    pub kind: ItemKind,
    /// Lowest passing number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest passing number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Unit of a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Whether it had to be answered.
    pub required: bool,
    /// The answer (true/false, a number or text); null when not answered.
    pub answer: Option<Value>,
    /// pass, fail, missing or skipped.
    pub outcome: Outcome,
}

impl ItemResult {
    /// Whether this item makes the checklist fail.
    pub fn fails_checklist(&self) -> bool {
        self.required && matches!(self.outcome, Outcome::Fail | Outcome::Missing)
    }

    /// "guard (no)", "pressure (7.2 bar, allowed 4-6)", "ppe (missing)".
    fn describe(&self) -> String {
        let why = match (&self.outcome, &self.answer) {
            (Outcome::Missing, _) => "missing".to_owned(),
            (_, Some(Value::Bool(false))) => "no".to_owned(),
            (_, Some(Value::Number(n))) => {
                let unit = self.unit.as_ref().map_or(String::new(), |u| format!(" {u}"));
                let range = match (self.min, self.max) {
                    (Some(lo), Some(hi)) => format!("allowed {lo}-{hi}"),
                    (Some(lo), None) => format!("allowed at least {lo}"),
                    (None, Some(hi)) => format!("allowed at most {hi}"),
                    (None, None) => "no limits".to_owned(),
                };
                format!("{n}{unit}, {range}")
            }
            _ => "failed".to_owned(),
        };
        format!("{} ({why})", self.key)
    }
}

/// A judged checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Every item of the template, in its order.
    pub items: Vec<ItemResult>,
    /// Passed or failed.
    pub result: ChecklistResult,
}

impl Evaluation {
    /// Keys of the items that made it fail, in template order.
    pub fn failed_keys(&self) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| i.fails_checklist())
            .map(|i| i.key.clone())
            .collect()
    }
}

/// Judges `answers` (item key → answer) against a template's items. An answer that is
/// null, or text that is only blank, counts as not answered. Errors name the answer:
/// an unknown key, or an answer of the wrong type (`yes_no` takes true/false, `number` a
/// JSON number, `text` a string of at most 1000 characters).
pub fn evaluate(items: &[ChecklistItem], answers: &BTreeMap<String, Value>) -> Result<Evaluation, FieldError> {
    if let Some(key) = answers.keys().find(|k| !items.iter().any(|i| &i.key == *k)) {
        return Err(FieldError::new(
            format!("answers.{key}"),
            "is not an item of this template",
        ));
    }
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let field = || format!("answers.{}", item.key);
        let given = answers.get(&item.key).filter(|v| !v.is_null());
        let (answer, outcome) = match (item.kind, given) {
            (_, None) => (None, None),
            (ItemKind::YesNo, Some(Value::Bool(b))) => (
                Some(Value::Bool(*b)),
                Some(if *b { Outcome::Pass } else { Outcome::Fail }),
            ),
            (ItemKind::YesNo, Some(_)) => return Err(FieldError::new(field(), "must be true or false")),
            (ItemKind::Number, Some(Value::Number(n))) => {
                let v = n.as_f64().unwrap_or(f64::NAN);
                let inside = item.min.is_none_or(|lo| v >= lo) && item.max.is_none_or(|hi| v <= hi);
                (
                    Some(Value::Number(n.clone())),
                    Some(if inside { Outcome::Pass } else { Outcome::Fail }),
                )
            }
            (ItemKind::Number, Some(_)) => return Err(FieldError::new(field(), "must be a number")),
            (ItemKind::Text, Some(Value::String(s))) => {
                let s = s.trim();
                if s.chars().count() > MAX_TEXT_ANSWER {
                    return Err(FieldError::new(
                        field(),
                        format!("may have at most {MAX_TEXT_ANSWER} characters"),
                    ));
                }
                if s.is_empty() {
                    (None, None)
                } else {
                    (Some(Value::String(s.to_owned())), Some(Outcome::Pass))
                }
            }
            (ItemKind::Text, Some(_)) => return Err(FieldError::new(field(), "must be text")),
        };
        let outcome = outcome.unwrap_or(if item.required {
            Outcome::Missing
        } else {
            Outcome::Skipped
        });
        results.push(ItemResult {
            key: item.key.clone(),
            label: item.label.clone(),
            kind: item.kind,
            min: item.min,
            max: item.max,
            unit: item.unit.clone(),
            required: item.required,
            answer,
            outcome,
        });
    }
    let result = if results.iter().any(ItemResult::fails_checklist) {
        ChecklistResult::Failed
    } else {
        ChecklistResult::Passed
    };
    Ok(Evaluation { items: results, result })
}

/// The description of the Andon ticket a failed checklist raises: the template, the
/// shift, who filled it and every item that made it fail, cut to 1000 characters.
pub fn failure_description(template: &str, shift: &str, by: &str, items: &[ItemResult]) -> String {
    let failed: Vec<String> = items
        .iter()
        .filter(|i| i.fails_checklist())
        .map(ItemResult::describe)
        .collect();
    let text = format!(
        "Checklist `{template}` failed in shift `{shift}` (filled by {by}): {}",
        failed.join(", ")
    );
    if text.chars().count() <= MAX_TICKET_TEXT {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_TICKET_TEXT - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use Outcome::{Fail, Missing, Pass, Skipped};

    fn item(key: &str, kind: ItemKind, required: bool) -> ChecklistItem {
        ChecklistItem {
            key: key.into(),
            label: key.into(),
            kind,
            min: None,
            max: None,
            unit: None,
            required,
        }
    }

    /// guard (yes/no, required), pressure (4..=6 bar, required), temp (≥ 10, optional),
    /// speed (≤ 100, optional), note (text, optional), ppe (yes/no, required).
    fn items() -> Vec<ChecklistItem> {
        vec![
            item("guard", ItemKind::YesNo, true),
            ChecklistItem {
                min: Some(4.0),
                max: Some(6.0),
                unit: Some("bar".into()),
                ..item("pressure", ItemKind::Number, true)
            },
            ChecklistItem {
                min: Some(10.0),
                ..item("temp", ItemKind::Number, false)
            },
            ChecklistItem {
                max: Some(100.0),
                ..item("speed", ItemKind::Number, false)
            },
            item("note", ItemKind::Text, false),
            item("ppe", ItemKind::YesNo, true),
        ]
    }

    fn answers(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn items_pass_fail_go_missing_or_are_skipped() {
        // (answers, outcomes in item order, result)
        let cases = [
            (
                json!({"guard": true, "pressure": 4, "temp": 10, "speed": 100, "note": "ok", "ppe": true}),
                [Pass, Pass, Pass, Pass, Pass, Pass],
                ChecklistResult::Passed, // limits are inclusive: 4, 10 and 100 pass
            ),
            (
                json!({"guard": true, "pressure": 6.0, "ppe": true}),
                [Pass, Pass, Skipped, Skipped, Skipped, Pass],
                ChecklistResult::Passed, // optional items may be left out
            ),
            (
                json!({"guard": false, "pressure": 6.01, "ppe": true}),
                [Fail, Fail, Skipped, Skipped, Skipped, Pass],
                ChecklistResult::Failed, // a "no" and 6.01 > 6 fail
            ),
            (
                json!({"guard": true, "pressure": 3.99, "ppe": null}),
                [Pass, Fail, Skipped, Skipped, Skipped, Missing],
                ChecklistResult::Failed, // null counts as not answered
            ),
            (
                json!({"guard": true, "pressure": 5, "temp": 9.5, "speed": 101, "note": "  ", "ppe": true}),
                [Pass, Pass, Fail, Fail, Skipped, Pass],
                ChecklistResult::Passed, // optional items may fail without failing the checklist
            ),
            (
                json!({}),
                [Missing, Missing, Skipped, Skipped, Skipped, Missing],
                ChecklistResult::Failed,
            ),
        ];
        for (given, outcomes, result) in cases {
            let e = evaluate(&items(), &answers(given.clone())).unwrap();
            let got: Vec<Outcome> = e.items.iter().map(|i| i.outcome).collect();
            assert_eq!(got, outcomes, "{given}");
            assert_eq!(e.result, result, "{given}");
        }
    }

    #[test]
    fn failed_keys_are_the_required_failures_in_order() {
        let e = evaluate(&items(), &answers(json!({"guard": false, "temp": 1, "pressure": 7}))).unwrap();
        // guard "no", pressure 7 > 6, ppe missing; temp fails but is optional
        assert_eq!(e.failed_keys(), ["guard", "pressure", "ppe"]);
        assert_eq!(
            failure_description("Start-up", "early", "anna", &e.items),
            "Checklist `Start-up` failed in shift `early` (filled by anna): guard (no), \
             pressure (7 bar, allowed 4-6), ppe (missing)"
        );
    }

    #[test]
    fn wrong_answers_name_the_key() {
        let cases = [
            (json!({"guard": "yes"}), "answers.guard"),
            (json!({"guard": 1}), "answers.guard"),
            (json!({"pressure": "5"}), "answers.pressure"),
            (json!({"note": 5}), "answers.note"),
            (json!({"note": "x".repeat(1001)}), "answers.note"),
            (json!({"colour": "red"}), "answers.colour"),
        ];
        for (given, field) in cases {
            let err = evaluate(&items(), &answers(given.clone())).expect_err("must fail");
            assert_eq!(err.field, field, "{given}: {err}");
        }
    }

    #[test]
    fn a_long_failure_text_is_cut_to_the_ticket_limit() {
        let many: Vec<ChecklistItem> = (0..200)
            .map(|i| item(&format!("item-{i:03}"), ItemKind::YesNo, true))
            .collect();
        let e = evaluate(&many, &BTreeMap::new()).unwrap();
        let text = failure_description("T", "early", "anna", &e.items);
        assert_eq!(text.chars().count(), MAX_TICKET_TEXT);
        assert!(text.ends_with('…'));
    }
}

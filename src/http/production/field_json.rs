//! JSON bodies read with errors that name the field where reading stopped
//! (`items[2].kind`), and domain [`FieldError`]s turned into the same 400.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::domain::production::checklist::FieldError;
use crate::http::error::ApiError;
use crate::http::query::quoted_after;

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::BadRequest {
            message: e.to_string(),
            details: Some(json!({ "field": e.field })),
        }
    }
}

/// Reads a JSON object (a body already parsed as JSON) into `T`; anything else, or an
/// object that does not fit, is a 400 naming the field: missing, unknown, or of the
/// wrong type.
pub fn parse<T: DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    // serde would also read a struct from an array of its fields in order: refuse that.
    if !body.is_object() {
        return Err(ApiError::BadRequest {
            message: "`body` must be a JSON object".into(),
            details: Some(json!({ "field": "body" })),
        });
    }
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let cause = e.inner().to_string();
        let under = |name: &str| {
            if path == "." {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        };
        let (field, message) = if let Some(name) = quoted_after(&cause, "missing field ") {
            let field = under(name);
            (field.clone(), format!("`{field}` is required"))
        } else if let Some(name) = quoted_after(&cause, "unknown field ") {
            // The path ends at the unknown field itself.
            let field = if path == "." { name.to_owned() } else { path.clone() };
            (field.clone(), format!("`{field}` is not a field here: {cause}"))
        } else {
            let field = if path == "." { "body".to_owned() } else { path.clone() };
            (field.clone(), format!("`{field}` is wrong: {cause}"))
        };
        ApiError::BadRequest {
            message,
            details: Some(json!({ "field": field })),
        }
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        key: String,
        count: i64,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        items: Vec<Item>,
    }

    fn field_of(v: Value) -> (String, String) {
        match parse::<Body>(v) {
            Err(ApiError::BadRequest { message, details }) => (
                details.unwrap_or_default()["field"].as_str().unwrap_or("").to_owned(),
                message,
            ),
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        // (body, field named)
        let cases = [
            (json!({"items": []}), "name"),
            (json!({"name": "n", "items": [], "colour": 1}), "colour"),
            (json!({"name": "n", "items": [{"key": "k"}]}), "items[0].count"),
            (
                json!({"name": "n", "items": [{"key": "k", "count": 1}, {"key": "k", "count": "2"}]}),
                "items[1].count",
            ),
            (json!({"name": 5, "items": []}), "name"),
            (json!([1]), "body"),
            (json!(["n", []]), "body"),
        ];
        for (body, field) in cases {
            let (got, message) = field_of(body.clone());
            assert_eq!(got, field, "{body}: {message}");
            assert!(message.contains(&format!("`{field}`")), "{message}");
        }
        assert!(parse::<Body>(json!({"name": "n", "items": [{"key": "k", "count": 1}]})).is_ok());
    }
}

//! A JSON body that may be left out: `POST …/acknowledge` with no body is an
//! acknowledgement without a comment; and JSON read into a typed body with errors that
//! name the field.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;

/// A JSON body, or `T::default()` when the body is empty.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T> OptionalJson<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(1 << 20, |s| s.settings.http.max_body_bytes);
        let is_json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
                let chunk = chunk.map_err(|e| ApiError::bad_request(format!("cannot read body: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit }.into());
                }
                body.extend_from_slice(&chunk);
            }
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJson(T::default()));
            }
            if !is_json {
                return Err(ApiError::bad_request("send JSON with Content-Type: application/json, or no body").into());
            }
            serde_json::from_slice(&body).map(OptionalJson).map_err(|e| {
                ApiError::BadRequest {
                    message: format!("invalid JSON body: {e}"),
                    details: Some(serde_json::json!({ "line": e.line(), "column": e.column() })),
                }
                .into()
            })
        })
    }
}

/// Reads a JSON object into `T`; a value that does not fit is a 400 naming the field
/// (`quantity`, `lines[2]`), as query errors name the parameter.
pub fn typed<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::BadRequest {
            message: "the body must be a JSON object".into(),
            details: Some(serde_json::json!({ "field": "" })),
        });
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let cause = e.inner().to_string();
        let named = ["unknown field ", "missing field "]
            .iter()
            .find_map(|p| super::query::quoted_after(&cause, p).map(str::to_owned));
        let field = named.unwrap_or_else(|| e.path().to_string().trim_start_matches('.').to_owned());
        let message = if field.is_empty() {
            format!("invalid body: {cause}")
        } else {
            format!("`{field}`: {cause}")
        };
        ApiError::BadRequest {
            message,
            details: Some(serde_json::json!({ "field": field })),
        }
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct B {
        quantity: i64,
        #[serde(default)]
        note: Option<String>,
    }

    #[test]
    fn body_errors_name_the_field() {
        // (body, field, start of the message)
        let table = [
            (json!({"quantity": "3"}), "quantity", "`quantity`: invalid type: string"),
            (json!({}), "quantity", "`quantity`: missing field"),
            (json!({"quantity": 1, "nope": 2}), "nope", "`nope`: unknown field"),
            (json!({"quantity": 1, "note": 5}), "note", "`note`: invalid type"),
            (json!([1]), "", "the body must be a JSON object"),
        ];
        for (body, field, start) in table {
            match typed::<B>(body.clone()) {
                Err(ApiError::BadRequest { message, details }) => {
                    assert!(message.starts_with(start), "{body}: {message}");
                    assert_eq!(details, Some(json!({ "field": field })), "{body}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        assert_eq!(typed::<B>(json!({"quantity": 2})).map(|b| b.quantity).ok(), Some(2));
    }
}

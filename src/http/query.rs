//! Query strings read into typed structs, with errors that name the parameter, the value
//! it had and an example of a good one (`?limit=abc` → "`limit` must be a whole number
//! such as 100, got `abc`").

use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::error::ApiError;

/// A query string read into `T`; a bad one is a 400 naming the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T> ApiQuery<T> {
    /// The parsed query.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for ApiQuery<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(ApiQuery))
    }
}

/// Reads a raw query string (without `?`) into `T`.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        explain(query, &path, &e.inner().to_string())
    })
}

/// A 400 for one bad parameter; `path` is where the reader stopped (`.` at the top).
fn explain(query: &str, path: &str, cause: &str) -> ApiError {
    if let Some(name) = quoted_after(cause, "unknown field ") {
        let expected = cause.split_once(", expected ").map_or(String::new(), |(_, rest)| {
            format!("; this route takes {}", rest.trim_start_matches("one of "))
        });
        return ApiError::BadRequest {
            message: format!("unknown query parameter `{name}`{expected}"),
            details: Some(json!({ "parameter": name })),
        };
    }
    if let Some(name) = quoted_after(cause, "missing field ") {
        let example = example(name);
        return ApiError::BadRequest {
            message: format!("`{name}` is required, e.g. `{name}={example}`"),
            details: Some(json!({ "parameter": name, "example": example })),
        };
    }
    let name = path.trim_start_matches('.');
    let value = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .last()
        .unwrap_or_default();
    let example = example(name);
    let mut message = format!(
        "`{name}` must be {}, got `{value}` ({cause}); e.g. `{name}={example}`",
        kind(name)
    );
    if is_time(name) && value.contains(' ') {
        message.push_str(TIME_PLUS_HINT);
    }
    ApiError::BadRequest {
        message,
        details: Some(json!({ "parameter": name, "value": value, "example": example })),
    }
}

/// Appended when a time arrived with a space: a `+` in a URL is read as a space.
pub const TIME_PLUS_HINT: &str = "; a `+` in a URL stands for a space, so write a `+01:00` offset as `%2B01:00`";

/// Parameters that hold a time.
fn is_time(name: &str) -> bool {
    matches!(name, "from" | "to")
}

/// What a parameter holds, in words.
fn kind(name: &str) -> &'static str {
    match name {
        n if is_time(n) => "an RFC 3339 time with a date, a time and an offset",
        "limit" | "before_id" => "a whole number",
        "micro_stop" | "include_micro" | "include_void" => "true or false",
        _ => "text",
    }
}

/// An example value of a parameter, as it would be written in a URL.
fn example(name: &str) -> &'static str {
    match name {
        n if is_time(n) => "2026-11-28T06:00:00Z",
        "limit" => "100",
        "before_id" => "1234",
        "micro_stop" | "include_micro" | "include_void" => "true",
        "line" => "line-1",
        "machine" => "l1-filler",
        "window" => "shift",
        "state" => "open",
        "priority" => "high",
        _ => "…",
    }
}

/// The text between the backticks that follow `prefix` in `s` (serde names fields so:
/// `unknown field `x``).
pub(crate) fn quoted_after<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
        limit: Option<i64>,
        include_micro: Option<bool>,
    }

    fn message(query: &str) -> (String, serde_json::Value) {
        match parse::<Q>(query) {
            Err(ApiError::BadRequest { message, details }) => (message, details.unwrap_or_default()),
            other => panic!("{query}: expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn a_good_query_parses() {
        let q: Q = parse("from=2026-11-28T06:00:00%2B01:00&limit=5").unwrap();
        assert_eq!(q.from.to_rfc3339(), "2026-11-28T05:00:00+00:00");
        assert_eq!(q.limit, Some(5));
    }

    #[test]
    fn errors_name_the_parameter_the_value_and_an_example() {
        let cases = [
            // (query, parameter, value in the message, example)
            ("from=2026-11-28", "from", "`2026-11-28`", "from=2026-11-28T06:00:00Z"),
            ("from=2026-11-28T06:00:00Z&limit=abc", "limit", "`abc`", "limit=100"),
            (
                "from=2026-11-28T06:00:00Z&include_micro=yes",
                "include_micro",
                "`yes`",
                "include_micro=true",
            ),
            (
                "from=2026-11-28T06:00:00Z&to=tomorrow",
                "to",
                "`tomorrow`",
                "to=2026-11-28T06:00:00Z",
            ),
        ];
        for (query, parameter, value, example) in cases {
            let (msg, details) = message(query);
            assert!(msg.starts_with(&format!("`{parameter}` must be ")), "{query}: {msg}");
            assert!(msg.contains(&format!("got {value}")), "{query}: {msg}");
            assert!(msg.contains(example), "{query}: {msg}");
            assert_eq!(details["parameter"], parameter, "{query}");
        }
    }

    #[test]
    fn a_plus_offset_read_as_a_space_is_explained() {
        let (msg, details) = message("from=2026-11-28T06:00:00+01:00");
        assert!(msg.contains("%2B01:00"), "{msg}");
        assert_eq!(details["value"], "2026-11-28T06:00:00 01:00");
    }

    #[test]
    fn missing_and_unknown_parameters_are_named() {
        let (msg, details) = message("limit=1");
        assert_eq!(msg, "`from` is required, e.g. `from=2026-11-28T06:00:00Z`");
        assert_eq!(details["parameter"], "from");
        let (msg, details) = message("from=2026-11-28T06:00:00Z&limt=1");
        assert!(
            msg.starts_with("unknown query parameter `limt`; this route takes `from`"),
            "{msg}"
        );
        assert_eq!(details["parameter"], "limt");
    }
}

//! A response from a [`Body`] of the live cache: `304 Not Modified` when the caller's
//! `If-None-Match` names its `ETag`, gzip when the caller accepts it.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::actors::live_cache::Body;

/// Whether an `If-None-Match` value matches `etag` (weak comparison, RFC 9110 §13.1.2).
pub fn none_match(if_none_match: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    if_none_match.trim() == "*" || if_none_match.split(',').any(|t| opaque(t) == opaque(etag))
}

/// Whether `Accept-Encoding` admits gzip (a `q=0` refuses it).
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let refused = parts.any(|p| {
            p.replace(' ', "")
                .strip_prefix("q=")
                .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q == 0.0))
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// The response for `body`.
pub fn respond(req: &HttpRequest, body: &Body) -> HttpResponse {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let mut response = if header(header::IF_NONE_MATCH).is_some_and(|v| none_match(v, body.etag())) {
        HttpResponse::NotModified().finish()
    } else if header(header::ACCEPT_ENCODING).is_some_and(accepts_gzip) {
        HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(body.gzip().clone())
    } else {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(body.json().clone())
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(body.etag()) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_lists_work() {
        let table = [
            ("W/\"ab\"", "W/\"ab\"", true),
            ("\"ab\"", "W/\"ab\"", true),
            ("\"x\", W/\"ab\"", "W/\"ab\"", true),
            ("*", "W/\"ab\"", true),
            ("W/\"ac\"", "W/\"ab\"", false),
            ("", "W/\"ab\"", false),
        ];
        for (given, etag, want) in table {
            assert_eq!(none_match(given, etag), want, "{given} vs {etag}");
        }
    }

    #[test]
    fn gzip_is_sent_only_when_accepted() {
        let table = [
            ("gzip", true),
            ("gzip, deflate, br", true),
            ("br;q=1.0, gzip;q=0.5", true),
            ("GZIP", true),
            ("*", true),
            ("gzip;q=0", false),
            ("gzip; q=0.0", false),
            ("identity", false),
            ("deflate, br", false),
        ];
        for (given, want) in table {
            assert_eq!(accepts_gzip(given), want, "{given}");
        }
    }
}

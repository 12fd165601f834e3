//! The one error shape of the API: `{"error": {"code", "message", "details"}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::store::StoreError;

/// An API error. The cause chain goes to the log, never into the response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; the message says what to fix.
    #[error("{message}")]
    BadRequest {
        /// What is wrong.
        message: String,
        /// Where (field, index), if known.
        details: Option<serde_json::Value>,
    },
    /// No such thing.
    #[error("{what} `{id}` not found")]
    NotFound {
        /// line, machine, route …
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The request conflicts with the current state (e.g. acknowledging twice).
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the limit.
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The store cannot be reached or failed.
    #[error("the store is unavailable")]
    Store(#[from] StoreError),
    /// A part of the service does not answer.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    /// A 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            details: None,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Store(_) => "store_unavailable",
            ApiError::Unavailable(_) => "unavailable",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Store(_) | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Store(e) = self {
            tracing::error!(error = %e, "store error");
        }
        let details = match self {
            ApiError::BadRequest { details, .. } => details.clone(),
            ApiError::NotFound { what, id } => Some(json!({ "kind": what, "id": id })),
            _ => None,
        };
        HttpResponse::build(self.status_code()).json(json!({
            "error": { "code": self.code(), "message": self.to_string(), "details": details }
        }))
    }
}

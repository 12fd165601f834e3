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
    /// An `Idempotency-Key` sent again with another request.
    #[error("{0}")]
    KeyReused(String),
    /// No valid credential.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid credential without the right.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts; retry after this many seconds.
    #[error("{message}")]
    TooManyRequests {
        /// What happened.
        message: String,
        /// Seconds to wait.
        retry_after: i64,
    },
    /// A feature flag is off.
    #[error("{0}")]
    FeatureDisabled(String),
    /// Maintenance mode: writes are blocked for non-admins.
    #[error("{0}")]
    Maintenance(String),
    /// The body is larger than the limit.
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The store cannot be reached or failed.
    #[error("the store is unavailable")]
    Store(StoreError),
    /// A part of the service does not answer.
    #[error("{0}")]
    Unavailable(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => ApiError::Conflict(message),
            other => ApiError::Store(other),
        }
    }
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
            ApiError::KeyReused(_) => "idempotency_key_reused",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::FeatureDisabled(_) => "feature_disabled",
            ApiError::Maintenance(_) => "maintenance_mode",
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
            ApiError::KeyReused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::FeatureDisabled(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Maintenance(_) => StatusCode::SERVICE_UNAVAILABLE,
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
            ApiError::TooManyRequests { retry_after, .. } => Some(json!({ "retry_after_s": retry_after })),
            _ => None,
        };
        let mut res = HttpResponse::build(self.status_code());
        match self {
            ApiError::TooManyRequests { retry_after, .. } => {
                res.insert_header(("Retry-After", retry_after.to_string()));
            }
            ApiError::Maintenance(_) => {
                res.insert_header(("Retry-After", "300"));
            }
            ApiError::Unauthorized(_) => {
                res.insert_header(("WWW-Authenticate", "Bearer"));
            }
            _ => {}
        }
        res.json(json!({
            "error": { "code": self.code(), "message": self.to_string(), "details": details }
        }))
    }
}

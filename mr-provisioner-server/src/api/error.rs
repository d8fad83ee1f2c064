//! The one mapping of domain errors to HTTP, in the original's envelope
//! `{"error_type": "...", "errors": ["..."]}` (always a list of strings, never a bare string
//! or nulls as the original sometimes sent).

use std::fmt;

use mr_provisioner_core::Error;
use poem::error::ResponseError;
use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};

/// An error answered to an API client.
#[derive(Debug)]
pub(crate) struct ApiError(pub(crate) Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// The status and `error_type` of the original's envelope for this error.
    fn classify(&self) -> (StatusCode, &'static str) {
        match &self.0 {
            Error::NotFound { .. } => (StatusCode::NOT_FOUND, "InvalidUsage"),
            Error::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, "InvalidUsage"),
            Error::Forbidden { .. } => (StatusCode::FORBIDDEN, "InvalidUsage"),
            Error::Conflict { .. } => (StatusCode::CONFLICT, "InvalidUsage"),
            Error::AlreadyExists { .. } => (StatusCode::CONFLICT, "IntegrityError"),
            Error::Unauthenticated => (StatusCode::UNAUTHORIZED, "Unauthenticated"),
            Error::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable"),
            Error::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        }
    }

    /// The message for the client: the error's own text, except for internal errors and
    /// unavailability, whose details (database text, paths) stay in the log.
    fn client_message(&self) -> String {
        match &self.0 {
            Error::Internal { .. } => "internal error".into(),
            Error::Unavailable { .. } => "service temporarily unavailable".into(),
            e => e.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.classify().0
    }

    fn as_response(&self) -> Response {
        let (status, error_type) = self.classify();
        if status.is_server_error() {
            let source = std::error::Error::source(&self.0).map(|s| s.to_string());
            tracing::error!(error = %self.0, source = source.as_deref().unwrap_or(""), "request failed");
        }
        let body = serde_json::json!({
            "error_type": error_type,
            "errors": [self.client_message()],
        });
        let mut resp = poem::web::Json(body).with_status(status).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

/// The result type of API handlers.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

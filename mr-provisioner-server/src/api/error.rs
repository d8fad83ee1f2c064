//! The one mapping of errors to HTTP, in the original's envelope
//! `{"error_type": "...", "errors": ["..."]}` (always a list of strings, never a bare string
//! or nulls as the original sometimes sent).

use std::fmt;

use mr_provisioner_core::Error;
use poem::error::ResponseError;
use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};

/// What kind of request-body problem a schema check found (the original's error types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemaKind {
    /// A value is out of range or not one of the allowed values.
    Value,
    /// The body or a field has the wrong JSON type.
    UnexpectedType,
    /// A required key is missing.
    MissingKey,
    /// A key that is not allowed (strict schemas only).
    WrongKey,
}

impl SchemaKind {
    fn error_type(self) -> &'static str {
        match self {
            SchemaKind::Value => "SchemaError",
            SchemaKind::UnexpectedType => "SchemaUnexpectedTypeError",
            SchemaKind::MissingKey => "SchemaMissingKeyError",
            SchemaKind::WrongKey => "SchemaWrongKeyError",
        }
    }
}

/// An error answered to an API client.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// A domain error.
    Domain(Error),
    /// The body does not fit the endpoint's schema.
    Schema(SchemaKind, String),
    /// The body is not JSON (or the image metadata field `q` is not).
    BadJson(String),
    /// The body is larger than allowed.
    TooLarge(u64),
    /// The path names nothing (the original's authenticated catch-all).
    NoRoute,
    /// A specific status, error type and message the original used.
    Custom(StatusCode, &'static str, String),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Domain(e)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Domain(e) => fmt::Display::fmt(e, f),
            ApiError::Schema(_, m) | ApiError::BadJson(m) => f.write_str(m),
            ApiError::TooLarge(limit) => write!(f, "request body larger than {limit} bytes"),
            ApiError::NoRoute => f.write_str("404: Not Found"),
            ApiError::Custom(_, _, m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// A `SchemaError` (a value is not allowed).
    pub(crate) fn value(message: impl Into<String>) -> Self {
        ApiError::Schema(SchemaKind::Value, message.into())
    }

    /// The status and `error_type` of this error.
    fn classify(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Domain(e) => match e {
                Error::NotFound { .. } => (StatusCode::NOT_FOUND, "InvalidUsage"),
                Error::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, "InvalidUsage"),
                Error::Forbidden { .. } => (StatusCode::FORBIDDEN, "InvalidUsage"),
                Error::Conflict { .. } => (StatusCode::CONFLICT, "InvalidUsage"),
                Error::AlreadyExists { .. } => (StatusCode::CONFLICT, "IntegrityError"),
                Error::Unauthenticated => (StatusCode::UNAUTHORIZED, "Unauthenticated"),
                Error::Bmc { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "BMCError"),
                Error::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable"),
                Error::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
            },
            ApiError::Schema(kind, _) => (StatusCode::BAD_REQUEST, kind.error_type()),
            ApiError::BadJson(_) => (StatusCode::BAD_REQUEST, "JSONDecodeError"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"),
            ApiError::NoRoute => (StatusCode::NOT_FOUND, "NotFound"),
            ApiError::Custom(status, error_type, _) => (*status, error_type),
        }
    }

    /// The message for the client: the error's own text, except for internal errors and
    /// unavailability, whose details (database text, paths) stay in the log.
    fn client_message(&self) -> String {
        match self {
            ApiError::Domain(Error::Internal { .. }) => "internal error".into(),
            // The BMC's own words help the engineer (wrong password, unreachable, ...).
            ApiError::Domain(e @ Error::Bmc { .. }) => e.to_string(),
            ApiError::Domain(Error::Unavailable { .. }) => "service temporarily unavailable".into(),
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
            let source = match self {
                ApiError::Domain(e) => std::error::Error::source(e).map(|s| s.to_string()),
                _ => None,
            };
            tracing::error!(error = %self, source = source.as_deref().unwrap_or(""), "request failed");
        }
        error_response(status, error_type, &self.client_message())
    }
}

/// An error body in the envelope.
pub(crate) fn error_response(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "error_type": error_type,
        "errors": [message],
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

/// The result type of API handlers.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

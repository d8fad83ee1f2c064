//! The one transport-agnostic error type of the domain, mapped to HTTP once in the server.

use std::fmt;

/// Result alias used throughout the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed error cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in the domain, independent of how it is reached (HTTP, CLI).
///
/// The `Display` text of the client-facing variants is written for the client: the server
/// returns it as the error message (for example `machine not found`, as the original did).
/// Database and driver text never reaches a client: it stays in `source` and the logs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing asked for does not exist.
    #[error("{kind} not found")]
    NotFound {
        /// What kind of thing (`machine`, `image`, ...).
        kind: &'static str,
        /// How it was looked up (an id or a name), for logs.
        key: String,
    },
    /// A create or update would duplicate a unique value.
    #[error("{kind} with this {field} already exists")]
    AlreadyExists {
        /// What kind of thing.
        kind: &'static str,
        /// The unique field (or fields) that clashed.
        field: &'static str,
    },
    /// The request is well-formed but clashes with the current state (in use, not free, ...).
    #[error("{message}")]
    Conflict {
        /// What clashed, for the client.
        message: String,
    },
    /// The request itself is wrong: a bad value, a missing field.
    #[error("{message}")]
    InvalidRequest {
        /// The offending field, when there is one.
        field: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// The caller is known but may not do this.
    #[error("{message}")]
    Forbidden {
        /// Why not, for the client.
        message: String,
    },
    /// The caller is not known (no or a bad credential).
    #[error("authentication required")]
    Unauthenticated,
    /// A BMC refused or failed an operation; the message is the BMC's (never a password).
    #[error("BMC error: {message}")]
    Bmc {
        /// What the BMC said.
        message: String,
    },
    /// A dependency (database, BMC) is unreachable or overloaded; retrying later may work.
    #[error("{message}")]
    Unavailable {
        /// What is unavailable.
        message: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A bug or corrupt data. The client gets a generic message; the cause is logged.
    #[error("internal error: {message}")]
    Internal {
        /// What failed, for logs.
        message: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// A `NotFound` for `kind` looked up by `key`.
    pub fn not_found(kind: &'static str, key: impl fmt::Display) -> Self {
        Error::NotFound {
            kind,
            key: key.to_string(),
        }
    }

    /// An `InvalidRequest` about one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidRequest {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// An `InvalidRequest` not tied to one field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::InvalidRequest {
            field: None,
            message: message.into(),
        }
    }

    /// A `Conflict` with a message for the client.
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict {
            message: message.into(),
        }
    }

    /// A `Forbidden` with a message for the client.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden {
            message: message.into(),
        }
    }

    /// An `Internal` error with a cause.
    pub fn internal(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Internal {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An `Internal` error without a cause (an invariant that did not hold).
    pub fn bug(message: impl Into<String>) -> Self {
        Error::Internal {
            message: message.into(),
            source: None,
        }
    }

    /// A short stable name of the variant, for logs and API error types.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "NotFound",
            Error::AlreadyExists { .. } => "AlreadyExists",
            Error::Conflict { .. } => "Conflict",
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::Forbidden { .. } => "Forbidden",
            Error::Unauthenticated => "Unauthenticated",
            Error::Bmc { .. } => "Bmc",
            Error::Unavailable { .. } => "Unavailable",
            Error::Internal { .. } => "Internal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages() {
        assert_eq!(
            Error::not_found("machine", 5).to_string(),
            "machine not found"
        );
        assert_eq!(
            Error::AlreadyExists {
                kind: "machine",
                field: "name"
            }
            .to_string(),
            "machine with this name already exists"
        );
        assert_eq!(
            Error::invalid("mac", "invalid MAC address").to_string(),
            "invalid MAC address"
        );
        let internal = Error::internal("query failed", "connection reset");
        assert_eq!(internal.to_string(), "internal error: query failed");
        assert_eq!(internal.kind_name(), "Internal");
    }
}

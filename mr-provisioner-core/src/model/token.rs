//! API tokens: bearer credentials for the REST API, stored hashed and shown once.

use crate::error::Result;
use crate::id::{TokenId, UserId};
use crate::model::Timestamp;
use crate::validate;

/// An API token as stored: never the secret itself, only its hash and a short hint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiToken {
    /// Identity.
    pub id: TokenId,
    /// Whose token it is.
    pub user_id: UserId,
    /// Free text (at most 140 characters), e.g. what the token is for.
    pub description: String,
    /// The first characters of the token, so a user can tell tokens apart.
    pub hint: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last authenticated a request (updated at most once a minute).
    pub last_used_at: Option<Timestamp>,
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Owner.
    pub user_id: UserId,
    /// SHA-256 of the secret, from [`crate::auth::hash_api_token`].
    pub hash: String,
    /// From [`crate::auth::token_hint`].
    pub hint: String,
    /// Free text.
    pub description: String,
}

impl NewToken {
    /// Checks the description.
    pub fn validate(&self) -> Result<()> {
        validate::one_line("description", &self.description, 140)
    }
}

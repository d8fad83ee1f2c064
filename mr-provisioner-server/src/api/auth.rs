//! API authentication: the token in `Authorization`, as `Bearer <token>` or the bare token
//! (the Linaro clients send the bare token).

use mr_provisioner_core::Error;
use mr_provisioner_core::accounts;
use mr_provisioner_core::service::Caller;
use poem::http::header;
use poem::{FromRequest, Request, RequestBody};

use super::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of an API request (an extractor: it answers 401 itself).
#[derive(Debug, Clone)]
pub(crate) struct Auth(pub(crate) Caller);

/// The token in an `Authorization` value: after `Bearer ` if the value starts with it,
/// else the whole value. (The original removed `Bearer ` wherever it appeared, so
/// `TALBearer ICE` authenticated `TALICE`; we accept only the two forms clients use.)
pub(crate) fn token_from_header(value: &str) -> &str {
    value.strip_prefix("Bearer ").unwrap_or(value)
}

impl<'a> FromRequest<'a> for Auth {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = req
            .data::<AppState>()
            .ok_or_else(|| ApiError::Domain(Error::bug("application state missing")))?;
        let Some(value) = req.headers().get(header::AUTHORIZATION) else {
            return Err(ApiError::Domain(Error::Unauthenticated).into());
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::Domain(Error::Unauthenticated))?;
        let token = token_from_header(value);
        let hash = mr_provisioner_core::auth::hash_api_token(token);
        if let Some(user) = state.auth_cache.get(&hash) {
            return Ok(Auth(Caller { user }));
        }
        match accounts::authenticate_token(state.store(), token).await {
            Ok(Some((found, user))) => {
                state.auth_cache.put(hash, found.id, user.clone());
                Ok(Auth(Caller { user }))
            }
            Ok(None) => Err(ApiError::Domain(Error::Unauthenticated).into()),
            Err(e) => Err(ApiError::Domain(e).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        let tok = "mwycNwwzGG7DBWOhXmmqOleaQ9/h19USDht0YTp6xGc=";
        assert_eq!(token_from_header(&format!("Bearer {tok}")), tok);
        assert_eq!(token_from_header(tok), tok);
        // Not stripped: these are then simply unknown tokens.
        assert_eq!(token_from_header("bearer x"), "bearer x");
        assert_eq!(token_from_header("TALBearer ICE"), "TALBearer ICE");
    }
}

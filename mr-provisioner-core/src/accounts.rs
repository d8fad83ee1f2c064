//! Accounts: creating users, checking passwords, issuing and checking API tokens, and the
//! first administrator of a new installation.

use crate::auth::{self, AuthError, PasswordCheck};
use crate::error::{Error, Result};
use crate::id::UserId;
use crate::model::token::{ApiToken, NewToken};
use crate::model::user::{NewUser, User};
use crate::model::{Timestamp, now};
use crate::store::Store;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted (argon2 would take more, but nobody types more).
pub const MAX_PASSWORD_LEN: usize = 1024;
/// The name of the administrator created on first start.
pub const INITIAL_ADMIN: &str = "admin";
/// How stale `last_used_at` may get before a request updates it (saves a write per request).
const TOUCH_INTERVAL_SECS: i64 = 60;

fn crypto(err: AuthError) -> Error {
    Error::internal("password or token cryptography failed", err)
}

/// Checks a new password against the policy.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&n) {
        return Err(Error::invalid(
            "password",
            format!("a password must have {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// A user to create, with an optional password in clear (hashed here).
#[derive(Debug, Clone, Default)]
pub struct UserRequest {
    /// Login name.
    pub username: String,
    /// Contact address.
    pub email: Option<String>,
    /// Administrator flag.
    pub admin: bool,
    /// SSH public key(s).
    pub ssh_key: String,
    /// Password, checked against the policy; none means no password login.
    pub password: Option<String>,
}

/// Creates a user.
pub async fn create_user(store: &dyn Store, req: UserRequest) -> Result<User> {
    let password_hash = match &req.password {
        Some(p) => {
            check_password(p)?;
            Some(auth::hash_password(p).map_err(crypto)?)
        }
        None => None,
    };
    store
        .user_create(&NewUser {
            username: req.username,
            email: req.email,
            admin: req.admin,
            ssh_key: req.ssh_key,
            password_hash,
        })
        .await
}

/// Sets a user's password.
pub async fn set_password(store: &dyn Store, user_id: UserId, password: &str) -> Result<()> {
    check_password(password)?;
    let hash = auth::hash_password(password).map_err(crypto)?;
    store.user_set_password(user_id, &hash).await
}

/// Checks a username and password; on success returns the user, upgrading a legacy or weak
/// stored hash to the current one. Every failure is the same `Unauthenticated`, and an
/// unknown user costs as much time as a wrong password.
pub async fn login(store: &dyn Store, username: &str, password: &str) -> Result<User> {
    let user = store.user_by_name(username).await?;
    let stored = match &user {
        Some(u) => store.user_password_hash(u.id).await?,
        None => None,
    };
    let Some((user, stored)) = user.zip(stored) else {
        // Spend the time a real check takes, so response times do not reveal usernames.
        let _ = auth::hash_password(password);
        return Err(Error::Unauthenticated);
    };
    match auth::verify_password(password, &stored) {
        Ok(PasswordCheck::Match) => Ok(user),
        Ok(PasswordCheck::MatchNeedsRehash) => {
            match auth::hash_password(password) {
                Ok(hash) => {
                    if let Err(error) = store.user_set_password(user.id, &hash).await {
                        // The login itself succeeded; the upgrade is retried next time.
                        tracing::warn!(user_id = %user.id, %error, "could not upgrade password hash");
                    }
                }
                Err(error) => {
                    tracing::warn!(user_id = %user.id, %error, "could not rehash password")
                }
            }
            Ok(user)
        }
        Ok(PasswordCheck::Mismatch) => Err(Error::Unauthenticated),
        Err(error) => {
            tracing::warn!(user_id = %user.id, %error, "stored password hash is unusable");
            Err(Error::Unauthenticated)
        }
    }
}

/// Issues an API token for a user; returns it with its secret, which is shown once and
/// never stored.
pub async fn create_token(
    store: &dyn Store,
    user_id: UserId,
    description: &str,
) -> Result<(ApiToken, String)> {
    let generated = auth::generate_api_token().map_err(crypto)?;
    let token = store
        .token_create(&NewToken {
            user_id,
            hash: generated.hash,
            hint: generated.hint,
            description: description.to_string(),
        })
        .await?;
    Ok((token, generated.token))
}

/// The token and user a secret belongs to, if any. Records the use (at most once a minute).
pub async fn authenticate_token(
    store: &dyn Store,
    secret: &str,
) -> Result<Option<(ApiToken, User)>> {
    if secret.is_empty() || secret.len() > 512 {
        return Ok(None);
    }
    let found = store
        .token_authenticate(&auth::hash_api_token(secret))
        .await?;
    if let Some((token, _)) = &found {
        let at = now();
        if needs_touch(token.last_used_at, at)
            && let Err(error) = store.token_touch(token.id, at).await
        {
            tracing::warn!(token_id = %token.id, %error, "could not record token use");
        }
    }
    Ok(found)
}

fn needs_touch(last: Option<Timestamp>, now: Timestamp) -> bool {
    last.is_none_or(|l| (now - l).num_seconds() >= TOUCH_INTERVAL_SECS)
}

/// The first administrator, when [`ensure_initial_admin`] created one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialAdmin {
    /// The user.
    pub user: User,
    /// The password, when it was generated (to show once); `None` when it was given.
    pub generated_password: Option<String>,
}

/// On a database with no users, creates the administrator `admin` with `password`, or with
/// a random password that is returned to be shown once. Does nothing if any user exists.
pub async fn ensure_initial_admin(
    store: &dyn Store,
    password: Option<&str>,
) -> Result<Option<InitialAdmin>> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) => (p.to_string(), false),
        None => (auth::generate_password().map_err(crypto)?, true),
    };
    let user = create_user(
        store,
        UserRequest {
            username: INITIAL_ADMIN.into(),
            admin: true,
            password: Some(password.clone()),
            ..Default::default()
        },
    )
    .await?;
    Ok(Some(InitialAdmin {
        user,
        generated_password: generated.then_some(password),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }

    #[test]
    fn touch_interval() {
        let t = now();
        assert!(needs_touch(None, t));
        assert!(!needs_touch(Some(t - chrono::TimeDelta::seconds(30)), t));
        assert!(needs_touch(Some(t - chrono::TimeDelta::seconds(61)), t));
    }
}

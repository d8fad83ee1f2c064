//! Users: people who log in, own images and installer configs, and are assigned machines.

use crate::error::Result;
use crate::id::UserId;
use crate::model::Timestamp;
use crate::validate;

/// Largest SSH public key text accepted (the original's UI limit, 512 KiB).
pub const MAX_SSH_KEY_BYTES: usize = 512 * 1024;

/// A user account. The password hash is not part of it: it never leaves the store except
/// for verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Identity.
    pub id: UserId,
    /// Unique login name.
    pub username: String,
    /// Contact address, optional.
    pub email: Option<String>,
    /// Administrators may do everything.
    pub admin: bool,
    /// SSH public key(s), offered to installer configs as `ssh_key`.
    pub ssh_key: String,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Unique login name, 2..=128 characters without whitespace.
    pub username: String,
    /// Contact address.
    pub email: Option<String>,
    /// Administrator flag.
    pub admin: bool,
    /// SSH public key(s).
    pub ssh_key: String,
    /// A password hash from [`crate::auth::hash_password`], or none (no password login).
    pub password_hash: Option<String>,
}

/// A change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// New login name.
    pub username: Option<String>,
    /// New contact address (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// New administrator flag.
    pub admin: Option<bool>,
    /// New SSH key text.
    pub ssh_key: Option<String>,
}

fn check_username(username: &str) -> Result<()> {
    validate::name("username", username, 2, 128)?;
    if username.chars().any(char::is_whitespace) {
        return Err(crate::Error::invalid(
            "username",
            "username must not contain whitespace",
        ));
    }
    if username == "self" {
        // `self` names the caller in API paths (`/assignee/self`).
        return Err(crate::Error::invalid(
            "username",
            "username `self` is reserved",
        ));
    }
    Ok(())
}

fn check_email(email: &str) -> Result<()> {
    validate::name("email", email, 3, 1024)?;
    let mut parts = email.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) if !local.is_empty() && !domain.is_empty() => Ok(()),
        _ => Err(crate::Error::invalid(
            "email",
            format!("email {email:?} is not an address of the form name@domain"),
        )),
    }
}

fn check_ssh_key(key: &str) -> Result<()> {
    if key.len() > MAX_SSH_KEY_BYTES {
        return Err(crate::Error::invalid(
            "ssh_key",
            format!("ssh_key must be at most {MAX_SSH_KEY_BYTES} bytes"),
        ));
    }
    Ok(())
}

impl NewUser {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        check_username(&self.username)?;
        if let Some(email) = &self.email {
            check_email(email)?;
        }
        check_ssh_key(&self.ssh_key)
    }
}

impl UserUpdate {
    /// Checks every field that is set.
    pub fn validate(&self) -> Result<()> {
        if let Some(u) = &self.username {
            check_username(u)?;
        }
        if let Some(Some(e)) = &self.email {
            check_email(e)?;
        }
        if let Some(k) = &self.ssh_key {
            check_ssh_key(k)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ok = NewUser {
            username: "apitest".into(),
            email: Some("api@example.com".into()),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        for (username, email) in [
            ("a", None),
            ("self", None),
            ("two words", None),
            ("bob", Some("bob")),
            ("bob", Some("a@b@c")),
            ("bob", Some("@b")),
        ] {
            let u = NewUser {
                username: username.into(),
                email: email.map(Into::into),
                ..Default::default()
            };
            assert!(u.validate().is_err(), "{username} {email:?}");
        }
        let big = UserUpdate {
            ssh_key: Some("x".repeat(MAX_SSH_KEY_BYTES + 1)),
            ..Default::default()
        };
        assert!(big.validate().is_err());
    }
}

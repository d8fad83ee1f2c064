//! A short-lived cache of authenticated tokens: every API request authenticates, and on
//! PostgreSQL that round trip was a third of the cost of a small request. Entries live two
//! seconds; revoking a token or changing a user through this server drops theirs at once
//! (a change made elsewhere, by the command line or another server, takes effect within the
//! two seconds).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mr_provisioner_core::id::{TokenId, UserId};
use mr_provisioner_core::model::user::User;

/// How long an authentication is reused.
const TTL: Duration = Duration::from_secs(2);
/// Entries kept at most (a flood of distinct tokens empties the cache rather than growing it).
const CAPACITY: usize = 10_000;

struct Entry {
    at: Instant,
    token: TokenId,
    user: User,
}

/// Token hash → recently authenticated user.
#[derive(Default)]
pub(crate) struct AuthCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl AuthCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The user of a token hash authenticated less than [`TTL`] ago.
    pub(crate) fn get(&self, hash: &str) -> Option<User> {
        let entries = self.lock();
        entries
            .get(hash)
            .filter(|e| e.at.elapsed() < TTL)
            .map(|e| e.user.clone())
    }

    /// Remembers an authentication.
    pub(crate) fn put(&self, hash: String, token: TokenId, user: User) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.at.elapsed() < TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            hash,
            Entry {
                at: Instant::now(),
                token,
                user,
            },
        );
    }

    /// Forgets a revoked token.
    pub(crate) fn forget_token(&self, token: TokenId) {
        self.lock().retain(|_, e| e.token != token);
    }

    /// Forgets every token of a changed or deleted user.
    pub(crate) fn forget_user(&self, user: UserId) {
        self.lock().retain(|_, e| e.user.id != user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64) -> User {
        User {
            id: UserId(id),
            username: format!("u{id}"),
            email: None,
            admin: false,
            ssh_key: String::new(),
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn entries_and_forgetting() {
        let c = AuthCache::default();
        c.put("h1".into(), TokenId(1), user(1));
        c.put("h2".into(), TokenId(2), user(1));
        c.put("h3".into(), TokenId(3), user(2));
        assert_eq!(c.get("h1").unwrap().id, UserId(1));
        c.forget_token(TokenId(1));
        assert!(c.get("h1").is_none());
        assert!(c.get("h2").is_some());
        c.forget_user(UserId(1));
        assert!(c.get("h2").is_none());
        assert!(c.get("h3").is_some());
        assert!(c.get("nope").is_none());
    }

    #[test]
    fn capacity_is_bounded() {
        let c = AuthCache::default();
        for i in 0..(CAPACITY + 10) {
            c.put(format!("h{i}"), TokenId(i as i64), user(1));
        }
        assert!(c.lock().len() <= CAPACITY);
    }
}

//! The domain model: one module per aggregate, each with its own ID newtype and validation.
//!
//! Constructors (`New*`) and updates (`*Update`) validate their input with
//! `validate()`; the store calls it before writing, and the database constraints back it up.

pub mod arch;
pub mod assignment;
pub mod audit;
pub mod bmc;
pub mod console_token;
pub mod discovered_mac;
pub mod event;
pub mod image;
pub mod interface;
pub mod lease;
pub mod machine;
pub mod network;
pub mod preseed;
pub mod token;
pub mod user;

/// A point in time, always UTC (the original mixed local time and UTC; we store UTC only).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// The current time, truncated to microseconds (see [`to_micros`]).
pub fn now() -> Timestamp {
    to_micros(chrono::Utc::now())
}

/// `t` truncated to microseconds, the precision PostgreSQL keeps, so that what is stored
/// compares equal to what is read back on both SQLite and PostgreSQL.
pub fn to_micros(t: Timestamp) -> Timestamp {
    use chrono::{DurationRound, TimeDelta};
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

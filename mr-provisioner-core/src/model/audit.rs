//! The audit log: who changed what in the inventory and accounts.

use crate::id::{AuditId, UserId};
use crate::model::Timestamp;

/// One audit record.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    /// Identity.
    pub id: AuditId,
    /// When.
    pub at: Timestamp,
    /// The user who acted, if any (none for the command line).
    pub actor_id: Option<UserId>,
    /// Who acted, as a name (a username, or `cli`).
    pub actor: String,
    /// What was done, e.g. `machine.create`.
    pub action: String,
    /// The kind of object, e.g. `machine`.
    pub target_kind: String,
    /// The object's id, if it has one.
    pub target_id: Option<i64>,
    /// Detail (JSON object), never secrets.
    pub detail: serde_json::Value,
}

/// An audit record to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// The acting user.
    pub actor_id: Option<UserId>,
    /// The acting name.
    pub actor: String,
    /// The action.
    pub action: String,
    /// The object kind.
    pub target_kind: String,
    /// The object id.
    pub target_id: Option<i64>,
    /// Detail.
    pub detail: serde_json::Value,
}

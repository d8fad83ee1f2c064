//! Console tokens: short-lived, single-use credentials that open a machine's serial console.

use crate::id::{ConsoleTokenId, MachineId, UserId};
use crate::model::Timestamp;

/// A console token as stored (only the hash of the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleToken {
    /// Identity.
    pub id: ConsoleTokenId,
    /// The machine whose console it opens.
    pub machine_id: MachineId,
    /// Who asked for it.
    pub user_id: UserId,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

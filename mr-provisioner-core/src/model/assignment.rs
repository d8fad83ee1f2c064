//! Assignments ("reservations"): a user holding a machine, with a reason and an optional end.

use crate::error::{Error, Result};
use crate::id::{AssignmentId, MachineId, UserId};
use crate::model::Timestamp;
use crate::validate;

/// One user's hold on one machine. Unique per (machine, user).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Assignment {
    /// Identity (the API's "assignee id").
    pub id: AssignmentId,
    /// The machine.
    pub machine_id: MachineId,
    /// The user.
    pub user_id: UserId,
    /// Why (at most 140 characters; empty when none was given).
    pub reason: String,
    /// When it started.
    pub start: Timestamp,
    /// When it ends by itself (new: the original had no end).
    pub end: Option<Timestamp>,
}

/// An assignment to create.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    /// The machine.
    pub machine_id: MachineId,
    /// The user.
    pub user_id: UserId,
    /// Why.
    pub reason: String,
    /// Optional end time, after the start.
    pub end: Option<Timestamp>,
}

/// Checks a reason.
pub fn check_reason(reason: &str) -> Result<()> {
    validate::one_line("reason", reason, 140)
}

impl NewAssignment {
    /// Checks every field against the start time `start`.
    pub fn validate(&self, start: Timestamp) -> Result<()> {
        check_reason(&self.reason)?;
        if let Some(end) = self.end
            && end <= start
        {
            return Err(Error::invalid(
                "end",
                "the end of an assignment must be in the future",
            ));
        }
        Ok(())
    }
}

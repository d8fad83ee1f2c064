//! Assignments ("reservations"): who holds which machine, assigning (admins), changing and
//! ending them (admins, or the holder), reserving a free machine (anyone), and the release
//! of reservations that have ended.

use serde_json::json;

use super::{Caller, Provisioner};
use crate::error::{Error, Result};
use crate::id::{AssignmentId, MachineId};
use crate::model::Timestamp;
use crate::model::assignment::{Assignment, NewAssignment};
use crate::model::event::EventKind;
use crate::model::machine::MachineSummary;
use crate::policy::Action;
use crate::query;

/// An assignment with its user's name, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentView {
    /// The assignment.
    pub assignment: Assignment,
    /// Its user's name.
    pub username: String,
}

/// How the API names an assignment of a machine: by id, or `self` for the caller's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeRef {
    /// The caller's own assignment.
    Own,
    /// The assignment with this id.
    Id(AssignmentId),
}

impl AssigneeRef {
    /// Parses a path segment: `self` or an integer. Anything else is a clear 400 (the
    /// original answered 500).
    pub fn parse(segment: &str) -> Result<Self> {
        if segment == "self" {
            return Ok(AssigneeRef::Own);
        }
        segment
            .parse::<i64>()
            .map(|i| AssigneeRef::Id(AssignmentId(i)))
            .map_err(|_| {
                Error::invalid(
                    "assignee",
                    format!("assignee id must be a number or `self`, not {segment:?}"),
                )
            })
    }
}

/// A reservation request: any free machine matching a query.
#[derive(Debug, Clone, Default)]
pub struct ReservationRequest {
    /// Query-language filter (empty or absent: any machine).
    pub query: Option<String>,
    /// Why.
    pub reason: String,
    /// When the reservation ends by itself.
    pub end: Option<Timestamp>,
}

impl Provisioner {
    async fn view_of(&self, assignment: Assignment) -> Result<AssignmentView> {
        let username = self.store.user_get(assignment.user_id).await?.username;
        Ok(AssignmentView {
            assignment,
            username,
        })
    }

    /// A machine's assignments.
    pub async fn assignees(&self, machine: MachineId) -> Result<Vec<AssignmentView>> {
        self.store.machine_get(machine).await?;
        let mut out = Vec::new();
        for a in self.store.assignment_list_for_machine(machine).await? {
            out.push(self.view_of(a).await?);
        }
        Ok(out)
    }

    async fn resolve(
        &self,
        caller: &Caller,
        machine: MachineId,
        which: AssigneeRef,
    ) -> Result<Assignment> {
        self.store.machine_get(machine).await?;
        let found = match which {
            AssigneeRef::Own => self.store.assignment_find(machine, caller.user.id).await?,
            AssigneeRef::Id(id) => match self.store.assignment_get(id).await {
                Ok(a) if a.machine_id == machine => Some(a),
                Ok(_) | Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            },
        };
        found.ok_or_else(|| Error::not_found("assignee", format!("{which:?}")))
    }

    /// One assignment of a machine.
    pub async fn assignee(
        &self,
        caller: &Caller,
        machine: MachineId,
        which: AssigneeRef,
    ) -> Result<AssignmentView> {
        let a = self.resolve(caller, machine, which).await?;
        self.view_of(a).await
    }

    /// Assigns a machine to a user (administrators).
    pub async fn assign(
        &self,
        caller: &Caller,
        machine: MachineId,
        username: &str,
        reason: &str,
        end: Option<Timestamp>,
    ) -> Result<AssignmentView> {
        self.store.machine_get(machine).await?;
        caller.check(Action::Assign, "Forbidden")?;
        let user = self
            .store
            .user_by_name(username)
            .await?
            .ok_or_else(|| Error::invalid("user", "no such user"))?;
        let a = self
            .store
            .assignment_create(&NewAssignment {
                machine_id: machine,
                user_id: user.id,
                reason: reason.to_string(),
                end,
            })
            .await?;
        self.event(
            machine,
            Some(caller),
            EventKind::Assigned,
            json!({"user": user.username, "reason": reason, "until": end}),
        )
        .await;
        self.audit(
            caller,
            "assignment.create",
            "assignment",
            Some(a.id.0),
            json!({"machine_id": machine, "user": user.username}),
        )
        .await;
        Ok(AssignmentView {
            assignment: a,
            username: user.username,
        })
    }

    /// Changes an assignment's reason and, when `end` is given, its end (`Some(None)`
    /// removes the end). Administrators, or the holder.
    pub async fn update_assignment(
        &self,
        caller: &Caller,
        machine: MachineId,
        which: AssigneeRef,
        reason: Option<String>,
        end: Option<Option<Timestamp>>,
    ) -> Result<AssignmentView> {
        let a = self.resolve(caller, machine, which).await?;
        caller.check(
            Action::ChangeAssignment {
                own: a.user_id == caller.user.id,
            },
            "Forbidden",
        )?;
        let reason = reason.unwrap_or_else(|| a.reason.clone());
        let end = end.unwrap_or(a.end);
        let updated = self.store.assignment_update(a.id, &reason, end).await?;
        self.view_of(updated).await
    }

    /// Ends an assignment (administrators, or the holder: this is how a user releases a
    /// machine).
    pub async fn unassign(
        &self,
        caller: &Caller,
        machine: MachineId,
        which: AssigneeRef,
    ) -> Result<()> {
        let a = self.resolve(caller, machine, which).await?;
        caller.check(
            Action::ChangeAssignment {
                own: a.user_id == caller.user.id,
            },
            "Forbidden",
        )?;
        self.store.assignment_delete(a.id).await?;
        let username = self
            .store
            .user_get(a.user_id)
            .await
            .map(|u| u.username)
            .ok();
        self.event(
            machine,
            Some(caller),
            EventKind::Unassigned,
            json!({"user": username, "reason": "released"}),
        )
        .await;
        Ok(())
    }

    /// Reserves the first free machine matching the query for the caller, atomically:
    /// the original answered with a machine but never stored the assignment, and two callers
    /// could get the same machine.
    pub async fn reserve(
        &self,
        caller: &Caller,
        req: ReservationRequest,
    ) -> Result<MachineSummary> {
        caller.check(Action::Reserve, "Forbidden")?;
        let filter = match req.query.as_deref() {
            None => None,
            Some(q) => query::parse(q).map_err(|e| Error::invalid("query", e.to_string()))?,
        };
        let Some((assignment, machine)) = self
            .store
            .assignment_reserve(caller.user.id, filter, &req.reason, req.end)
            .await?
        else {
            return Err(Error::not_found("matching machine", "query"));
        };
        self.event(
            machine.machine.id,
            Some(caller),
            EventKind::Assigned,
            json!({"user": caller.user.username, "reason": req.reason, "until": assignment.end, "reserved": true}),
        )
        .await;
        Ok(machine)
    }

    /// Ends every assignment whose end has passed, recording an event for each and, if so
    /// configured, powering the machine off. Returns how many ended. Safe to run on several
    /// servers at once: an assignment already ended by another is skipped.
    pub async fn release_expired(&self, now: Timestamp) -> Result<usize> {
        let mut released = 0;
        for a in self.store.assignment_list_expired(now).await? {
            match self.store.assignment_delete(a.id).await {
                Ok(()) => {}
                Err(Error::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            }
            released += 1;
            let username = self
                .store
                .user_get(a.user_id)
                .await
                .map(|u| u.username)
                .ok();
            self.event(
                a.machine_id,
                None,
                EventKind::Unassigned,
                json!({"user": username, "reason": "expired", "until": a.end}),
            )
            .await;
            if self.settings.power_off_on_expiry {
                self.power_off_after_expiry(a.machine_id).await;
            }
        }
        Ok(released)
    }
}

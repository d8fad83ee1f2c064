//! Who may do what: every permission rule of the system, in one place, as one pure function.
//!
//! The original scattered these rules over its models and had holes, closed here:
//! - any user could change any machine's provisioning settings and interface addresses
//!   (`PUT /machine/{id}` and its interfaces): now only the machine's assignees and admins;
//! - anyone could read any machine's event log: now assignees and admins;
//! - every user could list every user with their SSH keys: now only admins see other users.
//!
//! Anonymous callers never reach this module: they are turned away as unauthenticated.

use crate::error::{Error, Result};
use crate::id::UserId;

/// The authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// Who.
    pub user_id: UserId,
    /// Administrators may do everything.
    pub admin: bool,
}

/// Something a caller wants to do, with the facts the decision depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read a machine, list machines, read interfaces, assignees, power and state.
    ViewMachine,
    /// Reserve a free machine for oneself.
    Reserve,
    /// Read a machine's event log.
    ViewEvents {
        /// Whether the caller is assigned the machine.
        assignee: bool,
    },
    /// Change kernel, initrd, installer config, kernel options, subarch, netboot.
    EditProvisioning {
        /// Whether the caller is assigned the machine.
        assignee: bool,
    },
    /// Change an interface's identifier and IPv4 configuration.
    EditInterfaceAddress {
        /// Whether the caller is assigned the machine.
        assignee: bool,
    },
    /// Power actions, boot device, provisioning, state changes.
    Operate {
        /// Whether the caller is assigned the machine.
        assignee: bool,
    },
    /// Open the serial console.
    Console {
        /// Whether the caller is assigned the machine.
        assignee: bool,
    },
    /// Assign a machine to a user.
    Assign,
    /// Change or end an assignment.
    ChangeAssignment {
        /// Whether it is the caller's own assignment.
        own: bool,
    },
    /// Create, rename or delete machines, BMCs, archs, networks, interfaces; change MACs.
    ManageInventory,
    /// Create, change or delete users; read the audit log; read discovered MACs.
    ManageUsers,
    /// See another user's details (email, SSH key).
    ViewUser {
        /// Whether it is the caller themself.
        own: bool,
    },
    /// Create an image or installer config (owned by the caller).
    CreateOwned,
    /// See an image or installer config.
    ViewOwned {
        /// Whether the caller owns it.
        owner: bool,
        /// Whether it is public.
        public: bool,
    },
    /// Attach an image or installer config to a machine.
    UseOwned {
        /// Whether the caller owns it.
        owner: bool,
        /// Whether it is public.
        public: bool,
    },
    /// Change or delete an image or installer config.
    ModifyOwned {
        /// Whether the caller owns it.
        owner: bool,
    },
    /// List, create or revoke API tokens.
    ManageToken {
        /// Whether the tokens are the caller's own.
        own: bool,
    },
}

/// Whether `actor` may perform `action`.
pub fn allows(actor: &Actor, action: Action) -> bool {
    if actor.admin {
        return true;
    }
    match action {
        Action::ViewMachine | Action::Reserve | Action::CreateOwned => true,
        Action::ViewEvents { assignee }
        | Action::EditProvisioning { assignee }
        | Action::EditInterfaceAddress { assignee }
        | Action::Operate { assignee }
        | Action::Console { assignee } => assignee,
        Action::Assign | Action::ManageInventory | Action::ManageUsers => false,
        Action::ChangeAssignment { own }
        | Action::ViewUser { own }
        | Action::ManageToken { own } => own,
        Action::ViewOwned { owner, public } | Action::UseOwned { owner, public } => owner || public,
        Action::ModifyOwned { owner } => owner,
    }
}

/// Like [`allows`], as a `Result` with a `Forbidden` error carrying `message`.
pub fn check(actor: &Actor, action: Action, message: &str) -> Result<()> {
    if allows(actor, action) {
        Ok(())
    } else {
        Err(Error::forbidden(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: Actor = Actor {
        user_id: UserId(2),
        admin: false,
    };
    const ADMIN: Actor = Actor {
        user_id: UserId(1),
        admin: true,
    };

    #[test]
    fn table() {
        use Action::*;
        // (action, plain user allowed, admin allowed)
        let rows = [
            (ViewMachine, true, true),
            (Reserve, true, true),
            (ViewEvents { assignee: false }, false, true),
            (ViewEvents { assignee: true }, true, true),
            // The original let anyone do these two (its bug B2).
            (EditProvisioning { assignee: false }, false, true),
            (EditProvisioning { assignee: true }, true, true),
            (EditInterfaceAddress { assignee: false }, false, true),
            (EditInterfaceAddress { assignee: true }, true, true),
            (Operate { assignee: false }, false, true),
            (Operate { assignee: true }, true, true),
            (Console { assignee: false }, false, true),
            (Console { assignee: true }, true, true),
            (Assign, false, true),
            (ChangeAssignment { own: false }, false, true),
            (ChangeAssignment { own: true }, true, true),
            (ManageInventory, false, true),
            (ManageUsers, false, true),
            (ViewUser { own: false }, false, true),
            (ViewUser { own: true }, true, true),
            (CreateOwned, true, true),
            (
                ViewOwned {
                    owner: false,
                    public: false,
                },
                false,
                true,
            ),
            (
                ViewOwned {
                    owner: false,
                    public: true,
                },
                true,
                true,
            ),
            (
                ViewOwned {
                    owner: true,
                    public: false,
                },
                true,
                true,
            ),
            (
                UseOwned {
                    owner: false,
                    public: false,
                },
                false,
                true,
            ),
            (
                UseOwned {
                    owner: false,
                    public: true,
                },
                true,
                true,
            ),
            (
                UseOwned {
                    owner: true,
                    public: false,
                },
                true,
                true,
            ),
            (ModifyOwned { owner: false }, false, true),
            (ModifyOwned { owner: true }, true, true),
            (ManageToken { own: false }, false, true),
            (ManageToken { own: true }, true, true),
        ];
        for (action, user, admin) in rows {
            assert_eq!(allows(&USER, action), user, "user: {action:?}");
            assert_eq!(allows(&ADMIN, action), admin, "admin: {action:?}");
        }
    }

    #[test]
    fn check_gives_forbidden() {
        let err = check(&USER, Action::Assign, "Forbidden").unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }));
        assert_eq!(err.to_string(), "Forbidden");
        assert!(check(&ADMIN, Action::Assign, "Forbidden").is_ok());
    }
}

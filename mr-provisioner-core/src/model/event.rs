//! Machine events: the per-machine log of what happened (power, provisioning, boot).

use std::fmt;

use crate::error::{Error, Result};
use crate::id::{EventId, MachineId, UserId};
use crate::model::Timestamp;

/// What kind of event. Codes 1 to 8 are the original's and keep their numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Someone opened the console (1).
    ConsoleAccess,
    /// A power action was sent (2).
    PowerChange,
    /// The installer fetched its config (3).
    PreseedAccess,
    /// Rendering the installer config failed (4).
    PreseedError,
    /// The installed system called home (5).
    PhoneHome,
    /// The provisioning state changed (6).
    StateChange,
    /// A DHCP request from the machine (7).
    DhcpRequest,
    /// A boot file was fetched over TFTP or HTTP (8).
    TftpRequest,
    /// A user was assigned the machine (9).
    Assigned,
    /// An assignment ended (10).
    Unassigned,
    /// Provisioning settings (kernel, initrd, config, netboot, ...) changed (11).
    SettingsChange,
    /// A BMC call failed (12).
    BmcError,
    /// Inventory data (name, BMC, interfaces, ...) changed (13).
    InventoryChange,
}

impl EventKind {
    /// Every kind, in code order.
    pub const ALL: [EventKind; 13] = [
        EventKind::ConsoleAccess,
        EventKind::PowerChange,
        EventKind::PreseedAccess,
        EventKind::PreseedError,
        EventKind::PhoneHome,
        EventKind::StateChange,
        EventKind::DhcpRequest,
        EventKind::TftpRequest,
        EventKind::Assigned,
        EventKind::Unassigned,
        EventKind::SettingsChange,
        EventKind::BmcError,
        EventKind::InventoryChange,
    ];

    /// The stored numeric code.
    pub fn code(self) -> i32 {
        match self {
            EventKind::ConsoleAccess => 1,
            EventKind::PowerChange => 2,
            EventKind::PreseedAccess => 3,
            EventKind::PreseedError => 4,
            EventKind::PhoneHome => 5,
            EventKind::StateChange => 6,
            EventKind::DhcpRequest => 7,
            EventKind::TftpRequest => 8,
            EventKind::Assigned => 9,
            EventKind::Unassigned => 10,
            EventKind::SettingsChange => 11,
            EventKind::BmcError => 12,
            EventKind::InventoryChange => 13,
        }
    }

    /// The kind of a stored code.
    pub fn from_code(code: i32) -> Result<Self> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .ok_or_else(|| Error::bug(format!("unknown machine event code {code}")))
    }

    /// The upper-case name the original used (`POWER_CHANGE`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::ConsoleAccess => "CONSOLE_ACCESS",
            EventKind::PowerChange => "POWER_CHANGE",
            EventKind::PreseedAccess => "PRESEED_ACCESS",
            EventKind::PreseedError => "PRESEED_ERROR",
            EventKind::PhoneHome => "PHONE_HOME",
            EventKind::StateChange => "STATE_CHANGE",
            EventKind::DhcpRequest => "DHCP_REQ",
            EventKind::TftpRequest => "TFTP_REQ",
            EventKind::Assigned => "ASSIGNED",
            EventKind::Unassigned => "UNASSIGNED",
            EventKind::SettingsChange => "SETTINGS_CHANGE",
            EventKind::BmcError => "BMC_ERROR",
            EventKind::InventoryChange => "INVENTORY_CHANGE",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MachineEvent {
    /// Identity.
    pub id: EventId,
    /// The machine.
    pub machine_id: MachineId,
    /// Who caused it, if a user did.
    pub user_id: Option<UserId>,
    /// That user's name at the time (kept when the user is deleted).
    pub username: Option<String>,
    /// When.
    pub date: Timestamp,
    /// What.
    pub kind: EventKind,
    /// Kind-specific detail (JSON object).
    pub info: serde_json::Value,
}

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The machine.
    pub machine_id: MachineId,
    /// Who, if a user.
    pub user_id: Option<UserId>,
    /// Their name.
    pub username: Option<String>,
    /// What.
    pub kind: EventKind,
    /// Detail.
    pub info: serde_json::Value,
    /// When it happened, if not now (a DHCP lease reported after it was granted).
    pub date: Option<crate::model::Timestamp>,
}

impl NewEvent {
    /// An event of the system (no user): booting, DHCP, expiry.
    pub fn system(machine_id: MachineId, kind: EventKind, info: serde_json::Value) -> Self {
        NewEvent {
            machine_id,
            user_id: None,
            username: None,
            kind,
            info,
            date: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_unique() {
        for (i, k) in EventKind::ALL.iter().enumerate() {
            assert_eq!(k.code(), i as i32 + 1);
            assert_eq!(EventKind::from_code(k.code()).unwrap(), *k);
        }
        assert!(EventKind::from_code(0).is_err());
        assert_eq!(EventKind::DhcpRequest.name(), "DHCP_REQ");
    }
}

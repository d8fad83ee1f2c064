//! The `Bmc` trait every driver implements, with its power, boot-device and error types.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

use crate::ParseKindError;

/// One baseboard management controller, as every driver (ipmitool, Moonshot, Redfish, the
/// simulator) exposes it.
///
/// Object-safe: callers hold an `Arc<dyn Bmc>` and never know which driver answers. Each
/// method is one request to the BMC; whether to read the power state before acting (the
/// original's "reset if on, else on") is the caller's decision, not the driver's.
#[async_trait]
pub trait Bmc: Send + Sync + fmt::Debug {
    /// Reads the chassis power state (`chassis power status`).
    async fn power_status(&self) -> Result<PowerState, BmcError>;

    /// Asks for a power action (`chassis power <action>`). It returns once the BMC has
    /// accepted the request; the machine may take a while to reach the new state.
    async fn power(&self, action: PowerAction) -> Result<(), BmcError>;

    /// Chooses the device of the next boot (`chassis bootdev <device>`), in EFI mode when
    /// `efi` is set (`options=efiboot`).
    async fn set_boot_device(&self, device: BootDevice, efi: bool) -> Result<(), BmcError>;

    /// Ends any Serial-over-LAN session open on this BMC (`sol deactivate`), so a new one can
    /// start. Succeeds when no session was active.
    async fn sol_deactivate(&self) -> Result<(), BmcError>;
}

/// The chassis power state a BMC reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    /// Powered on (`Chassis Power is on`).
    On,
    /// Powered off, soft-off or mechanical off (`Chassis Power is off`).
    Off,
}

impl PowerState {
    /// Both states.
    pub const ALL: [PowerState; 2] = [PowerState::On, PowerState::Off];

    /// The word the original's API uses: `on` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerState::On => "on",
            PowerState::Off => "off",
        }
    }
}

impl fmt::Display for PowerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PowerState {
    type Err = ParseKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PowerState::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ParseKindError {
                what: "power state",
                value: s.to_string(),
                expected: "on, off",
            })
    }
}

/// A chassis power request, named as ipmitool's `chassis power` verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerAction {
    /// Power up.
    On,
    /// Hard power down, without warning the operating system.
    Off,
    /// Power down, then up again after an interval (at least one second on IPMI).
    Cycle,
    /// Hard reset: pulse the reset line while power stays on.
    Reset,
    /// Graceful shutdown: an ACPI power-button event the operating system may honour.
    Soft,
}

impl PowerAction {
    /// Every action, in a stable order.
    pub const ALL: [PowerAction; 5] = [
        PowerAction::On,
        PowerAction::Off,
        PowerAction::Cycle,
        PowerAction::Reset,
        PowerAction::Soft,
    ];

    /// The ipmitool verb, which is also the original's API string.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerAction::On => "on",
            PowerAction::Off => "off",
            PowerAction::Cycle => "cycle",
            PowerAction::Reset => "reset",
            PowerAction::Soft => "soft",
        }
    }
}

impl fmt::Display for PowerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PowerAction {
    type Err = ParseKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PowerAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| ParseKindError {
                what: "power action",
                value: s.to_string(),
                expected: "on, off, cycle, reset, soft",
            })
    }
}

/// The device a machine boots from next, named as ipmitool's `chassis bootdev` arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BootDevice {
    /// Network boot (PXE).
    Pxe,
    /// The default hard disk.
    Disk,
    /// The firmware setup screen.
    Bios,
}

impl BootDevice {
    /// Every device, in a stable order.
    pub const ALL: [BootDevice; 3] = [BootDevice::Pxe, BootDevice::Disk, BootDevice::Bios];

    /// The ipmitool argument, which is also the original's name.
    pub fn as_str(self) -> &'static str {
        match self {
            BootDevice::Pxe => "pxe",
            BootDevice::Disk => "disk",
            BootDevice::Bios => "bios",
        }
    }
}

impl fmt::Display for BootDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BootDevice {
    type Err = ParseKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BootDevice::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| ParseKindError {
                what: "boot device",
                value: s.to_string(),
                expected: "pxe, disk, bios",
            })
    }
}

/// Why a BMC request failed.
///
/// Messages are what the BMC or the tool said, trimmed; drivers never put a password in them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BmcError {
    /// No answer before the request's deadline.
    #[error("BMC did not answer within {after_ms} ms")]
    Timeout {
        /// The deadline that passed, in milliseconds.
        after_ms: u64,
    },
    /// The BMC refused the credentials or the privilege level.
    #[error("BMC refused the login: {message}")]
    Auth {
        /// What the BMC or the tool said.
        message: String,
    },
    /// The BMC could not be reached (no route, no session, connection refused).
    #[error("BMC unreachable: {message}")]
    Unreachable {
        /// What the network or the tool said.
        message: String,
    },
    /// The BMC answered and refused or failed the request.
    #[error("BMC request failed: {message}")]
    Failed {
        /// What the BMC said, e.g. `power is off`.
        message: String,
    },
    /// This BMC or driver cannot do what was asked.
    #[error("not supported by this BMC: {what}")]
    Unsupported {
        /// The request that is not supported, e.g. `power reset`.
        what: String,
    },
}

impl BmcError {
    /// Whether trying again later may succeed: timeouts and unreachable BMCs. A refusal, a bad
    /// password or an unsupported request will fail the same way again.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BmcError::Timeout { .. } | BmcError::Unreachable { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let states: Vec<_> = PowerState::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(states, ["on", "off"]);
        let actions: Vec<_> = PowerAction::ALL.iter().map(|a| a.to_string()).collect();
        assert_eq!(actions, ["on", "off", "cycle", "reset", "soft"]);
        let devices: Vec<_> = BootDevice::ALL.iter().map(|d| d.to_string()).collect();
        assert_eq!(devices, ["pxe", "disk", "bios"]);

        for s in PowerState::ALL {
            assert_eq!(s.as_str().parse::<PowerState>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        for a in PowerAction::ALL {
            assert_eq!(a.as_str().parse::<PowerAction>().unwrap(), a);
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        }
        for d in BootDevice::ALL {
            assert_eq!(d.as_str().parse::<BootDevice>().unwrap(), d);
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{d}\""));
        }
    }

    #[test]
    fn unknown_names_are_rejected() {
        let err = "reboot".parse::<PowerAction>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown power action \"reboot\"; expected one of: on, off, cycle, reset, soft"
        );
        assert!("On".parse::<PowerState>().is_err());
        assert!("cdrom".parse::<BootDevice>().is_err());
    }

    #[test]
    fn errors_are_short_and_classified() {
        let cases = [
            (
                BmcError::Timeout { after_ms: 5000 },
                "BMC did not answer within 5000 ms",
                true,
            ),
            (
                BmcError::Unreachable {
                    message: "no route to host".into(),
                },
                "BMC unreachable: no route to host",
                true,
            ),
            (
                BmcError::Auth {
                    message: "unable to establish IPMI v2 / RMCP+ session".into(),
                },
                "BMC refused the login: unable to establish IPMI v2 / RMCP+ session",
                false,
            ),
            (
                BmcError::Failed {
                    message: "power is off".into(),
                },
                "BMC request failed: power is off",
                false,
            ),
            (
                BmcError::Unsupported {
                    what: "power reset".into(),
                },
                "not supported by this BMC: power reset",
                false,
            ),
        ];
        for (err, text, transient) in cases {
            assert_eq!(err.to_string(), text);
            assert_eq!(err.is_transient(), transient, "{err}");
        }
    }
}

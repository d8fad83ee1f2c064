//! Machines: the servers of the lab, with their provisioning settings.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::id::{ArchId, BmcId, ImageId, MachineId, PreseedId, SubarchId};
use crate::model::Timestamp;
use crate::validate;

/// Longest kernel command line accepted (the original's API limit).
pub const MAX_KERNEL_OPTS: usize = 1024;

/// The provisioning state of a machine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum MachineState {
    /// Nothing known (the initial state).
    #[default]
    Unknown,
    /// A provision was started (set only by the provision flow).
    Provisioning,
    /// Installed and usable.
    Ready,
    /// Something went wrong.
    Error,
}

impl MachineState {
    /// Every state.
    pub const ALL: [MachineState; 4] = [
        MachineState::Unknown,
        MachineState::Provisioning,
        MachineState::Ready,
        MachineState::Error,
    ];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            MachineState::Unknown => "unknown",
            MachineState::Provisioning => "provisioning",
            MachineState::Ready => "ready",
            MachineState::Error => "error",
        }
    }
}

impl fmt::Display for MachineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MachineState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        MachineState::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "state",
                    format!("unknown state {s:?}; expected unknown, provisioning, ready or error"),
                )
            })
    }
}

/// A machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Machine {
    /// Identity.
    pub id: MachineId,
    /// Unique name.
    pub name: String,
    /// Architecture (required).
    pub arch_id: ArchId,
    /// Sub-architecture, which must belong to `arch_id`.
    pub subarch_id: Option<SubarchId>,
    /// The BMC that controls it.
    pub bmc_id: Option<BmcId>,
    /// Driver-specific detail for the BMC (the Moonshot cartridge number).
    pub bmc_info: String,
    /// Kernel image to netboot.
    pub kernel_id: Option<ImageId>,
    /// Initrd image to netboot.
    pub initrd_id: Option<ImageId>,
    /// Installer config.
    pub preseed_id: Option<PreseedId>,
    /// Extra kernel command-line options.
    pub kernel_opts: String,
    /// Whether DHCP and TFTP send it the network boot chain rather than local boot.
    pub netboot_enabled: bool,
    /// Provisioning state.
    pub state: MachineState,
    /// Creation time.
    pub created_at: Timestamp,
}

impl Machine {
    /// The host name derived from the name: every character outside `[A-Za-z0-9]` becomes
    /// `-`, one for one, as the original did (`m1.lab_x` gives `m1-lab-x`).
    pub fn hostname(&self) -> String {
        hostname(&self.name)
    }
}

/// See [`Machine::hostname`].
pub fn hostname(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A machine to create or the new state of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMachine {
    /// Unique name, 2..=256 characters.
    pub name: String,
    /// Architecture.
    pub arch_id: ArchId,
    /// Sub-architecture (of that architecture; the store checks).
    pub subarch_id: Option<SubarchId>,
    /// BMC.
    pub bmc_id: Option<BmcId>,
    /// BMC detail (checked against the BMC's kind by the store).
    pub bmc_info: String,
    /// Kernel image.
    pub kernel_id: Option<ImageId>,
    /// Initrd image.
    pub initrd_id: Option<ImageId>,
    /// Installer config.
    pub preseed_id: Option<PreseedId>,
    /// Kernel options: at most 1024 characters on one line.
    pub kernel_opts: String,
    /// Netboot flag.
    pub netboot_enabled: bool,
    /// State.
    pub state: MachineState,
}

impl NewMachine {
    /// A machine with only a name and an architecture.
    pub fn named(name: impl Into<String>, arch_id: ArchId) -> Self {
        NewMachine {
            name: name.into(),
            arch_id,
            subarch_id: None,
            bmc_id: None,
            bmc_info: String::new(),
            kernel_id: None,
            initrd_id: None,
            preseed_id: None,
            kernel_opts: String::new(),
            netboot_enabled: false,
            state: MachineState::Unknown,
        }
    }

    /// Checks the fields that need no other record.
    pub fn validate(&self) -> Result<()> {
        validate::name("name", &self.name, 2, 256)?;
        // One line only: a newline would let a user add directives to the generated GRUB or
        // pxelinux config (a hole in the original).
        validate::one_line("kernel_opts", &self.kernel_opts, MAX_KERNEL_OPTS)?;
        validate::length("bmc_info", &self.bmc_info, 0, 256)
    }
}

impl From<&Machine> for NewMachine {
    fn from(m: &Machine) -> Self {
        NewMachine {
            name: m.name.clone(),
            arch_id: m.arch_id,
            subarch_id: m.subarch_id,
            bmc_id: m.bmc_id,
            bmc_info: m.bmc_info.clone(),
            kernel_id: m.kernel_id,
            initrd_id: m.initrd_id,
            preseed_id: m.preseed_id,
            kernel_opts: m.kernel_opts.clone(),
            netboot_enabled: m.netboot_enabled,
            state: m.state,
        }
    }
}

/// A machine as listed by the API: the machine with its arch and subarch names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineSummary {
    /// The machine.
    pub machine: Machine,
    /// Its architecture's name.
    pub arch: String,
    /// Its sub-architecture's name.
    pub subarch: Option<String>,
}

/// What booting a machine needs, read in one query from the MAC of one of its interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootTarget {
    /// The machine.
    pub machine: Machine,
    /// Its architecture's name.
    pub arch: String,
    /// Its subarch's name, if it has one.
    pub subarch: Option<String>,
    /// The subarch's EFI flag (false without a subarch).
    pub efiboot: bool,
    /// Its kernel.
    pub kernel: Option<BootImage>,
    /// Its initrd.
    pub initrd: Option<BootImage>,
    /// The kind of its installer config, if it has one.
    pub installer: Option<crate::model::preseed::InstallerKind>,
}

/// An image as a boot config names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootImage {
    /// Path under the TFTP root.
    pub filename: String,
    /// Description.
    pub description: Option<String>,
    /// Marked as known good.
    pub known_good: bool,
}

/// The fields of a machine that the API's machine listing shows, read in bulk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct MachineBrief {
    /// Identity.
    pub id: MachineId,
    /// Name.
    pub name: String,
    /// Architecture name.
    pub arch: String,
    /// Sub-architecture name.
    pub subarch: Option<String>,
    /// Kernel image.
    pub kernel_id: Option<ImageId>,
    /// Initrd image.
    pub initrd_id: Option<ImageId>,
    /// Installer config.
    pub preseed_id: Option<PreseedId>,
    /// Kernel options.
    pub kernel_opts: String,
    /// Netboot flag.
    pub netboot_enabled: bool,
}

impl From<MachineSummary> for MachineBrief {
    fn from(s: MachineSummary) -> Self {
        let m = s.machine;
        MachineBrief {
            id: m.id,
            name: m.name,
            arch: s.arch,
            subarch: s.subarch,
            kernel_id: m.kernel_id,
            initrd_id: m.initrd_id,
            preseed_id: m.preseed_id,
            kernel_opts: m.kernel_opts,
            netboot_enabled: m.netboot_enabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        for (name, want) in [
            ("m1.lab_x", "m1-lab-x"),
            ("a.b_c d", "a-b-c-d"),
            ("plain01", "plain01"),
            ("x..y", "x--y"),
            ("ü1", "-1"),
        ] {
            assert_eq!(hostname(name), want);
        }
    }

    #[test]
    fn validation() {
        let mut m = NewMachine::named("m1", ArchId(1));
        assert!(m.validate().is_ok());
        m.kernel_opts = "console=ttyS0\nmenuentry evil".into();
        assert!(m.validate().is_err());
        m.kernel_opts = "x".repeat(MAX_KERNEL_OPTS + 1);
        assert!(m.validate().is_err());
        m.kernel_opts.clear();
        m.name = "m".into();
        assert!(m.validate().is_err());
    }

    #[test]
    fn states() {
        for s in MachineState::ALL {
            assert_eq!(s.as_str().parse::<MachineState>().unwrap(), s);
        }
        assert!("provision".parse::<MachineState>().is_err());
    }
}

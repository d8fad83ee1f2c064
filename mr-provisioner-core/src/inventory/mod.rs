//! Declarative inventory: a TOML file of archs, BMCs, networks, users, machines with their
//! interfaces, and assignments, applied idempotently in one transaction.
//!
//! Applying a file makes the database contain what the file says; things the file does not
//! mention are left alone (nothing is deleted). Applying the same file twice changes nothing
//! the second time. An error anywhere names the entry and field and changes nothing.
//!
//! ```toml
//! [[arch]]
//! name = "arm64"
//! subarch = [{ name = "efi", efiboot = true }]
//!
//! [[bmc]]
//! name = "bmc-rack1"
//! address = "10.0.0.98"
//! type = "plain"
//! username = "admin"
//! password_env = "RACK1_BMC_PASSWORD"
//!
//! [[machine]]
//! name = "m1"
//! arch = "arm64"
//! subarch = "efi"
//! bmc = "bmc-rack1"
//! interface = [{ mac = "52:54:00:12:34:56", identifier = "eth0" }]
//! ```

mod apply;

use std::path::PathBuf;

use mr_provisioner_ipmi::{BmcKind, Privilege};

use crate::error::{Error, Result};
use crate::model::Timestamp;

pub use apply::{ApplyReport, Counts, apply};

/// The whole file.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Architectures with their subarchs.
    #[serde(default)]
    pub arch: Vec<ArchEntry>,
    /// BMCs.
    #[serde(default)]
    pub bmc: Vec<BmcEntry>,
    /// Networks.
    #[serde(default)]
    pub network: Vec<NetworkEntry>,
    /// Users (without passwords: set those with `mr-provisioner user passwd`).
    #[serde(default)]
    pub user: Vec<UserEntry>,
    /// Machines with their interfaces.
    #[serde(default)]
    pub machine: Vec<MachineEntry>,
    /// Assignments of machines to users.
    #[serde(default)]
    pub assignment: Vec<AssignmentEntry>,
}

/// An architecture.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchEntry {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Its subarchs.
    #[serde(default)]
    pub subarch: Vec<SubarchEntry>,
}

/// A subarch of the enclosing architecture.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubarchEntry {
    /// Name within the arch.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// File name (relative to the TFTP root) of an existing bootloader image of this arch.
    pub bootloader: Option<String>,
    /// Whether boot-device changes carry the EFI flag.
    #[serde(default)]
    pub efiboot: bool,
}

/// A BMC. Give the password in at most one of `password`, `password_env` (the name of an
/// environment variable) or `password_file` (a file whose first line is the password).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BmcEntry {
    /// Unique name.
    pub name: String,
    /// IP address or host name.
    pub address: String,
    /// Port, when not the protocol's default.
    pub port: Option<u16>,
    /// Driver: plain, moonshot, redfish or sim.
    #[serde(rename = "type")]
    pub kind: BmcKind,
    /// Login name.
    #[serde(default)]
    pub username: String,
    /// Password in clear.
    pub password: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// File holding the password.
    pub password_file: Option<PathBuf>,
    /// IPMI privilege level (default administrator).
    pub privilege: Option<Privilege>,
    /// IPMI cipher suite.
    pub cipher_suite: Option<u8>,
    /// IPMI retransmissions.
    pub retries: Option<u8>,
    /// Call deadline in milliseconds.
    pub timeout_ms: Option<u32>,
}

/// A network.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkEntry {
    /// Unique name.
    pub name: String,
    /// IPv4 subnet in CIDR notation.
    pub subnet: String,
    /// Pool for DHCP-reserved addresses (CIDR, inside the subnet).
    pub reserved_pool: Option<String>,
    /// Pool for static addresses (CIDR, inside the subnet).
    pub static_pool: Option<String>,
}

/// A user.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// Login name.
    pub username: String,
    /// Contact address.
    pub email: Option<String>,
    /// Administrator flag.
    #[serde(default)]
    pub admin: bool,
    /// SSH public key(s); left as they are when absent.
    pub ssh_key: Option<String>,
}

/// A machine.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineEntry {
    /// Unique name.
    pub name: String,
    /// Architecture name.
    pub arch: String,
    /// Subarch name (within the arch).
    pub subarch: Option<String>,
    /// BMC name.
    pub bmc: Option<String>,
    /// BMC detail (the Moonshot cartridge number).
    #[serde(default)]
    pub bmc_info: String,
    /// Interfaces, matched by MAC (an interface named here moves to this machine).
    #[serde(default)]
    pub interface: Vec<InterfaceEntry>,
}

/// An interface of the enclosing machine.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceEntry {
    /// MAC address.
    pub mac: String,
    /// Name such as `eth0`.
    pub identifier: Option<String>,
    /// Network name.
    pub network: Option<String>,
    /// Static IPv4 address (from the network's static pool).
    pub static_ipv4: Option<String>,
    /// Reserved IPv4 address (from the network's reserved pool).
    pub reserved_ipv4: Option<String>,
}

/// An assignment of a machine to a user.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentEntry {
    /// Machine name.
    pub machine: String,
    /// Username.
    pub user: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// When it ends (RFC 3339), if ever.
    pub until: Option<Timestamp>,
}

impl Inventory {
    /// Parses inventory TOML. The error names the line, column and key.
    pub fn parse(text: &str) -> Result<Inventory> {
        toml::from_str(text).map_err(|e| Error::bad_request(e.to_string()))
    }
}

/// An error about one entry of the file: `machine "m3": arch: no arch named "x"`.
pub(crate) fn entry_error(kind: &str, name: &str, field: Option<&str>, err: Error) -> Error {
    let field = field.map(str::to_string).or_else(|| match &err {
        Error::InvalidRequest { field: Some(f), .. } => Some(f.clone()),
        _ => None,
    });
    let message = match &field {
        Some(f) => format!("{kind} {name:?}: {f}: {err}"),
        None => format!("{kind} {name:?}: {err}"),
    };
    Error::InvalidRequest {
        field: field.map(|f| format!("{kind}.{f}")),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_example() {
        let inv = Inventory::parse(
            r#"
            [[arch]]
            name = "arm64"
            subarch = [{ name = "efi", efiboot = true }]

            [[bmc]]
            name = "b1"
            address = "10.0.0.1"
            type = "moonshot"

            [[machine]]
            name = "m1"
            arch = "arm64"
            bmc = "b1"
            bmc_info = "3"
            [[machine.interface]]
            mac = "52:54:00:12:34:56"

            [[assignment]]
            machine = "m1"
            user = "bob"
            until = "2030-01-01T00:00:00Z"
            "#,
        )
        .unwrap();
        assert_eq!(inv.arch[0].subarch[0].name, "efi");
        assert_eq!(inv.bmc[0].kind, BmcKind::Moonshot);
        assert_eq!(inv.machine[0].interface.len(), 1);
        assert!(inv.assignment[0].until.is_some());
    }

    #[test]
    fn parse_errors_name_the_place() {
        let e = Inventory::parse("[[machine]]\nname = \"m1\"\narhc = \"x\"\n").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("arhc"), "{text}");
        assert!(text.contains("line 3"), "{text}");
        let e = Inventory::parse("[[bmc]]\nname = \"b\"\naddress = \"x\"\ntype = \"ilo\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("ilo"), "{e}");
    }
}

//! Stock Kea without the original's hook: our interfaces as host reservations in Kea's own
//! PostgreSQL host database, and Kea's leases read back from its lease database.
//!
//! Kea 2.2 (Debian's) reads host reservations from PostgreSQL on every packet (it has no
//! host cache in its open-source hooks), so a row written here is in the next answer with
//! no reload. The schema is the one `kea-admin db-init pgsql` creates (version 13 with Kea
//! 2.2; [`hosts::KeaHosts::schema_version`] checks the major version).
//!
//! - [`hosts`]: one global reservation (`dhcp4_subnet_id = 0`, so the Kea configuration
//!   needs `reservations-global`) per interface, keyed by MAC (`hw-address`), carrying the
//!   address, host name, next-server and boot file of [`KeaHost::for_target`] (and, with
//!   UEFI HTTP boot on, the boot URL as a host-scoped option 67 in `dhcp4_options`). Rows we
//!   write carry `{"mr-provisioner": {"machine": <id>}}` as their user context; rows
//!   without it are the admin's and are never changed (a MAC that has one is reported as a
//!   conflict instead).
//! - [`leases`]: Kea's `lease4` table read in the order leases were granted, so that each
//!   new or renewed lease is seen once.
//! - [`KeaSync`]: the background task keeping both in step with the store: a full pass at
//!   start, after every change reported by [`KeaSync::poke`], and every check interval
//!   (which catches changes made by other processes, such as `inventory apply`).

pub mod hosts;
pub mod leases;
mod sync;

use std::net::Ipv4Addr;

pub use sync::{KeaSettings, KeaStatus, KeaSync};

use crate::id::MachineId;
use crate::mac::MacAddr;
use crate::model::machine::BootTarget;
use crate::service::{DhcpAnswer, DhcpClientKind, Settings};

/// Kea's `dhcp4_boot_file_name` column holds at most this many characters.
pub const BOOT_FILE_MAX: usize = 128;
/// A DHCPv4 option (the boot URL's option 67) holds at most this many bytes.
pub const OPTION_MAX: usize = 255;

/// One host reservation as we keep it in Kea's `hosts` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeaHost {
    /// The interface's MAC (Kea's `hw-address` identifier).
    pub mac: MacAddr,
    /// The machine of the interface (kept in the row's user context).
    pub machine_id: MachineId,
    /// The address to give.
    pub ipv4: Option<Ipv4Addr>,
    /// The host name to give (option 12), when the machine's name makes a valid one.
    pub hostname: Option<String>,
    /// The TFTP server (`siaddr`), when the machine netboots.
    pub next_server: Option<Ipv4Addr>,
    /// The boot file (the BOOTP `file` field), when the machine netboots.
    pub boot_file: Option<String>,
    /// The boot file's URL for UEFI HTTP boot clients, when the machine netboots and
    /// [`KeaSettings::http_boot`] is on: a host-scoped option 67 (sent always), which the
    /// `flex_option` hook of Kea's configuration removes from answers to other clients
    /// (see `examples/kea/kea-dhcp4.conf`).
    pub http_boot_url: Option<String>,
}

impl KeaHost {
    /// The reservation of the interface `mac` of `target`: the hook's answer
    /// ([`DhcpAnswer::for_target`]) for next-server and boot file, and as address the
    /// interface's static address, else its reserved one. (The hook withholds a reserved
    /// address from an interface with a static one and lets Kea pick from its pool; with a
    /// reservation in Kea's database the static address is the one the machine is known
    /// by, so it is the one given.)
    ///
    /// With `http_boot`, it also carries the hook's answer to a UEFI HTTP boot client
    /// ([`DhcpAnswer::for_client`]): the boot file's URL.
    ///
    /// A next-server that is not an IPv4 address, and a boot file longer than Kea's column
    /// ([`BOOT_FILE_MAX`]) or a URL longer than an option ([`OPTION_MAX`]), are left out
    /// (the server's configuration check refuses the first; [`hosts::KeaHosts::sync`]
    /// reports the others).
    pub fn for_target(
        mac: MacAddr,
        target: &BootTarget,
        settings: &Settings,
        http_boot: bool,
    ) -> KeaHost {
        let answer = DhcpAnswer::for_target(target, settings);
        let http_boot_url = http_boot
            .then(|| {
                answer
                    .clone()
                    .for_client(DhcpClientKind::Http, settings)
                    .bootfile
            })
            .flatten();
        KeaHost {
            mac,
            machine_id: target.machine.id,
            ipv4: target.static_ipv4.or(target.reserved_ipv4),
            hostname: dns_hostname(&target.machine.hostname()),
            next_server: answer.next_server.and_then(|s| s.parse().ok()),
            boot_file: answer.bootfile,
            http_boot_url,
        }
    }
}

/// `name` when it is a valid DNS host name (RFC 1123 labels: letters, digits and inner
/// hyphens, 1 to 63 characters each, 253 in all), else `None`.
pub fn dns_hostname(name: &str) -> Option<String> {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    (name.len() <= 253 && name.split('.').all(label_ok)).then(|| name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests;

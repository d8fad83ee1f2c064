//! Shared fixture builders and error assertions.

use std::fmt::Debug;
use std::net::Ipv4Addr;

use chrono::{TimeDelta, TimeZone, Utc};
use ipnet::Ipv4Net;
use mr_provisioner_core::Error;
use mr_provisioner_core::id::{ArchId, ImageId, MachineId, NetworkId, UserId};
use mr_provisioner_core::mac::MacAddr;
use mr_provisioner_core::model::Timestamp;
use mr_provisioner_core::model::arch::{Arch, NewArch, NewSubarch, Subarch};
use mr_provisioner_core::model::assignment::{Assignment, NewAssignment};
use mr_provisioner_core::model::bmc::{Bmc, NewBmc};
use mr_provisioner_core::model::image::{Image, ImageKind, NewImage};
use mr_provisioner_core::model::interface::{Interface, NewInterface};
use mr_provisioner_core::model::machine::{Machine, NewMachine};
use mr_provisioner_core::model::network::{Network, NewNetwork};
use mr_provisioner_core::model::preseed::{InstallerKind, NewPreseed, Preseed};
use mr_provisioner_core::model::user::{NewUser, User};
use mr_provisioner_core::store::Store;
use mr_provisioner_ipmi::{BmcKind, Privilege};

// ---------------------------------------------------------------------------------------
// Values

/// A fixed instant with a microsecond fraction (what both backends store exactly), plus
/// `secs` seconds.
pub(crate) fn t(secs: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap()
        + TimeDelta::microseconds(123_456)
        + TimeDelta::seconds(secs)
}

/// Now (truncated to microseconds, like the store's clock) plus `secs` seconds.
pub(crate) fn from_now(secs: i64) -> Timestamp {
    mr_provisioner_core::model::now() + TimeDelta::seconds(secs)
}

/// Asserts that `at` lies within `[before, after]`.
#[track_caller]
pub(crate) fn assert_between(at: Timestamp, before: Timestamp, after: Timestamp) {
    assert!(
        before <= at && at <= after,
        "{at} is not between {before} and {after}"
    );
}

pub(crate) fn mac(s: &str) -> MacAddr {
    s.parse().expect("MAC")
}

pub(crate) fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("IPv4 address")
}

pub(crate) fn net(s: &str) -> Ipv4Net {
    s.parse().expect("IPv4 network")
}

// ---------------------------------------------------------------------------------------
// Builders

pub(crate) fn new_user(username: &str) -> NewUser {
    NewUser {
        username: username.into(),
        email: Some(format!("{username}@example.com")),
        admin: false,
        ssh_key: format!("ssh-ed25519 AAAA {username}"),
        password_hash: None,
    }
}

pub(crate) async fn user(s: &dyn Store, username: &str) -> User {
    s.user_create(&new_user(username))
        .await
        .expect("create user")
}

pub(crate) fn new_bmc(name: &str, address: &str, kind: BmcKind) -> NewBmc {
    NewBmc {
        name: name.into(),
        address: address.into(),
        port: None,
        username: "admin".into(),
        password: "secret".to_string().into(),
        kind,
        privilege: Privilege::Administrator,
        cipher_suite: None,
        retries: None,
        timeout_ms: None,
    }
}

pub(crate) async fn bmc(s: &dyn Store, name: &str, address: &str, kind: BmcKind) -> Bmc {
    s.bmc_create(&new_bmc(name, address, kind))
        .await
        .expect("create BMC")
}

pub(crate) async fn arch(s: &dyn Store, name: &str) -> Arch {
    s.arch_create(&NewArch {
        name: name.into(),
        description: None,
    })
    .await
    .expect("create arch")
}

pub(crate) fn new_subarch(arch_id: ArchId, name: &str, bootloader: Option<ImageId>) -> NewSubarch {
    NewSubarch {
        arch_id,
        name: name.into(),
        description: None,
        bootloader_id: bootloader,
        efiboot: false,
    }
}

pub(crate) async fn subarch(
    s: &dyn Store,
    arch_id: ArchId,
    name: &str,
    bootloader: Option<ImageId>,
) -> Subarch {
    s.subarch_create(&new_subarch(arch_id, name, bootloader))
        .await
        .expect("create subarch")
}

pub(crate) fn new_image(
    filename: &str,
    kind: ImageKind,
    arch_id: ArchId,
    owner_id: Option<UserId>,
    public: bool,
) -> NewImage {
    NewImage {
        filename: filename.into(),
        description: Some(format!("image {filename}")),
        kind,
        arch_id,
        owner_id,
        known_good: false,
        public,
        sha256: None,
        size: None,
    }
}

pub(crate) async fn image(
    s: &dyn Store,
    filename: &str,
    kind: ImageKind,
    arch_id: ArchId,
    owner_id: Option<UserId>,
) -> Image {
    s.image_create(&new_image(filename, kind, arch_id, owner_id, false))
        .await
        .expect("create image")
}

pub(crate) fn new_preseed(name: &str, owner_id: Option<UserId>, public: bool) -> NewPreseed {
    NewPreseed {
        name: name.into(),
        description: Some(format!("config {name}")),
        kind: InstallerKind::Preseed,
        content: Some("d-i debian-installer/locale string en_US\n".into()),
        owner_id,
        known_good: false,
        public,
    }
}

pub(crate) async fn preseed(s: &dyn Store, name: &str, owner_id: Option<UserId>) -> Preseed {
    s.preseed_create(&new_preseed(name, owner_id, false))
        .await
        .expect("create preseed")
}

pub(crate) async fn machine(s: &dyn Store, name: &str, arch_id: ArchId) -> Machine {
    s.machine_create(&NewMachine::named(name, arch_id))
        .await
        .expect("create machine")
}

pub(crate) fn new_network(
    name: &str,
    subnet: &str,
    reserved: Option<&str>,
    stat: Option<&str>,
) -> NewNetwork {
    NewNetwork {
        name: name.into(),
        subnet: net(subnet),
        reserved_pool: reserved.map(net),
        static_pool: stat.map(net),
    }
}

/// `lab`: 10.99.0.0/24 with the reserved pool .128/25 and the static pool .64/26.
pub(crate) async fn lab_network(s: &dyn Store) -> Network {
    s.network_create(&new_network(
        "lab",
        "10.99.0.0/24",
        Some("10.99.0.128/25"),
        Some("10.99.0.64/26"),
    ))
    .await
    .expect("create network")
}

pub(crate) fn new_interface(machine_id: MachineId, mac_addr: &str) -> NewInterface {
    NewInterface {
        machine_id,
        mac: mac(mac_addr),
        identifier: None,
        network_id: None,
        static_ipv4: None,
        reserved_ipv4: None,
    }
}

pub(crate) async fn interface(s: &dyn Store, machine_id: MachineId, mac_addr: &str) -> Interface {
    s.interface_create(&new_interface(machine_id, mac_addr))
        .await
        .expect("create interface")
}

/// An interface on `network` with a static address.
pub(crate) fn static_interface(
    machine_id: MachineId,
    mac_addr: &str,
    network: NetworkId,
    addr: &str,
) -> NewInterface {
    NewInterface {
        network_id: Some(network),
        static_ipv4: Some(ip(addr)),
        ..new_interface(machine_id, mac_addr)
    }
}

pub(crate) async fn assign(s: &dyn Store, machine_id: MachineId, user_id: UserId) -> Assignment {
    s.assignment_create(&NewAssignment {
        machine_id,
        user_id,
        reason: "testing".into(),
        end: None,
    })
    .await
    .expect("create assignment")
}

// ---------------------------------------------------------------------------------------
// Error assertions

#[track_caller]
pub(crate) fn assert_not_found<T: Debug>(r: Result<T, Error>, want_kind: &str) {
    match r {
        Err(Error::NotFound { kind, .. }) if kind == want_kind => {}
        other => panic!("expected NotFound {{ kind: {want_kind:?} }}, got {other:?}"),
    }
}

#[track_caller]
pub(crate) fn assert_exists<T: Debug>(r: Result<T, Error>, want_kind: &str, want_field: &str) {
    match r {
        Err(Error::AlreadyExists { kind, field }) if kind == want_kind && field == want_field => {}
        other => panic!(
            "expected AlreadyExists {{ kind: {want_kind:?}, field: {want_field:?} }}, got {other:?}"
        ),
    }
}

#[track_caller]
pub(crate) fn assert_conflict<T: Debug>(r: Result<T, Error>) {
    match r {
        Err(Error::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

/// An `InvalidRequest`; with `Some(field)`, about that field.
#[track_caller]
pub(crate) fn assert_invalid<T: Debug>(r: Result<T, Error>, want_field: Option<&str>) {
    match r {
        Err(Error::InvalidRequest { field, .. })
            if want_field.is_none() || field.as_deref() == want_field => {}
        other => panic!("expected InvalidRequest {{ field: {want_field:?} }}, got {other:?}"),
    }
}

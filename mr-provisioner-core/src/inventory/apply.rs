//! Applying an [`Inventory`] to a store: create what is missing, update what differs, leave
//! the rest, all in one transaction.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::{
    ArchEntry, AssignmentEntry, BmcEntry, Inventory, MachineEntry, NetworkEntry, UserEntry,
    entry_error,
};
use crate::error::{Error, Result};
use crate::id::MachineId;
use crate::mac::MacAddr;
use crate::model::arch::{NewArch, NewSubarch};
use crate::model::assignment::NewAssignment;
use crate::model::bmc::NewBmc;
use crate::model::interface::NewInterface;
use crate::model::machine::NewMachine;
use crate::model::network::NewNetwork;
use crate::model::user::{NewUser, UserUpdate};
use crate::store::Store;

/// How many entries of one kind were created, updated or left unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Created.
    pub created: u32,
    /// Changed.
    pub updated: u32,
    /// Already as the file says.
    pub unchanged: u32,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} unchanged",
            self.created, self.updated, self.unchanged
        )
    }
}

/// What applying a file did, per kind of entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Counts per kind, in the order they were applied.
    pub kinds: Vec<(&'static str, Counts)>,
}

impl ApplyReport {
    /// The sum over all kinds.
    pub fn total(&self) -> Counts {
        self.kinds.iter().fold(Counts::default(), |mut t, (_, c)| {
            t.created += c.created;
            t.updated += c.updated;
            t.unchanged += c.unchanged;
            t
        })
    }

    /// Whether anything was created or updated.
    pub fn changed(&self) -> bool {
        let t = self.total();
        t.created + t.updated > 0
    }

    fn counts(&mut self, kind: &'static str) -> &mut Counts {
        if let Some(i) = self.kinds.iter().position(|(k, _)| *k == kind) {
            return &mut self.kinds[i].1;
        }
        self.kinds.push((kind, Counts::default()));
        let last = self.kinds.len() - 1;
        &mut self.kinds[last].1
    }
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, counts) in &self.kinds {
            writeln!(f, "{kind}: {counts}")?;
        }
        let total = self.total();
        if self.changed() {
            write!(f, "total: {total}")
        } else {
            write!(
                f,
                "no changes: all {} entries already as described",
                total.unchanged
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Applies `inventory` to `store` in one transaction (committed only if everything
/// succeeds, and not at all with `dry_run`).
pub async fn apply(store: &dyn Store, inventory: &Inventory, dry_run: bool) -> Result<ApplyReport> {
    let tx = store.begin().await?;
    match apply_all(&*tx, inventory).await {
        Ok(report) if !dry_run => {
            tx.commit().await?;
            Ok(report)
        }
        Ok(report) => {
            tx.rollback().await?;
            Ok(report)
        }
        Err(e) => {
            // Best effort: dropping the transaction rolls it back as well.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

async fn apply_all(store: &dyn Store, inv: &Inventory) -> Result<ApplyReport> {
    let mut report = ApplyReport::default();
    for entry in &inv.arch {
        apply_arch(store, entry, &mut report).await?;
    }
    for entry in &inv.bmc {
        let outcome = apply_bmc(store, entry)
            .await
            .map_err(|e| entry_error("bmc", &entry.name, None, e))?;
        report.counts("bmcs").add(outcome);
    }
    for entry in &inv.network {
        let outcome = apply_network(store, entry)
            .await
            .map_err(|e| entry_error("network", &entry.name, None, e))?;
        report.counts("networks").add(outcome);
    }
    for entry in &inv.user {
        let outcome = apply_user(store, entry)
            .await
            .map_err(|e| entry_error("user", &entry.username, None, e))?;
        report.counts("users").add(outcome);
    }
    for entry in &inv.machine {
        apply_machine(store, entry, &mut report).await?;
    }
    for entry in &inv.assignment {
        let name = format!("{}/{}", entry.machine, entry.user);
        let outcome = apply_assignment(store, entry)
            .await
            .map_err(|e| entry_error("assignment", &name, None, e))?;
        report.counts("assignments").add(outcome);
    }
    Ok(report)
}

async fn apply_arch(store: &dyn Store, entry: &ArchEntry, report: &mut ApplyReport) -> Result<()> {
    let err = |field: Option<&str>, e| entry_error("arch", &entry.name, field, e);
    let desired = NewArch {
        name: entry.name.clone(),
        description: entry.description.clone(),
    };
    let (arch_id, outcome) = match store
        .arch_by_name(&entry.name)
        .await
        .map_err(|e| err(None, e))?
    {
        None => (
            store
                .arch_create(&desired)
                .await
                .map_err(|e| err(None, e))?
                .id,
            Outcome::Created,
        ),
        Some(a) if a.description == desired.description => (a.id, Outcome::Unchanged),
        Some(a) => {
            store
                .arch_update(a.id, &desired)
                .await
                .map_err(|e| err(None, e))?;
            (a.id, Outcome::Updated)
        }
    };
    report.counts("archs").add(outcome);
    for sub in &entry.subarch {
        let name = format!("{}/{}", entry.name, sub.name);
        let err = |field: Option<&str>, e| entry_error("subarch", &name, field, e);
        let bootloader_id = match &sub.bootloader {
            None => None,
            Some(file) => Some(
                store
                    .image_by_filename(file)
                    .await
                    .map_err(|e| err(None, e))?
                    .ok_or_else(|| {
                        err(
                            Some("bootloader"),
                            Error::bad_request(format!("no image with file name {file:?}")),
                        )
                    })?
                    .id,
            ),
        };
        let desired = NewSubarch {
            arch_id,
            name: sub.name.clone(),
            description: sub.description.clone(),
            bootloader_id,
            efiboot: sub.efiboot,
        };
        let outcome = match store
            .subarch_by_name(arch_id, &sub.name)
            .await
            .map_err(|e| err(None, e))?
        {
            None => {
                store
                    .subarch_create(&desired)
                    .await
                    .map_err(|e| err(None, e))?;
                Outcome::Created
            }
            Some(s) if NewSubarch::from(&s) == desired => Outcome::Unchanged,
            Some(s) => {
                store
                    .subarch_update(s.id, &desired)
                    .await
                    .map_err(|e| err(None, e))?;
                Outcome::Updated
            }
        };
        report.counts("subarchs").add(outcome);
    }
    Ok(())
}

fn bmc_password(entry: &BmcEntry) -> Result<SecretString> {
    let given = [
        entry.password.is_some(),
        entry.password_env.is_some(),
        entry.password_file.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(Error::invalid(
            "password",
            "give at most one of password, password_env and password_file",
        ));
    }
    if let Some(p) = &entry.password {
        return Ok(p.clone().into());
    }
    if let Some(var) = &entry.password_env {
        return std::env::var(var).map(Into::into).map_err(|_| {
            Error::invalid(
                "password_env",
                format!("environment variable {var} is not set"),
            )
        });
    }
    if let Some(path) = &entry.password_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(
                "password_file",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        return Ok(text.lines().next().unwrap_or("").to_string().into());
    }
    Ok(SecretString::default())
}

fn same_bmc(a: &NewBmc, b: &NewBmc) -> bool {
    a.name == b.name
        && a.address == b.address
        && a.port == b.port
        && a.username == b.username
        && a.password.expose_secret() == b.password.expose_secret()
        && a.kind == b.kind
        && a.privilege == b.privilege
        && a.cipher_suite == b.cipher_suite
        && a.retries == b.retries
        && a.timeout_ms == b.timeout_ms
}

async fn apply_bmc(store: &dyn Store, entry: &BmcEntry) -> Result<Outcome> {
    let desired = NewBmc {
        name: entry.name.clone(),
        address: entry.address.clone(),
        port: entry.port,
        username: entry.username.clone(),
        password: bmc_password(entry)?,
        kind: entry.kind,
        privilege: entry.privilege.unwrap_or_default(),
        cipher_suite: entry.cipher_suite,
        retries: entry.retries,
        timeout_ms: entry.timeout_ms,
    };
    Ok(match store.bmc_by_name(&entry.name).await? {
        None => {
            store.bmc_create(&desired).await?;
            Outcome::Created
        }
        Some(b) if same_bmc(&NewBmc::from(&b), &desired) => Outcome::Unchanged,
        Some(b) => {
            store.bmc_update(b.id, &desired).await?;
            Outcome::Updated
        }
    })
}

fn parse_field<T: std::str::FromStr>(field: &str, value: &str, what: &str) -> Result<T> {
    value
        .parse()
        .map_err(|_| Error::invalid(field, format!("{value:?} is not {what}")))
}

fn parse_opt<T: std::str::FromStr>(
    field: &str,
    value: Option<&str>,
    what: &str,
) -> Result<Option<T>> {
    value.map(|v| parse_field(field, v, what)).transpose()
}

async fn apply_network(store: &dyn Store, entry: &NetworkEntry) -> Result<Outcome> {
    const CIDR: &str = "an IPv4 subnet in CIDR notation (10.0.0.0/24)";
    let desired = NewNetwork {
        name: entry.name.clone(),
        subnet: parse_field("subnet", &entry.subnet, CIDR)?,
        reserved_pool: parse_opt("reserved_pool", entry.reserved_pool.as_deref(), CIDR)?,
        static_pool: parse_opt("static_pool", entry.static_pool.as_deref(), CIDR)?,
    };
    Ok(match store.network_by_name(&entry.name).await? {
        None => {
            store.network_create(&desired).await?;
            Outcome::Created
        }
        Some(n) if NewNetwork::from(&n) == desired => Outcome::Unchanged,
        Some(n) => {
            store.network_update(n.id, &desired).await?;
            Outcome::Updated
        }
    })
}

async fn apply_user(store: &dyn Store, entry: &UserEntry) -> Result<Outcome> {
    Ok(match store.user_by_name(&entry.username).await? {
        None => {
            store
                .user_create(&NewUser {
                    username: entry.username.clone(),
                    email: entry.email.clone(),
                    admin: entry.admin,
                    ssh_key: entry.ssh_key.clone().unwrap_or_default(),
                    password_hash: None,
                })
                .await?;
            Outcome::Created
        }
        Some(u) => {
            let update = UserUpdate {
                username: None,
                email: (u.email != entry.email).then(|| entry.email.clone()),
                admin: (u.admin != entry.admin).then_some(entry.admin),
                ssh_key: entry.ssh_key.clone().filter(|k| *k != u.ssh_key),
            };
            if update.email.is_none() && update.admin.is_none() && update.ssh_key.is_none() {
                Outcome::Unchanged
            } else {
                store.user_update(u.id, &update).await?;
                Outcome::Updated
            }
        }
    })
}

async fn apply_machine(
    store: &dyn Store,
    entry: &MachineEntry,
    report: &mut ApplyReport,
) -> Result<()> {
    let err = |field: Option<&str>, e| entry_error("machine", &entry.name, field, e);
    let arch = store
        .arch_by_name(&entry.arch)
        .await
        .map_err(|e| err(None, e))?
        .ok_or_else(|| {
            err(
                Some("arch"),
                Error::bad_request(format!("no arch named {:?}", entry.arch)),
            )
        })?;
    let subarch_id = match &entry.subarch {
        None => None,
        Some(name) => Some(
            store
                .subarch_by_name(arch.id, name)
                .await
                .map_err(|e| err(None, e))?
                .ok_or_else(|| {
                    err(
                        Some("subarch"),
                        Error::bad_request(format!(
                            "arch {} has no subarch named {name:?}",
                            arch.name
                        )),
                    )
                })?
                .id,
        ),
    };
    let bmc_id = match &entry.bmc {
        None => None,
        Some(name) => Some(
            store
                .bmc_by_name(name)
                .await
                .map_err(|e| err(None, e))?
                .ok_or_else(|| {
                    err(
                        Some("bmc"),
                        Error::bad_request(format!("no BMC named {name:?}")),
                    )
                })?
                .id,
        ),
    };
    let (machine_id, outcome) = match store
        .machine_by_name(&entry.name)
        .await
        .map_err(|e| err(None, e))?
    {
        None => {
            let mut new = NewMachine::named(entry.name.clone(), arch.id);
            new.subarch_id = subarch_id;
            new.bmc_id = bmc_id;
            new.bmc_info = entry.bmc_info.clone();
            (
                store
                    .machine_create(&new)
                    .await
                    .map_err(|e| err(None, e))?
                    .id,
                Outcome::Created,
            )
        }
        Some(m) => {
            // Only inventory fields are managed here; provisioning settings belong to the
            // machine's users.
            let mut new = NewMachine::from(&m);
            new.arch_id = arch.id;
            new.subarch_id = subarch_id;
            new.bmc_id = bmc_id;
            new.bmc_info = entry.bmc_info.clone();
            if new == NewMachine::from(&m) {
                (m.id, Outcome::Unchanged)
            } else {
                store
                    .machine_update(m.id, &new)
                    .await
                    .map_err(|e| err(None, e))?;
                (m.id, Outcome::Updated)
            }
        }
    };
    report.counts("machines").add(outcome);
    for intf in &entry.interface {
        let outcome = apply_interface(store, machine_id, intf)
            .await
            .map_err(|e| {
                entry_error(
                    "interface",
                    &format!("{}/{}", entry.name, intf.mac),
                    None,
                    e,
                )
            })?;
        report.counts("interfaces").add(outcome);
    }
    Ok(())
}

async fn apply_interface(
    store: &dyn Store,
    machine_id: MachineId,
    entry: &super::InterfaceEntry,
) -> Result<Outcome> {
    const IPV4: &str = "an IPv4 address";
    let mac: MacAddr = entry
        .mac
        .parse()
        .map_err(|e: crate::mac::MacParseError| Error::invalid("mac", e.to_string()))?;
    let network_id = match &entry.network {
        None => None,
        Some(name) => Some(
            store
                .network_by_name(name)
                .await?
                .ok_or_else(|| Error::invalid("network", format!("no network named {name:?}")))?
                .id,
        ),
    };
    let desired = NewInterface {
        machine_id,
        mac,
        identifier: entry.identifier.clone(),
        network_id,
        static_ipv4: parse_opt("static_ipv4", entry.static_ipv4.as_deref(), IPV4)?,
        reserved_ipv4: parse_opt("reserved_ipv4", entry.reserved_ipv4.as_deref(), IPV4)?,
    };
    Ok(match store.interface_by_mac(mac).await? {
        None => {
            store.interface_create(&desired).await?;
            Outcome::Created
        }
        Some(i) if NewInterface::from(&i) == desired => Outcome::Unchanged,
        Some(i) => {
            store.interface_update(i.id, &desired).await?;
            Outcome::Updated
        }
    })
}

async fn apply_assignment(store: &dyn Store, entry: &AssignmentEntry) -> Result<Outcome> {
    let machine = store
        .machine_by_name(&entry.machine)
        .await?
        .ok_or_else(|| {
            Error::invalid("machine", format!("no machine named {:?}", entry.machine))
        })?;
    let user = store
        .user_by_name(&entry.user)
        .await?
        .ok_or_else(|| Error::invalid("user", format!("no user named {:?}", entry.user)))?;
    Ok(match store.assignment_find(machine.id, user.id).await? {
        None => {
            store
                .assignment_create(&NewAssignment {
                    machine_id: machine.id,
                    user_id: user.id,
                    reason: entry.reason.clone(),
                    end: entry.until,
                })
                .await?;
            Outcome::Created
        }
        Some(a) if a.reason == entry.reason && a.end == entry.until => Outcome::Unchanged,
        Some(a) => {
            store
                .assignment_update(a.id, &entry.reason, entry.until)
                .await?;
            Outcome::Updated
        }
    })
}

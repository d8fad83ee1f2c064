//! Machines: reading them with their names, changing provisioning settings (assignees and
//! admins), and inventory changes (admins).

use serde_json::{Map, Value, json};

use super::{Caller, Provisioner};
use crate::error::{Error, Result};
use crate::id::{ArchId, BmcId, ImageId, MachineId, PreseedId};
use crate::model::event::EventKind;
use crate::model::image::{Image, ImageKind};
use crate::model::machine::{Machine, MachineSummary, NewMachine};
use crate::policy::Action;

/// A change to a machine's provisioning settings (`PUT /machine/{id}`): `None` leaves a
/// setting alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProvisioningChange {
    /// Netboot flag.
    pub netboot_enabled: Option<bool>,
    /// Subarch, by name within the machine's arch.
    pub subarch: Option<Option<String>>,
    /// Installer config.
    pub preseed_id: Option<Option<PreseedId>>,
    /// Kernel image.
    pub kernel_id: Option<Option<ImageId>>,
    /// Initrd image.
    pub initrd_id: Option<Option<ImageId>>,
    /// Kernel options.
    pub kernel_opts: Option<String>,
}

/// An administrator's change to a machine's inventory data.
#[derive(Debug, Clone, Default)]
pub struct MachineInventoryChange {
    /// New name.
    pub name: Option<String>,
    /// New arch, by name (the subarch is cleared if it belongs to the old arch).
    pub arch: Option<String>,
    /// New BMC, by id (`Some(None)` removes it).
    pub bmc_id: Option<Option<BmcId>>,
    /// New BMC info.
    pub bmc_info: Option<String>,
}

impl Provisioner {
    /// A machine with its arch and subarch names.
    pub async fn machine_summary(&self, id: MachineId) -> Result<MachineSummary> {
        let machine = self.store.machine_get(id).await?;
        self.summarize(machine).await
    }

    async fn summarize(&self, machine: Machine) -> Result<MachineSummary> {
        let arch = self.store.arch_get(machine.arch_id).await?.name;
        let subarch = match machine.subarch_id {
            Some(s) => Some(self.store.subarch_get(s).await?.name),
            None => None,
        };
        Ok(MachineSummary {
            machine,
            arch,
            subarch,
        })
    }

    /// Checks that `caller` may attach `image` as `kind` (the original's messages).
    fn usable_image(caller: &Caller, image: &Image, kind: ImageKind, label: &str) -> Result<()> {
        caller.check(
            Action::UseOwned {
                owner: image.owner_id == Some(caller.user.id),
                public: image.public,
            },
            &format!("not allowed to use {label}"),
        )?;
        if image.kind != kind {
            let article = if label == "initrd" { "an" } else { "a" };
            return Err(Error::invalid(
                format!("{label}_id"),
                format!("{label} is not {article} {label}"),
            ));
        }
        Ok(())
    }

    async fn image_for(
        &self,
        caller: &Caller,
        id: ImageId,
        kind: ImageKind,
        label: &str,
    ) -> Result<ImageId> {
        let image = match self.store.image_get(id).await {
            Ok(i) => i,
            Err(Error::NotFound { .. }) => {
                return Err(Error::invalid(
                    format!("{label}_id"),
                    format!("no such {label}"),
                ));
            }
            Err(e) => return Err(e),
        };
        Self::usable_image(caller, &image, kind, label)?;
        Ok(image.id)
    }

    /// Changes provisioning settings, in the original's order of checks: machine, permission
    /// (assignees and admins only: the original let anyone), subarch, installer config,
    /// kernel, initrd, then "netboot needs a bootloader" on the result.
    pub async fn update_provisioning(
        &self,
        caller: &Caller,
        id: MachineId,
        change: ProvisioningChange,
    ) -> Result<MachineSummary> {
        let machine = self.store.machine_get(id).await?;
        let assignee = self.is_assignee(caller, id).await?;
        caller.check(Action::EditProvisioning { assignee }, "Forbidden")?;
        let mut new = NewMachine::from(&machine);
        let arch = self.store.arch_get(machine.arch_id).await?;
        if let Some(subarch) = &change.subarch {
            let found = match subarch {
                Some(name) => self.store.subarch_by_name(arch.id, name).await?,
                None => None,
            };
            let sub = found.ok_or_else(|| {
                Error::invalid(
                    "subarch",
                    format!("no such subarch for architecture {}", arch.name),
                )
            })?;
            new.subarch_id = Some(sub.id);
        }
        if let Some(Some(pid)) = change.preseed_id {
            let preseed = match self.store.preseed_get(pid).await {
                Ok(p) => p,
                Err(Error::NotFound { .. }) => {
                    return Err(Error::invalid("preseed_id", "no such preseed"));
                }
                Err(e) => return Err(e),
            };
            caller.check(
                Action::UseOwned {
                    owner: preseed.owner_id == Some(caller.user.id),
                    public: preseed.public,
                },
                "not allowed to use preseed",
            )?;
        }
        if let Some(preseed) = change.preseed_id {
            new.preseed_id = preseed;
        }
        if let Some(kernel) = change.kernel_id {
            // `null` clears the kernel (the original crashed with a 500).
            new.kernel_id = match kernel {
                Some(k) => Some(
                    self.image_for(caller, k, ImageKind::Kernel, "kernel")
                        .await?,
                ),
                None => None,
            };
        }
        if let Some(initrd) = change.initrd_id {
            new.initrd_id = match initrd {
                Some(i) => Some(
                    self.image_for(caller, i, ImageKind::Initrd, "initrd")
                        .await?,
                ),
                None => None,
            };
        }
        if let Some(opts) = &change.kernel_opts {
            new.kernel_opts = opts.clone();
        }
        if let Some(n) = change.netboot_enabled {
            new.netboot_enabled = n;
        }
        if new.netboot_enabled {
            let has_bootloader = match new.subarch_id {
                Some(s) => self.store.subarch_get(s).await?.bootloader_id.is_some(),
                None => false,
            };
            if !has_bootloader {
                return Err(Error::invalid(
                    "netboot_enabled",
                    "Enabled netboot requires a subarch with a valid bootloader",
                ));
            }
        }
        let changed = changes(&machine, &new);
        let updated = if changed.is_empty() {
            machine
        } else {
            let updated = self.store.machine_update(id, &new).await?;
            self.event(
                id,
                Some(caller),
                EventKind::SettingsChange,
                Value::Object(changed),
            )
            .await;
            updated
        };
        self.summarize(updated).await
    }

    /// Creates a machine (administrators).
    pub async fn create_machine(&self, caller: &Caller, new: NewMachine) -> Result<MachineSummary> {
        caller.check(Action::ManageInventory, "Forbidden")?;
        let machine = self.store.machine_create(&new).await?;
        self.audit(
            caller,
            "machine.create",
            "machine",
            Some(machine.id.0),
            json!({"name": machine.name}),
        )
        .await;
        self.event(
            machine.id,
            Some(caller),
            EventKind::InventoryChange,
            json!({"created": true}),
        )
        .await;
        self.summarize(machine).await
    }

    /// Changes a machine's name, arch or BMC (administrators).
    pub async fn update_inventory(
        &self,
        caller: &Caller,
        id: MachineId,
        change: MachineInventoryChange,
    ) -> Result<MachineSummary> {
        caller.check(Action::ManageInventory, "Forbidden")?;
        let machine = self.store.machine_get(id).await?;
        let mut new = NewMachine::from(&machine);
        if let Some(name) = change.name {
            new.name = name;
        }
        if let Some(arch) = &change.arch {
            let arch_id: ArchId = self
                .store
                .arch_by_name(arch)
                .await?
                .ok_or_else(|| Error::invalid("arch", format!("no arch named {arch:?}")))?
                .id;
            if arch_id != machine.arch_id {
                // A subarch belongs to one arch: it cannot follow the machine to another.
                new.subarch_id = None;
                new.netboot_enabled = false;
            }
            new.arch_id = arch_id;
        }
        if let Some(bmc) = change.bmc_id {
            new.bmc_id = bmc;
            if bmc.is_none() {
                new.bmc_info.clear();
            }
        }
        if let Some(info) = change.bmc_info {
            new.bmc_info = info;
        }
        let changed = changes(&machine, &new);
        if changed.is_empty() {
            return self.summarize(machine).await;
        }
        let updated = self.store.machine_update(id, &new).await?;
        let detail = Value::Object(changed);
        self.audit(
            caller,
            "machine.update",
            "machine",
            Some(id.0),
            detail.clone(),
        )
        .await;
        self.event(id, Some(caller), EventKind::InventoryChange, detail)
            .await;
        self.summarize(updated).await
    }

    /// Deletes a machine with its interfaces, assignments and events (administrators).
    pub async fn delete_machine(&self, caller: &Caller, id: MachineId) -> Result<()> {
        caller.check(Action::ManageInventory, "Forbidden")?;
        let machine = self.store.machine_get(id).await?;
        self.store.machine_delete(id).await?;
        self.audit(
            caller,
            "machine.delete",
            "machine",
            Some(id.0),
            json!({"name": machine.name}),
        )
        .await;
        Ok(())
    }
}

/// The fields that differ between a machine and its new state, as `{field: new value}`.
fn changes(old: &Machine, new: &NewMachine) -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |k: &str, differs: bool, v: Value| {
        if differs {
            out.insert(k.into(), v);
        }
    };
    put("name", old.name != new.name, json!(new.name));
    put("arch_id", old.arch_id != new.arch_id, json!(new.arch_id));
    put(
        "subarch_id",
        old.subarch_id != new.subarch_id,
        json!(new.subarch_id),
    );
    put("bmc_id", old.bmc_id != new.bmc_id, json!(new.bmc_id));
    put(
        "bmc_info",
        old.bmc_info != new.bmc_info,
        json!(new.bmc_info),
    );
    put(
        "kernel_id",
        old.kernel_id != new.kernel_id,
        json!(new.kernel_id),
    );
    put(
        "initrd_id",
        old.initrd_id != new.initrd_id,
        json!(new.initrd_id),
    );
    put(
        "preseed_id",
        old.preseed_id != new.preseed_id,
        json!(new.preseed_id),
    );
    put(
        "kernel_opts",
        old.kernel_opts != new.kernel_opts,
        json!(new.kernel_opts),
    );
    put(
        "netboot_enabled",
        old.netboot_enabled != new.netboot_enabled,
        json!(new.netboot_enabled),
    );
    put("state", old.state != new.state, json!(new.state));
    out
}

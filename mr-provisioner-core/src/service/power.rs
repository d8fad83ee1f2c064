//! Power, boot device, provisioning, state and console: everything that reaches a BMC.

use std::sync::Arc;

use mr_provisioner_ipmi::{Bmc as Driver, BootDevice, PowerAction, PowerState};
use serde_json::json;

use super::bmc::with_deadline;
use super::{Caller, Provisioner};
use crate::auth;
use crate::error::{Error, Result};
use crate::id::MachineId;
use crate::model::bmc::Bmc;
use crate::model::event::EventKind;
use crate::model::machine::{Machine, MachineState, NewMachine};
use crate::model::now;
use crate::policy::Action;

/// What a machine's power looks like to the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowerStatus {
    /// On.
    On,
    /// Off.
    Off,
    /// The machine has no BMC.
    Unknown,
    /// The BMC did not answer properly (the message is logged and kept in an event).
    BmcError(String),
}

impl PowerStatus {
    /// The original's strings: `on`, `off`, `unknown`, `Unknown (BMC error)`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PowerStatus::On => "on",
            PowerStatus::Off => "off",
            PowerStatus::Unknown => "unknown",
            PowerStatus::BmcError(_) => "Unknown (BMC error)",
        }
    }
}

/// A power request of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerRequest {
    /// Power on.
    On,
    /// Power off (hard).
    Off,
    /// Restart: reset if on, power on if off.
    Reboot,
    /// Boot from the network next, then restart.
    PxeReboot,
    /// Boot into the firmware setup next, then restart.
    BiosReboot,
    /// Boot from disk next, then restart.
    DiskReboot,
}

impl PowerRequest {
    /// Every request, with its API name.
    pub const ALL: [(&'static str, PowerRequest); 6] = [
        ("on", PowerRequest::On),
        ("off", PowerRequest::Off),
        ("reboot", PowerRequest::Reboot),
        ("pxe_reboot", PowerRequest::PxeReboot),
        ("bios_reboot", PowerRequest::BiosReboot),
        ("disk_reboot", PowerRequest::DiskReboot),
    ];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map(|(n, _)| *n)
            .unwrap_or("on")
    }

    /// Parses an API name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, r)| *r)
    }
}

/// The word of the API for a power state.
fn power_word(state: PowerState) -> &'static str {
    match state {
        PowerState::On => "on",
        PowerState::Off => "off",
    }
}

/// The power state last seen of each machine (read from its BMC, or left by a power
/// request), to tell the changes nobody asked us for.
#[derive(Debug, Default)]
pub struct PowerSeen {
    seen: std::sync::Mutex<std::collections::HashMap<MachineId, PowerState>>,
}

impl PowerSeen {
    /// Records `state` for `id`; returns the state seen before, if any.
    pub fn observe(&self, id: MachineId, state: PowerState) -> Option<PowerState> {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, state)
    }
}

/// What a client needs to open a machine's console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleTicket {
    /// The host to connect to (`None`: the one the client already uses).
    pub host: Option<String>,
    /// The port.
    pub port: u16,
    /// A single-use token (48 hex characters).
    pub token: String,
}

/// A machine's BMC with its driver.
struct Controlled {
    bmc: Bmc,
    driver: Arc<dyn Driver>,
    efiboot: bool,
}

impl Provisioner {
    async fn controlled(&self, machine: &Machine) -> Result<Option<Controlled>> {
        let Some(bmc_id) = machine.bmc_id else {
            return Ok(None);
        };
        let bmc = self.store.bmc_get(bmc_id).await?;
        let driver = self.bmcs.connect(&bmc, &machine.bmc_info)?;
        let efiboot = match machine.subarch_id {
            Some(s) => self.store.subarch_get(s).await?.efiboot,
            None => false,
        };
        Ok(Some(Controlled {
            bmc,
            driver,
            efiboot,
        }))
    }

    /// The machine's power state; any user may read it.
    pub async fn power_status(&self, id: MachineId) -> Result<PowerStatus> {
        let machine = self.store.machine_get(id).await?;
        let Some(c) = self.controlled(&machine).await? else {
            return Ok(PowerStatus::Unknown);
        };
        Ok(match with_deadline(&c.bmc, c.driver.power_status()).await {
            Ok(state) => {
                if let Some(before) = self.power_seen.observe(id, state)
                    && before != state
                {
                    // Changed without us (the OS shut down, someone pressed the button).
                    self.event_later(
                        id,
                        EventKind::PowerChange,
                        json!({"power": power_word(state), "reason": "observed"}),
                    )
                    .await;
                }
                match state {
                    PowerState::On => PowerStatus::On,
                    PowerState::Off => PowerStatus::Off,
                }
            }
            Err(e) => {
                tracing::warn!(machine_id = %id, bmc = %c.bmc.name, error = %e, "power status failed");
                PowerStatus::BmcError(e.to_string())
            }
        })
    }

    /// Records the state a successful power request leaves the machine in, so that a later
    /// read that differs is reported as an observed change.
    fn power_expected(&self, id: MachineId, req: PowerRequest) {
        let state = match req {
            PowerRequest::Off => PowerState::Off,
            _ => PowerState::On,
        };
        self.power_seen.observe(id, state);
    }

    async fn restart(&self, c: &Controlled) -> Result<()> {
        // Reset only restarts a running machine; one that is off is powered on.
        let state = with_deadline(&c.bmc, c.driver.power_status()).await?;
        let action = match state {
            PowerState::On => PowerAction::Reset,
            PowerState::Off => PowerAction::On,
        };
        with_deadline(&c.bmc, c.driver.power(action)).await
    }

    async fn apply_power(&self, c: &Controlled, req: PowerRequest) -> Result<()> {
        let device = match req {
            PowerRequest::On => {
                return with_deadline(&c.bmc, c.driver.power(PowerAction::On)).await;
            }
            PowerRequest::Off => {
                return with_deadline(&c.bmc, c.driver.power(PowerAction::Off)).await;
            }
            PowerRequest::Reboot => return self.restart(c).await,
            PowerRequest::PxeReboot => BootDevice::Pxe,
            PowerRequest::BiosReboot => BootDevice::Bios,
            PowerRequest::DiskReboot => BootDevice::Disk,
        };
        with_deadline(&c.bmc, c.driver.set_boot_device(device, c.efiboot)).await?;
        self.restart(c).await
    }

    async fn operated(&self, caller: &Caller, id: MachineId) -> Result<Machine> {
        let machine = self.store.machine_get(id).await?;
        let assignee = self.is_assignee(caller, id).await?;
        caller.check(Action::Operate { assignee }, "Forbidden")?;
        Ok(machine)
    }

    /// Records a failed BMC call as an event and passes the error on.
    async fn bmc_failed(&self, caller: &Caller, id: MachineId, what: &str, e: Error) -> Error {
        if let Error::Bmc { message } = &e {
            self.event(
                id,
                Some(caller),
                EventKind::BmcError,
                json!({"action": what, "message": message}),
            )
            .await;
        }
        e
    }

    /// Performs a power request (assignees and admins) and returns the power state read
    /// right after it (which may not show the change yet: BMCs take time).
    pub async fn power(
        &self,
        caller: &Caller,
        id: MachineId,
        req: PowerRequest,
    ) -> Result<PowerStatus> {
        let machine = self.operated(caller, id).await?;
        let c = self
            .controlled(&machine)
            .await?
            .ok_or_else(|| Error::bad_request("power state changes require a BMC"))?;
        if let Err(e) = self.apply_power(&c, req).await {
            return Err(self.bmc_failed(caller, id, req.as_str(), e).await);
        }
        self.power_expected(id, req);
        self.event(
            id,
            Some(caller),
            EventKind::PowerChange,
            json!({"power": req.as_str()}),
        )
        .await;
        self.power_status(id).await
    }

    /// Starts a provision: checks that the machine can netboot, turns netboot on, sets the
    /// state to `provisioning` and PXE-reboots it (assignees and admins).
    pub async fn provision(&self, caller: &Caller, id: MachineId) -> Result<MachineState> {
        let machine = self.operated(caller, id).await?;
        if machine.bmc_id.is_none() {
            return Err(Error::bad_request("provisioning requires a BMC"));
        }
        if machine.kernel_id.is_none() {
            return Err(Error::bad_request("provisioning requires a kernel"));
        }
        let Some(subarch) = machine.subarch_id else {
            return Err(Error::bad_request("provisioning requires a subarch"));
        };
        if self
            .store
            .subarch_get(subarch)
            .await?
            .bootloader_id
            .is_none()
        {
            return Err(Error::bad_request(
                "provisioning requires the subarch to have a bootloader",
            ));
        }
        let c = self
            .controlled(&machine)
            .await?
            .ok_or_else(|| Error::bad_request("provisioning requires a BMC"))?;
        let mut new = NewMachine::from(&machine);
        new.netboot_enabled = true;
        new.state = MachineState::Provisioning;
        self.store.machine_update(id, &new).await?;
        self.event(
            id,
            Some(caller),
            EventKind::StateChange,
            json!({"state": "provisioning", "reason": "api"}),
        )
        .await;
        if let Err(e) = self.apply_power(&c, PowerRequest::PxeReboot).await {
            // The machine did not start: `error` says so, and the event says why.
            new.state = MachineState::Error;
            self.store.machine_update(id, &new).await?;
            self.event(
                id,
                Some(caller),
                EventKind::StateChange,
                json!({"state": "error", "reason": "the BMC failed to PXE-reboot the machine"}),
            )
            .await;
            return Err(self.bmc_failed(caller, id, "provision", e).await);
        }
        self.power_expected(id, PowerRequest::PxeReboot);
        self.event(
            id,
            Some(caller),
            EventKind::PowerChange,
            json!({"power": "pxe_reboot", "reason": "provision"}),
        )
        .await;
        Ok(MachineState::Provisioning)
    }

    /// Sets the state without side effects (assignees and admins): `ready`, `error` or
    /// `unknown`.
    pub async fn set_state(
        &self,
        caller: &Caller,
        id: MachineId,
        state: MachineState,
    ) -> Result<MachineState> {
        if state == MachineState::Provisioning {
            return Err(Error::invalid(
                "state",
                "use POST with `provision` to start provisioning",
            ));
        }
        let machine = self.operated(caller, id).await?;
        let mut new = NewMachine::from(&machine);
        new.state = state;
        self.store.machine_update(id, &new).await?;
        self.event(
            id,
            Some(caller),
            EventKind::StateChange,
            json!({"state": state.as_str(), "reason": "api"}),
        )
        .await;
        Ok(state)
    }

    /// Issues a single-use console token (assignees and admins), after closing any SOL
    /// session left open on the BMC.
    pub async fn console(&self, caller: &Caller, id: MachineId) -> Result<ConsoleTicket> {
        let machine = self.operated(caller, id).await?;
        let c = self
            .controlled(&machine)
            .await?
            .ok_or_else(|| Error::bad_request("console requires a BMC"))?;
        if let Err(error) = with_deadline(&c.bmc, c.driver.sol_deactivate()).await {
            // As the original: a stale session that cannot be closed is not fatal here.
            tracing::info!(machine_id = %id, %error, "SOL deactivate before console failed");
        }
        let token = auth::generate_console_token()
            .map_err(|e| Error::internal("cannot generate a console token", e))?;
        let ttl = chrono::TimeDelta::from_std(self.settings.console_token_ttl)
            .unwrap_or(chrono::TimeDelta::seconds(30));
        self.store
            .console_token_create(
                id,
                caller.user.id,
                &auth::hash_api_token(&token),
                now() + ttl,
            )
            .await?;
        Ok(ConsoleTicket {
            host: Some(self.settings.console_ext_host.clone()).filter(|h| !h.is_empty()),
            port: self.settings.console_ext_port,
            token,
        })
    }

    /// Powers a machine off after its reservation ended (best effort, recorded as events).
    pub(super) async fn power_off_after_expiry(&self, id: MachineId) {
        let result = async {
            let machine = self.store.machine_get(id).await?;
            match self.controlled(&machine).await? {
                Some(c) => with_deadline(&c.bmc, c.driver.power(PowerAction::Off)).await,
                None => Ok(()),
            }
        }
        .await;
        match result {
            Ok(()) => {
                self.event(
                    id,
                    None,
                    EventKind::PowerChange,
                    json!({"power": "off", "reason": "reservation expired"}),
                )
                .await
            }
            Err(e) => {
                self.event(
                    id,
                    None,
                    EventKind::BmcError,
                    json!({"action": "off", "message": e.to_string()}),
                )
                .await
            }
        }
    }
}

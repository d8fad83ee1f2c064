//! Use-cases: what a caller can do, with permission checks, validation, events and audit,
//! independent of HTTP. The server's handlers translate requests into these calls.

mod assignments;
mod bmc;
mod dhcp;
mod dhcp_cache;
mod events;
mod images;
mod interfaces;
mod machines;
mod netboot;
mod power;
mod preseeds;

use std::sync::Arc;
use std::time::Duration;

pub use assignments::{AssigneeRef, AssignmentView, ReservationRequest};
pub use bmc::{BmcConnector, ConnectorSettings, DEFAULT_BMC_TIMEOUT, DefaultConnector};
pub use dhcp::{
    DhcpAnswer, DhcpClientKind, HTTP_CLIENT_CLASS, KeaSubnet, Sighted, SubnetChoice, http_boot_url,
};
pub use dhcp_cache::DhcpCache;
pub use events::EventQueue;
pub use images::{ImageChange, ImageUpload};
pub use interfaces::{InterfaceChange, InterfaceView, IpChoice, available_ipv4s};
pub use machines::{MachineInventoryChange, ProvisioningChange};
pub use netboot::{AddressBook, BootClients, BootFile, TftpResolver};
pub use power::{ConsoleTicket, PowerRequest, PowerSeen, PowerStatus};
pub use preseeds::PreseedChange;

use crate::error::Result;
use crate::files::ImageFiles;
use crate::id::MachineId;
use crate::model::audit::NewAuditEntry;
use crate::model::event::{EventKind, NewEvent};
use crate::model::user::User;
use crate::policy::{self, Action, Actor};
use crate::store::Store;
use mr_provisioner_netboot::render::{JinjaRenderer, NetbootRenderer};

/// Settings the use-cases need from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a console token stays valid.
    pub console_token_ttl: Duration,
    /// Console host and port told to clients (the original's `wssubprocess` settings).
    pub console_ext_host: String,
    /// See `console_ext_host`.
    pub console_ext_port: u16,
    /// Largest image upload, in bytes.
    pub max_upload_size: u64,
    /// Power machines off when their reservation expires.
    pub power_off_on_expiry: bool,
    /// This server's URL as machines reach it (the original's `access_uri`): installers
    /// fetch `<public_url>/preseed/<id>`.
    pub public_url: String,
    /// A DNS server given to installers on the kernel command line (empty: none).
    pub preseed_dns: String,
    /// The TFTP server address told to machines (DHCP next-server).
    pub next_server: String,
    /// The boot file for netbooting machines whose subarch has no bootloader (empty: none).
    pub default_bootfile: String,
    /// How long a DHCP answer is reused (see [`DhcpCache`]); zero: always read the store.
    pub dhcp_answer_max_age: Duration,
}

impl Settings {
    /// The HTTP base of the boot tree (`<public_url>/boot`), for iPXE and UEFI HTTP boot.
    pub fn boot_url(&self) -> String {
        format!("{}/boot", self.public_url.trim_end_matches('/'))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            console_token_ttl: Duration::from_secs(30),
            console_ext_host: String::new(),
            console_ext_port: 8866,
            max_upload_size: 1 << 30,
            power_off_on_expiry: false,
            public_url: "http://127.0.0.1:5000".into(),
            preseed_dns: String::new(),
            next_server: "127.0.0.1".into(),
            default_bootfile: String::new(),
            dhcp_answer_max_age: Duration::from_secs(2),
        }
    }
}

/// The use-cases, over a store, a BMC connector and the image file store.
#[derive(Clone)]
pub struct Provisioner {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Reaches BMCs.
    pub bmcs: Arc<dyn BmcConnector>,
    /// Image files under the TFTP root.
    pub files: ImageFiles,
    /// Settings.
    pub settings: Settings,
    /// Renders boot and installer configs.
    pub renderer: Arc<dyn NetbootRenderer>,
    /// Client addresses that recently fetched a machine's boot config.
    pub boot_clients: Arc<BootClients>,
    /// Machines' addresses, for attributing served files to machines.
    pub address_book: Arc<AddressBook>,
    /// The power state last seen of each machine.
    pub power_seen: Arc<PowerSeen>,
    /// Machine events on their way to the store.
    pub events: EventQueue,
    /// Recent DHCP answers.
    pub dhcp_cache: Arc<DhcpCache>,
}

impl Provisioner {
    /// The use-cases over `store`, with the built-in boot config templates.
    pub fn new(
        store: Arc<dyn Store>,
        bmcs: Arc<dyn BmcConnector>,
        files: ImageFiles,
        settings: Settings,
    ) -> Self {
        Provisioner {
            store,
            bmcs,
            files,
            renderer: Arc::new(JinjaRenderer::new()),
            boot_clients: Arc::default(),
            address_book: Arc::default(),
            power_seen: Arc::default(),
            events: EventQueue::default(),
            dhcp_cache: Arc::new(DhcpCache::new(settings.dhcp_answer_max_age)),
            settings,
        }
    }

    /// The same with another renderer (templates overridden from a directory).
    pub fn with_renderer(mut self, renderer: Arc<dyn NetbootRenderer>) -> Self {
        self.renderer = renderer;
        self
    }
}

/// Who is calling: an authenticated user.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
}

impl Caller {
    /// The caller as the policy sees them.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user.id,
            admin: self.user.admin,
        }
    }

    /// Whether the caller is an administrator.
    pub fn is_admin(&self) -> bool {
        self.user.admin
    }

    /// Checks `action` against the policy; `Forbidden` with `message` if not allowed.
    pub fn check(&self, action: Action, message: &str) -> Result<()> {
        policy::check(&self.actor(), action, message)
    }
}

impl Provisioner {
    /// Whether `caller` is assigned `machine`.
    pub async fn is_assignee(&self, caller: &Caller, machine: MachineId) -> Result<bool> {
        Ok(self
            .store
            .assignment_find(machine, caller.user.id)
            .await?
            .is_some())
    }

    /// Records a machine event caused by `caller` (or by the system when `None`). A failure
    /// to record is logged, never returned: the change it describes has happened.
    pub async fn event(
        &self,
        machine_id: MachineId,
        caller: Option<&Caller>,
        kind: EventKind,
        info: serde_json::Value,
    ) {
        let new = NewEvent {
            user_id: caller.map(|c| c.user.id),
            username: caller.map(|c| c.user.username.clone()),
            ..NewEvent::system(machine_id, kind, info)
        };
        self.events.record(&self.store, new).await;
    }

    /// Records a machine event of the system without waiting for it to be stored (the
    /// network-boot path: a booting machine is not kept waiting on the event log).
    /// [`EventQueue::flush`] waits for such events.
    pub async fn event_later(
        &self,
        machine_id: MachineId,
        kind: EventKind,
        info: serde_json::Value,
    ) {
        self.events
            .record_later(&self.store, NewEvent::system(machine_id, kind, info))
            .await;
    }

    /// Queues a system event that happened at `date` (before now), like
    /// [`Provisioner::event_later`].
    pub async fn event_dated(
        &self,
        machine_id: MachineId,
        kind: EventKind,
        info: serde_json::Value,
        date: crate::model::Timestamp,
    ) {
        let new = NewEvent {
            date: Some(date),
            ..NewEvent::system(machine_id, kind, info)
        };
        self.events.record_later(&self.store, new).await;
    }

    /// Writes an audit record of an administrative change by `caller`. Logged on failure.
    pub async fn audit(
        &self,
        caller: &Caller,
        action: &str,
        target_kind: &str,
        target_id: Option<i64>,
        detail: serde_json::Value,
    ) {
        let new = NewAuditEntry {
            actor_id: Some(caller.user.id),
            actor: caller.user.username.clone(),
            action: action.into(),
            target_kind: target_kind.into(),
            target_id,
            detail,
        };
        if let Err(error) = self.store.audit_record(&new).await {
            tracing::warn!(action, %error, "could not write an audit record");
        }
    }
}

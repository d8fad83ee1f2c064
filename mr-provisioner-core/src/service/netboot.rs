//! Network boot: what a booting machine fetches (over TFTP, the original's TFTP-to-HTTP
//! proxy, or HTTP boot) and the installer config it fetches after.
//!
//! One function answers every boot-file name, whatever the transport, so TFTP and HTTP
//! always give the same answer: a file under the TFTP root if one exists, else a boot config
//! rendered for the machine the name designates (by MAC), else "not found" so the
//! bootloader goes on to its next name.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mr_provisioner_netboot::bootfile::{self, ConfigKey, Loader};
use mr_provisioner_netboot::path::{self, OpenError, SafePath};
use mr_provisioner_netboot::render::{
    BootContext, BootMode, BootView, ImageView, InstallerContext, InterfaceView, RenderError,
    ServerView,
};
use mr_provisioner_netboot::{installer_kernel_options, tftp};
use serde_json::json;

use super::Provisioner;
use crate::error::{Error, Result};
use crate::id::{ImageId, MachineId};
use crate::mac::MacAddr;
use crate::model::event::EventKind;
use crate::model::machine::{BootImage, BootTarget, Machine, MachineState, NewMachine};

/// What a boot-file name resolves to.
#[derive(Debug)]
pub enum BootFile {
    /// A regular file under the TFTP root (a bootloader, a kernel, an initrd, ...).
    File {
        /// Open for reading, at its start.
        file: tokio::fs::File,
        /// Its size in bytes.
        size: u64,
        /// Its path relative to the root.
        path: SafePath,
    },
    /// A boot config rendered for a machine (or the local-boot config for a default name).
    Config {
        /// The config text.
        text: String,
        /// Which bootloader it is for.
        loader: Loader,
        /// The machine it was rendered for (`None`: a default name).
        machine: Option<MachineId>,
    },
}

/// How long a client address stays associated with the machine that fetched its boot config
/// from it, so that the files it fetches next (kernel, initrd) are recorded as its events.
const CLIENT_MEMORY: Duration = Duration::from_secs(15 * 60);
/// Bound on remembered client addresses (the oldest half is dropped past it).
const CLIENT_MEMORY_MAX: usize = 65_536;

/// `info` of a `TFTP_REQ` event, with `"via": "http"` when the request came over HTTP
/// (TFTP requests keep the original's shape).
fn via(mut info: serde_json::Value, over_http: bool) -> serde_json::Value {
    if over_http {
        info["via"] = json!("http");
    }
    info
}

/// How long the address book of [`Provisioner::boot_file`] is used before it is read again.
const ADDRESS_BOOK_AGE: Duration = Duration::from_secs(5);

/// Each known address with the machine and the interface (MAC) that hold it.
type Addresses = HashMap<std::net::Ipv4Addr, (MachineId, MacAddr)>;

/// Addresses of machines' interfaces (static, reserved, leased), read from the store when a
/// file is served to an address that fetched no config (a bootloader is fetched first).
#[derive(Debug, Default)]
pub struct AddressBook {
    book: Mutex<Option<(Instant, Addresses)>>,
}

impl AddressBook {
    /// `Some(machine or None)` while the book is fresh; `None` when it must be read.
    fn lookup(&self, ip: std::net::Ipv4Addr) -> Option<Option<(MachineId, MacAddr)>> {
        let book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        match &*book {
            Some((at, map)) if at.elapsed() < ADDRESS_BOOK_AGE => Some(map.get(&ip).copied()),
            _ => None,
        }
    }

    fn replace(&self, map: Addresses) {
        *self.book.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), map));
    }

    /// Forgets the book (a change of interfaces or leases).
    pub fn forget(&self) {
        *self.book.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Client addresses that recently fetched a machine's boot config.
#[derive(Debug, Default)]
pub struct BootClients {
    seen: Mutex<HashMap<IpAddr, (MachineId, Instant)>>,
}

impl BootClients {
    fn remember(&self, ip: IpAddr, machine: MachineId) {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= CLIENT_MEMORY_MAX {
            seen.retain(|_, (_, at)| now.duration_since(*at) < CLIENT_MEMORY / 2);
        }
        seen.insert(ip, (machine, now));
    }

    fn machine_of(&self, ip: IpAddr) -> Option<MachineId> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(&ip)
            .filter(|(_, at)| at.elapsed() < CLIENT_MEMORY)
            .map(|(m, _)| *m)
    }
}

fn render_failure(e: RenderError) -> Error {
    Error::Internal {
        message: format!("boot config template: {e}"),
        source: None,
    }
}

impl Provisioner {
    /// Resolves a boot-file name as a bootloader asked for it (leading `/` allowed), from
    /// `client` (the machine's address, when known).
    ///
    /// - Names that are not plain relative paths (`..`, backslashes, control characters)
    ///   are refused with [`Error::Forbidden`]; nothing outside the TFTP root is ever read.
    /// - An existing regular file is served (a symlink only if it stays inside the root).
    /// - A boot-config name (see [`bootfile::parse`]) that designates a known machine by
    ///   MAC gets that machine's config (netboot or local, per its netboot flag) and records
    ///   a `TFTP_REQ` event; a default name (`pxelinux.cfg/default`, `grub.cfg`, ...) gets
    ///   the local-boot config.
    /// - Anything else, unknown MACs included, is [`Error::NotFound`], so the bootloader
    ///   tries its next name.
    pub async fn boot_file(&self, requested: &str, client: Option<IpAddr>) -> Result<BootFile> {
        self.boot_file_via(requested, client, false).await
    }

    /// [`Provisioner::boot_file`] for a request made over HTTP (`over_http`: UEFI HTTP boot
    /// and iPXE fetching `/boot/`), whose GRUB configs load the kernel and initrd over HTTP
    /// too.
    pub async fn boot_file_via(
        &self,
        requested: &str,
        client: Option<IpAddr>,
        over_http: bool,
    ) -> Result<BootFile> {
        let path = path::normalise(requested).map_err(|e| Error::Forbidden {
            message: format!("refused file name: {e}"),
        })?;
        match path::open_beneath(self.files.root(), &path).await {
            Ok((file, size)) => {
                self.file_served(client, &path, over_http).await;
                return Ok(BootFile::File { file, size, path });
            }
            Err(OpenError::NotFound) => {}
            Err(OpenError::Denied(why)) => {
                return Err(Error::Forbidden {
                    message: format!("refused file name: {why}"),
                });
            }
            Err(OpenError::Io(e)) => {
                return Err(Error::Internal {
                    message: format!("reading {path}"),
                    source: Some(Box::new(e)),
                });
            }
        }
        let not_found = || Error::NotFound {
            kind: "file",
            key: path.to_string(),
        };
        let Some(request) = bootfile::parse(requested) else {
            return match self.by_upload_name(&path).await? {
                Some(stored) => match path::open_beneath(self.files.root(), &stored).await {
                    Ok((file, size)) => {
                        self.file_served(client, &stored, over_http).await;
                        Ok(BootFile::File {
                            file,
                            size,
                            path: stored,
                        })
                    }
                    Err(_) => Err(not_found()),
                },
                None if over_http && bootfile::is_grub_module_list(path.as_str()) => {
                    Ok(BootFile::Config {
                        text: String::new(),
                        loader: Loader::Grub,
                        machine: None,
                    })
                }
                None => {
                    self.file_missing(client, &path, over_http).await;
                    Err(not_found())
                }
            };
        };
        let target = match request.key {
            // GRUB started by UEFI HTTP boot knows no MAC of its own (the firmware tells it
            // none), so it asks for its default config: over HTTP, the address it asks from
            // says which machine it is.
            ConfigKey::Default if over_http && request.loader == Loader::Grub => {
                let asking = match client {
                    Some(ip) => self.machine_at(ip).await,
                    None => None,
                };
                match asking {
                    Some((_, mac)) => self.store.machine_boot_by_mac(mac).await?.map(|t| (t, mac)),
                    None => None,
                }
            }
            ConfigKey::Default => None,
            ConfigKey::Mac(octets) => {
                let mac = MacAddr(octets);
                let target = self
                    .store
                    .machine_boot_by_mac(mac)
                    .await?
                    .ok_or_else(not_found)?;
                Some((target, mac))
            }
            // Neither is stored for a machine: the bootloader goes on to its MAC or default
            // name (as the original did).
            ConfigKey::Uuid(_) | ConfigKey::HexIp(_) => return Err(not_found()),
        };
        let server = ServerView {
            over_http,
            ..self.server_view()
        };
        let (mode, view) = match &target {
            None => (BootMode::Local, None),
            Some((target, mac)) => {
                let machine = &target.machine;
                self.event_later(
                    machine.id,
                    EventKind::TftpRequest,
                    via(json!({"filename": path.as_str()}), over_http),
                )
                .await;
                if let Some(ip) = client {
                    self.boot_clients.remember(ip, machine.id);
                }
                let mode = if machine.netboot_enabled {
                    BootMode::Netboot
                } else {
                    BootMode::Local
                };
                (mode, Some(self.boot_view(target, *mac)))
            }
        };
        let text = self
            .renderer
            .boot_config(
                request.loader,
                mode,
                &BootContext {
                    machine: view.as_ref(),
                    server: &server,
                },
            )
            .map_err(render_failure)?;
        Ok(BootFile::Config {
            text,
            loader: request.loader,
            machine: target.map(|(t, _)| t.machine.id),
        })
    }

    /// Records a `TFTP_REQ` event with `"error": "file not found"` when a machine asks for
    /// one of its own boot files (its bootloader, kernel or initrd) and it is not under the
    /// root: the image's file was lost, and the machine cannot boot. Other missing names are
    /// bootloaders probing (GRUB's module lists, pxelinux's modules) and are not news.
    async fn file_missing(&self, client: Option<IpAddr>, path: &SafePath, over_http: bool) {
        let Some(ip) = client else { return };
        let Some((machine, mac)) = self.machine_at(ip).await else {
            return;
        };
        let Ok(Some(target)) = self.store.machine_boot_by_mac(mac).await else {
            return;
        };
        let name = path.as_str();
        let own = target.bootloader.as_deref() == Some(name)
            || target.kernel.as_ref().is_some_and(|k| k.filename == name)
            || target.initrd.as_ref().is_some_and(|i| i.filename == name);
        if own {
            tracing::warn!(machine_id = %machine, file = name, client = %ip, "a machine's boot file is missing from the TFTP root");
            self.event_later(
                machine,
                EventKind::TftpRequest,
                via(
                    json!({"filename": name, "error": "file not found"}),
                    over_http,
                ),
            )
            .await;
        }
    }

    /// Records a `TFTP_REQ` event for a file served to `client` when the address belongs to
    /// a machine: one that fetched its boot config from it lately, else one whose interface
    /// has it as its static, reserved or leased address (so a bootloader, fetched before
    /// any config, is attributed too).
    async fn file_served(&self, client: Option<IpAddr>, path: &SafePath, over_http: bool) {
        let Some(ip) = client else { return };
        let machine = match self.boot_clients.machine_of(ip) {
            Some(m) => Some(m),
            None => self.machine_at(ip).await.map(|(m, _)| m),
        };
        if let Some(machine) = machine {
            self.event_later(
                machine,
                EventKind::TftpRequest,
                via(json!({"filename": path.as_str(), "file": true}), over_http),
            )
            .await;
        }
    }

    /// The machine whose interface has `ip` (static, reserved, or leased), with that
    /// interface's MAC, from an address book read again at most every [`ADDRESS_BOOK_AGE`];
    /// `None` on a store error (an event is not worth failing a boot for).
    async fn machine_at(&self, ip: IpAddr) -> Option<(MachineId, MacAddr)> {
        let IpAddr::V4(v4) = ip else { return None };
        if let Some(found) = self.address_book.lookup(v4) {
            return found;
        }
        let read = async {
            let targets = self.store.machine_boot_list().await?;
            let leases = self.store.lease_list().await?;
            Ok::<_, Error>((targets, leases))
        };
        match read.await {
            Ok((targets, leases)) => {
                let by_mac: HashMap<MacAddr, MachineId> = targets
                    .iter()
                    .map(|(mac, t)| (*mac, t.machine.id))
                    .collect();
                let mut book = HashMap::new();
                for lease in &leases {
                    if let (Some(addr), Some(m)) = (lease.ipv4, by_mac.get(&lease.mac)) {
                        book.insert(addr, (*m, lease.mac));
                    }
                }
                for (mac, t) in &targets {
                    for addr in [t.reserved_ipv4, t.static_ipv4].into_iter().flatten() {
                        book.insert(addr, (t.machine.id, *mac));
                    }
                }
                self.address_book.replace(book);
                self.address_book.lookup(v4).flatten()
            }
            Err(error) => {
                tracing::warn!(%error, client = %ip, "cannot read the machines' addresses");
                None
            }
        }
    }

    /// The stored bootloader uploaded as `path`: `<dir>/<name>` designates the newest
    /// bootloader image stored as `<dir>/<name>.<8 hex digits>` (how uploads are named).
    /// This is how a bootloader finds the files it loads from beside itself by their own
    /// names: pxelinux's `ldlinux.c32` and modules, GRUB's `grub.cfg`-less modules.
    async fn by_upload_name(&self, path: &SafePath) -> Result<Option<SafePath>> {
        let wanted = path.as_str();
        // Uploads live in directories of the root: a name in a directory that does not
        // exist (GRUB's `grub/x86_64-efi/*.lst` probes, say) names no upload, and costs no
        // query.
        let dir = wanted.rsplit_once('/').map_or("", |(d, _)| d);
        if !tokio::fs::metadata(self.files.root().join(dir))
            .await
            .is_ok_and(|m| m.is_dir())
        {
            return Ok(None);
        }
        let prefix = format!("{wanted}.");
        let images = self.store.image_list(crate::store::Visibility::All).await?;
        let best = images
            .into_iter()
            .filter(|i| i.kind == crate::model::image::ImageKind::Bootloader)
            .filter(|i| {
                i.filename.strip_prefix(&prefix).is_some_and(|suffix| {
                    suffix.len() == 8 && suffix.bytes().all(|b| b.is_ascii_hexdigit())
                })
            })
            .max_by_key(|i| (i.created_at, i.id));
        Ok(best.and_then(|i| path::normalise(&i.filename).ok()))
    }

    fn server_view(&self) -> ServerView {
        ServerView {
            boot_url: self.settings.boot_url(),
            tftp_server: self.settings.next_server.clone(),
            over_http: false,
        }
    }

    async fn image_view(&self, id: Option<ImageId>) -> Result<Option<ImageView>> {
        let Some(id) = id else { return Ok(None) };
        match self.store.image_get(id).await {
            Ok(image) => Ok(Some(ImageView {
                filename: image.filename,
                description: image.description.unwrap_or_default(),
                known_good: image.known_good,
            })),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The URL an installer fetches `machine`'s installer config from.
    pub fn installer_url(&self, machine: MachineId) -> String {
        format!(
            "{}/preseed/{machine}",
            self.settings.public_url.trim_end_matches('/')
        )
    }

    fn boot_view(&self, target: &BootTarget, mac: MacAddr) -> BootView {
        let machine = &target.machine;
        let image = |i: &Option<BootImage>| {
            i.as_ref().map(|i| ImageView {
                filename: i.filename.clone(),
                description: i.description.clone().unwrap_or_default(),
                known_good: i.known_good,
            })
        };
        BootView {
            id: machine.id.get(),
            name: machine.name.clone(),
            hostname: machine.hostname(),
            mac: mac.to_string(),
            arch: target.arch.clone(),
            subarch: target.subarch.clone().unwrap_or_default(),
            efi: target.efiboot,
            kernel: image(&target.kernel),
            initrd: image(&target.initrd),
            kernel_opts: machine.kernel_opts.clone(),
            installer_opts: target
                .installer
                .map(|kind| {
                    installer_kernel_options(
                        kind,
                        &self.installer_url(machine.id),
                        &self.settings.preseed_dns,
                    )
                })
                .unwrap_or_default(),
        }
    }

    /// Renders `machine`'s installer config (preseed, kickstart or autoyast) for the
    /// installer at `client`, recording a `PRESEED_ACCESS` event.
    ///
    /// The template is the user's: it is rendered in a sandbox with the original's variables
    /// (`ssh_key`, `ssh_keys`, `hostname`, `interfaces`, `kernel`, `initrd`,
    /// `kernel_options`). Each undefined variable renders empty and records a
    /// `PRESEED_ERROR` event; a syntax or rendering error records one too and is an
    /// [`Error::InvalidRequest`] whose message is the original's (`Syntax error on preseed
    /// template: <msg> - line: <n>`). A machine without an installer config, or an unknown
    /// machine, is [`Error::NotFound`].
    pub async fn installer_config(&self, id: MachineId, client: Option<IpAddr>) -> Result<String> {
        let machine = self.store.machine_get(id).await?;
        let not_found = || Error::NotFound {
            kind: "installer config",
            key: id.to_string(),
        };
        let preseed_id = machine.preseed_id.ok_or_else(not_found)?;
        let preseed = match self.store.preseed_get(preseed_id).await {
            Err(Error::NotFound { .. }) => return Err(not_found()),
            other => other?,
        };
        let client_ip = client.map(|ip| ip.to_string()).unwrap_or_default();
        self.event(
            id,
            None,
            EventKind::PreseedAccess,
            json!({"client_ip": client_ip}),
        )
        .await;
        let ctx = self.installer_context(&machine).await?;
        let source = preseed.content.unwrap_or_default();
        let error_event = |message: String, line: usize| {
            self.event(
                id,
                None,
                EventKind::PreseedError,
                json!({"client_ip": client_ip, "message": message, "lineno": line}),
            )
        };
        match self.renderer.installer_config(&source, &ctx) {
            Ok(rendered) => {
                for issue in rendered.undefined {
                    error_event(issue.message, issue.line.unwrap_or(0)).await;
                }
                if machine.state == MachineState::Provisioning {
                    self.installer_started(&machine).await?;
                }
                Ok(rendered.text)
            }
            Err(RenderError::Syntax { message, line }) => {
                error_event(message.clone(), line).await;
                Err(Error::InvalidRequest {
                    field: None,
                    message: format!("Syntax error on preseed template: {message} - line: {line}"),
                })
            }
            Err(e) => {
                let (message, line) = match e {
                    RenderError::Failed { message, line } => (message, line.unwrap_or(0)),
                    other => (other.to_string(), 0),
                };
                error_event(message.clone(), line).await;
                Err(Error::InvalidRequest {
                    field: None,
                    message: format!(
                        "Exception raised while rendering preseed template: {message}"
                    ),
                })
            }
        }
    }

    /// A machine being provisioned fetched its installer config: the provision is in the
    /// installer's hands now, so the machine leaves `provisioning` for `ready`.
    async fn installer_started(&self, machine: &Machine) -> Result<()> {
        let mut new = NewMachine::from(machine);
        new.state = MachineState::Ready;
        self.store.machine_update(machine.id, &new).await?;
        self.event(
            machine.id,
            None,
            EventKind::StateChange,
            json!({"state": "ready", "reason": "installer config fetched"}),
        )
        .await;
        Ok(())
    }

    async fn installer_context(&self, machine: &Machine) -> Result<InstallerContext> {
        let mut ssh_keys = Vec::new();
        for a in self.store.assignment_list_for_machine(machine.id).await? {
            match self.store.user_get(a.user_id).await {
                Ok(user) => ssh_keys.push(user.ssh_key),
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let mut interfaces = Vec::new();
        for iface in self.store.interface_list_for_machine(machine.id).await? {
            let (Some(ip), Some(network_id)) = (iface.static_ipv4, iface.network_id) else {
                continue;
            };
            let network = match self.store.network_get(network_id).await {
                Ok(n) => n,
                // The original crashed here (B-list: a static address whose network was
                // deleted); the interface is left out instead.
                Err(Error::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            interfaces.push(InterfaceView {
                name: iface.identifier.clone().unwrap_or_default(),
                static_ipv4: ip.to_string(),
                prefix: network.subnet.prefix_len(),
                netmask: network.subnet.netmask().to_string(),
                mac: iface.mac.to_string(),
            });
        }
        Ok(InstallerContext {
            ssh_key: ssh_keys.first().cloned().unwrap_or_default(),
            ssh_keys,
            hostname: machine.hostname(),
            interfaces,
            kernel: self.image_view(machine.kernel_id).await?,
            initrd: self.image_view(machine.initrd_id).await?,
            kernel_options: machine.kernel_opts.clone(),
        })
    }
}

/// The TFTP server's view of the provisioner: every read request goes through
/// [`Provisioner::boot_file`], so TFTP answers exactly as the HTTP endpoints do.
#[derive(Clone)]
pub struct TftpResolver {
    provisioner: std::sync::Arc<Provisioner>,
}

impl TftpResolver {
    /// A resolver over `provisioner`.
    pub fn new(provisioner: std::sync::Arc<Provisioner>) -> Self {
        TftpResolver { provisioner }
    }
}

#[async_trait::async_trait]
impl tftp::Resolver for TftpResolver {
    async fn resolve(
        &self,
        request: &tftp::ReadRequest,
    ) -> std::result::Result<tftp::Content, tftp::ResolveError> {
        match self
            .provisioner
            .boot_file(&request.filename, Some(request.client.ip()))
            .await
        {
            Ok(BootFile::File { file, size, .. }) => Ok(tftp::Content::File { file, size }),
            Ok(BootFile::Config { text, .. }) => Ok(tftp::Content::Bytes(text.into())),
            Err(Error::NotFound { .. }) => Err(tftp::ResolveError::NotFound),
            Err(Error::Forbidden { message }) => Err(tftp::ResolveError::Denied(message)),
            Err(e) => {
                tracing::warn!(file = %request.filename, client = %request.client, error = %e, "TFTP request failed");
                Err(tftp::ResolveError::Failed("internal error".into()))
            }
        }
    }
}

//! Rendering of boot-loader configs (GRUB, pxelinux, iPXE) and user-written installer configs.
//!
//! [`JinjaRenderer`] is the [`NetbootRenderer`] on minijinja. Its six boot templates
//! ([`TEMPLATE_NAMES`]) are embedded and compiled once; any of them can be replaced by a file
//! of the same name in an override directory ([`JinjaRenderer::with_overrides`]).
//!
//! # Boot templates
//!
//! Rendered with these variables (undefined names and attributes render as empty, as with the
//! original's Jinja2):
//!
//! * `machine`: `none` for an unknown machine or a default request (only the local templates
//!   see that), else an object with
//!   * `id`, `name`, `hostname`, `arch`, `subarch`, `efi` (bool),
//!   * `mac`: the asking interface as `aa:bb:cc:dd:ee:ff`, or `""` when not known,
//!   * `bootif`: the `BOOTIF` value for that MAC (`01-aa-bb-cc-dd-ee-ff`), or `""`,
//!   * `kernel`, `initrd`: `none` or `{filename, description, known_good}`; `filename` is
//!     relative to the TFTP root,
//!   * `kernel_opts`: the user's own options; `installer_opts`: the options pointing an
//!     installer at its config (see [`crate::installer_kernel_options`]); both on one line
//!     (control characters become spaces, so options cannot inject config directives),
//!   * `kernel_opts_all(config)`: the original's composition, kept for old override
//!     templates: `installer_opts + " " + kernel_opts`, always with that one space. It does
//!     not carry `BOOTIF`, which is why the original's pxelinux template added it with
//!     `ipappend 2`, after any `---`.
//! * `server`: `boot_url` (HTTP base of the boot tree, no trailing `/`) and `tftp_server`.
//! * `config`: an empty map, so the original's `machine.kernel_opts_all(config)` works. The
//!   original passed its whole configuration, secrets included; this passes nothing.
//! * `loader`: `"grub"`, `"pxelinux"` or `"ipxe"`.
//! * the function `kernel_command_line(installer_opts, bootif, user_opts)`, the same as
//!   [`kernel_command_line`]: installer options, then `BOOTIF=<bootif>`, then the user's
//!   options, so that a `---` in the user's options (debian-installer's separator between its
//!   own options and the installed system's) cannot swallow `BOOTIF`.
//!
//! A rendered boot config always ends with a newline.
//!
//! # Installer templates
//!
//! Preseed, kickstart and AutoYaST files are written by users. They are rendered in a sandbox
//! ([`NetbootRenderer::installer_config`]): no loader (`include`, `import` and `extends` fail
//! with a clear error), a fuel limit, a cap on the output size, and nothing in scope but the
//! [`InstallerContext`] fields and minijinja's built-in filters, tests and functions.
//! Undefined variables and attributes render as empty and are reported in
//! [`Rendered::undefined`], with their line.

mod boot;
mod sandbox;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

use crate::bootfile::Loader;

pub use sandbox::SandboxLimits;

/// Which boot template family to use for a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootMode {
    /// Boot the machine's kernel and initrd over the network.
    Netboot,
    /// Leave the network boot loader and boot from the next device (the local disk).
    Local,
}

impl BootMode {
    /// The word used in template names: `netboot` or `local`.
    pub fn as_str(self) -> &'static str {
        match self {
            BootMode::Netboot => "netboot",
            BootMode::Local => "local",
        }
    }
}

/// An image (kernel or initrd) as templates see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageView {
    /// Path relative to the TFTP root (also the path under the HTTP boot tree).
    pub filename: String,
    /// The owner's description.
    pub description: String,
    /// Whether the image is marked known good.
    pub known_good: bool,
}

/// A machine as the boot templates see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BootView {
    /// The machine's ID.
    pub id: i64,
    /// The machine's name.
    pub name: String,
    /// The host name derived from the name.
    pub hostname: String,
    /// The asking interface, `aa:bb:cc:dd:ee:ff`, or `""` when not known.
    pub mac: String,
    /// Architecture name.
    pub arch: String,
    /// Sub-architecture name.
    pub subarch: String,
    /// Whether the machine boots with UEFI.
    pub efi: bool,
    /// The kernel to boot, if any.
    pub kernel: Option<ImageView>,
    /// The initrd, if any.
    pub initrd: Option<ImageView>,
    /// The user's own kernel options.
    pub kernel_opts: String,
    /// What [`crate::installer_kernel_options`] gave, `""` without an installer config.
    pub installer_opts: String,
}

/// The server as the boot templates see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerView {
    /// HTTP base of the boot tree, e.g. `http://10.0.0.1:5000/boot` (a trailing `/` is
    /// removed before rendering).
    pub boot_url: String,
    /// The next-server (TFTP) address.
    pub tftp_server: String,
    /// Whether the config is being fetched over HTTP (HTTP boot), so that GRUB loads the
    /// kernel and initrd the same way: `($root)/boot/...` (the HTTP device of its prefix)
    /// instead of `(tftp)/...`.
    pub over_http: bool,
}

/// Everything a boot template is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct BootContext<'a> {
    /// The machine, or `None` for an unknown machine or a default request.
    pub machine: Option<&'a BootView>,
    /// The server.
    pub server: &'a ServerView,
}

/// A statically configured interface, as installer templates see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InterfaceView {
    /// The interface identifier (e.g. `eth0`).
    pub name: String,
    /// The static IPv4 address.
    pub static_ipv4: String,
    /// The network's prefix length.
    pub prefix: u8,
    /// The network's netmask, dotted.
    pub netmask: String,
    /// The interface's MAC, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
}

/// The variables of an installer template (the original's, §3.11 of the spec).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InstallerContext {
    /// The first assignee's SSH key, or `""`.
    pub ssh_key: String,
    /// Every assignee's SSH key.
    pub ssh_keys: Vec<String>,
    /// The machine name with every character outside `[A-Za-z0-9]` replaced by `-`.
    pub hostname: String,
    /// Interfaces with a static IPv4 address.
    pub interfaces: Vec<InterfaceView>,
    /// The kernel, if any.
    pub kernel: Option<ImageView>,
    /// The initrd, if any.
    pub initrd: Option<ImageView>,
    /// The machine's own kernel options (without the installer's).
    pub kernel_options: String,
}

/// Something wrong in a template that did not stop rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateIssue {
    /// What is wrong, e.g. "`foo` is undefined".
    pub message: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
}

impl fmt::Display for TemplateIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A rendered installer config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The rendered text.
    pub text: String,
    /// Undefined variables and attributes met while rendering (they rendered as empty), in
    /// the order they were met.
    pub undefined: Vec<TemplateIssue>,
}

/// Why a template could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The template does not parse.
    #[error("syntax error on line {line}: {message}")]
    Syntax {
        /// The parser's message.
        message: String,
        /// The 1-based line.
        line: usize,
    },
    /// Rendering failed: fuel or output size exhausted, a refused `include`, a bad filter use…
    #[error("rendering failed{}: {message}", on_line(*.line))]
    Failed {
        /// What failed.
        message: String,
        /// The 1-based line, when known.
        line: Option<usize>,
    },
    /// An override template could not be read or parsed.
    #[error("template {name}: {message}")]
    Template {
        /// The template's file name (one of [`TEMPLATE_NAMES`]) or the override directory.
        name: String,
        /// Why.
        message: String,
    },
}

fn on_line(line: Option<usize>) -> String {
    line.map(|l| format!(" on line {l}")).unwrap_or_default()
}

/// The boot templates, `<loader>.<mode>.tmpl`; also the file names an override directory may
/// hold.
pub const TEMPLATE_NAMES: [&str; 6] = [
    "grub.netboot.tmpl",
    "grub.local.tmpl",
    "pxelinux.netboot.tmpl",
    "pxelinux.local.tmpl",
    "ipxe.netboot.tmpl",
    "ipxe.local.tmpl",
];

/// The name of the boot template for `loader` in `mode`.
pub fn template_name(loader: Loader, mode: BootMode) -> &'static str {
    match (loader, mode) {
        (Loader::Grub, BootMode::Netboot) => TEMPLATE_NAMES[0],
        (Loader::Grub, BootMode::Local) => TEMPLATE_NAMES[1],
        (Loader::Pxelinux, BootMode::Netboot) => TEMPLATE_NAMES[2],
        (Loader::Pxelinux, BootMode::Local) => TEMPLATE_NAMES[3],
        (Loader::Ipxe, BootMode::Netboot) => TEMPLATE_NAMES[4],
        (Loader::Ipxe, BootMode::Local) => TEMPLATE_NAMES[5],
    }
}

/// Renders boot-loader and installer configs.
pub trait NetbootRenderer: Send + Sync {
    /// The boot config for `loader`. `mode` picks the netboot or local template; a `None`
    /// machine always gets the local one. A netboot machine without a kernel gets a config
    /// that says so and boots locally.
    fn boot_config(
        &self,
        loader: Loader,
        mode: BootMode,
        ctx: &BootContext<'_>,
    ) -> Result<String, RenderError>;

    /// Renders a user-written installer config (`source`) in the sandbox.
    fn installer_config(
        &self,
        source: &str,
        ctx: &InstallerContext,
    ) -> Result<Rendered, RenderError>;
}

/// The [`NetbootRenderer`] on minijinja.
///
/// Boot templates are compiled once, at construction; rendering one is a lookup and a run.
///
/// ```
/// use mr_provisioner_netboot::bootfile::Loader;
/// use mr_provisioner_netboot::render::{BootContext, BootMode, JinjaRenderer, NetbootRenderer, ServerView};
///
/// let r = JinjaRenderer::new();
/// let server = ServerView { boot_url: "http://10.0.0.1:5000/boot".into(), tftp_server: "10.0.0.1".into(), over_http: false };
/// let cfg = r.boot_config(Loader::Pxelinux, BootMode::Netboot, &BootContext { machine: None, server: &server }).unwrap();
/// assert!(cfg.contains("LOCALBOOT -1"));
/// ```
pub struct JinjaRenderer {
    boot: minijinja::Environment<'static>,
    limits: SandboxLimits,
}

impl fmt::Debug for JinjaRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JinjaRenderer")
            .field("templates", &TEMPLATE_NAMES)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for JinjaRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl JinjaRenderer {
    /// A renderer with the embedded default templates.
    pub fn new() -> Self {
        let boot = boot::environment(boot::DEFAULTS.iter().map(|(n, s)| (*n, s.to_string())))
            .expect("the embedded boot templates parse");
        JinjaRenderer {
            boot,
            limits: SandboxLimits::default(),
        }
    }

    /// A renderer whose templates are the files in `dir` named like a default
    /// ([`TEMPLATE_NAMES`]), and the embedded defaults for the others. Other files are
    /// ignored. Every override is parsed here, so a bad one is reported at start with its name
    /// and line ([`RenderError::Template`]); a missing or unreadable `dir` is an error too.
    pub fn with_overrides(dir: &Path) -> Result<Self, RenderError> {
        let dir_err = |message: String| RenderError::Template {
            name: dir.display().to_string(),
            message,
        };
        let meta = std::fs::metadata(dir)
            .map_err(|e| dir_err(format!("cannot read the override directory: {e}")))?;
        if !meta.is_dir() {
            return Err(dir_err("the override path is not a directory".into()));
        }
        let mut sources = Vec::with_capacity(TEMPLATE_NAMES.len());
        for (name, default) in boot::DEFAULTS {
            let path = dir.join(name);
            let source = match std::fs::metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => default.to_string(),
                Err(e) => return Err(template_err(name, format!("cannot read: {e}"))),
                Ok(m) if !m.is_file() => {
                    return Err(template_err(name, "not a regular file".into()));
                }
                Ok(_) => std::fs::read_to_string(&path)
                    .map_err(|e| template_err(name, format!("cannot read: {e}")))?,
            };
            sources.push((name, source));
        }
        let boot = boot::environment(sources)?;
        Ok(JinjaRenderer {
            boot,
            limits: SandboxLimits::default(),
        })
    }

    /// Replaces the installer sandbox's limits (fuel and output size).
    pub fn with_sandbox_limits(mut self, limits: SandboxLimits) -> Self {
        self.limits = limits;
        self
    }
}

fn template_err(name: &str, message: String) -> RenderError {
    RenderError::Template {
        name: name.to_string(),
        message,
    }
}

impl NetbootRenderer for JinjaRenderer {
    fn boot_config(
        &self,
        loader: Loader,
        mode: BootMode,
        ctx: &BootContext<'_>,
    ) -> Result<String, RenderError> {
        boot::render(&self.boot, loader, mode, ctx)
    }

    fn installer_config(
        &self,
        source: &str,
        ctx: &InstallerContext,
    ) -> Result<Rendered, RenderError> {
        sandbox::render(source, ctx, &self.limits)
    }
}

/// The kernel command line of a netboot config: `installer_opts`, then `BOOTIF=<bootif>`,
/// then `user_opts`, separated by single spaces, empty parts left out.
///
/// `bootif` is the value after `BOOTIF=`: `01-` and the MAC with dashes (see
/// [`bootif_value`]), or a boot loader's expansion of it (GRUB's `01-$net_default_mac_dash`,
/// iPXE's `01-${netX/mac:hexhyp}`). It comes before the user's options so that a `---` in them
/// (debian-installer passes what follows it to the installed system) cannot swallow it.
/// Control characters (newlines included) in the options become spaces, so options cannot add
/// lines to a boot config; leading and trailing blanks are trimmed.
///
/// This differs from the original's `kernel_opts_all` (`installer + " " + user`, no `BOOTIF`),
/// which the boot templates still offer as `machine.kernel_opts_all(config)`.
///
/// ```
/// use mr_provisioner_netboot::render::kernel_command_line;
/// assert_eq!(
///     kernel_command_line("auto=true url=http://p/preseed/1", Some("01-52-54-00-12-34-56"), "quiet --- console=ttyS0"),
///     "auto=true url=http://p/preseed/1 BOOTIF=01-52-54-00-12-34-56 quiet --- console=ttyS0",
/// );
/// assert_eq!(kernel_command_line("", None, ""), "");
/// ```
pub fn kernel_command_line(installer_opts: &str, bootif: Option<&str>, user_opts: &str) -> String {
    let installer = one_line(installer_opts);
    let bootif = bootif.map(one_line).filter(|b| !b.is_empty());
    let user = one_line(user_opts);
    let mut parts: Vec<&str> = Vec::with_capacity(3);
    if !installer.is_empty() {
        parts.push(&installer);
    }
    let bootif = bootif.map(|b| format!("BOOTIF={b}"));
    if let Some(b) = &bootif {
        parts.push(b);
    }
    if !user.is_empty() {
        parts.push(&user);
    }
    parts.join(" ")
}

/// The `BOOTIF` value (`01-aa-bb-cc-dd-ee-ff`, ARP type 01 and the MAC with dashes,
/// lowercase) for a MAC written `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff`; `None` for
/// anything else, including `""`.
///
/// ```
/// use mr_provisioner_netboot::render::bootif_value;
/// assert_eq!(bootif_value("52:54:00:AB:CD:EF").as_deref(), Some("01-52-54-00-ab-cd-ef"));
/// assert_eq!(bootif_value(""), None);
/// ```
pub fn bootif_value(mac: &str) -> Option<String> {
    let sep = if mac.contains(':') { ':' } else { '-' };
    let parts: Vec<&str> = mac.split(sep).collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    ok.then(|| format!("01-{}", parts.join("-").to_ascii_lowercase()))
}

/// `s` with control characters turned into spaces and outer blanks trimmed.
pub(crate) fn one_line(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    s.trim().to_string()
}

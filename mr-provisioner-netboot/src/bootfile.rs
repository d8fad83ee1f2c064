//! Boot-file name parsing: which boot loader asks for a config, and for which MAC, UUID or IP.
//!
//! [`parse`] is a pure function from a requested file name (as a TFTP client or the HTTP boot
//! tree received it) to a [`ConfigRequest`], or `None` when the name is not a boot-config name
//! and should be served as an ordinary file.
//!
//! All leading `/` are stripped first (GRUB asks for absolute paths such as
//! `/grub/grub.cfg-01-…`). Any directory prefix may come before the config part, so
//! `alice/pxelinux.cfg/default` and `EFI/BOOT/grub.cfg` are recognised. Hexadecimal digits
//! (MACs, UUIDs, hex IPs) are case-insensitive; the words (`pxelinux.cfg`, `grub.cfg`,
//! `default`, `efidefault`, `ipxe`, `boot.ipxe`) are matched exactly.
//!
//! | loader | name (after an optional `dir/` prefix) | key |
//! |---|---|---|
//! | pxelinux | `pxelinux.cfg/01-aa-bb-cc-dd-ee-ff` | [`ConfigKey::Mac`] |
//! | pxelinux | `pxelinux.cfg/<uuid>` (8-4-4-4-12 hex) | [`ConfigKey::Uuid`] |
//! | pxelinux | `pxelinux.cfg/<1 to 8 hex digits>` | [`ConfigKey::HexIp`] |
//! | pxelinux | `pxelinux.cfg/default` | [`ConfigKey::Default`] |
//! | GRUB | `grub.cfg-01-aa-bb-cc-dd-ee-ff` | [`ConfigKey::Mac`] |
//! | GRUB | `grub.cfg-<1 to 8 hex digits>` | [`ConfigKey::HexIp`] |
//! | GRUB | `grub.cfg` | [`ConfigKey::Default`] |
//! | GRUB (the original's custom build) | `01-aa-bb-cc-dd-ee-ff` in any directory but `pxelinux.cfg` and `ipxe` | [`ConfigKey::Mac`] |
//! | GRUB (the original's custom build) | `efidefault` | [`ConfigKey::Default`] |
//! | iPXE | `ipxe/01-aa-bb-cc-dd-ee-ff` | [`ConfigKey::Mac`] |
//! | iPXE | `<mac>.ipxe`, the MAC as `aa-bb-cc-dd-ee-ff`, `aa:bb:cc:dd:ee:ff` or `aabbccddeeff` | [`ConfigKey::Mac`] |
//! | iPXE | `ipxe/default`, `boot.ipxe` | [`ConfigKey::Default`] |
//!
//! Everything else is `None`: boot loaders and their modules (`pxelinux.0`, `grubx64.efi`,
//! `grub/x86_64-efi/command.lst`), kernels, and malformed config names such as
//! `pxelinux.cfg/01-zz-…`. The names are disjoint: the last directory component
//! (`pxelinux.cfg`, `ipxe`, anything else) and the file name's own shape decide the loader, so
//! no name parses two ways.
//!
//! ```
//! use mr_provisioner_netboot::bootfile::{parse, ConfigKey, ConfigRequest, Loader};
//!
//! assert_eq!(
//!     parse("/grub/grub.cfg-01-52-54-00-12-34-57"),
//!     Some(ConfigRequest { loader: Loader::Grub, key: ConfigKey::Mac([0x52, 0x54, 0, 0x12, 0x34, 0x57]) }),
//! );
//! assert_eq!(parse("pxelinux.0"), None);
//! ```

use std::net::Ipv4Addr;

/// The boot loader that asked for a config: it decides the config's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Loader {
    /// PXELINUX (syslinux), BIOS or EFI.
    Pxelinux,
    /// GRUB 2, upstream names or the original's custom ones.
    Grub,
    /// iPXE scripts (`#!ipxe`).
    Ipxe,
}

/// What a config name is keyed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigKey {
    /// The client's Ethernet MAC address (ARP hardware type 01).
    Mac([u8; 6]),
    /// PXELINUX's UUID name, lowercase, exactly as requested. PXELINUX prints the bytes of DHCP
    /// option 97 in order, so the first three fields are byte-swapped relative to the SMBIOS
    /// UUID; [`ConfigKey::smbios_uuid`] undoes that.
    Uuid(String),
    /// A hexadecimal IPv4 address or one of its prefixes (1 to 8 digits), uppercase, as
    /// requested; [`ConfigKey::matches`] tells whether an address is covered by it.
    HexIp(String),
    /// The loader's fallback config (`default`, `grub.cfg`, `efidefault`, `boot.ipxe`).
    Default,
}

/// A parsed boot-config request: which loader and which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigRequest {
    /// The loader whose config language to answer in.
    pub loader: Loader,
    /// What the requested name is keyed on.
    pub key: ConfigKey,
}

impl ConfigKey {
    /// For [`ConfigKey::HexIp`]: whether `ip`, written as eight uppercase hex digits, starts
    /// with the requested digits (`0A4D` matches 10.77.0.158). Always `false` for other keys.
    pub fn matches(&self, ip: Ipv4Addr) -> bool {
        match self {
            ConfigKey::HexIp(prefix) => {
                let full = format!("{:08X}", u32::from(ip));
                full.starts_with(prefix.as_str())
            }
            _ => false,
        }
    }

    /// For [`ConfigKey::Uuid`]: the SMBIOS UUID (as `dmidecode` and QEMU's `-uuid` print it),
    /// lowercase; `None` for other keys.
    ///
    /// ```
    /// use mr_provisioner_netboot::bootfile::ConfigKey;
    /// let k = ConfigKey::Uuid("78563412-3412-7856-9abc-def012345678".into());
    /// assert_eq!(k.smbios_uuid().as_deref(), Some("12345678-1234-5678-9abc-def012345678"));
    /// ```
    pub fn smbios_uuid(&self) -> Option<String> {
        match self {
            ConfigKey::Uuid(u) => swap_uuid_fields(u),
            _ => None,
        }
    }

    /// For [`ConfigKey::Mac`]: the MAC; `None` for other keys.
    pub fn mac(&self) -> Option<[u8; 6]> {
        match self {
            ConfigKey::Mac(m) => Some(*m),
            _ => None,
        }
    }
}

/// Formats a MAC as `aa:bb:cc:dd:ee:ff` (lowercase, colons), the form the rest of the system
/// stores and [`crate::render::BootView::mac`] expects.
pub fn format_mac(mac: &[u8; 6]) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

/// Swaps the byte order of the first three UUID fields (4, 2 and 2 bytes). The operation is
/// its own inverse, so it turns PXELINUX's wire-order name into the SMBIOS UUID and back.
fn swap_uuid_fields(uuid: &str) -> Option<String> {
    if !is_uuid(uuid) {
        return None;
    }
    let lower = uuid.to_ascii_lowercase();
    let mut fields = lower.split('-');
    let mut out = Vec::with_capacity(5);
    for f in fields.by_ref().take(3) {
        let bytes: Vec<&str> = (0..f.len()).step_by(2).map(|j| &f[j..j + 2]).collect();
        out.push(bytes.into_iter().rev().collect::<String>());
    }
    out.extend(fields.map(str::to_string));
    Some(out.join("-"))
}

/// Whether `filename` is one of the module lists GRUB's `normal` reads from
/// `<prefix>/<platform>/` at start (`command.lst`, `fs.lst`, `crypto.lst`, `terminal.lst`).
/// They only tell GRUB which modules to load on demand; a monolithic netboot image has none
/// to load, so an empty list means the same as a missing one. HTTP boot answers them empty:
/// GRUB 2.06's HTTP client waits about a minute on every 404 before it goes on.
///
/// ```
/// use mr_provisioner_netboot::bootfile::is_grub_module_list;
///
/// assert!(is_grub_module_list("grub/x86_64-efi/command.lst"));
/// assert!(is_grub_module_list("/boot/grub/arm64-efi/fs.lst"));
/// assert!(!is_grub_module_list("grub/x86_64-efi/linux.mod"));
/// assert!(!is_grub_module_list("command.lst"));
/// ```
pub fn is_grub_module_list(filename: &str) -> bool {
    let mut parts = filename.trim_start_matches('/').rsplit('/');
    let (Some(file), Some(platform)) = (parts.next(), parts.next()) else {
        return false;
    };
    let known_platform = ["-efi", "-pc", "-ieee1275", "-uboot", "-coreboot"]
        .iter()
        .any(|s| platform.ends_with(s) && platform.len() > s.len());
    known_platform
        && matches!(
            file,
            "command.lst" | "fs.lst" | "crypto.lst" | "terminal.lst"
        )
}

/// Parses a requested file name. `None` means it is not a boot-config name (an ordinary file
/// to serve from the TFTP root, or nothing). See the module documentation for the names.
pub fn parse(filename: &str) -> Option<ConfigRequest> {
    let name = filename.trim_start_matches('/');
    let (dir, base) = match name.rsplit_once('/') {
        Some((d, b)) => (Some(d), b),
        None => (None, name),
    };
    let parent = dir.map(|d| d.rsplit('/').next().unwrap_or(d));
    let req = |loader, key| Some(ConfigRequest { loader, key });

    match parent {
        Some("pxelinux.cfg") => {
            let key = if base == "default" {
                ConfigKey::Default
            } else if let Some(mac) = base.strip_prefix("01-") {
                ConfigKey::Mac(parse_mac_sep(mac, '-')?)
            } else if is_uuid(base) {
                ConfigKey::Uuid(base.to_ascii_lowercase())
            } else {
                ConfigKey::HexIp(parse_hex_ip(base)?)
            };
            return req(Loader::Pxelinux, key);
        }
        // In an `ipxe` directory `default` and `01-<mac>` are iPXE's; other names (`boot.ipxe`,
        // `<mac>.ipxe`) take the general rules below.
        Some("ipxe") if base == "default" => return req(Loader::Ipxe, ConfigKey::Default),
        Some("ipxe") if base.starts_with("01-") => {
            let mac = parse_mac_sep(&base[3..], '-')?;
            return req(Loader::Ipxe, ConfigKey::Mac(mac));
        }
        _ => {}
    }

    if let Some(rest) = base.strip_prefix("grub.cfg") {
        let key = if rest.is_empty() {
            ConfigKey::Default
        } else {
            let rest = rest.strip_prefix('-')?;
            match rest.strip_prefix("01-") {
                Some(mac) => ConfigKey::Mac(parse_mac_sep(mac, '-')?),
                None => ConfigKey::HexIp(parse_hex_ip(rest)?),
            }
        };
        return req(Loader::Grub, key);
    }
    if base == "efidefault" {
        return req(Loader::Grub, ConfigKey::Default);
    }
    // `.ipxe` names first: `01-00-00-00-00-00.ipxe` is the MAC 01:00:.. of an iPXE
    // script, not a GRUB name.
    if base == "boot.ipxe" {
        return req(Loader::Ipxe, ConfigKey::Default);
    }
    if let Some(stem) = base.strip_suffix(".ipxe") {
        return req(Loader::Ipxe, ConfigKey::Mac(parse_mac_any(stem)?));
    }
    if let Some(mac) = base.strip_prefix("01-") {
        return req(Loader::Grub, ConfigKey::Mac(parse_mac_sep(mac, '-')?));
    }
    None
}

/// Six hex pairs separated by `sep`, any case.
fn parse_mac_sep(s: &str, sep: char) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(sep);
    for byte in &mut mac {
        *byte = hex_pair(parts.next()?)?;
    }
    parts.next().is_none().then_some(mac)
}

/// A MAC as `aa-bb-…`, `aa:bb:…` or twelve hex digits.
fn parse_mac_any(s: &str) -> Option<[u8; 6]> {
    if s.len() == 12 {
        let mut mac = [0u8; 6];
        for (i, byte) in mac.iter_mut().enumerate() {
            *byte = hex_pair(s.get(2 * i..2 * i + 2)?)?;
        }
        return Some(mac);
    }
    parse_mac_sep(s, '-').or_else(|| parse_mac_sep(s, ':'))
}

fn hex_pair(s: &str) -> Option<u8> {
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        u8::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

/// 1 to 8 hex digits, returned uppercase.
fn parse_hex_ip(s: &str) -> Option<String> {
    ((1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_ascii_uppercase())
}

/// The 8-4-4-4-12 hex form.
fn is_uuid(s: &str) -> bool {
    let lens = [8, 4, 4, 4, 12];
    let mut parts = s.split('-');
    lens.iter().all(|&n| {
        parts
            .next()
            .is_some_and(|p| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
    }) && parts.next().is_none()
}

#[cfg(test)]
mod tests;

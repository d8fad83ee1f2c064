//! Installer config kinds (preseed, kickstart, autoyast) and the kernel options that point an
//! installer at its config.

use std::fmt;
use std::str::FromStr;

/// The kind of an installer config, which decides how the installer is told where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstallerKind {
    /// Debian/Ubuntu debian-installer preseed.
    Preseed,
    /// Red Hat family kickstart.
    Kickstart,
    /// SUSE AutoYaST.
    Autoyast,
}

/// A string that names no installer kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown installer config type {0:?}; expected preseed, kickstart or autoyast")]
pub struct ParseInstallerKindError(pub String);

impl InstallerKind {
    /// Every kind.
    pub const ALL: [InstallerKind; 3] = [
        InstallerKind::Preseed,
        InstallerKind::Kickstart,
        InstallerKind::Autoyast,
    ];

    /// The stored name, as the original's API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            InstallerKind::Preseed => "preseed",
            InstallerKind::Kickstart => "kickstart",
            InstallerKind::Autoyast => "autoyast",
        }
    }
}

impl fmt::Display for InstallerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstallerKind {
    type Err = ParseInstallerKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InstallerKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ParseInstallerKindError(s.to_string()))
    }
}

/// The kernel options that make an installer of `kind` fetch its config from `url`, with an
/// optional DNS server (empty means none), as the original composed them.
pub fn installer_kernel_options(kind: InstallerKind, url: &str, dns: &str) -> String {
    let (base, dns_key) = match kind {
        InstallerKind::Preseed => (
            format!("auto=true priority=critical url={url} interface=auto"),
            "netcfg/get_nameservers",
        ),
        InstallerKind::Kickstart => (format!("ks={url} kssendmac"), "dns"),
        InstallerKind::Autoyast => (format!("autoyast={url}"), "nameserver"),
    };
    if dns.is_empty() {
        base
    } else {
        format!("{base} {dns_key}={dns}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_options_table() {
        let url = "http://p:5000/preseed/3";
        let cases = [
            (
                InstallerKind::Preseed,
                "",
                "auto=true priority=critical url=http://p:5000/preseed/3 interface=auto",
            ),
            (
                InstallerKind::Preseed,
                "10.0.0.1",
                "auto=true priority=critical url=http://p:5000/preseed/3 interface=auto netcfg/get_nameservers=10.0.0.1",
            ),
            (
                InstallerKind::Kickstart,
                "",
                "ks=http://p:5000/preseed/3 kssendmac",
            ),
            (
                InstallerKind::Kickstart,
                "1.1.1.1",
                "ks=http://p:5000/preseed/3 kssendmac dns=1.1.1.1",
            ),
            (
                InstallerKind::Autoyast,
                "",
                "autoyast=http://p:5000/preseed/3",
            ),
            (
                InstallerKind::Autoyast,
                "8.8.8.8",
                "autoyast=http://p:5000/preseed/3 nameserver=8.8.8.8",
            ),
        ];
        for (kind, dns, want) in cases {
            assert_eq!(installer_kernel_options(kind, url, dns), want);
        }
    }

    #[test]
    fn kinds_parse() {
        for k in InstallerKind::ALL {
            assert_eq!(k.as_str().parse::<InstallerKind>().unwrap(), k);
        }
        assert!("Preseed".parse::<InstallerKind>().is_err());
    }
}

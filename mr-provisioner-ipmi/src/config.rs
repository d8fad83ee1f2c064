//! Per-BMC settings for the ipmitool drivers, their defaults, and the tools they run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::runner::{CommandRunner, TokioRunner};
use crate::{BmcKind, Privilege};

/// The cipher suite asked for when the settings name none: 3 (RAKP-HMAC-SHA1,
/// HMAC-SHA1-96, AES-CBC-128).
///
/// Without `-C`, ipmitool 1.8.19 first asks the BMC for its cipher suites; OpenIPMI's
/// `ipmi_sim` never answers that request, which costs 10 s per call before ipmitool falls
/// back to suite 3 anyway. Real BMCs (iLO, iDRAC, Moonshot, OpenBMC) support suite 3, so
/// asking for it directly is both fast and widely compatible. A BMC that needs another suite
/// (e.g. 17, SHA-256) sets it; `None` in [`BmcSettings::cipher_suite`] restores ipmitool's
/// own negotiation.
pub const DEFAULT_CIPHER_SUITE: u8 = 3;

/// Retransmissions per request (`-R`) by default: 1, as the original always passed.
pub const DEFAULT_RETRIES: u8 = 1;

/// Seconds ipmitool waits for each answer before retransmitting (`-N`) by default: 2.
///
/// With one retry a dead BMC is reported after about 4 s instead of ipmitool's own 20 s.
pub const DEFAULT_TIMEOUT_SECS: u8 = 2;

/// The hard deadline of one call by default: 30 s. The child is killed when it passes.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// The ipmitool the original ran by default.
pub const DEFAULT_IPMITOOL: &str = "/usr/bin/ipmitool";

/// How to reach one BMC (and, for a Moonshot chassis, which cartridge behind it).
///
/// The IPMI options are literal: `None` leaves the flag off ipmitool's command line, so
/// ipmitool's own default applies. [`BmcSettings::new`] fills them with this crate's
/// defaults ([`DEFAULT_CIPHER_SUITE`], [`DEFAULT_RETRIES`], [`DEFAULT_TIMEOUT_SECS`],
/// [`DEFAULT_DEADLINE`], [`Privilege::Administrator`]); override fields with struct update
/// syntax:
///
/// ```
/// use mr_provisioner_ipmi::{BmcKind, BmcSettings};
///
/// let settings = BmcSettings {
///     username: "admin".into(),
///     password: "secret".into(),
///     cipher_suite: Some(17),
///     ..BmcSettings::new(BmcKind::Plain, "10.0.0.5")
/// };
/// assert_eq!(settings.retries, Some(1));
/// // The password never shows in debug output.
/// assert!(!format!("{settings:?}").contains("secret"));
/// ```
#[derive(Debug, Clone)]
pub struct BmcSettings {
    /// Which driver: [`BmcKind::Plain`] or [`BmcKind::Moonshot`] for ipmitool.
    pub kind: BmcKind,
    /// IP address or host name (`-H`). Must not be empty.
    pub address: String,
    /// UDP port (`-p`), when not IPMI's 623.
    pub port: Option<u16>,
    /// Login name (`-U`); empty means none (the flag is left out, as the original did).
    pub username: String,
    /// Login password. Handed to ipmitool through the `IPMI_PASSWORD` environment variable
    /// (`-E`), never on its command line.
    pub password: SecretString,
    /// Session privilege level, always passed as `-L`.
    pub privilege: Privilege,
    /// Cipher suite (`-C`); `None` lets ipmitool negotiate (slow against some BMCs).
    pub cipher_suite: Option<u8>,
    /// Retransmissions per request (`-R`); `None` for ipmitool's default.
    pub retries: Option<u8>,
    /// Seconds ipmitool waits for each answer (`-N`); `None` for ipmitool's default.
    pub timeout_secs: Option<u8>,
    /// Hard deadline of one call, from spawning ipmitool to its exit. When it passes, the
    /// call fails with [`BmcError::Timeout`](crate::BmcError::Timeout) and ipmitool is
    /// killed and reaped.
    pub deadline: Duration,
    /// The machine's BMC info. For [`BmcKind::Moonshot`] the cartridge number, 1 to 45;
    /// ignored by [`BmcKind::Plain`].
    pub info: String,
}

impl BmcSettings {
    /// Settings for `address` with every default: no username, an empty password,
    /// ADMINISTRATOR privilege, cipher suite 3, one retry, `-N 2`, a 30 s deadline, empty info.
    pub fn new(kind: BmcKind, address: impl Into<String>) -> Self {
        BmcSettings {
            kind,
            address: address.into(),
            port: None,
            username: String::new(),
            password: SecretString::from(""),
            privilege: Privilege::Administrator,
            cipher_suite: Some(DEFAULT_CIPHER_SUITE),
            retries: Some(DEFAULT_RETRIES),
            timeout_secs: Some(DEFAULT_TIMEOUT_SECS),
            deadline: DEFAULT_DEADLINE,
            info: String::new(),
        }
    }
}

/// The external tools the drivers run, and how they run them.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The ipmitool executable.
    pub ipmitool: PathBuf,
    /// Spawns the tools: [`TokioRunner`] for real, a
    /// [`RecordingRunner`](crate::runner::RecordingRunner) in tests.
    pub runner: Arc<dyn CommandRunner>,
}

impl Tools {
    /// Runs `ipmitool` for real.
    pub fn new(ipmitool: impl Into<PathBuf>) -> Self {
        Tools {
            ipmitool: ipmitool.into(),
            runner: Arc::new(TokioRunner::new()),
        }
    }

    /// The same tools, spawned through `runner`.
    pub fn with_runner(mut self, runner: Arc<dyn CommandRunner>) -> Self {
        self.runner = runner;
        self
    }
}

impl Default for Tools {
    /// `/usr/bin/ipmitool`, run for real.
    fn default() -> Self {
        Tools::new(DEFAULT_IPMITOOL)
    }
}

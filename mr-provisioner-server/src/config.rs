//! Configuration: one typed [`Config`] read from TOML, with `MRP_...` environment overrides.
//!
//! Every setting has a default, so `mr-provisioner serve` works with no file at all. Every
//! key of the original's `config.ini` has a home here (see `docs/configuration.md`).
//! Environment variables win over the file; each is named `MRP_` followed by the key's path
//! in upper case with `_` between parts (`database.url` is `MRP_DATABASE_URL`), and
//! `MRP_LISTEN` is a short form of `MRP_HTTP_LISTEN`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::SecretString;
use serde::Deserialize;

/// The default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./mr-provisioner-data";
/// The default HTTP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5000";

/// A configuration problem, naming where it came from, the key and the reason.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {key}: {reason}")]
pub struct ConfigError {
    /// The file path or environment variable.
    pub source_name: String,
    /// The key (`http.listen`), or `-` when the file as a whole is wrong.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// All settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the SQLite database, TFTP root and console logs live by default.
    pub data_dir: PathBuf,
    /// The HTTP server.
    pub http: HttpConfig,
    /// The database.
    pub database: DatabaseConfig,
    /// Logging.
    pub log: LogConfig,
    /// The web UI.
    pub ui: UiConfig,
    /// Files: TFTP root, templates, uploads.
    pub files: FilesConfig,
    /// External tools.
    pub tools: ToolsConfig,
    /// The serial console.
    pub console: ConsoleConfig,
    /// Provisioning.
    pub provisioning: ProvisioningConfig,
    /// DHCP answers.
    pub dhcp: DhcpConfig,
    /// Reservations (assignments with an end).
    pub reservations: ReservationsConfig,
    /// Machine events.
    pub events: EventsConfig,
    /// Talking to BMCs.
    pub bmc: BmcConfig,
    /// The built-in TFTP server.
    pub tftp: TftpConfig,
    /// Stock Kea through its PostgreSQL databases (off unless a URL is set).
    pub kea: KeaConfig,
}

/// `[kea]`: keep Kea's host reservations (its PostgreSQL `hosts-database`) equal to our
/// interfaces, and read its leases (its PostgreSQL `lease-database`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeaConfig {
    /// `postgres://USER:PASSWORD@HOST/DB` of Kea's host database; unset: no reservations
    /// are written.
    pub hosts_database_url: Option<SecretString>,
    /// The same for Kea's lease database (often the same database); unset: Kea's leases
    /// are not read.
    pub leases_database_url: Option<SecretString>,
    /// Seconds between passes when no change is reported through the API (changes by
    /// other processes, such as `inventory apply`, are picked up by these).
    pub check_interval_secs: u64,
    /// Seconds to wait for a connection to Kea's databases.
    pub connect_timeout_secs: u64,
    /// Also write each netbooting machine's boot URL for UEFI HTTP boot clients (a
    /// host-scoped option 67). Only for a Kea configured as `examples/kea/kea-dhcp4.conf`
    /// (its `flex_option` hook keeps the URL from PXE clients).
    pub http_boot: bool,
}

impl Default for KeaConfig {
    fn default() -> Self {
        KeaConfig {
            hosts_database_url: None,
            leases_database_url: None,
            check_interval_secs: 5,
            connect_timeout_secs: 5,
            http_boot: false,
        }
    }
}

/// `[tftp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TftpConfig {
    /// Serve TFTP at all.
    pub enabled: bool,
    /// Address and port; unset means 0.0.0.0:69 where possible: if that cannot be bound
    /// (port 69 needs root or CAP_NET_BIND_SERVICE), `serve` says why and goes on without
    /// TFTP. An address that is set must be bound, or `serve` stops.
    pub listen: Option<SocketAddr>,
    /// Retransmission timeout in milliseconds, unless the client asks for another.
    pub timeout_ms: u64,
    /// Retransmissions of one packet before a transfer is given up.
    pub retries: u32,
    /// Largest block size granted (RFC 2348; 8 to 65464).
    pub max_block_size: u16,
    /// Largest window granted (RFC 7440; 1 to 65535).
    pub max_window_size: u16,
    /// Transfers at once; requests past it are told the server is busy.
    pub max_transfers: u32,
}

/// Where TFTP listens when `[tftp] listen` is not set.
pub const DEFAULT_TFTP_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 69);

impl Default for TftpConfig {
    fn default() -> Self {
        TftpConfig {
            enabled: true,
            listen: None,
            timeout_ms: 1000,
            retries: 5,
            max_block_size: 65464,
            max_window_size: 64,
            max_transfers: 1024,
        }
    }
}

/// `[bmc]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BmcConfig {
    /// Deadline of one BMC call, in seconds, for BMCs that set none (the child is killed).
    pub deadline_secs: u64,
    /// BMC calls in flight at most, over all BMCs (calls to one BMC are always one at a time).
    pub max_in_flight: u32,
    /// How long a power state read is reused, in seconds (0: always ask the BMC).
    pub status_cache_secs: u64,
}

impl Default for BmcConfig {
    fn default() -> Self {
        BmcConfig {
            deadline_secs: 30,
            max_in_flight: 32,
            status_cache_secs: 5,
        }
    }
}

/// `[reservations]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReservationsConfig {
    /// Power machines off when their reservation ends by itself.
    pub power_off_on_expiry: bool,
    /// How often ended reservations are released, in seconds.
    pub expiry_check_secs: u64,
}

/// `[events]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Machine events older than this many days are deleted (0 keeps them for ever).
    pub retention_days: u64,
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The base URL machines and installers use to reach this server (the original's
    /// `controller.access_uri`).
    pub public_url: String,
    /// Seconds to wait for requests in flight on shutdown.
    pub shutdown_timeout_secs: u64,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`; empty means the SQLite file
    /// `mr-provisioner.db` in the data directory.
    pub url: String,
    /// Connection pool size.
    pub max_connections: u32,
    /// How long start-up keeps retrying an unreachable database, in seconds.
    pub connect_timeout_secs: u64,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A level (`info`) or a tracing filter (`info,mr_provisioner_core=debug`).
    pub level: String,
    /// `text` or `json`.
    pub format: LogFormat,
    /// `stdout`, `stderr`, or a file path.
    pub file: String,
}

/// `[ui]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// The name shown in page titles and the banner.
    pub banner_name: String,
    /// Cache lifetime of static assets, in seconds.
    pub max_age: u64,
}

/// `[files]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// The TFTP root (images, bootloaders); empty means `<data_dir>/tftp`.
    pub tftp_root: PathBuf,
    /// A directory of boot-config templates overriding the built-in ones; empty: none.
    pub netboot_templates_dir: PathBuf,
    /// Largest accepted upload in bytes.
    pub max_upload_size: u64,
}

/// `[tools]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsConfig {
    /// The ipmitool executable.
    pub ipmitool: PathBuf,
}

/// `[console]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// The host name clients connect to for the console websocket (empty: the host the
    /// client already uses). The original's `wssubprocess.ext_host`.
    pub ext_host: String,
    /// The port for the same (the original's `wssubprocess.ext_port`).
    pub ext_port: u16,
}

/// `[provisioning]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningConfig {
    /// A DNS server added to installer kernel options (empty: none).
    pub preseed_dns: String,
}

/// `[dhcp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DhcpConfig {
    /// The next-server (TFTP server address) given to netbooting machines (the original's
    /// `dhcp.tftp_proxy_host`).
    pub next_server: String,
    /// The boot file for machines whose subarch has no bootloader (empty: none).
    pub default_bootfile: String,
    /// Milliseconds a DHCP answer is reused for the hook (0: always read the database).
    /// Changes through the API apply at once; others (`inventory apply`, another server)
    /// within this time.
    pub answer_cache_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            http: HttpConfig::default(),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            ui: UiConfig::default(),
            files: FilesConfig::default(),
            tools: ToolsConfig::default(),
            console: ConsoleConfig::default(),
            provisioning: ProvisioningConfig::default(),
            dhcp: DhcpConfig::default(),
            reservations: ReservationsConfig::default(),
            events: EventsConfig::default(),
            bmc: BmcConfig::default(),
            tftp: TftpConfig::default(),
            kea: KeaConfig::default(),
        }
    }
}

impl Default for ReservationsConfig {
    fn default() -> Self {
        ReservationsConfig {
            power_off_on_expiry: false,
            expiry_check_secs: 30,
        }
    }
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig { retention_days: 30 }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 5000))),
            public_url: "http://127.0.0.1:5000".into(),
            shutdown_timeout_secs: 10,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: String::new(),
            max_connections: 16,
            connect_timeout_secs: 30,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
            file: "stderr".into(),
        }
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            banner_name: "mr-provisioner".into(),
            max_age: 21600,
        }
    }
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            tftp_root: PathBuf::new(),
            netboot_templates_dir: PathBuf::new(),
            max_upload_size: 1 << 30,
        }
    }
}

impl Default for ToolsConfig {
    fn default() -> Self {
        ToolsConfig {
            ipmitool: PathBuf::from("/usr/bin/ipmitool"),
        }
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            ext_host: String::new(),
            ext_port: 8866,
        }
    }
}

impl Default for DhcpConfig {
    fn default() -> Self {
        DhcpConfig {
            next_server: "127.0.0.1".into(),
            default_bootfile: String::new(),
            answer_cache_ms: 2000,
        }
    }
}

/// A value that can be read from an environment variable.
trait EnvValue: Sized {
    fn parse_env(s: &str) -> Result<Self, String>;
}

macro_rules! env_from_str {
    ($($t:ty),*) => {$(
        impl EnvValue for $t {
            fn parse_env(s: &str) -> Result<Self, String> {
                <$t>::from_str(s.trim()).map_err(|e| format!("{s:?} is not valid here: {e}"))
            }
        }
    )*};
}
env_from_str!(u16, u32, u64, SocketAddr);

impl EnvValue for Option<SocketAddr> {
    fn parse_env(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        SocketAddr::parse_env(s).map(Some)
    }
}

impl EnvValue for Option<SecretString> {
    fn parse_env(s: &str) -> Result<Self, String> {
        Ok((!s.trim().is_empty()).then(|| SecretString::from(s.trim().to_string())))
    }
}

impl EnvValue for bool {
    fn parse_env(s: &str) -> Result<Self, String> {
        match s.trim() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(format!(
                "{other:?} is not a boolean; expected true or false"
            )),
        }
    }
}

impl EnvValue for String {
    fn parse_env(s: &str) -> Result<Self, String> {
        Ok(s.to_string())
    }
}

impl EnvValue for PathBuf {
    fn parse_env(s: &str) -> Result<Self, String> {
        Ok(PathBuf::from(s))
    }
}

impl EnvValue for LogFormat {
    fn parse_env(s: &str) -> Result<Self, String> {
        match s.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "{other:?} is not a log format; expected text or json"
            )),
        }
    }
}

type Setter = fn(&mut Config, &str) -> Result<(), String>;

macro_rules! overrides {
    ($($env:literal => $($field:ident).+;)*) => {
        /// Every environment override: (variable, key, setter).
        const OVERRIDES: &[(&str, &str, Setter)] = &[$(
            ($env, stringify!($($field).+), |c: &mut Config, v: &str| {
                c.$($field).+ = EnvValue::parse_env(v)?;
                Ok(())
            }),
        )*];
    };
}

overrides! {
    "MRP_DATA_DIR" => data_dir;
    "MRP_LISTEN" => http.listen;
    "MRP_HTTP_LISTEN" => http.listen;
    "MRP_HTTP_PUBLIC_URL" => http.public_url;
    "MRP_HTTP_SHUTDOWN_TIMEOUT_SECS" => http.shutdown_timeout_secs;
    "MRP_DATABASE_URL" => database.url;
    "MRP_DATABASE_MAX_CONNECTIONS" => database.max_connections;
    "MRP_DATABASE_CONNECT_TIMEOUT_SECS" => database.connect_timeout_secs;
    "MRP_LOG_LEVEL" => log.level;
    "MRP_LOG_FORMAT" => log.format;
    "MRP_LOG_FILE" => log.file;
    "MRP_UI_BANNER_NAME" => ui.banner_name;
    "MRP_UI_MAX_AGE" => ui.max_age;
    "MRP_FILES_TFTP_ROOT" => files.tftp_root;
    "MRP_FILES_NETBOOT_TEMPLATES_DIR" => files.netboot_templates_dir;
    "MRP_FILES_MAX_UPLOAD_SIZE" => files.max_upload_size;
    "MRP_TOOLS_IPMITOOL" => tools.ipmitool;
    "MRP_CONSOLE_EXT_HOST" => console.ext_host;
    "MRP_CONSOLE_EXT_PORT" => console.ext_port;
    "MRP_PROVISIONING_PRESEED_DNS" => provisioning.preseed_dns;
    "MRP_DHCP_NEXT_SERVER" => dhcp.next_server;
    "MRP_DHCP_DEFAULT_BOOTFILE" => dhcp.default_bootfile;
    "MRP_DHCP_ANSWER_CACHE_MS" => dhcp.answer_cache_ms;
    "MRP_RESERVATIONS_POWER_OFF_ON_EXPIRY" => reservations.power_off_on_expiry;
    "MRP_RESERVATIONS_EXPIRY_CHECK_SECS" => reservations.expiry_check_secs;
    "MRP_EVENTS_RETENTION_DAYS" => events.retention_days;
    "MRP_BMC_DEADLINE_SECS" => bmc.deadline_secs;
    "MRP_BMC_MAX_IN_FLIGHT" => bmc.max_in_flight;
    "MRP_BMC_STATUS_CACHE_SECS" => bmc.status_cache_secs;
    "MRP_TFTP_ENABLED" => tftp.enabled;
    "MRP_TFTP_LISTEN" => tftp.listen;
    "MRP_TFTP_TIMEOUT_MS" => tftp.timeout_ms;
    "MRP_TFTP_RETRIES" => tftp.retries;
    "MRP_TFTP_MAX_BLOCK_SIZE" => tftp.max_block_size;
    "MRP_TFTP_MAX_WINDOW_SIZE" => tftp.max_window_size;
    "MRP_TFTP_MAX_TRANSFERS" => tftp.max_transfers;
    "MRP_KEA_HOSTS_DATABASE_URL" => kea.hosts_database_url;
    "MRP_KEA_LEASES_DATABASE_URL" => kea.leases_database_url;
    "MRP_KEA_CHECK_INTERVAL_SECS" => kea.check_interval_secs;
    "MRP_KEA_CONNECT_TIMEOUT_SECS" => kea.connect_timeout_secs;
    "MRP_KEA_HTTP_BOOT" => kea.http_boot;
}

/// `MRP_` variables that are not settings but are read elsewhere.
pub const OTHER_VARIABLES: &[&str] = &["MRP_CONFIG", "MRP_ADMIN_PASSWORD"];

/// Every environment variable that overrides a key, with that key (for documentation).
pub fn environment_overrides() -> impl Iterator<Item = (&'static str, &'static str)> {
    OVERRIDES.iter().map(|(env, key, _)| (*env, *key))
}

impl Config {
    /// Parses TOML text; `source_name` (a path) is used in errors.
    pub fn from_toml(text: &str, source_name: &str) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::parse(text).map_err(|e| ConfigError {
            source_name: source_name.to_string(),
            key: "-".into(),
            reason: e.to_string(),
        })?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            ConfigError {
                source_name: source_name.to_string(),
                key: if key == "." { "-".into() } else { key },
                reason: e.into_inner().to_string(),
            }
        })
    }

    /// Reads the file at `path` (if any), then applies the environment `env` (pairs of
    /// name and value; pass `std::env::vars()`). Returns the config and warnings about
    /// unknown `MRP_` variables (likely typos).
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                    source_name: p.display().to_string(),
                    key: "-".into(),
                    reason: format!("cannot read the file: {e}"),
                })?;
                Config::from_toml(&text, &p.display().to_string())?
            }
            None => Config::default(),
        };
        let mut warnings = Vec::new();
        for (name, value) in env {
            // MRP_TEST_* and MRP_BENCH_* belong to the test suite and the benchmarks.
            if !name.starts_with("MRP_")
                || OTHER_VARIABLES.contains(&name.as_str())
                || name.starts_with("MRP_TEST_")
                || name.starts_with("MRP_BENCH_")
            {
                continue;
            }
            match OVERRIDES.iter().find(|(env, _, _)| *env == name) {
                Some((env, key, set)) => {
                    set(&mut config, &value).map_err(|reason| ConfigError {
                        source_name: format!("environment variable {env}"),
                        key: (*key).to_string(),
                        reason,
                    })?
                }
                None => warnings.push(format!(
                    "environment variable {name} is not a known setting and is ignored"
                )),
            }
        }
        config.validate()?;
        Ok((config, warnings))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &str, reason: String| ConfigError {
            source_name: "configuration".into(),
            key: key.into(),
            reason,
        };
        if self.bmc.deadline_secs == 0 || self.bmc.max_in_flight == 0 {
            return Err(err(
                "bmc",
                "deadline_secs and max_in_flight must be at least 1".into(),
            ));
        }
        if self.reservations.expiry_check_secs == 0 {
            return Err(err(
                "reservations.expiry_check_secs",
                "must be at least 1".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(err("database.max_connections", "must be at least 1".into()));
        }
        let t = &self.tftp;
        if !(8..=65464).contains(&t.max_block_size) {
            return Err(err(
                "tftp.max_block_size",
                format!("{} is outside 8 to 65464 (RFC 2348)", t.max_block_size),
            ));
        }
        if t.max_window_size == 0 || t.max_transfers == 0 || t.timeout_ms == 0 {
            return Err(err(
                "tftp",
                "max_window_size, max_transfers and timeout_ms must be at least 1".into(),
            ));
        }
        if !(self.http.public_url.starts_with("http://")
            || self.http.public_url.starts_with("https://"))
        {
            return Err(err(
                "http.public_url",
                format!(
                    "{:?} is not an http:// or https:// URL",
                    self.http.public_url
                ),
            ));
        }
        if !self.dhcp.next_server.is_empty()
            && self.dhcp.next_server.parse::<std::net::IpAddr>().is_err()
        {
            return Err(err(
                "dhcp.next_server",
                format!(
                    "{:?} is not an IP address (DHCP needs an address, not a name)",
                    self.dhcp.next_server
                ),
            ));
        }
        self.validate_kea()
            .map_err(|(key, reason)| err(key, reason))?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level).map_err(|e| {
            err(
                "log.level",
                format!("{:?} is not a log level or filter: {e}", self.log.level),
            )
        })?;
        Ok(())
    }

    fn validate_kea(&self) -> Result<(), (&'static str, String)> {
        use secrecy::ExposeSecret;
        let k = &self.kea;
        for (key, url) in [
            ("kea.hosts_database_url", &k.hosts_database_url),
            ("kea.leases_database_url", &k.leases_database_url),
        ] {
            if let Some(url) = url {
                let url = url.expose_secret();
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    // The URL may hold a password: name only its scheme.
                    let scheme = url.split("://").next().unwrap_or("").chars().take(16);
                    return Err((
                        key,
                        format!(
                            "a {:?} URL is not a PostgreSQL one (postgres://...): Kea's \
                             PostgreSQL databases are the ones supported",
                            scheme.collect::<String>()
                        ),
                    ));
                }
            }
        }
        if k.check_interval_secs == 0 || k.connect_timeout_secs == 0 {
            return Err((
                "kea",
                "check_interval_secs and connect_timeout_secs must be at least 1".into(),
            ));
        }
        if k.hosts_database_url.is_some()
            && self.dhcp.next_server.parse::<std::net::Ipv4Addr>().is_err()
        {
            return Err((
                "dhcp.next_server",
                format!(
                    "{:?} is not an IPv4 address, which Kea's host reservations need",
                    self.dhcp.next_server
                ),
            ));
        }
        Ok(())
    }

    /// The database URL in effect: the configured one, or the SQLite file in the data
    /// directory.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}", self.default_database_path().display())
        } else {
            self.database.url.clone()
        }
    }

    /// Whether the database is the default SQLite file (which may be created).
    pub fn database_is_default(&self) -> bool {
        self.database.url.is_empty()
    }

    /// The default SQLite file.
    pub fn default_database_path(&self) -> PathBuf {
        self.data_dir.join("mr-provisioner.db")
    }

    /// The TFTP root in effect.
    pub fn tftp_root(&self) -> PathBuf {
        if self.files.tftp_root.as_os_str().is_empty() {
            self.data_dir.join("tftp")
        } else {
            self.files.tftp_root.clone()
        }
    }

    /// Where console logs are kept.
    pub fn console_log_dir(&self) -> PathBuf {
        self.data_dir.join("console")
    }
}

/// The initial administrator password from `MRP_ADMIN_PASSWORD`, if set.
pub fn admin_password_from_env() -> Option<SecretString> {
    std::env::var("MRP_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(Into::into)
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

#[cfg(test)]
mod tests;

//! Reaching a machine's BMC: the connector that turns a stored BMC into a driver, and the
//! deadline every call gets.

use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use mr_provisioner_ipmi::redfish::{RedfishBmc, redfish_base_url};
use mr_provisioner_ipmi::sim::{SimMode, SimRegistry};
use mr_provisioner_ipmi::{
    Bmc as Driver, BmcError, BmcKey, BmcKind, BmcPool, BmcSettings, PoolConfig, PowerState, Tools,
};

use crate::error::{Error, Result};
use crate::model::bmc::Bmc;

/// The deadline of one BMC call when the BMC sets none.
pub const DEFAULT_BMC_TIMEOUT: Duration = Duration::from_secs(30);

/// Turns a stored BMC (with the machine's BMC info, e.g. a Moonshot cartridge) into a
/// driver.
pub trait BmcConnector: Send + Sync {
    /// The driver for `bmc` as seen from the machine with `bmc_info`.
    fn connect(&self, bmc: &Bmc, bmc_info: &str) -> Result<Arc<dyn Driver>>;
}

/// How the [`DefaultConnector`] reaches BMCs.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// The ipmitool executable.
    pub ipmitool: PathBuf,
    /// The deadline of one call when the BMC sets none.
    pub deadline: Duration,
    /// BMC calls in flight at most, over all BMCs.
    pub max_in_flight: usize,
    /// How long a power state read is reused.
    pub status_ttl: Duration,
}

impl Default for ConnectorSettings {
    fn default() -> Self {
        ConnectorSettings {
            ipmitool: PathBuf::from(mr_provisioner_ipmi::DEFAULT_IPMITOOL),
            deadline: DEFAULT_BMC_TIMEOUT,
            max_in_flight: mr_provisioner_ipmi::DEFAULT_MAX_IN_FLIGHT,
            status_ttl: mr_provisioner_ipmi::DEFAULT_STATUS_TTL,
        }
    }
}

/// The connector the server uses: ipmitool for `plain` and `moonshot` BMCs, HTTPS for
/// `redfish`, and an in-process simulator for `sim` (one per stored BMC, kept for the life of
/// the process). Every driver is wrapped by one [`BmcPool`]: calls to one BMC are serialised,
/// different BMCs run in parallel up to a global bound, each call has a deadline, and power
/// state reads are briefly cached.
pub struct DefaultConnector {
    sims: SimRegistry,
    pool: BmcPool,
    tools: Tools,
    deadline: Duration,
    /// Redfish drivers keep what they discovered (the system's URL): reuse them while the
    /// BMC's settings stay the same.
    redfish: Mutex<HashMap<String, Arc<dyn Driver>>>,
}

impl std::fmt::Debug for DefaultConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultConnector")
            .field("tools", &self.tools)
            .finish_non_exhaustive()
    }
}

impl Default for DefaultConnector {
    fn default() -> Self {
        Self::new()
    }
}

impl DefaultConnector {
    /// A connector with default settings.
    pub fn new() -> Self {
        Self::with_settings(ConnectorSettings::default())
    }

    /// A connector with these settings.
    pub fn with_settings(settings: ConnectorSettings) -> Self {
        Self::with_tools(settings.clone(), Tools::new(settings.ipmitool))
    }

    /// A connector whose ipmitool runs through `tools` (tests record the command lines).
    pub fn with_tools(settings: ConnectorSettings, tools: Tools) -> Self {
        DefaultConnector {
            sims: SimRegistry::new(
                PowerState::Off,
                SimMode::Auto {
                    delay: Duration::ZERO,
                },
            ),
            pool: BmcPool::new(PoolConfig {
                max_in_flight: settings.max_in_flight,
                status_ttl: settings.status_ttl,
            }),
            tools,
            deadline: settings.deadline,
            redfish: Mutex::new(HashMap::new()),
        }
    }

    /// The simulator registry (tests reach simulated BMCs through it).
    pub fn sims(&self) -> &SimRegistry {
        &self.sims
    }

    /// The pool (its counters show how many BMC calls were made).
    pub fn pool(&self) -> &BmcPool {
        &self.pool
    }

    fn settings(&self, bmc: &Bmc, info: &str) -> BmcSettings {
        let mut s = BmcSettings::new(bmc.kind, bmc.address.clone());
        s.port = bmc.port;
        s.username = bmc.username.clone();
        s.password = bmc.password.clone();
        s.privilege = bmc.privilege;
        // Unset stored values keep the driver's defaults (cipher suite 3, one retry).
        if bmc.cipher_suite.is_some() {
            s.cipher_suite = bmc.cipher_suite;
        }
        if bmc.retries.is_some() {
            s.retries = bmc.retries;
        }
        s.deadline = self.deadline_of(bmc);
        s.info = info.to_string();
        s
    }

    fn deadline_of(&self, bmc: &Bmc) -> Duration {
        bmc.timeout_ms
            .map(|ms| Duration::from_millis(u64::from(ms)))
            .unwrap_or(self.deadline)
    }

    fn redfish(&self, bmc: &Bmc, info: &str, deadline: Duration) -> Result<Arc<dyn Driver>> {
        use secrecy::ExposeSecret;
        // Keyed by everything that shapes the driver (the password by its hash).
        let key = format!(
            "{}|{}|{:?}|{}|{}|{}|{}",
            bmc.id,
            bmc.address,
            bmc.port,
            bmc.username,
            info,
            deadline.as_millis(),
            crate::auth::hash_api_token(bmc.password.expose_secret())
        );
        let mut cache = self.redfish.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = cache.get(&key) {
            return Ok(d.clone());
        }
        let system = Some(info.to_string()).filter(|i| !i.is_empty());
        let driver: Arc<dyn Driver> = Arc::new(
            RedfishBmc::new(
                &redfish_base_url(&bmc.address, bmc.port),
                &bmc.username,
                bmc.password.clone(),
                system,
                deadline,
                // BMCs almost always have self-signed certificates.
                true,
            )
            .map_err(bmc_error)?,
        );
        cache.retain(|k, _| !k.starts_with(&format!("{}|", bmc.id)));
        cache.insert(key, driver.clone());
        Ok(driver)
    }
}

fn bmc_error(e: BmcError) -> Error {
    Error::Bmc {
        message: e.to_string(),
    }
}

impl BmcConnector for DefaultConnector {
    fn connect(&self, bmc: &Bmc, bmc_info: &str) -> Result<Arc<dyn Driver>> {
        let deadline = self.deadline_of(bmc);
        let driver: Arc<dyn Driver> = match bmc.kind {
            BmcKind::Sim => self.sims.get_or_create(&bmc.id.to_string()),
            BmcKind::Redfish => self.redfish(bmc, bmc_info, deadline)?,
            BmcKind::Plain | BmcKind::Moonshot => {
                mr_provisioner_ipmi::driver(&self.settings(bmc, bmc_info), &self.tools)
                    .map_err(bmc_error)?
            }
        };
        let key = BmcKey::new(bmc.id.to_string()).with_target(bmc_info);
        Ok(self.pool.wrap(key, driver, deadline))
    }
}

/// Runs one BMC call under the BMC's deadline; its errors become [`Error::Bmc`] with the
/// BMC's own message.
pub(crate) async fn with_deadline<T>(
    bmc: &Bmc,
    call: impl Future<Output = std::result::Result<T, BmcError>>,
) -> Result<T> {
    let limit = bmc
        .timeout_ms
        .map(|ms| Duration::from_millis(u64::from(ms)))
        .unwrap_or(DEFAULT_BMC_TIMEOUT);
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::Bmc {
            message: e.to_string(),
        }),
        Err(_) => Err(Error::Bmc {
            message: BmcError::Timeout {
                after_ms: limit.as_millis() as u64,
            }
            .to_string(),
        }),
    }
}

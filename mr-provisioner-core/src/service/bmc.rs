//! Reaching a machine's BMC: the connector that turns a stored BMC into a driver, and the
//! deadline every call gets.

use std::sync::Arc;
use std::time::Duration;

use mr_provisioner_ipmi::sim::{SimMode, SimRegistry};
use mr_provisioner_ipmi::{Bmc as Driver, BmcError, BmcKind, PowerState};

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

/// The connector the server uses. The simulator keeps one simulated BMC per stored BMC for
/// the life of the process. The ipmitool and Redfish drivers are not part of this build yet:
/// BMCs of those kinds answer "unavailable".
#[derive(Debug, Default)]
pub struct DefaultConnector {
    sims: SimRegistry,
}

impl DefaultConnector {
    /// A connector with a fresh simulator registry.
    pub fn new() -> Self {
        DefaultConnector {
            sims: SimRegistry::new(
                PowerState::Off,
                SimMode::Auto {
                    delay: Duration::ZERO,
                },
            ),
        }
    }

    /// The simulator registry (tests reach simulated BMCs through it).
    pub fn sims(&self) -> &SimRegistry {
        &self.sims
    }
}

impl BmcConnector for DefaultConnector {
    fn connect(&self, bmc: &Bmc, _bmc_info: &str) -> Result<Arc<dyn Driver>> {
        match bmc.kind {
            BmcKind::Sim => Ok(self.sims.get_or_create(&bmc.id.to_string())),
            kind => Err(Error::Unavailable {
                message: format!("the {kind} BMC driver is not available in this build"),
                source: None,
            }),
        }
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

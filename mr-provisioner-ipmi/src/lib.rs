//! BMC control for mr-provisioner: the `Bmc` trait, the kinds of BMC we drive, the ipmitool
//! drivers, a pool that shares BMCs fairly, and a simulator.
//!
//! This crate is the leaf that talks to baseboard management controllers. It depends on no
//! other crate of the workspace, so lab tooling can embed it alone.
//!
//! ```
//! use mr_provisioner_ipmi::{BmcKind, Privilege};
//!
//! let kind: BmcKind = "moonshot".parse().unwrap();
//! assert_eq!(kind, BmcKind::Moonshot);
//! assert_eq!(kind.to_string(), "moonshot");
//! // The original stored `admin`; ipmitool calls it ADMINISTRATOR.
//! assert_eq!("admin".parse::<Privilege>().unwrap(), Privilege::Administrator);
//! ```
//!
//! # Modules
//!
//! - [`Bmc`] and its types: what every driver answers.
//! - [`BmcSettings`], [`Tools`] and [`driver`]: the ipmitool drivers, `plain` (lanplus) and
//!   `moonshot` (double-bridged to a cartridge). Their command line is built by the pure
//!   [`ipmitool_argv`]; the password goes through the environment ([`ipmitool_env`]), never
//!   the command line; each call has a hard deadline after which ipmitool is killed.
//! - [`runner`]: how processes are spawned ([`CommandRunner`]), for real or recorded.
//! - [`BmcPool`]: one call at a time per BMC, a global bound, a short power-state cache.
//! - [`sim`]: an in-process BMC for tests, demos and embedders.
//!
//! The ipmitool driver, with a recording runner standing in for ipmitool:
//!
//! ```
//! use std::sync::Arc;
//!
//! use mr_provisioner_ipmi::runner::{FakeReply, RecordingRunner};
//! use mr_provisioner_ipmi::{
//!     BmcKind, BmcSettings, IpmiCommand, PowerAction, PowerState, Tools, driver, ipmitool_argv,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), mr_provisioner_ipmi::BmcError> {
//! let settings = BmcSettings {
//!     username: "admin".into(),
//!     password: "secret".into(),
//!     info: "3".into(), // the cartridge
//!     ..BmcSettings::new(BmcKind::Moonshot, "10.0.0.5")
//! };
//! // A Moonshot reset is sent as a cycle, double-bridged to cartridge 3; the password is not
//! // on the command line.
//! assert_eq!(
//!     ipmitool_argv(&settings, &IpmiCommand::Power(PowerAction::Reset))?.join(" "),
//!     "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR -C 3 \
//!      -B 0 -T 134 -b 7 -t 114 -R 1 -N 2 chassis power cycle"
//! );
//!
//! let runner = Arc::new(RecordingRunner::new());
//! runner.push(FakeReply::stdout("Chassis Power is on\n"));
//! let bmc = driver(&settings, &Tools::default().with_runner(runner.clone()))?;
//! assert_eq!(bmc.power_status().await?, PowerState::On);
//! assert_eq!(runner.calls()[0].env_var("IPMI_PASSWORD"), Some("secret"));
//! # Ok(())
//! # }
//! ```
//!
//! Every driver is an `Arc<dyn Bmc>`. The in-process simulator, [`sim::SimBmc`], stands in
//! for a real BMC and records what it was asked:
//!
//! ```
//! use std::sync::Arc;
//!
//! use mr_provisioner_ipmi::sim::{SimBmc, SimCall, SimMode};
//! use mr_provisioner_ipmi::{Bmc, BmcError, BootDevice, PowerAction, PowerState};
//!
//! /// Network-boot a machine: PXE next, then reset it if it runs, else power it on.
//! async fn pxe_reboot(bmc: &dyn Bmc) -> Result<(), BmcError> {
//!     bmc.set_boot_device(BootDevice::Pxe, true).await?;
//!     match bmc.power_status().await? {
//!         PowerState::On => bmc.power(PowerAction::Reset).await,
//!         PowerState::Off => bmc.power(PowerAction::On).await,
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), BmcError> {
//!     let sim = SimBmc::new(PowerState::Off, SimMode::Explicit);
//!     let bmc: Arc<dyn Bmc> = sim.clone();
//!
//!     pxe_reboot(bmc.as_ref()).await?;
//!     assert_eq!(
//!         sim.calls(),
//!         [
//!             SimCall::SetBootDevice { device: BootDevice::Pxe, efi: true },
//!             SimCall::PowerStatus,
//!             SimCall::Power(PowerAction::On),
//!         ]
//!     );
//!     // In explicit mode the power-on waits for the test.
//!     assert_eq!(bmc.power_status().await?, PowerState::Off);
//!     sim.complete_transition();
//!     assert_eq!(bmc.power_status().await?, PowerState::On);
//!     assert_eq!(sim.boots()[0].setting.map(|s| s.device), Some(BootDevice::Pxe));
//!
//!     // Faults are injected, and are what a real BMC would answer.
//!     sim.fail_next(1, BmcError::Timeout { after_ms: 5000 });
//!     assert!(bmc.power_status().await.unwrap_err().is_transient());
//!     Ok(())
//! }
//! ```

mod argv;
mod bmc;
mod config;
mod ipmitool;
mod kind;
mod pool;
pub mod redfish;
pub mod runner;
pub mod sim;

pub use argv::{
    IpmiCommand, MOONSHOT_CARTRIDGES, PASSWORD_ENV, ipmitool_argv, ipmitool_env, moonshot_cartridge,
};
pub use bmc::{Bmc, BmcError, BootDevice, PowerAction, PowerState};
pub use config::{
    BmcSettings, DEFAULT_CIPHER_SUITE, DEFAULT_DEADLINE, DEFAULT_IPMITOOL, DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_SECS, Tools,
};
pub use ipmitool::driver;
pub use kind::{BmcKind, ParseKindError, Privilege};
pub use pool::{BmcKey, BmcPool, DEFAULT_MAX_IN_FLIGHT, DEFAULT_STATUS_TTL, PoolConfig, PoolStats};
pub use runner::{CommandRunner, Output, RunError, TokioRunner};

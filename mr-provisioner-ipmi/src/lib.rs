//! BMC control for mr-provisioner: the `Bmc` trait, the kinds of BMC we drive, and a simulator.
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

mod bmc;
mod kind;
pub mod sim;

pub use bmc::{Bmc, BmcError, BootDevice, PowerAction, PowerState};
pub use kind::{BmcKind, ParseKindError, Privilege};

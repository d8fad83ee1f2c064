//! Network boot for mr-provisioner: installer kinds and the installer part of the kernel
//! command line.
//!
//! This crate depends on no other crate of the workspace.
//!
//! ```
//! use mr_provisioner_netboot::{installer_kernel_options, InstallerKind};
//!
//! let opts = installer_kernel_options(InstallerKind::Kickstart, "http://10.0.0.1:5000/preseed/7", "");
//! assert_eq!(opts, "ks=http://10.0.0.1:5000/preseed/7 kssendmac");
//! ```

mod installer;

pub use installer::{InstallerKind, ParseInstallerKindError, installer_kernel_options};

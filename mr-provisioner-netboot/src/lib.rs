//! Network boot for mr-provisioner: boot-file name parsing, boot and installer config
//! rendering, safe paths under the TFTP root, and a TFTP server.
//!
//! This crate depends on no other crate of the workspace.
//!
//! ```
//! use mr_provisioner_netboot::{installer_kernel_options, InstallerKind};
//!
//! let opts = installer_kernel_options(InstallerKind::Kickstart, "http://10.0.0.1:5000/preseed/7", "");
//! assert_eq!(opts, "ks=http://10.0.0.1:5000/preseed/7 kssendmac");
//! ```

pub mod bootfile;
mod installer;
pub mod path;
pub mod render;
pub mod tftp;

pub use installer::{InstallerKind, ParseInstallerKindError, installer_kernel_options};

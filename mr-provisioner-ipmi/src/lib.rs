//! BMC control for mr-provisioner: the kinds of BMC we drive and their settings.
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

mod kind;

pub use kind::{BmcKind, ParseKindError, Privilege};

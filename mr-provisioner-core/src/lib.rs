//! The mr-provisioner domain: the data model of a bare-metal lab, its persistence on SQLite
//! and PostgreSQL, who may do what, and authentication.
//!
//! Everything here is transport-agnostic: the HTTP server (and any other embedder) maps
//! [`Error`] to its own protocol once.
//!
//! ```
//! use mr_provisioner_core::mac::MacAddr;
//! use mr_provisioner_core::model::machine::hostname;
//!
//! let mac: MacAddr = "00-11-22-AA-BB-CC".parse().unwrap();
//! assert_eq!(mac.to_string(), "00:11:22:aa:bb:cc");
//! assert_eq!(hostname("m1.lab_x"), "m1-lab-x");
//! ```

pub mod accounts;
pub mod auth;
pub mod discovery;
pub mod error;
pub mod files;
pub mod id;
pub mod inventory;
pub mod kea;
pub mod mac;
pub mod model;
pub mod policy;
pub mod query;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod validate;

pub use error::{Error, Result};

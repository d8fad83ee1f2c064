//! sea-orm entities: the persisted form of the model, one module per table.
//!
//! These mirror the migrations exactly (a test compares them with the migrated schema on
//! both backends). Fields are plain database types; conversion to the typed model lives in
//! the store modules.
#![allow(missing_docs)]

pub mod api_tokens;
pub mod archs;
pub mod assignments;
pub mod audit_log;
pub mod bmcs;
pub mod console_tokens;
pub mod discovered_macs;
pub mod images;
pub mod interfaces;
pub mod leases;
pub mod machine_events;
pub mod machines;
pub mod networks;
pub mod preseeds;
pub mod subarchs;
pub mod users;

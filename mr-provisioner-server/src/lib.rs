//! The mr-provisioner reference server: the HTTP application ([`app`]), its configuration and
//! state. The `mr-provisioner` binary (`src/main.rs`, `src/cli/`) is a thin layer over them.
//!
//! Tests and embedders build the same application `main` runs:
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use mr_provisioner_core::store::sea::{connect, ConnectSettings, DatabaseLocation};
//! use mr_provisioner_server::{app, config::Config, state::AppState};
//!
//! let store = connect(&DatabaseLocation::SqliteMemory, &ConnectSettings::default()).await?;
//! store.migrate().await?;
//! let state = AppState::new(Arc::new(store), Config::default());
//! poem::Server::new(poem::listener::TcpListener::bind("127.0.0.1:5000"))
//!     .run(app(state))
//!     .await?;
//! # Ok(()) }
//! ```

mod api;
pub mod config;
pub mod http_server;
pub mod logging;
pub mod state;
pub mod tasks;
pub mod tftp;

pub use api::app;

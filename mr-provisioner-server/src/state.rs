//! The state every request handler shares.

use std::sync::Arc;

use mr_provisioner_core::store::Store;

use crate::config::Config;

/// What handlers need: the store and the configuration. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The configuration in effect.
    pub config: Arc<Config>,
}

impl AppState {
    /// Bundles a store and a configuration.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        AppState {
            store,
            config: Arc::new(config),
        }
    }
}

//! `SimRegistry`: one simulated BMC per key, kept across requests.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::PowerState;

use super::{SimBmc, SimMode};

/// A set of simulated BMCs, one per key, so a server that builds a driver per request still
/// talks to the same simulated machine each time.
///
/// The key is whatever names a configured BMC stably (its id, name or address).
pub struct SimRegistry {
    initial: PowerState,
    mode: SimMode,
    bmcs: Mutex<HashMap<String, Arc<SimBmc>>>,
}

impl SimRegistry {
    /// An empty registry whose BMCs start in `initial` power state, in `mode`.
    pub fn new(initial: PowerState, mode: SimMode) -> Self {
        SimRegistry {
            initial,
            mode,
            bmcs: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<SimBmc>>> {
        self.bmcs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The simulated BMC for `key`, created on first use.
    pub fn get_or_create(&self, key: &str) -> Arc<SimBmc> {
        let mut bmcs = self.lock();
        if let Some(bmc) = bmcs.get(key) {
            return Arc::clone(bmc);
        }
        let bmc = SimBmc::new(self.initial, self.mode);
        bmcs.insert(key.to_string(), Arc::clone(&bmc));
        bmc
    }

    /// The simulated BMC for `key`, if one was created.
    pub fn get(&self, key: &str) -> Option<Arc<SimBmc>> {
        self.lock().get(key).cloned()
    }

    /// Forgets the BMC for `key`; the next [`get_or_create`](Self::get_or_create) starts a
    /// fresh one. Returns the one forgotten.
    pub fn remove(&self, key: &str) -> Option<Arc<SimBmc>> {
        self.lock().remove(key)
    }

    /// The keys in use, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// How many BMCs exist.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no BMC exists yet.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

impl Default for SimRegistry {
    /// BMCs that start powered off and complete transitions at once.
    fn default() -> Self {
        SimRegistry::new(PowerState::Off, SimMode::default())
    }
}

impl fmt::Debug for SimRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimRegistry")
            .field("initial", &self.initial)
            .field("mode", &self.mode)
            .field("keys", &self.keys())
            .finish()
    }
}

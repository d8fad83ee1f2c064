//! `BmcPool`: one call at a time per BMC, a global bound on calls in flight, every call
//! within its deadline, and a short power-state cache with coalesced reads.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::{Bmc, BmcError, BootDevice, PowerAction, PowerState};

/// The number of BMC calls in flight at once by default, all BMCs together.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// How long a power-state reading is reused by default.
pub const DEFAULT_STATUS_TTL: Duration = Duration::from_secs(5);

/// How a [`BmcPool`] shares the BMCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// The most calls in flight at once, all BMCs together (at least 1).
    pub max_in_flight: usize,
    /// How long a successful `power_status` answer is reused; zero reuses none (concurrent
    /// reads are still coalesced).
    pub status_ttl: Duration,
}

impl Default for PoolConfig {
    /// 32 calls in flight, a 5 s power-state cache.
    fn default() -> Self {
        PoolConfig {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            status_ttl: DEFAULT_STATUS_TTL,
        }
    }
}

/// Which BMC a wrapped driver talks to, and which machine behind it.
///
/// Calls are serialised per `bmc`; power states are cached per (`bmc`, `target`), since
/// the machines behind one Moonshot chassis manager (one BMC) each have their own power.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BmcKey {
    /// The BMC, e.g. its database id.
    pub bmc: String,
    /// The machine behind it, e.g. a Moonshot cartridge number; empty for a plain BMC.
    pub target: String,
}

impl BmcKey {
    /// The key of a BMC that answers for one machine.
    pub fn new(bmc: impl Into<String>) -> Self {
        BmcKey {
            bmc: bmc.into(),
            target: String::new(),
        }
    }

    /// The same BMC, for the machine `target` behind it.
    pub fn with_target(self, target: impl Into<String>) -> Self {
        BmcKey {
            target: target.into(),
            ..self
        }
    }
}

/// What a [`BmcPool`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Calls made to the underlying drivers, every method.
    pub calls: u64,
    /// Of those, `power_status` calls.
    pub status_calls: u64,
    /// `power_status` answers served from the cache (younger than the TTL).
    pub cache_hits: u64,
    /// `power_status` answers shared from a read that finished while the caller waited.
    pub coalesced: u64,
    /// Calls that failed with [`BmcError::Timeout`] because their deadline passed in the
    /// pool (waiting for their turn, or in the driver).
    pub deadline_expired: u64,
    /// Calls in the underlying drivers right now.
    pub in_flight: usize,
}

/// Hands out BMC drivers that share the BMCs fairly.
///
/// A driver wrapped by [`BmcPool::wrap`]:
/// - makes one call at a time to its BMC (a FIFO tokio mutex per [`BmcKey::bmc`]), while
///   different BMCs run in parallel;
/// - holds one of [`PoolConfig::max_in_flight`] permits only while its call runs, never while
///   it waits for its BMC, so calls queued on a hung BMC take no capacity from the others;
/// - finishes every call within its deadline: a call that cannot even start in time fails
///   with [`BmcError::Timeout`] and leaves the queue;
/// - reuses a successful `power_status` answer for [`PoolConfig::status_ttl`], and gives
///   reads that waited for a concurrent read that read's answer (single flight: ten
///   concurrent reads make one call). A power or boot-device request forgets the cached
///   state of its target, before and after it runs.
///
/// Cheap to clone; clones share everything. Wrapping is cheap too: wrap a fresh driver per
/// request, and the pool's state for its key carries over. The pool keeps a little state
/// per key for its lifetime.
#[derive(Debug, Clone)]
pub struct BmcPool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    config: PoolConfig,
    permits: Semaphore,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    calls: AtomicU64,
    status_calls: AtomicU64,
    cache_hits: AtomicU64,
    coalesced: AtomicU64,
    deadline_expired: AtomicU64,
}

/// One BMC's turn and its targets' power states.
#[derive(Debug, Default)]
struct Slot {
    turn: tokio::sync::Mutex<()>,
    targets: Mutex<HashMap<String, TargetState>>,
}

#[derive(Debug, Default)]
struct TargetState {
    /// `power_status` calls finished so far.
    reads_done: u64,
    /// The last one's answer, unless an action made it stale.
    last: Option<Reading>,
}

#[derive(Debug)]
struct Reading {
    /// Its rank in `reads_done`.
    number: u64,
    at: Instant,
    result: Result<PowerState, BmcError>,
}

impl Default for BmcPool {
    fn default() -> Self {
        BmcPool::new(PoolConfig::default())
    }
}

impl BmcPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        let config = PoolConfig {
            max_in_flight: config.max_in_flight.clamp(1, Semaphore::MAX_PERMITS),
            ..config
        };
        BmcPool {
            inner: Arc::new(PoolInner {
                config,
                permits: Semaphore::new(config.max_in_flight),
                slots: Mutex::new(HashMap::new()),
                calls: AtomicU64::new(0),
                status_calls: AtomicU64::new(0),
                cache_hits: AtomicU64::new(0),
                coalesced: AtomicU64::new(0),
                deadline_expired: AtomicU64::new(0),
            }),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> PoolConfig {
        self.inner.config
    }

    /// `driver`, as the BMC `key` names, sharing the pool; each of its calls, waiting
    /// included, ends within `deadline` (use the BMC's own call deadline).
    pub fn wrap(&self, key: BmcKey, driver: Arc<dyn Bmc>, deadline: Duration) -> Arc<dyn Bmc> {
        let slot = lock(&self.inner.slots)
            .entry(key.bmc.clone())
            .or_default()
            .clone();
        Arc::new(PooledBmc {
            pool: self.inner.clone(),
            slot,
            target: key.target,
            driver,
            deadline,
        })
    }

    /// Forgets the cached power state of `key`'s target, e.g. after acting on the machine
    /// some other way.
    pub fn forget_status(&self, key: &BmcKey) {
        let slot = lock(&self.inner.slots).get(&key.bmc).cloned();
        if let Some(slot) = slot {
            slot.forget(&key.target);
        }
    }

    /// The counters.
    pub fn stats(&self) -> PoolStats {
        let inner = &self.inner;
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        PoolStats {
            calls: count(&inner.calls),
            status_calls: count(&inner.status_calls),
            cache_hits: count(&inner.cache_hits),
            coalesced: count(&inner.coalesced),
            deadline_expired: count(&inner.deadline_expired),
            in_flight: inner.config.max_in_flight - inner.permits.available_permits(),
        }
    }
}

impl Slot {
    fn targets(&self) -> MutexGuard<'_, HashMap<String, TargetState>> {
        lock(&self.targets)
    }

    fn forget(&self, target: &str) {
        if let Some(state) = self.targets().get_mut(target) {
            state.last = None;
        }
    }
}

impl TargetState {
    /// The last answer, if it succeeded less than `ttl` ago.
    fn fresh(&self, now: Instant, ttl: Duration) -> Option<PowerState> {
        let last = self.last.as_ref()?;
        match last.result {
            Ok(state) if now.saturating_duration_since(last.at) < ttl => Some(state),
            _ => None,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A driver wrapped by a [`BmcPool`].
#[derive(Debug)]
struct PooledBmc {
    pool: Arc<PoolInner>,
    slot: Arc<Slot>,
    target: String,
    driver: Arc<dyn Bmc>,
    deadline: Duration,
}

impl PooledBmc {
    /// Runs `work` within the call's deadline.
    async fn within_deadline<T>(
        &self,
        work: impl Future<Output = Result<T, BmcError>>,
    ) -> Result<T, BmcError> {
        match tokio::time::timeout(self.deadline, work).await {
            Ok(result) => result,
            Err(_) => {
                self.pool.deadline_expired.fetch_add(1, Ordering::Relaxed);
                Err(BmcError::Timeout {
                    after_ms: u64::try_from(self.deadline.as_millis()).unwrap_or(u64::MAX),
                })
            }
        }
    }

    /// A permit to call the driver, counted as one call. Taken after the BMC's turn.
    async fn permit(&self) -> SemaphorePermit<'_> {
        let permit = self
            .pool
            .permits
            .acquire()
            .await
            .expect("the pool never closes its semaphore");
        self.pool.calls.fetch_add(1, Ordering::Relaxed);
        permit
    }

    /// Runs an action that may change the power state, forgetting the cached state before
    /// and after.
    async fn act(
        &self,
        action: impl Future<Output = Result<(), BmcError>>,
    ) -> Result<(), BmcError> {
        self.within_deadline(async {
            let _turn = self.slot.turn.lock().await;
            self.slot.forget(&self.target);
            let _permit = self.permit().await;
            let result = action.await;
            self.slot.forget(&self.target);
            result
        })
        .await
    }
}

#[async_trait]
impl Bmc for PooledBmc {
    async fn power_status(&self) -> Result<PowerState, BmcError> {
        let ttl = self.pool.config.status_ttl;
        let seen = {
            let mut targets = self.slot.targets();
            let state = targets.entry(self.target.clone()).or_default();
            if let Some(power) = state.fresh(Instant::now(), ttl) {
                self.pool.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(power);
            }
            state.reads_done
        };
        self.within_deadline(async {
            let _turn = self.slot.turn.lock().await;
            {
                let mut targets = self.slot.targets();
                let state = targets.entry(self.target.clone()).or_default();
                if let Some(last) = state.last.as_ref().filter(|last| last.number > seen) {
                    self.pool.coalesced.fetch_add(1, Ordering::Relaxed);
                    return last.result.clone();
                }
                if let Some(power) = state.fresh(Instant::now(), ttl) {
                    self.pool.cache_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(power);
                }
            }
            let _permit = self.permit().await;
            self.pool.status_calls.fetch_add(1, Ordering::Relaxed);
            let result = self.driver.power_status().await;
            let mut targets = self.slot.targets();
            let state = targets.entry(self.target.clone()).or_default();
            state.reads_done += 1;
            state.last = Some(Reading {
                number: state.reads_done,
                at: Instant::now(),
                result: result.clone(),
            });
            result
        })
        .await
    }

    async fn power(&self, action: PowerAction) -> Result<(), BmcError> {
        self.act(self.driver.power(action)).await
    }

    async fn set_boot_device(&self, device: BootDevice, efi: bool) -> Result<(), BmcError> {
        self.act(self.driver.set_boot_device(device, efi)).await
    }

    async fn sol_deactivate(&self) -> Result<(), BmcError> {
        self.within_deadline(async {
            let _turn = self.slot.turn.lock().await;
            let _permit = self.permit().await;
            self.driver.sol_deactivate().await
        })
        .await
    }
}

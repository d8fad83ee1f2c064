//! The pool against instrumented fake BMCs, on tokio's paused clock.

use std::sync::atomic::AtomicUsize;

use tokio::task::JoinHandle;

use super::*;

/// Counts calls in progress, and the most seen at once.
#[derive(Debug, Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }
    fn exit(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

/// A BMC whose calls take `delay` (or never end), recording overlap on itself and on a
/// gauge shared by every probe of a test.
#[derive(Debug)]
struct Probe {
    delay: Duration,
    hang: bool,
    power: Mutex<PowerState>,
    status_error: Mutex<Option<BmcError>>,
    mine: Gauge,
    all: Arc<Gauge>,
    calls: AtomicUsize,
}

impl Probe {
    fn new(delay: Duration, all: &Arc<Gauge>) -> Arc<Probe> {
        Arc::new(Probe {
            delay,
            hang: false,
            power: Mutex::new(PowerState::Off),
            status_error: Mutex::new(None),
            mine: Gauge::default(),
            all: all.clone(),
            calls: AtomicUsize::new(0),
        })
    }

    fn hung(all: &Arc<Gauge>) -> Arc<Probe> {
        Arc::new(Probe {
            hang: true,
            ..Arc::into_inner(Probe::new(Duration::ZERO, all)).unwrap()
        })
    }

    async fn work(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.mine.enter();
        self.all.enter();
        if self.hang {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(self.delay).await;
        self.all.exit();
        self.mine.exit();
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn set_power(&self, state: PowerState) {
        *lock(&self.power) = state;
    }
}

#[async_trait]
impl Bmc for Probe {
    async fn power_status(&self) -> Result<PowerState, BmcError> {
        self.work().await;
        match lock(&self.status_error).clone() {
            Some(err) => Err(err),
            None => Ok(*lock(&self.power)),
        }
    }
    async fn power(&self, action: PowerAction) -> Result<(), BmcError> {
        self.work().await;
        let state = match action {
            PowerAction::Off | PowerAction::Soft => PowerState::Off,
            _ => PowerState::On,
        };
        self.set_power(state);
        Ok(())
    }
    async fn set_boot_device(&self, _: BootDevice, _: bool) -> Result<(), BmcError> {
        self.work().await;
        Ok(())
    }
    async fn sol_deactivate(&self) -> Result<(), BmcError> {
        self.work().await;
        Ok(())
    }
}

const SECOND: Duration = Duration::from_secs(1);
const DEADLINE: Duration = Duration::from_secs(30);

fn pool(max_in_flight: usize, status_ttl: Duration) -> BmcPool {
    BmcPool::new(PoolConfig {
        max_in_flight,
        status_ttl,
    })
}

fn spawn_status(bmc: &Arc<dyn Bmc>) -> JoinHandle<Result<PowerState, BmcError>> {
    let bmc = bmc.clone();
    tokio::spawn(async move { bmc.power_status().await })
}

fn spawn_power(bmc: &Arc<dyn Bmc>, action: PowerAction) -> JoinHandle<Result<(), BmcError>> {
    let bmc = bmc.clone();
    tokio::spawn(async move { bmc.power(action).await })
}

async fn join_all<T>(handles: Vec<JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

#[test]
fn defaults() {
    assert_eq!(
        PoolConfig::default(),
        PoolConfig {
            max_in_flight: 32,
            status_ttl: Duration::from_secs(5)
        }
    );
    assert_eq!(BmcPool::default().config(), PoolConfig::default());
    // Zero permits would block every call.
    assert_eq!(pool(0, SECOND).config().max_in_flight, 1);
    assert_eq!(
        BmcKey::new("7").with_target("3"),
        BmcKey {
            bmc: "7".into(),
            target: "3".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn calls_to_one_bmc_never_overlap() {
    let all = Arc::new(Gauge::default());
    let probe = Probe::new(SECOND, &all);
    let pool = BmcPool::default();
    // Separate wrappers of one key, as separate requests would make, share the turn; so do
    // two machines behind one Moonshot BMC.
    let a = pool.wrap(BmcKey::new("bmc-1"), probe.clone(), DEADLINE);
    let b = pool.wrap(
        BmcKey::new("bmc-1").with_target("2"),
        probe.clone(),
        DEADLINE,
    );
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..6 {
        let bmc = if i % 2 == 0 { a.clone() } else { b.clone() };
        handles.push(tokio::spawn(async move {
            match i % 3 {
                0 => bmc.power(PowerAction::Cycle).await,
                1 => bmc.set_boot_device(BootDevice::Pxe, true).await,
                _ => bmc.sol_deactivate().await,
            }
        }));
    }
    for result in join_all(handles).await {
        result.unwrap();
    }
    assert_eq!(probe.mine.max(), 1);
    assert_eq!(probe.calls(), 6);
    assert_eq!(started.elapsed(), 6 * SECOND);
    assert_eq!(pool.stats().calls, 6);
}

#[tokio::test(start_paused = true)]
async fn different_bmcs_run_in_parallel() {
    let all = Arc::new(Gauge::default());
    let pool = BmcPool::default();
    let probes: Vec<_> = (0..5).map(|_| Probe::new(SECOND, &all)).collect();
    let started = Instant::now();
    let handles = probes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let bmc = pool.wrap(BmcKey::new(format!("bmc-{i}")), p.clone(), DEADLINE);
            spawn_power(&bmc, PowerAction::On)
        })
        .collect();
    for result in join_all(handles).await {
        result.unwrap();
    }
    assert_eq!(started.elapsed(), SECOND);
    assert_eq!(all.max(), 5);
}

#[tokio::test(start_paused = true)]
async fn the_global_bound_holds() {
    let all = Arc::new(Gauge::default());
    let pool = pool(2, Duration::ZERO);
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..6 {
        let bmc = pool.wrap(
            BmcKey::new(format!("bmc-{i}")),
            Probe::new(SECOND, &all),
            DEADLINE,
        );
        handles.push(spawn_power(&bmc, PowerAction::Off));
    }
    tokio::time::sleep(SECOND / 2).await;
    assert_eq!(pool.stats().in_flight, 2);
    for result in join_all(handles).await {
        result.unwrap();
    }
    assert_eq!(all.max(), 2);
    assert_eq!(started.elapsed(), 3 * SECOND);
    assert_eq!(pool.stats().in_flight, 0);
    assert_eq!(pool.stats().calls, 6);
}

/// Calls queued on a hung BMC hold no permit: with room for two calls in flight and five
/// calls stuck on one BMC, another BMC still answers at once. The stuck calls each end at
/// their own deadline.
#[tokio::test(start_paused = true)]
async fn a_hung_bmc_delays_no_other() {
    let all = Arc::new(Gauge::default());
    let pool = pool(2, Duration::ZERO);
    let deadline = Duration::from_secs(10);
    let hung = pool.wrap(BmcKey::new("hung"), Probe::hung(&all), deadline);
    let stuck: Vec<_> = (0..5)
        .map(|_| spawn_power(&hung, PowerAction::On))
        .collect();
    tokio::time::sleep(Duration::from_millis(10)).await;

    let healthy = pool.wrap(
        BmcKey::new("healthy"),
        Probe::new(SECOND / 10, &all),
        deadline,
    );
    let started = Instant::now();
    assert_eq!(healthy.power_status().await, Ok(PowerState::Off));
    assert_eq!(started.elapsed(), SECOND / 10);

    for result in join_all(stuck).await {
        assert_eq!(result, Err(BmcError::Timeout { after_ms: 10_000 }));
    }
    assert_eq!(started.elapsed(), deadline - Duration::from_millis(10));
    let stats = pool.stats();
    assert_eq!(stats.deadline_expired, 5);
    assert_eq!(stats.in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn a_call_that_cannot_start_in_time_times_out_without_running() {
    let all = Arc::new(Gauge::default());
    let probe = Probe::new(5 * SECOND, &all);
    let pool = BmcPool::default();
    let slow = pool.wrap(BmcKey::new("b"), probe.clone(), DEADLINE);
    let impatient = pool.wrap(BmcKey::new("b"), probe.clone(), 2 * SECOND);
    let first = spawn_power(&slow, PowerAction::On);
    tokio::time::sleep(Duration::from_millis(1)).await;
    let started = Instant::now();
    assert_eq!(
        impatient.set_boot_device(BootDevice::Disk, false).await,
        Err(BmcError::Timeout { after_ms: 2000 })
    );
    assert_eq!(started.elapsed(), 2 * SECOND);
    first.await.unwrap().unwrap();
    assert_eq!(probe.calls(), 1);
    assert_eq!(pool.stats().calls, 1);
}

#[tokio::test(start_paused = true)]
async fn power_states_are_cached_for_the_ttl() {
    let all = Arc::new(Gauge::default());
    let probe = Probe::new(Duration::ZERO, &all);
    let pool = pool(32, 5 * SECOND);
    let bmc = pool.wrap(BmcKey::new("b"), probe.clone(), DEADLINE);

    assert_eq!(bmc.power_status().await, Ok(PowerState::Off));
    // Changed behind the pool's back: the cache still answers, until the TTL passes.
    probe.set_power(PowerState::On);
    tokio::time::advance(Duration::from_millis(4999)).await;
    assert_eq!(bmc.power_status().await, Ok(PowerState::Off));
    // A fresh wrapper of the same key shares the cache.
    let again = pool.wrap(BmcKey::new("b"), probe.clone(), DEADLINE);
    assert_eq!(again.power_status().await, Ok(PowerState::Off));
    assert_eq!(probe.calls(), 1);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(bmc.power_status().await, Ok(PowerState::On));
    assert_eq!(probe.calls(), 2);
    let stats = pool.stats();
    assert_eq!((stats.status_calls, stats.cache_hits), (2, 2));

    // forget_status drops it.
    probe.set_power(PowerState::Off);
    pool.forget_status(&BmcKey::new("b"));
    assert_eq!(bmc.power_status().await, Ok(PowerState::Off));
    assert_eq!(probe.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn actions_forget_the_cached_state() {
    let all = Arc::new(Gauge::default());
    let probe = Probe::new(Duration::ZERO, &all);
    let pool = BmcPool::default();
    let bmc = pool.wrap(BmcKey::new("b"), probe.clone(), DEADLINE);

    assert_eq!(bmc.power_status().await, Ok(PowerState::Off));
    bmc.power(PowerAction::On).await.unwrap();
    assert_eq!(bmc.power_status().await, Ok(PowerState::On));
    assert_eq!(pool.stats().status_calls, 2);

    assert_eq!(bmc.power_status().await, Ok(PowerState::On));
    assert_eq!(pool.stats().status_calls, 2);
    bmc.set_boot_device(BootDevice::Pxe, false).await.unwrap();
    assert_eq!(bmc.power_status().await, Ok(PowerState::On));
    assert_eq!(pool.stats().status_calls, 3);

    // sol deactivate does not touch the power.
    bmc.sol_deactivate().await.unwrap();
    assert_eq!(bmc.power_status().await, Ok(PowerState::On));
    assert_eq!(pool.stats().status_calls, 3);
}

#[tokio::test(start_paused = true)]
async fn each_machine_behind_a_bmc_has_its_own_cached_state() {
    let all = Arc::new(Gauge::default());
    let cartridge_1 = Probe::new(Duration::ZERO, &all);
    let cartridge_2 = Probe::new(Duration::ZERO, &all);
    cartridge_2.set_power(PowerState::On);
    let pool = BmcPool::default();
    let key = BmcKey::new("chassis");
    let one = pool.wrap(key.clone().with_target("1"), cartridge_1.clone(), DEADLINE);
    let two = pool.wrap(key.clone().with_target("2"), cartridge_2.clone(), DEADLINE);
    assert_eq!(one.power_status().await, Ok(PowerState::Off));
    assert_eq!(two.power_status().await, Ok(PowerState::On));
    // Acting on cartridge 1 leaves cartridge 2's reading cached.
    one.power(PowerAction::On).await.unwrap();
    assert_eq!(two.power_status().await, Ok(PowerState::On));
    assert_eq!(one.power_status().await, Ok(PowerState::On));
    assert_eq!((cartridge_1.calls(), cartridge_2.calls()), (3, 1));
}

#[tokio::test(start_paused = true)]
async fn errors_are_not_cached() {
    let all = Arc::new(Gauge::default());
    let probe = Probe::new(Duration::ZERO, &all);
    *lock(&probe.status_error) = Some(BmcError::Unreachable {
        message: "no route to host".into(),
    });
    let pool = BmcPool::default();
    let bmc = pool.wrap(BmcKey::new("b"), probe.clone(), DEADLINE);
    assert!(bmc.power_status().await.is_err());
    *lock(&probe.status_error) = None;
    assert_eq!(bmc.power_status().await, Ok(PowerState::Off));
    assert_eq!(probe.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn concurrent_status_reads_make_one_call() {
    for ttl in [DEFAULT_STATUS_TTL, Duration::ZERO] {
        let all = Arc::new(Gauge::default());
        let probe = Probe::new(SECOND, &all);
        let pool = pool(32, ttl);
        let bmc = pool.wrap(BmcKey::new("b"), probe.clone(), DEADLINE);
        let started = Instant::now();
        let reads = (0..10).map(|_| spawn_status(&bmc)).collect();
        for result in join_all(reads).await {
            assert_eq!(result, Ok(PowerState::Off));
        }
        assert_eq!(started.elapsed(), SECOND, "ttl {ttl:?}");
        assert_eq!(probe.calls(), 1, "ttl {ttl:?}");
        let stats = pool.stats();
        assert_eq!((stats.calls, stats.status_calls), (1, 1));
        assert_eq!((stats.coalesced, stats.cache_hits), (9, 0));

        // Later reads: from the cache, or (no TTL) a new call.
        assert_eq!(bmc.power_status().await, Ok(PowerState::Off));
        let expected = if ttl.is_zero() { 2 } else { 1 };
        assert_eq!(probe.calls(), expected, "ttl {ttl:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_reads_share_a_failure_too() {
    let all = Arc::new(Gauge::default());
    let probe = Probe::new(SECOND, &all);
    let err = BmcError::Auth {
        message: "RAKP 2 HMAC is invalid".into(),
    };
    *lock(&probe.status_error) = Some(err.clone());
    let pool = BmcPool::default();
    let bmc = pool.wrap(BmcKey::new("b"), probe.clone(), DEADLINE);
    let reads = (0..10).map(|_| spawn_status(&bmc)).collect();
    for result in join_all(reads).await {
        assert_eq!(result, Err(err.clone()));
    }
    assert_eq!(probe.calls(), 1);
}

/// A read that arrives while an action is queued is not answered from before the action.
#[tokio::test(start_paused = true)]
async fn a_read_queued_behind_an_action_sees_its_effect() {
    let all = Arc::new(Gauge::default());
    let probe = Probe::new(SECOND, &all);
    let pool = BmcPool::default();
    let bmc = pool.wrap(BmcKey::new("b"), probe.clone(), DEADLINE);
    let first = spawn_status(&bmc);
    tokio::time::sleep(Duration::from_millis(1)).await;
    let action = spawn_power(&bmc, PowerAction::On);
    tokio::time::sleep(Duration::from_millis(1)).await;
    let after = spawn_status(&bmc);
    assert_eq!(first.await.unwrap(), Ok(PowerState::Off));
    action.await.unwrap().unwrap();
    assert_eq!(after.await.unwrap(), Ok(PowerState::On));
    assert_eq!(probe.calls(), 3);
    assert_eq!(probe.mine.max(), 1);
}

/// A waiting read that gives up (its deadline passes) leaves the queue cleanly.
#[tokio::test(start_paused = true)]
async fn a_read_that_times_out_waiting_leaves_no_trace() {
    let all = Arc::new(Gauge::default());
    let probe = Probe::new(3 * SECOND, &all);
    let pool = BmcPool::default();
    let slow = pool.wrap(BmcKey::new("b"), probe.clone(), DEADLINE);
    let quick = pool.wrap(BmcKey::new("b"), probe.clone(), SECOND);
    let action = spawn_power(&slow, PowerAction::On);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(
        quick.power_status().await,
        Err(BmcError::Timeout { after_ms: 1000 })
    );
    action.await.unwrap().unwrap();
    assert_eq!(slow.power_status().await, Ok(PowerState::On));
    assert_eq!(probe.calls(), 2);
    assert_eq!(pool.stats().deadline_expired, 1);
}

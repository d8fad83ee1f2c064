//! `SimBmc`: an in-process BMC with a power-state machine, a call log and fault injection.
//!
//! The simulator answers the [`Bmc`] trait like a real BMC would, without a network, so
//! tests, demos and embedders can drive the provisioning flows. It follows the omicron
//! simulator pattern: in [`SimMode::Auto`] a power action completes by itself after a delay
//! on a tokio timer; in [`SimMode::Explicit`] it stays pending until the test calls
//! [`SimBmc::complete_transition`] (or [`SimBmc::step_transition`]).
//!
//! # Semantics
//!
//! - `on` when on, `off` when off and `soft` when off change nothing and succeed.
//! - `off` and `soft` power off (the simulated OS always honours the ACPI event).
//! - `cycle` when on powers off, then on: two steps, each taking the mode's delay, so the
//!   machine is seen off in between. When off it powers on, as OpenIPMI's `ipmi_sim` does.
//! - `reset` when on reboots the machine (power stays on); when off it fails with
//!   [`BmcError::Failed`] `power is off`, as the IPMI spec recommends.
//! - `power status` reports the state reached so far, not the target: after `on` in explicit
//!   mode it still reads `off` until the transition completes.
//! - An accepted action replaces any pending one; it is judged against the state reached so
//!   far. A refused one leaves the pending one alone.
//! - `bootdev` sets the device for the next boot only (IPMI "valid for next boot only"); each
//!   boot (power on or reset) is recorded with the setting it consumed ([`SimBmc::boots`]).
//! - `sol deactivate` succeeds whether or not a session was active, and whatever the power.
//!
//! Each call is logged first, then waits while the BMC is unresponsive, then waits the
//! configured latency, then fails if a failure was injected, else takes effect. Failed calls
//! change nothing. The simulator needs a tokio runtime (it sleeps and spawns timers).

mod machine;
mod registry;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::{Bmc, BmcError, BootDevice, PowerAction, PowerState};

use machine::Machine;
pub use registry::SimRegistry;

/// How power transitions complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimMode {
    /// Each step of a transition completes `delay` after the previous one, on a tokio timer.
    /// A zero delay completes the whole transition before the call returns.
    Auto {
        /// How long each step (power off, power on, reset) takes.
        delay: Duration,
    },
    /// Transitions stay pending until the test calls [`SimBmc::step_transition`] or
    /// [`SimBmc::complete_transition`].
    Explicit,
}

impl Default for SimMode {
    /// Instant transitions: what a demo wants.
    fn default() -> Self {
        SimMode::Auto {
            delay: Duration::ZERO,
        }
    }
}

/// One request made to a [`SimBmc`], as recorded in its call log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimCall {
    /// [`Bmc::power_status`].
    PowerStatus,
    /// [`Bmc::power`] with this action.
    Power(PowerAction),
    /// [`Bmc::set_boot_device`] with these arguments.
    SetBootDevice {
        /// The device asked for.
        device: BootDevice,
        /// Whether EFI boot was asked for.
        efi: bool,
    },
    /// [`Bmc::sol_deactivate`].
    SolDeactivate,
}

/// A boot device choice as the BMC stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BootSetting {
    /// The device.
    pub device: BootDevice,
    /// Whether the firmware boots it in EFI mode.
    pub efi: bool,
}

/// One boot of the simulated machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SimBoot {
    /// The power action that made the machine boot (`on`, `cycle` or `reset`).
    pub cause: PowerAction,
    /// The one-shot boot override it used, or `None` for the firmware's own boot order.
    pub setting: Option<BootSetting>,
}

/// An in-process BMC: a power-state machine behind the [`Bmc`] trait.
///
/// Cheap to clone: clones share one machine. Thread-safe; no lock is held across an await.
#[derive(Clone)]
pub struct SimBmc {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// `true` while every call hangs.
    unresponsive: watch::Sender<bool>,
}

struct State {
    machine: Machine,
    mode: SimMode,
    calls: Vec<SimCall>,
    /// The next `.0` calls fail with `.1`.
    fail_next: Option<(u32, BmcError)>,
    latency: Duration,
    /// Bumped whenever a new transition starts, so the timer of a replaced one stops.
    generation: u64,
}

impl State {
    fn take_fault(&mut self) -> Option<BmcError> {
        let (left, err) = self.fail_next.take()?;
        if left > 1 {
            self.fail_next = Some((left - 1, err.clone()));
        }
        (left > 0).then_some(err)
    }
}

impl SimBmc {
    /// A simulated BMC whose machine is in `initial` power state, completing transitions as
    /// `mode` says.
    pub fn new(initial: PowerState, mode: SimMode) -> Arc<SimBmc> {
        let (unresponsive, _) = watch::channel(false);
        Arc::new(SimBmc {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    machine: Machine::new(initial),
                    mode,
                    calls: Vec::new(),
                    fail_next: None,
                    latency: Duration::ZERO,
                    generation: 0,
                }),
                unresponsive,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// The power state now, read without a BMC call: no log entry, no fault, no latency.
    pub fn power_state(&self) -> PowerState {
        self.lock().machine.power
    }

    /// The action whose transition is still pending, if any.
    pub fn pending(&self) -> Option<PowerAction> {
        self.lock().machine.pending.map(|p| p.action)
    }

    /// How transitions complete.
    pub fn mode(&self) -> SimMode {
        self.lock().mode
    }

    /// Changes how transitions complete, for actions started from now on. A transition
    /// already pending keeps its own way of completing.
    pub fn set_mode(&self, mode: SimMode) {
        self.lock().mode = mode;
    }

    /// Runs the next step of the pending transition (for `cycle` on a running machine: first
    /// the power-off, then the power-on). Returns the power state after it, or `None` when
    /// nothing was pending.
    pub fn step_transition(&self) -> Option<PowerState> {
        self.lock().machine.step()
    }

    /// Runs the pending transition to its end. Returns the final power state, or `None` when
    /// nothing was pending. Works in both modes (in auto mode it overtakes the timer).
    pub fn complete_transition(&self) -> Option<PowerState> {
        self.lock().machine.complete()
    }

    /// Puts the machine in `power` at once, dropping any pending transition, as if it had been
    /// so from the start: no call is logged and no boot recorded.
    pub fn set_power_state(&self, power: PowerState) {
        let mut state = self.lock();
        state.generation += 1;
        state.machine.pending = None;
        state.machine.power = power;
    }

    /// The boot device last set (it stays after the boot that consumed it).
    pub fn boot_device(&self) -> Option<BootSetting> {
        self.lock().machine.boot_device
    }

    /// The one-shot boot override the next boot will use, if any.
    pub fn next_boot(&self) -> Option<BootSetting> {
        self.lock().machine.next_boot
    }

    /// Every boot so far, oldest first.
    pub fn boots(&self) -> Vec<SimBoot> {
        self.lock().machine.boots.clone()
    }

    /// Whether a Serial-over-LAN session is open.
    pub fn sol_active(&self) -> bool {
        self.lock().machine.sol_active
    }

    /// Marks a Serial-over-LAN session open or closed, as a console client would.
    pub fn set_sol_active(&self, active: bool) {
        self.lock().machine.sol_active = active;
    }

    /// Every call made so far, oldest first, including the ones that failed or are still
    /// waiting.
    pub fn calls(&self) -> Vec<SimCall> {
        self.lock().calls.clone()
    }

    /// Forgets the calls made so far.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Makes the next `n` calls, of any kind, fail with `error` (replacing an earlier
    /// injection; `n == 0` cancels it). Which calls fail is decided in the order they are
    /// made, before any latency.
    pub fn fail_next(&self, n: u32, error: BmcError) {
        self.lock().fail_next = (n > 0).then_some((n, error));
    }

    /// Makes every call hang (`true`) until this is called with `false`: the calls waiting
    /// then carry on. A caller's own deadline is what ends a hung call.
    pub fn set_unresponsive(&self, unresponsive: bool) {
        self.shared.unresponsive.send_replace(unresponsive);
    }

    /// Adds `latency` to every call from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Removes every injected fault: failures, unresponsiveness and latency.
    pub fn clear_faults(&self) {
        {
            let mut state = self.lock();
            state.fail_next = None;
            state.latency = Duration::ZERO;
        }
        self.set_unresponsive(false);
    }

    /// Logs `call`, then applies the injected faults; on success runs `effect` under the lock.
    async fn call<T>(
        &self,
        call: SimCall,
        effect: impl FnOnce(&mut State) -> Result<T, BmcError> + Send,
    ) -> Result<T, BmcError> {
        let (latency, fault) = {
            let mut state = self.lock();
            state.calls.push(call);
            (state.latency, state.take_fault())
        };
        let mut unresponsive = self.shared.unresponsive.subscribe();
        // The sender lives as long as `self`, so this only ends when the flag is cleared.
        let _ = unresponsive.wait_for(|hung| !*hung).await;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if let Some(err) = fault {
            return Err(err);
        }
        effect(&mut self.lock())
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state consistent enough for a simulator.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs the transition started as `generation` at `started`, one step every `delay`, until it
/// ends or a newer one replaces it. Holds only a weak reference, so a dropped simulator stops
/// it. Deadlines count from `started`, not from when the task first runs.
async fn run_timer(shared: Weak<Shared>, generation: u64, started: Instant, delay: Duration) {
    let mut deadline = started;
    loop {
        deadline += delay;
        tokio::time::sleep_until(deadline).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut state = shared.lock();
        if state.generation != generation {
            return;
        }
        state.machine.step();
        if state.machine.pending.is_none() {
            return;
        }
    }
}

#[async_trait]
impl Bmc for SimBmc {
    async fn power_status(&self) -> Result<PowerState, BmcError> {
        self.call(SimCall::PowerStatus, |state| Ok(state.machine.power))
            .await
    }

    async fn power(&self, action: PowerAction) -> Result<(), BmcError> {
        let runtime = tokio::runtime::Handle::try_current().ok();
        let has_runtime = runtime.is_some();
        let timer = self
            .call(SimCall::Power(action), |state| {
                let timed = matches!(state.mode, SimMode::Auto { delay } if !delay.is_zero());
                if timed && !has_runtime {
                    return Err(BmcError::Failed {
                        message: "the simulator needs a tokio runtime for timed transitions"
                            .to_string(),
                    });
                }
                if !state.machine.start(action)? {
                    return Ok(None);
                }
                state.generation += 1;
                match state.mode {
                    SimMode::Explicit => Ok(None),
                    SimMode::Auto { delay } if delay.is_zero() => {
                        state.machine.complete();
                        Ok(None)
                    }
                    SimMode::Auto { delay } => Ok(Some((state.generation, Instant::now(), delay))),
                }
            })
            .await?;
        if let (Some((generation, started, delay)), Some(runtime)) = (timer, runtime) {
            let shared = Arc::downgrade(&self.shared);
            runtime.spawn(run_timer(shared, generation, started, delay));
        }
        Ok(())
    }

    async fn set_boot_device(&self, device: BootDevice, efi: bool) -> Result<(), BmcError> {
        self.call(SimCall::SetBootDevice { device, efi }, |state| {
            state.machine.set_boot_device(device, efi);
            Ok(())
        })
        .await
    }

    async fn sol_deactivate(&self) -> Result<(), BmcError> {
        self.call(SimCall::SolDeactivate, |state| {
            state.machine.sol_active = false;
            Ok(())
        })
        .await
    }
}

impl fmt::Debug for SimBmc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("SimBmc")
            .field("power", &state.machine.power)
            .field("pending", &state.machine.pending.map(|p| p.action))
            .field("mode", &state.mode)
            .field("calls", &state.calls.len())
            .finish_non_exhaustive()
    }
}

//! Tests of the simulator through the `Bmc` trait, with tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, advance, timeout};

use super::*;
use PowerAction as A;
use PowerState as P;

const DELAY: Duration = Duration::from_secs(5);

fn power_is_off() -> BmcError {
    BmcError::Failed {
        message: "power is off".to_string(),
    }
}

/// Lets spawned timer tasks run after the clock moved.
async fn settle() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

/// Moves the paused clock by `by` and lets timers fire.
async fn advance_by(by: Duration) {
    advance(by).await;
    settle().await;
}

/// The original's `pxe_reboot`: boot device, status, then reset if on, else on.
async fn pxe_reboot(bmc: &dyn Bmc) -> Result<(), BmcError> {
    bmc.set_boot_device(BootDevice::Pxe, false).await?;
    match bmc.power_status().await? {
        P::On => bmc.power(A::Reset).await,
        P::Off => bmc.power(A::On).await,
    }
}

/// One row of the state-machine table.
struct Case {
    from: PowerState,
    action: PowerAction,
    /// The final state, or the refusal.
    want: Result<PowerState, BmcError>,
    /// How many steps the transition takes (0: nothing happens).
    steps: u32,
    /// How many boots it causes.
    boots: usize,
}

fn table() -> Vec<Case> {
    let case = |from, action, want, steps, boots| Case {
        from,
        action,
        want,
        steps,
        boots,
    };
    vec![
        case(P::Off, A::On, Ok(P::On), 1, 1),
        case(P::Off, A::Off, Ok(P::Off), 0, 0),
        case(P::Off, A::Cycle, Ok(P::On), 1, 1),
        case(P::Off, A::Reset, Err(power_is_off()), 0, 0),
        case(P::Off, A::Soft, Ok(P::Off), 0, 0),
        case(P::On, A::On, Ok(P::On), 0, 0),
        case(P::On, A::Off, Ok(P::Off), 1, 0),
        case(P::On, A::Cycle, Ok(P::On), 2, 1),
        case(P::On, A::Reset, Ok(P::On), 1, 1),
        case(P::On, A::Soft, Ok(P::Off), 1, 0),
    ]
}

#[tokio::test(start_paused = true)]
async fn state_machine_table_in_every_mode() {
    let modes = [
        SimMode::Auto {
            delay: Duration::ZERO,
        },
        SimMode::Auto { delay: DELAY },
        SimMode::Explicit,
    ];
    for mode in modes {
        for case in table() {
            let what = format!("{} from {} in {mode:?}", case.action, case.from);
            let sim = SimBmc::new(case.from, mode);
            let got = sim.power(case.action).await;
            let want = match case.want {
                Err(err) => {
                    assert_eq!(got, Err(err), "{what}");
                    assert_eq!(sim.power_status().await, Ok(case.from), "{what}");
                    assert_eq!(sim.pending(), None, "{what}");
                    continue;
                }
                Ok(want) => want,
            };
            assert_eq!(got, Ok(()), "{what}");
            let waits = case.steps > 0 && mode != SimMode::default();
            if waits {
                assert_eq!(sim.pending(), Some(case.action), "{what}");
                assert_eq!(sim.power_status().await, Ok(case.from), "{what}: too early");
                match mode {
                    SimMode::Explicit => {
                        assert_eq!(sim.complete_transition(), Some(want), "{what}");
                    }
                    SimMode::Auto { delay } => advance_by(delay * case.steps).await,
                }
            }
            assert_eq!(sim.pending(), None, "{what}");
            assert_eq!(sim.power_status().await, Ok(want), "{what}");
            assert_eq!(sim.boots().len(), case.boots, "{what}");
            assert!(sim.boots().iter().all(|b| b.cause == case.action), "{what}");
        }
    }
}

#[tokio::test]
async fn explicit_transitions_wait_for_the_test() {
    let sim = SimBmc::new(P::On, SimMode::Explicit);
    assert_eq!(sim.complete_transition(), None, "nothing pending yet");
    sim.power(A::Cycle).await.unwrap();
    assert_eq!(sim.power_status().await, Ok(P::On));
    assert_eq!(sim.step_transition(), Some(P::Off));
    assert_eq!(sim.power_status().await, Ok(P::Off), "seen off mid-cycle");
    assert_eq!(sim.pending(), Some(A::Cycle));
    assert_eq!(sim.step_transition(), Some(P::On));
    assert_eq!(sim.pending(), None);
    assert_eq!(sim.step_transition(), None);
    assert_eq!(sim.power_status().await, Ok(P::On));
}

#[tokio::test(start_paused = true)]
async fn auto_transitions_complete_after_the_delay() {
    let sim = SimBmc::new(P::Off, SimMode::Auto { delay: DELAY });
    sim.power(A::On).await.unwrap();
    advance_by(DELAY - Duration::from_millis(1)).await;
    assert_eq!(sim.power_state(), P::Off);
    advance_by(Duration::from_millis(1)).await;
    assert_eq!(sim.power_state(), P::On);
    assert_eq!(sim.pending(), None);

    // A cycle is two steps: off after one delay, on after two.
    sim.power(A::Cycle).await.unwrap();
    advance_by(DELAY).await;
    assert_eq!(sim.power_state(), P::Off);
    assert_eq!(sim.pending(), Some(A::Cycle));
    advance_by(DELAY).await;
    assert_eq!(sim.power_state(), P::On);
    assert_eq!(sim.boots().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_last_command_wins_and_stale_timers_do_nothing() {
    let sim = SimBmc::new(P::Off, SimMode::Auto { delay: DELAY });
    sim.power(A::On).await.unwrap();
    advance_by(Duration::from_secs(3)).await;
    // Still off: `off` is a no-op that cancels the pending `on`.
    sim.power(A::Off).await.unwrap();
    assert_eq!(sim.pending(), None);
    advance_by(DELAY * 3).await;
    assert_eq!(sim.power_state(), P::Off);

    // A repeated `on` restarts the transition: the first timer must not finish it early.
    sim.power(A::On).await.unwrap();
    advance_by(Duration::from_secs(3)).await;
    sim.power(A::On).await.unwrap();
    advance_by(Duration::from_secs(3)).await;
    assert_eq!(sim.power_state(), P::Off, "the first timer is stale");
    advance_by(Duration::from_secs(2)).await;
    assert_eq!(sim.power_state(), P::On);

    // A refused action leaves the pending one running.
    sim.set_power_state(P::Off);
    sim.power(A::On).await.unwrap();
    assert_eq!(sim.power(A::Reset).await, Err(power_is_off()));
    advance_by(DELAY).await;
    assert_eq!(sim.power_state(), P::On);
}

#[tokio::test(start_paused = true)]
async fn manual_completion_overtakes_the_timer() {
    let sim = SimBmc::new(P::On, SimMode::Auto { delay: DELAY });
    sim.power(A::Reset).await.unwrap();
    assert_eq!(sim.complete_transition(), Some(P::On));
    advance_by(DELAY * 2).await;
    assert_eq!(sim.boots().len(), 1, "the timer found nothing left to do");

    sim.power(A::Off).await.unwrap();
    sim.set_power_state(P::On);
    assert_eq!(sim.pending(), None);
    advance_by(DELAY * 2).await;
    assert_eq!(sim.power_state(), P::On, "set_power_state dropped the off");
}

#[tokio::test]
async fn mode_changes_apply_to_later_actions() {
    let sim = SimBmc::new(P::Off, SimMode::Explicit);
    sim.power(A::On).await.unwrap();
    sim.set_mode(SimMode::default());
    assert_eq!(sim.mode(), SimMode::default());
    assert_eq!(sim.pending(), Some(A::On), "still waits for the test");
    sim.power(A::Cycle).await.unwrap();
    assert_eq!(sim.power_state(), P::On);
    assert_eq!(sim.pending(), None);
}

#[tokio::test]
async fn injected_failures_then_success() {
    let sim = SimBmc::new(P::Off, SimMode::default());
    let unreachable = BmcError::Unreachable {
        message: "no route to host".to_string(),
    };
    sim.fail_next(2, unreachable.clone());
    assert_eq!(sim.power(A::On).await, Err(unreachable.clone()));
    assert_eq!(sim.power_status().await, Err(unreachable));
    assert_eq!(sim.power_state(), P::Off, "a failed call changes nothing");
    assert_eq!(sim.power_status().await, Ok(P::Off));
    assert_eq!(
        sim.calls(),
        [
            SimCall::Power(A::On),
            SimCall::PowerStatus,
            SimCall::PowerStatus
        ]
    );

    sim.fail_next(3, BmcError::Timeout { after_ms: 10 });
    sim.fail_next(0, BmcError::Timeout { after_ms: 10 });
    assert_eq!(sim.sol_deactivate().await, Ok(()), "n = 0 cancels");
    sim.fail_next(
        5,
        BmcError::Auth {
            message: "bad password".to_string(),
        },
    );
    sim.clear_faults();
    assert_eq!(sim.set_boot_device(BootDevice::Disk, false).await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn unresponsive_calls_hang_until_unset() {
    let registry = SimRegistry::default();
    let sim = registry.get_or_create("hung");
    let other: Arc<dyn Bmc> = registry.get_or_create("fine");
    sim.set_unresponsive(true);

    let deadline = Duration::from_secs(10);
    assert!(timeout(deadline, sim.power_status()).await.is_err());
    assert_eq!(
        timeout(deadline, other.power_status()).await,
        Ok(Ok(P::Off)),
        "a hung BMC blocks only its own calls"
    );

    let call = tokio::spawn({
        let sim = Arc::clone(&sim);
        async move { sim.power(A::On).await }
    });
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(!call.is_finished());
    assert_eq!(sim.power_state(), P::Off);

    sim.set_unresponsive(false);
    assert_eq!(call.await.unwrap(), Ok(()));
    assert_eq!(sim.power_state(), P::On);
    assert_eq!(sim.calls().len(), 2, "hung calls are logged too");
}

#[tokio::test(start_paused = true)]
async fn latency_delays_every_call() {
    let sim = SimBmc::new(P::Off, SimMode::default());
    sim.set_latency(Duration::from_secs(2));
    let start = Instant::now();
    sim.power(A::On).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert!(
        timeout(Duration::from_secs(1), sim.power_status())
            .await
            .is_err()
    );

    // Failures come after the latency too, as from a slow BMC.
    sim.fail_next(1, power_is_off());
    let start = Instant::now();
    assert!(sim.sol_deactivate().await.is_err());
    assert_eq!(start.elapsed(), Duration::from_secs(2));

    sim.clear_faults();
    let start = Instant::now();
    assert_eq!(sim.power_status().await, Ok(P::On));
    assert_eq!(start.elapsed(), Duration::ZERO);

    // A timed transition starts when the slow call takes effect, not when it was made.
    sim.set_mode(SimMode::Auto { delay: DELAY });
    sim.set_latency(Duration::from_secs(2));
    let start = Instant::now();
    sim.power(A::Off).await.unwrap();
    advance_by(DELAY - Duration::from_millis(1)).await;
    assert_eq!(sim.power_state(), P::On);
    advance_by(Duration::from_millis(1)).await;
    assert_eq!(sim.power_state(), P::Off);
    assert_eq!(start.elapsed(), DELAY + Duration::from_secs(2));
}

#[tokio::test]
async fn call_log_shows_the_provision_flow() {
    for (from, last) in [(P::On, A::Reset), (P::Off, A::On)] {
        let sim = SimBmc::new(from, SimMode::default());
        let bmc: Arc<dyn Bmc> = sim.clone();
        pxe_reboot(bmc.as_ref()).await.unwrap();
        assert_eq!(
            sim.calls(),
            [
                SimCall::SetBootDevice {
                    device: BootDevice::Pxe,
                    efi: false
                },
                SimCall::PowerStatus,
                SimCall::Power(last),
            ]
        );
        let pxe = BootSetting {
            device: BootDevice::Pxe,
            efi: false,
        };
        assert_eq!(
            sim.boots(),
            [SimBoot {
                cause: last,
                setting: Some(pxe)
            }]
        );
        sim.clear_calls();
        assert!(sim.calls().is_empty());
    }
}

#[tokio::test]
async fn boot_device_is_for_the_next_boot_only() {
    let sim = SimBmc::new(P::Off, SimMode::default());
    assert_eq!(sim.boot_device(), None);
    sim.set_boot_device(BootDevice::Bios, false).await.unwrap();
    sim.set_boot_device(BootDevice::Pxe, true).await.unwrap();
    let pxe_efi = BootSetting {
        device: BootDevice::Pxe,
        efi: true,
    };
    assert_eq!(sim.next_boot(), Some(pxe_efi), "the last setting wins");
    sim.power(A::On).await.unwrap();
    sim.power(A::Reset).await.unwrap();
    assert_eq!(
        sim.boots(),
        [
            SimBoot {
                cause: A::On,
                setting: Some(pxe_efi)
            },
            SimBoot {
                cause: A::Reset,
                setting: None
            },
        ]
    );
    assert_eq!(sim.next_boot(), None);
    assert_eq!(sim.boot_device(), Some(pxe_efi));
}

#[tokio::test]
async fn sol_deactivate_always_succeeds() {
    let sim = SimBmc::new(P::On, SimMode::default());
    sim.set_sol_active(true);
    assert!(sim.sol_active());
    assert_eq!(sim.sol_deactivate().await, Ok(()));
    assert!(!sim.sol_active());
    assert_eq!(sim.sol_deactivate().await, Ok(()), "already inactive");
    sim.power(A::Off).await.unwrap();
    sim.set_sol_active(true);
    assert_eq!(sim.sol_deactivate().await, Ok(()), "power off");
    assert!(!sim.sol_active());
    assert_eq!(sim.calls().len(), 4);
}

#[tokio::test]
async fn registry_keeps_one_bmc_per_key() {
    let registry = SimRegistry::new(P::On, SimMode::Explicit);
    assert!(registry.is_empty());
    let a = registry.get_or_create("bmc-a");
    assert!(Arc::ptr_eq(&a, &registry.get_or_create("bmc-a")));
    assert!(Arc::ptr_eq(&a, &registry.get("bmc-a").unwrap()));
    let b = registry.get_or_create("bmc-b");
    assert!(!Arc::ptr_eq(&a, &b));
    assert_eq!(registry.keys(), ["bmc-a", "bmc-b"]);
    assert_eq!(registry.len(), 2);
    assert_eq!(a.mode(), SimMode::Explicit);

    // State lives across lookups, as across a server's requests.
    a.power(A::Off).await.unwrap();
    registry.get_or_create("bmc-a").complete_transition();
    assert_eq!(registry.get_or_create("bmc-a").power_state(), P::Off);
    assert_eq!(b.power_state(), P::On);

    assert!(registry.remove("bmc-a").is_some());
    assert!(registry.get("bmc-a").is_none());
    assert_eq!(registry.get_or_create("bmc-a").power_state(), P::On);
    assert!(format!("{registry:?}").contains("bmc-b"));
}

#[test]
fn timed_transitions_need_a_runtime() {
    use std::task::{Context, Poll, Waker};

    let sim = SimBmc::new(P::Off, SimMode::Auto { delay: DELAY });
    let mut call = sim.power(A::On);
    let mut cx = Context::from_waker(Waker::noop());
    match call.as_mut().poll(&mut cx) {
        Poll::Ready(Err(BmcError::Failed { message })) => {
            assert!(message.contains("tokio runtime"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(sim.pending(), None, "nothing started");
}

#[tokio::test]
async fn a_poisoned_lock_is_recovered() {
    let sim = SimBmc::new(P::Off, SimMode::default());
    let poisoner = sim.clone();
    let joined = std::thread::spawn(move || {
        let _guard = poisoner.shared.state.lock();
        panic!("poison the lock");
    })
    .join();
    assert!(joined.is_err());
    assert!(sim.shared.state.is_poisoned());
    sim.power(A::On).await.unwrap();
    assert_eq!(sim.power_status().await, Ok(P::On));
    let debug = format!("{sim:?}");
    assert!(debug.contains("power: On"), "{debug}");
}

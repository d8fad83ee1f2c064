//! The simulated chassis as a pure state machine: what each power action does from each state.
//!
//! No clock and no locking here: [`super::SimBmc`] decides when steps run (at once, on a
//! timer, or when the test says so).

use crate::{BmcError, BootDevice, PowerAction, PowerState};

use super::{BootSetting, SimBoot};

/// One physical effect of a power action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Power goes off.
    PowerOff,
    /// Power comes on, and the machine boots.
    PowerOn,
    /// The reset line is pulsed: power stays on and the machine boots again.
    Reset,
}

/// The steps `action` takes from `power`; empty when it changes nothing.
///
/// The choices, and why (IPMI 2.0 §28.3 "Chassis Control", ipmitool, OpenIPMI's `ipmi_sim`):
/// - `on` when on, `off` when off: nothing, as every BMC answers them with success.
/// - `soft` when off: nothing. There is no operating system to ask, and `soft` ends like `off`.
/// - `cycle` when on: off, then on. When off, the IPMI spec recommends refusing (0xD5) but
///   notes that some BMCs power up; `ipmi_sim`, which the integration tests run, powers up,
///   so the simulator does the same and the two agree.
/// - `reset` when off: refused with `power is off`. The IPMI spec recommends 0xD5 ("not
///   supported in present state") when the BMC can tell a reset would do nothing, and a
///   reset never powers a machine on, so a caller that sends it to an off machine (the
///   original's REST `reboot`, bug B18) learns the machine stayed off.
pub(crate) fn plan(power: PowerState, action: PowerAction) -> Result<&'static [Step], BmcError> {
    use PowerAction as A;
    use PowerState as P;
    match (power, action) {
        (P::On, A::On) | (P::Off, A::Off) | (P::Off, A::Soft) => Ok(&[]),
        (P::Off, A::On) | (P::Off, A::Cycle) => Ok(&[Step::PowerOn]),
        (P::On, A::Off) | (P::On, A::Soft) => Ok(&[Step::PowerOff]),
        (P::On, A::Cycle) => Ok(&[Step::PowerOff, Step::PowerOn]),
        (P::On, A::Reset) => Ok(&[Step::Reset]),
        (P::Off, A::Reset) => Err(BmcError::Failed {
            message: "power is off".to_string(),
        }),
    }
}

/// A power action accepted but not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pending {
    /// The action that started it.
    pub(crate) action: PowerAction,
    /// The steps still to run, first first; never empty.
    pub(crate) remaining: &'static [Step],
}

/// Everything the simulated chassis remembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Machine {
    /// The power state `power status` reports.
    pub(crate) power: PowerState,
    /// The transition in progress, if any.
    pub(crate) pending: Option<Pending>,
    /// The boot device last set, kept after boots (what `boot_device()` shows).
    pub(crate) boot_device: Option<BootSetting>,
    /// The one-shot boot override the next boot consumes (IPMI "valid for next boot only",
    /// which is what `ipmitool chassis bootdev` without `persistent` asks for).
    pub(crate) next_boot: Option<BootSetting>,
    /// Every boot so far.
    pub(crate) boots: Vec<SimBoot>,
    /// Whether a Serial-over-LAN session is open.
    pub(crate) sol_active: bool,
}

impl Machine {
    /// A machine in `power`, with nothing pending and no boot device set.
    pub(crate) fn new(power: PowerState) -> Self {
        Machine {
            power,
            pending: None,
            boot_device: None,
            next_boot: None,
            boots: Vec::new(),
            sol_active: false,
        }
    }

    /// Accepts `action`, judged against the power state now. An accepted action replaces any
    /// pending one (the last command wins, as on a real BMC); a refused one leaves it be.
    /// Returns whether a transition is now pending.
    pub(crate) fn start(&mut self, action: PowerAction) -> Result<bool, BmcError> {
        let steps = plan(self.power, action)?;
        self.pending = (!steps.is_empty()).then_some(Pending {
            action,
            remaining: steps,
        });
        Ok(self.pending.is_some())
    }

    /// Records a boot device for the next boot.
    pub(crate) fn set_boot_device(&mut self, device: BootDevice, efi: bool) {
        let setting = BootSetting { device, efi };
        self.boot_device = Some(setting);
        self.next_boot = Some(setting);
    }

    /// Runs the next step of the pending transition. Returns the power state after it, or
    /// `None` when nothing was pending.
    pub(crate) fn step(&mut self) -> Option<PowerState> {
        let pending = self.pending.take()?;
        let (step, rest) = pending.remaining.split_first()?;
        match step {
            Step::PowerOff => self.power = PowerState::Off,
            Step::PowerOn => {
                self.power = PowerState::On;
                self.boot(pending.action);
            }
            Step::Reset => self.boot(pending.action),
        }
        if !rest.is_empty() {
            self.pending = Some(Pending {
                action: pending.action,
                remaining: rest,
            });
        }
        Some(self.power)
    }

    /// Runs every remaining step. Returns the final power state, or `None` when nothing was
    /// pending.
    pub(crate) fn complete(&mut self) -> Option<PowerState> {
        let mut last = None;
        while let Some(power) = self.step() {
            last = Some(power);
        }
        last
    }

    fn boot(&mut self, cause: PowerAction) {
        self.boots.push(SimBoot {
            cause,
            setting: self.next_boot.take(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PowerAction as A;
    use PowerState as P;

    #[test]
    fn plan_table() {
        let failed = Err(BmcError::Failed {
            message: "power is off".to_string(),
        });
        type Want = Result<&'static [Step], BmcError>;
        let cases: [(P, A, Want); 10] = [
            (P::Off, A::On, Ok(&[Step::PowerOn])),
            (P::Off, A::Off, Ok(&[])),
            (P::Off, A::Cycle, Ok(&[Step::PowerOn])),
            (P::Off, A::Reset, failed),
            (P::Off, A::Soft, Ok(&[])),
            (P::On, A::On, Ok(&[])),
            (P::On, A::Off, Ok(&[Step::PowerOff])),
            (P::On, A::Cycle, Ok(&[Step::PowerOff, Step::PowerOn])),
            (P::On, A::Reset, Ok(&[Step::Reset])),
            (P::On, A::Soft, Ok(&[Step::PowerOff])),
        ];
        for (power, action, want) in cases {
            assert_eq!(plan(power, action), want, "{action} from {power}");
        }
    }

    #[test]
    fn cycle_steps_through_off_and_boots_once() {
        let mut m = Machine::new(P::On);
        m.set_boot_device(BootDevice::Pxe, true);
        assert_eq!(m.start(A::Cycle), Ok(true));
        assert_eq!(m.power, P::On, "nothing happens before a step");
        assert_eq!(m.step(), Some(P::Off));
        assert!(m.boots.is_empty());
        assert_eq!(m.step(), Some(P::On));
        assert_eq!(m.pending, None);
        assert_eq!(m.step(), None);
        let pxe = BootSetting {
            device: BootDevice::Pxe,
            efi: true,
        };
        assert_eq!(
            m.boots,
            [SimBoot {
                cause: A::Cycle,
                setting: Some(pxe)
            }]
        );
        assert_eq!(m.next_boot, None, "the override is for one boot only");
        assert_eq!(m.boot_device, Some(pxe), "the last setting is still shown");
    }

    #[test]
    fn last_command_wins_and_refusals_keep_the_pending_one() {
        let mut m = Machine::new(P::Off);
        assert_eq!(m.start(A::On), Ok(true));
        assert!(m.start(A::Reset).is_err(), "power is still off");
        assert_eq!(m.pending.map(|p| p.action), Some(A::On));
        assert_eq!(m.start(A::Off), Ok(false), "off from off cancels the on");
        assert_eq!(m.complete(), None);
        assert_eq!(m.power, P::Off);

        assert_eq!(m.start(A::On), Ok(true));
        assert_eq!(m.complete(), Some(P::On));
        assert_eq!(m.start(A::Reset), Ok(true));
        assert_eq!(m.complete(), Some(P::On));
        let causes: Vec<_> = m.boots.iter().map(|b| b.cause).collect();
        assert_eq!(causes, [A::On, A::Reset]);
        assert!(m.boots.iter().all(|b| b.setting.is_none()));
    }
}

//! The ipmitool command line, built by pure functions from a BMC's settings and a command.

#[cfg(test)]
mod tests;

use std::ops::RangeInclusive;

use secrecy::{ExposeSecret, SecretString};

use crate::{BmcError, BmcKind, BmcSettings, BootDevice, PowerAction};

/// The environment variable ipmitool's `-E` reads the password from.
pub const PASSWORD_ENV: &str = "IPMI_PASSWORD";

/// The cartridge numbers a Moonshot chassis has (the 1500 chassis holds 45).
pub const MOONSHOT_CARTRIDGES: RangeInclusive<u8> = 1..=45;

/// One ipmitool request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpmiCommand {
    /// `chassis power status`.
    PowerStatus,
    /// `chassis power <action>` (a Moonshot sends `reset` as `cycle`).
    Power(PowerAction),
    /// `chassis bootdev <device>`, with `options=efiboot` when `efi` is set.
    BootDevice {
        /// The device of the next boot.
        device: BootDevice,
        /// Boot it in EFI mode.
        efi: bool,
    },
    /// `sol deactivate`.
    SolDeactivate,
    /// `sol activate`: built for the console, which runs it with its own pipes; the drivers
    /// never run it.
    SolActivate,
}

impl IpmiCommand {
    /// Every command, each power action and each boot device with and without EFI.
    pub fn all() -> Vec<IpmiCommand> {
        let mut all = vec![IpmiCommand::PowerStatus];
        all.extend(PowerAction::ALL.map(IpmiCommand::Power));
        for device in BootDevice::ALL {
            for efi in [false, true] {
                all.push(IpmiCommand::BootDevice { device, efi });
            }
        }
        all.extend([IpmiCommand::SolDeactivate, IpmiCommand::SolActivate]);
        all
    }
}

/// Where the requests go: the BMC itself, or a Moonshot cartridge behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The BMC answers for its own machine.
    Plain,
    /// A Moonshot chassis manager, double-bridged to one cartridge.
    Moonshot {
        /// 1 to 45.
        cartridge: u8,
    },
}

impl Target {
    /// The target the settings describe, if ipmitool drives that kind of BMC and the
    /// settings are usable.
    pub(crate) fn of(settings: &BmcSettings) -> Result<Target, BmcError> {
        let target = match settings.kind {
            BmcKind::Plain => Target::Plain,
            BmcKind::Moonshot => Target::Moonshot {
                cartridge: moonshot_cartridge(&settings.info)?,
            },
            kind @ (BmcKind::Redfish | BmcKind::Sim) => {
                return Err(BmcError::Unsupported {
                    what: format!("ipmitool for a {kind} BMC"),
                });
            }
        };
        let failed = |message: &str| {
            Err(BmcError::Failed {
                message: message.to_string(),
            })
        };
        if settings.address.is_empty() {
            return failed("the BMC has no address");
        }
        if settings
            .address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return failed("the BMC address contains a blank or a control character");
        }
        if settings.username.chars().any(char::is_control) {
            return failed("the BMC username contains a control character");
        }
        Ok(target)
    }
}

/// The Moonshot cartridge number in a machine's BMC info: an integer in
/// [`MOONSHOT_CARTRIDGES`], surrounding blanks allowed.
pub fn moonshot_cartridge(info: &str) -> Result<u8, BmcError> {
    info.trim()
        .parse::<u8>()
        .ok()
        .filter(|c| MOONSHOT_CARTRIDGES.contains(c))
        .ok_or_else(|| BmcError::Failed {
            message: format!(
                "not a valid Moonshot cartridge number: {info:?} (expected {} to {})",
                MOONSHOT_CARTRIDGES.start(),
                MOONSHOT_CARTRIDGES.end()
            ),
        })
}

/// ipmitool's arguments (without the program itself) for `command` on the BMC `settings`
/// describe.
///
/// The order follows the original:
/// `-I lanplus -H <address> [-p <port>] [-U <username>] -E -L <PRIVILEGE> [-C <suite>]
/// [-B 0 -T <transit> -b 7 -t 114] [-R <retries>] [-N <seconds>] <subcommand…>`.
/// The password is never in it: `-E` makes ipmitool read [`PASSWORD_ENV`], which
/// [`ipmitool_env`] sets. Numbers are decimal, as the original wrote them: a Moonshot
/// cartridge `c` is reached through transit address `0x80 + 2c` on channel 0, then the
/// cartridge controller `0x72` on channel 7 (`c = 3` gives `-B 0 -T 134 -b 7 -t 114`), and
/// its `reset` is sent as `cycle` (Moonshot answers `Unknown (0x80)` to a reset).
///
/// Fails when the settings are unusable: an empty address (or one with blanks or control
/// characters), a Moonshot BMC info that is not a cartridge number ([`BmcError::Failed`]),
/// or a kind ipmitool does not drive ([`BmcError::Unsupported`]).
pub fn ipmitool_argv(
    settings: &BmcSettings,
    command: &IpmiCommand,
) -> Result<Vec<String>, BmcError> {
    Ok(build_argv(settings, Target::of(settings)?, command))
}

/// The environment ipmitool needs: the password in [`PASSWORD_ENV`] (empty when there is
/// none, so ipmitool never falls back to prompting).
pub fn ipmitool_env(settings: &BmcSettings) -> Vec<(String, SecretString)> {
    vec![(
        PASSWORD_ENV.to_string(),
        SecretString::from(settings.password.expose_secret()),
    )]
}

/// [`ipmitool_argv`] for a target already checked.
pub(crate) fn build_argv(
    settings: &BmcSettings,
    target: Target,
    command: &IpmiCommand,
) -> Vec<String> {
    fn push(argv: &mut Vec<String>, flag: &str, value: impl ToString) {
        argv.push(flag.to_string());
        argv.push(value.to_string());
    }

    let mut argv: Vec<String> = Vec::with_capacity(32);
    push(&mut argv, "-I", "lanplus");
    push(&mut argv, "-H", &settings.address);
    if let Some(port) = settings.port {
        push(&mut argv, "-p", port);
    }
    if !settings.username.is_empty() {
        push(&mut argv, "-U", &settings.username);
    }
    argv.push("-E".to_string());
    push(&mut argv, "-L", settings.privilege.ipmitool_name());
    if let Some(suite) = settings.cipher_suite {
        push(&mut argv, "-C", suite);
    }
    if let Target::Moonshot { cartridge } = target {
        push(&mut argv, "-B", 0);
        push(&mut argv, "-T", 0x80 + 2 * u16::from(cartridge));
        push(&mut argv, "-b", 7);
        push(&mut argv, "-t", 0x72);
    }
    if let Some(retries) = settings.retries {
        push(&mut argv, "-R", retries);
    }
    if let Some(secs) = settings.timeout_secs {
        push(&mut argv, "-N", secs);
    }

    let words: &[&str] = match *command {
        IpmiCommand::PowerStatus => &["chassis", "power", "status"],
        IpmiCommand::Power(action) => {
            let action = match (target, action) {
                (Target::Moonshot { .. }, PowerAction::Reset) => PowerAction::Cycle,
                _ => action,
            };
            &["chassis", "power", action.as_str()]
        }
        IpmiCommand::BootDevice { device, efi: false } => &["chassis", "bootdev", device.as_str()],
        IpmiCommand::BootDevice { device, efi: true } => {
            &["chassis", "bootdev", device.as_str(), "options=efiboot"]
        }
        IpmiCommand::SolDeactivate => &["sol", "deactivate"],
        IpmiCommand::SolActivate => &["sol", "activate"],
    };
    argv.extend(words.iter().map(|w| w.to_string()));
    argv
}

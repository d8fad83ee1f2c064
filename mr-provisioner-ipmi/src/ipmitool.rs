//! The ipmitool drivers, `plain` (lanplus) and `moonshot` (double-bridged to a cartridge),
//! and the reading of ipmitool's answers into typed results and errors.

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret;
use tokio::time::Instant;

use crate::argv::{Target, build_argv, ipmitool_env};
use crate::runner::{Output, RunError};
use crate::{Bmc, BmcError, BmcSettings, BootDevice, IpmiCommand, PowerAction, PowerState, Tools};

/// The longest message an error carries, in characters.
pub(crate) const MESSAGE_LIMIT: usize = 300;

/// At most this much of a call's deadline is kept back from the runner's, so the runner's
/// own kill-and-reap happens before the driver gives up on it.
const KILL_MARGIN: Duration = Duration::from_millis(500);

/// ipmitool's wording when it could not open a session: a refused login, or no answer.
const NO_SESSION: &str = "unable to establish";

/// Wording that means the BMC was never reached (lower case). A BMC out of sessions
/// ("insufficient resources") counts too: like an unreachable one, it may answer later.
const UNREACHABLE: &[&str] = &[
    "address lookup for",
    "could not open socket",
    "no route to host",
    "network is unreachable",
    "host is unreachable",
    "connection refused",
    "no response from remote controller",
    "insufficient resources for session",
];

/// Wording that means the BMC refused the credentials or the privilege level (lower case).
const AUTH: &[&str] = &[
    "rakp",
    "unauthorized",
    "authentication",
    "password",
    "insufficient privilege",
    "invalid user name",
];

/// Lines ipmitool prints that say nothing about the failure.
const NOISE: &[&str] = &["Get HPM.x Capabilities request failed"];

/// The driver for the BMC `settings` describe: ipmitool for [`BmcKind::Plain`] and
/// [`BmcKind::Moonshot`].
///
/// Fails with [`BmcError::Unsupported`] for [`BmcKind::Redfish`] and [`BmcKind::Sim`] (the
/// caller builds those), and with [`BmcError::Failed`] when the settings are unusable (no
/// usable address, a Moonshot info that is not a cartridge number 1 to 45). Nothing runs
/// until a method is called.
///
/// [`BmcKind::Plain`]: crate::BmcKind::Plain
/// [`BmcKind::Moonshot`]: crate::BmcKind::Moonshot
/// [`BmcKind::Redfish`]: crate::BmcKind::Redfish
/// [`BmcKind::Sim`]: crate::BmcKind::Sim
pub fn driver(settings: &BmcSettings, tools: &Tools) -> Result<Arc<dyn Bmc>, BmcError> {
    let target = Target::of(settings)?;
    Ok(Arc::new(IpmitoolBmc {
        settings: settings.clone(),
        target,
        tools: tools.clone(),
    }))
}

/// One BMC driven by ipmitool. Each method runs ipmitool once.
#[derive(Debug)]
struct IpmitoolBmc {
    settings: BmcSettings,
    target: Target,
    tools: Tools,
}

impl IpmitoolBmc {
    /// Runs `command`; a non-zero exit becomes a classified error.
    async fn exec(&self, command: IpmiCommand) -> Result<Output, BmcError> {
        let (output, elapsed) = self.spawn(command).await?;
        if output.success() {
            Ok(output)
        } else {
            Err(self.classify(&output, elapsed))
        }
    }

    /// Runs `command` under the deadline, and says how long it took.
    async fn spawn(&self, command: IpmiCommand) -> Result<(Output, Duration), BmcError> {
        let args = build_argv(&self.settings, self.target, &command);
        let env = ipmitool_env(&self.settings);
        let deadline = self.settings.deadline;
        let program = &self.tools.ipmitool;
        tracing::debug!(
            bmc = %self.settings.address,
            program = %program.display(),
            ?args,
            "running ipmitool"
        );
        let started = Instant::now();
        // The runner gets slightly less time than the call, so it kills and reaps the child
        // itself; the outer deadline only catches a runner that does not return.
        let run = self
            .tools
            .runner
            .run(program, &args, &env, runner_deadline(deadline));
        let result = tokio::time::timeout(deadline, run).await;
        let elapsed = started.elapsed();
        let output = match result {
            Ok(Ok(output)) => output,
            Err(_) | Ok(Err(RunError::Timeout { .. })) => return Err(timeout(deadline)),
            Ok(Err(error)) => {
                let message = match std::error::Error::source(&error) {
                    Some(source) => format!("{error}: {source}"),
                    None => error.to_string(),
                };
                return Err(BmcError::Failed {
                    message: clean(&message, self.password()),
                });
            }
        };
        tracing::debug!(
            bmc = %self.settings.address,
            code = ?output.code,
            elapsed_ms = elapsed.as_millis() as u64,
            "ipmitool finished"
        );
        Ok((output, elapsed))
    }

    fn password(&self) -> &str {
        self.settings.password.expose_secret()
    }

    fn classify(&self, output: &Output, elapsed: Duration) -> BmcError {
        let silence = no_answer_after(self.settings.timeout_secs);
        classify(output, elapsed, silence, self.password())
    }
}

#[async_trait]
impl Bmc for IpmitoolBmc {
    async fn power_status(&self) -> Result<PowerState, BmcError> {
        let output = self.exec(IpmiCommand::PowerStatus).await?;
        parse_power_status(&output.stdout).ok_or_else(|| BmcError::Failed {
            message: format!(
                "unexpected answer to chassis power status: {}",
                message(
                    &Output {
                        stderr: String::new(),
                        ..output
                    },
                    self.password()
                )
            ),
        })
    }

    async fn power(&self, action: PowerAction) -> Result<(), BmcError> {
        self.exec(IpmiCommand::Power(action)).await.map(drop)
    }

    async fn set_boot_device(&self, device: BootDevice, efi: bool) -> Result<(), BmcError> {
        self.exec(IpmiCommand::BootDevice { device, efi })
            .await
            .map(drop)
    }

    async fn sol_deactivate(&self) -> Result<(), BmcError> {
        let (output, elapsed) = self.spawn(IpmiCommand::SolDeactivate).await?;
        let already = |text: &str| text.to_ascii_lowercase().contains("already de-activated");
        if output.success() || already(&output.stdout) || already(&output.stderr) {
            Ok(())
        } else {
            Err(self.classify(&output, elapsed))
        }
    }
}

/// The deadline handed to the runner: the call's, less a margin of a tenth of it (at most
/// [`KILL_MARGIN`]).
fn runner_deadline(deadline: Duration) -> Duration {
    deadline.saturating_sub((deadline / 10).min(KILL_MARGIN))
}

fn timeout(deadline: Duration) -> BmcError {
    BmcError::Timeout {
        after_ms: u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
    }
}

/// How long ipmitool must have waited before "unable to establish a session" means the BMC
/// never answered rather than refused the login: nine tenths of its first answer timeout
/// (`-N`, at least 1 s). A refusal takes one round trip; a silent BMC at least one `-N`.
fn no_answer_after(timeout_secs: Option<u8>) -> Duration {
    Duration::from_secs(u64::from(timeout_secs.unwrap_or(1).max(1))) * 9 / 10
}

/// The state in `Chassis Power is on|off`.
pub(crate) fn parse_power_status(stdout: &str) -> Option<PowerState> {
    stdout.lines().find_map(
        |line| match line.trim().strip_prefix("Chassis Power is ")?.trim() {
            "on" => Some(PowerState::On),
            "off" => Some(PowerState::Off),
            _ => None,
        },
    )
}

/// The typed error for a failed ipmitool run, which took `elapsed`.
///
/// - Wording of a missing network path (failed lookup, no route, refused, no response) →
///   [`BmcError::Unreachable`].
/// - "Unable to establish … session" after ipmitool waited at least `no_answer_after`: the
///   BMC stayed silent → [`BmcError::Unreachable`]. Sooner: it answered and refused the
///   login → [`BmcError::Auth`]. (ipmitool says the same words in both cases.)
/// - RAKP, authentication, password or privilege wording → [`BmcError::Auth`].
/// - Anything else → [`BmcError::Failed`].
///
/// The error carries [`message`].
pub(crate) fn classify(
    output: &Output,
    elapsed: Duration,
    no_answer_after: Duration,
    password: &str,
) -> BmcError {
    let text = format!("{}\n{}", output.stderr, output.stdout).to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    let message = message(output, password);
    if has(UNREACHABLE) || (text.contains(NO_SESSION) && elapsed >= no_answer_after) {
        BmcError::Unreachable { message }
    } else if text.contains(NO_SESSION) || has(AUTH) {
        BmcError::Auth { message }
    } else {
        BmcError::Failed { message }
    }
}

/// What ipmitool said, for an error message: the meaningful lines of its stderr (else of
/// its stdout, else its exit status), `Error: ` prefixes dropped, joined by `; `, the
/// password replaced by `***`, control characters blanked, at most [`MESSAGE_LIMIT`]
/// characters.
pub(crate) fn message(output: &Output, password: &str) -> String {
    let lines = |text: &str| -> Vec<String> {
        redact(text, password)
            .lines()
            .map(|line| {
                let line = line.trim();
                let line = line.strip_prefix("Password:").unwrap_or(line).trim_start();
                line.strip_prefix("Error: ").unwrap_or(line).to_string()
            })
            .filter(|line| !line.is_empty() && !NOISE.iter().any(|n| line.starts_with(n)))
            .collect()
    };
    let mut parts = lines(&output.stderr);
    if parts.is_empty() {
        parts = lines(&output.stdout);
    }
    let text = if !parts.is_empty() {
        parts.join("; ")
    } else {
        match output.code {
            Some(code) => format!("ipmitool exited with status {code} and said nothing"),
            None => "ipmitool was ended by a signal and said nothing".to_string(),
        }
    };
    clean(&text, password)
}

/// `text` with the password redacted, control characters blanked, shortened to
/// [`MESSAGE_LIMIT`] characters.
fn clean(text: &str, password: &str) -> String {
    let text: String = redact(text, password)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();
    if text.chars().count() <= MESSAGE_LIMIT {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(MESSAGE_LIMIT - 1).collect();
        short.push('…');
        short
    }
}

/// `text` with every occurrence of a non-empty `password` replaced by `***`.
///
/// ipmitool never prints the password; this is a second line of defence, applied before
/// anything is shortened so no fragment of it survives a cut.
fn redact(text: &str, password: &str) -> String {
    if password.is_empty() {
        text.to_string()
    } else {
        text.replace(password, "***")
    }
}

//! The ipmitool driver against a recording runner: what it runs, how it reads the answers,
//! how it classifies failures, and its deadline.

use std::path::Path;

use tokio::time::Instant;

use super::*;
use crate::runner::{FakeReply, RecordingRunner};
use crate::{BmcKind, DEFAULT_DEADLINE};

const PASSWORD: &str = "Sup3r-s3cret";

fn settings(kind: BmcKind, info: &str) -> BmcSettings {
    BmcSettings {
        username: "admin".into(),
        password: PASSWORD.into(),
        info: info.into(),
        ..BmcSettings::new(kind, "10.0.0.5")
    }
}

fn fake(settings: &BmcSettings) -> (Arc<dyn Bmc>, Arc<RecordingRunner>) {
    let runner = Arc::new(RecordingRunner::new());
    let tools = Tools::new("/opt/ipmitool/bin/ipmitool").with_runner(runner.clone());
    (driver(settings, &tools).unwrap(), runner)
}

fn tail(argv: &[String], n: usize) -> Vec<&str> {
    argv[argv.len() - n..].iter().map(String::as_str).collect()
}

#[test]
fn drivers_for_each_kind() {
    let tools = Tools::default().with_runner(Arc::new(RecordingRunner::new()));
    assert!(driver(&settings(BmcKind::Plain, ""), &tools).is_ok());
    assert!(driver(&settings(BmcKind::Moonshot, "12"), &tools).is_ok());
    for kind in [BmcKind::Redfish, BmcKind::Sim] {
        let err = driver(&settings(kind, ""), &tools).unwrap_err();
        assert!(matches!(err, BmcError::Unsupported { .. }), "{err:?}");
    }
    for info in ["", "0", "46", "x"] {
        let err = driver(&settings(BmcKind::Moonshot, info), &tools).unwrap_err();
        assert!(matches!(err, BmcError::Failed { .. }), "{info:?}: {err:?}");
    }
    assert_eq!(Tools::default().ipmitool, Path::new("/usr/bin/ipmitool"));
}

#[tokio::test(start_paused = true)]
async fn each_method_runs_one_ipmitool_with_the_password_in_the_environment() {
    let s = settings(BmcKind::Plain, "");
    let (bmc, runner) = fake(&s);
    runner.push(FakeReply::stdout("Chassis Power is off\n"));
    assert_eq!(bmc.power_status().await, Ok(PowerState::Off));
    bmc.power(PowerAction::On).await.unwrap();
    bmc.set_boot_device(BootDevice::Disk, true).await.unwrap();
    bmc.set_boot_device(BootDevice::Bios, false).await.unwrap();
    bmc.sol_deactivate().await.unwrap();

    let calls = runner.calls();
    let subcommands: Vec<Vec<&str>> = calls
        .iter()
        .map(|c| {
            let at = c
                .args
                .iter()
                .position(|a| a == "chassis" || a == "sol")
                .unwrap();
            c.args[at..].iter().map(String::as_str).collect()
        })
        .collect();
    assert_eq!(
        subcommands,
        [
            vec!["chassis", "power", "status"],
            vec!["chassis", "power", "on"],
            vec!["chassis", "bootdev", "disk", "options=efiboot"],
            vec!["chassis", "bootdev", "bios"],
            vec!["sol", "deactivate"],
        ]
    );
    let commands = [
        IpmiCommand::PowerStatus,
        IpmiCommand::Power(PowerAction::On),
        IpmiCommand::BootDevice {
            device: BootDevice::Disk,
            efi: true,
        },
        IpmiCommand::BootDevice {
            device: BootDevice::Bios,
            efi: false,
        },
        IpmiCommand::SolDeactivate,
    ];
    assert_eq!(calls.len(), commands.len());
    for (call, command) in calls.iter().zip(commands) {
        assert_eq!(call.args, crate::ipmitool_argv(&s, &command).unwrap());
        assert_eq!(call.program, Path::new("/opt/ipmitool/bin/ipmitool"));
        assert_eq!(call.env_var("IPMI_PASSWORD"), Some(PASSWORD));
        assert_eq!(call.env.len(), 1);
        assert!(call.args.iter().all(|a| !a.contains(PASSWORD) && a != "-P"));
        // The runner gets the deadline less a margin, so it kills the child first.
        assert_eq!(call.deadline, DEFAULT_DEADLINE - Duration::from_millis(500));
    }
}

#[tokio::test(start_paused = true)]
async fn moonshot_bridges_and_sends_reset_as_cycle() {
    let (bmc, runner) = fake(&settings(BmcKind::Moonshot, "3"));
    bmc.power(PowerAction::Reset).await.unwrap();
    bmc.power(PowerAction::Cycle).await.unwrap();
    bmc.power(PowerAction::Soft).await.unwrap();
    let argvs = runner.argvs();
    assert_eq!(
        tail(&argvs[0], 15),
        [
            "-B", "0", "-T", "134", "-b", "7", "-t", "114", "-R", "1", "-N", "2", "chassis",
            "power", "cycle"
        ]
    );
    assert_eq!(tail(&argvs[1], 3), ["chassis", "power", "cycle"]);
    assert_eq!(tail(&argvs[2], 3), ["chassis", "power", "soft"]);

    let (plain, runner) = fake(&settings(BmcKind::Plain, "3"));
    plain.power(PowerAction::Reset).await.unwrap();
    assert_eq!(tail(&runner.argvs()[0], 3), ["chassis", "power", "reset"]);
    assert!(!runner.argvs()[0].contains(&"-B".to_string()));
}

#[test]
fn power_status_answers() {
    let cases = [
        ("Chassis Power is on\n", Some(PowerState::On)),
        ("Chassis Power is off\n", Some(PowerState::Off)),
        ("Chassis Power is on", Some(PowerState::On)),
        ("  Chassis Power is off  \r\n", Some(PowerState::Off)),
        (
            "Discovered IPMB address 0x0\nChassis Power is on\n",
            Some(PowerState::On),
        ),
        ("Chassis Power is unknown\n", None),
        ("Chassis Power is On\n", None),
        ("Chassis Power is onward\n", None),
        ("Chassis Power Control: Up/On\n", None),
        ("", None),
        ("garbage", None),
    ];
    for (stdout, expected) in cases {
        assert_eq!(parse_power_status(stdout), expected, "{stdout:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_power_status_fails_with_the_answer() {
    let (bmc, runner) = fake(&settings(BmcKind::Plain, ""));
    runner.push(FakeReply::stdout("Chassis Power is unknown\n"));
    runner.push(FakeReply::stdout(""));
    assert_eq!(
        bmc.power_status().await,
        Err(BmcError::Failed {
            message: "unexpected answer to chassis power status: Chassis Power is unknown".into()
        })
    );
    assert_eq!(
        bmc.power_status().await,
        Err(BmcError::Failed {
            message: "unexpected answer to chassis power status: \
                      ipmitool exited with status 0 and said nothing"
                .into()
        })
    );
}

/// What ipmitool 1.8.19 prints when things go wrong (most captured against `ipmi_sim`, the
/// Moonshot one from the original's notes), how long it took, and the error it becomes.
#[tokio::test(start_paused = true)]
async fn failures_are_classified_with_ipmitool_s_message() {
    type Expect = fn(String) -> BmcError;
    let auth: Expect = |message| BmcError::Auth { message };
    let unreachable: Expect = |message| BmcError::Unreachable { message };
    let failed: Expect = |message| BmcError::Failed { message };
    let fast = Duration::from_millis(20);
    let cases: &[(&str, Duration, Expect, &str)] = &[
        (
            // Wrong password (or user): refused at once.
            "Error: Unable to establish IPMI v2 / RMCP+ session\n",
            fast,
            auth,
            "Unable to establish IPMI v2 / RMCP+ session",
        ),
        (
            // The same words after ipmitool timed out (-N 2, -R 1): nobody answered.
            "Error: Unable to establish IPMI v2 / RMCP+ session\n",
            Duration::from_millis(4050),
            unreachable,
            "Unable to establish IPMI v2 / RMCP+ session",
        ),
        (
            "> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session\n",
            fast,
            auth,
            "> RAKP 2 HMAC is invalid; Unable to establish IPMI v2 / RMCP+ session",
        ),
        (
            "RAKP 2 message indicates an error : unauthorized name\n\
             Error: Unable to establish IPMI v2 / RMCP+ session\n",
            fast,
            auth,
            "RAKP 2 message indicates an error : unauthorized name; \
             Unable to establish IPMI v2 / RMCP+ session",
        ),
        (
            // A cipher suite the BMC does not have.
            "Error in open session response message : invalid authentication algorithm\n\n\
             Error: Unable to establish IPMI v2 / RMCP+ session\n",
            fast,
            auth,
            "Error in open session response message : invalid authentication algorithm; \
             Unable to establish IPMI v2 / RMCP+ session",
        ),
        (
            "Unable to read password from environment\n\
             Password: Error: Unable to establish IPMI v2 / RMCP+ session\n",
            fast,
            auth,
            "Unable to read password from environment; \
             Unable to establish IPMI v2 / RMCP+ session",
        ),
        (
            "Get HPM.x Capabilities request failed, compcode = d4\n\
             Set Chassis Power Control to Down/Off failed: Insufficient privilege level\n",
            fast,
            auth,
            "Set Chassis Power Control to Down/Off failed: Insufficient privilege level",
        ),
        (
            "Address lookup for no-such-bmc.invalid failed\nCould not open socket!\n\
             Error: Unable to establish IPMI v2 / RMCP+ session\n",
            fast,
            unreachable,
            "Address lookup for no-such-bmc.invalid failed; Could not open socket!; \
             Unable to establish IPMI v2 / RMCP+ session",
        ),
        (
            "Error in open session response message : insufficient resources for session\n\
             Error: Unable to establish IPMI v2 / RMCP+ session\n",
            fast,
            unreachable,
            "Error in open session response message : insufficient resources for session; \
             Unable to establish IPMI v2 / RMCP+ session",
        ),
        (
            "No response from remote controller\n",
            Duration::from_secs(3),
            unreachable,
            "No response from remote controller",
        ),
        (
            "Get Chassis Power Status failed: Unknown (0x83)\n",
            fast,
            failed,
            "Get Chassis Power Status failed: Unknown (0x83)",
        ),
        (
            // Moonshot's answer to a reset, which is why it is sent as cycle.
            "Set Chassis Power Control to Reset failed: Unknown (0x80)\n",
            fast,
            failed,
            "Set Chassis Power Control to Reset failed: Unknown (0x80)",
        ),
        (
            "Unable to set Chassis Power Control to Reset\n",
            fast,
            failed,
            "Unable to set Chassis Power Control to Reset",
        ),
        (
            "Set Chassis Power Control to Cycle failed: Invalid data field in request\n",
            fast,
            failed,
            "Set Chassis Power Control to Cycle failed: Invalid data field in request",
        ),
        (
            "Set Chassis Boot Parameter 5 failed: Invalid command\n",
            fast,
            failed,
            "Set Chassis Boot Parameter 5 failed: Invalid command",
        ),
        (
            "Error de-activating SOL payload: Invalid command\n",
            fast,
            failed,
            "Error de-activating SOL payload: Invalid command",
        ),
        (
            "Invalid chassis power command: reboot\n",
            fast,
            failed,
            "Invalid chassis power command: reboot",
        ),
        (
            "\x1b[31mboom\x1b[0m\tdone\n",
            fast,
            failed,
            "[31mboom [0m done",
        ),
        (
            "",
            fast,
            failed,
            "ipmitool exited with status 1 and said nothing",
        ),
        (
            "   \n\n",
            fast,
            failed,
            "ipmitool exited with status 1 and said nothing",
        ),
    ];
    for &(stderr, took, expect, message) in cases {
        let (bmc, runner) = fake(&settings(BmcKind::Plain, ""));
        runner.push(FakeReply::stderr(1, stderr).after(took));
        let err = bmc.power(PowerAction::On).await.unwrap_err();
        assert_eq!(
            err,
            expect(message.to_string()),
            "{stderr:?} after {took:?}"
        );
    }
}

#[test]
fn the_silence_threshold_follows_the_ipmitool_timeout() {
    let output = Output {
        code: Some(1),
        stdout: String::new(),
        stderr: "Error: Unable to establish IPMI v2 / RMCP+ session".into(),
    };
    let cases = [
        (Some(2), 1700, false),
        (Some(2), 1800, true),
        (Some(10), 8000, false),
        (Some(10), 9500, true),
        (None, 800, false),
        (None, 900, true),
        (Some(0), 900, true),
    ];
    for (secs, ms, silent) in cases {
        let err = classify(
            &output,
            Duration::from_millis(ms),
            no_answer_after(secs),
            "",
        );
        assert_eq!(
            matches!(err, BmcError::Unreachable { .. }),
            silent,
            "-N {secs:?} after {ms} ms: {err:?}"
        );
    }
}

#[test]
fn messages_come_from_stderr_then_stdout_then_the_exit_status() {
    let out = |code, stdout: &str, stderr: &str| Output {
        code,
        stdout: stdout.into(),
        stderr: stderr.into(),
    };
    assert_eq!(message(&out(Some(1), "so", "se\n"), ""), "se");
    assert_eq!(message(&out(Some(1), "so\nmore\n", " \n"), ""), "so; more");
    assert_eq!(
        message(&out(None, "", ""), ""),
        "ipmitool was ended by a signal and said nothing"
    );
    let long = "x".repeat(1000);
    let m = message(&out(Some(1), "", &long), "");
    assert_eq!(m.chars().count(), MESSAGE_LIMIT);
    assert!(m.ends_with("x…"));
    let short = "é".repeat(MESSAGE_LIMIT);
    assert_eq!(message(&out(Some(1), "", &short), ""), short);
}

#[tokio::test(start_paused = true)]
async fn the_password_never_appears_in_an_error() {
    let stderrs = [
        format!("Error: password {PASSWORD} rejected\n"),
        format!("{PASSWORD}{PASSWORD}\nUnable to establish IPMI v2 / RMCP+ session"),
        // Straddling the cut at 300 characters.
        format!("{}{PASSWORD} tail", "y".repeat(MESSAGE_LIMIT - 4)),
        // On stdout only.
        String::new(),
    ];
    for stderr in stderrs {
        let (bmc, runner) = fake(&settings(BmcKind::Plain, ""));
        runner.push(FakeReply::Exit {
            output: Output {
                code: Some(1),
                stdout: format!("echo {PASSWORD}"),
                stderr: stderr.clone(),
            },
            after: Duration::ZERO,
        });
        let err = bmc.power(PowerAction::Off).await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains(&PASSWORD[..6]), "{text}");
        assert!(text.contains("***"), "{text}");
    }

    // An unreadable power status echoes the answer, redacted too.
    let (bmc, runner) = fake(&settings(BmcKind::Plain, ""));
    runner.push(FakeReply::stdout(&format!("Chassis Power is {PASSWORD}")));
    let err = bmc.power_status().await.unwrap_err();
    assert_eq!(
        err,
        BmcError::Failed {
            message: "unexpected answer to chassis power status: Chassis Power is ***".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_runner_that_never_returns_times_out_at_the_deadline() {
    let s = BmcSettings {
        deadline: Duration::from_secs(3),
        ..settings(BmcKind::Plain, "")
    };
    let (bmc, runner) = fake(&s);
    runner.set_default(FakeReply::Hang);
    let started = Instant::now();
    assert_eq!(
        bmc.power_status().await,
        Err(BmcError::Timeout { after_ms: 3000 })
    );
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let started = Instant::now();
    assert_eq!(
        bmc.power(PowerAction::Cycle).await,
        Err(BmcError::Timeout { after_ms: 3000 })
    );
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_child_past_its_deadline_times_out_when_the_runner_kills_it() {
    let s = BmcSettings {
        deadline: Duration::from_secs(2),
        ..settings(BmcKind::Plain, "")
    };
    let (bmc, runner) = fake(&s);
    runner.push(FakeReply::stdout("Chassis Power is on").after(Duration::from_secs(60)));
    let started = Instant::now();
    assert_eq!(
        bmc.power_status().await,
        Err(BmcError::Timeout { after_ms: 2000 })
    );
    // The runner's deadline: 2 s less a tenth.
    assert_eq!(started.elapsed(), Duration::from_millis(1800));
    assert_eq!(runner.calls()[0].deadline, Duration::from_millis(1800));
}

#[test]
fn runner_deadlines_keep_a_margin() {
    for (call, runner) in [
        (30_000, 29_500),
        (5_000, 4_500),
        (2_000, 1_800),
        (100, 90),
        (0, 0),
    ] {
        assert_eq!(
            runner_deadline(Duration::from_millis(call)),
            Duration::from_millis(runner),
            "{call} ms"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_missing_ipmitool_fails_with_the_reason() {
    let (bmc, runner) = fake(&settings(BmcKind::Plain, ""));
    runner.push(FakeReply::SpawnFails {
        message: "No such file or directory (os error 2)".into(),
    });
    assert_eq!(
        bmc.power_status().await,
        Err(BmcError::Failed {
            message: "cannot run /opt/ipmitool/bin/ipmitool: \
                      No such file or directory (os error 2)"
                .into()
        })
    );
}

#[tokio::test(start_paused = true)]
async fn sol_deactivate_accepts_an_inactive_session() {
    let (bmc, runner) = fake(&settings(BmcKind::Plain, ""));
    runner.push(FakeReply::stdout(""));
    runner.push(FakeReply::stderr(
        1,
        "Info: SOL payload already de-activated\n",
    ));
    runner.push(FakeReply::stderr(
        0,
        "Info: SOL payload already de-activated\n",
    ));
    runner.push(FakeReply::stderr(
        1,
        "Error de-activating SOL payload: Invalid command\n",
    ));
    runner.push(FakeReply::stderr(
        1,
        "Error: Unable to establish IPMI v2 / RMCP+ session\n",
    ));
    assert_eq!(bmc.sol_deactivate().await, Ok(()));
    assert_eq!(bmc.sol_deactivate().await, Ok(()));
    assert_eq!(bmc.sol_deactivate().await, Ok(()));
    assert_eq!(
        bmc.sol_deactivate().await,
        Err(BmcError::Failed {
            message: "Error de-activating SOL payload: Invalid command".into()
        })
    );
    assert!(matches!(
        bmc.sol_deactivate().await,
        Err(BmcError::Auth { .. })
    ));
    assert!(
        runner
            .argvs()
            .iter()
            .all(|a| a.ends_with(&["sol".to_string(), "deactivate".to_string()]))
    );
}

#[test]
fn the_driver_s_debug_output_hides_the_password() {
    let tools = Tools::default().with_runner(Arc::new(RecordingRunner::new()));
    let bmc = driver(&settings(BmcKind::Plain, ""), &tools).unwrap();
    let debug = format!("{bmc:?}");
    assert!(debug.contains("10.0.0.5"), "{debug}");
    assert!(!debug.contains(PASSWORD), "{debug}");
}

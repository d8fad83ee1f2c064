//! Golden tests of the ipmitool command line: every command, every driver, every option.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;
use crate::Privilege;

const PASSWORD: &str = "pa55 -P word";

fn settings(kind: BmcKind, info: &str) -> BmcSettings {
    BmcSettings {
        username: "admin".into(),
        password: PASSWORD.into(),
        info: info.into(),
        ..BmcSettings::new(kind, "10.0.0.5")
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// Option variants: how they change the defaults, and the expected command line before the
/// subcommand, with `{bridge}` where a Moonshot's bridging goes.
#[allow(clippy::type_complexity)]
const VARIANTS: &[(&str, fn(&mut BmcSettings), &str)] = &[
    (
        "defaults",
        |_| {},
        "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR -C 3 {bridge} -R 1 -N 2",
    ),
    (
        "no username",
        |s| s.username.clear(),
        "-I lanplus -H 10.0.0.5 -E -L ADMINISTRATOR -C 3 {bridge} -R 1 -N 2",
    ),
    (
        "port",
        |s| s.port = Some(6230),
        "-I lanplus -H 10.0.0.5 -p 6230 -U admin -E -L ADMINISTRATOR -C 3 {bridge} -R 1 -N 2",
    ),
    (
        "port 623 is still written",
        |s| s.port = Some(623),
        "-I lanplus -H 10.0.0.5 -p 623 -U admin -E -L ADMINISTRATOR -C 3 {bridge} -R 1 -N 2",
    ),
    (
        "no cipher suite",
        |s| s.cipher_suite = None,
        "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR {bridge} -R 1 -N 2",
    ),
    (
        "cipher suite 17",
        |s| s.cipher_suite = Some(17),
        "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR -C 17 {bridge} -R 1 -N 2",
    ),
    (
        "cipher suite 0",
        |s| s.cipher_suite = Some(0),
        "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR -C 0 {bridge} -R 1 -N 2",
    ),
    (
        "operator",
        |s| s.privilege = Privilege::Operator,
        "-I lanplus -H 10.0.0.5 -U admin -E -L OPERATOR -C 3 {bridge} -R 1 -N 2",
    ),
    (
        "user",
        |s| s.privilege = Privilege::User,
        "-I lanplus -H 10.0.0.5 -U admin -E -L USER -C 3 {bridge} -R 1 -N 2",
    ),
    (
        "callback",
        |s| s.privilege = Privilege::Callback,
        "-I lanplus -H 10.0.0.5 -U admin -E -L CALLBACK -C 3 {bridge} -R 1 -N 2",
    ),
    (
        "no retries",
        |s| s.retries = None,
        "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR -C 3 {bridge} -N 2",
    ),
    (
        "zero retries",
        |s| s.retries = Some(0),
        "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR -C 3 {bridge} -R 0 -N 2",
    ),
    (
        "five retries",
        |s| s.retries = Some(5),
        "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR -C 3 {bridge} -R 5 -N 2",
    ),
    (
        "no -N",
        |s| s.timeout_secs = None,
        "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR -C 3 {bridge} -R 1",
    ),
    (
        "-N 10",
        |s| s.timeout_secs = Some(10),
        "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR -C 3 {bridge} -R 1 -N 10",
    ),
    (
        "the deadline is not on the command line",
        |s| s.deadline = Duration::from_secs(7),
        "-I lanplus -H 10.0.0.5 -U admin -E -L ADMINISTRATOR -C 3 {bridge} -R 1 -N 2",
    ),
    (
        "every option off",
        |s| {
            s.address = "bmc.example".into();
            s.username.clear();
            s.cipher_suite = None;
            s.retries = None;
            s.timeout_secs = None;
        },
        "-I lanplus -H bmc.example -E -L ADMINISTRATOR {bridge}",
    ),
    (
        "every option set",
        |s| {
            s.address = "2001:db8::5".into();
            s.port = Some(9623);
            s.username = "root".into();
            s.privilege = Privilege::Operator;
            s.cipher_suite = Some(17);
            s.retries = Some(3);
            s.timeout_secs = Some(5);
        },
        "-I lanplus -H 2001:db8::5 -p 9623 -U root -E -L OPERATOR -C 17 {bridge} -R 3 -N 5",
    ),
];

/// Every command's subcommand, for a plain BMC and for a Moonshot.
const COMMANDS: &[(IpmiCommand, &str, &str)] = &[
    (
        IpmiCommand::PowerStatus,
        "chassis power status",
        "chassis power status",
    ),
    (
        IpmiCommand::Power(PowerAction::On),
        "chassis power on",
        "chassis power on",
    ),
    (
        IpmiCommand::Power(PowerAction::Off),
        "chassis power off",
        "chassis power off",
    ),
    (
        IpmiCommand::Power(PowerAction::Cycle),
        "chassis power cycle",
        "chassis power cycle",
    ),
    (
        IpmiCommand::Power(PowerAction::Reset),
        "chassis power reset",
        "chassis power cycle",
    ),
    (
        IpmiCommand::Power(PowerAction::Soft),
        "chassis power soft",
        "chassis power soft",
    ),
    (
        IpmiCommand::BootDevice {
            device: BootDevice::Pxe,
            efi: false,
        },
        "chassis bootdev pxe",
        "chassis bootdev pxe",
    ),
    (
        IpmiCommand::BootDevice {
            device: BootDevice::Pxe,
            efi: true,
        },
        "chassis bootdev pxe options=efiboot",
        "chassis bootdev pxe options=efiboot",
    ),
    (
        IpmiCommand::BootDevice {
            device: BootDevice::Disk,
            efi: false,
        },
        "chassis bootdev disk",
        "chassis bootdev disk",
    ),
    (
        IpmiCommand::BootDevice {
            device: BootDevice::Disk,
            efi: true,
        },
        "chassis bootdev disk options=efiboot",
        "chassis bootdev disk options=efiboot",
    ),
    (
        IpmiCommand::BootDevice {
            device: BootDevice::Bios,
            efi: false,
        },
        "chassis bootdev bios",
        "chassis bootdev bios",
    ),
    (
        IpmiCommand::BootDevice {
            device: BootDevice::Bios,
            efi: true,
        },
        "chassis bootdev bios options=efiboot",
        "chassis bootdev bios options=efiboot",
    ),
    (
        IpmiCommand::SolDeactivate,
        "sol deactivate",
        "sol deactivate",
    ),
    (IpmiCommand::SolActivate, "sol activate", "sol activate"),
];

/// The drivers: kind, BMC info, and the bridging on the command line (decimal, as the
/// original wrote it: transit `0x80 + 2c`, target `0x72`).
const TARGETS: &[(BmcKind, &str, &str)] = &[
    (BmcKind::Plain, "", ""),
    (BmcKind::Plain, "ignored by plain", ""),
    (BmcKind::Moonshot, "1", "-B 0 -T 130 -b 7 -t 114"),
    (BmcKind::Moonshot, "3", "-B 0 -T 134 -b 7 -t 114"),
    (BmcKind::Moonshot, "45", "-B 0 -T 218 -b 7 -t 114"),
];

#[test]
fn the_command_table_covers_every_command() {
    let covered: Vec<IpmiCommand> = COMMANDS.iter().map(|(c, _, _)| *c).collect();
    assert_eq!(covered, IpmiCommand::all());
}

#[test]
fn golden_argv_for_every_driver_command_and_option() {
    let mut checked = 0;
    for &(kind, info, bridge) in TARGETS {
        for &(variant, change, prefix) in VARIANTS {
            let mut s = settings(kind, info);
            change(&mut s);
            let prefix = prefix.replace("{bridge}", bridge);
            for &(command, plain, moonshot) in COMMANDS {
                let sub = if kind == BmcKind::Moonshot {
                    moonshot
                } else {
                    plain
                };
                let expected = words(&format!("{prefix} {sub}"));
                let argv = ipmitool_argv(&s, &command).unwrap();
                assert_eq!(argv, expected, "{kind} {info:?}, {variant}, {command:?}");
                assert!(!argv.iter().any(|a| a == "-P"), "{argv:?}");
                assert!(!argv.iter().any(|a| a.contains("pa55")), "{argv:?}");
                assert_eq!(argv.iter().filter(|a| *a == "-E").count(), 1);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, TARGETS.len() * VARIANTS.len() * COMMANDS.len());
}

#[test]
fn whole_command_lines_spelled_out() {
    let plain = settings(BmcKind::Plain, "");
    assert_eq!(
        ipmitool_argv(&plain, &IpmiCommand::PowerStatus).unwrap(),
        [
            "-I",
            "lanplus",
            "-H",
            "10.0.0.5",
            "-U",
            "admin",
            "-E",
            "-L",
            "ADMINISTRATOR",
            "-C",
            "3",
            "-R",
            "1",
            "-N",
            "2",
            "chassis",
            "power",
            "status"
        ]
    );
    // The spec's example: cartridge 5 gives `-B 0 -T 138 -b 7 -t 114`.
    let moonshot = settings(BmcKind::Moonshot, "5");
    assert_eq!(
        ipmitool_argv(
            &moonshot,
            &IpmiCommand::BootDevice {
                device: BootDevice::Pxe,
                efi: true
            }
        )
        .unwrap(),
        [
            "-I",
            "lanplus",
            "-H",
            "10.0.0.5",
            "-U",
            "admin",
            "-E",
            "-L",
            "ADMINISTRATOR",
            "-C",
            "3",
            "-B",
            "0",
            "-T",
            "138",
            "-b",
            "7",
            "-t",
            "114",
            "-R",
            "1",
            "-N",
            "2",
            "chassis",
            "bootdev",
            "pxe",
            "options=efiboot"
        ]
    );
}

#[test]
fn the_password_goes_through_the_environment() {
    let s = settings(BmcKind::Plain, "");
    let env = ipmitool_env(&s);
    assert_eq!(env.len(), 1);
    assert_eq!(env[0].0, "IPMI_PASSWORD");
    assert_eq!(env[0].1.expose_secret(), PASSWORD);

    // No password: an empty variable, so ipmitool never prompts.
    let none = BmcSettings::new(BmcKind::Plain, "10.0.0.5");
    let env = ipmitool_env(&none);
    assert_eq!(env[0].0, PASSWORD_ENV);
    assert_eq!(env[0].1.expose_secret(), "");
}

#[test]
fn moonshot_cartridges_are_checked() {
    for (info, cartridge) in [("1", 1), ("3", 3), ("45", 45), (" 7 ", 7), ("07", 7)] {
        assert_eq!(moonshot_cartridge(info), Ok(cartridge), "{info:?}");
    }
    for info in [
        "", "0", "46", "255", "256", "-1", "3.0", "abc", "0x3", "1 2",
    ] {
        let err = moonshot_cartridge(info).unwrap_err();
        assert_eq!(
            err,
            BmcError::Failed {
                message: format!(
                    "not a valid Moonshot cartridge number: {info:?} (expected 1 to 45)"
                )
            }
        );
        let argv = ipmitool_argv(
            &settings(BmcKind::Moonshot, info),
            &IpmiCommand::PowerStatus,
        );
        assert_eq!(argv, Err(err), "{info:?}");
    }
}

#[test]
fn unusable_settings_are_refused() {
    for kind in [BmcKind::Redfish, BmcKind::Sim] {
        let err = ipmitool_argv(&settings(kind, ""), &IpmiCommand::PowerStatus).unwrap_err();
        assert!(matches!(err, BmcError::Unsupported { .. }), "{err:?}");
    }
    // The kind is judged first: a Redfish BMC without an address is still not ipmitool's.
    let redfish = BmcSettings {
        address: String::new(),
        ..settings(BmcKind::Redfish, "")
    };
    assert!(matches!(
        ipmitool_argv(&redfish, &IpmiCommand::PowerStatus),
        Err(BmcError::Unsupported { .. })
    ));
    let cases: &[(&str, &str, &str)] = &[
        ("", "admin", "the BMC has no address"),
        (
            "  ",
            "admin",
            "the BMC address contains a blank or a control character",
        ),
        (
            "10.0.0.5 ",
            "admin",
            "the BMC address contains a blank or a control character",
        ),
        (
            "10.0.0.5\n-P",
            "admin",
            "the BMC address contains a blank or a control character",
        ),
        (
            "10.0.0.5",
            "admin\n",
            "the BMC username contains a control character",
        ),
    ];
    for &(address, username, message) in cases {
        let s = BmcSettings {
            address: address.into(),
            username: username.into(),
            ..settings(BmcKind::Plain, "")
        };
        assert_eq!(
            ipmitool_argv(&s, &IpmiCommand::PowerStatus),
            Err(BmcError::Failed {
                message: message.into()
            }),
            "{address:?} {username:?}"
        );
    }
    // A username with blanks is a valid login name.
    let s = BmcSettings {
        username: "lab admin".into(),
        ..settings(BmcKind::Plain, "")
    };
    assert_eq!(
        ipmitool_argv(&s, &IpmiCommand::PowerStatus).unwrap()[5],
        "lab admin"
    );
}

#[test]
fn defaults_are_documented_values() {
    let s = BmcSettings::new(BmcKind::Plain, "h");
    assert_eq!(s.privilege, Privilege::Administrator);
    assert_eq!(s.cipher_suite, Some(3));
    assert_eq!(s.retries, Some(1));
    assert_eq!(s.timeout_secs, Some(2));
    assert_eq!(s.deadline, Duration::from_secs(30));
    assert_eq!(s.port, None);
    assert!(s.username.is_empty() && s.info.is_empty());
    assert_eq!(s.password.expose_secret(), "");
}

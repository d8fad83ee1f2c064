//! HP Moonshot against ipmi_sim with Moonshot-like satellite controllers (0x82, a zone
//! controller; 0x72, a cartridge controller; each with its own chassis).
//!
//! What the simulator cannot show: a Moonshot cartridge is reached by *double* bridging
//! (`-B 0 -T 0x80+2c -b 7 -t 0x72`: to the zone controller on channel 0, then through it to
//! the cartridge controller on channel 7). That needs the transit controller to implement
//! "Send Message", which ipmi_sim's satellite controllers do not: it answers the bridged
//! request with "Invalid command" (completion code 0xC1; 0x83 "NAK on write" when no
//! controller sits at the transit address). So no test here can show a cartridge powering
//! on. The exact command line the `moonshot` driver builds (cartridge 1 gives
//! `-B 0 -T 130 -b 7 -t 114`, a reset sent as a cycle) is covered by the golden argv tests of
//! `mr-provisioner-ipmi`; this file shows what ipmi_sim does allow (single bridging works)
//! and that the driver's double-bridged call fails cleanly, with the BMC's words and without
//! the password.

use std::process::Stdio;

use mr_provisioner_ipmi::{
    BmcError, BmcKind, BmcSettings, IpmiCommand, PowerAction, ipmitool_argv,
};
use mr_provisioner_tests::ipmi_sim::{IpmiFleet, ipmitool_base};
use tokio::process::Command;

use crate::{lines, plain, tools};

fn read(path: std::path::PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_bridging_reaches_a_satellite_and_the_moonshot_driver_fails_cleanly() {
    let Some(fleet) = IpmiFleet::start(1, true).await else {
        return;
    };
    let sim = &fleet.bmcs[0];
    let node = sim.dir.join("node"); // 0x72
    let zone = sim.dir.join("zone"); // 0x82

    // Single bridging, as ipmitool allows it (the drivers never do this): the cartridge
    // controller 0x72 on channel 0 powers its own chassis on; the BMC's own stays off.
    let out = Command::new("ipmitool")
        .args(ipmitool_base(sim.port))
        .args(["-b", "0", "-t", "0x72", "chassis", "power", "on"])
        .env("IPMI_PASSWORD", &sim.password)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&read(node.join("chassis.log"))), ["set power 1"]);
    assert_eq!(read(node.join("power")).trim(), "1");
    assert_eq!(read(zone.join("chassis.log")), "");
    assert_eq!(sim.log(), "");
    assert_eq!(sim.power(), "0");

    // The moonshot driver for cartridge 1: double-bridged through 0x82.
    let settings = BmcSettings {
        kind: BmcKind::Moonshot,
        info: "1".into(),
        ..plain(sim)
    };
    let argv = ipmitool_argv(&settings, &IpmiCommand::Power(PowerAction::On)).unwrap();
    assert!(
        argv.join(" ").contains(" -B 0 -T 130 -b 7 -t 114 "),
        "{argv:?}"
    );
    let bmc = mr_provisioner_ipmi::driver(&settings, &tools()).unwrap();
    for (what, result) in [
        ("power on", bmc.power(PowerAction::On).await),
        ("status", bmc.power_status().await.map(drop)),
    ] {
        let err = result.unwrap_err();
        // The BMC answered (so: not a timeout, not unreachable, not a refused login) and
        // refused the bridged request in its own words.
        assert!(matches!(err, BmcError::Failed { .. }), "{what}: {err:?}");
        let text = err.to_string();
        // ipmi_sim's transit controller 0x82 does not forward: "Invalid command".
        assert!(
            text.starts_with("BMC request failed: ") && text.ends_with(" failed: Invalid command"),
            "{what}: {text}"
        );
        assert!(!text.contains(&sim.password), "{what}: {text}");
        eprintln!("moonshot driver, {what}: {text}");
    }
    // Nothing moved: no chassis was told anything by the double-bridged requests.
    assert_eq!(lines(&read(node.join("chassis.log"))), ["set power 1"]);
    assert_eq!(read(zone.join("chassis.log")), "");
    assert_eq!(sim.log(), "");
}

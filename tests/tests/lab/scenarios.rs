//! The scenarios: BIOS and UEFI network boots, the provision flow, netboot off, UEFI HTTP
//! boot, and the faults (an unknown MAC, a BMC that does not answer).

use std::time::{Duration, Instant};

use mr_provisioner_tests::boot_lab::{Firmware, MARKER, POWEROFF, PRESEED_BEGIN, PRESEED_END};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Booted, World, scenario, step};

/// How long one boot may take from power-on to the marker (TCG on 2 shared cores).
const BOOT_LIMIT: Duration = Duration::from_secs(150);

/// The engineer's kernel options: the serial console, and a word the test finds again.
fn kernel_opts(tag: &str) -> String {
    format!("console=ttyS0,115200 mrp.lab={tag}")
}

/// The engineer points their machine at the lab's kernel and initrd, with `opts`, netboot
/// on (through `PUT /api/v1/machine/{id}`, as the original's clients do).
async fn choose_images(w: &World, m: &Booted, opts: &str, preseed: Option<i64>) {
    let r = w
        .call(
            Method::PUT,
            &format!("/api/v1/machine/{}", m.machine_id),
            &m.token,
            Some(json!({
                "kernel_id": w.kernel["id"],
                "initrd_id": w.initrd["id"],
                "kernel_opts": opts,
                "preseed_id": preseed,
                "netboot_enabled": true,
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Waits for the marker line; returns its line.
async fn marker(w: &World, m: &Booted, name: &str, start: Instant) -> String {
    let log = match m
        .guest
        .wait_serial(BOOT_LIMIT, |log| log.contains(MARKER))
        .await
    {
        Ok(_) => m.guest.serial(),
        Err(log) => panic!(
            "{name}: no marker within {BOOT_LIMIT:?}\n---- serial ----\n{}\n---- chassis ----\n{}\n---- qemu ----\n{}\n---- kea ----\n{}",
            tail(&log, 80),
            m.guest.chassis_log(),
            m.guest.qemu_errors(),
            tail(&w.lab.kea_log(), 40)
        ),
    };
    step(name, "marker", start);
    log.lines()
        .find(|l| l.contains(MARKER))
        .expect("marker line")
        .to_string()
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Checks that `events` hold, in this order, an event matching each of `wanted`
/// (`(type, predicate on info, what)`), with anything between them.
fn assert_in_order(events: &[(String, Value, String)], wanted: &[(&str, &dyn Fn(&Value) -> bool, &str)]) {
    let mut at = 0;
    for (kind, pred, what) in wanted {
        match events[at..].iter().position(|(k, info, _)| k == kind && pred(info)) {
            Some(i) => at += i + 1,
            None => panic!(
                "no {kind} event ({what}) after the ones before it; events:\n{}",
                events
                    .iter()
                    .map(|(k, i, d)| format!("{d} {k} {i}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }
}

fn filename_is(name: &str) -> impl Fn(&Value) -> bool + '_ {
    move |info: &Value| info["filename"].as_str() == Some(name)
}

/// Waits (at most 20 s) until the machine's events satisfy `done` (Kea's leases become
/// events at the server's next pass).
async fn events_when(
    w: &World,
    id: i64,
    done: impl Fn(&[(String, Value, String)]) -> bool,
) -> Vec<(String, Value, String)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let e = w.events(id).await;
        if done(&e) || Instant::now() > deadline {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A network boot to the marker, started by the engineer with `pxe_reboot`: the events
/// and the serial log of a whole boot chain.
async fn pxe_boot(w: &World, name: &str, firmware: Firmware, loader: &Value) {
    let start = Instant::now();
    let m = w.machine(name, firmware).await;
    let opts = kernel_opts(name);
    choose_images(w, &m, &opts, None).await;
    step(name, "set up (BMC, machine, interface, engineer, images)", start);
    let start = Instant::now();
    let r = w
        .call(
            Method::POST,
            &format!("/api/v1/machine/{}/power", m.machine_id),
            &m.token,
            Some(json!({"state": "pxe_reboot"})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    step(name, "power on (pxe_reboot answered)", start);
    assert_eq!(m.guest.boot_device(), "pxe", "{}", m.guest.chassis_log());
    let line = marker(w, &m, name, start).await;
    assert!(line.contains(&opts), "the kernel options we rendered: {line}");
    let bootif = format!("BOOTIF=01-{}", m.guest.mac.replace(':', "-"));
    assert!(line.contains(&bootif), "{bootif}: {line}");
    let off = m.guest.wait_off(Duration::from_secs(60)).await;
    assert!(off.is_ok(), "{:?}", off);
    step(name, "powered off", start);
    let loader_name = loader["name"].as_str().expect("loader file name").to_string();
    let kernel = w.kernel["name"].as_str().expect("kernel").to_string();
    let initrd = w.initrd["name"].as_str().expect("initrd").to_string();
    let mac_dashes = m.guest.mac.replace(':', "-");
    let events = events_when(w, m.machine_id, |e| e.iter().any(|(k, _, _)| k == "DHCP_REQ")).await;
    let is_config = |info: &Value| {
        info["filename"]
            .as_str()
            .is_some_and(|f| f.contains(&format!("01-{mac_dashes}")))
    };
    let any = |_: &Value| true;
    assert_in_order(
        &events,
        &[
            ("POWER_CHANGE", &|i: &Value| i["power"] == "pxe_reboot", "power on"),
            ("DHCP_REQ", &any, "DHCP"),
            ("TFTP_REQ", &filename_is(&loader_name), "bootloader"),
            ("TFTP_REQ", &is_config, "per-MAC config"),
            ("TFTP_REQ", &filename_is(&kernel), "kernel"),
            ("TFTP_REQ", &filename_is(&initrd), "initrd"),
        ],
    );
}

#[test]
fn bios_pxe_boot() {
    scenario("bios", Duration::from_secs(300), |w| async move {
        pxe_boot(w, "bios-1", Firmware::Bios, &w.bios_loader).await;
    });
}

#[test]
fn uefi_pxe_boot() {
    scenario("uefi", Duration::from_secs(300), |w| async move {
        pxe_boot(w, "uefi-1", Firmware::Uefi, &w.uefi_loader).await;
    });
}

#[allow(dead_code)]
fn unused(_: &str, _: &str) -> (&'static str, &'static str, &'static str) {
    (POWEROFF, PRESEED_BEGIN, PRESEED_END)
}

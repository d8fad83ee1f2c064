//! The scenarios: BIOS and UEFI network boots, the provision flow, netboot off, UEFI HTTP
//! boot, and the faults (an unknown MAC, a BMC that does not answer).

use std::time::{Duration, Instant};

use mr_provisioner_tests::boot_lab::{Firmware, MARKER, POWEROFF, PRESEED_BEGIN, PRESEED_END};
use reqwest::Method;
use serde_json::{Value, json};

use mr_provisioner_tests::boot_lab::world::{Booted, World};

use super::{scenario, step};

/// How long one boot may take from power-on to the marker (TCG on 2 shared cores).
const BOOT_LIMIT: Duration = Duration::from_secs(150);

/// The engineer's kernel options: the serial console, and a word the test finds again.
fn kernel_opts(tag: &str) -> String {
    format!("console=ttyS0,115200 mrp.lab={tag}")
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
            "{name}: no marker within {BOOT_LIMIT:?}\n---- serial ----\n{}\n---- chassis ----\n{}\n---- qemu ----\n{}\n---- kea ----\n{}\n---- server: requests from {} ----\n{}",
            tail(&log, 80),
            m.guest.chassis_log(),
            m.guest.qemu_errors(),
            tail(&w.lab.kea_log(), 40),
            m.ip,
            tail(
                &w.lab
                    .server_log()
                    .lines()
                    .filter(|l| l.contains(&format!("remote_addr={} ", m.ip))
                        || l.contains("WARN")
                        || l.contains("ERROR"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                40
            )
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

/// An event looked for: its type, a predicate on its info, and what it stands for.
type Wanted<'a> = (&'a str, &'a dyn Fn(&Value) -> bool, &'a str);

/// Checks that `events` hold, in this order, an event matching each of `wanted`
/// (`(type, predicate on info, what)`), with anything between them.
fn assert_in_order(events: &[(String, Value, String)], wanted: &[Wanted<'_>]) {
    let mut at = 0;
    for (kind, pred, what) in wanted {
        match events[at..]
            .iter()
            .position(|(k, info, _)| k == kind && pred(info))
        {
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
    network_boot(w, name, firmware, firmware.subarch(), "", loader, false).await;
}

/// A network boot of a new machine in `subarch` (its guest started with `qemu_extra`), to
/// the marker; `over_http`: every file must have come over HTTP.
async fn network_boot(
    w: &World,
    name: &str,
    firmware: Firmware,
    subarch: &str,
    qemu_extra: &str,
    loader: &Value,
    over_http: bool,
) -> String {
    let start = Instant::now();
    let m = w.machine_with(name, firmware, subarch, qemu_extra).await;
    let opts = kernel_opts(name);
    w.choose_images(&m, &opts, None).await;
    step(
        name,
        "set up (BMC, machine, interface, engineer, images)",
        start,
    );
    let start = Instant::now();
    w.power(&m, "pxe_reboot").await;
    step(name, "power on (pxe_reboot answered)", start);
    assert_eq!(m.guest.boot_device(), "pxe", "{}", m.guest.chassis_log());
    let line = marker(w, &m, name, start).await;
    assert!(
        line.contains(&opts),
        "the kernel options we rendered: {line}"
    );
    let bootif = format!("BOOTIF=01-{}", m.guest.mac.replace(':', "-"));
    assert!(line.contains(&bootif), "{bootif}: {line}");
    let off = m.guest.wait_off(Duration::from_secs(60)).await;
    assert!(off.is_ok(), "{:?}", off);
    step(name, "powered off", start);
    let loader_name = loader["name"]
        .as_str()
        .expect("loader file name")
        .to_string();
    let kernel = w.kernel["name"].as_str().expect("kernel").to_string();
    let initrd = w.initrd["name"].as_str().expect("initrd").to_string();
    let mac_dashes = m.guest.mac.replace(':', "-");
    let events = events_when(w, m.machine_id, |e| {
        e.iter().any(|(k, _, _)| k == "DHCP_REQ")
    })
    .await;
    // Over HTTP, GRUB knows no MAC and asks for its default config, which the address it
    // asks from makes this machine's.
    let is_config = |info: &Value| {
        info["file"].is_null()
            && info["filename"].as_str().is_some_and(|f| {
                f.contains(&format!("01-{mac_dashes}")) || (over_http && f.ends_with("grub.cfg"))
            })
    };
    let any = |_: &Value| true;
    let via = |i: &Value| !over_http || i["via"] == "http";
    let file =
        |name: String| move |i: &Value| i["filename"].as_str() == Some(name.as_str()) && via(i);
    let is_config = |i: &Value| is_config(i) && via(i);
    assert_in_order(
        &events,
        &[
            (
                "POWER_CHANGE",
                &|i: &Value| i["power"] == "pxe_reboot",
                "power on",
            ),
            ("DHCP_REQ", &any, "DHCP"),
            ("TFTP_REQ", &file(loader_name.clone()), "bootloader"),
            ("TFTP_REQ", &is_config, "per-MAC config"),
            ("TFTP_REQ", &file(kernel.clone()), "kernel"),
            ("TFTP_REQ", &file(initrd.clone()), "initrd"),
        ],
    );
    report_steps(name, &events, &loader_name, &kernel, &initrd);
    // The files fetched are the bytes we hold: what our TFTP server sends for them, as a
    // client in the lab's network gets it, is the artifact the admin uploaded.
    for (stored, original) in [
        (&kernel, &w.lab.artifacts.kernel),
        (&initrd, &w.lab.artifacts.initrd),
    ] {
        let fetched = w.lab.dir().join(format!("fetched-{name}"));
        let out = mr_provisioner_tests::dhcp_lab::run_bounded(
            w.lab
                .command("curl")
                .args(["-sS", "--tftp-blksize", "1408", "-o"])
                .arg(&fetched)
                .arg(format!("tftp://{}/{stored}", w.lab.bridge_ip())),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = std::fs::read(original).expect("artifact");
        let got = std::fs::read(&fetched).expect("the fetched file");
        assert!(got == want, "{stored}: not the uploaded bytes");
    }
    m.guest.serial()
}

/// Prints when each step of the boot happened, from the events (seconds after power-on):
/// DHCP, bootloader, config, kernel, initrd.
fn report_steps(
    name: &str,
    events: &[(String, Value, String)],
    loader: &str,
    kernel: &str,
    initrd: &str,
) {
    let at = |pred: &dyn Fn(&(String, Value, String)) -> bool| {
        events
            .iter()
            .find(|e| pred(e))
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(&e.2).ok())
    };
    let Some(on) = at(&|e| e.0 == "POWER_CHANGE") else {
        return;
    };
    let steps = [
        ("DHCP lease", at(&|e| e.0 == "DHCP_REQ")),
        ("bootloader", at(&|e| e.1["filename"] == loader)),
        (
            "config",
            at(&|e| e.0 == "TFTP_REQ" && e.1["file"].is_null()),
        ),
        ("kernel", at(&|e| e.1["filename"] == kernel)),
        ("initrd", at(&|e| e.1["filename"] == initrd)),
    ];
    let line: Vec<String> = steps
        .iter()
        .map(|(what, t)| match t {
            Some(t) => format!(
                "{what} {:.1} s",
                (*t - on).num_milliseconds() as f64 / 1000.0
            ),
            None => format!("{what} -"),
        })
        .collect();
    eprintln!("[{name}] steps after power-on: {}", line.join(", "));
}

#[test]
fn bios_pxe_boot() {
    scenario("bios", Duration::from_secs(300), |w| async move {
        pxe_boot(w, "bios-1", Firmware::Bios, &w.bios_loader).await;
    });
}

/// UEFI HTTP boot: OVMF with its PXE turned off (so that it goes on to HTTP boot) asks as
/// an `HTTPClient`; Kea answers with the URL, under our `/boot/`, of the `uefi-http`
/// subarch's GRUB and the vendor class `HTTPClient`; OVMF fetches GRUB from there and GRUB
/// its config, the kernel and the initrd, all over HTTP; the firmware's own account of our
/// DHCP answer (the URL) is checked too.
#[test]
fn uefi_http_boot() {
    scenario("uefi-http", Duration::from_secs(300), |w| async move {
        let loader = w.uefi_http_loader["name"]
            .as_str()
            .expect("loader")
            .to_string();
        let serial = network_boot(
            w,
            "http-1",
            Firmware::Uefi,
            "uefi-http",
            "-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n \
             -fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n",
            &w.uefi_http_loader,
            true,
        )
        .await;
        let url = format!("{}/boot/{loader}", w.lab.public_url);
        assert!(
            serial.contains(">>Start HTTP Boot over IPv4"),
            "{}",
            tail(&serial, 40)
        );
        assert!(
            serial.contains(&format!("URI: {url}")),
            "{url}:\n{}",
            tail(&serial, 40)
        );
    });
}

#[test]
fn uefi_pxe_boot() {
    scenario("uefi", Duration::from_secs(300), |w| async move {
        pxe_boot(w, "uefi-1", Firmware::Uefi, &w.uefi_loader).await;
    });
}

/// The installer config the guest printed (between its begin and end lines).
fn printed_preseed(serial: &str) -> Option<String> {
    let start = serial.find(PRESEED_BEGIN)?;
    let rest = &serial[start..];
    let body_start = rest.find('\n')? + 1;
    let end = rest.find(PRESEED_END)?;
    Some(rest[body_start..end].replace('\r', ""))
}

/// The engineer's installer config: their machine's host name and their SSH key, templated.
const PRESEED: &str = "d-i netcfg/get_hostname string {{ hostname }}\nd-i passwd/root-login boolean false\nssh-authorized-key {{ ssh_key }}\n";

#[test]
fn provision_flow() {
    scenario("provision", Duration::from_secs(300), |w| async move {
        let name = "prov-1";
        let start = Instant::now();
        let m = w.machine(name, Firmware::Bios).await;
        let p = w
            .call(
                Method::POST,
                "/api/v1/preseed",
                &m.token,
                Some(json!({"name": format!("{name}-preseed"), "type": "preseed", "content": PRESEED})),
            )
            .await;
        assert_eq!(p.status, 201, "{}", p.text);
        let opts = kernel_opts(name);
        w.choose_images(&m, &opts, p.json["id"].as_i64()).await;
        step(name, "set up", start);

        let start = Instant::now();
        let path = format!("/api/v1/machine/{}/state", m.machine_id);
        let r = w
            .call(
                Method::POST,
                &path,
                &m.token,
                Some(json!({"state": "provision"})),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(r.json["state"], "provisioning", "{}", r.text);
        step(name, "provision answered", start);
        assert_eq!(m.guest.boot_device(), "pxe", "{}", m.guest.chassis_log());
        let line = marker(w, &m, name, start).await;
        let url = format!("url={}/preseed/{}", w.lab.public_url, m.machine_id);
        assert!(line.contains(&url), "the installer options ({url}): {line}");
        assert!(line.contains(&opts), "the engineer's options: {line}");
        let printed = match m
            .guest
            .wait_serial(Duration::from_secs(60), |s| s.contains(PRESEED_END))
            .await
        {
            Ok(_) => printed_preseed(&m.guest.serial()).expect("the installer config"),
            Err(log) => panic!("{name}: no installer config printed:\n{}", tail(&log, 40)),
        };
        step(name, "installer config fetched and printed", start);
        assert!(
            printed.contains("d-i netcfg/get_hostname string prov-1"),
            "{printed}"
        );
        assert!(
            printed.contains("ssh-authorized-key ssh-ed25519 AAAAC3NzaLab")
                && printed.contains(&format!("{}@lab", m.username)),
            "the assignee's SSH key: {printed}"
        );
        assert!(m.guest.serial().contains(POWEROFF));
        m.guest
            .wait_off(Duration::from_secs(60))
            .await
            .expect("the guest powers off");
        step(name, "powered off", start);

        // The machine left `provisioning`; the power read shows the guest's own power-off.
        let r = w.call(Method::GET, &path, &m.token, None).await;
        assert_eq!(r.json["state"], "ready", "{}", r.text);
        let r = w
            .call(
                Method::GET,
                &format!("/api/v1/machine/{}/power", m.machine_id),
                &m.token,
                None,
            )
            .await;
        assert_eq!(r.json["state"], "off", "{}", r.text);

        let loader = w.bios_loader["name"].as_str().expect("loader").to_string();
        let kernel = w.kernel["name"].as_str().expect("kernel").to_string();
        let initrd = w.initrd["name"].as_str().expect("initrd").to_string();
        let mac_dashes = m.guest.mac.replace(':', "-");
        let events = events_when(w, m.machine_id, |e| {
            e.iter().any(|(k, _, _)| k == "DHCP_REQ")
                && e.iter()
                    .any(|(k, i, _)| k == "POWER_CHANGE" && i["reason"] == "observed")
        })
        .await;
        let is_config = |info: &Value| {
            info["filename"]
                .as_str()
                .is_some_and(|f| f.contains(&format!("01-{mac_dashes}")))
        };
        let any = |_: &Value| true;
        assert_in_order(
            &events,
            &[
                (
                    "STATE_CHANGE",
                    &|i: &Value| i["state"] == "provisioning",
                    "provisioning",
                ),
                (
                    "POWER_CHANGE",
                    &|i: &Value| i["power"] == "pxe_reboot",
                    "power on (PXE)",
                ),
                ("DHCP_REQ", &any, "DHCP"),
                ("TFTP_REQ", &filename_is(&loader), "bootloader"),
                ("TFTP_REQ", &is_config, "per-MAC config"),
                ("TFTP_REQ", &filename_is(&kernel), "kernel"),
                ("TFTP_REQ", &filename_is(&initrd), "initrd"),
                ("PRESEED_ACCESS", &any, "installer config"),
                ("STATE_CHANGE", &|i: &Value| i["state"] == "ready", "ready"),
                (
                    "POWER_CHANGE",
                    &|i: &Value| i["power"] == "off" && i["reason"] == "observed",
                    "power off",
                ),
            ],
        );

        // What the guest printed is what we render for it.
        let r = w
            .lab
            .call(Method::GET, &format!("/preseed/{}", m.machine_id), "", None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(printed.trim_end(), r.text.trim_end(), "the bytes we serve");
    });
}

#[test]
fn netboot_off_boots_locally() {
    scenario("netboot-off", Duration::from_secs(300), |w| async move {
        let name = "local-1";
        let start = Instant::now();
        let m = w.machine(name, Firmware::Bios).await;
        w.choose_images(&m, &kernel_opts(name), None).await;
        let r = w
            .call(
                Method::PUT,
                &format!("/api/v1/machine/{}", m.machine_id),
                &m.token,
                Some(json!({"netboot_enabled": false})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        w.power(&m, "pxe_reboot").await;
        // pxelinux gets the local-boot config (LOCALBOOT -1): back to the BIOS, which finds
        // no other boot device.
        let mac_dashes = m.guest.mac.replace(':', "-");
        let waited = m
            .guest
            .wait_serial(BOOT_LIMIT, |s| {
                s.contains("No bootable device") || s.contains(MARKER)
            })
            .await;
        let serial = m.guest.serial();
        assert!(
            waited.is_ok(),
            "{name}: neither local boot nor marker:\n{}",
            tail(&serial, 40)
        );
        step(name, "local boot (back to the BIOS)", start);
        assert!(
            !serial.contains(MARKER),
            "our kernel booted with netboot off:\n{}",
            tail(&serial, 40)
        );
        assert!(
            !serial.contains("vmlinuz"),
            "the kernel was loaded:\n{}",
            tail(&serial, 40)
        );
        let events = w.events(m.machine_id).await;
        assert!(
            events.iter().any(|(k, i, _)| {
                k == "TFTP_REQ"
                    && i["filename"]
                        .as_str()
                        .is_some_and(|f| f.contains(&format!("01-{mac_dashes}")))
            }),
            "no config event: {events:?}"
        );
        let kernel = w.kernel["name"].as_str().expect("kernel");
        assert!(
            !events
                .iter()
                .any(|(k, i, _)| k == "TFTP_REQ" && i["filename"] == kernel),
            "{events:?}"
        );
        // The config served is the local one (asked the way the original's TFTP proxy does).
        let r = reqwest::Client::new()
            .get(format!("{}/tftp/", w.lab.api))
            .header("X-TFTP-File", format!("pxelinux.cfg/01-{mac_dashes}"))
            .header("X-TFTP-IP", m.ip.clone())
            .send()
            .await
            .expect("GET /tftp/");
        let text = r.text().await.unwrap_or_default();
        assert!(text.contains("LOCALBOOT"), "{text}");
        w.power_off(&m).await;
    });
}

#[test]
fn unknown_mac_is_discovered_and_not_netbooted() {
    scenario("unknown", Duration::from_secs(300), |w| async move {
        let name = "stray-1";
        let start = Instant::now();
        let g = w.lab.guest(name, Firmware::Bios).await;
        // Nobody told us about this machine: someone powers it on at its BMC.
        let powered_on = chrono::Utc::now();
        for args in [["chassis", "bootdev", "pxe"], ["chassis", "power", "on"]] {
            let out = w.lab.ipmitool(g.bmc_port, &args);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Kea's lease is read at the next pass: the MAC shows as discovered.
        let deadline = Instant::now() + BOOT_LIMIT;
        let found = loop {
            let r = w
                .call(Method::GET, "/api/v1/discovered", &w.lab.admin_token, None)
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            if let Some(d) = r
                .json
                .as_array()
                .and_then(|l| l.iter().find(|d| d["mac"] == g.mac.as_str()).cloned())
            {
                break d;
            }
            assert!(
                Instant::now() < deadline,
                "{} not discovered:\n{}",
                g.mac,
                tail(&w.lab.kea_log(), 30)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        step(name, "discovered", start);
        // Seen by this boot (Kea dates its leases to the second).
        let seen = found["last_seen"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .unwrap_or_else(|| panic!("no last_seen: {found}"));
        assert!(
            seen >= powered_on - chrono::TimeDelta::seconds(1),
            "{found}"
        );
        // No netboot answer: the default config sends it back to the BIOS; our kernel never.
        let waited = g
            .wait_serial(BOOT_LIMIT, |s| {
                s.contains("No bootable device") || s.contains(MARKER)
            })
            .await;
        let serial = g.serial();
        assert!(waited.is_ok(), "{}", tail(&serial, 30));
        assert!(!serial.contains(MARKER), "{}", tail(&serial, 30));
        step(name, "back to the BIOS", start);
    });
}

/// A bootloader whose file was lost from the TFTP root (the image is still in the
/// inventory): the firmware gets "file not found" at once, the machine's events say which
/// file, and nothing hangs.
#[test]
fn missing_bootloader_is_an_event_not_a_hang() {
    scenario("missing-loader", Duration::from_secs(300), |w| async move {
        let name = "lost-1";
        let start = Instant::now();
        let t = &w.lab.admin_token;
        let image = json!({"type": "bootloader", "arch": "x86_64", "public": true});
        let loader = w
            .lab
            .upload_bytes(
                t,
                &image,
                "pxelinux.0",
                std::fs::read(&w.lab.artifacts.pxelinux).expect("pxelinux"),
            )
            .await;
        assert_eq!(loader.status, 201, "{}", loader.text);
        w.admin(
            Method::POST,
            "/api/v1/arch/1/subarch",
            json!({"name": "bios-lost", "bootloader_id": loader.json["id"], "efiboot": false}),
        )
        .await;
        let file = loader.json["name"].as_str().expect("name").to_string();
        std::fs::remove_file(w.lab.dir().join("data/tftp").join(&file))
            .expect("remove the bootloader's file");
        let m = w.machine_with(name, Firmware::Bios, "bios-lost", "").await;
        w.choose_images(&m, &kernel_opts(name), None).await;
        w.power(&m, "pxe_reboot").await;
        let events = events_when(w, m.machine_id, |e| {
            e.iter()
                .any(|(k, i, _)| k == "TFTP_REQ" && i["error"] == "file not found")
        })
        .await;
        let missing = events
            .iter()
            .find(|(k, i, _)| k == "TFTP_REQ" && i["error"] == "file not found");
        assert!(
            missing.is_some_and(|(_, i, _)| i["filename"] == file.as_str()),
            "no event for the missing bootloader:\n{events:?}\n{}",
            tail(&m.guest.serial(), 30)
        );
        step(name, "missing bootloader reported", start);
        // iPXE was told at once and says so (it then tries its other boot devices).
        let told = m
            .guest
            .wait_serial(Duration::from_secs(60), |s| s.contains("No such file"))
            .await;
        assert!(told.is_ok(), "{}", tail(&m.guest.serial(), 30));
        assert!(!m.guest.serial().contains(MARKER));
        w.power_off(&m).await;
    });
}

#[test]
fn dead_bmc_fails_provision_within_its_deadline() {
    scenario("dead-bmc", Duration::from_secs(120), |w| async move {
        // A machine whose BMC answers nothing (no ipmi_sim on that port).
        let bmc = w
            .admin(
                Method::POST,
                "/api/v1/bmc",
                json!({
                    "name": "dead-bmc", "type": "plain", "address": "127.0.0.1", "port": 9699,
                    "username": "admin", "password": "x", "cipher_suite": 3,
                    "retries": 1, "timeout_ms": 1000,
                }),
            )
            .await;
        let m = w
            .admin(
                Method::POST,
                "/api/v1/machine",
                json!({"name": "dead-1", "arch": "x86_64", "subarch": "bios", "bmc": bmc["name"]}),
            )
            .await;
        let id = m["id"].as_i64().expect("id");
        w.admin(
            Method::PUT,
            &format!("/api/v1/machine/{id}"),
            json!({"kernel_id": w.kernel["id"], "initrd_id": w.initrd["id"], "netboot_enabled": true}),
        )
        .await;
        let start = Instant::now();
        let r = w
            .call(
                Method::POST,
                &format!("/api/v1/machine/{id}/state"),
                &w.lab.admin_token,
                Some(json!({"state": "provision"})),
            )
            .await;
        let took = step("dead-bmc", "provision refused", start);
        assert_eq!(r.status, 500, "{}", r.text);
        assert_eq!(r.json["error_type"], "BMCError", "{}", r.text);
        assert!(took < 30.0, "{took} s");
        let r = w
            .call(
                Method::GET,
                &format!("/api/v1/machine/{id}/state"),
                &w.lab.admin_token,
                None,
            )
            .await;
        assert_eq!(r.json["state"], "error", "{}", r.text);
        let events = w.events(id).await;
        assert!(
            events.iter().any(|(k, _, _)| k == "BMC_ERROR"),
            "{events:?}"
        );
    });
}

//! `RedfishBmc` against the real Redfish emulator of sushy-tools (`sushy-emulator --fake`).
//!
//! Set `MRP_TEST_SUSHY` to the `sushy-emulator` executable, e.g. after
//! `python3 -m venv /opt/sushy && /opt/sushy/bin/pip install sushy-tools==2.2.0`. Without it
//! the tests print "skipped: …" and pass, unless `MRP_TEST_REQUIRE_ALL=1`. The TLS test also
//! needs the `openssl` command, to make a self-signed certificate.
//!
//! Each test starts its own emulator on a free loopback port, with a state directory of its
//! own (the fake driver otherwise keeps state in `/tmp/sushy-emulator`, shared between runs)
//! and HTTP Basic auth on (an htpasswd file with a bcrypt hash): `--fake` alone enforces no
//! auth at all.
//!
//! What the fake driver does, as observed with sushy-tools 2.2.0:
//! - a reset is answered 204 at once, and the power state changes 1-11 s later (at random);
//! - `ForceRestart` reads `Off` at once, then `On` after that delay;
//! - `PowerCycle` is not in its allowable reset types and is refused (501), so the driver's
//!   fallback to `ForceRestart` is what makes `cycle` work;
//! - the boot override PATCH is answered 204 and sets the target and the mode, but
//!   `BootSourceOverrideEnabled` stays `Continuous` whatever is sent (`Once` is ignored), and
//!   any target is stored, even one missing from its allowable values (`BiosSetup`);
//! - with `--ssl-certificate`, it speaks TLS 1.2 only.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mr_provisioner_ipmi::redfish::{RedfishBmc, redfish_base_url};
use mr_provisioner_ipmi::{Bmc, BmcError, BootDevice, PowerAction, PowerState};
use secrecy::SecretString;
use serde_json::Value;
use tempfile::TempDir;
use tokio::process::{Child, Command};

const USER: &str = "admin";
const PASSWORD: &str = "redfish-test-pw";
/// `bcrypt(PASSWORD)`, cost 4: the only digest sushy-tools' auth file accepts.
const HTPASSWD: &str = "admin:$2b$04$jCFLGqrJS20tc6oC6iXZfukElC0yBw3Qv.70kM7GPcA5GZW9nYzm6\n";
const DEADLINE: Duration = Duration::from_secs(10);
/// The fake driver applies a power change 1-11 s after accepting it.
const POWER_SETTLES: Duration = Duration::from_secs(20);

/// The emulator to run, or `None` (after saying why) when the test is to be skipped.
fn emulator() -> Option<PathBuf> {
    match std::env::var_os("MRP_TEST_SUSHY") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            let why = "MRP_TEST_SUSHY (path to sushy-emulator, from `pip install sushy-tools`) \
                       is not set";
            if std::env::var("MRP_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
                panic!("{why}, and MRP_TEST_REQUIRE_ALL=1");
            }
            println!("skipped: {why}");
            None
        }
    }
}

/// A running `sushy-emulator --fake`, killed when dropped.
struct Emulator {
    url: String,
    // Held for their drop: the process, then its files.
    _child: Child,
    dir: TempDir,
}

impl Emulator {
    /// Starts the emulator with auth on, over TLS when `tls` names a certificate and key.
    async fn start(exe: &Path, tls: Option<(&Path, &Path)>) -> Emulator {
        let dir = TempDir::new().unwrap();
        let state = dir.path().join("state");
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, HTPASSWD).unwrap();
        let config = dir.path().join("emulator.conf");
        std::fs::write(
            &config,
            format!(
                "SUSHY_EMULATOR_STATE_DIR = {:?}\nSUSHY_EMULATOR_AUTH_FILE = {:?}\n",
                state.display().to_string(),
                htpasswd.display().to_string()
            ),
        )
        .unwrap();

        // The port is free when chosen; should another process take it first, the emulator
        // exits and the next attempt picks another.
        for _attempt in 0..3 {
            let port = free_port();
            let log = dir.path().join(format!("emulator-{port}.log"));
            let mut command = Command::new(exe);
            command
                .arg("--config")
                .arg(&config)
                .args(["--fake", "-i", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(std::fs::File::create(&log).unwrap())
                .kill_on_drop(true);
            if let Some((cert, key)) = tls {
                command
                    .arg("--ssl-certificate")
                    .arg(cert)
                    .arg("--ssl-key")
                    .arg(key);
            }
            let mut child = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
            let scheme = if tls.is_some() { "https" } else { "http" };
            let url = redfish_base_url(&format!("{scheme}://127.0.0.1"), Some(port));
            if wait_listening(&mut child, SocketAddr::from(([127, 0, 0, 1], port))).await {
                return Emulator {
                    url,
                    _child: child,
                    dir,
                };
            }
            eprintln!(
                "sushy-emulator on port {port} did not start:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        panic!("sushy-emulator did not start (see above)");
    }

    fn bmc(&self, password: &str, accept_invalid_certs: bool) -> RedfishBmc {
        RedfishBmc::new(
            &self.url,
            USER,
            SecretString::from(password),
            None,
            DEADLINE,
            accept_invalid_certs,
        )
        .unwrap()
    }

    /// The system's `Boot` object, read apart from the driver.
    async fn boot(&self, system_path: &str) -> Value {
        let system: Value = reqwest::Client::new()
            .get(format!("{}{system_path}", self.url))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        system["Boot"].clone()
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until the emulator accepts connections; false if it exits or takes over 30 s.
async fn wait_listening(child: &mut Child, addr: SocketAddr) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Polls the power status until it reads `want`; the time it took.
async fn wait_power(bmc: &RedfishBmc, want: PowerState) -> Duration {
    let started = Instant::now();
    loop {
        let now = bmc.power_status().await.unwrap();
        if now == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < POWER_SETTLES,
            "still {now} after {POWER_SETTLES:?}, waiting for {want}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Asks for `action`, then polls until the power reads `want`.
async fn power_and_wait(bmc: &RedfishBmc, action: PowerAction, want: PowerState) {
    bmc.power(action).await.unwrap();
    let took = wait_power(bmc, want).await;
    println!("{action}: {want} after {took:?}");
}

// The power tests are apart so they wait on their emulators' delays side by side.

#[tokio::test]
async fn power_on_then_off() {
    let Some(exe) = emulator() else { return };
    let sushy = Emulator::start(&exe, None).await;
    let bmc = sushy.bmc(PASSWORD, false);

    // The fake system starts off.
    assert_eq!(bmc.power_status().await.unwrap(), PowerState::Off);
    assert!(
        bmc.system_path()
            .unwrap()
            .starts_with("/redfish/v1/Systems/")
    );
    power_and_wait(&bmc, PowerAction::On, PowerState::On).await;
    power_and_wait(&bmc, PowerAction::Off, PowerState::Off).await;
    bmc.sol_deactivate().await.unwrap();
}

#[tokio::test]
async fn power_on_then_soft_off() {
    let Some(exe) = emulator() else { return };
    let sushy = Emulator::start(&exe, None).await;
    let bmc = sushy.bmc(PASSWORD, false);
    power_and_wait(&bmc, PowerAction::On, PowerState::On).await;
    power_and_wait(&bmc, PowerAction::Soft, PowerState::Off).await;
}

#[tokio::test]
async fn power_cycle_and_reset_come_back_on() {
    let Some(exe) = emulator() else { return };
    let sushy = Emulator::start(&exe, None).await;
    let bmc = sushy.bmc(PASSWORD, false);
    power_and_wait(&bmc, PowerAction::On, PowerState::On).await;
    // PowerCycle is not offered: cycle goes as ForceRestart (refused otherwise).
    power_and_wait(&bmc, PowerAction::Cycle, PowerState::On).await;
    power_and_wait(&bmc, PowerAction::Reset, PowerState::On).await;
}

#[tokio::test]
async fn boot_overrides_are_stored() {
    let Some(exe) = emulator() else { return };
    let sushy = Emulator::start(&exe, None).await;
    let bmc = sushy.bmc(PASSWORD, false);

    for (device, efi, target, mode) in [
        (BootDevice::Pxe, true, "Pxe", "UEFI"),
        (BootDevice::Disk, true, "Hdd", "UEFI"),
        (BootDevice::Bios, true, "BiosSetup", "UEFI"),
        (BootDevice::Pxe, false, "Pxe", "Legacy"),
        (BootDevice::Disk, true, "Hdd", "UEFI"),
    ] {
        bmc.set_boot_device(device, efi).await.unwrap();
        let boot = sushy.boot(bmc.system_path().unwrap()).await;
        assert_eq!(boot["BootSourceOverrideTarget"], target, "{device}: {boot}");
        assert_eq!(boot["BootSourceOverrideMode"], mode, "{device}: {boot}");
        // sushy-tools ignores BootSourceOverrideEnabled (always Continuous).
        println!(
            "{device} efi={efi}: Enabled={}",
            boot["BootSourceOverrideEnabled"]
        );
    }
}

#[tokio::test]
async fn credentials_and_systems_are_checked() {
    let Some(exe) = emulator() else { return };
    let sushy = Emulator::start(&exe, None).await;

    let wrong = "not-the-redfish-test-pw";
    let err = sushy.bmc(wrong, false).power_status().await.unwrap_err();
    println!("wrong password: {err}");
    assert!(
        matches!(&err, BmcError::Auth { message } if message.contains("HTTP 401")),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert!(!text.contains(wrong) && !text.contains(PASSWORD), "{text}");

    let unknown = RedfishBmc::new(
        &sushy.url,
        USER,
        SecretString::from(PASSWORD),
        Some("no-such-system".into()),
        DEADLINE,
        false,
    )
    .unwrap();
    let err = unknown.power(PowerAction::On).await.unwrap_err();
    println!("unknown system: {err}");
    assert!(
        matches!(&err, BmcError::Failed { message }
            if message.contains("HTTP 404") && message.contains("no-such-system")),
        "{err:?}"
    );

    // Nothing answers once it is gone.
    let url = sushy.url.clone();
    drop(sushy);
    let gone = RedfishBmc::new(
        &url,
        USER,
        SecretString::from(PASSWORD),
        None,
        DEADLINE,
        false,
    )
    .unwrap();
    let err = gone.power_status().await.unwrap_err();
    println!("emulator gone: {err}");
    assert!(matches!(err, BmcError::Unreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn self_signed_certificates_need_consent() {
    let Some(exe) = emulator() else { return };
    let dir = TempDir::new().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=bmc.test", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match made {
        Ok(status) if status.success() => {}
        other => {
            let why = format!("cannot make a certificate with openssl ({other:?})");
            if std::env::var("MRP_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
                panic!("{why}, and MRP_TEST_REQUIRE_ALL=1");
            }
            println!("skipped: {why}");
            return;
        }
    }
    let sushy = Emulator::start(&exe, Some((&cert, &key))).await;
    assert!(sushy.url.starts_with("https://"));

    let err = sushy.bmc(PASSWORD, false).power_status().await.unwrap_err();
    println!("self-signed, verifying: {err}");
    assert!(
        matches!(&err, BmcError::Failed { message } if message.contains("TLS handshake failed")),
        "{err:?}"
    );

    let bmc = sushy.bmc(PASSWORD, true);
    assert_eq!(bmc.power_status().await.unwrap(), PowerState::Off);
    bmc.set_boot_device(BootDevice::Pxe, true).await.unwrap();
    bmc.power(PowerAction::On).await.unwrap();
    wait_power(&bmc, PowerState::On).await;
    // Its files are still there while it runs.
    assert!(sushy.dir.path().join("state").is_dir());
}

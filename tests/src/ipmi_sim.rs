//! Real simulated BMCs for tests: OpenIPMI's `ipmi_sim` (Debian `openipmi`) answering IPMI
//! 2.0 over UDP on loopback, each with a file-backed chassis so a test can see what the BMC
//! was told to do. Without `ipmi_sim` on the machine, [`IpmiFleet::start`] skips (or fails
//! under `MRP_TEST_REQUIRE_ALL`).
//!
//! API tests drive them through [`crate::TestServer`], whose BMC connector has no
//! power-state cache, so API requests reach these BMCs every time.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The login every simulated BMC accepts.
pub const USERNAME: &str = "admin";
/// Its password.
pub const PASSWORD: &str = "s3cret-ipmi";

/// The chassis program ipmi_sim runs for `get`/`set` of power and boot device. State lives
/// in files of the BMC's directory; every call is logged to `chassis.log` (when it starts),
/// then takes as many seconds as the file `delay` says, if there is one.
const CHASSIS: &str = r#"#!/bin/sh
dir="$1"; shift
what="$1"; shift
printf '%s %s\n' "$what" "$*" >> "$dir/chassis.log"
if [ -f "$dir/delay" ]; then sleep "$(cat "$dir/delay")"; fi
if [ "$what" = get ]; then
  for key in "$@"; do
    if [ -f "$dir/$key" ]; then value=$(cat "$dir/$key"); else
      case "$key" in boot) value=default ;; *) value=0 ;; esac
    fi
    printf '%s:%s\n' "$key" "$value"
  done
elif [ "$what" = set ]; then
  while [ "$#" -ge 2 ]; do
    printf '%s\n' "$2" > "$dir/$1"
    shift 2
  done
fi
exit 0
"#;

/// One simulated BMC.
pub struct SimulatedBmc {
    /// Its UDP port on 127.0.0.1.
    pub port: u16,
    /// Its directory (chassis state and log).
    pub dir: PathBuf,
    /// The password of its user [`USERNAME`] ([`PASSWORD`] unless the fleet was started
    /// with [`IpmiFleet::start_with_password`]).
    pub password: String,
    child: Child,
}

impl SimulatedBmc {
    /// The power state the chassis was last set to (`0` off, `1` on).
    pub fn power(&self) -> String {
        std::fs::read_to_string(self.dir.join("power"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "0".into())
    }

    /// The boot device the chassis was last set to.
    pub fn boot(&self) -> String {
        std::fs::read_to_string(self.dir.join("boot"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "default".into())
    }

    /// Every call of the chassis program, one per line (`set power 1`, `get boot`, ...).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("chassis.log")).unwrap_or_default()
    }

    /// Forgets the log.
    pub fn clear_log(&self) {
        let _ = std::fs::remove_file(self.dir.join("chassis.log"));
    }

    /// Sets the power state directly (as if someone pressed the button).
    pub fn set_power(&self, on: bool) {
        std::fs::write(self.dir.join("power"), if on { "1\n" } else { "0\n" })
            .expect("write power");
    }

    /// The process id of ipmi_sim.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Makes every later call of the chassis program take `delay` (zero: none). ipmi_sim
    /// waits for the program, so the IPMI request that caused the call is answered that much
    /// later. Keep it under ipmitool's `-N` (2 s by default), or ipmitool retransmits.
    pub fn set_delay(&self, delay: Duration) {
        let file = self.dir.join("delay");
        if delay.is_zero() {
            let _ = std::fs::remove_file(file);
        } else {
            std::fs::write(file, format!("{:.3}\n", delay.as_secs_f64())).expect("write delay");
        }
    }

    /// The body of `POST /api/v1/bmc` for this BMC, named `name`: type `plain`, 127.0.0.1,
    /// its port, its user and password, cipher suite 3.
    pub fn api_json(&self, name: &str) -> Value {
        json!({
            "name": name,
            "type": "plain",
            "address": "127.0.0.1",
            "port": self.port,
            "username": USERNAME,
            "password": self.password,
            "cipher_suite": 3,
        })
    }
}

/// A set of simulated BMCs in a temporary directory, stopped when dropped.
pub struct IpmiFleet {
    /// The BMCs.
    pub bmcs: Vec<SimulatedBmc>,
    _dir: tempfile::TempDir,
}

/// Whether `program` is on the PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

/// A UDP port on 127.0.0.1 that was free a moment ago (a BMC that never answers).
pub fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
    s.local_addr().expect("local address").port()
}

fn lan_conf(name: &str, port: u16, dir: &Path, satellites: bool, password: &str) -> String {
    let chassis = dir.join("chassis.sh");
    let mut conf = format!(
        r#"name "{name}"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 {port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid {guid:032x}
  endlan
  chassis_control "{chassis} {state}"
  sol "tcp:127.0.0.1:1" 115200
  user 2 true "{USERNAME}" "{password}" admin 10 none md2 md5 straight
"#,
        guid = u128::from(port) * 0x1000_0001,
        chassis = chassis.display(),
        state = dir.display(),
    );
    if satellites {
        // Moonshot-like satellite controllers, each with its own chassis (ipmi_sim crashes
        // on a chassis command bridged to a controller without one).
        for (mc, sub) in [("0x72", "node"), ("0x82", "zone")] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).expect("satellite dir");
            conf.push_str(&format!(
                "set_working_mc {mc}\n  chassis_control \"{} {}\"\n",
                chassis.display(),
                d.display()
            ));
        }
    }
    conf
}

fn emu(satellites: bool) -> String {
    let mut e = String::from(
        "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nsel_enable 0x20 1000 0x0a\n",
    );
    if satellites {
        e.push_str("mc_add 0x82 0 no-device-sdrs 0x01 1 0 0x9f 0x1291 0xf03\nmc_add 0x72 0 no-device-sdrs 0x02 1 0 0x9f 0x1291 0xf04\nmc_enable 0x82\nmc_enable 0x72\n");
    }
    e.push_str("mc_enable 0x20\n");
    e
}

/// `ipmitool` arguments reaching the simulated BMC on `port` (password through `-E`).
pub fn ipmitool_base(port: u16) -> Vec<String> {
    [
        "-I",
        "lanplus",
        "-C",
        "3",
        "-H",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-U",
        USERNAME,
        "-E",
        "-N",
        "1",
        "-R",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl IpmiFleet {
    /// Starts `n` simulated BMCs (with Moonshot-like satellite controllers when
    /// `satellites`), or `None` after [`mr_provisioner_core::testing::skip`] when ipmi_sim or
    /// ipmitool are missing.
    ///
    /// Each has Serial-over-LAN set up (to a TCP port where nothing listens), so `sol
    /// deactivate` answers "already de-activated" rather than "Invalid command". Their
    /// chassis logs start empty once they answer.
    pub async fn start(n: usize, satellites: bool) -> Option<IpmiFleet> {
        Self::start_with_password(n, satellites, PASSWORD).await
    }

    /// The same, with `password` (at most 20 characters) for [`USERNAME`] instead of
    /// [`PASSWORD`]: a password no other test uses, for tests that look for it everywhere.
    pub async fn start_with_password(
        n: usize,
        satellites: bool,
        password: &str,
    ) -> Option<IpmiFleet> {
        assert!(
            password.len() <= 20,
            "IPMI 2.0 passwords have at most 20 characters"
        );
        if !have("ipmi_sim") || !have("ipmitool") {
            mr_provisioner_core::testing::skip(
                "ipmi_sim and ipmitool (Debian openipmi, ipmitool) are not installed",
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut bmcs = Vec::new();
        for i in 0..n {
            let bmc_dir = dir.path().join(format!("bmc{i}"));
            std::fs::create_dir_all(bmc_dir.join("state")).expect("BMC dir");
            let chassis = bmc_dir.join("chassis.sh");
            std::fs::write(&chassis, CHASSIS).expect("chassis program");
            std::fs::set_permissions(&chassis, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            let port = free_udp_port();
            std::fs::write(
                bmc_dir.join("lan.conf"),
                lan_conf(&format!("bmc{i}"), port, &bmc_dir, satellites, password),
            )
            .expect("lan.conf");
            std::fs::write(bmc_dir.join("bmc.emu"), emu(satellites)).expect("bmc.emu");
            let child = Command::new("ipmi_sim")
                .arg("-n")
                .arg("-c")
                .arg(bmc_dir.join("lan.conf"))
                .arg("-f")
                .arg(bmc_dir.join("bmc.emu"))
                .arg("-s")
                .arg(bmc_dir.join("state"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("start ipmi_sim");
            bmcs.push(SimulatedBmc {
                port,
                dir: bmc_dir,
                password: password.to_string(),
                child,
            });
        }
        let fleet = IpmiFleet { bmcs, _dir: dir };
        for bmc in &fleet.bmcs {
            fleet.wait_ready(bmc.port, &bmc.password).await;
            // The readiness probe's `get power` is not the test's doing.
            bmc.clear_log();
        }
        Some(fleet)
    }

    async fn wait_ready(&self, port: u16, password: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let ok = Command::new("ipmitool")
                .args(ipmitool_base(port))
                .args(["chassis", "power", "status"])
                .env("IPMI_PASSWORD", password)
                .stdin(Stdio::null())
                .output()
                .await
                .map(|o| o.status.success())
                .unwrap_or(false);
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ipmi_sim on port {port} did not answer"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

//! The BMC layer against real BMCs: OpenIPMI's `ipmi_sim` answering IPMI 2.0 on loopback,
//! driven by the real `ipmitool`, through the ipmitool drivers and through the server.
//!
//! - `driver`: every `Bmc` method of the `plain` driver, wrong passwords, dead BMCs, deadlines.
//! - `password`: the password is in no process's command line while a call runs.
//! - `moonshot`: what ipmi_sim can and cannot show of Moonshot bridging.
//! - `api`: power, provision and BMC errors through the REST API, on both backends.
//! - `hang`: a hung BMC call does not hold up other requests.
//!
//! Without ipmi_sim and ipmitool these tests skip (they fail under `MRP_TEST_REQUIRE_ALL`).

mod api;
mod driver;
mod hang;
mod moonshot;
mod password;

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use mr_provisioner_ipmi::{BmcKind, BmcSettings, Tools};
use mr_provisioner_tests::ipmi_sim::{SimulatedBmc, USERNAME};

/// One process: its id and its command line, argument by argument.
#[derive(Debug, Clone)]
pub(crate) struct Process {
    pub(crate) pid: u32,
    pub(crate) argv: Vec<String>,
}

impl Process {
    /// Whether it is an `ipmitool` talking to the UDP port `port` (`-p PORT`).
    pub(crate) fn is_ipmitool_for(&self, port: u16) -> bool {
        let port = port.to_string();
        let program = self.argv.first().map(|a| Path::new(a).file_name());
        program == Some(Some("ipmitool".as_ref()))
            && self.argv.windows(2).any(|w| w[0] == "-p" && w[1] == port)
    }
}

/// Every process of the machine with its command line, as `/proc/*/cmdline` shows it
/// (processes that end while they are read are left out; zombies have an empty one).
pub(crate) fn processes() -> Vec<Process> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let argv = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        out.push(Process { pid, argv });
    }
    out
}

/// The ids of the `ipmitool` processes talking to `port`.
pub(crate) fn ipmitool_pids(port: u16) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|p| p.is_ipmitool_for(port))
        .map(|p| p.pid)
        .collect()
}

/// The settings of a `plain` BMC for the simulated `bmc`: its port, its user and password,
/// every other setting the driver's default (`-C 3`, `-R 1`, `-N 2`, a 30 s deadline).
pub(crate) fn plain(bmc: &SimulatedBmc) -> BmcSettings {
    BmcSettings {
        port: Some(bmc.port),
        username: USERNAME.into(),
        password: bmc.password.clone().into(),
        ..BmcSettings::new(BmcKind::Plain, "127.0.0.1")
    }
}

/// Whether ipmitool is installed; when it is not, says so (or fails under
/// `MRP_TEST_REQUIRE_ALL`).
pub(crate) fn have_ipmitool() -> bool {
    let have = mr_provisioner_tests::ipmi_sim::have("ipmitool");
    if !have {
        mr_provisioner_core::testing::skip("ipmitool is not installed");
    }
    have
}

/// The real ipmitool, found on the PATH.
pub(crate) fn tools() -> Tools {
    Tools::new("ipmitool")
}

/// Waits until `check` holds, polling every 20 ms; panics with `what` after `limit`.
pub(crate) async fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < until, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `call` on its own task and calls `watch` every few milliseconds while it runs (and
/// once more if it finished before the first look); returns what the call returned.
pub(crate) async fn while_running<T: Send + 'static>(
    call: impl Future<Output = T> + Send + 'static,
    mut watch: impl FnMut(),
) -> T {
    let task = tokio::spawn(call);
    loop {
        watch();
        if task.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task.await.expect("the call panicked")
}

/// The lines of a chassis log, without their trailing blanks.
pub(crate) fn lines(log: &str) -> Vec<String> {
    log.lines().map(|l| l.trim_end().to_string()).collect()
}

/// The median and the 99th percentile of `samples` (sorted in place).
pub(crate) fn p50_p99(samples: &mut [Duration]) -> (Duration, Duration) {
    assert!(!samples.is_empty());
    samples.sort();
    let n = samples.len();
    let at = |q: usize| samples[((n * q).div_ceil(100)).clamp(1, n) - 1];
    (at(50), at(99))
}

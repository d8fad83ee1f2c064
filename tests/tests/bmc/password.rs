//! The BMC password is in no process's command line, ever: the process table is read over and
//! over *while* a call runs (the simulated chassis is made slow so the call lasts a second),
//! every process's `/proc/<pid>/cmdline` is searched for the password, and ipmitool's own
//! environment shows how it got it instead (`IPMI_PASSWORD`, read by `-E`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mr_provisioner_core::testing::TestBackend;
use mr_provisioner_ipmi::{PowerAction, driver};
use mr_provisioner_tests::TestServer;
use mr_provisioner_tests::ipmi_sim::{IpmiFleet, SimulatedBmc};
use serde_json::json;

use crate::{Process, plain, processes, tools, while_running};

/// A password no other test (or process) on this machine uses, so finding it anywhere means
/// this test's call put it there.
fn unique_password() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut pw = format!("pw{:x}q{nanos:x}", std::process::id());
    pw.truncate(20);
    pw
}

/// What the process table showed during one call.
#[derive(Debug, Default)]
struct Observed {
    /// How many times every process was looked at.
    scans: usize,
    /// The ipmitool processes for the BMC's port.
    ipmitool: Vec<Process>,
    /// Their environments (`NAME=value`), read while they ran.
    environ: Vec<Vec<String>>,
    /// Whether the chassis program was seen running `set power 1` (the call's slow part).
    chassis_seen: bool,
    /// Processes whose command line held the password.
    leaks: Vec<Process>,
}

impl Observed {
    fn scan(&mut self, bmc: &SimulatedBmc, password: &str) {
        self.scans += 1;
        for p in processes() {
            if p.argv.iter().any(|a| a.contains(password)) {
                self.leaks.push(p.clone());
            }
            if p.argv.iter().any(|a| a.ends_with("chassis.sh"))
                && p.argv.iter().any(|a| a == &bmc.dir.display().to_string())
                && p.argv
                    .ends_with(&["set".into(), "power".into(), "1".into()])
            {
                self.chassis_seen = true;
            }
            if p.is_ipmitool_for(bmc.port) && !self.ipmitool.iter().any(|q| q.pid == p.pid) {
                // Read at once, while it runs (the test runs as the same user as ipmitool).
                if let Ok(raw) = std::fs::read(format!("/proc/{}/environ", p.pid)) {
                    self.environ.push(
                        raw.split(|b| *b == 0)
                            .filter(|v| !v.is_empty())
                            .map(|v| String::from_utf8_lossy(v).into_owned())
                            .collect(),
                    );
                    self.ipmitool.push(p);
                }
            }
        }
    }

    /// The password was in no command line, and the scans really saw the call: its ipmitool
    /// (with the password in its environment, nowhere else) and its slow chassis program.
    fn assert_clean(&self, password: &str) {
        assert!(
            self.leaks.is_empty(),
            "the password is on a command line: {:?}",
            self.leaks
        );
        assert!(
            !self.ipmitool.is_empty(),
            "no ipmitool seen in {} scans",
            self.scans
        );
        assert!(
            self.chassis_seen,
            "the chassis program was not seen in {} scans",
            self.scans
        );
        assert!(self.scans >= 10, "only {} scans", self.scans);
        for (p, env) in self.ipmitool.iter().zip(&self.environ) {
            assert!(p.argv.contains(&"-E".to_string()), "{:?}", p.argv);
            assert!(
                !p.argv.iter().any(|a| a == "-P" || a == "-f"),
                "{:?}",
                p.argv
            );
            assert!(
                env.contains(&format!("IPMI_PASSWORD={password}")),
                "{env:?}"
            );
            // Nothing else: the runner clears the server's environment.
            let mut names: Vec<&str> = env
                .iter()
                .filter_map(|v| v.split_once('=').map(|(n, _)| n))
                .collect();
            names.sort();
            assert_eq!(names, ["IPMI_PASSWORD", "LC_ALL", "PATH"], "{env:?}");
        }
    }
}

/// Through the driver: one `power on`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_is_in_no_command_line_during_a_driver_call() {
    let password = unique_password();
    let Some(fleet) = IpmiFleet::start_with_password(1, false, &password).await else {
        return;
    };
    let sim = &fleet.bmcs[0];
    sim.set_delay(Duration::from_secs(1));
    let bmc = driver(&plain(sim), &tools()).unwrap();
    let mut seen = Observed::default();
    let result = while_running(async move { bmc.power(PowerAction::On).await }, || {
        seen.scan(sim, &password)
    })
    .await;
    result.unwrap();
    assert_eq!(sim.power(), "1");
    seen.assert_clean(&password);
    assert_eq!(seen.ipmitool.len(), 1, "{:?}", seen.ipmitool);
    eprintln!(
        "driver call: {} scans of the process table during the call",
        seen.scans
    );
}

/// Through the server: the password is stored by `POST /api/v1/bmc` and handed to ipmitool
/// by the connector for `POST .../power` (a power-on, then a status read: two ipmitools).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_is_in_no_command_line_during_an_api_call() {
    let password = unique_password();
    let Some(fleet) = IpmiFleet::start_with_password(1, false, &password).await else {
        return;
    };
    let sim = &fleet.bmcs[0];
    let Some(s) = TestServer::start(TestBackend::Sqlite).await else {
        return;
    };
    let (_, admin) = s.user_with_token("admin", true).await;
    let r = s.post("/api/v1/bmc", &admin, &sim.api_json("bmc0")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let arch = s
        .store
        .arch_create(&mr_provisioner_core::model::arch::NewArch {
            name: "arm64".into(),
            description: None,
        })
        .await
        .unwrap();
    let r = s
        .post(
            "/api/v1/machine",
            &admin,
            &json!({"name": "m1", "arch": arch.name, "bmc": "bmc0"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let url = s.url(&format!("/api/v1/machine/{}/power", r.json["id"]));

    sim.set_delay(Duration::from_secs(1));
    let client = s.client.clone();
    let call = async move {
        let resp = client
            .post(url)
            .header("Authorization", admin)
            .body(json!({"state": "on"}).to_string())
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    };
    let mut seen = Observed::default();
    let (status, text) = while_running(call, || seen.scan(sim, &password)).await;
    assert_eq!((status, text.as_str()), (202, r#"{"state":"on"}"#));
    seen.assert_clean(&password);
    assert_eq!(
        seen.ipmitool.len(),
        2,
        "power on, then status: {:?}",
        seen.ipmitool
    );
    eprintln!(
        "API call: {} scans of the process table during the call",
        seen.scans
    );
    s.finish().await;
}

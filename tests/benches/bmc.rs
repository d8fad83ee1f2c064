//! BMC power reads through the API against 50 ipmi_sim BMCs.
//!
//! 50 simulated BMCs (ipmi_sim on loopback), 50 machines each with its own `plain` BMC, in a
//! server on SQLite whose power-state cache is off, so every `GET
//! /api/v1/machine/{id}/power` runs ipmitool. Measured, 5 rounds each: the 50 reads one after
//! the other, and all 50 at once; for reference, the same `ipmitool chassis power status`
//! run directly, one after the other and all at once. Prints a Markdown table.
//!
//! `CARGO_TARGET_DIR=... cargo bench -p mr-provisioner-tests --bench bmc`

use std::process::Stdio;
use std::time::{Duration, Instant};

use mr_provisioner_core::model::arch::NewArch;
use mr_provisioner_core::testing::TestBackend;
use mr_provisioner_ipmi::{BmcKind, BmcSettings, IpmiCommand, ipmitool_argv};
use mr_provisioner_tests::TestServer;
use mr_provisioner_tests::ipmi_sim::{IpmiFleet, USERNAME};
use serde_json::{Value, json};
use tokio::task::JoinSet;

const BMCS: usize = 50;
const ROUNDS: usize = 5;

/// Per round, the total time; over all rounds, every call's time.
#[derive(Default)]
struct Figures {
    rounds: Vec<Duration>,
    calls: Vec<Duration>,
}

impl Figures {
    fn median_round(&self) -> Duration {
        median(&self.rounds)
    }
    fn call_p50(&self) -> Duration {
        median(&self.calls)
    }
    fn call_max(&self) -> Duration {
        self.calls.iter().copied().max().unwrap_or_default()
    }
}

fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    s[s.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// One read through the API; panics unless the BMC answered.
async fn read_power(client: reqwest::Client, url: String, token: String) -> Duration {
    let started = Instant::now();
    let resp = client
        .get(&url)
        .header("Authorization", &token)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("JSON");
    let took = started.elapsed();
    assert_eq!(status, 200, "{url}: {body}");
    assert!(
        body["state"] == "off" || body["state"] == "on",
        "{url}: {body}"
    );
    took
}

/// One `ipmitool chassis power status`, with the argv the driver builds; panics unless it
/// succeeded.
async fn ipmitool(argv: Vec<String>, password: String) -> Duration {
    let started = Instant::now();
    let out = tokio::process::Command::new("ipmitool")
        .args(&argv)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LC_ALL", "C")
        .env("IPMI_PASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run ipmitool");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Chassis Power is"));
    took
}

/// `ROUNDS` rounds of `jobs`, sequentially or all at once.
async fn measure<F, Fut>(concurrent: bool, jobs: usize, job: F) -> Figures
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Duration> + Send + 'static,
{
    let mut figures = Figures::default();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        if concurrent {
            let mut set = JoinSet::new();
            for i in 0..jobs {
                set.spawn(job(i));
            }
            while let Some(took) = set.join_next().await {
                figures.calls.push(took.expect("a call failed"));
            }
        } else {
            for i in 0..jobs {
                figures.calls.push(job(i).await);
            }
        }
        figures.rounds.push(started.elapsed());
    }
    figures
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let Some(fleet) = IpmiFleet::start(BMCS, false).await else {
        println!("skipped: ipmi_sim or ipmitool is missing");
        return;
    };
    let Some(s) = TestServer::start(TestBackend::Sqlite).await else {
        return;
    };
    // The test server's BMC connector: no power-state cache, the default bound.
    let max_in_flight = s.config.bmc.max_in_flight as usize;
    let (_, token) = s.user_with_token("admin", true).await;
    s.store
        .arch_create(&NewArch {
            name: "arm64".into(),
            description: None,
        })
        .await
        .expect("arch");
    let mut urls = Vec::new();
    let mut argvs = Vec::new();
    for (i, bmc) in fleet.bmcs.iter().enumerate() {
        let r = s
            .post("/api/v1/bmc", &token, &bmc.api_json(&format!("bmc{i}")))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let r = s
            .post(
                "/api/v1/machine",
                &token,
                &json!({"name": format!("m{i}"), "arch": "arm64", "bmc": format!("bmc{i}")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        urls.push(s.url(&format!("/api/v1/machine/{}/power", r.json["id"])));
        let settings = BmcSettings {
            port: Some(bmc.port),
            username: USERNAME.into(),
            password: bmc.password.clone().into(),
            ..BmcSettings::new(BmcKind::Plain, "127.0.0.1")
        };
        argvs.push(ipmitool_argv(&settings, &IpmiCommand::PowerStatus).expect("argv"));
    }
    let password = fleet.bmcs[0].password.clone();

    let api = |i: usize| read_power(s.client.clone(), urls[i].clone(), token.clone());
    let direct = |i: usize| ipmitool(argvs[i].clone(), password.clone());

    // Warm up (connections, the first spawn of each BMC's session).
    measure(true, BMCS, api).await;
    let calls_before = s.bmcs.pool().stats().calls;
    let api_seq = measure(false, BMCS, api).await;
    let api_par = measure(true, BMCS, api).await;
    let calls = s.bmcs.pool().stats().calls - calls_before;
    assert_eq!(
        calls,
        (2 * ROUNDS * BMCS) as u64,
        "every read reached a BMC (no cache)"
    );
    let direct_seq = measure(false, BMCS, direct).await;
    let direct_par = measure(true, BMCS, direct).await;

    println!(
        "\n### `GET /api/v1/machine/{{id}}/power`, {BMCS} ipmi_sim BMCs, SQLite, no status cache\n"
    );
    println!(
        "{ROUNDS} rounds of {BMCS} reads each; every read runs `ipmitool -C 3 chassis power status`."
    );
    println!("The server allows {max_in_flight} BMC calls in flight at once.\n");
    println!("| what | round total (median) | per call p50 | per call max | reads/s |");
    println!("|---|---:|---:|---:|---:|");
    for (what, f) in [
        ("API, one after the other", &api_seq),
        ("API, all 50 at once", &api_par),
        ("ipmitool directly, one after the other", &direct_seq),
        ("ipmitool directly, all 50 at once", &direct_par),
    ] {
        let round = f.median_round();
        println!(
            "| {what} | {} ms | {} ms | {} ms | {:.0} |",
            ms(round),
            ms(f.call_p50()),
            ms(f.call_max()),
            BMCS as f64 / round.as_secs_f64()
        );
    }
    println!();
    s.finish().await;
}

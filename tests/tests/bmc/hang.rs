//! The requirement: while one BMC call hangs, concurrent `GET /api/v1/machine`
//! requests keep their latency, and other BMCs keep answering.
//!
//! The proof is logical, not a measurement: a power request is started on a BMC that never
//! answers and is seen to be inside the BMC call; then 100 machine listings from 8 concurrent
//! clients all complete with 200, and a request to another machine's BMC completes, while the
//! hung request is still pending (its task has not finished). The listing latencies with and
//! without the hang are printed for the documentation, not asserted.
//!
//! Two BMCs that never answer: the in-process simulator made unresponsive (it hangs until
//! the test releases it), and a `plain` BMC whose UDP port has nothing behind it, so the real
//! ipmitool waits (with `-R 3 -N 2` it would give up only after about 18 s) until the BMC's
//! 10 s deadline kills it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mr_provisioner_core::model::arch::NewArch;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_ipmi::PowerAction;
use mr_provisioner_ipmi::sim::SimCall;
use mr_provisioner_tests::ipmi_sim::free_udp_port;
use mr_provisioner_tests::{TestServer, server_test};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::{eventually, ipmitool_pids, p50_p99};

const GETS: usize = 100;
const CLIENTS: usize = 8;
/// Machines besides the two with BMCs, so the listing has some work to do.
const OTHERS: usize = 30;

struct Fixture {
    token: String,
    /// The machine whose BMC hangs.
    hung: i64,
    /// The id of that BMC.
    hung_bmc: i64,
    /// A machine with a simulated BMC that answers.
    other: i64,
    /// The id of that BMC.
    other_bmc: i64,
}

async fn fixture(s: &TestServer, hung_bmc: Value) -> Fixture {
    let (_, token) = s.user_with_token("admin", true).await;
    let arch = s
        .store
        .arch_create(&NewArch {
            name: "arm64".into(),
            description: None,
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for body in [
        hung_bmc,
        json!({"name": "answering", "address": "answering.bmc.lab", "type": "sim"}),
    ] {
        let r = s.post("/api/v1/bmc", &token, &body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let name = r.json["name"].as_str().unwrap().to_string();
        let bmc = r.json["id"].as_i64().unwrap();
        let r = s
            .post(
                "/api/v1/machine",
                &token,
                &json!({"name": format!("m-{name}"), "arch": "arm64", "bmc": name}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push((r.json["id"].as_i64().unwrap(), bmc));
    }
    for i in 0..OTHERS {
        s.store
            .machine_create(&NewMachine::named(format!("spare{i}"), arch.id))
            .await
            .unwrap();
    }
    Fixture {
        token,
        hung: ids[0].0,
        hung_bmc: ids[0].1,
        other: ids[1].0,
        other_bmc: ids[1].1,
    }
}

/// `GETS` listings of every machine from `CLIENTS` concurrent clients; each must be 200 with
/// every machine. Returns their latencies.
async fn listings(s: &TestServer, token: &str) -> Vec<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let url = s.url("/api/v1/machine?show_all=true");
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (next, url, token, client) = (
            next.clone(),
            url.clone(),
            token.to_string(),
            s.client.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while next.fetch_add(1, Ordering::SeqCst) < GETS {
                let started = Instant::now();
                let resp = client
                    .get(&url)
                    .header("Authorization", &token)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap();
                took.push(started.elapsed());
                assert_eq!(status, 200, "{body}");
                assert_eq!(body.as_array().map(Vec::len), Some(OTHERS + 2), "{body}");
            }
            took
        }));
    }
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.await.expect("a listing client failed"));
    }
    assert_eq!(all.len(), GETS);
    all
}

/// Starts `POST .../power {"state": "on"}` on `machine` on its own task.
fn power_on(s: &TestServer, token: &str, machine: i64) -> JoinHandle<(u16, Value)> {
    let url = s.url(&format!("/api/v1/machine/{machine}/power"));
    let (client, token) = (s.client.clone(), token.to_string());
    tokio::spawn(async move {
        let resp = client
            .post(url)
            .header("Authorization", token)
            .body(json!({"state": "on"}).to_string())
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    })
}

/// With the hung request pending: the listings, and the other BMC, all answer before it.
async fn others_keep_going(
    s: &TestServer,
    f: &Fixture,
    hung: &JoinHandle<(u16, Value)>,
    what: &str,
) {
    let started = Instant::now();
    let mut during = listings(s, &f.token).await;
    assert!(
        !hung.is_finished(),
        "{what}: the hung request finished before the {GETS} listings"
    );
    let took = started.elapsed();

    // Another machine's BMC answers, to a read and to an action.
    let power = format!("/api/v1/machine/{}/power", f.other);
    let r = s.get_as(&power, &f.token).await;
    assert_eq!(
        (r.status, &r.json),
        (200, &json!({"state": "off"})),
        "{}",
        r.text
    );
    let r = s.post(&power, &f.token, &json!({"state": "on"})).await;
    assert_eq!(
        (r.status, &r.json),
        (202, &json!({"state": "on"})),
        "{}",
        r.text
    );
    assert!(
        !hung.is_finished(),
        "{what}: the hung request finished before the other BMC answered"
    );
    let answering = s.sim(f.other_bmc);
    assert_eq!(
        answering.calls(),
        [
            SimCall::PowerStatus,
            SimCall::Power(PowerAction::On),
            SimCall::PowerStatus
        ]
    );
    let (p50, p99) = p50_p99(&mut during);
    eprintln!(
        "{what} ({:?}): during the hang, {GETS} listings from {CLIENTS} clients took {took:?}: p50 {p50:?}, p99 {p99:?}",
        s.db.backend()
    );
}

/// The listing latencies without a hang (after a warm-up round: the first requests open
/// the database connections).
async fn baseline(s: &TestServer, token: &str, what: &str) {
    listings(s, token).await;
    let mut samples = listings(s, token).await;
    let (p50, p99) = p50_p99(&mut samples);
    eprintln!(
        "{what} ({:?}): without a hang, {GETS} listings from {CLIENTS} clients: p50 {p50:?}, p99 {p99:?}",
        s.db.backend()
    );
}

server_test!(a_hung_simulated_bmc_blocks_nothing_else, |s| {
    let f = fixture(
        s,
        json!({"name": "hung", "address": "hung.bmc.lab", "type": "sim", "timeout_ms": 600000}),
    )
    .await;
    let what = "unresponsive sim BMC";
    baseline(s, &f.token, what).await;

    let sim = s.sim(f.hung_bmc);
    sim.set_unresponsive(true);
    let hung = power_on(s, &f.token, f.hung);
    // The request is inside the BMC call (the simulator logs a call before it hangs).
    eventually("the hung BMC was called", Duration::from_secs(10), || {
        sim.calls() == [SimCall::Power(PowerAction::On)]
    })
    .await;
    others_keep_going(s, &f, &hung, what).await;

    // Released, the hung request carries on and succeeds.
    sim.set_unresponsive(false);
    let (status, body) = hung.await.unwrap();
    assert_eq!((status, body), (202, json!({"state": "on"})));
});

server_test!(a_dead_plain_bmc_blocks_nothing_else, |s| {
    if !crate::have_ipmitool() {
        return;
    }
    let port = free_udp_port();
    let f = fixture(
        s,
        json!({"name": "dead", "address": "127.0.0.1", "port": port, "type": "plain",
               "username": "admin", "password": "never-checked", "cipher_suite": 3,
               "retries": 3, "timeout_ms": 10000}),
    )
    .await;
    let what = "dead plain BMC (ipmitool)";
    baseline(s, &f.token, what).await;

    let started = Instant::now();
    let hung = power_on(s, &f.token, f.hung);
    // The request is inside the BMC call: its ipmitool is running.
    eventually(
        "ipmitool runs for the dead BMC",
        Duration::from_secs(10),
        || !ipmitool_pids(port).is_empty(),
    )
    .await;
    others_keep_going(s, &f, &hung, what).await;

    // The deadline ends it: 500 BMCError (a timeout), and ipmitool is gone.
    let (status, body) = hung.await.unwrap();
    let took = started.elapsed();
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        body,
        json!({"error_type": "BMCError", "errors": ["BMC error: BMC did not answer within 10000 ms"]})
    );
    assert_eq!(ipmitool_pids(port), Vec::<u32>::new());
    eprintln!("{what}: the hung request failed after {took:?}");
});

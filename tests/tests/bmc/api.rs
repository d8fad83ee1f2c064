//! Power and provisioning through the REST API, with `plain` BMCs created by `POST
//! /api/v1/bmc` that point at ipmi_sim: the server runs the real ipmitool, and the simulated
//! chassis shows what it was told. The server's power-state cache is off, so every read
//! reaches the BMC. Both backends.

use mr_provisioner_core::model::image::ImageKind;
use mr_provisioner_core::testing::TestBackend;
use mr_provisioner_tests::ipmi_sim::{IpmiFleet, SimulatedBmc};
use mr_provisioner_tests::{Reply, TestServer, fixtures};
use serde_json::json;

use crate::lines;

const WRONG_PASSWORD: &str = "wrong-ipmi-pass";

/// Asserts that the chassis log holds `expected` as a subsequence (in this order), and
/// returns it.
fn saw_in_order(bmc: &SimulatedBmc, expected: &[&str]) -> Vec<String> {
    let log = lines(&bmc.log());
    let mut rest = log.iter();
    for want in expected {
        assert!(
            rest.any(|l| l == want),
            "the chassis did not see {want:?} (in order {expected:?}): {log:?}"
        );
    }
    log
}

async fn power_and_provision(backend: TestBackend) {
    let Some(fleet) = IpmiFleet::start(2, false).await else {
        return;
    };
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (_, token) = s.user_with_token("admin", true).await;
    let t = token.as_str();
    // Every answer is kept, to look for the passwords in all of them at the end.
    let mut answers: Vec<Reply> = Vec::new();

    // Inventory: an EFI subarch with a bootloader, a kernel (what provisioning needs).
    let st = s.store.as_ref();
    let arch = fixtures::arch(st, "arm64").await;
    let bootloader = fixtures::image(st, arch.id, "grubaa64.efi", ImageKind::Bootloader).await;
    let kernel = fixtures::image(st, arch.id, "vmlinuz", ImageKind::Kernel).await;
    fixtures::efi_subarch(st, arch.id, "efi", Some(bootloader.id)).await;

    // Two BMCs through the admin API: a good one, and one with a wrong password (on the
    // second simulated BMC, which therefore refuses every login).
    let good = &fleet.bmcs[0];
    let refusing = &fleet.bmcs[1];
    let r = s.post("/api/v1/bmc", t, &good.api_json("good")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (&r.json["type"], &r.json["port"], &r.json["cipher_suite"]),
        (&json!("plain"), &json!(good.port), &json!(3))
    );
    let good_id = r.json["id"].as_i64().unwrap();
    answers.push(r);
    let mut body = refusing.api_json("refusing");
    body["password"] = json!(WRONG_PASSWORD);
    let r = s.post("/api/v1/bmc", t, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let refusing_id = r.json["id"].as_i64().unwrap();
    answers.push(r);

    let machine = |name: &str, bmc: &str| json!({"name": name, "arch": "arm64", "subarch": "efi", "bmc": bmc});
    let r = s.post("/api/v1/machine", t, &machine("m1", "good")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let m1 = r.json["id"].as_i64().unwrap();
    answers.push(r);
    let r = s
        .put(
            &format!("/api/v1/machine/{m1}"),
            t,
            &json!({"kernel_id": kernel.id.0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s
        .post("/api/v1/machine", t, &machine("m2", "refusing"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let m2 = r.json["id"].as_i64().unwrap();
    answers.push(r);
    let power = |m: i64| format!("/api/v1/machine/{m}/power");

    // pxe_reboot of a machine that is off: boot device PXE (EFI, dropped by ipmi_sim), a
    // status read, power on; the answer is a last status read.
    good.clear_log();
    let r = s.post(&power(m1), t, &json!({"state": "pxe_reboot"})).await;
    assert_eq!(
        (r.status, &r.json),
        (202, &json!({"state": "on"})),
        "{}",
        r.text
    );
    answers.push(r);
    let log = saw_in_order(
        good,
        &["set boot pxe", "get power", "set power 1", "get power"],
    );
    assert!(!log.iter().any(|l| l.starts_with("set reset")), "{log:?}");
    assert_eq!((good.boot().as_str(), good.power().as_str()), ("pxe", "1"));

    // The same on a running machine: a reset, not a power-on.
    good.clear_log();
    let r = s.post(&power(m1), t, &json!({"state": "pxe_reboot"})).await;
    assert_eq!(
        (r.status, &r.json),
        (202, &json!({"state": "on"})),
        "{}",
        r.text
    );
    answers.push(r);
    let log = saw_in_order(good, &["set boot pxe", "get power", "set reset 1"]);
    assert!(!log.iter().any(|l| l.starts_with("set power")), "{log:?}");

    // GET power asks the BMC every time (no cache): a change behind the server's back shows.
    good.clear_log();
    let r = s.get_as(&power(m1), t).await;
    assert_eq!((r.status, &r.json), (200, &json!({"state": "on"})));
    assert_eq!(lines(&good.log()), ["get power"]);
    good.set_power(false);
    let r = s.get_as(&power(m1), t).await;
    assert_eq!(r.json, json!({"state": "off"}));
    answers.push(r);

    // Disk and BIOS reboots: ipmi_sim stores `disk` as `default`.
    for (state, chassis) in [("disk_reboot", "default"), ("bios_reboot", "bios")] {
        good.clear_log();
        let r = s.post(&power(m1), t, &json!({"state": state})).await;
        assert_eq!(r.status, 202, "{state}: {}", r.text);
        saw_in_order(good, &[&format!("set boot {chassis}"), "get power"]);
        assert_eq!(good.boot(), chassis);
    }
    let r = s.post(&power(m1), t, &json!({"state": "off"})).await;
    assert_eq!((r.status, &r.json), (202, &json!({"state": "off"})));
    assert_eq!(good.power(), "0");

    // The provision flow: netboot on, state provisioning, PXE, then power on (it was off).
    good.clear_log();
    let r = s
        .post(
            &format!("/api/v1/machine/{m1}/state"),
            t,
            &json!({"state": "provision"}),
        )
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (202, r#"{"state":"provisioning"}"#)
    );
    saw_in_order(good, &["set boot pxe", "get power", "set power 1"]);
    assert_eq!((good.boot().as_str(), good.power().as_str()), ("pxe", "1"));
    let r = s.get_as(&format!("/api/v1/machine/{m1}"), t).await;
    assert_eq!(r.json["netboot_enabled"], true, "{}", r.text);
    answers.push(r);

    // The BMC that refuses the login: 500 BMCError with the BMC's words, a BMC_ERROR event,
    // and "Unknown (BMC error)" for the power state.
    let r = s.post(&power(m2), t, &json!({"state": "on"})).await;
    r.assert_error(500, "BMCError", None);
    let message = &r.errors()[0];
    assert!(message.contains("BMC refused the login"), "{message}");
    assert!(
        message.contains("Unable to establish IPMI v2 / RMCP+ session"),
        "{message}"
    );
    answers.push(r);
    assert_eq!(refusing.log(), "", "nothing reached the chassis");
    assert_eq!(refusing.power(), "0");
    let r = s.get_as(&format!("/api/v1/machine/{m2}/event"), t).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let last = &r.json[0];
    assert_eq!(
        (&last["type"], &last["info"]["action"]),
        (&json!("BMC_ERROR"), &json!("on")),
        "{}",
        r.text
    );
    assert!(
        last["info"]["message"]
            .as_str()
            .unwrap()
            .contains("refused the login"),
        "{}",
        r.text
    );
    answers.push(r);
    let r = s.get_as(&power(m2), t).await;
    assert_eq!(r.json, json!({"state": "Unknown (BMC error)"}));
    answers.push(r);

    // The passwords are in no answer: not the BMC list, not a BMC, not the events.
    let r = s.get_as("/api/v1/bmc", t).await;
    let list = r.json.as_array().unwrap();
    assert_eq!(list.len(), 2, "{}", r.text);
    assert!(
        list.iter()
            .all(|b| b["password_set"] == json!(true) && b.get("password").is_none()),
        "{}",
        r.text
    );
    answers.push(r);
    for id in [good_id, refusing_id] {
        answers.push(s.get_as(&format!("/api/v1/bmc/{id}"), t).await);
    }
    let r = s.get_as(&format!("/api/v1/machine/{m1}/event"), t).await;
    let kinds: Vec<&str> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(
        kinds.contains(&"POWER_CHANGE") && kinds.contains(&"STATE_CHANGE"),
        "{kinds:?}"
    );
    answers.push(r);
    answers.push(s.get_as("/api/v1/machine?show_all=true", t).await);
    for r in &answers {
        assert!(matches!(r.status, 200..=202 | 500), "{}", r.text);
        for secret in [good.password.as_str(), WRONG_PASSWORD] {
            assert!(
                !r.text.contains(secret),
                "a password in an answer: {}",
                r.text
            );
        }
    }
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_and_provision_sqlite() {
    power_and_provision(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_and_provision_postgres() {
    power_and_provision(TestBackend::Postgres).await;
}

//! Power, state (the provision flow), console and events of a machine, against the
//! in-process BMC simulator (BMC type `sim`).

use mr_provisioner_core::model::event::EventKind;
use mr_provisioner_core::model::machine::{MachineState, NewMachine};
use mr_provisioner_core::store::Page;
use mr_provisioner_ipmi::sim::{BootSetting, SimBoot, SimCall};
use mr_provisioner_ipmi::{BmcError, BootDevice, PowerAction, PowerState};
use mr_provisioner_tests::{Method as M, TestServer, server_test};
use serde_json::{Value, json};

use crate::world::{BMC_PASSWORD, Body as B, World, refuses_malformed, rejects, v1};

async fn last_event(s: &TestServer, w: &World) -> (EventKind, Value, Option<String>) {
    let e = s
        .store
        .event_list(
            w.m1.id,
            Page {
                before: None,
                limit: 1,
            },
        )
        .await
        .unwrap()
        .remove(0);
    (e.kind, e.info, e.username)
}

const PXE_EFI: SimCall = SimCall::SetBootDevice {
    device: BootDevice::Pxe,
    efi: true,
};

server_test!(power_status, |s| {
    let w = World::build(s).await;
    // No BMC: "unknown", without asking anything.
    let r = s
        .get_as(&v1(format!("/machine/{}/power", w.m2.id)), &w.bob_t)
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, r#"{"state":"unknown"}"#));
    // The simulator starts off; anyone may read.
    let sim = s.sim(w.sim_bmc.id);
    let r = s
        .get_as(&v1(format!("/machine/{}/power", w.m1.id)), &w.bob_t)
        .await;
    assert_eq!(r.json, json!({"state": "off"}));
    sim.set_power_state(PowerState::On);
    let r = s
        .get_as(&v1(format!("/machine/{}/power", w.m1.id)), &w.bob_t)
        .await;
    assert_eq!(r.json, json!({"state": "on"}));
    assert_eq!(sim.calls(), [SimCall::PowerStatus, SimCall::PowerStatus]);
    // A BMC that fails answers the original's "Unknown (BMC error)".
    sim.fail_next(
        1,
        BmcError::Unreachable {
            message: "no route".into(),
        },
    );
    let r = s
        .get_as(&v1(format!("/machine/{}/power", w.m1.id)), &w.bob_t)
        .await;
    assert_eq!(
        (r.status, &r.json),
        (200, &json!({"state": "Unknown (BMC error)"}))
    );
    s.get_as(&v1("/machine/999999/power"), &w.bob_t)
        .await
        .assert_error(404, "InvalidUsage", Some("machine not found"));
});

server_test!(power_status_cache, |s| {
    // With the production default (a 5 s power-state cache), page views reuse one BMC read,
    // and a power action forgets it so the next read asks the BMC again.
    let Some(s) = mr_provisioner_tests::TestServer::start_with(s.db.backend(), |c| {
        c.bmc.status_cache_secs = 5
    })
    .await
    else {
        return;
    };
    let s = &s;
    let w = World::build(s).await;
    let sim = s.sim(w.sim_bmc.id);
    let url = v1(format!("/machine/{}/power", w.m1.id));
    for _ in 0..5 {
        let r = s.get_as(&url, &w.bob_t).await;
        assert_eq!(r.json, json!({"state": "off"}));
    }
    assert_eq!(sim.calls(), [SimCall::PowerStatus]);
    sim.clear_calls();
    let r = s.post(&url, &w.alice_t, &json!({"state": "on"})).await;
    assert_eq!((r.status, &r.json), (202, &json!({"state": "on"})));
    let r = s.get_as(&url, &w.bob_t).await;
    assert_eq!(r.json, json!({"state": "on"}));
    // The read after the action is fresh; the page view after it reuses it.
    assert_eq!(
        sim.calls(),
        [SimCall::Power(PowerAction::On), SimCall::PowerStatus]
    );
    assert_eq!(s.bmcs.pool().stats().cache_hits, 5);
});

server_test!(power_actions, |s| {
    let w = World::build(s).await;
    let url = v1(format!("/machine/{}/power", w.m1.id));
    let sim = s.sim(w.sim_bmc.id);
    let r = s.post(&url, &w.alice_t, &json!({"state": "on"})).await;
    assert_eq!(
        (r.status, &r.json),
        (202, &json!({"state": "on"})),
        "{}",
        r.text
    );
    assert_eq!(
        sim.calls(),
        [SimCall::Power(PowerAction::On), SimCall::PowerStatus]
    );
    assert_eq!(sim.power_state(), PowerState::On);
    let (kind, info, user) = last_event(s, &w).await;
    assert_eq!(
        (kind, info, user.as_deref()),
        (
            EventKind::PowerChange,
            json!({"power": "on"}),
            Some("alice")
        )
    );
    // reboot of a running machine is a reset.
    sim.clear_calls();
    let r = s.post(&url, &w.admin_t, &json!({"state": "reboot"})).await;
    assert_eq!((r.status, &r.json), (202, &json!({"state": "on"})));
    assert_eq!(
        sim.calls(),
        [
            SimCall::PowerStatus,
            SimCall::Power(PowerAction::Reset),
            SimCall::PowerStatus
        ]
    );
    sim.clear_calls();
    let r = s.post(&url, &w.alice_t, &json!({"state": "off"})).await;
    assert_eq!(r.json, json!({"state": "off"}));
    assert_eq!(
        sim.calls(),
        [SimCall::Power(PowerAction::Off), SimCall::PowerStatus]
    );
    // B18 fixed: reboot of a machine that is off powers it on (a reset would fail).
    sim.clear_calls();
    let r = s.post(&url, &w.alice_t, &json!({"state": "reboot"})).await;
    assert_eq!(r.json, json!({"state": "on"}));
    assert_eq!(
        sim.calls(),
        [
            SimCall::PowerStatus,
            SimCall::Power(PowerAction::On),
            SimCall::PowerStatus
        ]
    );
    // Boot-device reboots: the device (EFI: the subarch says so), then a restart.
    for (state, device) in [
        ("pxe_reboot", BootDevice::Pxe),
        ("disk_reboot", BootDevice::Disk),
        ("bios_reboot", BootDevice::Bios),
    ] {
        sim.clear_calls();
        let r = s.post(&url, &w.alice_t, &json!({"state": state})).await;
        assert_eq!(
            (r.status, &r.json),
            (202, &json!({"state": "on"})),
            "{state}"
        );
        assert_eq!(
            sim.calls(),
            [
                SimCall::SetBootDevice { device, efi: true },
                SimCall::PowerStatus,
                SimCall::Power(PowerAction::Reset),
                SimCall::PowerStatus
            ],
            "{state}"
        );
        let boot = *sim.boots().last().unwrap();
        assert_eq!(
            boot,
            SimBoot {
                cause: PowerAction::Reset,
                setting: Some(BootSetting { device, efi: true })
            }
        );
        assert_eq!(last_event(s, &w).await.1, json!({"power": state}));
    }
});

server_test!(power_errors, |s| {
    let w = World::build(s).await;
    let url = v1(format!("/machine/{}/power", w.m1.id));
    let sim = s.sim(w.sim_bmc.id);
    refuses_malformed(s, M::POST, &url, &w.alice_t).await;
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({}),
            "SchemaMissingKeyError",
            Some("Missing keys: 'state'"),
        ),
        // Strict schema.
        (
            json!({"state": "on", "x": 1}),
            "SchemaWrongKeyError",
            Some("Wrong keys 'x'"),
        ),
        (json!({"state": "bogus"}), "SchemaError", None),
        (json!({"state": "ON"}), "SchemaError", None),
        (json!({"state": 1}), "SchemaUnexpectedTypeError", None),
        (json!({"state": null}), "SchemaUnexpectedTypeError", None),
    ];
    for (body, error_type, message) in cases {
        rejects!(s, POST url, &w.alice_t, B::Json(body.clone()) => 400, error_type, message);
        rejects!(s, POST v1("/machine/999999/power"), &w.alice_t, B::Json(body) => 400, error_type, message);
    }
    let on = json!({"state": "on"});
    rejects!(s, POST v1("/machine/999999/power"), &w.admin_t, B::Json(on.clone()) => 404, "InvalidUsage", "machine not found");
    for t in [&w.bob_t, &w.carol_t] {
        rejects!(s, POST url, t, B::Json(on.clone()) => 403, "InvalidUsage", "Forbidden");
    }
    rejects!(s, POST v1(format!("/machine/{}/power", w.m2.id)), &w.admin_t, B::Json(on.clone()) => 400, "InvalidUsage", "power state changes require a BMC");
    let r = s.call(M::POST, &url, None, Some(&on.to_string())).await;
    r.assert_error(401, "Unauthenticated", None);
    assert!(sim.calls().is_empty(), "no refused request reached the BMC");
    // A failing BMC: 500 BMCError with the BMC's words (never its password), a BMC_ERROR
    // event, and no POWER_CHANGE.
    sim.fail_next(
        1,
        BmcError::Auth {
            message: "bad credentials".into(),
        },
    );
    let r = s.post(&url, &w.alice_t, &on).await;
    r.assert_error(500, "BMCError", None);
    assert!(r.errors()[0].contains("bad credentials"), "{}", r.text);
    assert!(!r.text.contains(BMC_PASSWORD));
    let (kind, info, _) = last_event(s, &w).await;
    assert_eq!(kind, EventKind::BmcError);
    assert_eq!(info["action"], "on");
    assert_eq!(sim.power_state(), PowerState::Off);
});

server_test!(provision_flow, |s| {
    let w = World::build(s).await;
    let sim = s.sim(w.sim_bmc.id);
    let state = v1(format!("/machine/{}/state", w.m1.id));
    let r = s.get_as(&state, &w.bob_t).await;
    assert_eq!(r.json, json!({"state": "unknown"}));
    let r = s
        .post(&state, &w.alice_t, &json!({"state": "provision"}))
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (202, r#"{"state":"provisioning"}"#)
    );
    let r = s.get_as(&state, &w.bob_t).await;
    assert_eq!(r.json, json!({"state": "provisioning"}));
    let m = s.store.machine_get(w.m1.id).await.unwrap();
    assert!(m.netboot_enabled);
    assert_eq!(m.state, MachineState::Provisioning);
    let got = s
        .get_as(&v1(format!("/machine/{}", w.m1.id)), &w.bob_t)
        .await;
    assert_eq!(got.json["netboot_enabled"], true);
    // bootdev pxe (EFI), then power on: the machine was off.
    assert_eq!(
        sim.calls(),
        [
            PXE_EFI,
            SimCall::PowerStatus,
            SimCall::Power(PowerAction::On)
        ]
    );
    assert_eq!(
        sim.boots(),
        [SimBoot {
            cause: PowerAction::On,
            setting: Some(BootSetting {
                device: BootDevice::Pxe,
                efi: true
            })
        }]
    );
    // The state change, then the power-on it caused (newest first).
    let events = s
        .store
        .event_list(
            w.m1.id,
            Page {
                before: None,
                limit: 2,
            },
        )
        .await
        .unwrap();
    let got: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.info.clone(), e.username.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (
                EventKind::PowerChange,
                json!({"power": "pxe_reboot", "reason": "provision"}),
                Some("alice")
            ),
            (
                EventKind::StateChange,
                json!({"state": "provisioning", "reason": "api"}),
                Some("alice")
            ),
        ]
    );
    // A running machine is reset instead; admins may too.
    sim.clear_calls();
    let r = s
        .post(&state, &w.admin_t, &json!({"state": "provision"}))
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(
        sim.calls(),
        [
            PXE_EFI,
            SimCall::PowerStatus,
            SimCall::Power(PowerAction::Reset)
        ]
    );
    // Setting the state has no side effect on the BMC.
    sim.clear_calls();
    let r = s.put(&state, &w.alice_t, &json!({"state": "ready"})).await;
    assert_eq!((r.status, &r.json), (200, &json!({"state": "ready"})));
    assert_eq!(
        s.store.machine_get(w.m1.id).await.unwrap().state,
        MachineState::Ready
    );
    assert!(sim.calls().is_empty());
    assert_eq!(
        last_event(s, &w).await.1,
        json!({"state": "ready", "reason": "api"})
    );
    for st in ["error", "unknown"] {
        let r = s.put(&state, &w.admin_t, &json!({"state": st})).await;
        assert_eq!(r.json, json!({"state": st}));
    }
});

server_test!(provision_errors, |s| {
    let w = World::build(s).await;
    let sim = s.sim(w.sim_bmc.id);
    let state = v1(format!("/machine/{}/state", w.m1.id));
    refuses_malformed(s, M::POST, &state, &w.alice_t).await;
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({}),
            "SchemaMissingKeyError",
            Some("Missing keys: 'state'"),
        ),
        (
            json!({"state": "provision", "x": 1}),
            "SchemaWrongKeyError",
            Some("Wrong keys 'x'"),
        ),
        // B8 fixed: only `provision` (the original took any substring of it).
        (json!({"state": "vision"}), "SchemaError", None),
        (json!({"state": ""}), "SchemaError", None),
        (json!({"state": "ready"}), "SchemaError", None),
        (json!({"state": true}), "SchemaUnexpectedTypeError", None),
    ];
    for (body, error_type, message) in cases {
        rejects!(s, POST state, &w.alice_t, B::Json(body) => 400, error_type, message);
    }
    let provision = json!({"state": "provision"});
    for t in [&w.bob_t, &w.carol_t] {
        rejects!(s, POST state, t, B::Json(provision.clone()) => 403, "InvalidUsage", "Forbidden");
    }
    rejects!(s, POST v1("/machine/999999/state"), &w.admin_t, B::Json(provision.clone()) => 404, "InvalidUsage", "machine not found");
    // Each missing piece, in the original's order.
    let mut bmc_only = NewMachine::named("bmc-only", w.arm.id);
    bmc_only.bmc_id = Some(w.sim_bmc.id);
    let mut no_subarch = bmc_only.clone();
    no_subarch.name = "no-subarch".into();
    no_subarch.kernel_id = Some(w.kernel.id);
    let mut no_bl = no_subarch.clone();
    no_bl.name = "no-bootloader".into();
    no_bl.subarch_id = Some(w.nobl.id);
    let cases = [
        (w.m2.id, "provisioning requires a BMC"),
        (
            s.store.machine_create(&bmc_only).await.unwrap().id,
            "provisioning requires a kernel",
        ),
        (
            s.store.machine_create(&no_subarch).await.unwrap().id,
            "provisioning requires a subarch",
        ),
        (
            s.store.machine_create(&no_bl).await.unwrap().id,
            "provisioning requires the subarch to have a bootloader",
        ),
    ];
    for (id, message) in cases {
        rejects!(s, POST v1(format!("/machine/{id}/state")), &w.admin_t, B::Json(provision.clone()) => 400, "InvalidUsage", message);
    }
    // PUT state.
    refuses_malformed(s, M::PUT, &state, &w.alice_t).await;
    for (body, error_type) in [
        (json!({"state": "provisioning"}), "SchemaError"),
        (json!({"state": "provision"}), "SchemaError"),
        (json!({"state": "ready", "x": 1}), "SchemaWrongKeyError"),
        (json!({}), "SchemaMissingKeyError"),
        (json!({"state": 3}), "SchemaUnexpectedTypeError"),
    ] {
        rejects!(s, PUT state, &w.alice_t, B::Json(body) => 400, error_type);
    }
    rejects!(s, PUT state, &w.bob_t, B::Json(json!({"state": "ready"})) => 403, "InvalidUsage", "Forbidden");
    rejects!(s, PUT v1("/machine/999999/state"), &w.admin_t, B::Json(json!({"state": "ready"})) => 404, "InvalidUsage", "machine not found");
    s.get_as(&v1("/machine/999999/state"), &w.bob_t)
        .await
        .assert_error(404, "InvalidUsage", Some("machine not found"));
    assert!(sim.calls().is_empty());
    // A BMC failure after the checks: 500, the machine in `error` (the state says the
    // provision did not start), and the failure is an event.
    sim.fail_next(
        1,
        BmcError::Failed {
            message: "bootdev refused".into(),
        },
    );
    let r = s.post(&state, &w.alice_t, &provision).await;
    r.assert_error(500, "BMCError", None);
    assert_eq!(
        s.store.machine_get(w.m1.id).await.unwrap().state,
        MachineState::Error
    );
    assert_eq!(last_event(s, &w).await.0, EventKind::BmcError);
    let r = s.get_as(&state, &w.alice_t).await;
    assert_eq!(r.json, json!({"state": "error"}));
});

server_test!(console, |s| {
    let w = World::build(s).await;
    let sim = s.sim(w.sim_bmc.id);
    let url = v1(format!("/machine/{}/console", w.m1.id));
    let r = s.call(M::POST, &url, Some(&w.alice_t), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: Vec<&String> = r.json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["host", "port", "token"]);
    assert_eq!(
        (&r.json["host"], &r.json["port"]),
        (&Value::Null, &json!(8866))
    );
    let token = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 48);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{token}"
    );
    assert!(!r.text.contains(BMC_PASSWORD));
    assert_eq!(sim.calls(), [SimCall::SolDeactivate]);
    // A body is ignored; every call gives a new token; admins may too.
    let r2 = s
        .call(M::POST, &url, Some(&w.admin_t), Some("{\"x\": 1}"))
        .await;
    assert_eq!(r2.status, 200);
    assert_ne!(r2.json["token"], r.json["token"]);
    // A failing SOL deactivate is not fatal (as the original).
    sim.fail_next(
        1,
        BmcError::Failed {
            message: "no session".into(),
        },
    );
    assert_eq!(
        s.call(M::POST, &url, Some(&w.alice_t), None).await.status,
        200
    );
    sim.clear_calls();
    for t in [&w.bob_t, &w.carol_t] {
        rejects!(s, POST url, t, B::None => 403, "InvalidUsage", "Forbidden");
    }
    rejects!(s, POST v1(format!("/machine/{}/console", w.m2.id)), &w.admin_t, B::None => 400, "InvalidUsage", "console requires a BMC");
    rejects!(s, POST v1("/machine/999999/console"), &w.admin_t, B::None => 404, "InvalidUsage", "machine not found");
    rejects!(s, POST v1("/machine/x/console"), &w.admin_t, B::None => 404, "NotFound", "404: Not Found");
    assert!(sim.calls().is_empty());
});

server_test!(event_log, |s| {
    let w = World::build(s).await;
    let power = v1(format!("/machine/{}/power", w.m1.id));
    for st in ["on", "off", "on", "off"] {
        assert_eq!(
            s.post(&power, &w.alice_t, &json!({"state": st}))
                .await
                .status,
            202
        );
    }
    let url = v1(format!("/machine/{}/event", w.m1.id));
    let r = s.get_as(&url, &w.alice_t).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all = r.json.as_array().unwrap().clone();
    assert_eq!(all.len(), 4);
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|p| p[0] > p[1]), "newest first: {ids:?}");
    assert_eq!(all[0]["type"], "POWER_CHANGE");
    assert_eq!(all[0]["code"], 2);
    assert_eq!(all[0]["user"], "alice");
    assert_eq!(all[0]["info"], json!({"power": "off"}));
    assert!(chrono::DateTime::parse_from_rfc3339(all[0]["date"].as_str().unwrap()).is_ok());
    let page = s.get_as(&format!("{url}?limit=2"), &w.admin_t).await;
    assert_eq!(page.json.as_array().unwrap(), &all[..2]);
    let next = s
        .get_as(&format!("{url}?limit=2&before={}", ids[1]), &w.admin_t)
        .await;
    assert_eq!(next.json.as_array().unwrap(), &all[2..]);
    let one = s.get_as(&format!("{url}?limit=0"), &w.admin_t).await;
    assert_eq!(one.json.as_array().unwrap().len(), 1, "limit is at least 1");
    for t in [&w.bob_t, &w.carol_t] {
        s.get_as(&url, t)
            .await
            .assert_error(403, "InvalidUsage", Some("Forbidden"));
    }
    s.get_as(&v1("/machine/999999/event"), &w.admin_t)
        .await
        .assert_error(404, "InvalidUsage", Some("machine not found"));
});

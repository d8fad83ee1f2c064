//! Administrative resources, part 2: archs and subarchs, networks, discovered MACs,
//! assignments and the audit log.

use mr_provisioner_core::model::discovered_mac::Sighting;
use mr_provisioner_core::store::Page;
use mr_provisioner_tests::{Method as M, server_test};
use serde_json::{Value, json};

use crate::world::{Body as B, World, mac, refuses_malformed, rejects, v1};

/// (method, path, body, status, error type, message).
type Case<'a> = (M, String, Value, u16, &'a str, Option<&'a str>);

fn field(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|i| i[key].as_str().unwrap().to_string())
        .collect()
}

server_test!(archs_and_subarchs, |s| {
    let w = World::build(s).await;
    let r = s
        .post(
            &v1("/arch"),
            &w.admin_t,
            &json!({"name": "riscv64", "description": "RISC-V"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let arch = r.json["id"].as_i64().unwrap();
    let got = s.get_as(&v1(format!("/arch/{arch}")), &w.bob_t).await;
    assert_eq!(
        got.json,
        json!({"id": arch, "name": "riscv64", "description": "RISC-V"})
    );
    assert_eq!(
        field(&s.get_as(&v1("/arch"), &w.bob_t).await.json, "name"),
        ["arm64", "spare", "riscv64"]
    );
    let r = s
        .put(
            &v1(format!("/arch/{arch}")),
            &w.admin_t,
            &json!({"description": null}),
        )
        .await;
    assert_eq!(
        (r.status, &r.json["description"], &r.json["name"]),
        (200, &Value::Null, &json!("riscv64"))
    );
    let r = s
        .post(
            &v1(format!("/arch/{arch}/subarch")),
            &w.admin_t,
            &json!({"name": "uefi", "efiboot": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["arch_id"], arch);
    let sub = r.json["id"].as_i64().unwrap();
    let list = s
        .get_as(&v1(format!("/arch/{arch}/subarch")), &w.bob_t)
        .await;
    assert_eq!(field(&list.json, "name"), ["uefi"]);
    assert_eq!(
        s.get_as(&v1(format!("/subarch/{sub}")), &w.bob_t)
            .await
            .json["efiboot"],
        true
    );
    // A bootloader must be a bootloader image of the subarch's arch.
    rejects!(s, PUT v1(format!("/subarch/{sub}")), &w.admin_t, B::Json(json!({"bootloader_id": w.bootloader.id.0})) => 400, "InvalidUsage", "bootloader image admin/grubaa64.efi is for another arch");
    rejects!(s, PUT v1(format!("/subarch/{}", w.nobl.id)), &w.admin_t, B::Json(json!({"bootloader_id": w.kernel.id.0})) => 400, "InvalidUsage");
    let r = s
        .put(
            &v1(format!("/subarch/{}", w.nobl.id)),
            &w.admin_t,
            &json!({"name": "nobl2", "bootloader_id": w.bootloader.id.0}),
        )
        .await;
    assert_eq!(
        (r.status, &r.json["bootloader_id"], &r.json["name"]),
        (200, &json!(w.bootloader.id.0), &json!("nobl2")),
        "{}",
        r.text
    );
    let r = s
        .put(
            &v1(format!("/subarch/{sub}")),
            &w.admin_t,
            &json!({"name": "uefi2", "efiboot": false}),
        )
        .await;
    assert_eq!(
        (r.status, &r.json["efiboot"]),
        (200, &json!(false)),
        "{}",
        r.text
    );

    refuses_malformed(s, M::POST, &v1("/arch"), &w.admin_t).await;
    refuses_malformed(s, M::PUT, &v1(format!("/subarch/{sub}")), &w.admin_t).await;
    let cases: Vec<Case<'_>> = vec![
        (
            M::POST,
            v1("/arch"),
            json!({}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'name'"),
        ),
        (
            M::POST,
            v1("/arch"),
            json!({"name": "x"}),
            400,
            "SchemaError",
            None,
        ),
        (
            M::POST,
            v1("/arch"),
            json!({"name": "arm64"}),
            409,
            "IntegrityError",
            Some("arch with this name already exists"),
        ),
        (
            M::POST,
            v1("/arch"),
            json!({"name": "ppc", "x": 1}),
            400,
            "SchemaWrongKeyError",
            None,
        ),
        (
            M::PUT,
            v1(format!("/arch/{arch}")),
            json!({"name": "arm64"}),
            409,
            "IntegrityError",
            None,
        ),
        (
            M::PUT,
            v1("/arch/999999"),
            json!({}),
            404,
            "InvalidUsage",
            Some("arch not found"),
        ),
        (
            M::POST,
            v1("/arch/999999/subarch"),
            json!({"name": "zz"}),
            404,
            "InvalidUsage",
            Some("arch not found"),
        ),
        (
            M::POST,
            v1(format!("/arch/{}/subarch", w.arm.id)),
            json!({"name": "efi"}),
            409,
            "IntegrityError",
            Some("subarch with this name in this arch already exists"),
        ),
        (
            M::POST,
            v1(format!("/arch/{}/subarch", w.arm.id)),
            json!({"name": "zz", "bootloader_id": "x"}),
            400,
            "SchemaError",
            None,
        ),
        (
            M::POST,
            v1(format!("/arch/{}/subarch", w.arm.id)),
            json!({"name": "zz", "efiboot": 1}),
            400,
            "SchemaUnexpectedTypeError",
            None,
        ),
        (
            M::POST,
            v1(format!("/arch/{}/subarch", w.arm.id)),
            json!({"name": "zz", "bootloader_id": 999999}),
            400,
            "InvalidUsage",
            None,
        ),
        (
            M::PUT,
            v1("/subarch/999999"),
            json!({}),
            404,
            "InvalidUsage",
            Some("subarch not found"),
        ),
        (
            M::PUT,
            v1(format!("/subarch/{}", w.spare_subarch.id)),
            json!({"name": "efi"}),
            409,
            "IntegrityError",
            None,
        ),
    ];
    for (m, path, body, status, error_type, message) in cases {
        rejects!(s, (m) path, &w.admin_t, B::Json(body) => status, error_type, message);
    }
    // A subarch may not lose the bootloader that netbooting machines use.
    let r = s
        .put(
            &v1(format!("/machine/{}", w.m1.id)),
            &w.alice_t,
            &json!({"netboot_enabled": true}),
        )
        .await;
    assert_eq!(r.status, 200);
    rejects!(s, PUT v1(format!("/subarch/{}", w.efi.id)), &w.admin_t, B::Json(json!({"bootloader_id": null})) => 409, "InvalidUsage", "1 machine(s) netboot with this subarch: turn their netboot off before removing its bootloader");
    // In use: refused.
    rejects!(s, DELETE v1(format!("/subarch/{}", w.efi.id)), &w.admin_t, B::None => 409, "InvalidUsage");
    rejects!(s, DELETE v1(format!("/arch/{}", w.arm.id)), &w.admin_t, B::None => 409, "InvalidUsage", "arch is still in use and cannot be deleted");
    for (m, path, body) in [
        (M::POST, v1("/arch"), B::Json(json!({"name": "ppc"}))),
        (
            M::PUT,
            v1(format!("/arch/{arch}")),
            B::Json(json!({"name": "ppc"})),
        ),
        (M::DELETE, v1(format!("/arch/{}", w.spare_arch.id)), B::None),
        (
            M::POST,
            v1(format!("/arch/{arch}/subarch")),
            B::Json(json!({"name": "zz"})),
        ),
        (
            M::PUT,
            v1(format!("/subarch/{sub}")),
            B::Json(json!({"name": "zz"})),
        ),
        (
            M::DELETE,
            v1(format!("/subarch/{}", w.spare_subarch.id)),
            B::None,
        ),
    ] {
        rejects!(s, (m) path, &w.bob_t, body => 403, "InvalidUsage", "Forbidden");
    }
    assert_eq!(
        s.delete(&v1(format!("/subarch/{}", w.spare_subarch.id)), &w.admin_t)
            .await
            .status,
        204
    );
    assert_eq!(
        s.delete(&v1(format!("/arch/{}", w.spare_arch.id)), &w.admin_t)
            .await
            .status,
        204
    );
    // Deleting an arch takes its subarchs.
    assert_eq!(
        s.delete(&v1(format!("/arch/{arch}")), &w.admin_t)
            .await
            .status,
        204
    );
    s.get_as(&v1(format!("/subarch/{sub}")), &w.bob_t)
        .await
        .assert_error(404, "InvalidUsage", Some("subarch not found"));
    s.get_as(&v1(format!("/arch/{arch}")), &w.bob_t)
        .await
        .assert_error(404, "InvalidUsage", Some("arch not found"));
    let actions: Vec<String> = s
        .store
        .audit_list(Page {
            before: None,
            limit: 3,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(actions, ["arch.delete", "arch.delete", "subarch.delete"]);
});

server_test!(networks, |s| {
    let w = World::build(s).await;
    let body = json!({"name": "dmz", "subnet": "192.168.10.0/24", "static_pool": "192.168.10.0/28", "reserved_pool": ""});
    let r = s.post(&v1("/network"), &w.admin_t, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["reserved_pool"], Value::Null);
    let id = r.json["id"].as_i64().unwrap();
    let url = v1(format!("/network/{id}"));
    assert_eq!(s.get_as(&url, &w.bob_t).await.json, r.json);
    assert_eq!(
        field(&s.get_as(&v1("/network"), &w.bob_t).await.json, "name"),
        ["lab", "spare", "dmz"]
    );
    let r = s
        .get_as(&format!("{url}/available?limit=3"), &w.bob_t)
        .await;
    assert_eq!(
        r.json,
        json!({"static": ["192.168.10.1", "192.168.10.2", "192.168.10.3"], "reserved": []})
    );
    let r = s
        .get_as(&format!("{url}/available?pool=reserved"), &w.bob_t)
        .await;
    assert_eq!(r.json, json!({"static": [], "reserved": []}));
    let r = s
        .get_as(&format!("{url}/available?limit=1000"), &w.bob_t)
        .await;
    assert_eq!(
        r.json["static"].as_array().unwrap().len(),
        14,
        "a /28 has 14 hosts"
    );
    // Used addresses are not available.
    let lab = v1(format!(
        "/network/{}/available?pool=static&limit=2",
        w.net.id
    ));
    s.put(
        &v1(format!("/machine/{}/interface/{}", w.m1.id, w.eth0.id)),
        &w.alice_t,
        &json!({"config_type_v4": "static", "configured_ipv4": "10.0.2.1"}),
    )
    .await;
    assert_eq!(
        s.get_as(&lab, &w.bob_t).await.json,
        json!({"static": ["10.0.2.2", "10.0.2.3"], "reserved": []})
    );
    let r = s
        .put(
            &url,
            &w.admin_t,
            &json!({"name": "dmz2", "reserved_pool": "192.168.10.128/25"}),
        )
        .await;
    assert_eq!(
        (r.status, r.json["reserved_pool"].as_str()),
        (200, Some("192.168.10.128/25")),
        "{}",
        r.text
    );

    refuses_malformed(s, M::POST, &v1("/network"), &w.admin_t).await;
    let lab_url = v1(format!("/network/{}", w.net.id));
    let cases: Vec<Case<'_>> = vec![
        (
            M::POST,
            v1("/network"),
            json!({"name": "n2"}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'subnet'"),
        ),
        (
            M::POST,
            v1("/network"),
            json!({"name": "n2", "subnet": "10.9.0.0/16", "x": 1}),
            400,
            "SchemaWrongKeyError",
            None,
        ),
        (
            M::POST,
            v1("/network"),
            json!({"name": "n2", "subnet": "not a subnet"}),
            400,
            "InvalidUsage",
            Some("\"not a subnet\" is not an IPv4 subnet in CIDR notation"),
        ),
        (
            M::POST,
            v1("/network"),
            json!({"name": "n2", "subnet": "10.0.128.0/17"}),
            409,
            "InvalidUsage",
            Some("subnet 10.0.128.0/17 overlaps network lab (10.0.0.0/16)"),
        ),
        (
            M::POST,
            v1("/network"),
            json!({"name": "n2", "subnet": "10.9.0.0/16", "static_pool": "10.8.0.0/24"}),
            400,
            "InvalidUsage",
            None,
        ),
        (
            M::POST,
            v1("/network"),
            json!({"name": "lab", "subnet": "10.9.0.0/16"}),
            409,
            "IntegrityError",
            Some("network with this name already exists"),
        ),
        // A pool change that would orphan m1's static address (B27: we refuse, not clear).
        (
            M::PUT,
            lab_url.clone(),
            json!({"static_pool": "10.0.3.0/24"}),
            409,
            "InvalidUsage",
            None,
        ),
        (
            M::PUT,
            lab_url.clone(),
            json!({"static_pool": null}),
            409,
            "InvalidUsage",
            None,
        ),
        (
            M::PUT,
            v1("/network/999999"),
            json!({}),
            404,
            "InvalidUsage",
            Some("network not found"),
        ),
    ];
    for (m, path, body, status, error_type, message) in cases {
        rejects!(s, (m) path, &w.admin_t, B::Json(body) => status, error_type, message);
    }
    s.get_as(&v1("/network/999999/available"), &w.bob_t)
        .await
        .assert_error(404, "InvalidUsage", Some("network not found"));
    for (m, path, body) in [
        (
            M::POST,
            v1("/network"),
            B::Json(json!({"name": "n3", "subnet": "10.77.0.0/16"})),
        ),
        (M::PUT, url.clone(), B::Json(json!({"name": "n3"}))),
        (M::DELETE, url.clone(), B::None),
    ] {
        rejects!(s, (m) path, &w.alice_t, body => 403, "InvalidUsage", "Forbidden");
    }
    // Deleting a network leaves its interfaces without network or address.
    let r = s.delete(&lab_url, &w.admin_t).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let eth0 = s.store.interface_get(w.eth0.id).await.unwrap();
    assert_eq!((eth0.network_id, eth0.static_ipv4), (None, None));
    rejects!(s, DELETE lab_url, &w.admin_t, B::None => 404, "InvalidUsage", "network not found");
    assert_eq!(
        s.store
            .audit_list(Page {
                before: None,
                limit: 1
            })
            .await
            .unwrap()[0]
            .action,
        "network.delete"
    );
});

server_test!(discovered_macs, |s| {
    let w = World::build(s).await;
    let r = s.get_as(&v1("/discovered"), &w.admin_t).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json.as_array().unwrap().len(), 1);
    let d = &r.json[0];
    assert_eq!(
        (
            d["mac"].as_str(),
            d["vendor"].as_str(),
            d["hostname"].as_str(),
            d["arch_code"].as_u64()
        ),
        (
            Some("02:00:00:00:00:d0"),
            Some("Acme"),
            Some("stray"),
            Some(11)
        )
    );
    s.get_as(&v1("/discovered"), &w.bob_t).await.assert_error(
        403,
        "InvalidUsage",
        Some("Forbidden"),
    );
    let adopt = v1(format!("/discovered/{}/machine", w.discovered.id));
    refuses_malformed(s, M::POST, &adopt, &w.admin_t).await;
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({"name": "stray"}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'arch'"),
        ),
        (
            json!({"name": "stray", "arch": "arm64", "x": 1}),
            400,
            "SchemaWrongKeyError",
            None,
        ),
        (
            json!({"name": "stray", "arch": "nope"}),
            400,
            "InvalidUsage",
            Some("no arch named \"nope\""),
        ),
        (
            json!({"name": "stray", "arch": "arm64", "network": "nope"}),
            400,
            "InvalidUsage",
            Some("no network named \"nope\""),
        ),
        (
            json!({"name": "stray", "arch": "arm64", "bmc": "nope"}),
            400,
            "InvalidUsage",
            Some("no BMC named \"nope\""),
        ),
        (
            json!({"name": "stray", "arch": "arm64", "subarch": "nope"}),
            400,
            "InvalidUsage",
            None,
        ),
        // A duplicate name: nothing of the half-made machine stays.
        (
            json!({"name": "m1", "arch": "arm64"}),
            409,
            "IntegrityError",
            Some("machine with this name already exists"),
        ),
    ];
    for (body, status, error_type, message) in cases {
        rejects!(s, POST adopt, &w.admin_t, B::Json(body) => status, error_type, message);
    }
    rejects!(s, POST v1("/discovered/999999/machine"), &w.admin_t, B::Json(json!({"name": "stray", "arch": "arm64"})) => 404, "InvalidUsage", "discovered MAC not found");
    rejects!(s, POST adopt, &w.bob_t, B::Json(json!({"name": "stray", "arch": "arm64"})) => 403, "InvalidUsage", "Forbidden");
    let r = s
        .post(&adopt, &w.admin_t, &json!({"name": "stray", "arch": "arm64", "subarch": "efi", "identifier": "eth0", "network": "lab", "bmc": w.spare_bmc.name}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (r.json["name"].as_str(), r.json["subarch"].as_str()),
        (Some("stray"), Some("efi"))
    );
    let id = r.json["id"].as_i64().unwrap();
    let ifaces = s
        .get_as(&v1(format!("/machine/{id}/interface")), &w.bob_t)
        .await;
    assert_eq!(ifaces.json.as_array().unwrap().len(), 1);
    assert_eq!(
        (
            ifaces.json[0]["mac"].as_str(),
            ifaces.json[0]["identifier"].as_str(),
            ifaces.json[0]["network_name"].as_str()
        ),
        (Some("02:00:00:00:00:d0"), Some("eth0"), Some("lab"))
    );
    assert_eq!(
        s.store
            .audit_list(Page {
                before: None,
                limit: 1
            })
            .await
            .unwrap()[0]
            .action,
        "machine.create"
    );
    // Adopted MACs are no longer "discovered" (as the original did on interface writes).
    let r = s.get_as(&v1("/discovered"), &w.admin_t).await;
    assert_eq!(r.json, json!([]), "{}", r.text);
    // Forget.
    let other = s
        .store
        .discovered_mac_upsert(mac(0, 0xd1), &Sighting::default(), chrono::Utc::now())
        .await
        .unwrap();
    let url = v1(format!("/discovered/{}", other.id));
    rejects!(s, DELETE url, &w.bob_t, B::None => 403, "InvalidUsage", "Forbidden");
    assert_eq!(s.delete(&url, &w.admin_t).await.status, 204);
    rejects!(s, DELETE url, &w.admin_t, B::None => 404, "InvalidUsage", "discovered MAC not found");
});

server_test!(assignments_and_audit, |s| {
    let w = World::build(s).await;
    s.post(
        &v1(format!("/machine/{}/assignee", w.m2.id)),
        &w.admin_t,
        &json!({"user": "bob", "reason": "r"}),
    )
    .await;
    let r = s.get_as(&v1("/assignment"), &w.admin_t).await;
    assert_eq!(r.status, 200);
    let rows: Vec<(String, String)> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["machine"].as_str().unwrap().into(),
                a["user"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("m1".to_string(), "alice".to_string()),
            ("m2".into(), "bob".into())
        ]
    );
    assert_eq!(r.json[0]["machine_id"], w.m1.id.0);
    let r = s.get_as(&v1("/assignment"), &w.bob_t).await;
    assert_eq!(field(&r.json, "machine"), ["m2"], "only one's own");
    assert_eq!(
        s.get_as(&v1("/assignment"), &w.carol_t).await.json,
        json!([])
    );

    // The audit log records administrative changes, newest first, with paging.
    s.post(&v1("/arch"), &w.admin_t, &json!({"name": "ppc64"}))
        .await;
    s.post(
        &v1("/network"),
        &w.admin_t,
        &json!({"name": "n9", "subnet": "10.99.0.0/16"}),
    )
    .await;
    let r = s.get_as(&v1("/audit"), &w.admin_t).await;
    assert_eq!(r.status, 200);
    let actions = field(&r.json, "action");
    assert_eq!(
        &actions[..3],
        ["network.create", "arch.create", "assignment.create"]
    );
    assert_eq!(r.json[0]["actor"], "admin");
    assert_eq!(r.json[0]["target_kind"], "network");
    let first = r.json[0]["id"].as_i64().unwrap();
    let page = s
        .get_as(&v1(format!("/audit?limit=1&before={first}")), &w.admin_t)
        .await;
    assert_eq!(field(&page.json, "action"), ["arch.create"]);
    s.get_as(&v1("/audit"), &w.bob_t)
        .await
        .assert_error(403, "InvalidUsage", Some("Forbidden"));
    // Non-admin changes are not administrative: nothing new.
    s.post(
        &v1("/preseed"),
        &w.bob_t,
        &json!({"name": "mine", "type": "preseed"}),
    )
    .await;
    let again = s.get_as(&v1("/audit?limit=1"), &w.admin_t).await;
    assert_eq!(again.json[0]["id"], first);
});

server_test!(available_rejects_an_unknown_pool, |s| {
    let w = World::build(s).await;
    let r = s
        .get_as(
            &v1(format!("/network/{}/available?pool=statc", w.net.id)),
            &w.bob_t,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    r.assert_envelope();
});

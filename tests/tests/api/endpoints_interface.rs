//! `/machine/{id}/interface[/{iid}]`: listing, IPv4 configuration (assignees and admins,
//! `auto` allocation included), MAC and network changes, adding and removing (admins).

use mr_provisioner_core::model::event::EventKind;
use mr_provisioner_core::model::interface::NewInterface;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::model::network::NewNetwork;
use mr_provisioner_core::store::Page;
use mr_provisioner_tests::{Method as M, server_test};
use serde_json::{Value, json};

use crate::world::{Body as B, World, mac, refuses_malformed, rejects, v1};

server_test!(list_and_get, |s| {
    let w = World::build(s).await;
    s.store
        .lease_upsert(
            w.eth0.mac,
            Some("10.0.5.5".parse().unwrap()),
            "2026-11-25T07:30:16Z".parse().unwrap(),
        )
        .await
        .unwrap();
    let r = s
        .get_as(&v1(format!("/machine/{}/interface", w.m1.id)), &w.bob_t)
        .await;
    assert_eq!(r.status, 200);
    let want = format!(
        r#"[{{"config_type_v4":"dynamic","configured_ipv4":null,"id":{},"identifier":"eth0","last_seen_date":"Wed, 25 Nov 2026 07:30:16 GMT","lease_ipv4":"10.0.5.5","mac":"02:00:00:00:00:01","netmaskv4":"255.255.0.0","network_name":"lab","prefixlenv4":16,"reserved_pool_v4":"10.0.1.0/24","static_pool_v4":"10.0.2.0/24","subnetv4":"10.0.0.0/16"}}]"#,
        w.eth0.id
    );
    assert_eq!(r.text, want);
    let one = s
        .get_as(
            &v1(format!("/machine/{}/interface/{}", w.m1.id, w.eth0.id)),
            &w.bob_t,
        )
        .await;
    assert_eq!(one.json, r.json[0]);
    let r = s
        .get_as(&v1(format!("/machine/{}/interface", w.m2.id)), &w.bob_t)
        .await;
    assert_eq!(r.json, json!([]));
    for (path, msg) in [
        (
            format!("/machine/{}/interface/999999", w.m1.id),
            "interface not found",
        ),
        // eth0 is not m2's.
        (
            format!("/machine/{}/interface/{}", w.m2.id, w.eth0.id),
            "interface not found",
        ),
        (
            format!("/machine/999999/interface/{}", w.eth0.id),
            "machine not found",
        ),
        ("/machine/999999/interface".to_string(), "machine not found"),
    ] {
        s.get_as(&v1(path), &w.bob_t)
            .await
            .assert_error(404, "InvalidUsage", Some(msg));
    }
    let r = s
        .get_as(
            &v1(format!("/machine/{}/interface/eth0", w.m1.id)),
            &w.bob_t,
        )
        .await;
    r.assert_error(404, "NotFound", Some("404: Not Found"));
});

server_test!(configure_addresses, |s| {
    let w = World::build(s).await;
    let url = v1(format!("/machine/{}/interface/{}", w.m1.id, w.eth0.id));
    let r = s
        .put(&url, &w.alice_t, &json!({"config_type_v4": "static", "configured_ipv4": "10.0.2.7", "identifier": "lan0"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            r.json["config_type_v4"].as_str(),
            r.json["configured_ipv4"].as_str()
        ),
        (Some("static"), Some("10.0.2.7"))
    );
    assert_eq!(r.json["identifier"], "lan0");
    let stored = s.store.interface_get(w.eth0.id).await.unwrap();
    assert_eq!(stored.static_ipv4, Some("10.0.2.7".parse().unwrap()));
    let ev = s
        .store
        .event_list(
            w.m1.id,
            Page {
                before: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(ev[0].kind, EventKind::SettingsChange);
    assert_eq!(ev[0].info["configured_ipv4"], "10.0.2.7");
    let r = s
        .put(&url, &w.admin_t, &json!({"config_type_v4": "dynamic-reserved", "configured_ipv4": "10.0.1.9", "identifier": null}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            r.json["config_type_v4"].as_str(),
            r.json["configured_ipv4"].as_str()
        ),
        (Some("dynamic-reserved"), Some("10.0.1.9"))
    );
    assert_eq!(r.json["identifier"], Value::Null);
    let stored = s.store.interface_get(w.eth0.id).await.unwrap();
    assert_eq!(
        (stored.static_ipv4, stored.reserved_ipv4),
        (None, Some("10.0.1.9".parse().unwrap()))
    );
    // Dynamic clears both; an address given with it is ignored.
    let r = s
        .put(
            &url,
            &w.alice_t,
            &json!({"config_type_v4": "dynamic", "configured_ipv4": "10.0.2.8"}),
        )
        .await;
    assert_eq!(
        (
            r.json["config_type_v4"].as_str(),
            &r.json["configured_ipv4"]
        ),
        (Some("dynamic"), &Value::Null)
    );
    // `auto` (B4 fixed) takes the lowest free address of the pool.
    let r = s
        .put(
            &url,
            &w.alice_t,
            &json!({"config_type_v4": "static", "configured_ipv4": "auto"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["configured_ipv4"], "10.0.2.1");
    let r = s
        .put(
            &url,
            &w.alice_t,
            &json!({"config_type_v4": "dynamic-reserved", "configured_ipv4": "auto"}),
        )
        .await;
    assert_eq!(r.json["configured_ipv4"], "10.0.1.1", "{}", r.text);
});

server_test!(auto_on_a_full_pool, |s| {
    let w = World::build(s).await;
    // A /30 pool has two host addresses (.5 and .6).
    let tiny = s
        .store
        .network_create(&NewNetwork {
            name: "tiny".into(),
            subnet: "10.250.0.0/24".parse().unwrap(),
            reserved_pool: None,
            static_pool: Some("10.250.0.4/30".parse().unwrap()),
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for k in 0..3u8 {
        let i = s
            .store
            .interface_create(&NewInterface {
                machine_id: w.m1.id,
                mac: mac(200, k),
                identifier: None,
                network_id: Some(tiny.id),
                static_ipv4: None,
                reserved_ipv4: None,
            })
            .await
            .unwrap();
        ids.push(i.id);
    }
    let body = json!({"config_type_v4": "static", "configured_ipv4": "auto"});
    for (id, want) in ids.iter().take(2).zip(["10.250.0.5", "10.250.0.6"]) {
        let r = s
            .put(
                &v1(format!("/machine/{}/interface/{id}", w.m1.id)),
                &w.alice_t,
                &body,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["configured_ipv4"], want);
    }
    rejects!(s, PUT v1(format!("/machine/{}/interface/{}", w.m1.id, ids[2])), &w.alice_t, B::Json(body) => 409, "InvalidUsage", "no more IPs available");
    // The free-address listing agrees.
    let r = s
        .get_as(&v1(format!("/network/{}/available", tiny.id)), &w.bob_t)
        .await;
    assert_eq!(r.json, json!({"reserved": [], "static": []}));
});

server_test!(configure_errors, |s| {
    let w = World::build(s).await;
    let url = v1(format!("/machine/{}/interface/{}", w.m1.id, w.eth0.id));
    refuses_malformed(s, M::PUT, &url, &w.alice_t).await;
    let schema: Vec<(Value, &str)> = vec![
        (json!({"configured_ipv4": "010.0.2.7"}), "SchemaError"),
        (json!({"configured_ipv4": "10.0.2"}), "SchemaError"),
        (json!({"configured_ipv4": "10.0.2.256"}), "SchemaError"),
        (json!({"configured_ipv4": "AUTO"}), "SchemaError"),
        (json!({"configured_ipv4": 10}), "SchemaUnexpectedTypeError"),
        (json!({"config_type_v4": "bogus"}), "SchemaError"),
        (json!({"config_type_v4": null}), "SchemaUnexpectedTypeError"),
        (json!({"identifier": 5}), "SchemaUnexpectedTypeError"),
        (json!({"identifier": "x".repeat(65)}), "SchemaError"),
        (json!({"mac": "zz:zz"}), "SchemaError"),
        (json!({"network": ""}), "SchemaError"),
    ];
    for (body, error_type) in schema {
        rejects!(s, PUT url, &w.alice_t, B::Json(body.clone()) => 400, error_type);
        rejects!(s, PUT v1("/machine/999999/interface/999999"), &w.alice_t, B::Json(body) => 400, error_type);
    }
    // A second interface with a static address, to clash with.
    let (other_mac, taken) = (mac(0, 2), "10.0.2.50");
    s.store
        .interface_create(&NewInterface {
            machine_id: w.m2.id,
            mac: other_mac,
            identifier: None,
            network_id: Some(w.net.id),
            static_ipv4: Some(taken.parse().unwrap()),
            reserved_ipv4: None,
        })
        .await
        .unwrap();
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"config_type_v4": "static", "configured_ipv4": "10.0.1.9"}),
            400,
            "InvalidUsage",
            "static IP out of range",
        ),
        (
            json!({"config_type_v4": "dynamic-reserved", "configured_ipv4": "10.0.2.9"}),
            400,
            "InvalidUsage",
            "dynamic-reserved IP out of range",
        ),
        (
            json!({"config_type_v4": "static", "configured_ipv4": "192.168.0.1"}),
            400,
            "InvalidUsage",
            "static IP out of range",
        ),
        (
            json!({"config_type_v4": "static"}),
            400,
            "InvalidUsage",
            "static configuration requires an IPv4",
        ),
        (
            json!({"config_type_v4": "static", "configured_ipv4": null}),
            400,
            "InvalidUsage",
            "static configuration requires an IPv4",
        ),
        (
            json!({"config_type_v4": "dynamic-reserved"}),
            400,
            "InvalidUsage",
            "dynamic-reserved configuration requires an IPv4",
        ),
        (
            json!({"config_type_v4": "static", "configured_ipv4": taken}),
            409,
            "IntegrityError",
            "interface with this static IPv4 address on this network already exists",
        ),
    ];
    for (body, status, error_type, message) in cases {
        rejects!(s, PUT url, &w.alice_t, B::Json(body) => status, error_type, message);
    }
    // Unrelated users, and the images' owner, may not; neither may assignees change the MAC
    // or the network.
    let ip = json!({"config_type_v4": "static", "configured_ipv4": "10.0.2.9"});
    for t in [&w.bob_t, &w.carol_t] {
        rejects!(s, PUT url, t, B::Json(ip.clone()) => 403, "InvalidUsage", "Forbidden");
    }
    for body in [
        json!({"mac": "02:00:00:00:09:09"}),
        json!({"network": null}),
        json!({"network": "spare"}),
    ] {
        rejects!(s, PUT url, &w.alice_t, B::Json(body) => 403, "InvalidUsage", "Forbidden");
    }
    rejects!(s, PUT url, &w.admin_t, B::Json(json!({"network": "nope"})) => 400, "InvalidUsage", "no network named \"nope\"");
    rejects!(s, PUT url, &w.admin_t, B::Json(json!({"mac": other_mac.to_string()})) => 409, "IntegrityError", "interface with this MAC already exists");
    rejects!(s, PUT v1(format!("/machine/{}/interface/999999", w.m1.id)), &w.admin_t, B::Json(json!({})) => 404, "InvalidUsage", "interface not found");
    rejects!(s, PUT v1(format!("/machine/{}/interface/{}", w.m2.id, w.eth0.id)), &w.admin_t, B::Json(json!({})) => 404, "InvalidUsage", "interface not found");
    // Without a network, or on a network without the pool.
    let bare = s
        .store
        .machine_create(&NewMachine::named("bare", w.arm.id))
        .await
        .unwrap();
    let loose = s
        .store
        .interface_create(&NewInterface {
            machine_id: bare.id,
            mac: mac(0, 3),
            identifier: None,
            network_id: None,
            static_ipv4: None,
            reserved_ipv4: None,
        })
        .await
        .unwrap();
    let loose_url = v1(format!("/machine/{}/interface/{}", bare.id, loose.id));
    rejects!(s, PUT loose_url, &w.admin_t, B::Json(ip.clone()) => 400, "InvalidUsage", "interface has no network");
    let r = s
        .put(&loose_url, &w.admin_t, &json!({"network": "spare"}))
        .await;
    assert_eq!(
        (r.status, &r.json["network_name"]),
        (200, &json!("spare")),
        "{}",
        r.text
    );
    rejects!(s, PUT loose_url, &w.admin_t, B::Json(json!({"config_type_v4": "static", "configured_ipv4": "10.100.0.9"})) => 400, "InvalidUsage", "network has no static IPv4 range");
    rejects!(s, PUT loose_url, &w.admin_t, B::Json(json!({"config_type_v4": "dynamic-reserved", "configured_ipv4": "auto"})) => 400, "InvalidUsage", "network has no reserved IPv4 range");
    // Admins change the MAC (stored lower-case) and the network.
    let r = s
        .put(
            &url,
            &w.admin_t,
            &json!({"mac": "02:00:00:00:0A:BC", "network": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.json["mac"].as_str(), &r.json["network_name"]),
        (Some("02:00:00:00:0a:bc"), &Value::Null)
    );
});

server_test!(add_and_remove, |s| {
    let w = World::build(s).await;
    let list = v1(format!("/machine/{}/interface", w.m1.id));
    let r = s
        .post(&list, &w.admin_t, &json!({"mac": "02:00:00:00:00:AA", "identifier": "eth1", "network": "lab", "static_ipv4": "10.0.2.20"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["mac"], "02:00:00:00:00:aa");
    assert_eq!(
        (
            r.json["config_type_v4"].as_str(),
            r.json["configured_ipv4"].as_str()
        ),
        (Some("static"), Some("10.0.2.20"))
    );
    let id = r.json["id"].as_i64().unwrap();
    assert_eq!(
        s.get_as(&list, &w.bob_t)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let audit = s
        .store
        .audit_list(Page {
            before: None,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(audit[0].action, "interface.create");

    refuses_malformed(s, M::POST, &list, &w.admin_t).await;
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'mac'"),
        ),
        (json!({"mac": "x"}), 400, "SchemaError", None),
        (
            json!({"mac": "02:00:00:00:00:bb", "x": 1}),
            400,
            "SchemaWrongKeyError",
            Some("Wrong keys 'x'"),
        ),
        (
            json!({"mac": "02:00:00:00:00:bb", "identifier": ""}),
            400,
            "SchemaError",
            None,
        ),
        (
            json!({"mac": "02:00:00:00:00:01"}),
            409,
            "IntegrityError",
            Some("interface with this MAC already exists"),
        ),
        (
            json!({"mac": "02:00:00:00:00:bb", "network": "lab", "static_ipv4": "auto"}),
            400,
            "InvalidUsage",
            Some("give an address (\"auto\" is for PUT)"),
        ),
        (
            json!({"mac": "02:00:00:00:00:bb", "static_ipv4": "10.0.2.5"}),
            400,
            "InvalidUsage",
            Some("an interface needs a network to have a static or reserved address"),
        ),
        (
            json!({"mac": "02:00:00:00:00:bb", "network": "lab", "static_ipv4": "10.0.1.5"}),
            400,
            "InvalidUsage",
            None,
        ),
        (
            json!({"mac": "02:00:00:00:00:bb", "network": "lab", "static_ipv4": "10.0.2.20"}),
            409,
            "IntegrityError",
            None,
        ),
        (
            json!({"mac": "02:00:00:00:00:bb", "network": "nope"}),
            400,
            "InvalidUsage",
            Some("no network named \"nope\""),
        ),
    ];
    for (body, status, error_type, message) in cases {
        rejects!(s, POST list, &w.admin_t, B::Json(body) => status, error_type, message);
    }
    rejects!(s, POST v1("/machine/999999/interface"), &w.admin_t, B::Json(json!({"mac": "02:00:00:00:00:bb"})) => 404, "InvalidUsage", "machine not found");
    for t in [&w.alice_t, &w.bob_t] {
        rejects!(s, POST list, t, B::Json(json!({"mac": "02:00:00:00:00:bb"})) => 403, "InvalidUsage", "Forbidden");
    }

    let one = format!("{list}/{id}");
    for t in [&w.alice_t, &w.bob_t] {
        rejects!(s, DELETE one, t, B::None => 403, "InvalidUsage", "Forbidden");
    }
    rejects!(s, DELETE format!("{list}/999999"), &w.admin_t, B::None => 404, "InvalidUsage", "interface not found");
    rejects!(s, DELETE v1(format!("/machine/{}/interface/{id}", w.m2.id)), &w.admin_t, B::None => 404, "InvalidUsage", "interface not found");
    let r = s.delete(&one, &w.admin_t).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    s.get_as(&one, &w.bob_t)
        .await
        .assert_error(404, "InvalidUsage", Some("interface not found"));
    let audit = s
        .store
        .audit_list(Page {
            before: None,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(audit[0].action, "interface.delete");
});

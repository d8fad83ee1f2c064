//! Machines: `GET`/`PUT`/`PATCH`/`DELETE /machine/{id}`, `POST /machine`, and the
//! reservation endpoint, with every error path and proof that errors change nothing.

use mr_provisioner_core::id::MachineId;
use mr_provisioner_core::model::event::EventKind;
use mr_provisioner_core::store::Page;
use mr_provisioner_tests::{Method as M, TestServer, server_test};
use serde_json::{Value, json};

use crate::world::{Body as B, World, refuses_malformed, rejects, v1};

async fn events(s: &TestServer, m: MachineId) -> Vec<(EventKind, Value)> {
    let page = Page {
        before: None,
        limit: 100,
    };
    s.store
        .event_list(m, page)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.info))
        .collect()
}

server_test!(get_machine, |s| {
    let w = World::build(s).await;
    let r = s
        .get_as(&v1(format!("/machine/{}", w.m1.id)), &w.bob_t)
        .await;
    assert_eq!(r.status, 200);
    let want = format!(
        r#"{{"arch":"arm64","hostname":"m1","id":{},"initrd_id":{},"kernel_id":{},"kernel_opts":"console=ttyAMA0","name":"m1","netboot_enabled":false,"preseed_id":null,"subarch":"efi"}}"#,
        w.m1.id, w.initrd.id, w.kernel.id
    );
    assert_eq!(r.text, want);
    let r = s.get_as(&v1("/machine/999999"), &w.bob_t).await;
    r.assert_error(404, "InvalidUsage", Some("machine not found"));
    // Ids too large to exist are simply not found.
    let r = s
        .get_as(&v1("/machine/99999999999999999999"), &w.bob_t)
        .await;
    r.assert_error(404, "InvalidUsage", Some("machine not found"));
    // Anything but digits is no route (the authenticated catch-all).
    for bad in ["abc", "-1", "1.0", "%201", "0x10"] {
        let r = s.get_as(&v1(format!("/machine/{bad}")), &w.bob_t).await;
        r.assert_error(404, "NotFound", Some("404: Not Found"));
    }
    // A trailing slash is another path.
    let r = s.get_as(&v1("/machine/"), &w.bob_t).await;
    r.assert_error(404, "NotFound", Some("404: Not Found"));
    let r = s
        .call(M::GET, &v1(format!("/machine/{}", w.m1.id)), None, None)
        .await;
    r.assert_error(401, "Unauthenticated", None);
});

server_test!(put_machine_success, |s| {
    let w = World::build(s).await;
    let url = v1(format!("/machine/{}", w.m1.id));
    // Unknown keys are ignored (a client may PUT back a whole machine object).
    let body = json!({
        "kernel_opts": "quiet",
        "preseed_id": w.preseed.id.0,
        "netboot_enabled": true,
        "name": "renamed",
        "hostname": "x",
    });
    let r = s.put(&url, &w.alice_t, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["kernel_opts"], "quiet");
    assert_eq!(r.json["preseed_id"], w.preseed.id.0);
    assert_eq!(r.json["netboot_enabled"], true);
    assert_eq!(r.json["name"], "m1");
    let stored = s.store.machine_get(w.m1.id).await.unwrap();
    assert_eq!(stored.kernel_opts, "quiet");
    assert_eq!(stored.preseed_id, Some(w.preseed.id));
    assert!(stored.netboot_enabled);
    assert_eq!(stored.name, "m1");
    let ev = events(s, w.m1.id).await;
    assert_eq!(ev[0].0, EventKind::SettingsChange);
    assert_eq!(ev[0].1["kernel_opts"], "quiet");
    // An empty change changes nothing and records nothing.
    let before = s.snapshot().await;
    let r = s.put(&url, &w.alice_t, &json!({})).await;
    assert_eq!(r.status, 200);
    mr_provisioner_tests::assert_snapshots_equal(&before, &s.snapshot().await, "PUT {}");
    // Ids as digit strings; null clears (B5: the original answered 500 to a null kernel).
    let r = s
        .put(
            &url,
            &w.alice_t,
            &json!({"kernel_id": null, "initrd_id": null, "preseed_id": null, "netboot_enabled": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["kernel_id"], Value::Null);
    assert_eq!(r.json["initrd_id"], Value::Null);
    let r = s
        .put(
            &url,
            &w.alice_t,
            &json!({"kernel_id": w.kernel.id.0.to_string(), "subarch": "nobl"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["kernel_id"], w.kernel.id.0);
    assert_eq!(r.json["subarch"], "nobl");
    // An admin may attach another user's private kernel.
    let r = s
        .put(
            &url,
            &w.admin_t,
            &json!({"kernel_id": w.private_kernel.id.0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["kernel_id"], w.private_kernel.id.0);
});

server_test!(put_machine_errors, |s| {
    let w = World::build(s).await;
    let url = v1(format!("/machine/{}", w.m1.id));
    refuses_malformed(s, M::PUT, &url, &w.alice_t).await;
    let long = "x".repeat(1025);
    let schema: Vec<(Value, &str)> = vec![
        (
            json!({"netboot_enabled": "yes"}),
            "SchemaUnexpectedTypeError",
        ),
        (json!({"netboot_enabled": 1}), "SchemaUnexpectedTypeError"),
        (
            json!({"netboot_enabled": null}),
            "SchemaUnexpectedTypeError",
        ),
        (json!({"kernel_opts": null}), "SchemaUnexpectedTypeError"),
        (json!({"kernel_opts": long}), "SchemaError"),
        (json!({"kernel_id": "x"}), "SchemaError"),
        (json!({"kernel_id": 2.9}), "SchemaError"),
        (json!({"kernel_id": true}), "SchemaUnexpectedTypeError"),
        (json!({"initrd_id": [1]}), "SchemaUnexpectedTypeError"),
        (json!({"preseed_id": {}}), "SchemaUnexpectedTypeError"),
        (json!({"subarch": 5}), "SchemaUnexpectedTypeError"),
        (json!({"subarch": "x".repeat(257)}), "SchemaError"),
    ];
    for (body, error_type) in schema {
        rejects!(s, PUT url, &w.alice_t, B::Json(body.clone()) => 400, error_type);
        // The schema is checked before the machine is looked up.
        rejects!(s, PUT v1("/machine/999999"), &w.alice_t, B::Json(body) => 400, error_type);
    }
    let missing = json!({});
    rejects!(s, PUT v1("/machine/999999"), &w.admin_t, B::Json(missing.clone()) => 404, "InvalidUsage", "machine not found");
    rejects!(s, PUT v1("/machine/abc"), &w.admin_t, B::Json(missing) => 404, "NotFound", "404: Not Found");
    // B2 fixed: neither an unrelated user nor the owner of the images may change it.
    for t in [&w.bob_t, &w.carol_t] {
        rejects!(s, PUT url, t, B::Json(json!({"kernel_opts": "x"})) => 403, "InvalidUsage", "Forbidden");
    }
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"subarch": "nope"}),
            400,
            "no such subarch for architecture arm64",
        ),
        (
            json!({"subarch": null}),
            400,
            "no such subarch for architecture arm64",
        ),
        (json!({"preseed_id": 999999}), 400, "no such preseed"),
        (
            json!({"preseed_id": w.private_preseed.id.0}),
            403,
            "not allowed to use preseed",
        ),
        (json!({"kernel_id": 999999}), 400, "no such kernel"),
        (
            json!({"kernel_id": w.private_kernel.id.0}),
            403,
            "not allowed to use kernel",
        ),
        (
            json!({"kernel_id": w.initrd.id.0}),
            400,
            "kernel is not a kernel",
        ),
        (json!({"initrd_id": 999999}), 400, "no such initrd"),
        (
            json!({"initrd_id": w.kernel.id.0}),
            400,
            "initrd is not an initrd",
        ),
        (
            json!({"initrd_id": w.bootloader.id.0}),
            400,
            "initrd is not an initrd",
        ),
        (
            json!({"netboot_enabled": true, "subarch": "nobl"}),
            400,
            "Enabled netboot requires a subarch with a valid bootloader",
        ),
        // A newline would let the caller add lines to the generated boot config.
        (
            json!({"kernel_opts": "a\nb"}),
            400,
            "kernel_opts must be a single line without control characters",
        ),
    ];
    for (body, status, message) in cases {
        rejects!(s, PUT url, &w.alice_t, B::Json(body) => status, "InvalidUsage", message);
    }
    // Nothing is half-applied: a valid field next to a bad one is not saved either.
    rejects!(s, PUT url, &w.alice_t, B::Json(json!({"kernel_opts": "changed", "kernel_id": 999999})) => 400, "InvalidUsage", "no such kernel");
});

server_test!(patch_machine, |s| {
    let w = World::build(s).await;
    let url = v1(format!("/machine/{}", w.m1.id));
    let r = s
        .patch(
            &url,
            &w.admin_t,
            &json!({"name": "m1.lab", "bmc": w.spare_bmc.name, "bmc_info": "x"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], "m1.lab");
    assert_eq!(r.json["hostname"], "m1-lab");
    let stored = s.store.machine_get(w.m1.id).await.unwrap();
    assert_eq!(stored.bmc_id, Some(w.spare_bmc.id));
    assert_eq!(stored.bmc_info, "x");
    assert_eq!(events(s, w.m1.id).await[0].0, EventKind::InventoryChange);
    let audit = s
        .store
        .audit_list(Page {
            before: None,
            limit: 5,
        })
        .await
        .unwrap();
    assert_eq!(audit[0].action, "machine.update");
    assert_eq!(audit[0].actor, "admin");
    // No BMC: the BMC info goes with it.
    let r = s.patch(&url, &w.admin_t, &json!({"bmc": null})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let stored = s.store.machine_get(w.m1.id).await.unwrap();
    assert_eq!((stored.bmc_id, stored.bmc_info.as_str()), (None, ""));
    // Another arch: the subarch (of the old arch) and netboot go.
    s.put(&url, &w.alice_t, &json!({"netboot_enabled": true}))
        .await;
    let r = s
        .patch(&url, &w.admin_t, &json!({"arch": w.spare_arch.name}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["arch"], w.spare_arch.name);
    assert_eq!(r.json["subarch"], Value::Null);
    assert_eq!(r.json["netboot_enabled"], false);

    let m2 = v1(format!("/machine/{}", w.m2.id));
    refuses_malformed(s, M::PATCH, &m2, &w.admin_t).await;
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({"x": 1}),
            400,
            "SchemaWrongKeyError",
            Some("Wrong keys 'x'"),
        ),
        (json!({"name": "x"}), 400, "SchemaError", None),
        (json!({"name": 5}), 400, "SchemaUnexpectedTypeError", None),
        (
            json!({"bmc_info": null}),
            400,
            "SchemaUnexpectedTypeError",
            None,
        ),
        (
            json!({"name": "m1.lab"}),
            409,
            "IntegrityError",
            Some("machine with this name already exists"),
        ),
        (
            json!({"bmc": "nope"}),
            400,
            "InvalidUsage",
            Some("no BMC named \"nope\""),
        ),
        (
            json!({"arch": "nope"}),
            400,
            "InvalidUsage",
            Some("no arch named \"nope\""),
        ),
        (
            json!({"name": " padded"}),
            400,
            "InvalidUsage",
            Some("name must not start or end with whitespace"),
        ),
    ];
    for (body, status, error_type, message) in cases {
        rejects!(s, PATCH m2, &w.admin_t, B::Json(body) => status, error_type, message);
    }
    rejects!(s, PATCH v1("/machine/999999"), &w.admin_t, B::Json(json!({"name": "zz"})) => 404, "InvalidUsage", "machine not found");
    // Inventory is for administrators, assignees included.
    for t in [&w.alice_t, &w.bob_t] {
        rejects!(s, PATCH url, t, B::Json(json!({"name": "mine"})) => 403, "InvalidUsage", "Forbidden");
    }
});

server_test!(create_machine, |s| {
    let w = World::build(s).await;
    let body = json!({"name": "m9", "arch": "arm64", "subarch": "efi", "bmc": w.spare_bmc.name, "bmc_info": "slot 9"});
    let r = s.post(&v1("/machine"), &w.admin_t, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["name"], "m9");
    assert_eq!(r.json["subarch"], "efi");
    assert_eq!(r.json["netboot_enabled"], false);
    let id = MachineId(r.json["id"].as_i64().unwrap());
    let stored = s.store.machine_get(id).await.unwrap();
    assert_eq!(stored.bmc_id, Some(w.spare_bmc.id));
    assert_eq!(stored.bmc_info, "slot 9");
    let got = s.get_as(&v1(format!("/machine/{id}")), &w.bob_t).await;
    assert_eq!(got.json, r.json);
    let audit = s
        .store
        .audit_list(Page {
            before: None,
            limit: 5,
        })
        .await
        .unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].target_id),
        ("machine.create", Some(id.0))
    );
    assert_eq!(events(s, id).await[0].0, EventKind::InventoryChange);

    refuses_malformed(s, M::POST, &v1("/machine"), &w.admin_t).await;
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'name', 'arch'"),
        ),
        (
            json!({"name": "m10"}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'arch'"),
        ),
        (
            json!({"name": "m10", "arch": "arm64", "x": 1}),
            400,
            "SchemaWrongKeyError",
            Some("Wrong keys 'x'"),
        ),
        (
            json!({"name": "m", "arch": "arm64"}),
            400,
            "SchemaError",
            None,
        ),
        (
            json!({"name": "m10", "arch": 1}),
            400,
            "SchemaUnexpectedTypeError",
            None,
        ),
        (
            json!({"name": "m10", "arch": "nope"}),
            400,
            "InvalidUsage",
            Some("no arch named \"nope\""),
        ),
        (
            json!({"name": "m10", "arch": "arm64", "subarch": "nope"}),
            400,
            "InvalidUsage",
            Some("no such subarch for architecture arm64"),
        ),
        (
            json!({"name": "m10", "arch": "arm64", "bmc": "nope"}),
            400,
            "InvalidUsage",
            Some("no BMC named \"nope\""),
        ),
        (
            json!({"name": "m1", "arch": "arm64"}),
            409,
            "IntegrityError",
            Some("machine with this name already exists"),
        ),
    ];
    for (body, status, error_type, message) in cases {
        rejects!(s, POST v1("/machine"), &w.admin_t, B::Json(body) => status, error_type, message);
    }
    for t in [&w.alice_t, &w.bob_t] {
        rejects!(s, POST v1("/machine"), t, B::Json(json!({"name": "m10", "arch": "arm64"})) => 403, "InvalidUsage", "Forbidden");
    }
});

server_test!(delete_machine, |s| {
    let w = World::build(s).await;
    let url = v1(format!("/machine/{}", w.m1.id));
    for t in [&w.alice_t, &w.bob_t] {
        rejects!(s, DELETE url, t, B::None => 403, "InvalidUsage", "Forbidden");
    }
    rejects!(s, DELETE v1("/machine/999999"), &w.admin_t, B::None => 404, "InvalidUsage", "machine not found");
    rejects!(s, DELETE v1("/machine/abc"), &w.admin_t, B::None => 404, "NotFound", "404: Not Found");
    let r = s.delete(&url, &w.admin_t).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert!(s.store.machine_get(w.m1.id).await.is_err());
    // Its interfaces and assignments went with it.
    assert!(s.store.interface_get(w.eth0.id).await.is_err());
    assert!(s.store.assignment_get(w.a1.id).await.is_err());
    let r = s.get_as(&url, &w.alice_t).await;
    r.assert_error(404, "InvalidUsage", Some("machine not found"));
    let audit = s
        .store
        .audit_list(Page {
            before: None,
            limit: 5,
        })
        .await
        .unwrap();
    assert_eq!(audit[0].action, "machine.delete");
});

fn until_of(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v["until"].as_str().expect("until"))
        .unwrap()
        .with_timezone(&chrono::Utc)
}

server_test!(reservation_with_end_and_release, |s| {
    let w = World::build(s).await;
    let url = v1("/machine/reservation");
    let r = s
        .post(
            &url,
            &w.bob_t,
            &json!({"query": null, "reason": "ci run", "duration": 3600, "unknown": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], "m2", "the only free machine");
    let me = s
        .get_as(&v1(format!("/machine/{}/assignee/self", w.m2.id)), &w.bob_t)
        .await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["reason"], "ci run");
    assert_eq!(me.json["user"], "bob");
    let expected = chrono::Utc::now() + chrono::TimeDelta::seconds(3600);
    assert!(
        (until_of(&me.json) - expected).num_seconds().abs() < 60,
        "{}",
        me.text
    );
    let listed = s.get_as(&v1("/machine"), &w.bob_t).await;
    assert_eq!(listed.json.as_array().unwrap().len(), 1);
    // Nothing is free any more.
    rejects!(s, POST url, &w.carol_t, B::Json(json!({"query": null})) => 404, "InvalidUsage", "no matching machine");
    // Release, then reserve again with an end date.
    let r = s
        .delete(&v1(format!("/machine/{}/assignee/self", w.m2.id)), &w.bob_t)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(
        s.store
            .assignment_list_for_machine(w.m2.id)
            .await
            .unwrap()
            .is_empty()
    );
    let r = s
        .post(
            &url,
            &w.carol_t,
            &json!({"query": "(= name \"m2\")", "until": "2099-01-31T18:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let a = s
        .get_as(&v1(format!("/machine/{}/assignee", w.m2.id)), &w.carol_t)
        .await;
    assert_eq!(a.json[0]["until"], "2099-01-31T18:00:00+00:00");
    assert_eq!(a.json[0]["user"], "carol");
    let ev = events(s, w.m2.id).await;
    assert_eq!(ev[0].0, EventKind::Assigned);
    assert_eq!(ev[1].0, EventKind::Unassigned);
});

server_test!(reservation_errors, |s| {
    let w = World::build(s).await;
    let url = v1("/machine/reservation");
    refuses_malformed(s, M::POST, &url, &w.bob_t).await;
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({}),
            "SchemaMissingKeyError",
            Some("Missing keys: 'query'"),
        ),
        (
            json!({"reason": "x"}),
            "SchemaMissingKeyError",
            Some("Missing keys: 'query'"),
        ),
        (json!({"query": 5}), "SchemaUnexpectedTypeError", None),
        (json!({"query": "x".repeat(301)}), "SchemaError", None),
        (
            json!({"query": null, "reason": "x".repeat(141)}),
            "SchemaError",
            None,
        ),
        (
            json!({"query": null, "reason": 1}),
            "SchemaUnexpectedTypeError",
            None,
        ),
        (json!({"query": null, "duration": 0}), "SchemaError", None),
        (json!({"query": null, "duration": -5}), "SchemaError", None),
        (json!({"query": null, "duration": 1.5}), "SchemaError", None),
        (
            json!({"query": null, "duration": "60"}),
            "SchemaError",
            None,
        ),
        (
            json!({"query": null, "until": "tomorrow"}),
            "SchemaError",
            None,
        ),
        (
            json!({"query": null, "until": 5}),
            "SchemaUnexpectedTypeError",
            None,
        ),
        (
            json!({"query": null, "duration": 60, "until": "2099-01-01T00:00:00Z"}),
            "SchemaError",
            Some("give `duration` or `until`, not both"),
        ),
        (json!({"query": "(= name"}), "InvalidUsage", None),
        (json!({"query": "(= foo \"x\")"}), "InvalidUsage", None),
        (
            json!({"query": null, "until": "2000-01-01T00:00:00Z"}),
            "InvalidUsage",
            Some("the end of an assignment must be in the future"),
        ),
        (
            json!({"query": null, "reason": "two\nlines"}),
            "InvalidUsage",
            None,
        ),
    ];
    for (body, error_type, message) in cases {
        let r = rejects!(s, POST url, &w.bob_t, B::Json(body.clone()) => 400, error_type, message);
        assert!(!r.errors()[0].contains("SELECT"), "{body}: {}", r.text);
        if body["query"] == "(= foo \"x\")" {
            // Names the field, not the operator (the original said "`=` is not a valid operation").
            assert!(
                r.errors()[0].starts_with("unknown field `foo`"),
                "{}",
                r.text
            );
        }
    }
    rejects!(s, POST url, &w.bob_t, B::Json(json!({"query": "(= name \"m1\")"})) => 404, "InvalidUsage", "no matching machine");
    let r = s.call(M::POST, &url, None, Some("{\"query\": null}")).await;
    r.assert_error(401, "Unauthenticated", None);
    assert!(
        s.store
            .assignment_list_for_machine(w.m2.id)
            .await
            .unwrap()
            .is_empty()
    );
});

server_test!(get_reservation_is_the_catch_all, |s| {
    let w = World::build(s).await;
    let r = s.get_as(&v1("/machine/reservation"), &w.bob_t).await;
    r.assert_error(404, "NotFound", Some("404: Not Found"));
    // Authenticated, as every catch-all GET.
    let r = s
        .call(M::GET, &v1("/machine/reservation"), None, None)
        .await;
    r.assert_error(401, "Unauthenticated", None);
});

server_test!(method_not_allowed, |s| {
    let w = World::build(s).await;
    // The method is checked first (B15 unchanged), but the answer is JSON now.
    let r = s
        .call(
            M::DELETE,
            &v1("/machine/reservation"),
            Some(&w.admin_t),
            None,
        )
        .await;
    r.assert_error(405, "MethodNotAllowed", None);
    let r = s.call(M::PATCH, &v1("/image"), None, None).await;
    r.assert_error(405, "MethodNotAllowed", None);
});

server_test!(documentation_and_redirects, |s| {
    // No authentication for the documentation.
    let r = s.call(M::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json["openapi"].as_str().unwrap().starts_with("3."));
    let paths = r.json["paths"].as_object().unwrap();
    for p in [
        "/machine",
        "/machine/reservation",
        "/machine/{id}/power",
        "/image",
        "/network/{id}/available",
    ]
    .map(|p| format!("/api/v1{p}"))
    {
        assert!(
            paths.contains_key(&p),
            "{p} missing from the OpenAPI document"
        );
    }
    let r = s.call(M::GET, "/api/v1/docs", None, None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/api/v1", "/api/v1/"] {
        let resp = plain.get(s.url(path)).send().await.unwrap();
        assert!(resp.status().is_redirection(), "{path}: {}", resp.status());
        assert_eq!(resp.headers()["location"], "/api/v1/docs", "{path}");
    }
    // Any other unknown path: authenticated, then the JSON 404.
    let r = s.call(M::GET, "/api/v1/nothing/here", None, None).await;
    r.assert_error(401, "Unauthenticated", None);
    let (_, token) = s.user_with_token("someone", false).await;
    s.get_as("/api/v1/nothing/here", &token).await.assert_error(
        404,
        "NotFound",
        Some("404: Not Found"),
    );
});

server_test!(reservation_duration_overflow, |s| {
    let w = World::build(s).await;
    let body = json!({"query": null, "duration": 9_000_000_000_000_000u64});
    rejects!(s, POST v1("/machine/reservation"), &w.bob_t, B::Json(body) => 400, "SchemaError", "`duration` is too long");
    // And the server goes on answering.
    assert_eq!(s.get_as(&v1("/machine"), &w.bob_t).await.status, 200);
});

server_test!(bmc_names_are_not_revealed_to_non_admins, |s| {
    let w = World::build(s).await;
    let m1 = v1(format!("/machine/{}", w.m1.id));
    // An existing name is refused as Forbidden ...
    rejects!(s, PATCH m1, &w.bob_t, B::Json(json!({"bmc": w.spare_bmc.name})) => 403, "InvalidUsage", "Forbidden");
    // ... so an unknown one must be too, not "no BMC named".
    rejects!(s, PATCH m1, &w.bob_t, B::Json(json!({"bmc": "no-such-bmc"})) => 403, "InvalidUsage", "Forbidden");
    rejects!(s, POST v1("/machine"), &w.bob_t, B::Json(json!({"name": "zz", "arch": "arm64", "bmc": "no-such-bmc"})) => 403, "InvalidUsage", "Forbidden");
});

server_test!(cors, |s| {
    let w = World::build(s).await;
    let resp = s
        .client
        .request(M::OPTIONS, s.url("/api/v1/machine"))
        .header("Origin", "https://ui.example.org")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("access-control-allow-origin"));
    let resp = s
        .client
        .get(s.url("/api/v1/machine"))
        .header("Origin", "https://ui.example.org")
        .header("Authorization", &w.bob_t)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("access-control-allow-origin"));
});

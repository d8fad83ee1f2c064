//! `/image` (multipart upload as `mrp_client.py` sends it, files on disk) and `/preseed`.

use mr_provisioner_core::model::preseed::{InstallerKind, NewPreseed};
use mr_provisioner_core::store::{Page, Visibility};
use mr_provisioner_tests::{Method as M, TestServer, server_test, sha256_hex};
use serde_json::{Value, json};

use crate::world::{Body as B, World, refuses_malformed, rejects, v1};

const Q: &str = r#"{"description": "a kernel", "type": "Kernel", "arch": "arm64", "public": false, "known_good": true}"#;

fn names(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn is_hex8(s: &str) -> bool {
    s.len() == 8
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

server_test!(upload, |s| {
    let w = World::build(s).await;
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let r = s.upload(&w.alice_t, Q, "../../etc/pass wd", &bytes).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.json["name"].as_str().unwrap().to_string();
    let suffix = name
        .strip_prefix("alice/etc_pass_wd.")
        .unwrap_or_else(|| panic!("{name}"));
    assert!(is_hex8(suffix), "{name}");
    assert_eq!(r.json["sha256"], sha256_hex(&bytes));
    assert_eq!(r.json["size"], bytes.len());
    assert_eq!(r.json["user"], "alice");
    assert_eq!(r.json["arch"], "arm64");
    assert_eq!(r.json["type"], "Kernel");
    assert_eq!(
        (&r.json["public"], &r.json["known_good"]),
        (&json!(false), &json!(true))
    );
    let keys: Vec<&String> = r.json.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "arch",
            "description",
            "id",
            "known_good",
            "name",
            "public",
            "sha256",
            "size",
            "type",
            "upload_date",
            "user"
        ]
    );
    assert!(r.json["upload_date"].as_str().unwrap().ends_with(" GMT"));
    let path = s.tftp_root().join(&name);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    // Nothing else was written (no temporary file left behind).
    assert_eq!(mr_provisioner_tests::files_under(&s.tftp_root()).len(), 1);
    // The same name twice gets two files.
    let r2 = s.upload(&w.alice_t, Q, "../../etc/pass wd", b"v2").await;
    assert_eq!(r2.status, 201);
    assert_ne!(r2.json["name"], r.json["name"]);
    // Other client names, sanitised as Werkzeug did.
    for (client, prefix) in [
        ("vmlinuz-5.0", "alice/vmlinuz-5.0."),
        ("", "alice/."),
        ("a/b\\c", "alice/a_bc."),
        (".hidden", "alice/hidden."),
    ] {
        let r = s.upload(&w.alice_t, Q, client, b"x").await;
        assert_eq!(r.status, 201, "{client}: {}", r.text);
        let name = r.json["name"].as_str().unwrap();
        assert!(
            name.starts_with(prefix) && is_hex8(&name[prefix.len()..]),
            "{client:?} gave {name}"
        );
        assert!(s.tftp_root().join(name).is_file());
    }
    // Defaults: private, not known good, no description; a bootloader is fine for anyone.
    let r = s
        .upload(
            &w.bob_t,
            r#"{"type": "bootloader", "arch": "arm64"}"#,
            "grub.efi",
            b"x",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (
            &r.json["public"],
            &r.json["known_good"],
            &r.json["description"]
        ),
        (&json!(false), &json!(false), &Value::Null)
    );
    // GET answers the same object.
    let id = r.json["id"].as_i64().unwrap();
    assert_eq!(
        s.get_as(&v1(format!("/image/{id}")), &w.bob_t).await.json,
        r.json
    );
});

/// Sends a hand-made multipart form (the `reqwest` one cannot leave `q` out or reorder).
async fn multipart(
    s: &TestServer,
    token: &str,
    parts: &[(&str, Option<&str>, &str)],
) -> mr_provisioner_tests::Reply {
    let mut body = String::new();
    for (name, filename, content) in parts {
        body.push_str("--XyZ\r\n");
        match filename {
            Some(f) => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\r\n"
            )),
            None => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            )),
        }
        body.push_str(content);
        body.push_str("\r\n");
    }
    body.push_str("--XyZ--\r\n");
    let resp = s
        .client
        .post(s.url("/api/v1/image"))
        .header("Authorization", token)
        .header("Content-Type", "multipart/form-data; boundary=XyZ")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    mr_provisioner_tests::Reply {
        status,
        headers,
        text,
        json,
    }
}

server_test!(upload_errors, |s| {
    let w = World::build(s).await;
    let cases: Vec<(&str, &str, Option<&str>)> = vec![
        ("not json", "JSONDecodeError", None),
        ("[1]", "SchemaUnexpectedTypeError", None),
        (
            r#"{"arch": "arm64"}"#,
            "SchemaMissingKeyError",
            Some("Missing keys: 'type'"),
        ),
        (
            r#"{"type": "kernel", "arch": "arm64"}"#,
            "SchemaError",
            None,
        ),
        (
            r#"{"type": "Kernel", "arch": "arm64", "public": "yes"}"#,
            "SchemaUnexpectedTypeError",
            None,
        ),
        (
            r#"{"type": "Kernel", "arch": "arm64", "description": 5}"#,
            "SchemaUnexpectedTypeError",
            None,
        ),
        (
            r#"{"type": "Kernel"}"#,
            "InvalidUsage",
            Some("arch is required"),
        ),
        (
            r#"{"type": "Kernel", "arch": "nope"}"#,
            "InvalidUsage",
            Some("no such architecture"),
        ),
        (
            r#"{"type": "Kernel", "arch": null}"#,
            "InvalidUsage",
            Some("no such architecture"),
        ),
    ];
    for (q, error_type, message) in cases {
        let before = s.snapshot().await;
        let r = s.upload(&w.alice_t, q, "f", b"data").await;
        r.assert_error(400, error_type, message);
        mr_provisioner_tests::assert_snapshots_equal(&before, &s.snapshot().await, q);
    }
    let before = s.snapshot().await;
    // B11 fixed: no `q`, no file, a JSON body: 400 with a message, not 500.
    let r = multipart(s, &w.alice_t, &[("q", None, Q)]).await;
    r.assert_error(400, "InvalidUsage", Some("multipart `file` is required"));
    let r = multipart(s, &w.alice_t, &[("file", Some("f"), "data")]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    r.assert_envelope();
    let r = multipart(s, &w.alice_t, &[("other", None, "x")]).await;
    r.assert_error(400, "InvalidUsage", Some("multipart `q` is required"));
    let r = s.call(M::POST, &v1("/image"), None, Some("")).await;
    r.assert_error(401, "Unauthenticated", None);
    mr_provisioner_tests::assert_snapshots_equal(&before, &s.snapshot().await, "bad forms");
});

server_test!(upload_as_plain_json, |s| {
    let w = World::build(s).await;
    let before = s.snapshot().await;
    let r = s
        .post(
            &v1("/image"),
            &w.alice_t,
            &json!({"type": "Kernel", "arch": "arm64"}),
        )
        .await;
    r.assert_error(400, "InvalidUsage", None);
    mr_provisioner_tests::assert_snapshots_equal(&before, &s.snapshot().await, "JSON upload");
});

server_test!(upload_too_large, |s| {
    // A server with a 1 KiB upload limit.
    let Some(small) = mr_provisioner_tests::TestServer::start_with(s.db.backend(), |c| {
        c.files.max_upload_size = 1024
    })
    .await
    else {
        return;
    };
    let (_, token) = small.user_with_token("alice", false).await;
    small
        .store
        .arch_create(&mr_provisioner_core::model::arch::NewArch {
            name: "arm64".into(),
            description: None,
        })
        .await
        .unwrap();
    let before = small.snapshot().await;
    let r = small.upload(&token, Q, "big", &[7u8; 4096]).await;
    r.assert_error(413, "RequestEntityTooLarge", None);
    // Nothing left behind: no record, no file, no temporary file.
    mr_provisioner_tests::assert_snapshots_equal(&before, &small.snapshot().await, "413");
    assert!(mr_provisioner_tests::files_under(&small.tftp_root()).is_empty());
    let r = small.upload(&token, Q, "small", &[7u8; 1000]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    small.finish().await;
});

server_test!(image_get_list_update, |s| {
    let w = World::build(s).await;
    // Visibility: public images and one's own with show_all; only one's own without.
    let r = s.get_as(&v1("/image?show_all=true"), &w.bob_t).await;
    assert_eq!(
        names(&r.json),
        ["admin/grubaa64.efi", "carol/initrd.img", "carol/vmlinuz"]
    );
    assert_eq!(s.get_as(&v1("/image"), &w.bob_t).await.json, json!([]));
    let r = s.get_as(&v1("/image"), &w.carol_t).await;
    assert_eq!(
        names(&r.json),
        ["carol/initrd.img", "carol/secret-vmlinuz", "carol/vmlinuz"]
    );
    assert_eq!(
        s.get_as(&v1("/image?show_all=true"), &w.admin_t)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let private = v1(format!("/image/{}", w.private_kernel.id));
    s.get_as(&private, &w.bob_t)
        .await
        .assert_error(403, "InvalidUsage", Some("Forbidden"));
    assert_eq!(s.get_as(&private, &w.carol_t).await.status, 200);
    assert_eq!(s.get_as(&private, &w.admin_t).await.status, 200);
    s.get_as(&v1("/image/999999"), &w.bob_t).await.assert_error(
        404,
        "InvalidUsage",
        Some("image not found"),
    );
    s.get_as(&v1("/image/abc"), &w.bob_t).await.assert_error(
        404,
        "NotFound",
        Some("404: Not Found"),
    );

    let r = s
        .put(&private, &w.carol_t, &json!({"description": "renamed", "public": true, "arch": "spare", "type": "Initrd", "name": "ignored"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            r.json["description"].as_str(),
            r.json["arch"].as_str(),
            r.json["type"].as_str()
        ),
        (Some("renamed"), Some("spare"), Some("Initrd"))
    );
    assert_eq!(r.json["name"], "carol/secret-vmlinuz");
    assert!(s.store.image_get(w.private_kernel.id).await.unwrap().public);
    let r = s
        .put(
            &private,
            &w.admin_t,
            &json!({"description": null, "known_good": true}),
        )
        .await;
    assert_eq!(
        (r.status, &r.json["description"], &r.json["known_good"]),
        (200, &Value::Null, &json!(true))
    );

    let url = v1(format!("/image/{}", w.kernel.id));
    refuses_malformed(s, M::PUT, &url, &w.carol_t).await;
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (json!({"type": "kernel"}), "SchemaError", None),
        (json!({"public": 1}), "SchemaUnexpectedTypeError", None),
        (json!({"description": "x".repeat(257)}), "SchemaError", None),
        (
            json!({"arch": "nope"}),
            "InvalidUsage",
            Some("no such architecture"),
        ),
        (
            json!({"arch": null}),
            "InvalidUsage",
            Some("no such architecture"),
        ),
    ];
    for (body, error_type, message) in cases {
        rejects!(s, PUT url, &w.carol_t, B::Json(body) => 400, error_type, message);
    }
    // Public is not enough to change it: owner or admin only.
    for t in [&w.alice_t, &w.bob_t] {
        rejects!(s, PUT url, t, B::Json(json!({"public": false})) => 403, "InvalidUsage", "Forbidden");
    }
    rejects!(s, PUT v1("/image/999999"), &w.admin_t, B::Json(json!({})) => 404, "InvalidUsage", "image not found");
});

server_test!(image_delete, |s| {
    let w = World::build(s).await;
    let r = s.upload(&w.alice_t, Q, "vmlinuz", b"kernel bytes").await;
    let id = r.json["id"].as_i64().unwrap();
    let file = s.tftp_root().join(r.json["name"].as_str().unwrap());
    assert!(file.is_file());
    let url = v1(format!("/image/{id}"));
    for t in [&w.bob_t, &w.carol_t] {
        rejects!(s, DELETE url, t, B::None => 403, "InvalidUsage", "Forbidden");
    }
    // In use as m1's kernel: 409, and the file stays.
    let r = s
        .put(
            &v1(format!("/machine/{}", w.m1.id)),
            &w.alice_t,
            &json!({"kernel_id": id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    rejects!(s, DELETE url, &w.alice_t, B::None => 409, "InvalidUsage", "image is still in use and cannot be deleted");
    assert!(file.is_file());
    // A subarch's bootloader is in use too.
    rejects!(s, DELETE v1(format!("/image/{}", w.bootloader.id)), &w.admin_t, B::None => 409, "InvalidUsage");
    s.put(
        &v1(format!("/machine/{}", w.m1.id)),
        &w.alice_t,
        &json!({"kernel_id": null}),
    )
    .await;
    // B12 fixed: DELETE removes the file.
    let r = s.delete(&url, &w.alice_t).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert!(!file.exists());
    s.get_as(&url, &w.alice_t)
        .await
        .assert_error(404, "InvalidUsage", Some("image not found"));
    rejects!(s, DELETE url, &w.admin_t, B::None => 404, "InvalidUsage", "image not found");
    // An admin deletes someone else's (a record without a file is fine too).
    let r = s
        .delete(&v1(format!("/image/{}", w.private_kernel.id)), &w.admin_t)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let audit = s
        .store
        .audit_list(Page {
            before: None,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(audit[0].action, "image.delete");
});

server_test!(preseeds, |s| {
    let w = World::build(s).await;
    let body = json!({"name": "kick", "type": "kickstart", "content": "text\n", "description": null, "x": 1});
    let r = s.post(&v1("/preseed"), &w.bob_t, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.text,
        format!(
            r#"{{"content":"text\n","description":null,"id":{},"known_good":false,"name":"kick","public":false,"type":"kickstart","user":"bob"}}"#,
            r.json["id"]
        )
    );
    let id = r.json["id"].as_i64().unwrap();
    // Absent content is empty text; explicit null is null.
    let r = s
        .post(
            &v1("/preseed"),
            &w.bob_t,
            &json!({"name": "empty", "type": "autoyast"}),
        )
        .await;
    assert_eq!(r.json["content"], "");
    let r = s
        .post(
            &v1("/preseed"),
            &w.bob_t,
            &json!({"name": "nulled", "type": "preseed", "content": null}),
        )
        .await;
    assert_eq!(r.json["content"], Value::Null);
    // Lists.
    let listed = s.get_as(&v1("/preseed"), &w.bob_t).await;
    assert_eq!(names(&listed.json), ["empty", "kick", "nulled"]);
    let visible = s.get_as(&v1("/preseed?show_all=true"), &w.bob_t).await;
    assert_eq!(names(&visible.json), ["empty", "kick", "nulled", "seed"]);
    assert_eq!(
        s.get_as(&v1("/preseed?show_all=true"), &w.admin_t)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // B6 fixed: a config without an owner lists with `"user": null`.
    s.store
        .preseed_create(&NewPreseed {
            name: "imported".into(),
            description: None,
            kind: InstallerKind::Preseed,
            content: None,
            owner_id: None,
            known_good: false,
            public: true,
        })
        .await
        .unwrap();
    let r = s.get_as(&v1("/preseed?show_all=true"), &w.bob_t).await;
    assert_eq!(r.status, 200);
    let imported = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "imported")
        .unwrap()
        .clone();
    assert_eq!(imported["user"], Value::Null);
    // Get.
    let private = v1(format!("/preseed/{}", w.private_preseed.id));
    s.get_as(&private, &w.bob_t)
        .await
        .assert_error(403, "InvalidUsage", Some("Forbidden"));
    assert_eq!(
        s.get_as(&private, &w.carol_t).await.json["name"],
        "secret-seed"
    );
    assert_eq!(s.get_as(&private, &w.admin_t).await.status, 200);
    s.get_as(&v1("/preseed/999999"), &w.bob_t)
        .await
        .assert_error(404, "InvalidUsage", Some("preseed not found"));
    // Update.
    let url = v1(format!("/preseed/{id}"));
    let r = s
        .put(
            &url,
            &w.bob_t,
            &json!({"name": "kick2", "public": true, "content": "new", "known_good": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.json["name"].as_str(), r.json["content"].as_str()),
        (Some("kick2"), Some("new"))
    );
    let stored = s
        .store
        .preseed_get(mr_provisioner_core::id::PreseedId(id))
        .await
        .unwrap();
    assert!(stored.public && stored.known_good);
    // Create and update errors.
    refuses_malformed(s, M::POST, &v1("/preseed"), &w.bob_t).await;
    refuses_malformed(s, M::PUT, &url, &w.bob_t).await;
    let create: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({"type": "preseed"}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'name'"),
        ),
        (
            json!({"name": "zz"}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'type'"),
        ),
        (
            json!({"name": "z", "type": "preseed"}),
            400,
            "SchemaError",
            None,
        ),
        (
            json!({"name": "zz", "type": "cloud-init"}),
            400,
            "SchemaError",
            None,
        ),
        (
            json!({"name": "zz", "type": "preseed", "public": "true"}),
            400,
            "SchemaUnexpectedTypeError",
            None,
        ),
        (
            json!({"name": "zz", "type": "preseed", "content": 1}),
            400,
            "SchemaUnexpectedTypeError",
            None,
        ),
        (
            json!({"name": "seed", "type": "preseed"}),
            409,
            "IntegrityError",
            Some("preseed with this name already exists"),
        ),
    ];
    for (body, status, error_type, message) in create {
        rejects!(s, POST v1("/preseed"), &w.bob_t, B::Json(body) => status, error_type, message);
    }
    let update: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({"name": null}),
            400,
            "SchemaUnexpectedTypeError",
            None,
        ),
        (json!({"type": "bogus"}), 400, "SchemaError", None),
        (
            json!({"name": "seed"}),
            409,
            "IntegrityError",
            Some("preseed with this name already exists"),
        ),
    ];
    for (body, status, error_type, message) in update {
        rejects!(s, PUT url, &w.bob_t, B::Json(body) => status, error_type, message);
    }
    for t in [&w.alice_t, &w.carol_t] {
        rejects!(s, PUT url, t, B::Json(json!({"public": false})) => 403, "InvalidUsage", "Forbidden");
        rejects!(s, DELETE url, t, B::None => 403, "InvalidUsage", "Forbidden");
    }
    rejects!(s, PUT v1("/preseed/999999"), &w.admin_t, B::Json(json!({})) => 404, "InvalidUsage", "preseed not found");
    // Delete: in use is 409.
    let r = s
        .put(
            &v1(format!("/machine/{}", w.m1.id)),
            &w.alice_t,
            &json!({"preseed_id": id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    rejects!(s, DELETE url, &w.bob_t, B::None => 409, "InvalidUsage", "preseed is still in use and cannot be deleted");
    s.put(
        &v1(format!("/machine/{}", w.m1.id)),
        &w.alice_t,
        &json!({"preseed_id": null}),
    )
    .await;
    let r = s.delete(&url, &w.bob_t).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    rejects!(s, DELETE url, &w.admin_t, B::None => 404, "InvalidUsage", "preseed not found");
    let left = s
        .store
        .preseed_list(Visibility::OwnedBy(w.bob.id))
        .await
        .unwrap();
    assert_eq!(left.len(), 2);
});

server_test!(preseed_and_body_sizes, |s| {
    let w = World::build(s).await;
    // Content up to 2 MiB (in characters) is fine; one more is a schema error.
    let max = "x".repeat(2 * 1024 * 1024);
    let r = s
        .post(
            &v1("/preseed"),
            &w.bob_t,
            &json!({"name": "big", "type": "preseed", "content": max}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", &r.text[..200.min(r.text.len())]);
    let over = format!("{max}x");
    rejects!(s, POST v1("/preseed"), &w.bob_t, B::Json(json!({"name": "bigger", "type": "preseed", "content": over})) => 400, "SchemaError");
    // A JSON body over 8 MiB is refused before it is parsed.
    let huge = format!(
        "{{\"name\": \"huge\", \"type\": \"preseed\", \"content\": \"{}\"}}",
        "y".repeat(9 * 1024 * 1024)
    );
    rejects!(s, POST v1("/preseed"), &w.bob_t, B::Raw(&huge) => 413, "RequestEntityTooLarge");
});

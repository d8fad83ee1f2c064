//! `GET /api/v1/machine`: authentication forms, `show_all`, the exact JSON, and `q`.

use mr_provisioner_core::id::UserId;
use mr_provisioner_core::model::arch::{NewArch, NewSubarch};
use mr_provisioner_core::model::assignment::NewAssignment;
use mr_provisioner_core::model::bmc::NewBmc;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::store::Store;
use mr_provisioner_ipmi::{BmcKind, Privilege};
use mr_provisioner_tests::server_test;
use serde_json::Value;

/// Three machines as in the spec's query examples: `m1.lab_x` (plain BMC, arm64/efi,
/// assigned to `user`), `m2` (Moonshot BMC, arm64), `m3` (no BMC, x86_64).
async fn fixture(store: &dyn Store, user: UserId) {
    let arm = store
        .arch_create(&NewArch {
            name: "arm64".into(),
            description: None,
        })
        .await
        .unwrap();
    let x86 = store
        .arch_create(&NewArch {
            name: "x86_64".into(),
            description: None,
        })
        .await
        .unwrap();
    let efi = store
        .subarch_create(&NewSubarch {
            arch_id: arm.id,
            name: "efi".into(),
            description: None,
            bootloader_id: None,
            efiboot: true,
        })
        .await
        .unwrap();
    let bmc = |name: &str, address: &str, kind| NewBmc {
        name: name.into(),
        address: address.into(),
        port: None,
        username: "admin".into(),
        password: "password".into(),
        kind,
        privilege: Privilege::Administrator,
        cipher_suite: None,
        retries: None,
        timeout_ms: None,
    };
    let plain = store
        .bmc_create(&bmc("bmc plain", "10.0.0.98", BmcKind::Plain))
        .await
        .unwrap();
    let moon = store
        .bmc_create(&bmc("bmc moonshot", "10.0.0.99", BmcKind::Moonshot))
        .await
        .unwrap();
    let mut m1 = NewMachine::named("m1.lab_x", arm.id);
    m1.subarch_id = Some(efi.id);
    m1.bmc_id = Some(plain.id);
    m1.kernel_opts = "console=ttyAMA0".into();
    let m1 = store.machine_create(&m1).await.unwrap();
    let mut m2 = NewMachine::named("m2", arm.id);
    m2.bmc_id = Some(moon.id);
    m2.bmc_info = "3".into();
    store.machine_create(&m2).await.unwrap();
    store
        .machine_create(&NewMachine::named("m3", x86.id))
        .await
        .unwrap();
    store
        .assignment_create(&NewAssignment {
            machine_id: m1.id,
            user_id: user,
            reason: "testing".into(),
            end: None,
        })
        .await
        .unwrap();
}

async fn names(resp: reqwest::Response) -> Vec<String> {
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body.as_array()
        .expect("a JSON array")
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

server_test!(authentication_forms, |s| {
    let (_, token) = s.user_with_token("alice", false).await;
    // Real tokens are base64 of 32 bytes, with `=` padding: clients must get them intact.
    assert_eq!(token.len(), 44);
    assert!(token.ends_with('='));
    let url = s.url("/api/v1/machine");
    let with = |value: Option<String>| {
        let mut req = s.client.get(&url);
        if let Some(v) = value {
            req = req.header("Authorization", v);
        }
        req.send()
    };
    assert_eq!(with(Some(token.clone())).await.unwrap().status(), 200);
    assert_eq!(
        with(Some(format!("Bearer {token}")))
            .await
            .unwrap()
            .status(),
        200
    );
    for bad in [
        None,
        Some(String::new()),
        Some("Bearer INVALID".to_string()),
        Some(format!("bearer {token}")),
        Some(format!("Token {token}")),
        Some(format!("Bearer  {token}")),
        Some(format!("X{token}")),
    ] {
        let resp = with(bad.clone()).await.unwrap();
        assert_eq!(resp.status(), 401, "{bad:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error_type"], "Unauthenticated");
        assert!(body["errors"].is_array());
    }
});

server_test!(show_all_semantics, |s| {
    let (alice, alice_token) = s.user_with_token("alice", false).await;
    let (_, admin_token) = s.user_with_token("boss", true).await;
    fixture(s.store.as_ref(), alice.id).await;
    let all = vec!["m1.lab_x".to_string(), "m2".into(), "m3".into()];
    // Without show_all: only the caller's assigned machines (the clients' lookup relies on it).
    assert_eq!(
        names(s.get("/api/v1/machine", &alice_token).await).await,
        ["m1.lab_x"]
    );
    assert_eq!(
        names(s.get("/api/v1/machine?show_all=false", &alice_token).await).await,
        ["m1.lab_x"]
    );
    for on in ["true", "TRUE", "True"] {
        let path = format!("/api/v1/machine?show_all={on}");
        assert_eq!(names(s.get(&path, &alice_token).await).await, all);
    }
    for off in ["1", "yes", ""] {
        let path = format!("/api/v1/machine?show_all={off}");
        assert_eq!(
            names(s.get(&path, &alice_token).await).await,
            ["m1.lab_x"],
            "{off}"
        );
    }
    // Admins too see only their own machines without show_all, as in the original.
    assert!(
        names(s.get("/api/v1/machine", &admin_token).await)
            .await
            .is_empty()
    );
    assert_eq!(
        names(s.get("/api/v1/machine?show_all=true", &admin_token).await).await,
        all
    );
});

server_test!(exact_json, |s| {
    let (alice, token) = s.user_with_token("alice", false).await;
    fixture(s.store.as_ref(), alice.id).await;
    let resp = s.get("/api/v1/machine", &token).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let text = resp.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    let id = body[0]["id"].as_i64().unwrap();
    // Keys in sorted order (clients print them in wire order), values as the original.
    let expected = format!(
        r#"[{{"arch":"arm64","hostname":"m1-lab-x","id":{id},"initrd_id":null,"kernel_id":null,"kernel_opts":"console=ttyAMA0","name":"m1.lab_x","netboot_enabled":false,"preseed_id":null,"subarch":"efi"}}]"#
    );
    assert_eq!(text, expected);
    let all: Value = s
        .get("/api/v1/machine?show_all=true", &token)
        .await
        .json()
        .await
        .unwrap();
    let m3 = &all[2];
    assert_eq!(m3["arch"], "x86_64");
    assert_eq!(m3["subarch"], Value::Null);
    assert_eq!(m3["kernel_opts"], "");
});

server_test!(query_filter, |s| {
    let (alice, token) = s.user_with_token("alice", false).await;
    fixture(s.store.as_ref(), alice.id).await;
    // As the clients send it: raw parentheses and `=`, spaces and quotes percent-encoded.
    let path = "/api/v1/machine?q=(=%20name%20%22m2%22)&show_all=true";
    assert_eq!(names(s.get(path, &token).await).await, ["m2"]);
    // The clients' own lookup: by name, among the caller's machines.
    let path = "/api/v1/machine?q=(=%20name%20%22m1.lab_x%22)&show_all=false";
    assert_eq!(names(s.get(path, &token).await).await, ["m1.lab_x"]);
    let cases = [
        ("(= bmc_type \"moonshot\")", vec!["m2"]),
        (
            "(or (= bmc_type \"moonshot\") (= bmc_type \"plain\"))",
            vec!["m1.lab_x", "m2"],
        ),
        ("(= bmc_type \"\")", vec!["m3"]),
        ("(and (= arch \"arm64\") (= assignee_count 0))", vec!["m2"]),
        ("(=~ name \"M\")", vec![]),
        ("(=~ name \"_\")", vec!["m1.lab_x"]),
        ("(!= name nil)", vec!["m1.lab_x", "m2", "m3"]),
        ("", vec!["m1.lab_x", "m2", "m3"]),
    ];
    for (q, want) in cases {
        let resp = s
            .client
            .get(s.url("/api/v1/machine"))
            .query(&[("q", q), ("show_all", "true")])
            .header("Authorization", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(names(resp).await, want, "{q}");
    }
});

server_test!(bad_queries_are_400_never_500, |s| {
    let (_, token) = s.user_with_token("alice", false).await;
    for q in [
        "   ",
        "()",
        "(= name \"x\"",
        "(= name \"x\"))",
        "(= name)",
        "(=~ name 5)",
        "5",
        "\"1=1\"",
        "(or \"true\" (= name \"x\"))",
        "(= state \"x\")",
        "(= name 5)",
    ] {
        let resp = s
            .client
            .get(s.url("/api/v1/machine"))
            .query(&[("q", q)])
            .header("Authorization", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{q}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error_type"], "InvalidUsage", "{q}");
        let message = body["errors"][0].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.contains("SELECT"),
            "{q}: {message}"
        );
    }
});

server_test!(healthz, |s| {
    let resp = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
});

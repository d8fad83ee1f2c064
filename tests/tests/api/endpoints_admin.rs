//! Administrative resources, part 1: users, tokens and BMCs.

use mr_provisioner_core::accounts;
use mr_provisioner_core::store::Page;
use mr_provisioner_tests::{Method as M, server_test};
use serde_json::{Value, json};

use crate::world::{BMC_PASSWORD, Body as B, World, refuses_malformed, rejects, v1};

fn field(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|i| i[key].as_str().unwrap().to_string())
        .collect()
}

server_test!(users, |s| {
    let w = World::build(s).await;
    let r = s.get_as(&v1("/user"), &w.admin_t).await;
    assert_eq!(
        field(&r.json, "username"),
        ["admin", "alice", "bob", "carol", "dave"]
    );
    assert!(
        !r.text.contains("password") && !r.text.contains("$argon2"),
        "{}",
        r.text
    );
    // Others see only themselves.
    let r = s.get_as(&v1("/user"), &w.bob_t).await;
    assert_eq!(field(&r.json, "username"), ["bob"]);
    assert_eq!(
        s.get_as(&v1("/user/self"), &w.bob_t).await.json["username"],
        "bob"
    );
    assert_eq!(
        s.get_as(&v1(format!("/user/{}", w.bob.id)), &w.bob_t)
            .await
            .status,
        200
    );
    s.get_as(&v1(format!("/user/{}", w.alice.id)), &w.bob_t)
        .await
        .assert_error(403, "InvalidUsage", Some("Forbidden"));
    assert_eq!(
        s.get_as(&v1(format!("/user/{}", w.alice.id)), &w.admin_t)
            .await
            .json["email"],
        "alice@example.com"
    );
    s.get_as(&v1("/user/999999"), &w.admin_t)
        .await
        .assert_error(404, "InvalidUsage", Some("user not found"));

    // Create: the generated password is shown once.
    let r = s
        .post(
            &v1("/user"),
            &w.admin_t,
            &json!({"username": "erin", "email": "erin@example.com"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let password = r.json["password"].as_str().unwrap().to_string();
    assert!(
        accounts::login(s.store.as_ref(), "erin", &password)
            .await
            .is_ok()
    );
    let erin = r.json["id"].as_i64().unwrap();
    let again = s.get_as(&v1(format!("/user/{erin}")), &w.admin_t).await;
    assert!(again.json.get("password").is_none());
    assert_eq!(again.json["admin"], false);
    let r = s
        .post(
            &v1("/user"),
            &w.admin_t,
            &json!({"username": "frank", "password": "a long password", "admin": true}),
        )
        .await;
    assert_eq!(
        (r.status, r.json.get("password")),
        (201, None),
        "{}",
        r.text
    );
    let audit = s
        .store
        .audit_list(Page {
            before: None,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[1].action.as_str()),
        ("user.create", "user.create")
    );
    refuses_malformed(s, M::POST, &v1("/user"), &w.admin_t).await;
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'username'"),
        ),
        (
            json!({"username": "gus", "x": 1}),
            400,
            "SchemaWrongKeyError",
            Some("Wrong keys 'x'"),
        ),
        (json!({"username": "g"}), 400, "SchemaError", None),
        (
            json!({"username": "gus", "admin": "yes"}),
            400,
            "SchemaUnexpectedTypeError",
            None,
        ),
        (
            json!({"username": "gus", "password": "short"}),
            400,
            "SchemaError",
            None,
        ),
        (
            json!({"username": "self"}),
            400,
            "InvalidUsage",
            Some("username `self` is reserved"),
        ),
        (
            json!({"username": "g u s"}),
            400,
            "InvalidUsage",
            Some("username must not contain whitespace"),
        ),
        (
            json!({"username": "bob"}),
            409,
            "IntegrityError",
            Some("user with this username already exists"),
        ),
    ];
    for (body, status, error_type, message) in cases {
        rejects!(s, POST v1("/user"), &w.admin_t, B::Json(body) => status, error_type, message);
    }
    rejects!(s, POST v1("/user"), &w.bob_t, B::Json(json!({"username": "gus"})) => 403, "InvalidUsage", "Forbidden");

    // Update: oneself (email, SSH key), admins (also username, admin flag).
    let r = s
        .put(
            &v1("/user/self"),
            &w.bob_t,
            &json!({"ssh_key": "ssh-ed25519 AAAA bob", "email": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.json["ssh_key"].as_str(), &r.json["email"]),
        (Some("ssh-ed25519 AAAA bob"), &Value::Null)
    );
    // No privilege escalation, no renaming oneself.
    for body in [json!({"admin": true}), json!({"username": "bobby"})] {
        rejects!(s, PUT v1("/user/self"), &w.bob_t, B::Json(body) => 403, "InvalidUsage", "only administrators change usernames and the admin flag");
    }
    rejects!(s, PUT v1(format!("/user/{}", w.alice.id)), &w.bob_t, B::Json(json!({"ssh_key": "x"})) => 403, "InvalidUsage", "Forbidden");
    rejects!(s, PUT v1("/user/self"), &w.bob_t, B::Json(json!({"password": "x"})) => 400, "SchemaWrongKeyError");
    rejects!(s, PUT v1(format!("/user/{}", w.alice.id)), &w.admin_t, B::Json(json!({"username": "bob"})) => 409, "IntegrityError");
    let r = s
        .put(
            &v1(format!("/user/{}", w.alice.id)),
            &w.admin_t,
            &json!({"admin": true, "username": "alicia"}),
        )
        .await;
    assert_eq!(
        (r.json["admin"].as_bool(), r.json["username"].as_str()),
        (Some(true), Some("alicia")),
        "{}",
        r.text
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
        "user.update"
    );
    // The change of rights takes effect at once, also for tokens just used (the server
    // caches authentications).
    assert_eq!(s.get_as(&v1("/bmc"), &w.alice_t).await.status, 200);
    let r = s
        .put(
            &v1(format!("/user/{}", w.alice.id)),
            &w.admin_t,
            &json!({"admin": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    s.get_as(&v1("/bmc"), &w.alice_t)
        .await
        .assert_error(403, "InvalidUsage", Some("Forbidden"));
    assert_eq!(
        s.get_as(&v1("/user/self"), &w.alice_t).await.json["username"],
        "alicia"
    );

    // Passwords.
    accounts::set_password(s.store.as_ref(), w.bob.id, "old password")
        .await
        .unwrap();
    let pw = v1("/user/self/password");
    rejects!(s, PUT pw, &w.bob_t, B::Json(json!({"password": "new password", "current_password": "wrong one"})) => 403, "InvalidUsage", "the current password is wrong");
    rejects!(s, PUT pw, &w.bob_t, B::Json(json!({"current_password": "old password"})) => 400, "SchemaMissingKeyError");
    rejects!(s, PUT pw, &w.bob_t, B::Json(json!({"password": "x", "current_password": "old password"})) => 400, "InvalidUsage");
    rejects!(s, PUT v1(format!("/user/{}/password", w.carol.id)), &w.bob_t, B::Json(json!({"password": "new password"})) => 403, "InvalidUsage", "Forbidden");
    let r = s
        .put(
            &pw,
            &w.bob_t,
            &json!({"password": "new password", "current_password": "old password"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(
        accounts::login(s.store.as_ref(), "bob", "new password")
            .await
            .is_ok()
    );
    let r = s
        .put(
            &v1(format!("/user/{}/password", w.carol.id)),
            &w.admin_t,
            &json!({"password": "set by admin"}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(
        accounts::login(s.store.as_ref(), "carol", "set by admin")
            .await
            .is_ok()
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
        "user.passwd"
    );

    // Delete.
    let dave = v1(format!("/user/{}", w.dave.id));
    rejects!(s, DELETE dave, &w.bob_t, B::None => 403, "InvalidUsage", "Forbidden");
    rejects!(s, DELETE v1("/user/self"), &w.admin_t, B::None => 409, "InvalidUsage", "administrators cannot delete themselves");
    rejects!(s, DELETE v1("/user/999999"), &w.admin_t, B::None => 404, "InvalidUsage", "user not found");
    // carol owns images and configs: refused.
    rejects!(s, DELETE v1(format!("/user/{}", w.carol.id)), &w.admin_t, B::None => 409, "InvalidUsage");
    let dave_t = s.token_for(&w.dave).await;
    assert_eq!(s.get_as(&v1("/machine"), &dave_t).await.status, 200);
    let r = s.delete(&dave, &w.admin_t).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(s.store.user_by_name("dave").await.unwrap().is_none());
    // Their token stops working at once.
    s.get_as(&v1("/machine"), &dave_t)
        .await
        .assert_error(401, "Unauthenticated", None);
});

server_test!(tokens, |s| {
    let w = World::build(s).await;
    let r = s
        .post(&v1("/token"), &w.bob_t, &json!({"description": "ci"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let secret = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 44);
    let id = r.json["id"].as_i64().unwrap();
    // The new token works, in both header forms.
    assert_eq!(s.get_as(&v1("/machine"), &secret).await.status, 200);
    assert_eq!(
        s.get_as(&v1("/machine"), &format!("Bearer {secret}"))
            .await
            .status,
        200
    );
    // The secret is shown once: never in a listing.
    let list = s.get_as(&v1("/token"), &w.bob_t).await;
    assert!(!list.text.contains(&secret), "{}", list.text);
    assert!(
        list.json
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("token").is_none())
    );
    let mine = field(&list.json, "description");
    assert_eq!(mine, ["test", "ci"]);
    assert!(
        s.get_as(&v1("/token"), &w.alice_t)
            .await
            .json
            .as_array()
            .unwrap()
            .len()
            == 1,
        "only one's own"
    );
    refuses_malformed(s, M::POST, &v1("/token"), &w.bob_t).await;
    rejects!(s, POST v1("/token"), &w.bob_t, B::Json(json!({"description": "x".repeat(141)})) => 400, "SchemaError");
    rejects!(s, POST v1("/token"), &w.bob_t, B::Json(json!({"user": "alice"})) => 400, "SchemaWrongKeyError");
    // Someone else's token is as good as not there.
    let url = v1(format!("/token/{id}"));
    rejects!(s, DELETE url, &w.alice_t, B::None => 404, "InvalidUsage", "token not found");
    rejects!(s, DELETE v1("/token/999999"), &w.bob_t, B::None => 404, "InvalidUsage", "token not found");
    let r = s.delete(&url, &w.bob_t).await;
    assert_eq!(r.status, 204, "{}", r.text);
    s.get_as(&v1("/machine"), &secret)
        .await
        .assert_error(401, "Unauthenticated", None);
    // Admins revoke anyone's (audited).
    let (tok, other) = accounts::create_token(s.store.as_ref(), w.alice.id, "x")
        .await
        .unwrap();
    let r = s
        .delete(&v1(format!("/token/{}", tok.id)), &w.admin_t)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    s.get_as(&v1("/machine"), &other)
        .await
        .assert_error(401, "Unauthenticated", None);
    assert_eq!(
        s.store
            .audit_list(Page {
                before: None,
                limit: 1
            })
            .await
            .unwrap()[0]
            .action,
        "token.revoke"
    );
});

server_test!(bmcs, |s| {
    let w = World::build(s).await;
    let body = json!({"name": "new-bmc", "address": "bmc1.lab", "type": "sim", "username": "root", "password": BMC_PASSWORD, "port": 623, "privilege": "operator", "timeout_ms": 5000});
    let r = s.post(&v1("/bmc"), &w.admin_t, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (
            r.json["password_set"].as_bool(),
            r.json["type"].as_str(),
            r.json["port"].as_u64()
        ),
        (Some(true), Some("sim"), Some(623))
    );
    assert!(r.json.get("password").is_none());
    let id = r.json["id"].as_i64().unwrap();
    let url = v1(format!("/bmc/{id}"));
    // The password is write-only: in no answer.
    for path in [
        v1("/bmc"),
        url.clone(),
        v1(format!("/bmc/{}", w.sim_bmc.id)),
    ] {
        let r = s.get_as(&path, &w.admin_t).await;
        assert_eq!(r.status, 200);
        assert!(!r.text.contains(BMC_PASSWORD), "{path}: {}", r.text);
    }
    let r = s
        .put(
            &url,
            &w.admin_t,
            &json!({"username": "admin2", "port": null}),
        )
        .await;
    assert_eq!(
        (r.status, &r.json["port"], &r.json["username"]),
        (200, &Value::Null, &json!("admin2")),
        "{}",
        r.text
    );
    assert!(!r.text.contains(BMC_PASSWORD));
    let stored = s
        .store
        .bmc_get(mr_provisioner_core::id::BmcId(id))
        .await
        .unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&stored.password),
        BMC_PASSWORD,
        "an absent password stays"
    );
    let audit = s
        .store
        .audit_list(Page {
            before: None,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(audit[0].action, "bmc.update");
    assert!(!audit[0].detail.to_string().contains(BMC_PASSWORD));

    refuses_malformed(s, M::POST, &v1("/bmc"), &w.admin_t).await;
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({"name": "b2", "address": "10.9.9.9"}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'type'"),
        ),
        (
            json!({"name": "b2", "address": "10.9.9.9", "type": "ipmi"}),
            400,
            "SchemaError",
            None,
        ),
        (
            json!({"name": "b2", "address": "10.9.9.9", "type": "plain", "x": 1}),
            400,
            "SchemaWrongKeyError",
            None,
        ),
        (
            json!({"name": "b2", "address": "not an address!", "type": "plain"}),
            400,
            "InvalidUsage",
            None,
        ),
        (
            json!({"name": "b2", "address": "10.9.9.9", "type": "plain", "port": 70000}),
            400,
            "InvalidUsage",
            None,
        ),
        (
            json!({"name": "b2", "address": "10.9.9.9", "type": "plain", "timeout_ms": 1}),
            400,
            "InvalidUsage",
            None,
        ),
        (
            json!({"name": "new-bmc", "address": "10.9.9.9", "type": "plain"}),
            409,
            "IntegrityError",
            Some("BMC with this name already exists"),
        ),
    ];
    for (body, status, error_type, message) in cases {
        rejects!(s, POST v1("/bmc"), &w.admin_t, B::Json(body) => status, error_type, message);
    }
    for (m, path, body) in [
        (M::GET, v1("/bmc"), B::None),
        (M::GET, url.clone(), B::None),
        (
            M::POST,
            v1("/bmc"),
            B::Json(json!({"name": "b3", "address": "10.9.9.9", "type": "plain"})),
        ),
        (M::PUT, url.clone(), B::Json(json!({"name": "b3"}))),
        (M::DELETE, url.clone(), B::None),
    ] {
        rejects!(s, (m) path, &w.alice_t, body => 403, "InvalidUsage", "Forbidden");
    }
    // Used by m1: a kind m1's BMC info does not fit is refused, and so is deleting it.
    s.patch(
        &v1(format!("/machine/{}", w.m1.id)),
        &w.admin_t,
        &json!({"bmc_info": "slot x"}),
    )
    .await;
    rejects!(s, PUT v1(format!("/bmc/{}", w.sim_bmc.id)), &w.admin_t, B::Json(json!({"type": "moonshot"})) => 409, "InvalidUsage");
    rejects!(s, DELETE v1(format!("/bmc/{}", w.sim_bmc.id)), &w.admin_t, B::None => 409, "InvalidUsage", "BMC is still in use and cannot be deleted");
    rejects!(s, DELETE v1("/bmc/999999"), &w.admin_t, B::None => 404, "InvalidUsage", "BMC not found");
    let r = s.delete(&url, &w.admin_t).await;
    assert_eq!(r.status, 204);
    s.get_as(&url, &w.admin_t)
        .await
        .assert_error(404, "InvalidUsage", Some("BMC not found"));
});

//! `/machine/{id}/assignee[/{aid|self}]`: listing, assigning (admins), changing and ending
//! assignments (admins or the holder), with every error path.

use mr_provisioner_core::model::assignment::NewAssignment;
use mr_provisioner_core::model::event::EventKind;
use mr_provisioner_core::store::Page;
use mr_provisioner_tests::{Method as M, server_test};
use serde_json::{Value, json};

use crate::world::{Body as B, World, refuses_malformed, rejects, v1};

server_test!(list_and_get, |s| {
    let w = World::build(s).await;
    let base = v1(format!("/machine/{}/assignee", w.m1.id));
    let r = s.get_as(&base, &w.bob_t).await;
    assert_eq!(r.status, 200);
    let list = r.json.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let a = &list[0];
    let keys: Vec<&String> = a.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "reason", "start", "until", "user"]);
    assert!(
        r.text.find("\"id\"") < r.text.find("\"user\""),
        "sorted keys"
    );
    assert_eq!(a["id"], w.a1.id.0);
    assert_eq!(a["user"], "alice");
    assert_eq!(a["reason"], "testing");
    assert_eq!(a["until"], Value::Null);
    assert!(chrono::DateTime::parse_from_rfc3339(a["start"].as_str().unwrap()).is_ok());
    let one = s.get_as(&format!("{base}/{}", w.a1.id), &w.bob_t).await;
    assert_eq!(one.json, *a);
    let own = s.get_as(&format!("{base}/self"), &w.alice_t).await;
    assert_eq!(own.json, *a);
    // An assignment of another machine is not one of this machine's.
    let other = s
        .store
        .assignment_create(&NewAssignment {
            machine_id: w.m2.id,
            user_id: w.bob.id,
            reason: String::new(),
            end: None,
        })
        .await
        .unwrap();
    for (path, token) in [
        (format!("{base}/{}", other.id), &w.bob_t),
        (format!("{base}/999999"), &w.bob_t),
        (format!("{base}/self"), &w.bob_t),
        (format!("{base}/self"), &w.admin_t),
    ] {
        let r = s.get_as(&path, token).await;
        r.assert_error(404, "InvalidUsage", Some("assignee not found"));
    }
    // B7 fixed: neither a number nor `self` is a clear 400, not a 500.
    let r = s.get_as(&format!("{base}/foo"), &w.bob_t).await;
    r.assert_error(
        400,
        "InvalidUsage",
        Some("assignee id must be a number or `self`, not \"foo\""),
    );
    let r = s.get_as(&v1("/machine/999999/assignee"), &w.bob_t).await;
    r.assert_error(404, "InvalidUsage", Some("machine not found"));
    let r = s
        .get_as(&v1("/machine/999999/assignee/self"), &w.bob_t)
        .await;
    r.assert_error(404, "InvalidUsage", Some("machine not found"));
});

server_test!(assign, |s| {
    let w = World::build(s).await;
    let base = v1(format!("/machine/{}/assignee", w.m1.id));
    let r = s
        .post(
            &base,
            &w.admin_t,
            &json!({"user": "bob", "reason": "pairing", "until": "2099-06-01T12:00:00Z", "x": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["user"], "bob");
    assert_eq!(r.json["reason"], "pairing");
    assert_eq!(r.json["until"], "2099-06-01T12:00:00+00:00");
    let stored = s.store.assignment_list_for_machine(w.m1.id).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].user_id, w.bob.id);
    assert_eq!(r.json["id"], stored[1].id.0);
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
    assert_eq!(ev[0].kind, EventKind::Assigned);
    assert_eq!(ev[0].info["user"], "bob");
    let audit = s
        .store
        .audit_list(Page {
            before: None,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(audit[0].action, "assignment.create");
    // A null reason is an empty one.
    let r = s
        .post(&base, &w.admin_t, &json!({"user": "carol", "reason": null}))
        .await;
    assert_eq!((r.status, &r.json["reason"]), (201, &json!("")));

    refuses_malformed(s, M::POST, &base, &w.admin_t).await;
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'user'"),
        ),
        (
            json!({"reason": "x"}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'user'"),
        ),
        (json!({"user": 5}), 400, "SchemaUnexpectedTypeError", None),
        (
            json!({"user": null}),
            400,
            "SchemaUnexpectedTypeError",
            None,
        ),
        (
            json!({"user": "dave", "reason": "x".repeat(141)}),
            400,
            "SchemaError",
            None,
        ),
        (
            json!({"user": "dave", "until": "soon"}),
            400,
            "SchemaError",
            None,
        ),
        (
            json!({"user": "nobody"}),
            400,
            "InvalidUsage",
            Some("no such user"),
        ),
        (
            json!({"user": "alice"}),
            409,
            "InvalidUsage",
            Some("the user is already assigned to this machine"),
        ),
        (
            json!({"user": "dave", "until": "2001-01-01T00:00:00Z"}),
            400,
            "InvalidUsage",
            Some("the end of an assignment must be in the future"),
        ),
    ];
    for (body, status, error_type, message) in cases {
        rejects!(s, POST base, &w.admin_t, B::Json(body) => status, error_type, message);
    }
    rejects!(s, POST v1("/machine/999999/assignee"), &w.admin_t, B::Json(json!({"user": "dave"})) => 404, "InvalidUsage", "machine not found");
    // Only administrators assign: not the holder, not another user.
    for t in [&w.alice_t, &w.bob_t] {
        rejects!(s, POST base, t, B::Json(json!({"user": "dave"})) => 403, "InvalidUsage", "Forbidden");
    }
});

server_test!(change, |s| {
    let w = World::build(s).await;
    let one = v1(format!("/machine/{}/assignee/{}", w.m1.id, w.a1.id));
    let own = v1(format!("/machine/{}/assignee/self", w.m1.id));
    // B10 fixed: a null reason is an empty one (the original failed with 409).
    let r = s.put(&own, &w.alice_t, &json!({"reason": null})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["reason"], "");
    let r = s
        .put(
            &one,
            &w.alice_t,
            &json!({"reason": "longer", "until": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.json["reason"].as_str(), r.json["until"].as_str()),
        (Some("longer"), Some("2099-01-01T00:00:00+00:00"))
    );
    // Without `until` the end stays; null removes it.
    let r = s.put(&one, &w.admin_t, &json!({"reason": "admin"})).await;
    assert_eq!(r.json["until"], "2099-01-01T00:00:00+00:00");
    let r = s
        .put(&one, &w.admin_t, &json!({"reason": "admin", "until": null}))
        .await;
    assert_eq!(r.json["until"], Value::Null);
    let stored = s.store.assignment_get(w.a1.id).await.unwrap();
    assert_eq!((stored.reason.as_str(), stored.end), ("admin", None));

    refuses_malformed(s, M::PUT, &one, &w.alice_t).await;
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'reason'"),
        ),
        (
            json!({"until": null}),
            400,
            "SchemaMissingKeyError",
            Some("Missing keys: 'reason'"),
        ),
        (json!({"reason": 1}), 400, "SchemaUnexpectedTypeError", None),
        (json!({"reason": "x".repeat(141)}), 400, "SchemaError", None),
        (
            json!({"reason": "x", "until": "never"}),
            400,
            "SchemaError",
            None,
        ),
        (
            json!({"reason": "x", "until": "2001-01-01T00:00:00Z"}),
            400,
            "InvalidUsage",
            Some("the end of an assignment must be in the future"),
        ),
    ];
    for (body, status, error_type, message) in cases {
        rejects!(s, PUT one, &w.alice_t, B::Json(body) => status, error_type, message);
    }
    let body = json!({"reason": "mine now"});
    rejects!(s, PUT one, &w.bob_t, B::Json(body.clone()) => 403, "InvalidUsage", "Forbidden");
    rejects!(s, PUT own, &w.bob_t, B::Json(body.clone()) => 404, "InvalidUsage", "assignee not found");
    rejects!(s, PUT v1(format!("/machine/{}/assignee/999999", w.m1.id)), &w.admin_t, B::Json(body.clone()) => 404, "InvalidUsage", "assignee not found");
    rejects!(s, PUT v1("/machine/999999/assignee/self"), &w.admin_t, B::Json(body.clone()) => 404, "InvalidUsage", "machine not found");
    rejects!(s, PUT v1(format!("/machine/{}/assignee/foo", w.m1.id)), &w.admin_t, B::Json(body) => 400, "InvalidUsage");
});

server_test!(release, |s| {
    let w = World::build(s).await;
    let one = v1(format!("/machine/{}/assignee/{}", w.m1.id, w.a1.id));
    let own = v1(format!("/machine/{}/assignee/self", w.m1.id));
    rejects!(s, DELETE one, &w.bob_t, B::None => 403, "InvalidUsage", "Forbidden");
    rejects!(s, DELETE one, &w.carol_t, B::None => 403, "InvalidUsage", "Forbidden");
    rejects!(s, DELETE own, &w.bob_t, B::None => 404, "InvalidUsage", "assignee not found");
    rejects!(s, DELETE v1(format!("/machine/{}/assignee/999999", w.m1.id)), &w.admin_t, B::None => 404, "InvalidUsage", "assignee not found");
    rejects!(s, DELETE v1("/machine/999999/assignee/self"), &w.alice_t, B::None => 404, "InvalidUsage", "machine not found");
    rejects!(s, DELETE v1(format!("/machine/{}/assignee/x1", w.m1.id)), &w.alice_t, B::None => 400, "InvalidUsage");
    let r = s.delete(&own, &w.alice_t).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert!(
        s.store
            .assignment_list_for_machine(w.m1.id)
            .await
            .unwrap()
            .is_empty()
    );
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
    assert_eq!(ev[0].kind, EventKind::Unassigned);
    assert_eq!(ev[0].info["user"], "alice");
    // Released: alice may no longer operate it.
    let r = s
        .post(
            &v1(format!("/machine/{}/power", w.m1.id)),
            &w.alice_t,
            &json!({"state": "on"}),
        )
        .await;
    r.assert_error(403, "InvalidUsage", Some("Forbidden"));
    // An admin ends someone else's.
    let r = s
        .post(
            &v1(format!("/machine/{}/assignee", w.m1.id)),
            &w.admin_t,
            &json!({"user": "bob"}),
        )
        .await;
    let id = r.json["id"].as_i64().unwrap();
    let r = s
        .delete(
            &v1(format!("/machine/{}/assignee/{id}", w.m1.id)),
            &w.admin_t,
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(
        s.store
            .assignment_list_for_machine(w.m1.id)
            .await
            .unwrap()
            .is_empty()
    );
});

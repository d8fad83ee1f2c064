//! Concurrent reservations (B1 fixed): many users reserve at the same instant; every free
//! machine goes to exactly one of them, the others are told nothing matches, and the store
//! agrees.

use std::collections::BTreeSet;
use std::sync::Arc;

use mr_provisioner_core::id::MachineId;
use mr_provisioner_core::model::arch::NewArch;
use mr_provisioner_core::model::assignment::NewAssignment;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::store::MachineListQuery;
use mr_provisioner_tests::{TestServer, server_test};
use serde_json::{Value, json};

/// Creates `names` on one arch; assigns the ones in `taken` to a holder. Returns the ids of
/// all, by name.
async fn machines(s: &TestServer, names: &[String], taken: &[&str]) -> Vec<(String, MachineId)> {
    let arch = s
        .store
        .arch_create(&NewArch {
            name: "arm64".into(),
            description: None,
        })
        .await
        .unwrap();
    let (holder, _) = s.user_with_token("holder", false).await;
    let mut out = Vec::new();
    for name in names {
        let m = s
            .store
            .machine_create(&NewMachine::named(name.clone(), arch.id))
            .await
            .unwrap();
        if taken.contains(&name.as_str()) {
            s.store
                .assignment_create(&NewAssignment {
                    machine_id: m.id,
                    user_id: holder.id,
                    reason: "busy".into(),
                    end: None,
                })
                .await
                .unwrap();
        }
        out.push((name.clone(), m.id));
    }
    out
}

/// `n` users each send one reservation with `body`, all released at once by a barrier.
/// Returns (username, status, body) of each.
async fn stampede(s: &TestServer, n: usize, body: Value) -> Vec<(String, u16, Value)> {
    let mut users = Vec::new();
    for i in 0..n {
        let name = format!("user{i:02}");
        let (_, token) = s.user_with_token(&name, false).await;
        users.push((name, token));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let url = s.url("/api/v1/machine/reservation");
    let mut tasks = Vec::new();
    for (name, token) in users {
        let (barrier, client, url, body) = (
            barrier.clone(),
            s.client.clone(),
            url.clone(),
            body.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let resp = client
                .post(&url)
                .header("Authorization", &token)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let json: Value = resp.json().await.unwrap_or(Value::Null);
            (name, status, json)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Checks the outcome: `winners` successes on distinct machines among `eligible`, each with
/// exactly one assignment (its winner's), and every other answer 404 "no matching machine".
async fn check(
    s: &TestServer,
    results: &[(String, u16, Value)],
    eligible: &[(String, MachineId)],
    winners: usize,
) {
    let ok: Vec<&(String, u16, Value)> = results.iter().filter(|r| r.1 == 200).collect();
    let others: Vec<&(String, u16, Value)> = results.iter().filter(|r| r.1 != 200).collect();
    assert_eq!(ok.len(), winners, "successes: {results:?}");
    for (name, status, body) in &others {
        assert_eq!(*status, 404, "{name}: {body}");
        assert_eq!(
            body,
            &json!({"error_type": "InvalidUsage", "errors": ["no matching machine"]}),
            "{name}"
        );
    }
    let got: BTreeSet<String> = ok
        .iter()
        .map(|r| r.2["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got.len(), winners, "machines are distinct: {ok:?}");
    let want: BTreeSet<String> = eligible.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(got, want, "exactly the eligible machines were handed out");
    for (user, _, body) in ok {
        let id = MachineId(body["id"].as_i64().unwrap());
        let assigned = s.store.assignment_list_for_machine(id).await.unwrap();
        assert_eq!(assigned.len(), 1, "{}: {assigned:?}", body["name"]);
        let holder = s.store.user_get(assigned[0].user_id).await.unwrap();
        assert_eq!(&holder.username, user);
    }
}

server_test!(twenty_users_five_free_machines, |s| {
    let names: Vec<String> = (0..8).map(|i| format!("node{i}")).collect();
    let all = machines(s, &names, &["node1", "node4", "node6"]).await;
    let free: Vec<(String, MachineId)> = all
        .iter()
        .filter(|(n, _)| !["node1", "node4", "node6"].contains(&n.as_str()))
        .cloned()
        .collect();
    assert_eq!(free.len(), 5);
    let results = stampede(s, 20, json!({"query": null})).await;
    check(s, &results, &free, 5).await;
    // Nothing is free any more; the busy ones kept their single holder.
    let free_now = s
        .store
        .machine_list(&MachineListQuery {
            only_free: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(free_now.is_empty());
    for (name, id) in &all {
        assert_eq!(
            s.store
                .assignment_list_for_machine(*id)
                .await
                .unwrap()
                .len(),
            1,
            "{name}"
        );
    }
});

server_test!(concurrent_reservations_with_a_query, |s| {
    let names: Vec<String> = [
        "gpu-a", "cpu-a", "gpu-b", "cpu-b", "gpu-c", "gpu-d", "cpu-c", "gpu-e",
    ]
    .iter()
    .map(|n| n.to_string())
    .collect();
    let all = machines(s, &names, &["gpu-b"]).await;
    let gpus: Vec<(String, MachineId)> = all
        .iter()
        .filter(|(n, _)| n.starts_with("gpu") && n != "gpu-b")
        .cloned()
        .collect();
    let results = stampede(
        s,
        12,
        json!({"query": "(=~ name \"gpu\")", "reason": "training", "duration": 600}),
    )
    .await;
    check(s, &results, &gpus, 4).await;
    // The machines the query does not match stay free.
    for (name, id) in all.iter().filter(|(n, _)| n.starts_with("cpu")) {
        assert!(
            s.store
                .assignment_list_for_machine(*id)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
    }
    // Every winning assignment carries the reason and an end.
    for (_, id) in &gpus {
        let a = &s.store.assignment_list_for_machine(*id).await.unwrap()[0];
        assert_eq!(a.reason, "training");
        assert!(a.end.is_some());
    }
});

//! Random queries (arbitrary text, and token soup from the query language's own characters,
//! operators and field names) to `GET /machine?q=` and `POST /machine/reservation`: never a
//! 5xx, and every 400 is the JSON envelope. In-process (poem's test client) on SQLite.

use std::sync::Arc;

use mr_provisioner_core::accounts;
use mr_provisioner_core::model::arch::NewArch;
use mr_provisioner_core::model::assignment::NewAssignment;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::testing::TestDb;
use mr_provisioner_ipmi::BmcKind;
use mr_provisioner_server::state::AppState;
use poem::endpoint::BoxEndpoint;
use poem::test::TestClient;
use poem::{EndpointExt, Response};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::world::bmc_new;

type Client = TestClient<BoxEndpoint<'static, Response>>;

const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "\"",
    "'",
    ";",
    "\\",
    " ",
    "  ",
    "\n",
    "\t",
    "and",
    "or",
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "=~",
    "name",
    "arch",
    "bmc_type",
    "assignee_count",
    "interface_count",
    "nil",
    "t",
    "state",
    "foo",
    "nan",
    "inf",
    "-inf",
    "infinity",
    "1e999",
    "-0",
    "+5",
    "1_000",
    "9223372036854775808",
    "-9223372036854775809",
    "0.5",
    "\"plain\"",
    "\"moonshot\"",
    "\"%\"",
    "\"_\"",
    "\"\\\"\"",
    "\"m1\"",
    "\"\"",
    "\u{0}",
    "é",
    "💥",
];

fn query() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => prop::sample::select(TOKENS).prop_map(String::from),
        1 => "[a-z_]{1,6}",
        1 => "-?[0-9]{1,20}",
        1 => "[0-9]{1,3}\\.[0-9]{0,3}(e-?[0-9]{1,3})?",
        1 => "\"[^\"\\\\]{0,6}\"",
    ];
    let soup = prop::collection::vec(token, 0..40).prop_map(|v| v.concat());
    let wellformed = (
        prop::sample::select(&["=", "!=", ">", ">=", "<", "<=", "=~"][..]),
        prop::sample::select(TOKENS),
        prop::sample::select(TOKENS),
    )
        .prop_map(|(op, a, b)| format!("({op} {a} {b})"));
    prop_oneof![
        2 => any::<String>(),
        3 => soup,
        1 => wellformed,
        4 => valid(),
    ]
}

/// Queries of the grammar with values of the right types (they must answer 200).
fn valid() -> impl Strategy<Value = String> {
    let text = (
        prop::sample::select(&["=", "!=", ">", "<=", "=~"][..]),
        prop::sample::select(&["name", "arch", "bmc_type"][..]),
        "[a-z0-9_%]{0,4}",
    )
        .prop_map(|(op, f, v)| format!("({op} {f} \"{v}\")"));
    let number = (
        prop::sample::select(&["=", "!=", ">", ">=", "<", "<="][..]),
        prop::sample::select(&["assignee_count", "interface_count"][..]),
        0..5i32,
    )
        .prop_map(|(op, f, v)| format!("({op} {f} {v})"));
    let null = (
        prop::sample::select(&["=", "!="][..]),
        prop::sample::select(&["name", "arch", "bmc_type", "assignee_count"][..]),
    )
        .prop_map(|(op, f)| format!("({op} {f} nil)"));
    let leaf = prop_oneof![text, number, null];
    leaf.prop_recursive(3, 16, 3, |inner| {
        (
            prop::sample::select(&["and", "or"][..]),
            prop::collection::vec(inner, 0..3),
        )
            .prop_map(|(op, args)| format!("({op} {})", args.join(" ")))
    })
}

async fn setup(db: &TestDb, data_dir: &std::path::Path) -> (Client, String) {
    let store = db.store();
    let arch = store
        .arch_create(&NewArch {
            name: "arm64".into(),
            description: None,
        })
        .await
        .unwrap();
    let plain = store
        .bmc_create(&bmc_new("plain", "10.0.0.1", BmcKind::Plain))
        .await
        .unwrap();
    let user = accounts::create_user(
        store.as_ref(),
        accounts::UserRequest {
            username: "fuzzer".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (_, token) = accounts::create_token(store.as_ref(), user.id, "fuzz")
        .await
        .unwrap();
    for i in 0..30 {
        let mut m = NewMachine::named(format!("m{i}"), arch.id);
        if i % 3 == 0 {
            m.bmc_id = Some(plain.id);
        }
        let m = store.machine_create(&m).await.unwrap();
        if i % 4 == 0 {
            store
                .assignment_create(&NewAssignment {
                    machine_id: m.id,
                    user_id: user.id,
                    reason: String::new(),
                    end: None,
                })
                .await
                .unwrap();
        }
    }
    let config = mr_provisioner_tests::test_config(data_dir);
    let app = mr_provisioner_server::app(AppState::new(store, config))
        .map_to_response()
        .boxed();
    (TestClient::new(app), token)
}

async fn read(resp: poem::test::TestResponse) -> (u16, Value, String) {
    let status = resp.0.status().as_u16();
    let text = resp.0.into_body().into_string().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

fn check(what: &str, q: &str, status: u16, body: &Value, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "{what} {q:?}: {status} {text}");
    if status == 400 {
        prop_assert!(body["error_type"].is_string(), "{what} {q:?}: {text}");
        let errors = body["errors"].as_array();
        prop_assert!(
            errors.is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string)),
            "{what} {q:?}: {text}"
        );
        prop_assert_eq!(
            body.as_object().map(|o| o.len()),
            Some(2),
            "{} {:?}: {}",
            what,
            q,
            text
        );
    }
    Ok(())
}

async fn one(client: &Client, token: &str, q: &str) -> Result<(), TestCaseError> {
    let resp = client
        .get("/api/v1/machine")
        .query("q", &q)
        .query("show_all", &"true")
        .header("Authorization", token)
        .send()
        .await;
    let (status, body, text) = read(resp).await;
    check("GET", q, status, &body, &text)?;
    prop_assert!(status == 200 || status == 400, "GET {q:?}: {status} {text}");
    if status == 200 {
        prop_assert!(body.is_array(), "GET {q:?}: {text}");
    }
    let resp = client
        .post("/api/v1/machine/reservation")
        .header("Authorization", token)
        .body(json!({ "query": q }).to_string())
        .send()
        .await;
    let (status, body, text) = read(resp).await;
    check("POST", q, status, &body, &text)?;
    prop_assert!(
        [200, 400, 404].contains(&status),
        "POST {q:?}: {status} {text}"
    );
    Ok(())
}

#[test]
fn random_queries_never_fail_the_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(TestDb::sqlite());
    let dir = tempfile::tempdir().unwrap();
    let (client, token) = rt.block_on(setup(&db, dir.path()));
    let client = Arc::new(client);
    // Cases that must always be there, whatever the random source draws.
    let fixed = [
        "(".repeat(5000),
        "'".repeat(3000),
        format!("{}(= name \"m1\"){}", "(and ".repeat(100), ")".repeat(100)),
        "(= name \"x\")".repeat(400),
        "(= assignee_count 99999999999999999999999)".to_string(),
        "(> interface_count nan)".to_string(),
        "(< interface_count -inf)".to_string(),
        "(=~ name \"\u{0}\")".to_string(),
    ];
    for q in &fixed {
        rt.block_on(one(&client, &token, q)).unwrap();
    }
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
    runner
        .run(&query(), |q| {
            seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rt.block_on(async {
                one(&client, &token, &q).await?;
                // Tally what the listing answered, to show the cases reach both outcomes.
                let resp = client
                    .get("/api/v1/machine")
                    .query("q", &q)
                    .header("Authorization", &token)
                    .send()
                    .await;
                *statuses
                    .lock()
                    .unwrap()
                    .entry(resp.0.status().as_u16())
                    .or_default() += 1;
                Ok(())
            })
        })
        .unwrap();
    assert_eq!(seen.into_inner(), 256);
    let statuses = statuses.into_inner().unwrap();
    // Both valid and invalid queries were drawn.
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 10,
        "{statuses:?}"
    );
    assert!(
        statuses.get(&400).copied().unwrap_or(0) > 10,
        "{statuses:?}"
    );
    // Well-typed queries are always answered with a list.
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&valid(), |q| {
            rt.block_on(async {
                let resp = client
                    .get("/api/v1/machine")
                    .query("q", &q)
                    .query("show_all", &"true")
                    .header("Authorization", &token)
                    .send()
                    .await;
                let (status, body, text) = read(resp).await;
                prop_assert_eq!(status, 200, "{:?}: {}", q, text);
                prop_assert!(body.is_array());
                Ok(())
            })
        })
        .unwrap();
    rt.block_on(db.finish());
}

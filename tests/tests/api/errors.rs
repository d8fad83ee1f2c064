//! Error paths a real database cannot be made to produce on demand, with the mock store:
//! an unavailable or failing database gives 503 or 500 with a JSON body that leaks nothing.

use std::sync::Arc;

use mr_provisioner_core::Error;
use mr_provisioner_core::id::{TokenId, UserId};
use mr_provisioner_core::model::token::ApiToken;
use mr_provisioner_core::model::user::User;
use mr_provisioner_core::testing::MockStore;
use mr_provisioner_server::config::Config;
use mr_provisioner_server::state::AppState;
use poem::test::TestClient;
use serde_json::Value;

fn client(store: MockStore) -> TestClient<impl poem::Endpoint> {
    TestClient::new(mr_provisioner_server::app(AppState::new(
        Arc::new(store),
        Config::default(),
    )))
}

fn caller() -> (ApiToken, User) {
    let now = chrono::Utc::now();
    (
        ApiToken {
            id: TokenId(1),
            user_id: UserId(7),
            description: String::new(),
            hint: "abcdef".into(),
            created_at: now,
            // Used just now: no `token_touch` write expected.
            last_used_at: Some(now),
        },
        User {
            id: UserId(7),
            username: "alice".into(),
            email: None,
            admin: false,
            ssh_key: String::new(),
            created_at: now,
        },
    )
}

fn unavailable() -> Error {
    Error::Unavailable {
        message: "cannot reach postgres://mrp:hunter2@db/mrp".into(),
        source: Some("connection refused".into()),
    }
}

async fn json(resp: poem::test::TestResponse) -> Value {
    resp.0.into_body().into_json().await.unwrap()
}

#[tokio::test]
async fn health_reports_an_unavailable_database() {
    let mut store = MockStore::new();
    store.expect_ping().returning(|| Err(unavailable()));
    let resp = client(store).get("/healthz").send().await;
    resp.assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);
    let body = json(resp).await;
    assert_eq!(body["status"], "unavailable");
    assert!(!body.to_string().contains("hunter2"));
}

#[tokio::test]
async fn an_unavailable_database_is_503_without_details() {
    let mut store = MockStore::new();
    store
        .expect_token_authenticate()
        .returning(|_| Ok(Some(caller())));
    store
        .expect_machine_list_brief()
        .returning(|_| Err(unavailable()));
    let resp = client(store)
        .get("/api/v1/machine")
        .header("Authorization", "tok")
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);
    let body = json(resp).await;
    assert_eq!(body["error_type"], "Unavailable");
    assert_eq!(body["errors"][0], "service temporarily unavailable");
    assert!(!body.to_string().contains("hunter2"));
}

#[tokio::test]
async fn a_database_failure_is_500_without_sql() {
    let mut store = MockStore::new();
    store
        .expect_token_authenticate()
        .returning(|_| Ok(Some(caller())));
    store.expect_machine_list_brief().returning(|_| {
        Err(Error::internal(
            "query failed",
            "syntax error at SELECT * FROM machines",
        ))
    });
    let resp = client(store)
        .get("/api/v1/machine")
        .header("Authorization", "tok")
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
    let body = json(resp).await;
    assert_eq!(body["error_type"], "InternalError");
    assert_eq!(body["errors"][0], "internal error");
    assert!(!body.to_string().contains("SELECT"));
}

#[tokio::test]
async fn authentication_during_an_outage_is_503_not_401() {
    let mut store = MockStore::new();
    store
        .expect_token_authenticate()
        .returning(|_| Err(unavailable()));
    let resp = client(store)
        .get("/api/v1/machine")
        .header("Authorization", "tok")
        .send()
        .await;
    // A client must not conclude that its token is bad because the database is down.
    resp.assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_failed_usage_record_does_not_fail_the_request() {
    let mut store = MockStore::new();
    store.expect_token_authenticate().returning(|_| {
        let (mut t, u) = caller();
        t.last_used_at = None;
        Ok(Some((t, u)))
    });
    store
        .expect_token_touch()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    store.expect_machine_list_brief().returning(|_| Ok(vec![]));
    let resp = client(store)
        .get("/api/v1/machine")
        .header("Authorization", "tok")
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("[]").await;
}

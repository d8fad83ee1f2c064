//! The integration-test harness: the real application, on a fresh database (SQLite or
//! PostgreSQL), served over real HTTP on a loopback port, with helpers to make users and
//! tokens.

use std::net::SocketAddr;
use std::sync::Arc;

use mr_provisioner_core::accounts::{self, UserRequest};
use mr_provisioner_core::model::user::User;
use mr_provisioner_core::store::Store;
use mr_provisioner_core::testing::{TestBackend, TestDb};
use mr_provisioner_server::config::Config;
use mr_provisioner_server::state::AppState;

/// A running server on a fresh database.
pub struct TestServer {
    /// The database.
    pub db: TestDb,
    /// Its store (the same one the server uses).
    pub store: Arc<dyn Store>,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// An HTTP client.
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts the application on `backend`, or returns `None` when that backend is not
    /// available here (see [`mr_provisioner_core::testing`]).
    pub async fn start(backend: TestBackend) -> Option<TestServer> {
        let db = TestDb::on(backend).await?;
        let store = db.store();
        let state = AppState::new(store.clone(), Config::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let signal = async {
                let _ = rx.await;
            };
            poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(mr_provisioner_server::app(state), signal, None)
                .await
                .expect("server");
        });
        Some(TestServer {
            db,
            store,
            addr,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Creates a user and an API token for them; returns both.
    pub async fn user_with_token(&self, username: &str, admin: bool) -> (User, String) {
        let user = accounts::create_user(
            self.store.as_ref(),
            UserRequest {
                username: username.into(),
                email: Some(format!("{username}@example.com")),
                admin,
                ..Default::default()
            },
        )
        .await
        .expect("create user");
        let (_, secret) = accounts::create_token(self.store.as_ref(), user.id, "test")
            .await
            .expect("create token");
        (user, secret)
    }

    /// `GET path` with the raw token in `Authorization` (as the Linaro clients send it).
    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("Authorization", token)
            .send()
            .await
            .expect("request")
    }

    /// Stops the server and drops the database.
    pub async fn finish(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.db.finish().await;
    }
}

/// Defines a test that runs against a live server on both backends, as `NAME::sqlite` and
/// `NAME::postgres`.
#[macro_export]
macro_rules! server_test {
    ($name:ident, |$server:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($server: &$crate::TestServer) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(s) = $crate::TestServer::start(mr_provisioner_core::testing::TestBackend::Sqlite).await {
                    body(&s).await;
                    s.finish().await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(s) = $crate::TestServer::start(mr_provisioner_core::testing::TestBackend::Postgres).await {
                    body(&s).await;
                    s.finish().await;
                }
            }
        }
    };
}

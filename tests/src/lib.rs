//! The integration-test harness: the real application, on a fresh database (SQLite or
//! PostgreSQL), served over real HTTP on a loopback port, with helpers to make users and
//! tokens, send requests as the clients do, reach the simulated BMCs, and take snapshots of
//! everything stored so that a test can prove a refused request changed nothing.

pub mod boot_lab;
pub mod dhcp_lab;
pub mod fixtures;
pub mod ipmi_sim;

use std::fmt::{Display, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mr_provisioner_core::accounts::{self, UserRequest};
use mr_provisioner_core::model::user::User;
use mr_provisioner_core::service::DefaultConnector;
use mr_provisioner_core::store::{MachineListQuery, Page, Store, Visibility};
use mr_provisioner_core::testing::{TestBackend, TestDb};
use mr_provisioner_ipmi::sim::SimBmc;
use mr_provisioner_server::config::Config;
use mr_provisioner_server::state::AppState;
use serde_json::Value;

pub use reqwest::Method;

/// A running server on a fresh database.
pub struct TestServer {
    /// The database.
    pub db: TestDb,
    /// Its store (the same one the server uses).
    pub store: Arc<dyn Store>,
    /// The BMC connector the server uses: BMCs of type `sim` are simulated in it.
    pub bmcs: Arc<DefaultConnector>,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The configuration the server runs with.
    pub config: Config,
    /// The application state the server runs with.
    pub state: AppState,
    data_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The Kea task, when the configuration names a Kea database (as `serve` runs it).
    kea: Option<tokio::task::JoinHandle<()>>,
}

/// An answer of the server, read completely.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text.
    pub text: String,
    /// The body as JSON (`Null` when it is empty or not JSON).
    pub json: Value,
}

impl Reply {
    /// The `error_type` of an error envelope.
    pub fn error_type(&self) -> &str {
        self.json["error_type"].as_str().unwrap_or("")
    }

    /// The `errors` of an error envelope, checked to be a list of strings.
    pub fn errors(&self) -> Vec<String> {
        let list = self.json["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("`errors` is not a list: {}", self.text));
        list.iter()
            .map(|e| {
                e.as_str()
                    .unwrap_or_else(|| panic!("`errors` holds a non-string: {}", self.text))
                    .to_string()
            })
            .collect()
    }

    /// Asserts that this is an error envelope with exactly two keys, `error_type` and
    /// `errors` (a list of strings), served as JSON.
    pub fn assert_envelope(&self) {
        let obj = self
            .json
            .as_object()
            .unwrap_or_else(|| panic!("not a JSON object ({}): {:?}", self.status, self.text));
        let mut keys: Vec<&String> = obj.keys().collect();
        keys.sort();
        assert_eq!(keys, ["error_type", "errors"], "{}", self.text);
        assert!(!self.error_type().is_empty(), "{}", self.text);
        assert!(!self.errors().is_empty(), "{}", self.text);
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(ct.starts_with("application/json"), "content type {ct:?}");
    }

    /// Asserts the status, the error type and (if given) the one message of an error.
    pub fn assert_error(&self, status: u16, error_type: &str, message: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.text);
        self.assert_envelope();
        assert_eq!(self.error_type(), error_type, "{}", self.text);
        if let Some(m) = message {
            assert_eq!(self.errors(), [m], "{}", self.text);
        }
    }
}

/// The configuration tests run with: the defaults, with the data directory (and so the TFTP
/// root) in `data_dir`, and no power-state cache (tests count the calls each request makes
/// to a BMC; a test of the cache turns it back on).
pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    config.bmc.status_cache_secs = 0;
    std::fs::create_dir_all(config.tftp_root()).expect("create the TFTP root");
    config
}

impl TestServer {
    /// Starts the application on `backend`, or returns `None` when that backend is not
    /// available here (see [`mr_provisioner_core::testing`]).
    pub async fn start(backend: TestBackend) -> Option<TestServer> {
        Self::start_with(backend, |_| {}).await
    }

    /// Like [`TestServer::start`], with the configuration changed by `configure` first.
    pub async fn start_with(
        backend: TestBackend,
        configure: impl FnOnce(&mut Config),
    ) -> Option<TestServer> {
        let db = TestDb::on(backend).await?;
        let store = db.store();
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let mut config = test_config(data_dir.path());
        configure(&mut config);
        std::fs::create_dir_all(config.tftp_root()).expect("create the TFTP root");
        let bmcs = Arc::new(DefaultConnector::with_settings(
            mr_provisioner_server::state::connector_settings(&config),
        ));
        let state = AppState::with_connector(store.clone(), bmcs.clone(), config.clone());
        let app_state = state.clone();
        let kea = mr_provisioner_server::tasks::kea_task(&state).map(tokio::spawn);
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
            bmcs,
            addr,
            client: reqwest::Client::new(),
            config,
            state: app_state,
            data_dir,
            shutdown: Some(tx),
            task: Some(task),
            kea,
        })
    }

    /// Starts this server's TFTP server on a free loopback port (as `serve` does, with
    /// this server's `[tftp]` settings); it stops with the test's runtime.
    pub async fn start_tftp(&self) -> SocketAddr {
        let mut config = self.config.clone();
        config.tftp.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        let server = mr_provisioner_server::tftp::bind(&config, self.state.provisioner.clone())
            .await
            .expect("bind TFTP")
            .expect("TFTP enabled");
        let addr = server.local_addr();
        tokio::spawn(server.run(std::future::pending()));
        addr
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// This server's data directory (a fresh temporary directory).
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Where uploaded images are written.
    pub fn tftp_root(&self) -> PathBuf {
        self.config.tftp_root()
    }

    /// The simulated BMC of the stored BMC with this id (type `sim`): the same one the
    /// server talks to.
    pub fn sim(&self, bmc_id: impl Display) -> Arc<SimBmc> {
        self.bmcs.sims().get_or_create(&bmc_id.to_string())
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
        let secret = self.token_for(&user).await;
        (user, secret)
    }

    /// A new API token for `user`.
    pub async fn token_for(&self, user: &User) -> String {
        let (_, secret) = accounts::create_token(self.store.as_ref(), user.id, "test")
            .await
            .expect("create token");
        secret
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

    /// Sends `method path` with the raw token (none: anonymous) and `body` as it is, without
    /// a `Content-Type` (as the clients send JSON), and reads the whole answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.header("Authorization", t);
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        read(req.send().await.expect("request")).await
    }

    /// `GET path` as `token`.
    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// `POST path` with a JSON body as `token`.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(&body.to_string()))
            .await
    }

    /// `PUT path` with a JSON body as `token`.
    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(&body.to_string()))
            .await
    }

    /// `PATCH path` with a JSON body as `token`.
    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(&body.to_string()))
            .await
    }

    /// `DELETE path` as `token`.
    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Sends a multipart image upload as `mrp_client.py` does: the text field `q` (JSON
    /// metadata) first, then the part `file` with the client's file name and no
    /// `Content-Type` of its own.
    pub async fn upload(&self, token: &str, q: &str, filename: &str, bytes: &[u8]) -> Reply {
        let form = reqwest::multipart::Form::new()
            .text("q", q.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(filename.to_string()),
            );
        let resp = self
            .client
            .post(self.url("/api/v1/image"))
            .header("Authorization", token)
            .multipart(form)
            .send()
            .await
            .expect("upload");
        read(resp).await
    }

    /// Sends a request that must fail, and checks that it does with `status`, `error_type`
    /// and (if given) exactly the message `message`, in the JSON envelope, and that nothing
    /// stored (database and image files) changed.
    #[allow(clippy::too_many_arguments)]
    pub async fn rejects(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        status: u16,
        error_type: &str,
        message: Option<&str>,
    ) -> Reply {
        let before = self.snapshot().await;
        let reply = self.call(method.clone(), path, token, body).await;
        let what = format!("{method} {path} {body:?}");
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        reply.assert_envelope();
        assert_eq!(reply.error_type(), error_type, "{what}: {}", reply.text);
        if let Some(m) = message {
            assert_eq!(reply.errors(), [m], "{what}");
        }
        let after = self.snapshot().await;
        assert_snapshots_equal(&before, &after, &what);
        reply
    }

    /// Everything stored: the database as the store shows it and the files under the TFTP
    /// root. Two snapshots are equal when nothing changed (token last-use times excepted:
    /// authenticating updates them).
    pub async fn snapshot(&self) -> String {
        snapshot(self.store.as_ref(), Some(&self.tftp_root())).await
    }

    /// Stops the server and drops the database.
    pub async fn finish(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(kea) = self.kea.take() {
            kea.abort();
        }
        self.db.finish().await;
    }
}

/// Reads a whole answer.
pub async fn read(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// Fails with the first differing line of two snapshots.
pub fn assert_snapshots_equal(before: &str, after: &str, what: &str) {
    if before == after {
        return;
    }
    let diff = before
        .lines()
        .zip(after.lines())
        .find(|(a, b)| a != b)
        .map(|(a, b)| format!("before: {a}\nafter:  {b}"))
        .unwrap_or_else(|| {
            format!(
                "{} lines before, {} after",
                before.lines().count(),
                after.lines().count()
            )
        });
    panic!("{what} changed stored data:\n{diff}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `bytes` in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Every file under `root`, relative, sorted, with its size and SHA-256.
pub fn files_under(root: &Path) -> Vec<(String, u64, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, u64, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, bytes.len() as u64, sha256_hex(&bytes)));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// A text dump of everything `store` holds (and the files under `tftp_root`), one record
/// per line, for before/after comparisons.
pub async fn snapshot(store: &dyn Store, tftp_root: Option<&Path>) -> String {
    use secrecy::ExposeSecret;
    let mut out = String::new();
    let all = Page {
        before: None,
        limit: 10_000,
    };
    for u in store.user_list().await.expect("users") {
        let hash = store.user_password_hash(u.id).await.expect("password hash");
        let _ = writeln!(out, "user {u:?} password={hash:?}");
        for mut t in store.token_list(u.id).await.expect("tokens") {
            t.last_used_at = None;
            let _ = writeln!(out, "  token {t:?}");
        }
    }
    for b in store.bmc_list().await.expect("bmcs") {
        let _ = writeln!(out, "bmc {b:?} password={:?}", b.password.expose_secret());
    }
    for a in store.arch_list().await.expect("archs") {
        let _ = writeln!(out, "arch {a:?}");
    }
    for s in store.subarch_list(None).await.expect("subarchs") {
        let _ = writeln!(out, "subarch {s:?}");
    }
    for i in store.image_list(Visibility::All).await.expect("images") {
        let _ = writeln!(out, "image {i:?}");
    }
    for p in store.preseed_list(Visibility::All).await.expect("preseeds") {
        let _ = writeln!(out, "preseed {p:?}");
    }
    for n in store.network_list().await.expect("networks") {
        let _ = writeln!(out, "network {n:?}");
    }
    let machines = store
        .machine_list(&MachineListQuery::default())
        .await
        .expect("machines");
    for m in machines {
        let id = m.machine.id;
        let _ = writeln!(out, "machine {m:?}");
        for i in store.interface_list_for_machine(id).await.expect("ifaces") {
            let _ = writeln!(out, "  interface {i:?}");
        }
        for a in store
            .assignment_list_for_machine(id)
            .await
            .expect("assignments")
        {
            let _ = writeln!(out, "  assignment {a:?}");
        }
        for e in store.event_list(id, all).await.expect("events") {
            let _ = writeln!(out, "  event {e:?}");
        }
    }
    for l in store.lease_list().await.expect("leases") {
        let _ = writeln!(out, "lease {l:?}");
    }
    for d in store.discovered_mac_list().await.expect("discovered") {
        let _ = writeln!(out, "discovered {d:?}");
    }
    for a in store.audit_list(all).await.expect("audit") {
        let _ = writeln!(out, "audit {a:?}");
    }
    if let Some(root) = tftp_root {
        for (path, size, sha) in files_under(root) {
            let _ = writeln!(out, "file {path} {size} {sha}");
        }
    }
    out
}

/// Defines a test that runs against a live server on both backends, as `NAME::sqlite` and
/// `NAME::postgres`.
#[macro_export]
macro_rules! server_test {
    ($(#[$meta:meta])* $name:ident, |$server:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($server: &$crate::TestServer) $body

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(s) = $crate::TestServer::start(mr_provisioner_core::testing::TestBackend::Sqlite).await {
                    body(&s).await;
                    s.finish().await;
                }
            }

            $(#[$meta])*
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

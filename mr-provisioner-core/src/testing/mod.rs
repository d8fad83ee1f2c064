//! Test helpers: a fresh, migrated database per test on SQLite and on PostgreSQL.
//!
//! PostgreSQL tests need `MRP_TEST_POSTGRES` (a URL of a server where the user may create
//! databases, e.g. `postgres://postgres@127.0.0.1:5432/postgres`). Without it they print why
//! they skip and pass, unless `MRP_TEST_REQUIRE_ALL=1` (set by CI) makes a skip a failure.
//! Each PostgreSQL test gets its own database, cloned from a migrated template; it is dropped
//! when the test passes and kept, with its name printed, when the test fails.

mod kea;
mod mock;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{ConnectionTrait, Statement};
use sha2::Digest;

use crate::store::Store;
use crate::store::sea::{ConnectSettings, DatabaseLocation, SeaStore, connect};
pub use kea::KeaTestDb;
pub use mock::MockStore;

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "MRP_TEST_POSTGRES";
/// The environment variable that turns skips into failures (CI sets it).
pub const REQUIRE_ENV: &str = "MRP_TEST_REQUIRE_ALL";

/// Which backend a test database is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// A migrated database for one test.
pub struct TestDb {
    store: SeaStore,
    /// The URL of this database (for tests that start a server process on it).
    pub url: String,
    backend: TestBackend,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// Whether every optional test prerequisite must be present.
pub fn require_all() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1" || v == "true")
}

/// Reports a missing prerequisite: fails under `MRP_TEST_REQUIRE_ALL`, else prints and
/// returns so the test can skip.
pub fn skip(why: &str) {
    assert!(!require_all(), "{REQUIRE_ENV} is set but {why}");
    eprintln!("skipped: {why}");
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fingerprint of the migrations, so a template made from older migrations is not reused.
fn schema_fingerprint() -> String {
    let mut h = sha2::Sha256::new();
    h.update(include_str!("../store/sea/migration/mod.rs"));
    h.update(include_str!(
        "../store/sea/migration/m20261125_000001_initial.rs"
    ));
    let digest = h.finalize();
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// `postgres://u@h:p/db?x` with the database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{name}")
}

async fn exec(store: &SeaStore, sql: &str) -> Result<(), sea_orm::DbErr> {
    store.connection().execute_unprepared(sql).await.map(|_| ())
}

impl TestDb {
    /// A migrated SQLite database in a fresh temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("test.db");
        let settings = ConnectSettings {
            create_if_missing: true,
            max_connections: 4,
            ..Default::default()
        };
        let store = connect(&DatabaseLocation::Sqlite(path.clone()), &settings)
            .await
            .expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        TestDb {
            store,
            url: format!("sqlite://{}", path.display()),
            backend: TestBackend::Sqlite,
            pg: None,
            _dir: Some(dir),
        }
    }

    /// A fresh migrated PostgreSQL database, or `None` (after [`skip`]) without a server.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
            skip(&format!(
                "{POSTGRES_ENV} is not set, so this PostgreSQL test did not run"
            ));
            return None;
        };
        let settings = ConnectSettings {
            max_connections: 1,
            ..Default::default()
        };
        let admin = connect(&DatabaseLocation::Postgres(admin_url.clone()), &settings)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV}: cannot connect: {e:?}"));
        let template = format!("mrp_tpl_{}", schema_fingerprint());
        let name = format!(
            "mrp_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros() % 1_000_000
        );
        // One process at a time makes the template and clones it (PostgreSQL refuses to
        // clone a database that has other sessions).
        exec(&admin, "SELECT pg_advisory_lock(727274)")
            .await
            .expect("advisory lock");
        let exists = admin
            .connection()
            .query_one_raw(Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SELECT 1 AS one FROM pg_database WHERE datname = '{template}'"),
            ))
            .await
            .expect("query pg_database")
            .is_some();
        if !exists {
            let building = format!("{template}_building");
            exec(&admin, &format!("DROP DATABASE IF EXISTS {building}"))
                .await
                .expect("drop");
            exec(&admin, &format!("CREATE DATABASE {building}"))
                .await
                .expect("create template");
            let tpl = connect(
                &DatabaseLocation::Postgres(with_database(&admin_url, &building)),
                &settings,
            )
            .await
            .expect("connect template");
            tpl.migrate().await.expect("migrate template");
            tpl.close().await.expect("close template");
            exec(
                &admin,
                &format!("ALTER DATABASE {building} RENAME TO {template}"),
            )
            .await
            .expect("rename template");
        }
        exec(
            &admin,
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        )
        .await
        .expect("clone template");
        exec(&admin, "SELECT pg_advisory_unlock(727274)")
            .await
            .expect("unlock");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        let store = connect(
            &DatabaseLocation::Postgres(url.clone()),
            &ConnectSettings::default(),
        )
        .await
        .expect("connect test database");
        Some(TestDb {
            store,
            url,
            backend: TestBackend::Postgres,
            pg: Some((admin_url, name)),
            _dir: None,
        })
    }

    /// A database on `backend`, or `None` if that backend is not available here.
    pub async fn on(backend: TestBackend) -> Option<TestDb> {
        match backend {
            TestBackend::Sqlite => Some(TestDb::sqlite().await),
            TestBackend::Postgres => TestDb::postgres().await,
        }
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    /// The concrete store (for migration checks and raw SQL).
    pub fn sea(&self) -> &SeaStore {
        &self.store
    }

    /// Which backend.
    pub fn backend(&self) -> TestBackend {
        self.backend
    }

    /// Closes the database and drops it (PostgreSQL). Call at the end of a passing test;
    /// a failing test never gets here, which keeps its database for inspection.
    pub async fn finish(self) {
        self.store.close().await.ok();
        if let Some((admin_url, name)) = self.pg {
            let settings = ConnectSettings {
                max_connections: 1,
                ..Default::default()
            };
            if let Ok(admin) = connect(&DatabaseLocation::Postgres(admin_url), &settings).await {
                let _ = exec(
                    &admin,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
                .await;
                admin.close().await.ok();
            }
        }
    }
}

/// Runs `body` with a fresh database on `backend` (or skips), then drops the database.
pub async fn run<F, Fut>(backend: TestBackend, body: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(db) = TestDb::on(backend).await else {
        return;
    };
    body(db.store()).await;
    db.finish().await;
}

/// Defines a test that runs on both backends, as two tests `NAME::sqlite` and
/// `NAME::postgres`:
///
/// ```ignore
/// store_test!(machine_roundtrip, |store| {
///     let m = store.machine_get(MachineId(1)).await;
/// });
/// ```
#[macro_export]
macro_rules! store_test {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::testing::run($crate::testing::TestBackend::Sqlite, |$store| async move $body).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::testing::run($crate::testing::TestBackend::Postgres, |$store| async move $body).await
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "y"),
            "postgresql://u:p@h/y"
        );
        assert_eq!(schema_fingerprint().len(), 12);
    }
}

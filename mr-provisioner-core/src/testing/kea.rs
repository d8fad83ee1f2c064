//! A fresh database with Kea's own schema, made by Debian's `kea-admin`, for tests of the
//! Kea integration against the real tables.

use std::sync::atomic::Ordering;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgConnectOptions;

use super::{COUNTER, POSTGRES_ENV, exec, skip, with_database};
use crate::store::sea::{ConnectSettings, DatabaseLocation, SeaStore, connect};

/// A database created by `kea-admin db-init pgsql` on the server of `MRP_TEST_POSTGRES`.
pub struct KeaTestDb {
    admin_url: String,
    name: String,
    url: String,
}

async fn admin(url: &str) -> SeaStore {
    let settings = ConnectSettings {
        max_connections: 1,
        ..Default::default()
    };
    connect(&DatabaseLocation::Postgres(url.to_string()), &settings)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV}: cannot connect: {e:?}"))
}

impl KeaTestDb {
    /// A new database with Kea's schema, or `None` (after [`skip`]) without
    /// `MRP_TEST_POSTGRES` or `kea-admin`.
    pub async fn create() -> Option<KeaTestDb> {
        let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
            skip(&format!(
                "{POSTGRES_ENV} is not set, so this Kea test did not run"
            ));
            return None;
        };
        let have_admin = std::process::Command::new("kea-admin")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_admin {
            skip("kea-admin (Debian package kea-admin) is not installed");
            return None;
        }
        let name = format!(
            "mrp_kea_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = admin(&admin_url).await;
        exec(&admin, &format!("CREATE DATABASE {name}"))
            .await
            .expect("create the Kea database");
        admin.close().await.ok();
        let options: PgConnectOptions = admin_url.parse().expect("MRP_TEST_POSTGRES is a URL");
        let mut cmd = tokio::process::Command::new("kea-admin");
        cmd.args(["db-init", "pgsql", "-h", options.get_host()])
            .args(["-P", &options.get_port().to_string()])
            .args(["-u", options.get_username(), "-n", &name])
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .expect("kea-admin db-init finishes within 60 s")
            .expect("run kea-admin");
        assert!(
            out.status.success(),
            "kea-admin db-init failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(KeaTestDb {
            url: with_database(&admin_url, &name),
            admin_url,
            name,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs SQL on it (as Kea or an admin would).
    pub async fn execute(&self, sql: &str) {
        let db = admin(&self.url).await;
        exec(&db, sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        db.close().await.ok();
    }

    /// The rows of a query whose columns are all text (cast them: `x::text`), each column
    /// `None` for SQL NULL.
    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        use sea_orm::ConnectionTrait;
        let db = admin(&self.url).await;
        let rows = db
            .connection()
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                sql.to_string(),
            ))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        db.close().await.ok();
        rows.iter()
            .map(|r| {
                (0..r.column_names().len())
                    .map(|i| {
                        r.try_get_by_index::<Option<String>>(i)
                            .unwrap_or_else(|e| panic!("{sql}: column {i}: {e}"))
                    })
                    .collect()
            })
            .collect()
    }

    /// Drops it. Call at the end of a passing test (a failing one keeps it to look at).
    pub async fn drop(self) {
        let admin = admin(&self.admin_url).await;
        let _ = exec(
            &admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await;
        admin.close().await.ok();
    }
}

//! The [`Store`] on sea-orm, for SQLite and PostgreSQL.
//!
//! [`SeaStore`] is generic over its connection: on a pool it runs each call on its own,
//! inside a transaction (from [`Store::begin`]) everything runs
//! on that transaction. The same code and the same migrations serve both backends.

mod crud;
pub mod entity;
mod error;
pub mod migration;

mod archs;
mod assignments;
mod audit;
mod bmcs;
mod console_tokens;
mod discovered_macs;
mod events;
mod images;
mod interfaces;
mod leases;
mod machines;
mod networks;
mod preseeds;
mod tokens;
mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::sqlx;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode,
    SqlxPostgresConnector, SqlxSqliteConnector, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::error::{Error, Result};
use crate::store::{Backend, Store, StoreTx};
pub use migration::Migrator;

/// Where the database is, parsed from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A private in-memory SQLite database (tests).
    SqliteMemory,
    /// A PostgreSQL server (the URL as given).
    Postgres(String),
}

impl DatabaseLocation {
    /// Parses `sqlite://PATH`, `sqlite:PATH`, `sqlite::memory:`, `postgres://...` or
    /// `postgresql://...`. Anything else is an error that names the accepted schemes.
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(DatabaseLocation::SqliteMemory);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseLocation::Postgres(url.to_string()));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            if rest.contains('?') {
                return Err(Error::invalid(
                    "database.url",
                    "SQLite URLs take no parameters here; give only the path: sqlite://PATH",
                ));
            }
            if rest.is_empty() {
                return Err(Error::invalid("database.url", "the SQLite URL has no path"));
            }
            return Ok(DatabaseLocation::Sqlite(PathBuf::from(rest)));
        }
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or(url);
        Err(Error::invalid(
            "database.url",
            format!(
                "unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST/DB"
            ),
        ))
    }

    /// The backend it selects.
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseLocation::Sqlite(_) | DatabaseLocation::SqliteMemory => Backend::Sqlite,
            DatabaseLocation::Postgres(_) => Backend::Postgres,
        }
    }

    /// A form safe to log: the PostgreSQL password replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseLocation::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseLocation::SqliteMemory => "sqlite::memory:".into(),
            DatabaseLocation::Postgres(url) => redact_url_password(url),
        }
    }
}

/// `postgres://user:secret@host/db` becomes `postgres://user:***@host/db`.
fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    /// Pool size.
    pub max_connections: u32,
    /// How long a query waits for a free connection.
    pub acquire_timeout: Duration,
    /// How long opening the database may take before it counts as unreachable.
    pub connect_timeout: Duration,
    /// Create a missing SQLite file (never done for a path the user typed, so a typo does
    /// not silently start an empty database).
    pub create_if_missing: bool,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        ConnectSettings {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            create_if_missing: false,
        }
    }
}

/// The sea-orm store over a pool (`DatabaseConnection`) or a transaction.
#[derive(Debug, Clone)]
pub struct SeaStore<C = DatabaseConnection> {
    conn: C,
    backend: Backend,
    /// On SQLite, write transactions of this process queue here rather than in SQLite's
    /// busy handler, which polls with sleeps of up to 100 ms and made the slowest of
    /// concurrent reservations wait a second or more. `None` on PostgreSQL and inside a
    /// transaction (which already holds its place).
    gate: Option<Arc<tokio::sync::Mutex<()>>>,
    /// A transaction's place in the queue, held until it ends.
    _turn: Option<Arc<tokio::sync::OwnedMutexGuard<()>>>,
}

/// What [`SeaStore`] needs of its connection.
pub trait Conn:
    ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction> + Send + Sync + 'static
{
}
impl<T> Conn for T where
    T: ConnectionTrait
        + TransactionTrait<Transaction = DatabaseTransaction>
        + Send
        + Sync
        + 'static
{
}

fn sqlite_options(path: Option<&Path>, create: bool) -> sqlx::sqlite::SqliteConnectOptions {
    use sqlx::ConnectOptions;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let base = match path {
        Some(p) => SqliteConnectOptions::new()
            .filename(p)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal),
        None => SqliteConnectOptions::new().in_memory(true),
    };
    base.foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // sqlx hands rows from SQLite's worker thread over a channel; a deep one lets the
        // worker produce a whole listing without waiting for the reader row by row.
        .row_buffer_size(4096)
        .disable_statement_logging()
}

/// Opens the database (without migrating it).
pub async fn connect(location: &DatabaseLocation, settings: &ConnectSettings) -> Result<SeaStore> {
    let unavailable = |e: sqlx::Error| Error::Unavailable {
        message: format!("cannot open the database {}", location.redacted()),
        source: Some(Box::new(e)),
    };
    let conn = match location {
        DatabaseLocation::Sqlite(path) => {
            if !settings.create_if_missing && !path.exists() {
                return Err(Error::Unavailable {
                    message: format!(
                        "the SQLite database {} does not exist (run `mr-provisioner db upgrade` to create it)",
                        path.display()
                    ),
                    source: None,
                });
            }
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(settings.max_connections.max(1))
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(sqlite_options(Some(path), settings.create_if_missing))
                .await
                .map_err(unavailable)?;
            SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
        }
        DatabaseLocation::SqliteMemory => {
            // One connection: each in-memory connection would be a database of its own.
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(sqlite_options(None, true))
                .await
                .map_err(unavailable)?;
            SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
        }
        DatabaseLocation::Postgres(url) => {
            use sqlx::ConnectOptions;
            let options: sqlx::postgres::PgConnectOptions =
                url.parse().map_err(|e: sqlx::Error| {
                    Error::invalid("database.url", format!("invalid PostgreSQL URL: {e}"))
                })?;
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(settings.max_connections.max(1))
                .acquire_timeout(settings.acquire_timeout)
                .connect_lazy_with(options.disable_statement_logging());
            // Open the first connection now, within the connect timeout, so that an
            // unreachable server is reported at start rather than on the first request.
            match tokio::time::timeout(settings.connect_timeout, pool.acquire()).await {
                Ok(Ok(_conn)) => {}
                Ok(Err(e)) => return Err(unavailable(e)),
                Err(_) => return Err(unavailable(sqlx::Error::PoolTimedOut)),
            }
            SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
        }
    };
    let gate =
        (location.backend() == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
    Ok(SeaStore {
        conn,
        backend: location.backend(),
        gate,
        _turn: None,
    })
}

/// The state of one migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// Its name.
    pub name: String,
    /// Whether it has been applied.
    pub applied: bool,
}

impl SeaStore<DatabaseConnection> {
    /// The underlying connection pool.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Every known migration and whether it is applied.
    pub async fn migration_status(&self) -> Result<Vec<MigrationState>> {
        let all = Migrator::get_migration_with_status(&self.conn)
            .await
            .map_err(error::other)?;
        Ok(all
            .iter()
            .map(|m| MigrationState {
                name: m.name().to_string(),
                applied: m.status() == sea_orm_migration::MigrationStatus::Applied,
            })
            .collect())
    }

    /// Names of the migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>> {
        Ok(self
            .migration_status()
            .await?
            .into_iter()
            .filter(|m| !m.applied)
            .map(|m| m.name)
            .collect())
    }

    /// Applies every pending migration; returns their names.
    pub async fn migrate(&self) -> Result<Vec<String>> {
        let pending = self.pending_migrations().await?;
        if !pending.is_empty() {
            Migrator::up(&self.conn, None)
                .await
                .map_err(|e| Error::internal("database migration failed", e))?;
        }
        Ok(pending)
    }

    /// Writes a consistent copy of a SQLite database to `dest` (`VACUUM INTO`), for example
    /// before an upgrade. Errors on PostgreSQL, whose backups are `pg_dump`'s job.
    pub async fn sqlite_backup(&self, dest: &Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(Error::bad_request(
                "only SQLite databases can be copied this way",
            ));
        }
        let path = dest
            .to_str()
            .ok_or_else(|| Error::bad_request("backup path is not UTF-8"))?;
        let stmt = sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "VACUUM INTO ?",
            [path.into()],
        );
        self.conn.execute_raw(stmt).await.map_err(error::other)?;
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(self) -> Result<()> {
        self.conn.close().await.map_err(error::other)
    }
}

impl<C: Conn> SeaStore<C> {
    pub(crate) fn db(&self) -> &C {
        &self.conn
    }

    async fn begin_tx(&self) -> Result<SeaStore<DatabaseTransaction>> {
        let options = TransactionOptions {
            isolation_level: None,
            access_mode: None,
            // Take the write lock at BEGIN: a deferred transaction that reads and then
            // writes can fail with SQLITE_BUSY when another writer got in between.
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        };
        let turn = match &self.gate {
            Some(gate) => Some(Arc::new(gate.clone().lock_owned().await)),
            None => self._turn.clone(),
        };
        let tx = self
            .conn
            .begin_with_options(options)
            .await
            .map_err(error::other)?;
        Ok(SeaStore {
            conn: tx,
            backend: self.backend,
            gate: None,
            _turn: turn,
        })
    }
}

#[async_trait]
impl<C: Conn> Store for SeaStore<C> {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn ping(&self) -> Result<()> {
        self.conn
            .execute_unprepared("SELECT 1")
            .await
            .map(|_| ())
            .map_err(error::other)
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>> {
        Ok(Box::new(self.begin_tx().await?))
    }
}

#[async_trait]
impl StoreTx for SeaStore<DatabaseTransaction> {
    async fn commit(self: Box<Self>) -> Result<()> {
        self.conn.commit().await.map_err(error::other)
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        self.conn.rollback().await.map_err(error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            DatabaseLocation::parse("sqlite:///var/lib/mrp/db.sqlite").unwrap(),
            DatabaseLocation::Sqlite("/var/lib/mrp/db.sqlite".into())
        );
        assert_eq!(
            DatabaseLocation::parse("sqlite://data/db.sqlite").unwrap(),
            DatabaseLocation::Sqlite("data/db.sqlite".into())
        );
        assert_eq!(
            DatabaseLocation::parse("sqlite::memory:").unwrap(),
            DatabaseLocation::SqliteMemory
        );
        assert_eq!(
            DatabaseLocation::parse("postgresql://postgres@127.0.0.1/x")
                .unwrap()
                .backend(),
            Backend::Postgres
        );
        for bad in [
            "postgress://x",
            "mysql://x",
            "db.sqlite",
            "sqlite:",
            "sqlite://x?mode=rwc",
        ] {
            assert!(DatabaseLocation::parse(bad).is_err(), "{bad}");
        }
        let e = DatabaseLocation::parse("postgress://x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"postgress\""), "{e}");
    }

    #[test]
    fn redaction() {
        let loc = DatabaseLocation::parse("postgres://mrp:s3cret@db:5432/mrp").unwrap();
        assert_eq!(loc.redacted(), "postgres://mrp:***@db:5432/mrp");
        let loc = DatabaseLocation::parse("postgres://mrp@db/mrp").unwrap();
        assert_eq!(loc.redacted(), "postgres://mrp@db/mrp");
    }
}

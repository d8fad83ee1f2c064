//! Opening the database (with retries), migrating it, and the `db` commands.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mr_provisioner_core::Error;
use mr_provisioner_core::store::sea::{
    ConnectSettings, DatabaseLocation, MigrationState, SeaStore, connect,
};
use mr_provisioner_server::config::Config;

/// Why the database is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// To migrate it (`serve`, `db upgrade`): the default SQLite file may be created, and
    /// `db upgrade` may create an explicitly named one.
    Migrate { create_explicit: bool },
    /// To use it as it is.
    Use,
}

/// Opens the configured database, retrying with backoff while it is unreachable, for at
/// most `database.connect_timeout_secs`.
pub(crate) async fn open(config: &Config, purpose: Purpose) -> anyhow::Result<SeaStore> {
    let location = DatabaseLocation::parse(&config.database_url())
        .map_err(anyhow::Error::from)
        .context("database.url")?;
    let mut create = false;
    if let DatabaseLocation::Sqlite(path) = &location {
        if config.database_is_default() {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!(
                    "cannot create the data directory {}",
                    config.data_dir.display()
                )
            })?;
            create = matches!(purpose, Purpose::Migrate { .. });
        } else if let Purpose::Migrate {
            create_explicit: true,
        } = purpose
        {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            if parent.is_some_and(|p| !p.is_dir()) {
                bail!(
                    "the directory of the SQLite database {} does not exist",
                    path.display()
                );
            }
            create = true;
        }
        if create && !path.exists() {
            tracing::info!(path = %path.display(), "creating a new SQLite database");
        }
    }
    let mut settings = ConnectSettings {
        max_connections: config.database.max_connections,
        create_if_missing: create,
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(config.database.connect_timeout_secs);
    let mut delay = Duration::from_millis(250);
    loop {
        // Each attempt gets at most 2 s, so several fit in the overall timeout.
        let remaining = deadline.saturating_duration_since(Instant::now());
        settings.connect_timeout =
            remaining.clamp(Duration::from_millis(500), Duration::from_secs(2));
        match connect(&location, &settings).await {
            Ok(store) => return Ok(store),
            Err(Error::Unavailable {
                message,
                source: Some(source),
            }) if Instant::now() + delay < deadline => {
                tracing::warn!(
                    database = %location.redacted(),
                    error = %source,
                    retry_in_ms = delay.as_millis() as u64,
                    "{message}; retrying"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            // The error names the database already.
            Err(e) => return Err(e.into()),
        }
    }
}

/// Applies pending migrations. On SQLite, a database that already has a schema is first
/// copied next to itself (`<file>.pre-upgrade-<time>`), so an upgrade can be undone.
pub(crate) async fn migrate(store: &SeaStore, config: &Config) -> anyhow::Result<Vec<String>> {
    let status = store.migration_status().await?;
    if status.iter().all(|m| m.applied) {
        return Ok(Vec::new());
    }
    if backup_needed(&status)
        && let Ok(DatabaseLocation::Sqlite(path)) = DatabaseLocation::parse(&config.database_url())
    {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let copy = path.with_file_name(format!(
            "{}.pre-upgrade-{stamp}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        store.sqlite_backup(&copy).await.with_context(|| {
            format!(
                "cannot copy the database to {} before upgrading",
                copy.display()
            )
        })?;
        tracing::info!(backup = %copy.display(), "copied the database before upgrading");
        println!("copied the database to {} before upgrading", copy.display());
    }
    let applied = store.migrate().await.context("upgrading the database")?;
    for name in &applied {
        tracing::info!(migration = %name, "applied migration");
    }
    Ok(applied)
}

/// Whether an upgrade should first copy the database: when something is pending and the
/// database already has a schema (a new, empty database has nothing worth keeping).
fn backup_needed(status: &[MigrationState]) -> bool {
    status.iter().any(|m| !m.applied) && status.iter().any(|m| m.applied)
}

/// Fails unless every migration is applied (commands other than `serve` and `db upgrade`
/// never change the schema).
pub(crate) async fn require_current(store: &SeaStore) -> anyhow::Result<()> {
    let pending = store.pending_migrations().await?;
    if !pending.is_empty() {
        bail!(
            "the database schema is not up to date ({} pending migration(s)); run `mr-provisioner db upgrade` first",
            pending.len()
        );
    }
    Ok(())
}

/// Opens the database for a command that reads or writes data.
pub(crate) async fn open_current(config: &Config) -> anyhow::Result<SeaStore> {
    let store = open(config, Purpose::Use).await?;
    require_current(&store).await?;
    Ok(store)
}

/// `mr-provisioner db upgrade`.
pub(crate) async fn upgrade_command(config: &Config) -> anyhow::Result<()> {
    let store = open(
        config,
        Purpose::Migrate {
            create_explicit: true,
        },
    )
    .await?;
    let applied = migrate(&store, config).await?;
    if applied.is_empty() {
        println!("the database is up to date");
    } else {
        for name in &applied {
            println!("applied {name}");
        }
    }
    super::serve::ensure_admin(&store, config).await?;
    store.close().await?;
    Ok(())
}

/// `mr-provisioner db status`.
pub(crate) async fn status_command(config: &Config) -> anyhow::Result<()> {
    let location = DatabaseLocation::parse(&config.database_url())?;
    if let DatabaseLocation::Sqlite(path) = &location
        && !path.exists()
    {
        use sea_orm_migration::MigratorTrait;
        println!("database: {} (does not exist yet)", location.redacted());
        let all = mr_provisioner_core::store::sea::Migrator::migrations();
        for m in &all {
            println!("pending {}", m.name());
        }
        println!("{} pending: run `mr-provisioner db upgrade`", all.len());
        return Ok(());
    }
    let store = open(config, Purpose::Use).await?;
    let status = store.migration_status().await?;
    println!(
        "database: {}",
        DatabaseLocation::parse(&config.database_url())?.redacted()
    );
    for m in &status {
        println!(
            "{} {}",
            if m.applied { "applied" } else { "pending" },
            m.name
        );
    }
    let pending = status.iter().filter(|m| !m.applied).count();
    if pending == 0 {
        println!("up to date");
    } else {
        println!("{pending} pending: run `mr-provisioner db upgrade`");
    }
    store.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_are_made_only_for_an_existing_schema() {
        let m = |name: &str, applied| MigrationState {
            name: name.into(),
            applied,
        };
        let cases = [
            (vec![], false),
            (vec![m("a", false)], false),
            (vec![m("a", true)], false),
            (vec![m("a", true), m("b", false)], true),
            (vec![m("a", true), m("b", true)], false),
        ];
        for (status, want) in cases {
            assert_eq!(backup_needed(&status), want, "{status:?}");
        }
    }
}

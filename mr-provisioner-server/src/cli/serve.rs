//! `mr-provisioner serve`: migrate, make the first administrator, serve HTTP until a signal.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mr_provisioner_core::accounts;
use mr_provisioner_core::store::sea::SeaStore;
use mr_provisioner_server::config::{Config, admin_password_from_env};
use mr_provisioner_server::state::AppState;
use secrecy::ExposeSecret;

use super::database::{self, Purpose};

/// The file the generated first password is written to, in the data directory.
const INITIAL_PASSWORD_FILE: &str = "initial-admin-password";

/// On a database without users, creates `admin`: with `MRP_ADMIN_PASSWORD` if set, else
/// with a random password printed once and written to `<data_dir>/initial-admin-password`
/// (mode 0600).
pub(crate) async fn ensure_admin(store: &SeaStore, config: &Config) -> anyhow::Result<()> {
    let given = admin_password_from_env();
    let created = accounts::ensure_initial_admin(store, given.as_ref().map(|p| p.expose_secret()))
        .await
        .context("creating the first administrator")?;
    let Some(created) = created else {
        return Ok(());
    };
    match created.generated_password {
        None => {
            tracing::info!(user = %created.user.username, "created the first administrator with the password from MRP_ADMIN_PASSWORD");
        }
        Some(password) => {
            std::fs::create_dir_all(&config.data_dir)?;
            let path = config.data_dir.join(INITIAL_PASSWORD_FILE);
            write_private(&path, &format!("{password}\n"))
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!(
                "created the administrator {:?} with the password {password}\n(also written to {}; change it with `mr-provisioner user passwd {} --password-stdin`)",
                created.user.username,
                path.display(),
                created.user.username
            );
            tracing::info!(user = %created.user.username, file = %path.display(), "created the first administrator with a generated password");
        }
    }
    Ok(())
}

/// Writes a file readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode on open: set it explicitly.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())
}

/// Registers for SIGINT and SIGTERM now (so a signal sent as soon as the server announces
/// itself is not lost) and returns a future that resolves when one arrives.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
    })
}

/// Runs the server.
pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    let store = database::open(
        &config,
        Purpose::Migrate {
            create_explicit: false,
        },
    )
    .await?;
    database::migrate(&store, &config).await?;
    ensure_admin(&store, &config).await?;
    for dir in [config.tftp_root(), config.console_log_dir()] {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    let listen = config.http.listen;
    // Templates that do not parse stop the start, with their name and line.
    mr_provisioner_server::state::renderer(&config).context("netboot templates")?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {listen}: {e}{}",
            mr_provisioner_server::tftp::bind_hint(&e, mr_provisioner_server::tftp::Listener::Http)
        )
    })?;
    let bound = listener.local_addr()?;
    let timeout = Duration::from_secs(config.http.shutdown_timeout_secs);
    let state = AppState::new(Arc::new(store.clone()), config.clone());
    let stop = tokio_util::sync::CancellationToken::new();
    let mut tasks = mr_provisioner_server::tasks::spawn(state.clone(), stop.clone());
    if let Some(tftp) =
        mr_provisioner_server::tftp::bind(&config, state.provisioner.clone()).await?
    {
        let addr = tftp.local_addr();
        tracing::info!(address = %addr, "TFTP listening");
        println!("mr-provisioner serving TFTP on udp/{addr}");
        let stop = stop.clone();
        tasks.spawn(async move {
            if let Err(error) = tftp.run(stop.cancelled_owned()).await {
                tracing::error!(%error, "the TFTP server stopped");
            }
        });
    }
    let shutdown = shutdown_signal()?;
    tracing::info!(address = %bound, "listening");
    println!("mr-provisioner listening on http://{bound}");
    std::io::stdout().flush().ok();
    mr_provisioner_server::http_server::serve(
        listener,
        mr_provisioner_server::app(state),
        shutdown,
        timeout,
    )
    .await;
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    store.close().await.ok();
    tracing::info!("stopped");
    Ok(())
}

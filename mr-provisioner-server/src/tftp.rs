//! The built-in TFTP server, as `serve` runs it: the netboot crate's server over the
//! provisioner's boot files, set up from `[tftp]`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mr_provisioner_core::service::{Provisioner, TftpResolver};
use mr_provisioner_netboot::tftp::{TftpConfig, TftpServer};

use crate::config::{Config, DEFAULT_TFTP_LISTEN};

/// The TFTP server settings of `config`, listening on `listen`.
pub fn settings(config: &Config, listen: SocketAddr) -> TftpConfig {
    let t = &config.tftp;
    TftpConfig {
        listen,
        timeout: Duration::from_millis(t.timeout_ms),
        retries: t.retries,
        max_block_size: t.max_block_size,
        max_window_size: t.max_window_size,
        max_transfers: t.max_transfers as usize,
    }
}

/// What `serve` listens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The HTTP server (`http.listen`).
    Http,
    /// The TFTP server (`tftp.listen`).
    Tftp,
}

/// Why binding a listener failed, in words an operator can act on.
pub fn bind_hint(e: &std::io::Error, what: Listener) -> &'static str {
    match (e.kind(), what) {
        (std::io::ErrorKind::PermissionDenied, Listener::Tftp) => {
            " (port 69 needs root or CAP_NET_BIND_SERVICE: run as root, grant the capability, or choose another port with [tftp] listen or MRP_TFTP_LISTEN)"
        }
        (std::io::ErrorKind::PermissionDenied, _) => {
            " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        }
        (std::io::ErrorKind::AddrInUse, Listener::Tftp) => {
            " (another TFTP server, such as tftpd-hpa or dnsmasq, is using it: stop it or choose another address with [tftp] listen or MRP_TFTP_LISTEN)"
        }
        (std::io::ErrorKind::AddrInUse, _) => {
            " (another process is using this port; choose another with --listen or MRP_LISTEN)"
        }
        (std::io::ErrorKind::AddrNotAvailable, _) => {
            " (no interface of this machine has that address)"
        }
        _ => "",
    }
}

/// Binds the TFTP server `config` asks for. `Ok(None)` when TFTP is disabled, or when the
/// default address (port 69) cannot be bound: that is reported, and the rest of the server
/// runs. An address set in the configuration that cannot be bound is an error.
pub async fn bind(
    config: &Config,
    provisioner: Arc<Provisioner>,
) -> anyhow::Result<Option<TftpServer>> {
    if !config.tftp.enabled {
        tracing::info!("TFTP disabled ([tftp] enabled = false)");
        return Ok(None);
    }
    let listen = config.tftp.listen.unwrap_or(DEFAULT_TFTP_LISTEN);
    let resolver = Arc::new(TftpResolver::new(provisioner));
    match TftpServer::bind(settings(config, listen), resolver).await {
        Ok(server) => Ok(Some(server)),
        Err(e) => {
            let message = format!(
                "cannot listen for TFTP on udp/{listen}: {e}{}",
                bind_hint(&e, Listener::Tftp)
            );
            if config.tftp.listen.is_some() {
                return Err(anyhow::anyhow!(message));
            }
            tracing::error!("{message}; serving without TFTP");
            eprintln!("warning: {message}; serving without TFTP");
            Ok(None)
        }
    }
}

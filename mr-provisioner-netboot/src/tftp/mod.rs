//! A read-only TFTP server: RFC 1350 read requests in octet and netascii modes, with the
//! blksize (RFC 2348), tsize and timeout (RFC 2349) and windowsize (RFC 7440) options.
//!
//! Each transfer runs as its own task on its own ephemeral UDP socket, streams its file
//! block by block (only the current window is kept in memory, for retransmission),
//! retransmits only on timeout (a duplicate ACK never causes a duplicate DATA), rolls
//! block numbers over past 65535 (to 0), and answers packets from a wrong port with
//! error 5 without disturbing the transfer. Write requests are refused. What is served is
//! decided by a [`Resolver`]: [`DirResolver`] serves a directory through
//! [`open_beneath`]; names that
//! [`normalise`](crate::path::normalise) refuses never reach a resolver.
//!
//! ```no_run
//! use std::sync::Arc;
//! use mr_provisioner_netboot::tftp::{DirResolver, TftpConfig, TftpServer};
//!
//! # async fn f() -> std::io::Result<()> {
//! let config = TftpConfig { listen: "127.0.0.1:6969".parse().unwrap(), ..Default::default() };
//! let server = TftpServer::bind(config, Arc::new(DirResolver::new("/srv/tftp"))).await?;
//! server.run(async { tokio::signal::ctrl_c().await.ok(); }).await
//! # }
//! ```

mod options;
mod packet;
mod source;
mod transfer;

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::path::{OpenError, SafePath, open_beneath};
use packet::Packet;

/// The attribute that [`Resolver`] implementations need (re-exported so that they need no
/// dependency of their own).
#[doc(no_inline)]
pub use async_trait::async_trait;

/// The server's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TftpConfig {
    /// The address to listen on (default `0.0.0.0:69`). Transfers use ephemeral ports on
    /// the same IP address when it is a specific one.
    pub listen: SocketAddr,
    /// The retransmission timeout, unless a client's `timeout` option sets one (default
    /// 1 s).
    pub timeout: Duration,
    /// How many times a packet is retransmitted without an answer before the transfer is
    /// given up (default 5).
    pub retries: u32,
    /// The largest block size granted to a `blksize` option, 8..=65464 (default 65464).
    pub max_block_size: u16,
    /// The largest window granted to a `windowsize` option (default 64; at most 32768 is
    /// used).
    pub max_window_size: u16,
    /// The most transfers at once; requests beyond get error 0 "server busy" (default
    /// 1024).
    pub max_transfers: usize,
}

impl Default for TftpConfig {
    fn default() -> Self {
        TftpConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 69),
            timeout: Duration::from_secs(1),
            retries: 5,
            max_block_size: packet::MAX_BLKSIZE,
            max_window_size: 64,
            max_transfers: 1024,
        }
    }
}

/// A read request, as a [`Resolver`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// The file name exactly as the client sent it.
    pub filename: String,
    /// The file name normalised (leading slashes stripped, no `..`).
    pub path: SafePath,
    /// The client's address and port.
    pub client: SocketAddr,
}

/// What to send for a request.
#[derive(Debug)]
pub enum Content {
    /// An open file, streamed; `size` is announced to tsize.
    File {
        /// The file, at its start.
        file: tokio::fs::File,
        /// Its size in bytes.
        size: u64,
    },
    /// Bytes in memory (a rendered config, for instance).
    Bytes(bytes::Bytes),
}

/// Why a [`Resolver`] has nothing to send.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No such file: TFTP error 1.
    #[error("file not found")]
    NotFound,
    /// Not allowed, and why (logged, not sent): TFTP error 2.
    #[error("access denied: {0}")]
    Denied(String),
    /// Something went wrong, and what (logged, not sent): TFTP error 0.
    #[error("{0}")]
    Failed(String),
}

/// Decides what a read request gets.
#[async_trait::async_trait]
pub trait Resolver: Send + Sync + 'static {
    /// The content for `request`, whose name [`normalise`](crate::path::normalise) has
    /// accepted.
    async fn resolve(&self, request: &ReadRequest) -> Result<Content, ResolveError>;
}

/// Serves the files under a directory, through [`open_beneath`].
#[derive(Debug, Clone)]
pub struct DirResolver {
    root: PathBuf,
}

impl DirResolver {
    /// Serves `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirResolver { root: root.into() }
    }

    /// The directory served.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[async_trait::async_trait]
impl Resolver for DirResolver {
    async fn resolve(&self, request: &ReadRequest) -> Result<Content, ResolveError> {
        match open_beneath(&self.root, &request.path).await {
            Ok((file, size)) => Ok(Content::File { file, size }),
            Err(OpenError::NotFound) => Err(ResolveError::NotFound),
            Err(OpenError::Denied(why)) => Err(ResolveError::Denied(why)),
            Err(OpenError::Io(e)) if e.kind() == io::ErrorKind::PermissionDenied => {
                Err(ResolveError::Denied(e.to_string()))
            }
            Err(OpenError::Io(e)) => Err(ResolveError::Failed(format!(
                "cannot open {} under {}: {e}",
                request.path,
                self.root.display()
            ))),
        }
    }
}

/// The server's counters, updated as it runs.
///
/// Every request is either refused (answered with an error, no transfer) or starts a
/// transfer; every transfer ends completed, failed or aborted by the client, so
/// `transfers_started` minus the three is the number in progress. Byte and
/// retransmission counts of a long transfer are added as it goes, in steps.
#[derive(Debug, Default)]
pub struct TftpStats {
    /// Transfers started (the resolver had content for the request).
    pub transfers_started: AtomicU64,
    /// Transfers whose last block was acknowledged.
    pub transfers_completed: AtomicU64,
    /// Transfers given up: no answer within the retries, a malformed or unexpected packet
    /// from the client, an I/O error, or the server stopping.
    pub transfers_failed: AtomicU64,
    /// Transfers the client ended with an ERROR packet (such as UEFI's error 8 after
    /// reading tsize from the OACK).
    pub transfers_aborted: AtomicU64,
    /// File bytes sent in DATA packets, each block counted once.
    pub bytes_sent: AtomicU64,
    /// Packets (DATA or OACK) sent again, after a timeout or an ACK inside the window.
    pub retransmissions: AtomicU64,
    /// Requests answered with an error and no transfer: write requests, malformed packets
    /// at the listen port, refused names, files not found or denied, resolver failures,
    /// unsupported modes, and "server busy".
    pub requests_refused: AtomicU64,
}

/// A copy of [`TftpStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TftpStatsSnapshot {
    /// See [`TftpStats::transfers_started`].
    pub transfers_started: u64,
    /// See [`TftpStats::transfers_completed`].
    pub transfers_completed: u64,
    /// See [`TftpStats::transfers_failed`].
    pub transfers_failed: u64,
    /// See [`TftpStats::transfers_aborted`].
    pub transfers_aborted: u64,
    /// See [`TftpStats::bytes_sent`].
    pub bytes_sent: u64,
    /// See [`TftpStats::retransmissions`].
    pub retransmissions: u64,
    /// See [`TftpStats::requests_refused`].
    pub requests_refused: u64,
}

impl TftpStats {
    /// The counters now.
    pub fn snapshot(&self) -> TftpStatsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TftpStatsSnapshot {
            transfers_started: get(&self.transfers_started),
            transfers_completed: get(&self.transfers_completed),
            transfers_failed: get(&self.transfers_failed),
            transfers_aborted: get(&self.transfers_aborted),
            bytes_sent: get(&self.bytes_sent),
            retransmissions: get(&self.retransmissions),
            requests_refused: get(&self.requests_refused),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What every transfer task shares.
struct Shared {
    config: TftpConfig,
    resolver: Arc<dyn Resolver>,
    stats: Arc<TftpStats>,
    /// The address transfer sockets bind to (port 0).
    transfer_ip: IpAddr,
}

/// A bound TFTP server; [`run`](TftpServer::run) serves.
pub struct TftpServer {
    socket: UdpSocket,
    local: SocketAddr,
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for TftpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TftpServer")
            .field("local", &self.local)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// The largest datagram read at the listen port (anything longer is cut and so refused
/// as malformed or read as a request with its tail dropped).
const LISTEN_BUF: usize = 4096;

impl TftpServer {
    /// Binds the listen socket.
    pub async fn bind(config: TftpConfig, resolver: Arc<dyn Resolver>) -> io::Result<TftpServer> {
        let socket = UdpSocket::bind(config.listen).await?;
        let local = socket.local_addr()?;
        let transfer_ip = match local.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ip => ip,
        };
        Ok(TftpServer {
            socket,
            local,
            slots: Arc::new(Semaphore::new(
                config.max_transfers.min(Semaphore::MAX_PERMITS),
            )),
            shared: Arc::new(Shared {
                config,
                resolver,
                stats: Arc::new(TftpStats::default()),
                transfer_ip,
            }),
        })
    }

    /// The address the listen socket is bound to (with the port chosen, if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The server's counters.
    pub fn stats(&self) -> Arc<TftpStats> {
        self.shared.stats.clone()
    }

    /// Serves until `shutdown` completes, then stops every transfer in progress (they
    /// count as failed) and returns. A bad packet never stops it; receive errors are
    /// logged and the loop goes on.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> io::Result<()> {
        tracing::info!(listen = %self.local, "TFTP server listening");
        let mut buf = vec![0u8; LISTEN_BUF];
        let mut tasks = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = joined
                        && e.is_panic()
                    {
                        tracing::error!(error = %e, "TFTP transfer task panicked");
                    }
                }
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, from)) => self.dispatch(&buf[..n], from, &mut tasks),
                    Err(e) => {
                        tracing::warn!(error = %e, "TFTP: receive error on the listen socket");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
            }
        }
        let running = tasks.len();
        tasks.shutdown().await;
        tracing::info!(
            listen = %self.local,
            stopped_transfers = running,
            "TFTP server stopped"
        );
        Ok(())
    }

    /// Handles one datagram at the listen port.
    fn dispatch(&self, datagram: &[u8], from: SocketAddr, tasks: &mut JoinSet<()>) {
        let stats = &self.shared.stats;
        let refuse = |code: u16, message: &str| {
            bump(&stats.requests_refused);
            // Never wait on the listen socket for an answer to a stranger.
            let _ = self.socket.try_send_to(&packet::error(code, message), from);
        };
        match packet::parse(datagram) {
            Ok(Packet::Rrq(_)) => match self.slots.clone().try_acquire_owned() {
                Ok(permit) => {
                    let shared = self.shared.clone();
                    let datagram = datagram.to_vec();
                    tasks.spawn(async move {
                        transfer::serve(&datagram, from, &shared).await;
                        drop(permit);
                    });
                }
                Err(_) => {
                    tracing::warn!(client = %from, "TFTP: too many transfers, request refused");
                    refuse(packet::code::NOT_DEFINED, "server busy");
                }
            },
            Ok(Packet::Wrq(r)) => {
                tracing::info!(
                    client = %from,
                    file = %String::from_utf8_lossy(r.filename),
                    "TFTP: write request refused"
                );
                refuse(packet::code::ACCESS_VIOLATION, "read-only server");
            }
            // Never answer an error with an error.
            Ok(Packet::Error { .. }) => bump(&stats.requests_refused),
            Ok(_) => {
                tracing::debug!(client = %from, "TFTP: non-request packet at the listen port");
                refuse(packet::code::ILLEGAL_OPERATION, "illegal TFTP operation");
            }
            Err(e) => {
                tracing::debug!(client = %from, error = %e, "TFTP: malformed packet");
                refuse(
                    packet::code::ILLEGAL_OPERATION,
                    &format!("illegal TFTP operation: {e}"),
                );
            }
        }
    }
}

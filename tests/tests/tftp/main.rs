//! The TFTP server against real clients (tftp-hpa's `tftp`, `atftp`, `curl`) and a
//! hand-written packet-level client, all on loopback.
//!
//! - `clients`: files of awkward sizes and 40 MB of random data, byte-identical, through
//!   each client and its options; netascii.
//! - `concurrent`: 100 real client processes at once, and many small fetches.
//! - `lossy`: a relay that drops every Nth packet each way; transfers still complete.
//! - `traversal`: names that try to leave the root never return what is outside.
//! - `packets`: the protocol packet by packet: OACK contents and clamping, the UEFI tsize
//!   probe, duplicate ACKs, wrong transfer IDs, windows, WRQ, garbage, server busy.
//!
//! Without a client binary a test skips (and fails under `MRP_TEST_REQUIRE_ALL`).

mod clients;
mod concurrent;
mod lossy;
mod packets;
mod raw;
mod traversal;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use mr_provisioner_netboot::tftp::{DirResolver, Resolver, TftpConfig, TftpServer, TftpStats};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server on 127.0.0.1 serving a temporary directory.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) stats: Arc<TftpStats>,
    /// The directory holding `root/` (the served root) and whatever a test puts beside it.
    pub(crate) dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// A server with the default configuration (on 127.0.0.1:0).
    pub(crate) async fn start() -> Server {
        Server::with(TftpConfig::default()).await
    }

    /// A server with `config`, its listen address replaced by 127.0.0.1:0.
    pub(crate) async fn with(config: TftpConfig) -> Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        Server::with_resolver(config, Arc::new(DirResolver::new(&root)), dir).await
    }

    /// A server with its own resolver.
    pub(crate) async fn with_resolver(
        config: TftpConfig,
        resolver: Arc<dyn Resolver>,
        dir: tempfile::TempDir,
    ) -> Server {
        let config = TftpConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..config
        };
        let server = TftpServer::bind(config, resolver).await.expect("bind");
        let addr = server.local_addr();
        let stats = server.stats();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stats,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The served root.
    pub(crate) fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Writes `data` at `name` under the root (making directories).
    pub(crate) fn put(&self, name: &str, data: &[u8]) {
        let path = self.root().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }

    /// Stops the server and waits for it.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server run");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `len` pseudo-random bytes from `seed` (xorshift: no dependency needed).
pub(crate) fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// The SHA-256 of `data`, in hex.
pub(crate) fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `program` is on PATH; otherwise skips (a failure under MRP_TEST_REQUIRE_ALL).
pub(crate) fn have(program: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    if !found {
        mr_provisioner_core::testing::skip(&format!(
            "{program} is not installed (Debian: tftp-hpa for tftp, atftp, curl)"
        ));
    }
    found
}

/// A real TFTP client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Client {
    /// tftp-hpa's `tftp` (sends no options).
    TftpHpa,
    /// `atftp` with `--option` arguments.
    Atftp,
    /// `curl tftp://…`.
    Curl,
}

impl Client {
    pub(crate) fn program(self) -> &'static str {
        match self {
            Client::TftpHpa => "tftp",
            Client::Atftp => "atftp",
            Client::Curl => "curl",
        }
    }
}

/// What a client run gave.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// Whether the process exited with success.
    pub(crate) success: bool,
    /// Its exit code.
    pub(crate) code: Option<i32>,
    /// The local file (`None` if not created).
    pub(crate) data: Option<Vec<u8>>,
    /// Its standard error and output.
    pub(crate) output: String,
}

/// Fetches `remote` from `server` with `client` and extra arguments `args` (options, as
/// that client spells them), into a fresh file in `scratch`. Gives up after 120 s.
pub(crate) async fn fetch(
    client: Client,
    server: SocketAddr,
    remote: &str,
    args: &[&str],
    scratch: &Path,
) -> Fetched {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let local = scratch.join(format!(
        "fetched-{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let host = server.ip().to_string();
    let port = server.port().to_string();
    let local_s = local.to_str().unwrap();
    let mut cmd = tokio::process::Command::new(client.program());
    match client {
        Client::TftpHpa => {
            // Literal mode (no host:file parsing); binary unless `args` says otherwise.
            cmd.arg("-l").args(["-m", "binary"]).args(args);
            cmd.args([&host, &port, "-c", "get", remote, local_s]);
        }
        Client::Atftp => {
            cmd.args(["--get", "-r", remote, "-l", local_s]).args(args);
            cmd.args([&host, &port]);
        }
        Client::Curl => {
            cmd.args(["-sS", "--max-time", "100", "-o", local_s])
                .args(args)
                .arg(format!("tftp://{host}:{port}/{remote}"));
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{client:?} {remote:?} {args:?}: no end within 120 s"))
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", client.program()));
    let data = std::fs::read(&local).ok();
    let _ = std::fs::remove_file(&local);
    Fetched {
        success: out.status.success(),
        code: out.status.code(),
        data,
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ),
    }
}

/// Fetches and asserts the result is exactly `want`.
pub(crate) async fn fetch_ok(
    client: Client,
    server: SocketAddr,
    remote: &str,
    args: &[&str],
    scratch: &Path,
    want: &[u8],
) {
    let got = fetch(client, server, remote, args, scratch).await;
    let data = got.data.as_deref().unwrap_or_else(|| {
        panic!(
            "{client:?} {remote:?} {args:?}: no file; success={} output: {}",
            got.success, got.output
        )
    });
    assert!(
        data == want,
        "{client:?} {remote:?} {args:?}: got {} bytes (sha256 {}), want {} (sha256 {}); output: {}",
        data.len(),
        sha256(data),
        want.len(),
        sha256(want),
        got.output
    );
    assert!(
        got.success,
        "{client:?} {remote:?} {args:?}: exit status; output: {}",
        got.output
    );
}

/// Waits until the server's counters satisfy `ok` (transfers end a little after the
/// client has its last block), or panics after 20 s with the counters.
pub(crate) async fn wait_stats(
    stats: &TftpStats,
    ok: impl Fn(&mr_provisioner_netboot::tftp::TftpStatsSnapshot) -> bool,
) -> mr_provisioner_netboot::tftp::TftpStatsSnapshot {
    for _ in 0..2000 {
        let s = stats.snapshot();
        if ok(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "counters never reached the expected state: {:?}",
        stats.snapshot()
    );
}

//! Transfers through a relay that drops every Nth packet in each direction still arrive
//! byte-identical.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mr_provisioner_netboot::tftp::TftpConfig;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::{Client, Server, fetch_ok, have, random_bytes, raw};

/// A UDP relay between one client at a time and a TFTP server: it forwards requests to
/// the server's listen port and everything else to the transfer port it has learnt from
/// the server's first answer since the last request, and drops every `up`th packet from
/// the client and every `down`th from the server.
struct Relay {
    addr: SocketAddr,
    dropped: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Relay {
    async fn start(server: SocketAddr, up: u64, down: u64) -> Relay {
        let front = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let back = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = front.local_addr().unwrap();
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = dropped.clone();
        let task = tokio::spawn(async move {
            let mut client: Option<SocketAddr> = None;
            let mut tid: Option<SocketAddr> = None;
            let (mut n_up, mut n_down) = (0u64, 0u64);
            let mut a = vec![0u8; 65536];
            let mut b = vec![0u8; 65536];
            loop {
                tokio::select! {
                    r = front.recv_from(&mut a) => {
                        let Ok((n, from)) = r else { continue };
                        let is_request = n >= 2 && a[0] == 0 && (a[1] == 1 || a[1] == 2);
                        if is_request && client != Some(from) {
                            // A new client: counting starts again.
                            n_up = 0;
                            n_down = 0;
                        }
                        client = Some(from);
                        n_up += 1;
                        if n_up % up == 0 {
                            counter.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        let to = if is_request {
                            tid = None;
                            server
                        } else if let Some(t) = tid {
                            t
                        } else {
                            continue;
                        };
                        let _ = back.send_to(&a[..n], to).await;
                    }
                    r = back.recv_from(&mut b) => {
                        let Ok((n, from)) = r else { continue };
                        if tid.is_none() && from != server {
                            tid = Some(from);
                        }
                        if from != server && tid != Some(from) {
                            // An earlier transfer of a repeated request: not this one.
                            continue;
                        }
                        n_down += 1;
                        if n_down % down == 0 {
                            counter.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        if let Some(c) = client {
                            let _ = front.send_to(&b[..n], c).await;
                        }
                    }
                }
            }
        });
        Relay {
            addr,
            dropped,
            task,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn quick() -> TftpConfig {
    TftpConfig {
        timeout: Duration::from_millis(100),
        retries: 20,
        ..TftpConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lossy_link_own_client() {
    let server = Server::with(quick()).await;
    let data = random_bytes(40_000, 21);
    server.put("f", &data);
    for (up, down, opts) in [
        (7, 3, &[][..]),
        (3, 7, &[("blksize", "1024")][..]),
        (7, 3, &[("blksize", "1024"), ("windowsize", "8")][..]),
        (3, 7, &[("windowsize", "4"), ("tsize", "0")][..]),
    ] {
        let relay = Relay::start(server.addr, up, down).await;
        let (got, _, _) = raw::fetch(relay.addr, "f", opts, Duration::from_millis(150))
            .await
            .unwrap_or_else(|e| panic!("{up}/{down} {opts:?}: {e}"));
        assert!(got == data, "{up}/{down} {opts:?}: wrong data");
        assert!(relay.dropped.load(Ordering::Relaxed) > 10);
    }
    assert!(server.stats.snapshot().retransmissions > 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lossy_link_real_clients() {
    let server = Server::with(quick()).await;
    let data = random_bytes(16_000, 22);
    server.put("f", &data);
    let scratch = tempfile::tempdir().unwrap();
    let mut ran = 0;
    if have("curl") {
        // curl always sends a timeout option (5 s, from --max-time) unless told to send
        // none, and the server honours it: a loss would cost 5 s. Without options it is
        // the server's 100 ms.
        for (up, down, args) in [
            (7, 3, &["--tftp-no-options"][..]),
            (3, 7, &["--tftp-no-options"][..]),
        ] {
            let relay = Relay::start(server.addr, up, down).await;
            fetch_ok(Client::Curl, relay.addr, "f", args, scratch.path(), &data).await;
            assert!(relay.dropped.load(Ordering::Relaxed) > 5);
            ran += 1;
        }
    }
    if have("atftp") {
        for (up, down, args) in [
            (
                7,
                3,
                &["--tftp-timeout", "1", "--option", "blksize 1024"][..],
            ),
            (3, 7, &["--tftp-timeout", "1"][..]),
        ] {
            let relay = Relay::start(server.addr, up, down).await;
            fetch_ok(Client::Atftp, relay.addr, "f", args, scratch.path(), &data).await;
            assert!(relay.dropped.load(Ordering::Relaxed) > 5);
            ran += 1;
        }
    }
    if ran > 0 {
        assert!(server.stats.snapshot().retransmissions > 0);
    }
    server.stop().await;
}

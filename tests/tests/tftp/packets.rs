//! The protocol packet by packet, with the hand-written client of `raw`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mr_provisioner_netboot::tftp::{Content, ReadRequest, ResolveError, Resolver, TftpConfig};

use crate::raw::{self, Pkt, Raw, ack, error, request, rrq};
use crate::{Client, Server, fetch_ok, have, random_bytes, wait_stats};

/// A configuration whose timeout no healthy test run reaches, so that any retransmission
/// seen comes from the protocol, not from a slow machine.
fn patient() -> TftpConfig {
    TftpConfig {
        timeout: Duration::from_secs(10),
        ..TftpConfig::default()
    }
}

/// Receives DATA blocks `from..=to` (in order) from `tid`, returning their bytes.
async fn expect_blocks(c: &Raw, tid: SocketAddr, from: u16, to: u16, blksize: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for n in from..=to {
        let (p, src) = c.recv().await;
        assert_eq!(src, tid);
        match p {
            Pkt::Data(b, d) if b == n => {
                assert!(d.len() <= blksize);
                out.extend_from_slice(&d);
            }
            other => panic!("expected DATA {n}, got {other:?}"),
        }
    }
    out
}

/// No packet arrives within a short while (used after the end of an exchange, where any
/// packet would be a protocol error; its absence is not a timing claim about the server).
async fn expect_silence(c: &Raw) {
    if let Some(p) = c.recv_within(Duration::from_millis(300)).await {
        panic!("unexpected packet {p:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option_negotiation_and_clamping() {
    let server = Server::with(TftpConfig {
        max_block_size: 1400,
        max_window_size: 8,
        ..patient()
    })
    .await;
    let data = random_bytes(30_000, 1);
    server.put("f", &data);
    let c = Raw::new().await;
    let opts = [
        ("BLKSIZE", "100000"),
        ("TSize", "0"),
        ("foo", "bar"),
        ("timeout", "3"),
        ("windowsize", "500"),
        ("blksize", "600"),
    ];
    c.send(server.addr, &rrq("f", &opts)).await;
    let (p, tid) = c.recv().await;
    assert_ne!(tid, server.addr, "a transfer answers from its own port");
    let want: Vec<(String, String)> = [
        ("blksize", "1400"),
        ("tsize", "30000"),
        ("timeout", "3"),
        ("windowsize", "8"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(p, Pkt::Oack(want));
    c.send(tid, &ack(0)).await;
    // 30,000 bytes at 1400: 21 full blocks and a short 22nd; windows of 8.
    let mut got = Vec::new();
    for (from, to) in [(1, 8), (9, 16), (17, 22)] {
        got.extend(expect_blocks(&c, tid, from, to, 1400).await);
        c.send(tid, &ack(to)).await;
    }
    assert_eq!(got, data);
    expect_silence(&c).await;

    // Only options the server does not know, or invalid values: no OACK, DATA 1 at once.
    for opts in [
        &[("multicast", ""), ("rollover", "1")][..],
        &[("blksize", "7"), ("timeout", "0"), ("windowsize", "0")],
        &[("timeout", "256"), ("blksize", "x")],
    ] {
        let c = Raw::new().await;
        c.send(server.addr, &rrq("f", opts)).await;
        let (p, tid) = c.recv().await;
        assert_eq!(p, Pkt::Data(1, data[..512].to_vec()), "{opts:?}");
        c.send(tid, &error(0, "enough")).await;
    }

    // The smallest block size.
    let c = Raw::new().await;
    c.send(server.addr, &rrq("f", &[("blksize", "8")])).await;
    let (p, tid) = c.recv().await;
    assert_eq!(p, Pkt::Oack(vec![("blksize".into(), "8".into())]));
    c.send(tid, &ack(0)).await;
    assert_eq!(expect_blocks(&c, tid, 1, 1, 8).await, data[..8]);
    c.send(tid, &error(0, "enough")).await;
    server.stop().await;
}

/// UEFI firmware asks with tsize, reads the size from the OACK, ends that transfer with
/// error 8 and asks again: an abort by the client, not a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uefi_tsize_probe_then_fetch() {
    let server = Server::with(patient()).await;
    let data = random_bytes(5000, 2);
    server.put("EFI/BOOT/grubx64.efi", &data);
    let c = Raw::new().await;
    c.send(
        server.addr,
        &rrq("/EFI/BOOT/grubx64.efi", &[("tsize", "0")]),
    )
    .await;
    let (p, tid) = c.recv().await;
    assert_eq!(p, Pkt::Oack(vec![("tsize".into(), "5000".into())]));
    c.send(tid, &error(8, "")).await;
    expect_silence(&c).await;

    let (got, oack, packets) = raw::fetch(
        server.addr,
        "/EFI/BOOT/grubx64.efi",
        &[("blksize", "1468"), ("tsize", "0")],
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(got, data);
    assert_eq!(
        oack.unwrap(),
        vec![
            ("blksize".to_string(), "1468".to_string()),
            ("tsize".to_string(), "5000".to_string())
        ]
    );
    assert_eq!(packets, 4);
    let s = wait_stats(&server.stats, |s| s.transfers_completed == 1).await;
    assert_eq!(s.transfers_started, 2);
    assert_eq!(s.transfers_aborted, 1);
    assert_eq!(s.transfers_failed, 0);
    assert_eq!(s.retransmissions, 0);
    server.stop().await;
}

/// Duplicate and old ACKs never cause a DATA packet (no sorcerer's apprentice): every
/// block arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_acks_cause_no_duplicate_data() {
    let server = Server::with(patient()).await;
    let data = random_bytes(10 * 512 - 100, 3);
    server.put("f", &data);
    let c = Raw::new().await;
    c.send(server.addr, &rrq("f", &[])).await;
    let mut got = Vec::new();
    let mut blocks = Vec::new();
    loop {
        let (p, tid) = c.recv().await;
        let Pkt::Data(n, d) = p else { panic!("{p:?}") };
        blocks.push(n);
        got.extend_from_slice(&d);
        let last = d.len() < 512;
        // The ACK, twice more, and an older one.
        for b in [n, n, n, n.wrapping_sub(1)] {
            c.send(tid, &ack(b)).await;
        }
        if last {
            break;
        }
    }
    expect_silence(&c).await;
    assert_eq!(blocks, (1..=10).collect::<Vec<u16>>());
    assert_eq!(got, data);
    let s = wait_stats(&server.stats, |s| s.transfers_completed == 1).await;
    assert_eq!(s.retransmissions, 0);
    server.stop().await;
}

/// A packet from another port gets error 5 there, and the transfer goes on undisturbed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tid_gets_error_5() {
    let server = Server::with(patient()).await;
    let data = random_bytes(3 * 512 + 7, 4);
    server.put("f", &data);
    let c = Raw::new().await;
    let stranger = Raw::new().await;
    c.send(server.addr, &rrq("f", &[])).await;
    let (p, tid) = c.recv().await;
    assert_eq!(p, Pkt::Data(1, data[..512].to_vec()));
    stranger.send(tid, &ack(1)).await;
    let (p, from) = stranger.recv().await;
    assert_eq!(from, tid);
    assert!(matches!(p, Pkt::Error(5, _)), "{p:?}");
    // An ERROR from a stranger is not answered.
    stranger.send(tid, &error(0, "go away")).await;
    expect_silence(&stranger).await;
    // The stranger's ACK 1 did not advance the transfer: nothing came to the client.
    expect_silence(&c).await;
    let mut got = data[..512].to_vec();
    for n in 1..=3 {
        c.send(tid, &ack(n)).await;
        got.extend(expect_blocks(&c, tid, n + 1, n + 1, 512).await);
    }
    c.send(tid, &ack(4)).await;
    assert_eq!(got, data);
    let s = wait_stats(&server.stats, |s| s.transfers_completed == 1).await;
    assert_eq!(s.transfers_failed, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_requests_refused() {
    let server = Server::start().await;
    let c = Raw::new().await;
    for mode in ["octet", "netascii"] {
        c.send(server.addr, &request(2, b"upload", mode, &[("tsize", "5")]))
            .await;
        let (p, from) = c.recv().await;
        assert_eq!(from, server.addr);
        assert!(matches!(p, Pkt::Error(2, _)), "{p:?}");
    }
    // Nothing arrives for a DATA sent anyway.
    c.send(server.addr, &[0, 3, 0, 1, b'x']).await;
    let (p, _) = c.recv().await;
    assert!(matches!(p, Pkt::Error(4, _)), "{p:?}");
    assert!(!server.root().join("upload").exists());
    assert_eq!(server.stats.snapshot().transfers_started, 0);
    server.stop().await;
}

/// RFC 7440: an ACK for a block inside the window makes the next window start after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_slides_from_an_acked_block_inside_it() {
    let server = Server::with(patient()).await;
    let data = random_bytes(40 * 512 + 100, 5);
    server.put("f", &data);
    let c = Raw::new().await;
    c.send(server.addr, &rrq("f", &[("windowsize", "16")]))
        .await;
    let (p, tid) = c.recv().await;
    assert_eq!(p, Pkt::Oack(vec![("windowsize".into(), "16".into())]));
    c.send(tid, &ack(0)).await;
    let first = expect_blocks(&c, tid, 1, 16, 512).await;
    assert_eq!(first, data[..16 * 512]);
    // As if 9 had been lost: ACK 8.
    c.send(tid, &ack(8)).await;
    let mut got = first[..8 * 512].to_vec();
    got.extend(expect_blocks(&c, tid, 9, 24, 512).await);
    // A late duplicate of the ACK changes nothing.
    c.send(tid, &ack(8)).await;
    c.send(tid, &ack(24)).await;
    got.extend(expect_blocks(&c, tid, 25, 40, 512).await);
    c.send(tid, &ack(40)).await;
    got.extend(expect_blocks(&c, tid, 41, 41, 512).await);
    c.send(tid, &ack(41)).await;
    expect_silence(&c).await;
    assert_eq!(got, data);
    let s = wait_stats(&server.stats, |s| s.transfers_completed == 1).await;
    // Blocks 9..=16 were sent twice, nothing else.
    assert_eq!(s.retransmissions, 8);
    assert_eq!(s.bytes_sent, data.len() as u64);
    server.stop().await;
}

/// Without an ACK the block is sent again after the timeout, `retries` times, then the
/// transfer is given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retransmits_on_timeout_then_gives_up() {
    let server = Server::with(TftpConfig {
        timeout: Duration::from_millis(100),
        retries: 2,
        ..TftpConfig::default()
    })
    .await;
    server.put("f", &random_bytes(2000, 6));
    let c = Raw::new().await;
    c.send(server.addr, &rrq("f", &[])).await;
    let mut copies = 0;
    while let Some((p, _)) = c.recv_within(Duration::from_secs(3)).await {
        assert!(matches!(p, Pkt::Data(1, _)), "{p:?}");
        copies += 1;
    }
    assert_eq!(copies, 3);
    let s = wait_stats(&server.stats, |s| s.transfers_failed == 1).await;
    assert_eq!(s.retransmissions, 2);
    assert_eq!(s.transfers_completed, 0);
    server.stop().await;
}

/// Datagrams of random bytes and malformed requests at the listen port are answered (or
/// not) without harm; a normal transfer works afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_at_the_listen_port() {
    let server = Server::with(patient()).await;
    let data = random_bytes(4000, 7);
    server.put("f", &data);
    let c = Raw::new().await;
    let noise = random_bytes(200_000, 8);
    let mut at = 0;
    let mut sent = 0;
    for i in 0..400usize {
        let len = (noise[i] as usize * 3) % 700;
        let mut d = noise[at..at + len].to_vec();
        at += len;
        // Some with a real opcode in front, so that more than the opcode is parsed.
        if i % 2 == 0 && d.len() >= 2 {
            d[0] = 0;
            d[1] = (i % 8) as u8;
        }
        c.send(server.addr, &d).await;
        sent += 1;
    }
    // (Requests that parse name a missing file, so that every answer is an error.)
    let crafted: [&[u8]; 10] = [
        b"",
        b"\0",
        b"\0\x01",
        b"\0\x01f",
        b"\0\x01f\0octet",
        b"\0\x01nofile\0octet\0blksize",
        b"\0\x04\0",
        b"\0\x06",
        b"\xff\xff\0\0",
        b"\0\x01nofile\0octet\0blksize\0\0\0\0",
    ];
    for d in crafted {
        c.send(server.addr, d).await;
        sent += 1;
    }
    // Every answer is an ERROR packet.
    let mut answers = 0;
    while let Some((p, _)) = c.recv_within(Duration::from_millis(500)).await {
        assert!(matches!(p, Pkt::Error(0 | 1 | 2 | 4 | 5, _)), "{p:?}");
        answers += 1;
    }
    assert!(answers > 0 && answers <= sent, "{answers} answers");
    let (got, _, _) = raw::fetch(server.addr, "f", &[], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got, data);
    if have("tftp") {
        let scratch = tempfile::tempdir().unwrap();
        fetch_ok(
            Client::TftpHpa,
            server.addr,
            "f",
            &[],
            scratch.path(),
            &data,
        )
        .await;
    }
    server.stop().await;
}

/// Beyond `max_transfers`, requests get "server busy" from the listen port; a finished
/// transfer frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_busy_beyond_max_transfers() {
    let server = Server::with(TftpConfig {
        max_transfers: 1,
        ..patient()
    })
    .await;
    let data = random_bytes(700, 9);
    server.put("f", &data);
    let a = Raw::new().await;
    a.send(server.addr, &rrq("f", &[])).await;
    let (p, tid) = a.recv().await;
    assert!(matches!(p, Pkt::Data(1, _)));
    let b = Raw::new().await;
    b.send(server.addr, &rrq("f", &[])).await;
    let (p, from) = b.recv().await;
    assert_eq!(from, server.addr);
    assert_eq!(p, Pkt::Error(0, "server busy".into()));
    a.send(tid, &ack(1)).await;
    let (p, _) = a.recv().await;
    assert_eq!(p, Pkt::Data(2, data[512..].to_vec()));
    a.send(tid, &ack(2)).await;
    wait_stats(&server.stats, |s| s.transfers_completed == 1).await;
    // The place is free again (the permit is released as the task ends).
    let mut fetched = None;
    for _ in 0..100 {
        match raw::fetch(server.addr, "f", &[], Duration::from_secs(5)).await {
            Ok((got, _, _)) => {
                fetched = Some(got);
                break;
            }
            Err(e) if e.contains("busy") => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(fetched.as_deref(), Some(&data[..]));
    server.stop().await;
}

/// netascii: LF becomes CR LF, CR becomes CR NUL, mode names are case-insensitive, tsize
/// is not offered (the converted size is not known in advance); other modes are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netascii_on_the_wire_and_modes() {
    let server = Server::with(patient()).await;
    server.put("t", b"a\nb\rc\r\n");
    let c = Raw::new().await;
    c.send(
        server.addr,
        &request(1, b"t", "NetASCII", &[("tsize", "0"), ("blksize", "8")]),
    )
    .await;
    let (p, tid) = c.recv().await;
    assert_eq!(p, Pkt::Oack(vec![("blksize".into(), "8".into())]));
    c.send(tid, &ack(0)).await;
    let (p, _) = c.recv().await;
    assert_eq!(p, Pkt::Data(1, b"a\r\nb\r\0c\r".to_vec()));
    c.send(tid, &ack(1)).await;
    let (p, _) = c.recv().await;
    assert_eq!(p, Pkt::Data(2, b"\0\r\n".to_vec()));
    c.send(tid, &ack(2)).await;

    for mode in ["mail", "binary", ""] {
        c.send(server.addr, &request(1, b"t", mode, &[])).await;
        let (p, _) = c.recv().await;
        assert!(matches!(p, Pkt::Error(4, _)), "{mode}: {p:?}");
    }
    server.stop().await;
}

/// A malformed packet from the client in the middle of a transfer ends it with error 4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packet_from_the_client() {
    let server = Server::with(patient()).await;
    server.put("f", &random_bytes(2000, 10));
    let c = Raw::new().await;
    c.send(server.addr, &rrq("f", &[])).await;
    let (_, tid) = c.recv().await;
    c.send(tid, &[0, 4, 0]).await;
    let (p, _) = c.recv().await;
    assert!(matches!(p, Pkt::Error(4, _)), "{p:?}");
    expect_silence(&c).await;
    wait_stats(&server.stats, |s| s.transfers_failed == 1).await;
    server.stop().await;
}

/// A resolver serving bytes from memory; counts its calls.
struct Memory {
    calls: AtomicUsize,
}

#[mr_provisioner_netboot::tftp::async_trait]
impl Resolver for Memory {
    async fn resolve(&self, request: &ReadRequest) -> Result<Content, ResolveError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match request.path.as_str() {
            "grub/grub.cfg" => Ok(Content::Bytes(
                format!(
                    "config for {} asked as {}",
                    request.client.ip(),
                    request.filename
                )
                .into(),
            )),
            "denied" => Err(ResolveError::Denied("no".into())),
            "broken" => Err(ResolveError::Failed("database down".into())),
            _ => Err(ResolveError::NotFound),
        }
    }
}

/// Content from memory, tsize of its length; resolver errors become TFTP errors 1, 2, 0;
/// refused names never reach the resolver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolver_content_and_errors() {
    let memory = Arc::new(Memory {
        calls: AtomicUsize::new(0),
    });
    let server =
        Server::with_resolver(patient(), memory.clone(), tempfile::tempdir().unwrap()).await;
    let (got, oack, _) = raw::fetch(
        server.addr,
        "//grub/./grub.cfg",
        &[("tsize", "0")],
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let want = "config for 127.0.0.1 asked as //grub/./grub.cfg";
    assert_eq!(got, want.as_bytes());
    assert_eq!(
        oack.unwrap(),
        vec![("tsize".to_string(), want.len().to_string())]
    );
    let c = Raw::new().await;
    for (name, code) in [("missing", 1), ("denied", 2), ("broken", 0)] {
        c.send(server.addr, &rrq(name, &[])).await;
        let (p, _) = c.recv().await;
        assert!(matches!(p, Pkt::Error(c, _) if c == code), "{name}: {p:?}");
    }
    assert_eq!(memory.calls.load(Ordering::SeqCst), 4);
    for name in ["../grub/grub.cfg", "a\\b", "", "/"] {
        c.send(server.addr, &rrq(name, &[])).await;
        let (p, _) = c.recv().await;
        assert!(matches!(p, Pkt::Error(2, _)), "{name:?}: {p:?}");
    }
    assert_eq!(memory.calls.load(Ordering::SeqCst), 4);
    server.stop().await;
}

/// Stopping the server ends its transfers and `run` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_transfers() {
    let server = Server::with(patient()).await;
    server.put("f", &random_bytes(5000, 11));
    let c = Raw::new().await;
    c.send(server.addr, &rrq("f", &[])).await;
    let (p, _) = c.recv().await;
    assert!(matches!(p, Pkt::Data(1, _)));
    let stats = server.stats.clone();
    tokio::time::timeout(Duration::from_secs(20), server.stop())
        .await
        .expect("run returns after shutdown");
    let s = stats.snapshot();
    assert_eq!((s.transfers_started, s.transfers_failed), (1, 1));
}

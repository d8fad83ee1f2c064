//! Real clients fetch files of awkward sizes byte-identical, with each option they have.

use crate::{Client, Server, fetch, fetch_ok, have, random_bytes, wait_stats};

/// Sizes around the block boundaries of block size `b`.
fn sizes_around(b: usize) -> Vec<usize> {
    vec![
        0,
        1,
        b - 1,
        b,
        b + 1,
        2 * b,
        3 * b - 1,
        7 * b,
        16 * b,
        16 * b + 1,
        33 * b + 5,
    ]
}

/// Puts one file per size (named `f-SIZE`) and returns `(name, data)`.
fn files(server: &Server, sizes: &[usize]) -> Vec<(String, Vec<u8>)> {
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
        .into_iter()
        .map(|n| {
            let name = format!("f-{n}");
            let data = random_bytes(n, n as u64 + 1);
            server.put(&name, &data);
            (name, data)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tftp_hpa_awkward_sizes() {
    if !have("tftp") {
        return;
    }
    let server = Server::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let files = files(&server, &sizes_around(512));
    for (name, data) in &files {
        fetch_ok(
            Client::TftpHpa,
            server.addr,
            name,
            &[],
            scratch.path(),
            data,
        )
        .await;
        // A leading slash, as many clients send, is the same file.
        fetch_ok(
            Client::TftpHpa,
            server.addr,
            &format!("/{name}"),
            &[],
            scratch.path(),
            data,
        )
        .await;
    }
    let n = 2 * files.len() as u64;
    let s = wait_stats(&server.stats, |s| s.transfers_completed == n).await;
    assert_eq!(s.transfers_started, n);
    assert_eq!(s.transfers_failed + s.transfers_aborted, 0, "{s:?}");
    let total: u64 = files.iter().map(|(_, d)| 2 * d.len() as u64).sum();
    assert_eq!(s.bytes_sent, total);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atftp_options() {
    if !have("atftp") {
        return;
    }
    let cases: &[(&[&str], usize)] = &[
        (&[], 512),
        (&["--option", "tsize enable"], 512),
        (&["--option", "blksize 1428"], 1428),
        (&["--option", "blksize 8"], 8),
        (&["--option", "blksize 65464"], 65464),
        (&["--option", "windowsize 16"], 512),
        (
            &[
                "--option",
                "blksize 1024",
                "--option",
                "windowsize 16",
                "--option",
                "tsize enable",
            ],
            1024,
        ),
        (&["--option", "timeout 2", "--option", "windowsize 4"], 512),
    ];
    fetch_every_size(Client::Atftp, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_options() {
    if !have("curl") {
        return;
    }
    let cases: &[(&[&str], usize)] = &[
        (&[], 512),
        (&["--tftp-blksize", "1024"], 1024),
        (&["--tftp-blksize", "8192"], 8192),
        (&["--tftp-no-options"], 512),
    ];
    fetch_every_size(Client::Curl, cases).await;
}

/// 40 MB of random data: at 512-byte blocks that is 81,920 blocks, so block numbers roll
/// over past 65535.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_megabytes_with_rollover() {
    let size = 40 * 1024 * 1024 + 123;
    let server = Server::start().await;
    let data = random_bytes(size, 40);
    server.put("big.img", &data);
    let scratch = tempfile::tempdir().unwrap();
    let mut fetched = 0;
    if have("tftp") {
        // No options: 512-byte blocks, lockstep, rollover.
        fetch_ok(
            Client::TftpHpa,
            server.addr,
            "big.img",
            &[],
            scratch.path(),
            &data,
        )
        .await;
        fetched += 1;
    }
    if have("atftp") {
        let args = ["--option", "blksize 1428", "--option", "windowsize 16"];
        fetch_ok(
            Client::Atftp,
            server.addr,
            "big.img",
            &args,
            scratch.path(),
            &data,
        )
        .await;
        fetched += 1;
    }
    if have("curl") {
        let args = ["--tftp-blksize", "8192"];
        fetch_ok(
            Client::Curl,
            server.addr,
            "big.img",
            &args,
            scratch.path(),
            &data,
        )
        .await;
        fetched += 1;
    }
    let s = wait_stats(&server.stats, |s| s.transfers_completed == fetched).await;
    assert_eq!(s.bytes_sent, fetched * size as u64);
    server.stop().await;
}

/// netascii: the server sends LF as CR LF and CR as CR NUL; tftp-hpa turns them back, so
/// the file arrives as it is on disk, including pairs split across blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tftp_hpa_netascii() {
    if !have("tftp") {
        return;
    }
    let server = Server::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let mut text = Vec::new();
    for i in 0..3000 {
        text.extend_from_slice(format!("line {i}").as_bytes());
        text.push(if i % 3 == 0 { b'\r' } else { b'\n' });
        if i % 7 == 0 {
            text.extend_from_slice(b"\r\n");
        }
    }
    for len in [0, 1, 511, 512, 513, 1000, text.len()] {
        let name = format!("text-{len}");
        server.put(&name, &text[..len]);
        fetch_ok(
            Client::TftpHpa,
            server.addr,
            &name,
            &["-m", "netascii"],
            scratch.path(),
            &text[..len],
        )
        .await;
    }
    // A file of only newlines: every block boundary splits a CR LF pair somewhere.
    let newlines = vec![b'\n'; 1537];
    server.put("newlines", &newlines);
    fetch_ok(
        Client::TftpHpa,
        server.addr,
        "newlines",
        &["-m", "netascii"],
        scratch.path(),
        &newlines,
    )
    .await;
    server.stop().await;
}

/// Errors reach the clients: a missing file is reported, and no file is left behind
/// claiming success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_file_is_an_error_for_each_client() {
    let server = Server::start().await;
    let scratch = tempfile::tempdir().unwrap();
    for client in [Client::TftpHpa, Client::Atftp, Client::Curl] {
        if !have(client.program()) {
            continue;
        }
        let got = fetch(client, server.addr, "no-such-file", &[], scratch.path()).await;
        assert!(
            got.data.as_deref().is_none_or(<[u8]>::is_empty),
            "{client:?}: {got:?}"
        );
        if client != Client::TftpHpa {
            // tftp-hpa prints the error but exits 0.
            assert!(!got.success, "{client:?}: {got:?}");
        }
        if client == Client::Curl {
            // 68: "TFTP: file not found" (curl 7.88 prints a stale getpeername() message
            // instead of the error's text).
            assert_eq!(got.code, Some(68), "{got:?}");
        } else {
            assert!(
                got.output.to_lowercase().contains("not found"),
                "{client:?}: {}",
                got.output
            );
        }
    }
    assert!(server.stats.snapshot().requests_refused >= 1);
    server.stop().await;
}

/// Fetches, with `client` and each case's arguments, files of every size around the case's
/// block size, byte-identical, and checks that no transfer failed or was aborted.
async fn fetch_every_size(client: Client, cases: &[(&[&str], usize)]) {
    let server = Server::start().await;
    let scratch = tempfile::tempdir().unwrap();
    for (args, blksize) in cases {
        let files = files(&server, &sizes_around(*blksize));
        for (name, data) in &files {
            fetch_ok(client, server.addr, name, args, scratch.path(), data).await;
        }
    }
    let s = wait_stats(&server.stats, |s| {
        s.transfers_completed + s.transfers_failed + s.transfers_aborted == s.transfers_started
    })
    .await;
    assert_eq!(s.transfers_failed + s.transfers_aborted, 0, "{s:?}");
    server.stop().await;
}

//! Many transfers at once: real client processes, and many small in-process fetches.

use std::time::Duration;

use crate::{Client, Server, fetch_ok, have, random_bytes, raw, wait_stats};

/// 100 real client processes at once (tftp-hpa, atftp with options, curl), each file
/// byte-identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_real_clients_at_once() {
    let clients: Vec<Client> = [Client::TftpHpa, Client::Atftp, Client::Curl]
        .into_iter()
        .filter(|c| have(c.program()))
        .collect();
    if clients.is_empty() {
        return;
    }
    let server = Server::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..100usize {
        let data = random_bytes((i * 7919) % 300_000, i as u64 + 100);
        let name = format!("m/{i}.bin");
        server.put(&name, &data);
        files.push((name, data));
    }
    let atftp_args: [&[&str]; 3] = [
        &["--option", "blksize 1428"],
        &["--option", "windowsize 8", "--option", "tsize enable"],
        &[],
    ];
    let curl_args: [&[&str]; 2] = [&["--tftp-blksize", "4096"], &[]];
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (name, data)) in files.into_iter().enumerate() {
        let client = clients[i % clients.len()];
        let args: &'static [&'static str] = match client {
            Client::Atftp => atftp_args[i % 3],
            Client::Curl => curl_args[i % 2],
            Client::TftpHpa => &[],
        };
        let addr = server.addr;
        let dir = scratch.path().to_path_buf();
        tasks.spawn(async move { fetch_ok(client, addr, &name, args, &dir, &data).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("a client fetch failed");
    }
    let s = wait_stats(&server.stats, |s| s.transfers_completed == 100).await;
    assert_eq!(s.transfers_failed + s.transfers_aborted, 0, "{s:?}");
    server.stop().await;
}

/// 1,000 small fetches at once from in-process clients (firmware booting a rack).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_small_fetches() {
    let server = Server::start().await;
    let data = random_bytes(3000, 30);
    server.put("pxelinux.0", &data);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let addr = server.addr;
        tasks.spawn(async move {
            let opts: &[(&str, &str)] = match i % 3 {
                0 => &[],
                1 => &[("blksize", "1468"), ("tsize", "0")],
                _ => &[("windowsize", "4")],
            };
            raw::fetch(addr, "pxelinux.0", opts, Duration::from_secs(2)).await
        });
    }
    while let Some(r) = tasks.join_next().await {
        let (got, _, _) = r.unwrap().unwrap();
        assert!(got == data);
    }
    let s = wait_stats(&server.stats, |s| s.transfers_completed >= 1000).await;
    assert_eq!(s.transfers_failed, 0, "{s:?}");
    server.stop().await;
}

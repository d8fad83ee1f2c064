//! Names that try to leave the root: every one is refused or not found, and the secret
//! beside the root never comes back, whatever client sends it.

use std::os::unix::fs::symlink;
use std::time::Duration;

use crate::raw::{self, Pkt, Raw, request};
use crate::{Client, Server, fetch, have};

const SECRET: &[u8] = b"TOP SECRET: outside the TFTP root";

/// A server whose root has symlinks pointing out of it, with secrets beside the root.
async fn server() -> Server {
    let server = Server::start().await;
    let dir = server.dir.path();
    std::fs::write(dir.join("secret"), SECRET).unwrap();
    std::fs::create_dir(dir.join("outside")).unwrap();
    std::fs::write(dir.join("outside/secret"), SECRET).unwrap();
    // A sibling whose name starts with the root's name (a string-prefix check would pass).
    std::fs::create_dir(dir.join("root2")).unwrap();
    std::fs::write(dir.join("root2/secret"), SECRET).unwrap();
    let root = server.root();
    std::fs::create_dir(root.join("sub")).unwrap();
    server.put("inside", b"fine");
    symlink(dir.join("secret"), root.join("abs-link")).unwrap();
    symlink("../secret", root.join("rel-link")).unwrap();
    symlink("../../secret", root.join("sub/up-link")).unwrap();
    symlink(dir.join("outside"), root.join("dir-link")).unwrap();
    symlink("../root2/secret", root.join("prefix-link")).unwrap();
    symlink("/etc/passwd", root.join("passwd-link")).unwrap();
    server
}

/// Payloads; each is refused (error 2) or not found (error 1).
fn payloads(server: &Server) -> Vec<Vec<u8>> {
    let abs_secret = server.dir.path().join("secret");
    let mut names: Vec<Vec<u8>> = [
        "../secret",
        "a/../../secret",
        "sub/../../secret",
        "..\\secret",
        "..\\..\\x",
        "/../secret",
        "//../secret",
        "./../secret",
        "....//secret",
        "..../secret",
        "...//secret",
        "../root2/secret",
        "..",
        "../",
        "abs-link",
        "rel-link",
        "sub/up-link",
        "dir-link/secret",
        "dir-link",
        "prefix-link",
        "passwd-link",
        "/etc/passwd",
        "etc/passwd",
        "%2e%2e/secret",
        "%2e%2e%2fsecret",
        "..%2fsecret",
        "%2E%2E/secret",
        "..%5csecret",
        "%252e%252e/secret",
        "sub/..%2f..%2fsecret",
        "\u{2025}/secret",
        "sub/\u{ff0e}\u{ff0e}/secret",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    names.push(abs_secret.to_str().unwrap().as_bytes().to_vec());
    names.push(format!("/{}", abs_secret.display()).into_bytes());
    names.push(b"sub\x01/../secret".to_vec());
    names.push(b"..\x7f/secret".to_vec());
    names.push(b"\xff\xfe../secret".to_vec());
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_payloads_at_packet_level() {
    let server = server().await;
    let c = Raw::new().await;
    for name in payloads(&server) {
        c.send(server.addr, &request(1, &name, "octet", &[])).await;
        let (p, _) = c.recv().await;
        let shown = String::from_utf8_lossy(&name);
        assert!(matches!(p, Pkt::Error(1 | 2, _)), "{shown:?}: {p:?}");
    }
    // A name with a NUL in it ends at the NUL: the rest is read as the mode and refused.
    c.send(server.addr, &request(1, b"inside\0../secret", "octet", &[]))
        .await;
    let (p, _) = c.recv().await;
    assert!(matches!(p, Pkt::Error(4, _)), "{p:?}");
    // The server works, and serves what is inside.
    let (got, _, _) = raw::fetch(server.addr, "inside", &[], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got, b"fine");
    let s = server.stats.snapshot();
    assert_eq!(s.transfers_started, 1, "{s:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_payloads_through_real_clients() {
    let server = server().await;
    let scratch = tempfile::tempdir().unwrap();
    let payloads: Vec<String> = payloads(&server)
        .into_iter()
        .filter_map(|n| String::from_utf8(n).ok())
        .filter(|n| !n.chars().any(char::is_control))
        .collect();
    let mut ran = false;
    for client in [Client::TftpHpa, Client::Atftp, Client::Curl] {
        if !have(client.program()) {
            continue;
        }
        ran = true;
        for name in &payloads {
            // curl takes a URL: spaces and the like would need encoding; these need none
            // beyond what curl itself decodes (which is the point for the %2e forms).
            let got = fetch(client, server.addr, name, &[], scratch.path()).await;
            let data = got.data.unwrap_or_default();
            assert!(
                data != SECRET && !data.starts_with(b"root:"),
                "{client:?} {name:?} fetched the secret"
            );
            assert!(
                data.is_empty(),
                "{client:?} {name:?}: got {} bytes",
                data.len()
            );
        }
    }
    if ran {
        let s = server.stats.snapshot();
        assert_eq!(s.transfers_started, 0, "{s:?}");
    }
    server.stop().await;
}

//! A small TFTP client over a UdpSocket, written from RFC 1350/2347/7440, that shows every
//! packet: for tests that count packets or misbehave on purpose.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

/// A packet as the test client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pkt {
    Data(u16, Vec<u8>),
    Ack(u16),
    Error(u16, String),
    Oack(Vec<(String, String)>),
    Other(Vec<u8>),
}

pub(crate) fn decode(b: &[u8]) -> Pkt {
    if b.len() < 2 {
        return Pkt::Other(b.to_vec());
    }
    let op = u16::from_be_bytes([b[0], b[1]]);
    let num = || (b.len() >= 4).then(|| u16::from_be_bytes([b[2], b[3]]));
    match (op, num()) {
        (3, Some(n)) => Pkt::Data(n, b[4..].to_vec()),
        (4, Some(n)) => Pkt::Ack(n),
        (5, Some(n)) => {
            let msg = &b[4..];
            assert_eq!(
                msg.last(),
                Some(&0),
                "error message not NUL-terminated: {b:?}"
            );
            Pkt::Error(
                n,
                String::from_utf8_lossy(&msg[..msg.len() - 1]).into_owned(),
            )
        }
        (6, _) => {
            let body = &b[2..];
            assert!(body.is_empty() || body.last() == Some(&0), "OACK: {b:?}");
            let parts: Vec<String> = body
                .split(|&c| c == 0)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            let parts = &parts[..parts.len().saturating_sub(1)];
            assert_eq!(parts.len() % 2, 0, "OACK with an odd field count: {b:?}");
            Pkt::Oack(
                parts
                    .chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect(),
            )
        }
        _ => Pkt::Other(b.to_vec()),
    }
}

/// An RRQ (or WRQ with `op` 2) for raw name bytes.
pub(crate) fn request(op: u16, name: &[u8], mode: &str, opts: &[(&str, &str)]) -> Vec<u8> {
    let mut v = op.to_be_bytes().to_vec();
    v.extend_from_slice(name);
    v.push(0);
    v.extend_from_slice(mode.as_bytes());
    v.push(0);
    for (k, val) in opts {
        v.extend_from_slice(k.as_bytes());
        v.push(0);
        v.extend_from_slice(val.as_bytes());
        v.push(0);
    }
    v
}

pub(crate) fn rrq(name: &str, opts: &[(&str, &str)]) -> Vec<u8> {
    request(1, name.as_bytes(), "octet", opts)
}

pub(crate) fn ack(n: u16) -> Vec<u8> {
    let mut v = vec![0, 4];
    v.extend_from_slice(&n.to_be_bytes());
    v
}

pub(crate) fn error(code: u16, msg: &str) -> Vec<u8> {
    let mut v = vec![0, 5];
    v.extend_from_slice(&code.to_be_bytes());
    v.extend_from_slice(msg.as_bytes());
    v.push(0);
    v
}

/// A client socket on 127.0.0.1.
pub(crate) struct Raw {
    pub(crate) sock: UdpSocket,
}

impl Raw {
    pub(crate) async fn new() -> Raw {
        Raw {
            sock: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    pub(crate) async fn send(&self, to: SocketAddr, b: &[u8]) {
        self.sock.send_to(b, to).await.unwrap();
    }

    /// The next packet; panics after 20 s (a hang, not a timing check).
    pub(crate) async fn recv(&self) -> (Pkt, SocketAddr) {
        self.recv_within(Duration::from_secs(20))
            .await
            .expect("no packet within 20 s")
    }

    /// The next packet within `d`, if any.
    pub(crate) async fn recv_within(&self, d: Duration) -> Option<(Pkt, SocketAddr)> {
        let mut buf = vec![0u8; 65536];
        let (n, from) = tokio::time::timeout(d, self.sock.recv_from(&mut buf))
            .await
            .ok()?
            .unwrap();
        Some((decode(&buf[..n]), from))
    }
}

/// Fetches `name` with `opts` through `server` (which may be a relay), tolerating loss:
/// re-sends its last packet after `retry` without news, acknowledges at the end of each
/// window or at a gap. Returns the file, the OACK (if any) and the DATA packets received.
pub(crate) async fn fetch(
    server: SocketAddr,
    name: &str,
    opts: &[(&str, &str)],
    retry: Duration,
) -> Result<(Vec<u8>, Option<Vec<(String, String)>>, usize), String> {
    let c = Raw::new().await;
    let req = rrq(name, opts);
    c.send(server, &req).await;
    let mut tid: Option<SocketAddr> = None;
    let mut blksize = 512usize;
    let mut window = 1u64;
    let mut oack = None;
    let mut data = Vec::new();
    let mut expected: u64 = 1;
    let mut in_window = 0u64;
    let mut last_sent = req.clone();
    let mut packets = 0;
    let mut idle = 0;
    loop {
        let Some((p, from)) = c.recv_within(retry).await else {
            idle += 1;
            if idle > 60 {
                return Err(format!("gave up at block {expected}"));
            }
            let to = match tid {
                Some(t) if last_sent != req => t,
                _ => server,
            };
            c.send(to, &last_sent).await;
            continue;
        };
        idle = 0;
        if tid.is_none() {
            tid = Some(from);
        } else if tid != Some(from) {
            // Another transfer (of a repeated request): tell it, as RFC 1350 says.
            c.send(from, &error(5, "unknown transfer ID")).await;
            continue;
        }
        match p {
            Pkt::Oack(pairs) if expected == 1 && data.is_empty() => {
                for (k, v) in &pairs {
                    match k.as_str() {
                        "blksize" => blksize = v.parse().unwrap(),
                        "windowsize" => window = v.parse().unwrap(),
                        _ => {}
                    }
                }
                oack = Some(pairs);
                last_sent = ack(0);
                c.send(from, &last_sent).await;
            }
            Pkt::Oack(_) => {}
            Pkt::Data(n, bytes) => {
                packets += 1;
                if n == expected as u16 {
                    data.extend_from_slice(&bytes);
                    expected += 1;
                    in_window += 1;
                    let done = bytes.len() < blksize;
                    if done || in_window == window {
                        in_window = 0;
                        last_sent = ack(n);
                        c.send(from, &last_sent).await;
                    }
                    if done {
                        return Ok((data, oack, packets));
                    }
                } else if n != (expected - 1) as u16 || window == 1 {
                    // A gap (or, lockstep, a repeat of the last block): say where we are.
                    in_window = 0;
                    last_sent = ack((expected - 1) as u16);
                    c.send(from, &last_sent).await;
                }
            }
            Pkt::Error(code, msg) => return Err(format!("error {code}: {msg}")),
            other => return Err(format!("unexpected {other:?}")),
        }
    }
}

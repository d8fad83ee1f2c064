//! One read transfer, on its own socket: checks and resolves the request, negotiates,
//! then sends windows of blocks and waits for ACKs.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{Instant, Sleep};

use super::options::{self, Limits};
use super::packet::{self, Packet, code};
use super::source::BlockSource;
use super::{Content, ReadRequest, ResolveError, Shared, TftpStats, bump};
use crate::path::normalise;

/// Enough for any ACK or ERROR a client sends; longer datagrams are cut.
const RECV_BUF: usize = 1024;

/// How a transfer ended.
enum Outcome {
    Completed,
    /// The client sent an ERROR.
    Aborted {
        code: u16,
        message: String,
    },
    Failed(String),
}

/// Counts the transfer as failed if it is dropped before it finished (the server stopping).
struct Finish<'a> {
    stats: &'a TftpStats,
    done: bool,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        if !self.done {
            bump(&self.stats.transfers_failed);
        }
    }
}

/// Serves the read request `datagram` from `client`.
pub(super) async fn serve(datagram: &[u8], client: SocketAddr, shared: &Shared) {
    let stats = &*shared.stats;
    let socket = match UdpSocket::bind((shared.transfer_ip, 0)).await {
        Ok(s) => s,
        Err(e) => {
            bump(&stats.requests_refused);
            tracing::warn!(%client, error = %e, "TFTP: cannot open a transfer socket");
            return;
        }
    };
    let Ok(Packet::Rrq(request)) = packet::parse(datagram) else {
        return;
    };
    // A fresh socket is not known to be writable yet, so this waits (briefly) rather than
    // `try_send_to`, which would drop the answer.
    let refuse = async |code: u16, message: &str| {
        bump(&stats.requests_refused);
        let _ = socket.send_to(&packet::error(code, message), client).await;
    };
    let Ok(filename) = std::str::from_utf8(request.filename) else {
        tracing::info!(%client, file = %String::from_utf8_lossy(request.filename),
            "TFTP: refused a file name that is not UTF-8");
        return refuse(code::ACCESS_VIOLATION, "access violation").await;
    };
    let netascii = if request.mode.eq_ignore_ascii_case(b"octet") {
        false
    } else if request.mode.eq_ignore_ascii_case(b"netascii") {
        true
    } else {
        tracing::info!(%client, file = filename, mode = %String::from_utf8_lossy(request.mode),
            "TFTP: unsupported transfer mode");
        return refuse(code::ILLEGAL_OPERATION, "unsupported transfer mode").await;
    };
    let path = match normalise(filename) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(%client, file = filename, reason = %e, "TFTP: refused file name");
            return refuse(code::ACCESS_VIOLATION, "access violation").await;
        }
    };
    let read_request = ReadRequest {
        filename: filename.to_owned(),
        path,
        client,
    };
    let content = match shared.resolver.resolve(&read_request).await {
        Ok(c) => c,
        Err(ResolveError::NotFound) => {
            // PXE firmware and GRUB probe many names: not worth more than debug.
            tracing::debug!(%client, file = filename, "TFTP: file not found");
            return refuse(code::FILE_NOT_FOUND, "file not found").await;
        }
        Err(ResolveError::Denied(why)) => {
            tracing::info!(%client, file = filename, reason = %why, "TFTP: access denied");
            return refuse(code::ACCESS_VIOLATION, "access violation").await;
        }
        Err(ResolveError::Failed(why)) => {
            tracing::warn!(%client, file = filename, error = %why, "TFTP: cannot serve file");
            return refuse(code::NOT_DEFINED, "server error").await;
        }
    };
    let config = &shared.config;
    let limits = Limits {
        max_block_size: config.max_block_size,
        max_window_size: config.max_window_size,
        timeout: config.timeout,
    };
    let size = match &content {
        Content::File { size, .. } => *size,
        Content::Bytes(b) => b.len() as u64,
    };
    let negotiated = options::negotiate(request.options, &limits, (!netascii).then_some(size));
    let blksize = usize::from(negotiated.blksize);
    let window = usize::from(negotiated.windowsize);
    let source = match content {
        Content::File { file, size } => BlockSource::file(file, size, blksize * window, netascii),
        Content::Bytes(b) => BlockSource::bytes(b, netascii),
    };

    bump(&stats.transfers_started);
    let mut finish = Finish { stats, done: false };
    let started = Instant::now();
    let mut transfer = Transfer {
        socket,
        client,
        source,
        blksize,
        window: window as u64,
        timeout: negotiated.timeout,
        retries: config.retries,
        slots: vec![Box::default(); window],
        lens: vec![0; window],
        recv: [0; RECV_BUF],
        sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
        stats,
        highest_sent: 0,
        unflushed_bytes: 0,
        unflushed_retransmissions: 0,
        retransmissions: 0,
    };
    let outcome = transfer.run(negotiated.oack()).await;
    transfer.flush();
    finish.done = true;
    let bytes = transfer.highest_sent.saturating_sub(1) * blksize as u64;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Outcome::Completed => {
            bump(&stats.transfers_completed);
            tracing::debug!(%client, file = filename, size, blocks = transfer.highest_sent,
                blksize, windowsize = window, retransmissions = transfer.retransmissions,
                elapsed_ms, "TFTP transfer complete");
        }
        Outcome::Aborted { code, message } => {
            bump(&stats.transfers_aborted);
            if code == code::OPTION_REFUSED && transfer.highest_sent == 0 {
                // UEFI asks with tsize, reads the size from the OACK, ends with error 8
                // and asks again.
                tracing::debug!(%client, file = filename, size, error_code = code,
                    message = %message, "TFTP: client ended the transfer after the OACK");
            } else {
                tracing::info!(%client, file = filename, error_code = code, message = %message,
                    bytes_before = bytes, "TFTP: client aborted the transfer");
            }
        }
        Outcome::Failed(reason) => {
            bump(&stats.transfers_failed);
            tracing::warn!(%client, file = filename, reason = %reason,
                blocks_sent = transfer.highest_sent, elapsed_ms, "TFTP transfer failed");
        }
    }
}

/// What waiting on the transfer socket gave.
enum Event {
    Ack(u16),
    Timeout,
    ClientError(u16, String),
    Fatal(String),
}

struct Transfer<'a> {
    socket: UdpSocket,
    client: SocketAddr,
    source: BlockSource,
    blksize: usize,
    window: u64,
    timeout: Duration,
    retries: u32,
    /// The packets of the current window, by block number modulo the window size;
    /// allocated on first use.
    slots: Vec<Box<[u8]>>,
    lens: Vec<usize>,
    recv: [u8; RECV_BUF],
    sleep: Pin<Box<Sleep>>,
    stats: &'a TftpStats,
    /// The highest block number sent so far (0: none).
    highest_sent: u64,
    unflushed_bytes: u64,
    unflushed_retransmissions: u64,
    retransmissions: u64,
}

impl Transfer<'_> {
    async fn run(&mut self, oack: Option<Vec<u8>>) -> Outcome {
        match self.run_inner(oack).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Failed(format!("I/O error: {e}")),
        }
    }

    async fn run_inner(&mut self, oack: Option<Vec<u8>>) -> io::Result<Outcome> {
        if let Some(oack) = oack {
            let mut tries = 0;
            self.socket.send_to(&oack, self.client).await?;
            self.arm();
            loop {
                match self.event().await {
                    Event::Ack(0) => break,
                    // Anything else is stale: wait on.
                    Event::Ack(_) => {}
                    Event::Timeout => {
                        tries += 1;
                        if tries > self.retries {
                            return Ok(Outcome::Failed("no ACK of the OACK".into()));
                        }
                        self.socket.send_to(&oack, self.client).await?;
                        self.retransmissions += 1;
                        self.unflushed_retransmissions += 1;
                        self.arm();
                    }
                    Event::ClientError(code, message) => {
                        return Ok(Outcome::Aborted { code, message });
                    }
                    Event::Fatal(why) => return Ok(Outcome::Failed(why)),
                }
            }
        }

        let w = self.window;
        // Every block up to `acked` is acknowledged; blocks up to `loaded` are in their
        // slots; `last` is the final (short) block once the source has ended.
        let mut acked = 0u64;
        let mut loaded = 0u64;
        let mut last: Option<u64> = None;
        let mut next = 1u64;
        let mut tries = 0u32;
        loop {
            let mut end = acked + w;
            while next <= end.min(last.unwrap_or(u64::MAX)) {
                if loaded < next {
                    // Blocks load in order, and `next` is at most one past `loaded`.
                    let len = self.load(next).await?;
                    loaded = next;
                    if len < self.blksize {
                        last = Some(next);
                        end = end.min(next);
                    }
                }
                self.send(next).await?;
                next += 1;
            }
            self.arm();
            loop {
                match self.event().await {
                    Event::Ack(block) => {
                        let ahead = u64::from(block.wrapping_sub(acked as u16));
                        if ahead == 0 || ahead > self.highest_sent - acked {
                            // A duplicate or stale ACK: never answered (no sorcerer's
                            // apprentice); the timeout stays as it was.
                            continue;
                        }
                        acked += ahead;
                        tries = 0;
                        if last == Some(acked) {
                            return Ok(Outcome::Completed);
                        }
                        // RFC 7440: the window slides from the acknowledged block.
                        next = acked + 1;
                        break;
                    }
                    Event::Timeout => {
                        tries += 1;
                        if tries > self.retries {
                            let what = if last.is_some_and(|l| self.highest_sent == l) {
                                "no ACK of the last block"
                            } else {
                                "timed out"
                            };
                            return Ok(Outcome::Failed(format!(
                                "{what} (block {} of {}, {} tries)",
                                acked + 1,
                                last.map_or_else(|| "?".to_string(), |l| l.to_string()),
                                tries
                            )));
                        }
                        next = acked + 1;
                        break;
                    }
                    Event::ClientError(code, message) => {
                        return Ok(Outcome::Aborted { code, message });
                    }
                    Event::Fatal(why) => return Ok(Outcome::Failed(why)),
                }
            }
            if self.unflushed_bytes >= 1 << 20 {
                self.flush();
            }
        }
    }

    /// Starts the retransmission timer.
    fn arm(&mut self) {
        self.sleep.as_mut().reset(Instant::now() + self.timeout);
    }

    /// Reads block `n` into its slot; returns its data length.
    async fn load(&mut self, n: u64) -> io::Result<usize> {
        let i = (n % self.window) as usize;
        let slot = &mut self.slots[i];
        if slot.is_empty() {
            *slot = vec![0; 4 + self.blksize].into_boxed_slice();
        }
        slot[..4].copy_from_slice(&packet::data_header(n as u16));
        let len = self.source.fill(&mut slot[4..]).await?;
        self.lens[i] = 4 + len;
        Ok(len)
    }

    /// Sends block `n` (loaded).
    async fn send(&mut self, n: u64) -> io::Result<()> {
        let i = (n % self.window) as usize;
        let packet = &self.slots[i][..self.lens[i]];
        self.socket.send_to(packet, self.client).await?;
        if n <= self.highest_sent {
            self.retransmissions += 1;
            self.unflushed_retransmissions += 1;
        } else {
            self.highest_sent = n;
            self.unflushed_bytes += (packet.len() - 4) as u64;
        }
        Ok(())
    }

    fn flush(&mut self) {
        let s = self.stats;
        s.bytes_sent
            .fetch_add(std::mem::take(&mut self.unflushed_bytes), Ordering::Relaxed);
        s.retransmissions.fetch_add(
            std::mem::take(&mut self.unflushed_retransmissions),
            Ordering::Relaxed,
        );
    }

    /// The next ACK, ERROR or problem from the client, or the timer running out. Packets
    /// from any other address get error 5 and are otherwise ignored.
    async fn event(&mut self) -> Event {
        loop {
            tokio::select! {
                biased;
                received = self.socket.recv_from(&mut self.recv) => {
                    let (n, from) = match received {
                        Ok(r) => r,
                        Err(e) => return Event::Fatal(format!("receive error: {e}")),
                    };
                    let parsed = packet::parse(&self.recv[..n]);
                    if from != self.client {
                        if !matches!(parsed, Ok(Packet::Error { .. })) {
                            tracing::debug!(client = %self.client, stranger = %from,
                                "TFTP: packet from a wrong transfer ID");
                            let _ = self.socket.try_send_to(
                                &packet::error(code::UNKNOWN_TID, "unknown transfer ID"),
                                from,
                            );
                        }
                        continue;
                    }
                    return match parsed {
                        Ok(Packet::Ack(block)) => Event::Ack(block),
                        Ok(Packet::Error { code, message }) => Event::ClientError(
                            code,
                            String::from_utf8_lossy(message).into_owned(),
                        ),
                        other => {
                            let why = match other {
                                Err(e) => format!("malformed packet from the client: {e}"),
                                Ok(_) => "unexpected packet from the client".to_string(),
                            };
                            let _ = self
                                .socket
                                .send_to(
                                    &packet::error(
                                        code::ILLEGAL_OPERATION,
                                        "illegal TFTP operation",
                                    ),
                                    self.client,
                                )
                                .await;
                            Event::Fatal(why)
                        }
                    };
                }
                () = self.sleep.as_mut() => return Event::Timeout,
            }
        }
    }
}

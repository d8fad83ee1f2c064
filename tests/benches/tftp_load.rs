//! TFTP load generator: N read transfers at once against one server, verified, timed.
//!
//! A TFTP client written for the benchmark (`bench/tftp.sh` drives it): RRQ with the options of
//! RFC 2347/2348/2349/7440 (blksize, tsize, windowsize), OACK answered with ACK 0, the last
//! block of each window acknowledged (the last in-order block when one is missing), block
//! numbers rolling over past 65535 (to 0, or to 1 as some servers do), ERROR packets reported,
//! and a timeout that resends the last packet with an exponential back-off, as real clients do.
//! Each transfer checks its byte count, the tsize the server announced, and a SHA-256 when one
//! is given. The protocol is a state machine without I/O ([`Transfer`]); one tokio task per
//! concurrent slot drives it on a multi-threaded runtime (`--threads`), or one OS thread per
//! slot with blocking sockets (`--blocking`).
//!
//! ```text
//! cargo bench -p mr-provisioner-tests --bench tftp_load -- \
//!     --server 127.0.0.1:6969 --file big.bin --size 67108864 --blksize 8192 --windowsize 16
//! cargo bench -p mr-provisioner-tests --bench tftp_load -- \
//!     --server 127.0.0.1:6969 --manifest configs.tsv --concurrency 1000
//! ```
//!
//! Options: `--server ADDR:PORT`; the transfers, either `--file NAME [--size N] [--sha256 HEX]
//! [--count N]` or `--manifest FILE` (lines `name<TAB>size<TAB>sha256`, `-` for an unknown
//! size or hash) with `--repeat N`; `--concurrency N` (default: all at once); `--blksize N`
//! (default 512, not asked for when 512), `--windowsize N` (default 1, not asked for when 1),
//! `--no-tsize`; `--timeout-ms N` (first timeout, default 1000, doubling up to 8 s),
//! `--retries N` (default 6); `--threads N` (tokio workers, default 2) or `--blocking`.
//! `--floor N [--blksize B]` measures instead the machine's lockstep round-trip floor (N
//! ACK/DATA ping-pongs between two threads over loopback) and needs no server.
//! Prints one JSON object on stdout: transfers, failures (with the first errors), bytes,
//! seconds, MB/s (10^6 bytes), per-transfer latency, retransmissions, the negotiated blksize
//! and windowsize, the client's CPU seconds, and the machine's UDP counters over the run
//! (datagrams in/out, receive-buffer drops). Exits 0 even when transfers failed: the caller
//! reads `failures`.

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};

const RRQ: u16 = 1;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;
const MAX_TIMEOUT: Duration = Duration::from_secs(8);

/// One file to fetch and what it must be.
#[derive(Clone, Debug)]
struct Job {
    name: String,
    size: Option<u64>,
    sha256: Option<String>,
}

/// The options every transfer asks for.
#[derive(Clone, Debug)]
struct Options {
    blksize: u16,
    windowsize: u16,
    tsize: bool,
}

/// What the state machine wants done next.
#[derive(Debug, PartialEq)]
enum Step {
    /// Send this packet to the transfer's peer and wait.
    Send,
    /// Nothing to send; keep waiting.
    Wait,
    /// Send this packet (the final ACK), then the transfer is complete.
    SendAndFinish,
    /// The transfer failed.
    Fail(String),
}

/// A read transfer's client side, without I/O: feed it packets and timeouts, send `out`.
struct Transfer {
    job: Job,
    opts: Options,
    /// The packet to (re)send: the RRQ, then the latest ACK.
    out: Vec<u8>,
    /// The server's transfer port is known (first reply seen).
    started: bool,
    blksize: usize,
    windowsize: u16,
    tsize: Option<u64>,
    /// Wire number of the next block expected.
    expect: u16,
    /// Just passed 65535: block 1 is accepted too, for servers that roll over to 1.
    rollover_either: bool,
    /// In-order blocks since the last ACK.
    since_ack: u16,
    /// Already asked for a resend of this gap (so one ACK per gap, not per stray block).
    gap_acked: bool,
    bytes: u64,
    hasher: Option<Sha256>,
    retransmits: u64,
    tries_left: u32,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

impl Transfer {
    fn new(job: Job, opts: Options, retries: u32) -> Self {
        let mut out = Vec::with_capacity(64 + job.name.len());
        out.extend_from_slice(&RRQ.to_be_bytes());
        for part in [job.name.as_str(), "octet"] {
            out.extend_from_slice(part.as_bytes());
            out.push(0);
        }
        let mut option = |k: &str, v: String| {
            out.extend_from_slice(k.as_bytes());
            out.push(0);
            out.extend_from_slice(v.as_bytes());
            out.push(0);
        };
        if opts.blksize != 512 {
            option("blksize", opts.blksize.to_string());
        }
        if opts.tsize {
            option("tsize", "0".into());
        }
        if opts.windowsize > 1 {
            option("windowsize", opts.windowsize.to_string());
        }
        let hasher = job.sha256.as_ref().map(|_| Sha256::new());
        Transfer {
            job,
            opts,
            out,
            started: false,
            blksize: 512,
            windowsize: 1,
            tsize: None,
            expect: 1,
            rollover_either: false,
            since_ack: 0,
            gap_acked: false,
            bytes: 0,
            hasher,
            retransmits: 0,
            tries_left: retries,
        }
    }

    /// The largest packet the server may send us, plus one byte to notice a bigger one.
    fn buffer_len(&self) -> usize {
        usize::from(self.opts.blksize.max(512)) + 5
    }

    fn ack(&mut self, block: u16) {
        self.out.clear();
        self.out.extend_from_slice(&ACK.to_be_bytes());
        self.out.extend_from_slice(&block.to_be_bytes());
        self.since_ack = 0;
    }

    /// No packet came in time: resend the last one, or give up.
    fn on_timeout(&mut self) -> Step {
        if self.tries_left == 0 {
            return Step::Fail(format!(
                "{}: timed out after {} bytes",
                self.job.name, self.bytes
            ));
        }
        self.tries_left -= 1;
        self.retransmits += 1;
        if self.started {
            // Ask again from the last block received in order.
            self.ack(self.expect.wrapping_sub(1));
        }
        Step::Send
    }

    fn on_packet(&mut self, p: &[u8]) -> Step {
        if p.len() < 4 {
            return Step::Wait;
        }
        match be16(p, 0) {
            ERROR => Step::Fail(format!(
                "{}: server error {}: {}",
                self.job.name,
                be16(p, 2),
                String::from_utf8_lossy(&p[4..]).trim_end_matches('\0')
            )),
            OACK if !self.started => {
                self.started = true;
                if let Err(e) = self.read_oack(&p[2..]) {
                    return Step::Fail(format!("{}: {e}", self.job.name));
                }
                self.ack(0);
                Step::Send
            }
            DATA => {
                self.started = true;
                self.on_data(be16(p, 2), &p[4..])
            }
            _ => Step::Wait,
        }
    }

    fn read_oack(&mut self, body: &[u8]) -> Result<(), String> {
        let mut fields = body.split(|&b| b == 0);
        while let (Some(k), Some(v)) = (fields.next(), fields.next()) {
            if k.is_empty() {
                break;
            }
            let key = String::from_utf8_lossy(k).to_ascii_lowercase();
            let value: u64 = String::from_utf8_lossy(v)
                .parse()
                .map_err(|_| format!("bad OACK value for {key}"))?;
            match key.as_str() {
                "blksize" if value >= 8 && value <= u64::from(self.opts.blksize.max(512)) => {
                    self.blksize = value as usize;
                }
                "windowsize" if value >= 1 && value <= u64::from(self.opts.windowsize) => {
                    self.windowsize = value as u16;
                }
                "tsize" => self.tsize = Some(value),
                "blksize" | "windowsize" => return Err(format!("OACK {key} {value} out of range")),
                _ => {}
            }
        }
        Ok(())
    }

    fn on_data(&mut self, block: u16, payload: &[u8]) -> Step {
        let in_order = block == self.expect || (self.rollover_either && block == 1);
        if !in_order {
            let ahead = block.wrapping_sub(self.expect) < 0x8000;
            if ahead && !self.gap_acked {
                // A block is missing: ask the server to go on from the last one we have.
                self.gap_acked = true;
                self.ack(self.expect.wrapping_sub(1));
                return Step::Send;
            }
            if !ahead && self.windowsize == 1 && block == self.expect.wrapping_sub(1) {
                // Lockstep: the server resent the last block, so our ACK was lost.
                self.retransmits += 1;
                return Step::Send;
            }
            return Step::Wait;
        }
        if payload.len() > self.blksize {
            return Step::Fail(format!(
                "{}: block {block} has {} bytes, more than blksize {}",
                self.job.name,
                payload.len(),
                self.blksize
            ));
        }
        self.rollover_either = block == u16::MAX;
        self.expect = block.wrapping_add(1);
        self.gap_acked = false;
        self.since_ack += 1;
        self.bytes += payload.len() as u64;
        if let Some(h) = self.hasher.as_mut() {
            h.update(payload);
        }
        if payload.len() < self.blksize {
            self.ack(block);
            return match self.verify() {
                Ok(()) => Step::SendAndFinish,
                Err(e) => Step::Fail(format!("{}: {e}", self.job.name)),
            };
        }
        if self.since_ack >= self.windowsize {
            self.ack(block);
            return Step::Send;
        }
        Step::Wait
    }

    fn verify(&mut self) -> Result<(), String> {
        if let Some(size) = self.job.size
            && size != self.bytes
        {
            return Err(format!("received {} bytes, expected {size}", self.bytes));
        }
        if let Some(t) = self.tsize
            && t != self.bytes
        {
            return Err(format!("received {} bytes, tsize said {t}", self.bytes));
        }
        if let (Some(h), Some(want)) = (self.hasher.take(), self.job.sha256.as_ref()) {
            let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            if &got != want {
                return Err(format!("SHA-256 {got}, expected {want}"));
            }
        }
        Ok(())
    }

    fn timeout(&self, first: Duration) -> Duration {
        let doublings = self.retransmits.min(8) as u32;
        (first * 2u32.pow(doublings)).min(MAX_TIMEOUT)
    }
}

/// How one transfer ended.
struct Outcome {
    error: Option<String>,
    bytes: u64,
    elapsed: Duration,
    retransmits: u64,
    blksize: usize,
    windowsize: u16,
}

impl Outcome {
    fn of(t: &Transfer, error: Option<String>, started: Instant) -> Self {
        Outcome {
            error,
            bytes: t.bytes,
            elapsed: started.elapsed(),
            retransmits: t.retransmits,
            blksize: t.blksize,
            windowsize: t.windowsize,
        }
    }
}

/// Everything a worker needs, shared.
struct Plan {
    server: SocketAddr,
    jobs: Vec<Job>,
    opts: Options,
    first_timeout: Duration,
    retries: u32,
    next: AtomicUsize,
    outcomes: Mutex<Vec<Outcome>>,
}

impl Plan {
    fn take(&self) -> Option<Job> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.jobs.get(i).cloned()
    }
    fn record(&self, o: Outcome) {
        self.outcomes.lock().expect("outcomes").push(o);
    }
    fn bind_addr(&self) -> SocketAddr {
        if self.server.is_ipv4() {
            "0.0.0.0:0".parse().expect("addr")
        } else {
            "[::]:0".parse().expect("addr")
        }
    }
}

async fn run_async(plan: Arc<Plan>, job: Job) -> Outcome {
    let started = Instant::now();
    let mut t = Transfer::new(job, plan.opts.clone(), plan.retries);
    let sock = match tokio::net::UdpSocket::bind(plan.bind_addr()).await {
        Ok(s) => s,
        Err(e) => return Outcome::of(&t, Some(format!("bind: {e}")), started),
    };
    let mut buf = vec![0u8; t.buffer_len()];
    let mut step = Step::Send;
    let mut peer = plan.server;
    loop {
        match step {
            Step::Send | Step::SendAndFinish => {
                let sent = if t.started {
                    sock.send(&t.out).await
                } else {
                    sock.send_to(&t.out, peer).await
                };
                if let Err(e) = sent {
                    return Outcome::of(&t, Some(format!("send: {e}")), started);
                }
                if step == Step::SendAndFinish {
                    return Outcome::of(&t, None, started);
                }
            }
            Step::Fail(e) => return Outcome::of(&t, Some(e), started),
            Step::Wait => {}
        }
        let wait = t.timeout(plan.first_timeout);
        step = match tokio::time::timeout(wait, sock.recv_from(&mut buf)).await {
            Err(_) => t.on_timeout(),
            Ok(Err(e)) => Step::Fail(format!("recv: {e}")),
            Ok(Ok((n, from))) => {
                if !t.started {
                    // The server answers from its transfer port: talk only to that one now.
                    peer = from;
                    if let Err(e) = sock.connect(peer).await {
                        return Outcome::of(&t, Some(format!("connect: {e}")), started);
                    }
                } else if from != peer {
                    continue;
                }
                t.on_packet(&buf[..n])
            }
        };
    }
}

fn run_blocking(plan: &Plan, job: Job) -> Outcome {
    let started = Instant::now();
    let mut t = Transfer::new(job, plan.opts.clone(), plan.retries);
    let sock = match StdUdpSocket::bind(plan.bind_addr()) {
        Ok(s) => s,
        Err(e) => return Outcome::of(&t, Some(format!("bind: {e}")), started),
    };
    let mut buf = vec![0u8; t.buffer_len()];
    let mut step = Step::Send;
    let mut peer = plan.server;
    let mut current_wait = Duration::ZERO;
    loop {
        match step {
            Step::Send | Step::SendAndFinish => {
                let sent = if t.started {
                    sock.send(&t.out)
                } else {
                    sock.send_to(&t.out, peer)
                };
                if let Err(e) = sent {
                    return Outcome::of(&t, Some(format!("send: {e}")), started);
                }
                if step == Step::SendAndFinish {
                    return Outcome::of(&t, None, started);
                }
            }
            Step::Fail(e) => return Outcome::of(&t, Some(e), started),
            Step::Wait => {}
        }
        let wait = t.timeout(plan.first_timeout);
        if wait != current_wait {
            // One syscall less per block: set the timeout only when the back-off changes it.
            if let Err(e) = sock.set_read_timeout(Some(wait)) {
                return Outcome::of(&t, Some(format!("timeout: {e}")), started);
            }
            current_wait = wait;
        }
        step = match sock.recv_from(&mut buf) {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                t.on_timeout()
            }
            Err(e) => Step::Fail(format!("recv: {e}")),
            Ok((n, from)) => {
                if !t.started {
                    peer = from;
                    if let Err(e) = sock.connect(peer) {
                        return Outcome::of(&t, Some(format!("connect: {e}")), started);
                    }
                } else if from != peer {
                    continue;
                }
                t.on_packet(&buf[..n])
            }
        };
    }
}

/// The process's CPU time (user + system, all threads), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, s)| s).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based, whole line).
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// The machine's UDP counters (InDatagrams, OutDatagrams, RcvbufErrors) from /proc/net/snmp.
fn udp_counters() -> [u64; 3] {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return [0; 3];
    };
    let get = |want: &str| {
        names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == want)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0)
    };
    [get("InDatagrams"), get("OutDatagrams"), get("RcvbufErrors")]
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// The machine's round-trip floor for lockstep TFTP: a 4-byte "ACK" answered with a
/// `blksize + 4`-byte "DATA" by an echo thread on loopback, blocking sockets on both sides,
/// `n` times; the median round trip in microseconds. Nothing else is done per block, so no
/// server can go faster in lockstep.
fn round_trip_floor(blksize: usize, n: usize) -> f64 {
    let echo = StdUdpSocket::bind("127.0.0.1:0").expect("bind");
    let echo_addr = echo.local_addr().expect("addr");
    let data = vec![0u8; blksize + 4];
    let responder = std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        for _ in 0..n {
            let Ok((_, from)) = echo.recv_from(&mut buf) else {
                return;
            };
            let _ = echo.send_to(&data, from);
        }
    });
    let sock = StdUdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.connect(echo_addr).expect("connect");
    let mut buf = vec![0u8; blksize + 8];
    let mut trips = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        sock.send(&[0, 4, 0, 0]).expect("send");
        sock.recv(&mut buf).expect("recv");
        trips.push(t.elapsed());
    }
    responder.join().expect("echo");
    trips.sort();
    trips[n / 2].as_secs_f64() * 1e6
}

fn usage(msg: &str) -> ! {
    eprintln!("tftp_load: {msg} (see the top of tests/benches/tftp_load.rs)");
    std::process::exit(2)
}

fn main() {
    let mut server = None;
    let (mut file, mut size, mut sha, mut manifest) = (None, None, None, None);
    let (mut count, mut repeat, mut concurrency) = (1usize, 1usize, None);
    let mut opts = Options {
        blksize: 512,
        windowsize: 1,
        tsize: true,
    };
    let (mut timeout_ms, mut retries, mut threads, mut blocking) = (1000u64, 6u32, 2usize, false);
    let mut floor = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        let num = |v: String| -> u64 { v.parse().unwrap_or_else(|_| usage("not a number")) };
        match a.as_str() {
            "--server" => server = Some(val().parse().unwrap_or_else(|_| usage("bad --server"))),
            "--file" => file = Some(val()),
            "--size" => size = Some(num(val())),
            "--sha256" => sha = Some(val().to_ascii_lowercase()),
            "--manifest" => manifest = Some(val()),
            "--count" => count = num(val()) as usize,
            "--repeat" => repeat = num(val()) as usize,
            "--concurrency" => concurrency = Some(num(val()) as usize),
            "--blksize" => opts.blksize = num(val()).clamp(8, 65464) as u16,
            "--windowsize" => opts.windowsize = num(val()).clamp(1, 65535) as u16,
            "--no-tsize" => opts.tsize = false,
            "--timeout-ms" => timeout_ms = num(val()),
            "--retries" => retries = num(val()) as u32,
            "--threads" => threads = num(val()).max(1) as usize,
            "--blocking" => blocking = true,
            "--floor" => floor = Some(num(val()) as usize),
            "--bench" => {} // added by `cargo bench`
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if let Some(n) = floor {
        let blksize = usize::from(opts.blksize);
        let us = round_trip_floor(blksize, n.max(1));
        println!(
            "{}",
            json!({ "blksize": blksize, "round_trips": n, "us_per_round_trip": us })
        );
        return;
    }
    let server: SocketAddr = server.unwrap_or_else(|| usage("--server is required"));
    let mut jobs = Vec::new();
    if let Some(path) = manifest {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| usage(&format!("{path}: {e}")));
        let listed: Vec<Job> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut f = l.split('\t');
                let name = f.next().unwrap_or_default().to_string();
                let size = f.next().and_then(|s| s.parse().ok());
                let sha256 = f.next().filter(|s| *s != "-").map(str::to_ascii_lowercase);
                Job { name, size, sha256 }
            })
            .collect();
        for _ in 0..repeat {
            jobs.extend(listed.iter().cloned());
        }
    } else {
        let name = file.unwrap_or_else(|| usage("--file or --manifest is required"));
        let job = Job {
            name,
            size,
            sha256: sha,
        };
        jobs = vec![job; count];
    }
    let total = jobs.len();
    let concurrency = concurrency.unwrap_or(total).clamp(1, total.max(1));
    let plan = Arc::new(Plan {
        server,
        jobs,
        opts,
        first_timeout: Duration::from_millis(timeout_ms),
        retries,
        next: AtomicUsize::new(0),
        outcomes: Mutex::new(Vec::with_capacity(total)),
    });

    let cpu0 = cpu_seconds();
    let udp0 = udp_counters();
    let started;
    if blocking {
        let barrier = Arc::new(std::sync::Barrier::new(concurrency + 1));
        let handles: Vec<_> = (0..concurrency)
            .map(|_| {
                let (plan, barrier) = (plan.clone(), barrier.clone());
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn(move || {
                        barrier.wait();
                        while let Some(job) = plan.take() {
                            plan.record(run_blocking(&plan, job));
                        }
                    })
                    .expect("thread")
            })
            .collect();
        barrier.wait();
        started = Instant::now();
        for h in handles {
            h.join().expect("worker");
        }
    } else {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .expect("runtime");
        started = runtime.block_on(async {
            let barrier = Arc::new(tokio::sync::Barrier::new(concurrency + 1));
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..concurrency {
                let (plan, barrier) = (plan.clone(), barrier.clone());
                set.spawn(async move {
                    barrier.wait().await;
                    while let Some(job) = plan.take() {
                        let o = run_async(plan.clone(), job).await;
                        plan.record(o);
                    }
                });
            }
            barrier.wait().await;
            let started = Instant::now();
            while set.join_next().await.is_some() {}
            started
        });
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let udp1 = udp_counters();

    let outcomes = std::mem::take(&mut *plan.outcomes.lock().expect("outcomes"));
    let errors: Vec<&String> = outcomes.iter().filter_map(|o| o.error.as_ref()).collect();
    let ok: Vec<&Outcome> = outcomes.iter().filter(|o| o.error.is_none()).collect();
    let bytes: u64 = ok.iter().map(|o| o.bytes).sum();
    let mut lat: Vec<Duration> = ok.iter().map(|o| o.elapsed).collect();
    lat.sort();
    let first = ok.first();
    let report = json!({
        "server": server.to_string(),
        "transfers": total,
        "concurrency": concurrency,
        "failures": errors.len(),
        "errors": errors.iter().take(5).collect::<Vec<_>>(),
        "bytes": bytes,
        "seconds": seconds,
        "mb_per_s": bytes as f64 / seconds / 1e6,
        "transfers_per_s": ok.len() as f64 / seconds,
        "latency_ms": { "p50": percentile(&lat, 0.5), "p99": percentile(&lat, 0.99),
                        "max": percentile(&lat, 1.0) },
        "retransmits": outcomes.iter().map(|o| o.retransmits).sum::<u64>(),
        "asked": { "blksize": plan.opts.blksize, "windowsize": plan.opts.windowsize,
                   "tsize": plan.opts.tsize },
        "negotiated": { "blksize": first.map(|o| o.blksize), "windowsize": first.map(|o| o.windowsize) },
        "client_cpu_s": cpu,
        "udp": { "in": udp1[0] - udp0[0], "out": udp1[1] - udp0[1],
                 "rcvbuf_drops": udp1[2] - udp0[2] },
    });
    println!("{report}");
}

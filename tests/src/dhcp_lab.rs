//! A DHCP test link with real programs on both ends: two fresh network namespaces joined
//! by a veth pair, a DHCP server (dnsmasq, Kea) on one end and busybox `udhcpc` on the
//! other. Needs root and `ip` (iproute2); [`find_program`] and [`DhcpLink::create`] skip
//! (or fail under `MRP_TEST_REQUIRE_ALL`) without them.
//!
//! Both ends are namespaces of their own, so nothing a test does reaches the host's
//! interfaces, and a DHCP server started here can answer only the test's client. Each link
//! of a test process still gets its own /24, and every link its own names (process id and a
//! counter), so that the logs of tests running at once are told apart.
//!
//! Nothing may hang: every command runs with a deadline, and every long-lived program runs
//! under a guard (a few lines of bash) that kills it when the test closes the guard's stdin,
//! which the test does when it drops the program's handle and which the kernel does when the
//! test process dies however it dies. A link's namespaces are deleted on drop, also when the
//! test panics; namespaces left by a test process that was killed are deleted by the next
//! link created.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a guarded program may live at most, even if the test that started it hangs
/// (`MRP_GUARD_LIMIT_SECS` changes it: the boot lab's demo runs for as long as it is wanted).
const GUARD_LIMIT_SECS: u64 = 900;

fn guard_limit() -> String {
    std::env::var("MRP_GUARD_LIMIT_SECS")
        .ok()
        .filter(|v| v.parse::<u64>().is_ok())
        .unwrap_or_else(|| GUARD_LIMIT_SECS.to_string())
}

/// Runs `"$@"` (from the third argument on) in the background and kills it with SIGKILL as
/// soon as stdin reaches end of file (the test closed it, or died) or after `$1` seconds;
/// exits with the program's status. (Without job control, bash gives background commands
/// /dev/null as stdin, hence the copy of stdin on descriptor 3.)
const GUARD: &str = r#"limit=$1; shift
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
( read -r -t "$limit" _ <&3; kill -KILL "$child" 2>/dev/null ) &
watcher=$!
wait "$child"
rc=$?
kill -KILL "$watcher" 2>/dev/null
exit "$rc"
"#;

/// The `udhcpc -s` script: on a lease (`bound`), it writes the variables udhcpc passes to
/// the file named by `MRP_UDHCPC_OUT` (written aside and renamed, so the file is never read
/// half-written).
const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
case "$1" in
  bound|renew) env > "$MRP_UDHCPC_OUT.part" && mv "$MRP_UDHCPC_OUT.part" "$MRP_UDHCPC_OUT" ;;
esac
exit 0
"#;

/// The PATH of programs started here (the sbin directories included, where `ip`, dnsmasq
/// and Kea live, whatever the caller's PATH).
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The prefix of the network namespaces of test links.
const NETNS_PREFIX: &str = "mrp-dhcp-";

static LINKS: AtomicU32 = AtomicU32::new(0);
static RUNS: AtomicU32 = AtomicU32::new(0);

/// Whether this process runs as root (effective user id 0).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// Where `name` is: on the PATH, or in an sbin directory (which a non-login PATH may lack).
pub fn locate(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(std::env::split_paths(PATH))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The path of the program `name`, or `None` after [`mr_provisioner_core::testing::skip`]
/// (a failure under `MRP_TEST_REQUIRE_ALL`) when it is not installed or this process is not
/// root (every program of a test link runs in network namespaces).
pub fn find_program(name: &str) -> Option<PathBuf> {
    if !is_root() {
        mr_provisioner_core::testing::skip(&format!(
            "DHCP lab tests need root (network namespaces), so the one with {name} did not run"
        ));
        return None;
    }
    let found = locate(name);
    if found.is_none() {
        mr_provisioner_core::testing::skip(&format!(
            "{name} is not installed (see LAB.md §1 for the Debian packages)"
        ));
    }
    found
}

/// Runs a short command to its end, killed after `limit`; stdout and stderr are captured
/// (keep them small: they are read once the command ended).
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_end(&mut stderr);
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

/// `ip ARGS`, which must succeed within 10 s.
pub(crate) fn ip(args: &[&str]) -> String {
    let out = run_bounded(
        Command::new(locate("ip").unwrap_or_else(|| "ip".into()))
            .args(args)
            .env("PATH", PATH),
        Duration::from_secs(10),
    );
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip ARGS` whose failure is only reported (teardown).
fn ip_quiet(args: &[&str]) {
    let out = run_bounded(
        Command::new(locate("ip").unwrap_or_else(|| "ip".into()))
            .args(args)
            .env("PATH", PATH),
        Duration::from_secs(10),
    );
    if !out.status.success() {
        eprintln!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
}

/// `ip netns add NAME`, tried three times: the first namespaces made at once on a machine
/// can race on setting up `/run/netns`.
pub(crate) fn netns_add(name: &str) {
    for attempt in 1..=3 {
        let out = run_bounded(
            Command::new(locate("ip").unwrap_or_else(|| "ip".into()))
                .args(["netns", "add", name])
                .env("PATH", PATH),
            Duration::from_secs(10),
        );
        if out.status.success() {
            return;
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(attempt < 3, "ip netns add {name}: {err}");
        eprintln!("ip netns add {name} (attempt {attempt}): {}", err.trim());
        // A half-made namespace would make the next attempt fail with "File exists".
        ip_quiet(&["netns", "del", name]);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Deletes the namespaces named `<prefix><pid>-...` whose process is gone (killed before it
/// could clean up).
pub(crate) fn remove_stale_namespaces(prefix: &str) {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("deleting the network namespace {name} of the dead process {pid}");
            ip_quiet(&["netns", "del", &name]);
        }
    }
}

/// A test DHCP link: the server end `server_if` in namespace `server_ns` with address
/// `.1` of the link's /24, the client end `client_if` in `client_ns` with no address; both
/// up. Dropping it deletes both namespaces (and with them the veth pair).
pub struct DhcpLink {
    /// The server's namespace.
    pub server_ns: String,
    /// The client's namespace.
    pub client_ns: String,
    /// The server's interface (in `server_ns`).
    pub server_if: String,
    /// The client's interface (in `client_ns`).
    pub client_if: String,
    net: [u8; 3],
    dir: tempfile::TempDir,
    script: PathBuf,
}

/// What a client asks with: its MAC, and optionally a client architecture (option 93), a
/// host name (option 12), a fully qualified name (option 81) and a vendor class (option 60).
#[derive(Debug, Clone)]
pub struct DhcpRequest {
    /// The client's MAC (`aa:bb:cc:dd:ee:ff`); the client interface gets it.
    pub mac: String,
    /// Option 93, e.g. 0 BIOS, 7 x64 UEFI, 11 arm64 UEFI.
    pub arch: Option<u16>,
    /// Option 12.
    pub hostname: Option<String>,
    /// Option 81 (`udhcpc -F`).
    pub fqdn: Option<String>,
    /// Option 60 (udhcpc sends `udhcp <version>` when unset).
    pub vendor_class: Option<String>,
    /// Ask for broadcast answers (`udhcpc -B`).
    pub broadcast: bool,
    /// How long the whole exchange may take.
    pub timeout: Duration,
}

impl DhcpRequest {
    /// A request from `mac` with nothing else, within 20 s.
    pub fn new(mac: &str) -> DhcpRequest {
        DhcpRequest {
            mac: mac.to_string(),
            arch: None,
            hostname: None,
            fqdn: None,
            vendor_class: None,
            broadcast: false,
            timeout: Duration::from_secs(20),
        }
    }

    /// With option 93.
    pub fn arch(mut self, code: u16) -> Self {
        self.arch = Some(code);
        self
    }

    /// With option 12.
    pub fn hostname(mut self, name: &str) -> Self {
        self.hostname = Some(name.to_string());
        self
    }

    /// With option 81.
    pub fn fqdn(mut self, name: &str) -> Self {
        self.fqdn = Some(name.to_string());
        self
    }

    /// With option 60.
    pub fn vendor_class(mut self, class: &str) -> Self {
        self.vendor_class = Some(class.to_string());
        self
    }
}

/// What the client got: the lease udhcpc accepted (from the DHCPACK), as udhcpc hands it to
/// its script.
#[derive(Debug, Clone)]
pub struct DhcpAnswer {
    /// The address (`yiaddr`).
    pub ip: Ipv4Addr,
    /// The next server (`siaddr`), when not 0.0.0.0.
    pub next_server: Option<Ipv4Addr>,
    /// The boot file: the `file` field, else option 67.
    pub boot_file: Option<String>,
    /// The server host name field (`sname`).
    pub server_name: Option<String>,
    /// Option 12.
    pub hostname: Option<String>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// Option 3 (the first router).
    pub router: Option<Ipv4Addr>,
    /// Option 51, in seconds.
    pub lease_secs: Option<u32>,
    /// Every variable udhcpc set.
    pub env: BTreeMap<String, String>,
}

impl DhcpAnswer {
    fn parse(text: &str) -> Result<DhcpAnswer, String> {
        let env: BTreeMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        let addr = |k: &str| get(k).and_then(|v| v.split_whitespace().next()?.parse().ok());
        let ip = addr("ip").ok_or_else(|| format!("no `ip` from udhcpc:\n{text}"))?;
        Ok(DhcpAnswer {
            ip,
            next_server: addr("siaddr"),
            boot_file: get("boot_file").or_else(|| get("bootfile")),
            server_name: get("sname"),
            hostname: get("hostname"),
            server_id: addr("serverid"),
            router: addr("router"),
            lease_secs: get("lease").and_then(|v| v.parse().ok()),
            env,
        })
    }
}

impl DhcpLink {
    /// A new link, or `None` after [`mr_provisioner_core::testing::skip`] when this process
    /// is not root or `ip` is missing.
    pub fn create() -> Option<DhcpLink> {
        find_program("ip")?;
        remove_stale_namespaces(NETNS_PREFIX);
        let pid = std::process::id();
        let n = LINKS.fetch_add(1, Ordering::Relaxed);
        let server_ns = format!("{NETNS_PREFIX}{pid}-{n}-s");
        let client_ns = format!("{NETNS_PREFIX}{pid}-{n}-c");
        // At most 15 characters: 2 + 7 (largest pid) + 1 + 4.
        let server_if = format!("ds{pid}x{}", n % 10_000);
        let client_if = format!("dc{pid}x{}", n % 10_000);
        let net = [10, 200 + ((n / 250) % 50) as u8, (n % 250 + 1) as u8];
        let dir = tempfile::Builder::new()
            .prefix("mrp-dhcp-lab-")
            .tempdir()
            .expect("temporary directory");
        let script = dir.path().join("udhcpc.sh");
        std::fs::write(&script, UDHCPC_SCRIPT).expect("udhcpc script");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .expect("chmod udhcpc script");
        }
        netns_add(&server_ns);
        // From here on, Drop cleans up whatever was made.
        let link = DhcpLink {
            server_ns,
            client_ns,
            server_if,
            client_if,
            net,
            dir,
            script,
        };
        link.set_up();
        Some(link)
    }

    fn set_up(&self) {
        let (s, c) = (self.server_ns.as_str(), self.client_ns.as_str());
        netns_add(c);
        ip(&[
            "-n",
            s,
            "link",
            "add",
            &self.server_if,
            "type",
            "veth",
            "peer",
            "name",
            &self.client_if,
            "netns",
            c,
        ]);
        ip(&["-n", s, "link", "set", "lo", "up"]);
        ip(&["-n", c, "link", "set", "lo", "up"]);
        let cidr = format!("{}/24", self.server_ip());
        ip(&["-n", s, "addr", "add", &cidr, "dev", &self.server_if]);
        ip(&["-n", s, "link", "set", &self.server_if, "up"]);
        ip(&["-n", c, "link", "set", &self.client_if, "up"]);
        // Kea opens no socket on an interface without carrier: wait for it.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = ip(&["-n", s, "link", "show", "dev", &self.server_if]);
            if state.contains("LOWER_UP") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} has no carrier: {state}",
                self.server_if
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Host `n` of the link's /24 (the server is 1).
    pub fn host(&self, n: u8) -> Ipv4Addr {
        Ipv4Addr::new(self.net[0], self.net[1], self.net[2], n)
    }

    /// The server end's address, host 1.
    pub fn server_ip(&self) -> Ipv4Addr {
        self.host(1)
    }

    /// The link's network, `a.b.c.0/24`.
    pub fn cidr(&self) -> String {
        format!("{}/24", self.host(0))
    }

    /// The link's first three octets with the dot after them (`a.b.c.`).
    pub fn prefix(&self) -> String {
        format!("{}.{}.{}.", self.net[0], self.net[1], self.net[2])
    }

    /// A scratch directory of this link (removed with it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A command running `program` in the server's namespace (via `ip netns exec`), with a
    /// PATH that includes the sbin directories; start it with [`Daemon::start`] or
    /// [`run_bounded`].
    pub fn server_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.netns_command(&self.server_ns, program)
    }

    /// The same in the client's namespace.
    pub fn client_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.netns_command(&self.client_ns, program)
    }

    fn netns_command(&self, ns: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(locate("ip").unwrap_or_else(|| "ip".into()));
        cmd.args(["netns", "exec", ns])
            .arg(program)
            .env("PATH", PATH)
            .current_dir(self.dir.path());
        cmd
    }

    /// Runs `program args` in the client's namespace to its end (at most `limit`).
    pub fn run_in_client(&self, program: &str, args: &[&str], limit: Duration) -> Output {
        run_bounded(self.client_command(program).args(args), limit)
    }

    /// Runs `program args` in the server's namespace to its end (at most `limit`).
    pub fn run_in_server(&self, program: &str, args: &[&str], limit: Duration) -> Output {
        run_bounded(self.server_command(program).args(args), limit)
    }

    /// Gives the client interface the MAC `mac`.
    pub fn set_client_mac(&self, mac: &str) {
        ip(&[
            "-n",
            &self.client_ns,
            "link",
            "set",
            "dev",
            &self.client_if,
            "address",
            mac,
        ]);
    }

    /// Runs busybox `udhcpc` once in the client's namespace, from `req.mac`, until it has a
    /// lease (DISCOVER, OFFER, REQUEST, ACK) or gives up (4 DISCOVERs 1 s apart), within
    /// `req.timeout` in any case: the lease, or what udhcpc printed. udhcpc does not
    /// configure the interface (its script only records the lease), and does not release
    /// the lease, so the server keeps it.
    pub async fn udhcpc(&self, req: &DhcpRequest) -> Result<DhcpAnswer, String> {
        let busybox = locate("busybox").ok_or("busybox is not installed")?;
        self.set_client_mac(&req.mac);
        let out = self.dir.path().join(format!(
            "udhcpc-{}.env",
            RUNS.fetch_add(1, Ordering::Relaxed)
        ));
        let mut args: Vec<OsString> = [
            "udhcpc", "-f", "-q", "-n", "-t", "4", "-T", "1", "-A", "1", "-i",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.push(self.client_if.clone().into());
        args.push("-s".into());
        args.push(self.script.clone().into());
        if let Some(code) = req.arch {
            args.push("-x".into());
            args.push(format!("0x5d:{code:04x}").into());
        }
        if let Some(h) = &req.hostname {
            args.push("-x".into());
            args.push(format!("hostname:{h}").into());
        }
        if let Some(f) = &req.fqdn {
            args.push("-F".into());
            args.push(f.into());
        }
        if let Some(v) = &req.vendor_class {
            args.push("-V".into());
            args.push(v.into());
        }
        if req.broadcast {
            args.push("-B".into());
        }
        let mut cmd = self.client_command(&busybox);
        cmd.args(&args)
            .env_clear()
            .env("PATH", PATH)
            .env("MRP_UDHCPC_OUT", &out);
        let mut guarded = tokio::process::Command::from(guard(&cmd));
        guarded.kill_on_drop(true);
        let what = format!("udhcpc from {} ({req:?})", req.mac);
        let mut child = guarded
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        // Held until udhcpc ended; dropping it makes the guard kill udhcpc.
        let stdin = child.stdin.take();
        let result = tokio::time::timeout(req.timeout, child.wait_with_output()).await;
        drop(stdin);
        let output = match result {
            Err(_) => return Err(format!("{what} did not end within {:?}", req.timeout)),
            Ok(Err(e)) => return Err(format!("{what}: {e}")),
            Ok(Ok(o)) => o,
        };
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() {
            return Err(format!(
                "{what} got no lease ({}):\n{printed}",
                output.status
            ));
        }
        let text = std::fs::read_to_string(&out)
            .map_err(|e| format!("{what}: no lease recorded ({e}):\n{printed}"))?;
        DhcpAnswer::parse(&text)
    }
}

impl Drop for DhcpLink {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and so the pair.
        ip_quiet(&["netns", "del", &self.client_ns]);
        ip_quiet(&["netns", "del", &self.server_ns]);
    }
}

/// `cmd` run under the guard: `bash -c GUARD guard LIMIT program args...`, with the same
/// environment and directory.
fn guard(cmd: &Command) -> Command {
    let mut g = Command::new(locate("bash").unwrap_or_else(|| "bash".into()));
    g.arg("-c")
        .arg(GUARD)
        .arg("guard")
        .arg(guard_limit())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => g.env(key, v),
            None => g.env_remove(key),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        g.current_dir(d);
    }
    g
}

/// A program running for a test (a DHCP server), its output going to a log file. Dropping
/// it kills the program (and prints its log if the test is failing).
pub struct Daemon {
    name: String,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    log: PathBuf,
}

impl Daemon {
    /// Starts `cmd` (under the guard) with stdout and stderr appended to `log`, and waits
    /// until `ready` holds for the log's text. Panics, with the log, if the program ends
    /// first or is not ready within `limit`.
    pub async fn start(
        name: &str,
        cmd: &Command,
        log: &Path,
        ready: impl Fn(&str) -> bool,
        limit: Duration,
    ) -> Daemon {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("{name}: cannot open {}: {e}", log.display()));
        let err = file.try_clone().expect("clone log file");
        let mut child = guard(cmd)
            .stdin(Stdio::piped())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let stdin = child.stdin.take();
        let mut daemon = Daemon {
            name: name.to_string(),
            child: Some(child),
            stdin,
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + limit;
        loop {
            let text = daemon.log();
            if ready(&text) {
                return daemon;
            }
            if let Some(child) = daemon.child.as_mut()
                && let Some(status) = child.try_wait().expect("wait")
            {
                panic!("{name} ended ({status}) before it was ready:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "{name} was not ready within {limit:?}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Everything the program printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the program still runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops the program (at most a few seconds).
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        let Some(mut child) = self.child.take() else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!(
            "{}: the guard did not stop it within 5 s, killing it",
            self.name
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(300)..];
            eprintln!(
                "---- {} log ({}, last {} lines) ----\n{}\n---- end of {} log ----",
                self.name,
                self.log.display(),
                tail.len(),
                tail.join("\n"),
                self.name
            );
        }
    }
}

/// Runs `fut` to its end, or fails the test after `limit` (so that a test waiting on a
/// server or a client that never answers fails instead of hanging).
pub async fn within<F: std::future::Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(out) => out,
        Err(_) => panic!("{what} did not end within {limit:?}"),
    }
}

/// `text` without its `//` comments (outside strings), which Kea accepts in its
/// configuration files and JSON does not.
pub fn strip_json_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
    }
    out
}

/// Writes the Kea configuration `conf` into `dir`, checks it with `kea-dhcp4 -t`, and starts
/// `kea-dhcp4 -c` on it (its pid and lock files in `dir`, its log `dir/kea-dhcp4.log`),
/// waiting until it has started; panics with Kea's words if the configuration is refused or
/// Kea opens no socket. `command` makes a command running a program where Kea must run (a
/// test link's or the boot lab's namespace).
pub async fn start_kea(
    command: impl Fn(&Path) -> Command,
    kea_dhcp4: &Path,
    conf: &serde_json::Value,
    dir: &Path,
) -> Daemon {
    let conf_path = dir.join("kea-dhcp4.json");
    std::fs::write(
        &conf_path,
        serde_json::to_string_pretty(conf).expect("JSON"),
    )
    .expect("write the Kea configuration");
    let kea_dir = dir.to_str().expect("UTF-8 path").to_string();
    let with_dirs = |mut cmd: Command| {
        cmd.env("KEA_PIDFILE_DIR", &kea_dir)
            .env("KEA_LOCKFILE_DIR", &kea_dir);
        cmd
    };
    let mut check = with_dirs(command(kea_dhcp4));
    let check = run_bounded(check.arg("-t").arg(&conf_path), Duration::from_secs(20));
    assert!(
        check.status.success(),
        "kea-dhcp4 -t: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let mut cmd = with_dirs(command(kea_dhcp4));
    cmd.arg("-c").arg(&conf_path);
    Daemon::start(
        "kea-dhcp4",
        &cmd,
        &dir.join("kea-dhcp4.log"),
        |log| {
            assert!(
                !log.contains("DHCPSRV_OPEN_SOCKET_FAIL"),
                "Kea opened no socket:\n{log}"
            );
            log.contains("DHCP4_STARTED")
        },
        Duration::from_secs(20),
    )
    .await
}

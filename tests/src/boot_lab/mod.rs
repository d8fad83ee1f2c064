//! The boot lab: real machines (QEMU guests under TCG, each with an `ipmi_sim` BMC that
//! powers it) network-booted by our `mr-provisioner serve`, in a network namespace of their
//! own.
//!
//! One namespace holds a bridge (`br0`, address `.1` of the lab's /24 and a ULA for router
//! advertisements), a veth port that keeps the bridge's carrier up (Kea opens no socket on a
//! bridge without one) and a tap per guest. In it run:
//! - `mr-provisioner serve` (HTTP on port [`HTTP_PORT`], TFTP on 69; SQLite in the lab's
//!   directory), with its `[kea]` sync writing host reservations into a Kea database;
//! - stock Kea 2.2 (`kea-dhcp4`) reading those reservations, configured from
//!   `examples/kea/kea-dhcp4.conf` with the lab's addresses and bootloader names;
//! - dnsmasq sending IPv6 router advertisements only (no DHCP, no TFTP: it serves no file),
//!   which spares iPXE its 15 s wait for IPv6;
//! - per guest, `ipmi_sim` on 127.0.0.1 of the namespace, whose chassis program starts QEMU.
//!
//! The host reaches the server's HTTP through two socat relays joined by a Unix socket (a
//! socket file is reachable from every namespace), at [`BootLab::api`].
//!
//! Cleanup does not depend on the test ending well: every program runs under the stdin
//! guard of [`crate::dhcp_lab`], and a janitor in its own session waits for the end of this
//! process (its stdin closes) to kill the guests' QEMU processes, delete the namespace and
//! drop the Kea database. Namespaces of dead processes are deleted by the next lab.

pub mod artifacts;
pub mod chassis;
pub mod world;

use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::dhcp_lab::{Daemon, ip, is_root, locate, run_bounded};
pub use artifacts::{Artifacts, MARKER, POWEROFF, PRESEED_BEGIN, PRESEED_END};

/// The server's HTTP port inside the namespace.
pub const HTTP_PORT: u16 = 5000;
/// The prefix of the lab's network namespaces.
const NETNS_PREFIX: &str = "mrp-lab-";
/// The PATH of programs started here.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Where Kea and the server (both in the namespace) reach PostgreSQL: its socket directory.
const POSTGRES_SOCKET_DIR: &str = "/var/run/postgresql";
/// The Kea example the lab runs.
const KEA_EXAMPLE: &str = include_str!("../../../examples/kea/kea-dhcp4.conf");
/// The example's network prefix.
const KEA_EXAMPLE_PREFIX: &str = "192.168.10.";

static LABS: AtomicU32 = AtomicU32::new(0);

/// The programs a lab needs, by name.
pub const PROGRAMS: &[&str] = &[
    "ip",
    "qemu-system-x86_64",
    "ipmi_sim",
    "ipmitool",
    "kea-dhcp4",
    "kea-admin",
    "dnsmasq",
    "socat",
    "grub-mkimage",
    "busybox",
    "psql",
    "apt-get",
    "dpkg-deb",
    "setsid",
];

/// What a lab is made with.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Where the kernel and the images are kept between runs.
    pub cache: PathBuf,
    /// The `mr-provisioner` binary.
    pub server_bin: PathBuf,
    /// The PostgreSQL server (admin URL) that holds Kea's database.
    pub postgres_url: String,
    /// The port of the host's loopback where the server's HTTP is relayed (0: any free one).
    pub host_port: u16,
    /// The administrator's password.
    pub admin_password: String,
    /// Seconds between the server's Kea passes (leases become events after at most this).
    pub kea_interval_secs: u64,
}

/// The firmware of a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS with iPXE on an e1000 NIC.
    Bios,
    /// OVMF with its own PXE and HTTP boot on virtio-net.
    Uefi,
}

impl Firmware {
    /// The subarch of arch `x86_64` the lab's world sets up for it.
    pub fn subarch(self) -> &'static str {
        match self {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        }
    }
}

/// A running lab. Dropping it stops everything; so does the end of the process.
pub struct BootLab {
    /// The network namespace.
    pub ns: String,
    /// The first three octets of the lab's /24.
    pub net: [u8; 3],
    /// The guests' files.
    pub artifacts: Artifacts,
    /// GRUB for UEFI HTTP boot, its prefix naming this lab's server:
    /// `(http,<bridge>:5000)/boot/grub` (UEFI HTTP boot tells GRUB no server of its own).
    pub grub_http: PathBuf,
    /// The server's HTTP as the host reaches it (`http://127.0.0.1:PORT`).
    pub api: String,
    /// The server's HTTP as the guests reach it (`http://<bridge address>:5000`).
    pub public_url: String,
    /// The administrator's password.
    pub admin_password: String,
    /// An administrator's API token.
    pub admin_token: String,
    /// The server's configuration file.
    pub config_path: PathBuf,
    /// The server's binary.
    pub server_bin: PathBuf,
    dir: PathBuf,
    kea_db: String,
    postgres_url: String,
    server: Mutex<Option<Daemon>>,
    kea: Mutex<Option<Daemon>>,
    daemons: Mutex<Vec<Daemon>>,
    janitor: Mutex<Option<(Child, ChildStdin)>>,
    guests: AtomicU32,
}

/// Kills the QEMU processes of `dir`'s guests, deletes the namespace `ns` and drops the Kea
/// database `db`, once this script's stdin closes (the lab ended or its process died).
const JANITOR: &str = r#"ns=$1 dir=$2 db=$3 pg=$4
trap '' INT TERM HUP
read -r _
for f in "$dir"/guests/*/qemu.pid; do
  [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
done
ip netns del "$ns" 2>/dev/null
[ -n "$db" ] && psql "$pg" -qAtc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
rm -rf "$dir"
exit 0
"#;

/// A new HTTP client (one per call: a lab outlives the runtimes of the tests that share it,
/// and a client's connections belong to the runtime that made them).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("HTTP client")
}

/// A free TCP port of the host's loopback (bound and released: a small race, fine here).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// What is missing for a lab on this machine: not root, or a program not installed.
pub fn missing() -> Option<String> {
    if !is_root() {
        return Some("the boot lab needs root (network namespaces, taps)".into());
    }
    let absent: Vec<&str> = PROGRAMS
        .iter()
        .copied()
        .filter(|p| locate(p).is_none())
        .collect();
    if !absent.is_empty() {
        return Some(format!(
            "the boot lab needs {} (see docs/development.md for the packages)",
            absent.join(", ")
        ));
    }
    for f in [
        "/usr/share/OVMF/OVMF_CODE_4M.fd",
        "/usr/lib/PXELINUX/pxelinux.0",
    ] {
        if !Path::new(f).is_file() {
            return Some(format!("the boot lab needs {f} (packages ovmf, pxelinux)"));
        }
    }
    None
}

impl BootLab {
    /// Starts a lab (panics, with the logs, if a part does not come up in time).
    pub async fn start(opts: LabOptions) -> BootLab {
        if let Some(why) = missing() {
            panic!("{why}");
        }
        crate::dhcp_lab::remove_stale_namespaces(NETNS_PREFIX);
        let artifacts = artifacts::Artifacts::prepare(&opts.cache);
        let n = LABS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let ns = format!("{NETNS_PREFIX}{pid}-{n}");
        let net = [10, 77, (pid % 200 + n * 7 % 50 + 1) as u8];
        let dir = tempfile::Builder::new()
            .prefix("mrp-boot-lab-")
            .tempdir()
            .expect("lab directory")
            .keep();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the lab directory");
        std::fs::create_dir_all(dir.join("guests")).expect("guests directory");
        let kea_db = format!("mrp_kea_lab_{pid}_{n}");

        // The janitor first, so that whatever is made below is cleaned up.
        let mut janitor = Command::new(locate("setsid").expect("setsid"));
        janitor
            .arg(locate("bash").expect("bash"))
            .args(["-c", JANITOR, "janitor", &ns])
            .arg(&dir)
            .arg(&kea_db)
            .arg(&opts.postgres_url)
            .env("PATH", PATH)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut janitor = janitor.spawn().expect("start the lab janitor");
        let janitor_in = janitor.stdin.take().expect("janitor stdin");

        let bridge = Ipv4Addr::new(net[0], net[1], net[2], 1);
        let public_url = format!("http://{bridge}:{HTTP_PORT}");
        let host_port = if opts.host_port == 0 {
            free_port()
        } else {
            opts.host_port
        };
        let mut lab = BootLab {
            ns,
            net,
            artifacts,
            grub_http: PathBuf::new(),
            api: format!("http://127.0.0.1:{host_port}"),
            public_url,
            admin_password: opts.admin_password.clone(),
            admin_token: String::new(),
            config_path: dir.join("mr-provisioner.toml"),
            server_bin: opts.server_bin.clone(),
            dir,
            kea_db,
            postgres_url: opts.postgres_url.clone(),
            server: Mutex::new(None),
            kea: Mutex::new(None),
            daemons: Mutex::new(Vec::new()),
            janitor: Mutex::new(Some((janitor, janitor_in))),
            guests: AtomicU32::new(0),
        };
        lab.network();
        lab.grub_http = lab.dir.join("grubx64-http.efi");
        artifacts::grub_image(
            &lab.grub_http,
            &format!("(http,{}:{HTTP_PORT})/boot/grub", lab.bridge_ip()),
        );
        lab.kea_database().await;
        lab.router_advertisements().await;
        lab.serve(&opts).await;
        lab.relay(host_port).await;
        lab.admin_token = lab.cli_token();
        lab
    }

    /// The lab's working directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bridge's address (the server's, as the guests see it).
    pub fn bridge_ip(&self) -> Ipv4Addr {
        self.host(1)
    }

    /// Host `n` of the lab's /24.
    pub fn host(&self, n: u8) -> Ipv4Addr {
        Ipv4Addr::new(self.net[0], self.net[1], self.net[2], n)
    }

    /// The lab's network, `a.b.c.0/24`.
    pub fn cidr(&self) -> String {
        format!("{}/24", self.host(0))
    }

    /// A command running `program` in the lab's namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(locate("ip").unwrap_or_else(|| "ip".into()));
        cmd.args(["netns", "exec", &self.ns])
            .arg(program)
            .env("PATH", PATH)
            .current_dir(&self.dir);
        cmd
    }

    fn network(&self) {
        let ns = self.ns.as_str();
        crate::dhcp_lab::netns_add(ns);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
        ip(&["-n", ns, "link", "add", "br0", "type", "bridge"]);
        ip(&[
            "-n",
            ns,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ]);
        let cidr = format!("{}/24", self.bridge_ip());
        ip(&["-n", ns, "addr", "add", &cidr, "dev", "br0"]);
        let ula = format!("fd77:{:x}::1/64", self.net[2]);
        ip(&["-n", ns, "addr", "add", &ula, "dev", "br0", "nodad"]);
        ip(&["-n", ns, "link", "set", "br0", "up"]);
        ip(&[
            "-n", ns, "link", "add", "keep0", "type", "veth", "peer", "name", "keep1",
        ]);
        ip(&["-n", ns, "link", "set", "keep0", "master", "br0"]);
        ip(&["-n", ns, "link", "set", "keep0", "up"]);
        ip(&["-n", ns, "link", "set", "keep1", "up"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ip(&["-n", ns, "link", "show", "dev", "br0"]).contains("LOWER_UP") {
            assert!(Instant::now() < deadline, "br0 has no carrier");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kea's database, made by `kea-admin db-init` on the lab's PostgreSQL.
    async fn kea_database(&self) {
        let psql = |sql: &str| {
            let out = run_bounded(
                Command::new(locate("psql").expect("psql"))
                    .arg(&self.postgres_url)
                    .args(["-qAtc", sql]),
                Duration::from_secs(30),
            );
            assert!(
                out.status.success(),
                "psql {sql}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        psql(&format!("CREATE DATABASE \"{}\"", self.kea_db));
        let url: reqwest::Url = self.postgres_url.parse().expect("PostgreSQL URL");
        let out = run_bounded(
            Command::new(locate("kea-admin").expect("kea-admin"))
                .args([
                    "db-init",
                    "pgsql",
                    "-h",
                    url.host_str().unwrap_or("127.0.0.1"),
                ])
                .args(["-P", &url.port().unwrap_or(5432).to_string()])
                .args([
                    "-u",
                    if url.username().is_empty() {
                        "postgres"
                    } else {
                        url.username()
                    },
                ])
                .args(["-n", &self.kea_db])
                .env("PATH", PATH),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "kea-admin db-init: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The URL of the Kea database as seen from the namespace (through the socket).
    fn kea_url(&self) -> String {
        let url: reqwest::Url = self.postgres_url.parse().expect("PostgreSQL URL");
        let user = if url.username().is_empty() {
            "postgres"
        } else {
            url.username()
        };
        format!(
            "postgres://{user}@localhost:{}/{}?host={POSTGRES_SOCKET_DIR}",
            url.port().unwrap_or(5432),
            self.kea_db
        )
    }

    async fn router_advertisements(&self) {
        let conf = self.dir.join("dnsmasq-ra.conf");
        std::fs::write(
            &conf,
            format!(
                "port=0\ninterface=br0\nbind-interfaces\nenable-ra\n\
                 dhcp-range=::,constructor:br0,ra-only\npid-file={}\nuser=root\n\
                 log-facility=-\n",
                self.dir.join("dnsmasq.pid").display()
            ),
        )
        .expect("write the dnsmasq configuration");
        let mut cmd = self.command(locate("dnsmasq").expect("dnsmasq"));
        cmd.arg(format!("--conf-file={}", conf.display()))
            .arg("--keep-in-foreground");
        let d = Daemon::start(
            "dnsmasq (router advertisements)",
            &cmd,
            &self.dir.join("dnsmasq.log"),
            |log| log.contains("router advertisement on"),
            Duration::from_secs(20),
        )
        .await;
        self.daemons.lock().unwrap().push(d);
    }

    fn server_config(&self, opts: &LabOptions) -> String {
        let kea = self.kea_url();
        format!(
            r#"data_dir = "{data}"
[http]
listen = "0.0.0.0:{HTTP_PORT}"
public_url = "{public}"
[log]
level = "info,sqlx=warn"
[tftp]
listen = "0.0.0.0:69"
[dhcp]
next_server = "{bridge}"
[kea]
hosts_database_url = "{kea}"
leases_database_url = "{kea}"
check_interval_secs = {interval}
http_boot = true
[tools]
ipmitool = "{ipmitool}"
"#,
            data = self.dir.join("data").display(),
            public = self.public_url,
            bridge = self.bridge_ip(),
            interval = opts.kea_interval_secs,
            ipmitool = locate("ipmitool").expect("ipmitool").display(),
        )
    }

    async fn serve(&self, opts: &LabOptions) {
        std::fs::write(&self.config_path, self.server_config(opts)).expect("server config");
        let mut cmd = self.command(&self.server_bin);
        cmd.arg("--config")
            .arg(&self.config_path)
            .arg("serve")
            .env("MRP_ADMIN_PASSWORD", &self.admin_password);
        let d = Daemon::start(
            "mr-provisioner serve",
            &cmd,
            &self.dir.join("server.log"),
            |log| log.contains("mr-provisioner listening on"),
            Duration::from_secs(60),
        )
        .await;
        *self.server.lock().unwrap() = Some(d);
    }

    /// Everything the server logged so far.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Everything Kea logged so far.
    pub fn kea_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kea-dhcp4.log")).unwrap_or_default()
    }

    async fn relay(&self, host_port: u16) {
        let sock = self.dir.join("api.sock");
        let socat = locate("socat").expect("socat");
        let mut inner = self.command(&socat);
        inner
            .arg(format!("UNIX-LISTEN:{},fork,mode=600", sock.display()))
            .arg(format!("TCP:127.0.0.1:{HTTP_PORT}"));
        let sock_ready = sock.clone();
        let a = Daemon::start(
            "socat (namespace side)",
            &inner,
            &self.dir.join("relay-ns.log"),
            move |_| sock_ready.exists(),
            Duration::from_secs(10),
        )
        .await;
        let mut outer = Command::new(&socat);
        outer
            .arg(format!(
                "TCP-LISTEN:{host_port},bind=127.0.0.1,fork,reuseaddr"
            ))
            .arg(format!("UNIX-CONNECT:{}", sock.display()))
            .env("PATH", PATH);
        let b = Daemon::start(
            "socat (host side)",
            &outer,
            &self.dir.join("relay-host.log"),
            move |_| std::net::TcpStream::connect(("127.0.0.1", host_port)).is_ok(),
            Duration::from_secs(10),
        )
        .await;
        let mut d = self.daemons.lock().unwrap();
        d.push(a);
        d.push(b);
    }

    /// An administrator's API token, made with `mr-provisioner token create` (the CLI works
    /// on the database directly, as an admin does on the server).
    fn cli_token(&self) -> String {
        let out = run_bounded(
            Command::new(&self.server_bin)
                .arg("--config")
                .arg(&self.config_path)
                .args(["token", "create", "admin", "--description", "boot lab"]),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "token create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("a token")
            .trim()
            .to_string()
    }

    /// Starts Kea with the example configuration, for the lab's network: our server is the
    /// next server, the classes' boot files are `bios_loader` and `uefi_loader` (names of
    /// uploaded bootloaders, relative to the TFTP root), the databases are the lab's.
    pub async fn start_kea(&self, bios_loader: &str, uefi_loader: &str) {
        let prefix = format!("{}.{}.{}.", self.net[0], self.net[1], self.net[2]);
        let text =
            crate::dhcp_lab::strip_json_comments(&KEA_EXAMPLE.replace(KEA_EXAMPLE_PREFIX, &prefix));
        let mut conf: Value = serde_json::from_str(&text).expect("the Kea example is JSON");
        let d = &mut conf["Dhcp4"];
        d["interfaces-config"]["interfaces"] = json!(["br0"]);
        let url: reqwest::Url = self.postgres_url.parse().expect("PostgreSQL URL");
        for key in ["lease-database", "hosts-database"] {
            d[key] = json!({
                "type": "postgresql",
                "name": self.kea_db,
                "host": POSTGRES_SOCKET_DIR,
                "port": url.port().unwrap_or(5432),
                "user": if url.username().is_empty() { "postgres" } else { url.username() },
            });
        }
        let server = self.bridge_ip().to_string();
        d["next-server"] = json!(server);
        if let Some(classes) = d["client-classes"].as_array_mut() {
            for class in classes {
                if class.get("next-server").is_some() {
                    class["next-server"] = json!(server);
                }
                match class["boot-file-name"].as_str() {
                    Some("pxelinux.0") => class["boot-file-name"] = json!(bios_loader),
                    Some("grubx64.efi") => class["boot-file-name"] = json!(uefi_loader),
                    _ => {}
                }
            }
        }
        if let Some(subnets) = d["subnet4"].as_array_mut() {
            for s in subnets {
                s["option-data"] = json!([{ "name": "routers", "data": server }]);
            }
        }
        d["loggers"] = json!([{
            "name": "kea-dhcp4",
            "severity": "INFO",
            "output_options": [{"output": "stdout", "flush": true}],
        }]);
        let kea = locate("kea-dhcp4").expect("kea-dhcp4");
        let daemon =
            crate::dhcp_lab::start_kea(|program| self.command(program), &kea, &conf, &self.dir)
                .await;
        *self.kea.lock().unwrap() = Some(daemon);
    }

    /// A new guest with its BMC running (and the guest off).
    pub async fn guest(&self, name: &str, firmware: Firmware) -> Guest {
        self.guest_with(name, firmware, "").await
    }

    /// The same with more QEMU arguments (split on spaces), e.g. firmware settings.
    pub async fn guest_with(&self, name: &str, firmware: Firmware, qemu_extra: &str) -> Guest {
        let g = self.guests.fetch_add(1, Ordering::Relaxed);
        assert!(g < 200, "too many guests");
        let mac = format!("52:54:00:77:{:02x}:{:02x}", self.net[2], g + 1);
        let tap = format!("tap{g}");
        let ns = self.ns.as_str();
        ip(&["-n", ns, "tuntap", "add", "dev", &tap, "mode", "tap"]);
        ip(&["-n", ns, "link", "set", &tap, "master", "br0"]);
        ip(&["-n", ns, "link", "set", &tap, "up"]);
        let dir = self.dir.join("guests").join(name);
        std::fs::create_dir_all(dir.join("state")).expect("guest directory");
        let bmc_port = 9700 + g as u16;
        let sol_port = 9900 + g as u16;
        let env = format!(
            "NAME={name}\nMAC={mac}\nTAP={tap}\nSOLPORT={sol_port}\nFIRMWARE={}\n\
             QEMU={}\nOVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd\n\
             OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd\nPATH={PATH}\nQEMU_EXTRA='{qemu_extra}'\n",
            firmware.as_str(),
            locate("qemu-system-x86_64").expect("qemu").display()
        );
        std::fs::write(dir.join("vm.env"), env).expect("vm.env");
        let chassis = dir.join("chassis.sh");
        std::fs::write(&chassis, chassis::CHASSIS).expect("chassis program");
        std::fs::set_permissions(&chassis, std::fs::Permissions::from_mode(0o755))
            .expect("chmod chassis program");
        std::fs::write(dir.join("bmc.emu"), chassis::EMU).expect("bmc.emu");
        std::fs::write(
            dir.join("lan.conf"),
            chassis::lan_conf(
                name,
                bmc_port,
                &chassis.display().to_string(),
                &dir.display().to_string(),
                sol_port,
            ),
        )
        .expect("lan.conf");
        let mut cmd = self.command(locate("ipmi_sim").expect("ipmi_sim"));
        cmd.arg("-n")
            .arg("-c")
            .arg(dir.join("lan.conf"))
            .arg("-f")
            .arg(dir.join("bmc.emu"))
            .arg("-s")
            .arg(dir.join("state"));
        let bmc = Daemon::start(
            &format!("ipmi_sim of {name}"),
            &cmd,
            &dir.join("ipmi_sim.log"),
            |_| true,
            Duration::from_secs(5),
        )
        .await;
        let guest = Guest {
            name: name.to_string(),
            firmware,
            mac,
            bmc_port,
            dir,
            _bmc: bmc,
        };
        // The BMC answers once it listens.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = self.ipmitool(bmc_port, &["chassis", "power", "status"]);
            if out.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the BMC of {name} does not answer: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        guest
    }

    /// Runs `ipmitool ARGS` against the lab BMC on `port` (in the namespace, as the server
    /// does; the password through the environment), at most 20 s.
    pub fn ipmitool(&self, port: u16, args: &[&str]) -> std::process::Output {
        run_bounded(
            self.command(locate("ipmitool").expect("ipmitool"))
                .args(crate::ipmi_sim::ipmitool_base(port))
                .args(args)
                .env("IPMI_PASSWORD", chassis::BMC_PASSWORD),
            Duration::from_secs(20),
        )
    }

    /// Stops the lab (also done on drop, and by the janitor when the process ends).
    pub fn stop(&self) {
        if let Some(mut k) = self.kea.lock().unwrap().take() {
            k.stop();
        }
        if let Some(mut s) = self.server.lock().unwrap().take() {
            s.stop();
        }
        self.daemons.lock().unwrap().clear();
        if let Some((mut child, stdin)) = self.janitor.lock().unwrap().take() {
            drop(stdin);
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            eprintln!("the lab janitor did not finish within 20 s");
        }
    }

    /// Sends a request to the server's REST API with `token`; the body is JSON.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> crate::Reply {
        let mut req = client()
            .request(method.clone(), format!("{}{path}", self.api))
            .header("Authorization", token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        crate::read(resp).await
    }

    /// Uploads an image as the original's client does (`POST /api/v1/image`).
    pub async fn upload(&self, token: &str, q: &Value, path: &Path) -> crate::Reply {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        self.upload_bytes(token, q, &name, bytes).await
    }

    /// The same with the bytes and the client's file name given.
    pub async fn upload_bytes(
        &self,
        token: &str,
        q: &Value,
        name: &str,
        bytes: Vec<u8>,
    ) -> crate::Reply {
        let form = reqwest::multipart::Form::new()
            .text("q", q.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
            );
        let resp = client()
            .post(format!("{}/api/v1/image", self.api))
            .header("Authorization", token)
            .multipart(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("upload {name}: {e}"));
        crate::read(resp).await
    }
}

impl Drop for BootLab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.server_log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "---- server log (last 200 lines) ----\n{}\n---- end ----",
                lines[lines.len().saturating_sub(200)..].join("\n")
            );
        }
        self.stop();
    }
}

/// A guest: a QEMU machine (off until its BMC powers it on) and its `ipmi_sim` BMC.
pub struct Guest {
    /// Its name (also its directory's).
    pub name: String,
    /// Its firmware.
    pub firmware: Firmware,
    /// Its NIC's MAC.
    pub mac: String,
    /// Its BMC's port on 127.0.0.1 of the lab's namespace.
    pub bmc_port: u16,
    dir: PathBuf,
    _bmc: Daemon,
}

impl Guest {
    /// Everything the guest's serial port printed (firmware, bootloader, kernel, init), as
    /// QEMU logged it.
    /// Terminal escape sequences are left out: the BIOS screen copied by sgabios moves the
    /// cursor before every character.
    pub fn serial(&self) -> String {
        let bytes = std::fs::read(self.dir.join("serial.log")).unwrap_or_default();
        strip_escapes(&String::from_utf8_lossy(&bytes))
    }

    /// The file QEMU logs the serial port to.
    pub fn serial_path(&self) -> PathBuf {
        self.dir.join("serial.log")
    }

    /// What the chassis program was asked, with times.
    pub fn chassis_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("chassis.log")).unwrap_or_default()
    }

    /// What QEMU printed.
    pub fn qemu_errors(&self) -> String {
        std::fs::read_to_string(self.dir.join("qemu.err")).unwrap_or_default()
    }

    /// Whether its QEMU runs.
    pub fn running(&self) -> bool {
        std::fs::read_to_string(self.dir.join("qemu.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
    }

    /// The boot device its BMC was last given (`pxe`, `default`, ...).
    pub fn boot_device(&self) -> String {
        std::fs::read_to_string(self.dir.join("boot"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "default".into())
    }

    /// Waits until `done` holds for the serial log (polled every 100 ms), at most `limit`:
    /// how long it took, or the log so far.
    pub async fn wait_serial(
        &self,
        limit: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            let log = self.serial();
            if done(&log) {
                return Ok(start.elapsed());
            }
            if start.elapsed() > limit {
                return Err(log);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until QEMU has exited (the guest powered off), at most `limit`.
    pub async fn wait_off(&self, limit: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        while self.running() {
            if start.elapsed() > limit {
                return Err(format!("{} still runs after {limit:?}", self.name));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(start.elapsed())
    }
}

/// The time of the newest source file of the server and the library crates.
fn newest_source() -> Option<std::time::SystemTime> {
    fn walk(dir: &Path, newest: &mut Option<std::time::SystemTime>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, newest);
            } else if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                *newest = (*newest).max(Some(t));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut newest = None;
    for krate in [
        "mr-provisioner-core",
        "mr-provisioner-ipmi",
        "mr-provisioner-netboot",
        "mr-provisioner-server",
    ] {
        walk(&root.join(krate).join("src"), &mut newest);
    }
    newest
}

/// The `mr-provisioner` binary of this build: `MRP_LAB_SERVER_BIN` if set, else the one
/// beside this test binary's profile directory (`target/<profile>/mr-provisioner`), built
/// with `cargo build` first when it is missing or older than a source file of the crates
/// (`cargo test --workspace` builds it anyway; `cargo test -p mr-provisioner-tests` does not).
pub fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MRP_LAB_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test> or target/<profile>/examples/<example>.
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a profile directory")
        .to_path_buf();
    let bin = profile_dir.join("mr-provisioner");
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    let stale = match built {
        None => true,
        Some(built) => newest_source().is_some_and(|src| src > built),
    };
    if stale {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-p",
            "mr-provisioner-server",
            "--bin",
            "mr-provisioner",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            cmd.arg("--release");
        }
        let out = run_bounded(&mut cmd, Duration::from_secs(1800));
        assert!(
            out.status.success(),
            "cargo build of the server: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(bin.is_file(), "{} is missing", bin.display());
    bin
}

/// The lab's cache of kernels and images: `target/boot-lab-cache` of this workspace (or
/// `MRP_LAB_CACHE`).
pub fn default_cache() -> PathBuf {
    std::env::var_os("MRP_LAB_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/boot-lab-cache"))
}

/// `text` without ANSI escape sequences (`ESC [ params final`, and two-character `ESC x`).
pub fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        // `ESC [ ... final`; any other escape is two characters.
        if chars.next() == Some('[') {
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_are_stripped() {
        assert_eq!(
            super::strip_escapes("\u{1b}[1;2HN\u{1b}[1;3Ho\u{1b}[2J!\u{1b}c."),
            "No!."
        );
    }
}

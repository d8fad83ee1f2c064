//! Real machines booted through our server: QEMU guests (TCG) powered by `ipmi_sim` BMCs,
//! DHCP from stock Kea reading the reservations we write, every file from our TFTP and HTTP.
//! Driven only through the public interfaces: the admin REST API for the set-up, the v1 API
//! as an engineer for the rest. One lab for the whole binary (see `boot_lab`); each scenario
//! has guests of its own, so scenarios run at once.
//!
//! Needs root and the lab's packages (docs/development.md); skips without them unless
//! `MRP_TEST_REQUIRE_ALL` is set.

mod scenarios;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mr_provisioner_core::testing::{POSTGRES_ENV, skip};
use mr_provisioner_tests::Reply;
use mr_provisioner_tests::boot_lab::{self, BootLab, Firmware, Guest, LabOptions};
use reqwest::Method;
use serde_json::{Value, json};

/// The lab and what the administrator set up in it once.
pub struct World {
    pub lab: BootLab,
    /// Subarch `bios` (pxelinux) and `uefi` (GRUB, EFI boot) of arch `x86_64`.
    pub bios_loader: Value,
    pub uefi_loader: Value,
    /// The kernel and initrd every scenario boots (public images of the admin).
    pub kernel: Value,
    pub initrd: Value,
}

static WORLD: OnceLock<Option<World>> = OnceLock::new();

/// The shared lab, started by the first scenario (in a thread of its own, whose runtime only
/// builds it); `None` after [`skip`] when this machine cannot run it.
pub fn world() -> Option<&'static World> {
    WORLD
        .get_or_init(|| {
            if let Some(why) = boot_lab::missing() {
                skip(&why);
                return None;
            }
            std::thread::spawn(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(set_up())
            })
            .join()
            .map_err(|_| "the lab did not start")
            .unwrap()
        })
        .as_ref()
}

async fn set_up() -> Option<World> {
    let postgres_url = std::env::var(POSTGRES_ENV)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let started = Instant::now();
    let lab = BootLab::start(LabOptions {
        cache: boot_lab::default_cache(),
        server_bin: boot_lab::server_binary(),
        postgres_url,
        host_port: 0,
        admin_password: "lab admin password".into(),
        kea_interval_secs: 1,
    })
    .await;
    eprintln!("lab: up in {:.1} s ({})", started.elapsed().as_secs_f64(), lab.dir().display());
    let t = lab.admin_token.clone();
    let ok = |r: Reply, what: &str| -> Value {
        assert!((200..300).contains(&r.status), "{what}: {} {}", r.status, r.text);
        r.json
    };
    let a = &lab.artifacts;
    ok(
        lab.call(Method::POST, "/api/v1/arch", &t, Some(&json!({"name": "x86_64"})))
            .await,
        "arch",
    );
    let image = |ty: &str, public: bool| json!({"type": ty, "arch": "x86_64", "public": public, "description": "boot lab"});
    let pxelinux = ok(lab.upload(&t, &image("bootloader", true), &a.pxelinux).await, "pxelinux.0");
    // pxelinux fetches ldlinux.c32 from its own directory, by that name.
    ok(lab.upload(&t, &image("bootloader", true), &a.ldlinux).await, "ldlinux.c32");
    let grub = ok(
        lab.upload_bytes(
            &t,
            &image("bootloader", true),
            "grubx64.efi",
            std::fs::read(&a.grub_tftp).expect("GRUB image"),
        )
        .await,
        "grubx64.efi",
    );
    let arch_id = 1;
    ok(
        lab.call(
            Method::POST,
            &format!("/api/v1/arch/{arch_id}/subarch"),
            &t,
            Some(&json!({"name": "bios", "bootloader_id": pxelinux["id"], "efiboot": false})),
        )
        .await,
        "subarch bios",
    );
    ok(
        lab.call(
            Method::POST,
            &format!("/api/v1/arch/{arch_id}/subarch"),
            &t,
            Some(&json!({"name": "uefi", "bootloader_id": grub["id"], "efiboot": true})),
        )
        .await,
        "subarch uefi",
    );
    let kernel = ok(lab.upload(&t, &image("Kernel", true), &a.kernel).await, "kernel");
    let initrd = ok(lab.upload(&t, &image("Initrd", true), &a.initrd).await, "initrd");
    ok(
        lab.call(
            Method::POST,
            "/api/v1/network",
            &t,
            Some(&json!({
                "name": "lab",
                "subnet": lab.cidr(),
                "reserved_pool": format!("{}/26", lab.host(0)),
                "static_pool": format!("{}/27", lab.host(64)),
            })),
        )
        .await,
        "network",
    );
    lab.start_kea(
        pxelinux["name"].as_str().expect("pxelinux file name"),
        grub["name"].as_str().expect("GRUB file name"),
    )
    .await;
    eprintln!("lab: set up in {:.1} s", started.elapsed().as_secs_f64());
    Some(World {
        lab,
        bios_loader: pxelinux,
        uefi_loader: grub,
        kernel,
        initrd,
    })
}

/// An engineer and the machine the admin made for them: a BMC (the guest's `ipmi_sim`), the
/// machine with its interface on the lab network at a reserved address, assigned to them.
pub struct Booted {
    pub guest: Guest,
    pub machine_id: i64,
    pub token: String,
    pub username: String,
    pub ip: String,
}

static SEQ: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(10);

impl World {
    /// An admin request, which must succeed.
    pub async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let r = self
            .lab
            .call(method.clone(), path, &self.lab.admin_token, Some(&body))
            .await;
        assert!((200..300).contains(&r.status), "{method} {path}: {} {}", r.status, r.text);
        r.json
    }

    /// A request as `token`.
    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        self.lab.call(method, path, token, body.as_ref()).await
    }

    /// Sets up `name`: a guest with `firmware`, its BMC and machine (subarch `bios` or
    /// `uefi`), an engineer `<name>-eng` with an SSH key, the machine assigned to them.
    pub async fn machine(&self, name: &str, firmware: Firmware) -> Booted {
        let guest = self.lab.guest(name, firmware).await;
        let bmc = self
            .admin(
                Method::POST,
                "/api/v1/bmc",
                json!({
                    "name": format!("{name}-bmc"),
                    "type": "plain",
                    "address": "127.0.0.1",
                    "port": guest.bmc_port,
                    "username": "admin",
                    "password": boot_lab::chassis::BMC_PASSWORD,
                    "cipher_suite": 3,
                }),
            )
            .await;
        let subarch = match firmware {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        };
        let m = self
            .admin(
                Method::POST,
                "/api/v1/machine",
                json!({"name": name, "arch": "x86_64", "subarch": subarch, "bmc": bmc["name"]}),
            )
            .await;
        let id = m["id"].as_i64().expect("machine id");
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ip = self.lab.host(n).to_string();
        self.admin(
            Method::POST,
            &format!("/api/v1/machine/{id}/interface"),
            json!({"mac": guest.mac, "network": "lab", "reserved_ipv4": ip}),
        )
        .await;
        let username = format!("{name}-eng");
        self.admin(
            Method::POST,
            "/api/v1/user",
            json!({"username": username, "password": "engineer password", "ssh_key": format!("ssh-ed25519 AAAAC3NzaLab{n} {username}@lab")}),
        )
        .await;
        self.admin(
            Method::POST,
            &format!("/api/v1/machine/{id}/assignee"),
            json!({"user": username, "reason": "boot lab"}),
        )
        .await;
        let token = self.token_of(&username).await;
        Booted {
            guest,
            machine_id: id,
            token,
            username,
            ip,
        }
    }

    /// A token of `user`, made with the CLI (as an admin hands one out).
    async fn token_of(&self, user: &str) -> String {
        let out = mr_provisioner_tests::dhcp_lab::run_bounded(
            std::process::Command::new(&self.lab.server_bin)
                .arg("--config")
                .arg(&self.lab.config_path)
                .args(["token", "create", user, "--description", "lab"]),
            Duration::from_secs(60),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("token")
            .trim()
            .to_string()
    }

    /// The machine's events, oldest first (by the time each happened; the API lists them
    /// newest first by id), as `(kind, info)`.
    pub async fn events(&self, id: i64) -> Vec<(String, Value, String)> {
        let r = self
            .lab
            .call(
                Method::GET,
                &format!("/api/v1/machine/{id}/event?limit=500"),
                &self.lab.admin_token,
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let mut list: Vec<(String, Value, String)> = r
            .json
            .as_array()
            .expect("a list")
            .iter()
            .rev()
            .map(|e| {
                (
                    e["type"].as_str().unwrap_or_default().to_string(),
                    e["info"].clone(),
                    e["date"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        list.sort_by(|a, b| a.2.cmp(&b.2));
        list
    }
}

/// Runs a scenario in the shared lab, within `limit`.
pub fn scenario<F, Fut>(name: &str, limit: Duration, f: F)
where
    F: FnOnce(&'static World) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(w) = world() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if tokio::time::timeout(limit, f(w)).await.is_err() {
            panic!("scenario {name} did not end within {limit:?}");
        }
    });
}

/// Prints a step's time since `start` (the scenario's record of where the time went).
pub fn step(scenario: &str, what: &str, start: Instant) -> f64 {
    let secs = start.elapsed().as_secs_f64();
    eprintln!("[{scenario}] {secs:6.1} s  {what}");
    secs
}

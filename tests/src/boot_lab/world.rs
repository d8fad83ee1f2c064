//! A lab set up as an administrator would, through the REST API: arch `x86_64` with the
//! subarchs `bios` (pxelinux) and `uefi` (GRUB), the kernel and initrd the guests boot, the
//! lab network, and Kea serving it; and machines made for engineers, each with a guest.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::{BootLab, Firmware, Guest, LabOptions};
use crate::Reply;

/// The lab and what the administrator set up in it once.
pub struct World {
    /// The lab.
    pub lab: BootLab,
    /// The bootloader image of subarch `bios` (pxelinux) of arch `x86_64`.
    pub bios_loader: Value,
    /// The bootloader image of subarch `uefi` (GRUB, EFI boot).
    pub uefi_loader: Value,
    /// The bootloader image of subarch `uefi-http` (GRUB loading everything over HTTP).
    pub uefi_http_loader: Value,
    /// The kernel every scenario boots (a public image of the admin).
    pub kernel: Value,
    /// The initrd, likewise.
    pub initrd: Value,
}

/// Starts a lab with `opts` and sets it up.
pub async fn set_up(opts: LabOptions) -> World {
    let started = Instant::now();
    let lab = BootLab::start(opts).await;
    eprintln!(
        "lab: up in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        lab.dir().display()
    );
    let t = lab.admin_token.clone();
    let ok = |r: Reply, what: &str| -> Value {
        assert!(
            (200..300).contains(&r.status),
            "{what}: {} {}",
            r.status,
            r.text
        );
        r.json
    };
    let a = &lab.artifacts;
    ok(
        lab.call(
            Method::POST,
            "/api/v1/arch",
            &t,
            Some(&json!({"name": "x86_64"})),
        )
        .await,
        "arch",
    );
    let image = |ty: &str, public: bool| json!({"type": ty, "arch": "x86_64", "public": public, "description": "boot lab"});
    let pxelinux = ok(
        lab.upload(&t, &image("bootloader", true), &a.pxelinux)
            .await,
        "pxelinux.0",
    );
    // pxelinux fetches ldlinux.c32 from its own directory, by that name.
    ok(
        lab.upload(&t, &image("bootloader", true), &a.ldlinux).await,
        "ldlinux.c32",
    );
    let grub_image = |name: &'static str, path: &std::path::Path| {
        let bytes = std::fs::read(path).expect("GRUB image");
        let q = image("bootloader", true);
        let lab = &lab;
        let t = t.clone();
        async move { ok(lab.upload_bytes(&t, &q, name, bytes).await, name) }
    };
    let grub = grub_image("grubx64.efi", &a.grub_tftp).await;
    // For UEFI HTTP boot: the same GRUB whose prefix is `(http)/boot/grub`.
    let grub_http = grub_image("grubx64-http.efi", &lab.grub_http).await;
    let arch_id = 1;
    for (name, loader, efi) in [
        ("bios", &pxelinux, false),
        ("uefi", &grub, true),
        ("uefi-http", &grub_http, true),
    ] {
        ok(
            lab.call(
                Method::POST,
                &format!("/api/v1/arch/{arch_id}/subarch"),
                &t,
                Some(&json!({"name": name, "bootloader_id": loader["id"], "efiboot": efi})),
            )
            .await,
            name,
        );
    }
    let kernel = ok(
        lab.upload(&t, &image("Kernel", true), &a.kernel).await,
        "kernel",
    );
    let initrd = ok(
        lab.upload(&t, &image("Initrd", true), &a.initrd).await,
        "initrd",
    );
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
    World {
        lab,
        bios_loader: pxelinux,
        uefi_loader: grub,
        uefi_http_loader: grub_http,
        kernel,
        initrd,
    }
}

/// An engineer and the machine the admin made for them: a BMC (the guest's `ipmi_sim`), the
/// machine with its interface on the lab network at a reserved address, assigned to them.
pub struct Booted {
    /// The guest.
    pub guest: Guest,
    /// Its machine's id.
    pub machine_id: i64,
    /// The engineer's API token.
    pub token: String,
    /// The engineer's name.
    pub username: String,
    /// The interface's reserved address.
    pub ip: String,
}

/// The host numbers of reserved addresses, from .10 on.
static SEQ: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(10);

impl World {
    /// An admin request, which must succeed.
    pub async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let r = self
            .lab
            .call(method.clone(), path, &self.lab.admin_token, Some(&body))
            .await;
        assert!(
            (200..300).contains(&r.status),
            "{method} {path}: {} {}",
            r.status,
            r.text
        );
        r.json
    }

    /// A request as `token`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Reply {
        self.lab.call(method, path, token, body.as_ref()).await
    }

    /// Sets up `name`: a guest with `firmware`, its BMC and machine (subarch `bios` or
    /// `uefi`), an engineer `<name>-eng` with an SSH key, the machine assigned to them.
    pub async fn machine(&self, name: &str, firmware: Firmware) -> Booted {
        self.machine_with(name, firmware, firmware.subarch(), "")
            .await
    }

    /// The same in `subarch`, the guest started with `qemu_extra` arguments.
    pub async fn machine_with(
        &self,
        name: &str,
        firmware: Firmware,
        subarch: &str,
        qemu_extra: &str,
    ) -> Booted {
        let guest = self.lab.guest_with(name, firmware, qemu_extra).await;
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
                    "password": super::chassis::BMC_PASSWORD,
                    "cipher_suite": 3,
                }),
            )
            .await;
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

    /// The engineer points their machine at the lab's kernel and initrd, with `opts` and the
    /// installer config `preseed`, netboot on (through `PUT /api/v1/machine/{id}`, as the
    /// original's clients do).
    pub async fn choose_images(&self, m: &Booted, opts: &str, preseed: Option<i64>) {
        let r = self
            .call(
                Method::PUT,
                &format!("/api/v1/machine/{}", m.machine_id),
                &m.token,
                Some(json!({
                    "kernel_id": self.kernel["id"],
                    "initrd_id": self.initrd["id"],
                    "kernel_opts": opts,
                    "preseed_id": preseed,
                    "netboot_enabled": true,
                })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// `POST /api/v1/machine/{id}/power` as the machine's engineer, which must be accepted
    /// (202).
    pub async fn power(&self, m: &Booted, state: &str) {
        let r = self
            .call(
                Method::POST,
                &format!("/api/v1/machine/{}/power", m.machine_id),
                &m.token,
                Some(json!({ "state": state })),
            )
            .await;
        assert_eq!(r.status, 202, "{state}: {}", r.text);
    }

    /// Powers the guest off through the API and waits (at most 30 s) until its QEMU has
    /// exited.
    pub async fn power_off(&self, m: &Booted) {
        self.power(m, "off").await;
        m.guest
            .wait_off(Duration::from_secs(30))
            .await
            .expect("powered off");
    }

    /// A token of `user`, made with the CLI (as an admin hands one out).
    async fn token_of(&self, user: &str) -> String {
        let out = crate::dhcp_lab::run_bounded(
            std::process::Command::new(&self.lab.server_bin)
                .arg("--config")
                .arg(&self.lab.config_path)
                .args(["token", "create", user, "--description", "lab"]),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
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

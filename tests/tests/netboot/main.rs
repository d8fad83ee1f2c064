//! Network boot through the whole server: the original's `/tftp/` proxy endpoint, HTTP boot
//! (`/boot/`), the built-in TFTP server (asked by real `curl`), and `/preseed/<id>`, on
//! SQLite and PostgreSQL. Boot configs are rendered for machines found by MAC; every
//! transport gives the same bytes.

mod preseed;

use std::process::Command;

use mr_provisioner_core::id::MachineId;
use mr_provisioner_core::mac::MacAddr;
use mr_provisioner_core::model::event::{EventKind, MachineEvent};
use mr_provisioner_core::model::image::ImageKind;
use mr_provisioner_core::model::interface::NewInterface;
use mr_provisioner_core::model::machine::{Machine, NewMachine};
use mr_provisioner_core::model::preseed::{InstallerKind, NewPreseed};
use mr_provisioner_core::store::Page;
use mr_provisioner_tests::{Method, Reply, TestServer, fixtures, server_test};

const MAC: &str = "52:54:00:12:34:56";
const MAC_DASHED: &str = "52-54-00-12-34-56";
const OTHER_MAC: &str = "52:54:00:12:34:57";
const UNKNOWN_DASHED: &str = "52-54-00-99-99-99";
/// What a file just outside the TFTP root holds: no request may ever return it.
const SECRET: &str = "secret-outside-the-root";

/// A lab: `m1` (MAC `MAC`, netboot on, kernel, initrd, a preseed) and `m2` (`OTHER_MAC`,
/// netboot off), both arm64/efi; `pxelinux.0` and the images exist under the TFTP root.
pub(crate) struct Lab {
    pub m1: Machine,
    pub m2: Machine,
    pub preseed_id: mr_provisioner_core::id::PreseedId,
}

pub(crate) async fn lab(s: &TestServer) -> Lab {
    let store = s.store.as_ref();
    let arch = fixtures::arch(store, "arm64").await;
    let loader = fixtures::image(store, arch.id, "admin/grubaa64.efi", ImageKind::Bootloader).await;
    let kernel = fixtures::image(store, arch.id, "admin/vmlinuz-6.1", ImageKind::Kernel).await;
    let initrd = fixtures::image(store, arch.id, "admin/initrd-6.1.gz", ImageKind::Initrd).await;
    let efi = fixtures::efi_subarch(store, arch.id, "efi", Some(loader.id)).await;
    let preseed = store
        .preseed_create(&NewPreseed {
            name: "debian".into(),
            description: None,
            kind: InstallerKind::Preseed,
            content: Some("d-i netcfg/get_hostname string {{ hostname }}\n".into()),
            owner_id: None,
            known_good: true,
            public: true,
        })
        .await
        .unwrap();
    let mut m = NewMachine::named("m1.lab", arch.id);
    m.subarch_id = Some(efi.id);
    m.kernel_id = Some(kernel.id);
    m.initrd_id = Some(initrd.id);
    m.preseed_id = Some(preseed.id);
    m.kernel_opts = "console=ttyAMA0 --- quiet".into();
    m.netboot_enabled = true;
    let m1 = store.machine_create(&m).await.unwrap();
    let mut m = NewMachine::named("m2", arch.id);
    m.subarch_id = Some(efi.id);
    m.kernel_id = Some(kernel.id);
    let m2 = store.machine_create(&m).await.unwrap();
    for (machine, mac) in [(&m1, MAC), (&m2, OTHER_MAC)] {
        store
            .interface_create(&NewInterface {
                machine_id: machine.id,
                mac: mac.parse::<MacAddr>().unwrap(),
                identifier: Some("eth0".into()),
                network_id: None,
                static_ipv4: None,
                reserved_ipv4: None,
            })
            .await
            .unwrap();
    }
    let root = s.tftp_root();
    std::fs::create_dir_all(root.join("admin")).unwrap();
    std::fs::write(root.join("pxelinux.0"), pxelinux_bytes()).unwrap();
    std::fs::write(root.join("admin/vmlinuz-6.1"), vec![7u8; 70_000]).unwrap();
    std::fs::write(root.parent().unwrap().join("secret"), SECRET).unwrap();
    std::os::unix::fs::symlink("../secret", root.join("escape")).unwrap();
    Lab {
        m1,
        m2,
        preseed_id: preseed.id,
    }
}

/// Stand-in bootloader bytes: every byte value, over several TFTP blocks.
fn pxelinux_bytes() -> Vec<u8> {
    (0..5000u32).map(|i| (i * 7 % 256) as u8).collect()
}

pub(crate) async fn events(s: &TestServer, id: MachineId) -> Vec<MachineEvent> {
    // Boot-path events are written behind the answer.
    s.state.provisioner.events.flush().await;
    let mut e = s
        .store
        .event_list(
            id,
            Page {
                before: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    e.reverse();
    e
}

/// `GET /tftp/` as the tftp-http-proxy sends it.
async fn proxy(s: &TestServer, file: &str) -> Reply {
    let r = s
        .client
        .get(s.url("/tftp/"))
        .header("X-TFTP-IP", "10.0.0.42")
        .header("X-TFTP-Port", "2070")
        .header("X-TFTP-File", file)
        .send()
        .await
        .unwrap();
    mr_provisioner_tests::read(r).await
}

server_test!(tftp_proxy_serves_files_and_per_mac_configs, |s| {
    let lab = lab(s).await;
    // The proxy's headers are required.
    let r = s.call(Method::GET, "/tftp/", None, None).await;
    assert_eq!(r.status, 400, "{}", r.text);
    // A file under the root, whole, with its length (the proxy's tsize).
    let r = proxy(s, "pxelinux.0").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-length"], "5000");
    let bytes = s
        .client
        .get(s.url("/tftp/"))
        .header("X-TFTP-IP", "10.0.0.42")
        .header("X-TFTP-File", "/pxelinux.0")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), pxelinux_bytes().as_slice());
    // Netbooting machine, by MAC, in each bootloader's naming.
    let url = format!("http://127.0.0.1:5000/preseed/{}", lab.m1.id);
    for name in [
        format!("pxelinux.cfg/01-{MAC_DASHED}"),
        format!("/grub/grub.cfg-01-{MAC_DASHED}"),
        format!("grub/01-{MAC_DASHED}"),
        format!("ipxe/01-{MAC_DASHED}"),
    ] {
        let r = proxy(s, &name).await;
        assert_eq!(r.status, 200, "{name}: {}", r.text);
        for needle in [
            "admin/vmlinuz-6.1",
            "admin/initrd-6.1.gz",
            url.as_str(),
            "console=ttyAMA0 --- quiet",
        ] {
            assert!(
                r.text.contains(needle),
                "{name} lacks {needle}:\n{}",
                r.text
            );
        }
        // BOOTIF before the user's `---`, so the installer sees it.
        if let Some(at) = r.text.find("BOOTIF=") {
            assert!(at < r.text.find("---").unwrap(), "{name}:\n{}", r.text);
        }
    }
    let r = proxy(s, &format!("pxelinux.cfg/01-{MAC_DASHED}")).await;
    assert!(
        r.text.contains(&format!("BOOTIF=01-{MAC_DASHED}")),
        "{}",
        r.text
    );
    // Each config request of a known machine is a TFTP_REQ event, with no user.
    let ev = events(s, lab.m1.id).await;
    let tftp: Vec<_> = ev
        .iter()
        .filter(|e| e.kind == EventKind::TftpRequest)
        .collect();
    assert_eq!(tftp.len(), 5, "{ev:?}");
    assert_eq!(
        tftp[0].info,
        serde_json::json!({"filename": format!("pxelinux.cfg/01-{MAC_DASHED}")})
    );
    assert!(tftp.iter().all(|e| e.username.is_none()));
    // The kernel fetched next from the same client is recorded against the machine.
    let r = proxy(s, "admin/vmlinuz-6.1").await;
    assert_eq!((r.status, r.text.len()), (200, 70_000));
    let last = events(s, lab.m1.id).await.pop().unwrap();
    assert_eq!(
        (last.kind, last.info),
        (
            EventKind::TftpRequest,
            serde_json::json!({"filename": "admin/vmlinuz-6.1", "file": true})
        )
    );
    // Netboot off: the local-boot config, no kernel.
    let r = proxy(
        s,
        &format!("pxelinux.cfg/01-{}", OTHER_MAC.replace(':', "-")),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!r.text.contains("vmlinuz"), "{}", r.text);
    assert_eq!(events(s, lab.m2.id).await.len(), 1);
    // Default names: the local-boot config; unknown MACs, hex IPs and UUIDs: not found, so
    // the bootloader goes on to its next name.
    for name in ["pxelinux.cfg/default", "/grub/grub.cfg", "grub/efidefault"] {
        let r = proxy(s, name).await;
        assert_eq!(r.status, 200, "{name}");
        assert!(!r.text.contains("vmlinuz"), "{name}: {}", r.text);
    }
    for name in [
        format!("pxelinux.cfg/01-{UNKNOWN_DASHED}"),
        format!("/grub/grub.cfg-01-{UNKNOWN_DASHED}"),
        "pxelinux.cfg/0A4D009E".to_string(),
        "pxelinux.cfg/78563412-3412-7856-9abc-def012345678".to_string(),
        "grub/x86_64-efi/command.lst".to_string(),
        "nothing-here".to_string(),
    ] {
        let r = proxy(s, &name).await;
        assert_eq!((r.status, r.text.as_str()), (404, ""), "{name}");
    }
    assert_eq!(events(s, lab.m1.id).await.len(), 6);
    // iPXE fetches the kernel over HTTP from the boot tree under the public URL.
    let r = proxy(s, &format!("ipxe/01-{MAC_DASHED}")).await;
    assert!(
        r.text
            .contains("http://127.0.0.1:5000/boot/admin/vmlinuz-6.1"),
        "{}",
        r.text
    );
});

/// Names that try to leave the TFTP root: refused (403) or not found, never the file.
const TRAVERSALS: &[&str] = &[
    "../secret",
    "/../secret",
    "a/../../secret",
    "pxelinux.cfg/../../secret",
    "..\\secret",
    "....//secret",
    "%2e%2e/secret",
    "escape",
    "/escape",
    "./escape",
    "/etc/passwd",
    "../../../../../../etc/passwd",
    "admin/\0/../x",
];

server_test!(traversal_is_refused_on_every_transport, |s| {
    lab(s).await;
    // (A NUL cannot travel in a header: it comes in the path form, percent-encoded.)
    for name in TRAVERSALS.iter().filter(|n| !n.contains('\0')) {
        let r = proxy(s, name).await;
        assert!(
            matches!(r.status, 403 | 404) && !r.text.contains(SECRET) && !r.text.contains("root:"),
            "/tftp/ {name:?}: {} {}",
            r.status,
            r.text
        );
    }
    for path in [
        "/tftp/admin%2F%00%2F..%2Fx",
        "/tftp/..%2Fsecret",
        "/boot/admin/%00/../x",
        "/boot/%2e%2e/secret",
        "/boot/..%2fsecret",
        "/boot/escape",
        "/boot/%2fetc%2fpasswd",
        "/boot/a/%2e%2e/%2e%2e/secret",
    ] {
        let r = s
            .client
            .get(s.url(path))
            .header("X-TFTP-IP", "10.0.0.42")
            .send()
            .await
            .unwrap();
        let r = mr_provisioner_tests::read(r).await;
        assert!(
            matches!(r.status, 403 | 404) && !r.text.contains(SECRET),
            "{path}: {} {}",
            r.status,
            r.text
        );
    }
    let tftp = s.start_tftp().await;
    for name in TRAVERSALS.iter().filter(|n| !n.contains('\0')) {
        let out = curl_tftp(tftp, name);
        assert!(
            !out.status.success() && !String::from_utf8_lossy(&out.stdout).contains(SECRET),
            "tftp {name:?}: {:?}",
            out
        );
    }
});

server_test!(http_boot_serves_the_tree_with_ranges, |s| {
    lab(s).await;
    let get = |range: Option<&'static str>| {
        let mut r = s.client.get(s.url("/boot/pxelinux.0"));
        if let Some(range) = range {
            r = r.header("Range", range);
        }
        async move { mr_provisioner_tests::read(r.send().await.unwrap()).await }
    };
    let all = pxelinux_bytes();
    let r = get(None).await;
    assert_eq!(
        (r.status, r.headers["accept-ranges"].to_str().unwrap()),
        (200, "bytes")
    );
    let r = s
        .client
        .get(s.url("/boot/pxelinux.0"))
        .header("Range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 1000-1999/5000");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &all[1000..2000]);
    let r = s
        .client
        .get(s.url("/boot/pxelinux.0"))
        .header("Range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &all[4990..]);
    let r = get(Some("bytes=5000-")).await;
    assert_eq!(r.status, 416);
    assert_eq!(r.headers["content-range"], "bytes */5000");
    let r = s
        .client
        .head(s.url("/boot/pxelinux.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], "5000");
    // Configs too, by the same names as over TFTP.
    let r = s
        .call(
            Method::GET,
            &format!("/boot/grub/grub.cfg-01-{MAC_DASHED}"),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("admin/vmlinuz-6.1"), "{}", r.text);
    let r = s.call(Method::GET, "/boot/missing.efi", None, None).await;
    assert_eq!(r.status, 404);
});

fn curl_tftp(addr: std::net::SocketAddr, name: &str) -> std::process::Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .arg(format!("tftp://{addr}/{}", name.trim_start_matches('/')))
        .output()
        .expect("run curl")
}

server_test!(tftp_and_http_give_the_same_answers, |s| {
    lab(s).await;
    let tftp = s.start_tftp().await;
    for name in [
        "pxelinux.0".to_string(),
        "admin/vmlinuz-6.1".to_string(),
        format!("pxelinux.cfg/01-{MAC_DASHED}"),
        format!("grub/grub.cfg-01-{MAC_DASHED}"),
        "pxelinux.cfg/default".to_string(),
    ] {
        let over_tftp = curl_tftp(tftp, &name);
        assert!(over_tftp.status.success(), "{name}: {over_tftp:?}");
        let over_http = s
            .client
            .get(s.url("/tftp/"))
            .header("X-TFTP-IP", "127.0.0.1")
            .header("X-TFTP-File", &name)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(over_tftp.stdout, over_http.as_ref(), "{name}");
        let over_boot = s
            .client
            .get(s.url(&format!("/boot/{name}")))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        // The same answer, but for GRUB configs: fetched over HTTP (UEFI HTTP boot), they
        // load the kernel and initrd over HTTP too, from the prefix's HTTP device.
        let expected = if name.starts_with("grub/") {
            String::from_utf8_lossy(&over_http)
                .replace("(tftp)/", "($root)/boot/")
                .into_bytes()
        } else {
            over_http.to_vec()
        };
        if name.starts_with("grub/") {
            assert_ne!(
                expected,
                over_http.to_vec(),
                "{name}: no (tftp)/ to replace"
            );
        }
        assert_eq!(over_boot.to_vec(), expected, "{name}");
    }
    // Not found over TFTP too: curl's exit code 68 is TFTP error 1, "file not found".
    let out = curl_tftp(tftp, &format!("pxelinux.cfg/01-{UNKNOWN_DASHED}"));
    assert_eq!(out.status.code(), Some(68), "{out:?}");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_templates_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    // An override in the original's style (Jinja2 with `machine` and `config`).
    std::fs::write(
        dir.path().join("pxelinux.netboot.tmpl"),
        "default linux\nlabel linux\nkernel {{ machine.kernel.filename }}\nappend {{ machine.kernel_opts_all(config) }}\n# site override\n",
    )
    .unwrap();
    let path = dir.path().to_path_buf();
    let Some(s) = TestServer::start_with(mr_provisioner_core::testing::TestBackend::Sqlite, |c| {
        c.files.netboot_templates_dir = path
    })
    .await
    else {
        return;
    };
    let lab = lab(&s).await;
    let r = proxy(&s, &format!("pxelinux.cfg/01-{MAC_DASHED}")).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("# site override"), "{}", r.text);
    assert!(r.text.contains("kernel admin/vmlinuz-6.1"), "{}", r.text);
    assert!(
        r.text.contains(&format!(
            "append auto=true priority=critical url=http://127.0.0.1:5000/preseed/{} interface=auto console=ttyAMA0 --- quiet",
            lab.m1.id
        )),
        "{}",
        r.text
    );
    // The other templates stay the built-in ones.
    let r = proxy(&s, &format!("grub/grub.cfg-01-{MAC_DASHED}")).await;
    assert!(!r.text.contains("# site override") && r.text.contains("admin/vmlinuz-6.1"));
    s.finish().await;
}

server_test!(http_boot_knows_a_machine_by_its_address, |s| {
    let lab = lab(s).await;
    // m1 holds 127.0.0.1 (a lease, as Kea's would be recorded).
    s.store
        .lease_upsert(
            MAC.parse::<MacAddr>().unwrap(),
            Some("127.0.0.1".parse().unwrap()),
            mr_provisioner_core::model::now(),
        )
        .await
        .unwrap();
    s.state.provisioner.dhcp_changed();
    // GRUB started by UEFI HTTP boot knows no MAC and asks for its default config: over
    // HTTP, the asking address makes it m1's, loading over HTTP.
    let r = s
        .client
        .get(s.url("/boot/grub/grub.cfg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("linux ($root)/boot/admin/vmlinuz-6.1 "),
        "{text}"
    );
    assert!(text.contains(&format!("BOOTIF=01-{MAC_DASHED}")), "{text}");
    // Over TFTP (and the proxy) a default name stays the local-boot config.
    let r = s
        .client
        .get(s.url("/tftp/"))
        .header("X-TFTP-IP", "127.0.0.1")
        .header("X-TFTP-File", "grub/grub.cfg")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap().trim(), "exit");
    // m1's initrd is in the inventory but not on disk: 404 at once, and an event says so.
    let r = s
        .client
        .get(s.url("/boot/admin/initrd-6.1.gz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let e = events(s, lab.m1.id).await;
    assert!(
        e.iter()
            .any(|e| e.info == serde_json::json!({"filename": "grub/grub.cfg", "via": "http"})),
        "{e:?}"
    );
    assert!(
        e.iter().any(|e| e.info
            == serde_json::json!({"filename": "admin/initrd-6.1.gz", "error": "file not found", "via": "http"})),
        "{e:?}"
    );
    // A file that is nobody's boot file is not news.
    let r = s
        .client
        .get(s.url("/boot/admin/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let after = events(s, lab.m1.id).await;
    assert_eq!(after.len(), e.len(), "{after:?}");
});

server_test!(bootloader_companions_by_their_upload_name, |s| {
    lab(s).await;
    let store = s.store.as_ref();
    let arch = fixtures::arch(store, "x86_64").await;
    let root = s.tftp_root();
    // pxelinux uploaded as admin/pxelinux.0.<hex> asks for admin/ldlinux.c32.
    for (name, bytes, kind) in [
        (
            "admin/ldlinux.c32.0123abcd",
            b"old".as_slice(),
            ImageKind::Bootloader,
        ),
        (
            "admin/ldlinux.c32.89abcdef",
            b"new".as_slice(),
            ImageKind::Bootloader,
        ),
        (
            "admin/menu.c32.0123abcd",
            b"kernel!".as_slice(),
            ImageKind::Kernel,
        ),
    ] {
        std::fs::write(root.join(name), bytes).unwrap();
        fixtures::image(store, arch.id, name, kind).await;
    }
    let get = |name: &str| {
        let url = s.url(&format!("/boot/{name}"));
        async move {
            let r = s.client.get(url).send().await.unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
        }
    };
    // The newest bootloader uploaded under that name.
    assert_eq!(get("admin/ldlinux.c32").await, (200, b"new".to_vec()));
    // Only bootloaders, only the exact name plus an upload suffix, only in its directory.
    assert_eq!(get("admin/menu.c32").await.0, 404);
    assert_eq!(get("admin/ldlinux").await.0, 404);
    assert_eq!(get("other/ldlinux.c32").await.0, 404);
    assert_eq!(get("ldlinux.c32").await.0, 404);
});

//! Snapshot tests of every boot template and of realistic installer configs; unit tests of
//! overrides, the sandbox, undefined reporting, errors and the command line.

use std::fmt::Write as _;

use super::*;
use crate::installer::{InstallerKind, installer_kernel_options};

const PRESEED_URL: &str = "http://10.0.0.1:5000/preseed/7";

fn server() -> ServerView {
    ServerView {
        // The trailing slash is dropped before rendering.
        boot_url: "http://10.0.0.1:5000/boot/".into(),
        tftp_server: "10.0.0.1".into(),
        over_http: false,
    }
}

fn image(filename: &str, description: &str) -> ImageView {
    ImageView {
        filename: filename.into(),
        description: description.into(),
        known_good: true,
    }
}

/// A BIOS machine with kernel, initrd, a preseed and a known MAC.
fn base() -> BootView {
    BootView {
        id: 7,
        name: "node-01".into(),
        hostname: "node-01".into(),
        mac: "52:54:00:12:34:56".into(),
        arch: "x86_64".into(),
        subarch: "bios".into(),
        efi: false,
        kernel: Some(image("alice/vmlinuz-6.1.a1b2c3d4", "Debian 12 kernel")),
        initrd: Some(image(
            "alice/initrd.gz.e5f6a7b8",
            "Debian 12 installer initrd",
        )),
        kernel_opts: "console=ttyS0,115200".into(),
        installer_opts: installer_kernel_options(InstallerKind::Preseed, PRESEED_URL, ""),
    }
}

fn efi(mut m: BootView) -> BootView {
    m.efi = true;
    m.subarch = "efi".into();
    m.mac = "52:54:00:12:34:57".into();
    m
}

/// Every machine shape the netboot templates are snapshotted with.
fn shapes() -> Vec<(&'static str, Option<BootView>)> {
    let b = base();
    vec![
        ("BIOS, kernel + initrd, preseed, known MAC", Some(b.clone())),
        (
            "EFI, kernel + initrd, preseed, known MAC",
            Some(efi(b.clone())),
        ),
        (
            "EFI, kernel only, no installer config",
            Some(BootView {
                initrd: None,
                installer_opts: String::new(),
                ..efi(b.clone())
            }),
        ),
        (
            "BIOS, kickstart with DNS, no user options",
            Some(BootView {
                installer_opts: installer_kernel_options(
                    InstallerKind::Kickstart,
                    PRESEED_URL,
                    "10.0.0.53",
                ),
                kernel_opts: String::new(),
                ..b.clone()
            }),
        ),
        (
            "EFI, autoyast",
            Some(BootView {
                installer_opts: installer_kernel_options(InstallerKind::Autoyast, PRESEED_URL, ""),
                ..efi(b.clone())
            }),
        ),
        (
            "BIOS, preseed, user options with `---` (and a newline that must not split the line)",
            Some(BootView {
                kernel_opts: "console=ttyS0,115200 --- quiet\nrd.debug".into(),
                ..b.clone()
            }),
        ),
        (
            "BIOS, preseed, unknown MAC",
            Some(BootView {
                mac: String::new(),
                kernel_opts: "console=ttyS0 --- quiet".into(),
                ..b.clone()
            }),
        ),
        (
            "EFI, unknown MAC, no installer config, no user options",
            Some(BootView {
                mac: String::new(),
                installer_opts: String::new(),
                kernel_opts: String::new(),
                ..efi(b.clone())
            }),
        ),
        (
            "netboot without a kernel",
            Some(BootView {
                kernel: None,
                initrd: None,
                ..b.clone()
            }),
        ),
        ("unknown machine (None)", None),
    ]
}

/// Renders `loader` in `mode` for every shape, one section each.
fn render_all(r: &JinjaRenderer, loader: Loader, mode: BootMode) -> String {
    let server = server();
    let mut out = String::new();
    for (label, machine) in shapes() {
        let ctx = BootContext {
            machine: machine.as_ref(),
            server: &server,
        };
        let text = r.boot_config(loader, mode, &ctx).unwrap();
        write!(out, "=== {label} ===\n{text}").unwrap();
    }
    out
}

#[test]
fn snapshot_boot_templates() {
    let r = JinjaRenderer::new();
    for loader in [Loader::Grub, Loader::Pxelinux, Loader::Ipxe] {
        for mode in [BootMode::Netboot, BootMode::Local] {
            let name = template_name(loader, mode).trim_end_matches(".tmpl");
            insta::assert_snapshot!(name, render_all(&r, loader, mode));
        }
    }
}

/// Checks of the snapshots' key properties, so a careless snapshot update cannot lose them.
#[test]
fn bootif_precedes_user_options_and_never_follows_separator() {
    let r = JinjaRenderer::new();
    let server = server();
    let m = BootView {
        kernel_opts: "console=ttyS0 --- quiet".into(),
        ..base()
    };
    let ctx = BootContext {
        machine: Some(&m),
        server: &server,
    };
    for loader in [Loader::Grub, Loader::Pxelinux, Loader::Ipxe] {
        let text = r.boot_config(loader, BootMode::Netboot, &ctx).unwrap();
        let bootif = text.find("BOOTIF=01-52-54-00-12-34-56").expect(&text);
        let sep = text.find("---").unwrap();
        assert!(bootif < sep, "{loader:?}: {text}");
        assert!(!text.to_ascii_lowercase().contains("ipappend"), "{text}");
    }
}

#[test]
fn machine_none_renders_local_even_for_netboot() {
    let r = JinjaRenderer::new();
    let server = server();
    let ctx = BootContext {
        machine: None,
        server: &server,
    };
    for loader in [Loader::Grub, Loader::Pxelinux, Loader::Ipxe] {
        assert_eq!(
            r.boot_config(loader, BootMode::Netboot, &ctx).unwrap(),
            r.boot_config(loader, BootMode::Local, &ctx).unwrap()
        );
    }
}

fn installer_ctx() -> InstallerContext {
    InstallerContext {
        ssh_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@lab".into(),
        ssh_keys: vec![
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@lab".into(),
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob@lab".into(),
        ],
        hostname: "node-01".into(),
        interfaces: vec![
            InterfaceView {
                name: "eth0".into(),
                static_ipv4: "10.0.0.10".into(),
                prefix: 24,
                netmask: "255.255.255.0".into(),
                mac: "52:54:00:12:34:56".into(),
            },
            InterfaceView {
                name: "eth1".into(),
                static_ipv4: "192.168.7.5".into(),
                prefix: 16,
                netmask: "255.255.0.0".into(),
                mac: "52:54:00:12:34:58".into(),
            },
        ],
        kernel: Some(image("alice/vmlinuz-6.1.a1b2c3d4", "Debian 12 kernel")),
        initrd: Some(image("alice/initrd.gz.e5f6a7b8", "Debian 12 installer initrd")),
        kernel_options: "console=ttyS0,115200".into(),
    }
}

/// The rendered text, then the reported undefined values.
fn installer_snapshot(source: &str, ctx: &InstallerContext) -> String {
    let r = JinjaRenderer::new().installer_config(source, ctx).unwrap();
    let mut out = r.text;
    out.push_str("\n=== undefined ===\n");
    for issue in &r.undefined {
        writeln!(out, "{issue}").unwrap();
    }
    out
}

#[test]
fn snapshot_installer_preseed() {
    let src = include_str!("testdata/preseed.cfg.j2");
    insta::assert_snapshot!(
        "installer_preseed",
        installer_snapshot(src, &installer_ctx())
    );
}

#[test]
fn snapshot_installer_kickstart() {
    let src = include_str!("testdata/kickstart.cfg.j2");
    insta::assert_snapshot!(
        "installer_kickstart",
        installer_snapshot(src, &installer_ctx())
    );
}

#[test]
fn snapshot_installer_autoyast() {
    let src = include_str!("testdata/autoyast.xml.j2");
    insta::assert_snapshot!(
        "installer_autoyast",
        installer_snapshot(src, &installer_ctx())
    );
    // The same template for a machine with no kernel, initrd, keys or static interfaces.
    let bare = InstallerContext {
        hostname: "bare".into(),
        ..InstallerContext::default()
    };
    insta::assert_snapshot!("installer_autoyast_bare", installer_snapshot(src, &bare));
}

mod overrides;
mod sandbox_tests;

#[test]
fn grub_loads_the_kernel_the_way_its_config_came() {
    let r = JinjaRenderer::new();
    let m = base();
    for (over_http, root) in [(false, "(tftp)/"), (true, "($root)/boot/")] {
        let server = ServerView {
            over_http,
            ..server()
        };
        let ctx = BootContext {
            machine: Some(&m),
            server: &server,
        };
        let text = r
            .boot_config(Loader::Grub, BootMode::Netboot, &ctx)
            .unwrap();
        let kernel = m.kernel.as_ref().unwrap().filename.as_str();
        assert!(text.contains(&format!("linux {root}{kernel} ")), "{text}");
        let initrd = m.initrd.as_ref().unwrap().filename.as_str();
        assert!(text.contains(&format!("initrd {root}{initrd}")), "{text}");
    }
}

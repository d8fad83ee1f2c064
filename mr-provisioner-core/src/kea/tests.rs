use super::*;
use crate::id::ArchId;
use crate::model::machine::{Machine, MachineState};

fn target(name: &str, netboot: bool) -> BootTarget {
    BootTarget {
        machine: Machine {
            id: MachineId(7),
            name: name.into(),
            arch_id: ArchId(1),
            subarch_id: None,
            bmc_id: None,
            bmc_info: String::new(),
            kernel_id: None,
            initrd_id: None,
            preseed_id: None,
            kernel_opts: String::new(),
            netboot_enabled: netboot,
            state: MachineState::default(),
            created_at: crate::model::now(),
        },
        arch: "x86_64".into(),
        subarch: None,
        efiboot: false,
        kernel: None,
        initrd: None,
        installer: None,
        bootloader: Some("admin/pxelinux.0".into()),
        static_ipv4: None,
        reserved_ipv4: Some(Ipv4Addr::new(10, 0, 0, 5)),
        network_id: None,
    }
}

fn settings() -> Settings {
    Settings {
        next_server: "10.0.0.1".into(),
        default_bootfile: "default.efi".into(),
        ..Settings::default()
    }
}

const MAC: MacAddr = MacAddr([0x52, 0x54, 0, 0, 0, 1]);

#[test]
fn a_netbooting_interface_gets_the_hooks_answer() {
    let host = KeaHost::for_target(MAC, &target("node-1", true), &settings(), false);
    assert_eq!(
        host,
        KeaHost {
            mac: MAC,
            machine_id: MachineId(7),
            ipv4: Some(Ipv4Addr::new(10, 0, 0, 5)),
            hostname: Some("node-1".into()),
            next_server: Some(Ipv4Addr::new(10, 0, 0, 1)),
            boot_file: Some("admin/pxelinux.0".into()),
            http_boot_url: None,
        }
    );
}

#[test]
fn with_http_boot_a_netbooting_interface_also_gets_its_boot_url() {
    let s = Settings {
        public_url: "http://10.0.0.1:5000".into(),
        ..settings()
    };
    let host = KeaHost::for_target(MAC, &target("node-1", true), &s, true);
    // The TFTP name stays in the `file` field, for PXE clients.
    assert_eq!(host.boot_file.as_deref(), Some("admin/pxelinux.0"));
    assert_eq!(
        host.http_boot_url.as_deref(),
        Some("http://10.0.0.1:5000/boot/admin/pxelinux.0")
    );
    // Netboot off, or no boot file at all: no URL either.
    let off = KeaHost::for_target(MAC, &target("node-1", false), &s, true);
    assert_eq!((off.boot_file, off.http_boot_url), (None, None));
    let mut t = target("n", true);
    t.bootloader = None;
    let none = Settings {
        default_bootfile: String::new(),
        ..s
    };
    assert_eq!(
        KeaHost::for_target(MAC, &t, &none, true).http_boot_url,
        None
    );
}

#[test]
fn without_a_bootloader_the_default_boot_file() {
    let mut t = target("n", true);
    t.bootloader = None;
    let host = KeaHost::for_target(MAC, &t, &settings(), false);
    assert_eq!(host.boot_file.as_deref(), Some("default.efi"));
    let empty = Settings {
        default_bootfile: String::new(),
        ..settings()
    };
    assert_eq!(KeaHost::for_target(MAC, &t, &empty, false).boot_file, None);
}

#[test]
fn netboot_off_keeps_the_address_and_drops_the_boot_fields() {
    let host = KeaHost::for_target(MAC, &target("n1", false), &settings(), false);
    assert_eq!(host.ipv4, Some(Ipv4Addr::new(10, 0, 0, 5)));
    assert_eq!((host.next_server, host.boot_file), (None, None));
}

#[test]
fn a_static_address_comes_before_the_reserved_one() {
    let mut t = target("n1", true);
    t.static_ipv4 = Some(Ipv4Addr::new(10, 0, 1, 9));
    assert_eq!(
        KeaHost::for_target(MAC, &t, &settings(), false).ipv4,
        Some(Ipv4Addr::new(10, 0, 1, 9))
    );
    t.static_ipv4 = None;
    t.reserved_ipv4 = None;
    assert_eq!(KeaHost::for_target(MAC, &t, &settings(), false).ipv4, None);
}

#[test]
fn a_next_server_that_is_a_name_is_left_out() {
    let named = Settings {
        next_server: "tftp.lab".into(),
        ..settings()
    };
    let host = KeaHost::for_target(MAC, &target("n1", true), &named, false);
    assert_eq!(host.next_server, None);
    assert_eq!(host.boot_file.as_deref(), Some("admin/pxelinux.0"));
}

#[test]
fn host_names() {
    for (name, want) in [
        ("node-1", Some("node-1")),
        ("Node7.Lab", Some("node7.lab")),
        ("-x", None),
        ("x-", None),
        ("a..b", None),
        ("", None),
        ("under_score", None),
    ] {
        assert_eq!(dns_hostname(name).as_deref(), want, "{name:?}");
    }
    assert_eq!(dns_hostname(&"a".repeat(63)).map(|h| h.len()), Some(63));
    assert_eq!(dns_hostname(&"a".repeat(64)), None);
    // Machine names become host names as the original made them.
    let host = KeaHost::for_target(MAC, &target("rack1_node.2", true), &settings(), false);
    assert_eq!(host.hostname.as_deref(), Some("rack1-node-2"));
}

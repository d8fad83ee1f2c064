//! Table tests of [`parse`] on the request sequences recorded in the lab, and properties.

use super::*;
use proptest::prelude::*;

const MAC_BIOS: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const MAC_UEFI: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x57];

fn pxe(key: ConfigKey) -> Option<ConfigRequest> {
    Some(ConfigRequest {
        loader: Loader::Pxelinux,
        key,
    })
}
fn grub(key: ConfigKey) -> Option<ConfigRequest> {
    Some(ConfigRequest {
        loader: Loader::Grub,
        key,
    })
}
fn ipxe(key: ConfigKey) -> Option<ConfigRequest> {
    Some(ConfigRequest {
        loader: Loader::Ipxe,
        key,
    })
}
fn hex(s: &str) -> ConfigKey {
    ConfigKey::HexIp(s.to_string())
}

/// Checks each case as written and with one and two leading slashes.
fn check(cases: &[(&str, Option<ConfigRequest>)]) {
    for (name, want) in cases {
        for prefix in ["", "/", "//"] {
            let got = parse(&format!("{prefix}{name}"));
            assert_eq!(&got, want, "parse({prefix}{name:?})");
        }
    }
}

/// LAB.md §4.6: pxelinux 6 with `-uuid` set and only `default` present, in request order.
#[test]
fn pxelinux_request_sequence_from_the_lab() {
    check(&[
        ("pxelinux.0", None),
        ("ldlinux.c32", None),
        (
            "pxelinux.cfg/78563412-3412-7856-9abc-def012345678",
            pxe(ConfigKey::Uuid(
                "78563412-3412-7856-9abc-def012345678".into(),
            )),
        ),
        (
            "pxelinux.cfg/01-52-54-00-12-34-56",
            pxe(ConfigKey::Mac(MAC_BIOS)),
        ),
        ("pxelinux.cfg/0A4D009E", pxe(hex("0A4D009E"))),
        ("pxelinux.cfg/0A4D009", pxe(hex("0A4D009"))),
        ("pxelinux.cfg/0A4D00", pxe(hex("0A4D00"))),
        ("pxelinux.cfg/0A4D0", pxe(hex("0A4D0"))),
        ("pxelinux.cfg/0A4D", pxe(hex("0A4D"))),
        ("pxelinux.cfg/0A4", pxe(hex("0A4"))),
        ("pxelinux.cfg/0A", pxe(hex("0A"))),
        ("pxelinux.cfg/0", pxe(hex("0"))),
        ("pxelinux.cfg/default", pxe(ConfigKey::Default)),
        ("vmlinuz", None),
        ("initrd.gz", None),
    ]);
}

/// LAB.md §5: GRUB 2.06 (Debian) with only `grub/grub.cfg` present, in request order.
#[test]
fn grub_request_sequence_from_the_lab() {
    check(&[
        ("grubx64.efi", None),
        (
            "grub/grub.cfg-01-52-54-00-12-34-57",
            grub(ConfigKey::Mac(MAC_UEFI)),
        ),
        ("grub/grub.cfg-0A4D009F", grub(hex("0A4D009F"))),
        ("grub/grub.cfg-0A4D009", grub(hex("0A4D009"))),
        ("grub/grub.cfg-0A4D00", grub(hex("0A4D00"))),
        ("grub/grub.cfg-0A4D0", grub(hex("0A4D0"))),
        ("grub/grub.cfg-0A4D", grub(hex("0A4D"))),
        ("grub/grub.cfg-0A4", grub(hex("0A4"))),
        ("grub/grub.cfg-0A", grub(hex("0A"))),
        ("grub/grub.cfg-0", grub(hex("0"))),
        ("grub/x86_64-efi/command.lst", None),
        ("grub/x86_64-efi/fs.lst", None),
        ("grub/x86_64-efi/crypto.lst", None),
        ("grub/x86_64-efi/terminal.lst", None),
        ("grub/grub.cfg", grub(ConfigKey::Default)),
        ("vmlinuz", None),
        ("initrd.gz", None),
    ]);
}

#[test]
fn other_accepted_names() {
    check(&[
        // Directory prefixes, case of hex digits.
        ("alice/pxelinux.cfg/default", pxe(ConfigKey::Default)),
        (
            "alice/pxelinux.cfg/01-52-54-00-12-34-56",
            pxe(ConfigKey::Mac(MAC_BIOS)),
        ),
        (
            "pxelinux.cfg/01-AA-bb-CC-dd-EE-0f",
            pxe(ConfigKey::Mac([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f])),
        ),
        ("pxelinux.cfg/0a4d009e", pxe(hex("0A4D009E"))),
        (
            "pxelinux.cfg/78563412-3412-7856-9ABC-DEF012345678",
            pxe(ConfigKey::Uuid(
                "78563412-3412-7856-9abc-def012345678".into(),
            )),
        ),
        ("boot/grub/grub.cfg", grub(ConfigKey::Default)),
        ("grub.cfg", grub(ConfigKey::Default)),
        ("EFI/BOOT/grub.cfg", grub(ConfigKey::Default)),
        (
            "EFI/BOOT/grub.cfg-01-52-54-00-12-34-57",
            grub(ConfigKey::Mac(MAC_UEFI)),
        ),
        ("grub.cfg-0a4d009f", grub(hex("0A4D009F"))),
        // The original's custom GRUB names.
        ("grub/01-52-54-00-12-34-57", grub(ConfigKey::Mac(MAC_UEFI))),
        ("01-52-54-00-12-34-57", grub(ConfigKey::Mac(MAC_UEFI))),
        ("grub/efidefault", grub(ConfigKey::Default)),
        ("efidefault", grub(ConfigKey::Default)),
        // iPXE.
        ("ipxe/01-52-54-00-12-34-56", ipxe(ConfigKey::Mac(MAC_BIOS))),
        (
            "site/ipxe/01-52-54-00-12-34-56",
            ipxe(ConfigKey::Mac(MAC_BIOS)),
        ),
        ("ipxe/default", ipxe(ConfigKey::Default)),
        ("ipxe/boot.ipxe", ipxe(ConfigKey::Default)),
        (
            "ipxe/52-54-00-12-34-56.ipxe",
            ipxe(ConfigKey::Mac(MAC_BIOS)),
        ),
        ("boot.ipxe", ipxe(ConfigKey::Default)),
        ("alice/boot.ipxe", ipxe(ConfigKey::Default)),
        ("52-54-00-12-34-56.ipxe", ipxe(ConfigKey::Mac(MAC_BIOS))),
        ("52:54:00:12:34:56.ipxe", ipxe(ConfigKey::Mac(MAC_BIOS))),
        ("525400123456.ipxe", ipxe(ConfigKey::Mac(MAC_BIOS))),
        ("macs/525400123456.ipxe", ipxe(ConfigKey::Mac(MAC_BIOS))),
    ]);
}

#[test]
fn ordinary_and_malformed_names_are_none() {
    check(&[
        ("", None),
        ("pxelinux.cfg", None),
        ("pxelinux.cfg/", None),
        ("pxelinux.cfg/01-zz-54-00-12-34-56", None),
        ("pxelinux.cfg/01-52-54-00-12-34", None),
        ("pxelinux.cfg/01-52-54-00-12-34-56-78", None),
        ("pxelinux.cfg/01-52:54:00:12:34:56", None),
        ("pxelinux.cfg/06-52-54-00-12-34-56", None),
        ("pxelinux.cfg/0A4D009E0", None),
        ("pxelinux.cfg/DEFAULT", None),
        ("pxelinux.cfg/default.bak", None),
        ("pxelinux.cfg/menu.c32", None),
        ("pxelinux.cfg/sub/default", None),
        ("pxelinux.cfg/78563412-3412-7856-9abc-def01234567", None),
        ("grubx64.efi", None),
        ("grubaa64.efi", None),
        ("admin/grubaa64.efi.a1b2c3d4", None),
        ("grub/x86_64-efi/command.lst", None),
        ("grub/x86_64-efi/normal.mod", None),
        ("grub/grub.cfg.bak", None),
        ("grub/grub.cfg-", None),
        ("grub/grub.cfg-0A4D009F0", None),
        ("grub/grub.cfg-01-52-54-00-12-34", None),
        ("grub/grub.cfg-xyz", None),
        ("grub/01-52-54-00-12-34", None),
        ("grub/efidefault.old", None),
        ("ipxe/01-52-54-00-12-34", None),
        ("ipxe/525400123456", None),
        ("ipxe/menu", None),
        ("menu.ipxe", None),
        ("52-54-00-12-34.ipxe", None),
        ("undionly.kpxe", None),
        ("ipxe.efi", None),
        ("vmlinuz", None),
        ("alice/vmlinuz-6.1", None),
    ]);
}

#[test]
fn smbios_uuid_unswaps_the_first_three_fields() {
    let k = ConfigKey::Uuid("78563412-3412-7856-9abc-def012345678".into());
    assert_eq!(
        k.smbios_uuid().as_deref(),
        Some("12345678-1234-5678-9abc-def012345678")
    );
    // The swap is its own inverse.
    let back = ConfigKey::Uuid(k.smbios_uuid().unwrap()).smbios_uuid();
    assert_eq!(
        back.as_deref(),
        Some("78563412-3412-7856-9abc-def012345678")
    );
    assert_eq!(ConfigKey::Default.smbios_uuid(), None);
    assert_eq!(ConfigKey::Mac(MAC_BIOS).smbios_uuid(), None);
}

#[test]
fn hex_ip_matches_its_address_and_prefixes_only() {
    let ip: Ipv4Addr = "10.77.0.158".parse().unwrap(); // 0A4D009E
    for p in [
        "0A4D009E", "0A4D009", "0A4D00", "0A4D0", "0A4D", "0A4", "0A", "0",
    ] {
        assert!(hex(p).matches(ip), "{p}");
    }
    for p in ["0A4D009F", "0B", "1", "0A4D01"] {
        assert!(!hex(p).matches(ip), "{p}");
    }
    // Parsed lowercase names are stored uppercase, so they match too.
    let parsed = parse("pxelinux.cfg/0a4d009e").unwrap().key;
    assert!(parsed.matches(ip));
    assert!(!ConfigKey::Default.matches(ip));
    assert!(!ConfigKey::Mac(MAC_BIOS).matches(ip));
}

#[test]
fn format_mac_and_key_mac() {
    assert_eq!(format_mac(&MAC_BIOS), "52:54:00:12:34:56");
    assert_eq!(ConfigKey::Mac(MAC_UEFI).mac(), Some(MAC_UEFI));
    assert_eq!(ConfigKey::Default.mac(), None);
}

/// Every name form that carries a MAC, for the round-trip property.
fn mac_names(mac: &[u8; 6], upper: bool, dir: &str) -> Vec<(String, Loader)> {
    let hexes: Vec<String> = mac
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect();
    let dashed = hexes.join("-");
    let colons = hexes.join(":");
    let raw = hexes.concat();
    vec![
        (format!("{dir}pxelinux.cfg/01-{dashed}"), Loader::Pxelinux),
        (format!("{dir}grub.cfg-01-{dashed}"), Loader::Grub),
        (format!("{dir}grub/01-{dashed}"), Loader::Grub),
        (format!("{dir}ipxe/01-{dashed}"), Loader::Ipxe),
        (format!("{dir}{dashed}.ipxe"), Loader::Ipxe),
        (format!("{dir}{colons}.ipxe"), Loader::Ipxe),
        (format!("{dir}{raw}.ipxe"), Loader::Ipxe),
    ]
}

proptest! {
    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_on_near_misses(s in "/{0,2}([a-z]{1,4}/)?(pxelinux\\.cfg/|ipxe/|grub\\.cfg-?)?[0-9a-fA-F:.\\-]{0,20}(\\.ipxe)?") {
        let _ = parse(&s);
    }

    #[test]
    fn every_mac_form_parses_back(
        mac in any::<[u8; 6]>(),
        upper in any::<bool>(),
        slashes in 0usize..3,
        dir in "([a-z]{1,6}/){0,2}",
    ) {
        for (name, loader) in mac_names(&mac, upper, &dir) {
            let name = format!("{}{name}", "/".repeat(slashes));
            prop_assert_eq!(
                parse(&name),
                Some(ConfigRequest { loader, key: ConfigKey::Mac(mac) }),
                "{}", name
            );
        }
    }

    #[test]
    fn hex_ip_prefixes_match(ip in any::<u32>(), len in 1usize..=8) {
        let ip = Ipv4Addr::from(ip);
        let full = format!("{:08x}", u32::from(ip));
        let req = parse(&format!("pxelinux.cfg/{}", &full[..len])).unwrap();
        prop_assert!(req.key.matches(ip));
        let req = parse(&format!("/grub/grub.cfg-{}", &full[..len])).unwrap();
        prop_assert!(req.key.matches(ip));
    }
}

//! What a DHCP request tells about a machine nobody has registered yet: who made its network
//! card, what firmware is asking to boot, and the host name it sent.
//!
//! Everything here is pure and cheap: it sits on the DHCP path, where each unknown MAC is
//! looked at on every DISCOVER.
//!
//! ```
//! use mr_provisioner_core::discovery::{client_arch_name, hostname_option, is_uefi, mac_vendor};
//! use mr_provisioner_core::mac::MacAddr;
//!
//! let cisco: MacAddr = "00:00:0c:12:34:56".parse().unwrap();
//! assert!(mac_vendor(cisco).unwrap().contains("Cisco"));
//! let qemu: MacAddr = "52:54:00:12:34:56".parse().unwrap();
//! assert_eq!(mac_vendor(qemu), None); // locally administered: no registered vendor
//!
//! assert_eq!(client_arch_name(11), "ARM 64-bit UEFI");
//! assert!(is_uefi(7));
//! assert_eq!(hostname_option("node7\0").as_deref(), Some("node7"));
//! ```
//!
//! # Where the vendor names come from
//!
//! [`mac_vendor`] reads the IEEE Registration Authority's public listings as packaged by the
//! [`oui_data`] crate (MIT licence): the MA-L (24-bit OUI), MA-M (28-bit), MA-S (36-bit) and
//! IAB registries, turned by its build script into a perfect-hash map compiled into the
//! binary. Nothing is parsed or loaded at run time: a lookup is at most three hash probes of
//! a string built on the stack (longest block first) and one small allocation for the
//! answer, about 0.1 µs optimised (see the ignored `lookup_cost` test). The 0.2.4 release
//! (2026-10-17) carries 58,794 MAC assignments.
//!
//! Other crates were weighed: `oui` is archived (2024) and `manuf` (2020) and `mac_oui`
//! (2024, a 6 MB CSV parsed at start-up) are stale; `rsmanuf` is refreshed monthly but
//! compiles a regular expression and allocates on every lookup; `macaddr-ouidb` is as fresh
//! and as fast, but by default shortens names and replaces some registrations with its own
//! labels (`00:50:56` becomes "VMware virtual NIC"), where we want the registered name.
//!
//! The IEEE data is used as published except that runs of whitespace become one space; the
//! placeholder names "Private" (the registrant asked to stay unlisted) and "IEEE Registration
//! Authority" (a block sub-assigned in MA-M or MA-S whose sub-block is not in the data) give
//! `None` rather than a name that is not a vendor.
//!
//! # Client architectures
//!
//! [`client_arch_name`] names the codes of the IANA "Processor Architecture Types" registry
//! (<https://www.iana.org/assignments/dhcpv6-parameters/dhcpv6-parameters.xhtml#processor-architecture>),
//! shared by DHCPv4 option 93 (RFC 4578) and DHCPv6 option 61 (RFC 5970). Codes 0 to 41
//! (0x29, "arm rpiboot") are assigned; the names are the registry's, spelling included.
//!
//! Code 9 deserves a word: the registry (following the erratum to RFC 4578) says EBC, EFI
//! byte code, and 7 x64 UEFI, while RFC 4578 as published swapped the two; some x64 UEFI
//! firmware still sends 9. Both are UEFI for [`is_uefi`], and the name stays the registry's.

use crate::mac::MacAddr;
use crate::model::discovered_mac::Sighting;

/// What a DHCP request from the unknown `mac` tells: its vendor (`"unknown"` when the OUI
/// table has none), the host name it sent (option 12, cleaned by [`hostname_option`]) and
/// its architecture (option 93, named by [`client_arch_name`]).
pub fn sighting(mac: MacAddr, hostname: Option<&str>, arch_code: Option<u16>) -> Sighting {
    Sighting {
        vendor: Some(mac_vendor(mac).unwrap_or_else(|| "unknown".into())),
        hostname: hostname.and_then(hostname_option),
        arch_code,
        arch: arch_code.map(|c| client_arch_name(c).to_string()),
    }
}

/// The organisation the IEEE registered for `mac`'s block, the longest of MA-S, MA-M and
/// MA-L (or the older IAB) that matches.
///
/// `None` for multicast and locally administered addresses (bits 0x01 and 0x02 of the first
/// octet: no vendor owns them, e.g. QEMU's `52:54:00`), for blocks not in the data, and for
/// the registry's placeholder names (see the [module documentation](self)).
pub fn mac_vendor(mac: MacAddr) -> Option<String> {
    let octets = mac.octets();
    if octets[0] & 0x03 != 0 {
        return None;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut digits = [0u8; 12];
    for (i, byte) in octets.iter().enumerate() {
        digits[2 * i] = HEX[usize::from(byte >> 4)];
        digits[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
    }
    // Upper-case hex without separators is the form `oui_data` looks up without allocating.
    let digits = std::str::from_utf8(&digits).expect("hex digits are ASCII");
    let organization = oui_data::lookup(digits)?.organization();
    tidy_organization(organization)
}

/// The registry's name with whitespace runs (the data turns some double spaces into line
/// breaks) collapsed to one space; `None` for empty and placeholder names.
fn tidy_organization(raw: &str) -> Option<String> {
    let mut name = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        if !name.is_empty() {
            name.push(' ');
        }
        name.push_str(word);
    }
    let placeholder = name.is_empty()
        || name.eq_ignore_ascii_case("Private")
        || name.eq_ignore_ascii_case("IEEE Registration Authority");
    (!placeholder).then_some(name)
}

/// One assigned code of the Processor Architecture Types registry.
struct Arch {
    name: &'static str,
    uefi: bool,
    http: bool,
}

const fn arch(name: &'static str, uefi: bool, http: bool) -> Arch {
    Arch { name, uefi, http }
}

/// The registry, indexed by code. `uefi`: the firmware is (U)EFI and takes an EFI
/// application; `http`: the client boots from a URL (UEFI HTTP Boot and the like) rather
/// than from TFTP.
const ARCHES: [Arch; 42] = [
    arch("x86 BIOS", false, false),                           // 0
    arch("NEC/PC98 (DEPRECATED)", false, false),              // 1
    arch("Itanium", true, false),                             // 2 (EFI on Itanium)
    arch("DEC Alpha (DEPRECATED)", false, false),             // 3
    arch("Arc x86 (DEPRECATED)", false, false),               // 4
    arch("Intel Lean Client (DEPRECATED)", false, false),     // 5
    arch("x86 UEFI", true, false),                            // 6
    arch("x64 UEFI", true, false),                            // 7
    arch("EFI Xscale (DEPRECATED)", true, false),             // 8
    arch("EBC", true, false),                                 // 9 (also x64 UEFI in the field)
    arch("ARM 32-bit UEFI", true, false),                     // 10
    arch("ARM 64-bit UEFI", true, false),                     // 11
    arch("PowerPC Open Firmware", false, false),              // 12
    arch("PowerPC ePAPR", false, false),                      // 13
    arch("POWER OPAL v3", false, false),                      // 14
    arch("x86 uefi boot from http", true, true),              // 15
    arch("x64 uefi boot from http", true, true),              // 16
    arch("ebc boot from http", true, true),                   // 17
    arch("arm uefi 32 boot from http", true, true),           // 18
    arch("arm uefi 64 boot from http", true, true),           // 19
    arch("pc/at bios boot from http", false, true),           // 20
    arch("arm 32 uboot", false, false),                       // 21
    arch("arm 64 uboot", false, false),                       // 22
    arch("arm uboot 32 boot from http", false, true),         // 23
    arch("arm uboot 64 boot from http", false, true),         // 24
    arch("RISC-V 32-bit UEFI", true, false),                  // 25
    arch("RISC-V 32-bit UEFI boot from http", true, true),    // 26
    arch("RISC-V 64-bit UEFI", true, false),                  // 27
    arch("RISC-V 64-bit UEFI boot from http", true, true),    // 28
    arch("RISC-V 128-bit UEFI", true, false),                 // 29
    arch("RISC-V 128-bit UEFI boot from http", true, true),   // 30
    arch("s390 Basic", false, false),                         // 31
    arch("s390 Extended", false, false),                      // 32
    arch("MIPS 32-bit UEFI", true, false),                    // 33
    arch("MIPS 64-bit UEFI", true, false),                    // 34
    arch("Sunway 32-bit UEFI", true, false),                  // 35
    arch("Sunway 64-bit UEFI", true, false),                  // 36
    arch("LoongArch 32-bit UEFI", true, false),               // 37
    arch("LoongArch 32-bit UEFI boot from http", true, true), // 38
    arch("LoongArch 64-bit UEFI", true, false),               // 39
    arch("LoongArch 64-bit UEFI boot from http", true, true), // 40
    arch("arm rpiboot", false, false),                        // 41
];

fn arch_entry(code: u16) -> Option<&'static Arch> {
    ARCHES.get(usize::from(code))
}

/// The registry's name for client system architecture `code` (DHCP option 93), e.g.
/// `"x86 BIOS"`, `"x64 UEFI"`, `"ARM 64-bit UEFI"`; `"unknown"` for a code the registry
/// has not assigned.
pub fn client_arch_name(code: u16) -> &'static str {
    arch_entry(code).map_or("unknown", |a| a.name)
}

/// Whether a client sending `code` runs (U)EFI firmware and so wants an EFI bootloader:
/// every UEFI code of the registry, TFTP or HTTP, plus the EFI-era 2 (Itanium), 8 (Xscale)
/// and 9 (EBC, which some x64 UEFI firmware sends). False for BIOS, U-Boot, Open Firmware,
/// OPAL, s390, rpiboot and unassigned codes.
pub fn is_uefi(code: u16) -> bool {
    arch_entry(code).is_some_and(|a| a.uefi)
}

/// Whether a client sending `code` boots from an HTTP URL rather than TFTP: the registry's
/// "boot from http" codes (15 to 20, 23, 24, 26, 28, 30, 38 and 40).
pub fn is_http_boot(code: u16) -> bool {
    arch_entry(code).is_some_and(|a| a.http)
}

/// The most characters kept of a client's host name (option 12 holds at most 255 octets).
const HOSTNAME_MAX_CHARS: usize = 255;

/// DHCP option 12 (host name) as the Kea hook hands it over, a string of the option's raw
/// bytes: control characters (NULs included) removed, leading and trailing whitespace
/// trimmed, cut to 255 characters; `None` when nothing is left.
pub fn hostname_option(raw: &str) -> Option<String> {
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).collect();
    let cut: String = cleaned.trim().chars().take(HOSTNAME_MAX_CHARS).collect();
    let name = cut.trim_end();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mac(s: &str) -> MacAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// OUIs whose registration has been stable for years, with a substring of the name the
    /// IEEE lists for them.
    #[test]
    fn vendors_of_well_known_ouis() {
        for (address, expected) in [
            ("00:00:0c:01:02:03", "Cisco Systems"),
            ("00:1b:21:aa:bb:cc", "Intel"),
            ("3c:fd:fe:00:11:22", "Intel"),
            ("00:50:56:9a:00:01", "VMware"),
            ("b8:27:eb:12:34:56", "Raspberry Pi"),
            ("dc:a6:32:01:02:03", "Raspberry Pi"),
            ("08:00:27:00:00:01", "PCS Systemtechnik"), // VirtualBox's default, registered to PCS
        ] {
            let vendor = mac_vendor(mac(address));
            assert!(
                vendor.as_deref().is_some_and(|v| v.contains(expected)),
                "{address}: {vendor:?} does not contain {expected:?}"
            );
        }
    }

    #[test]
    fn exact_names_as_registered() {
        assert_eq!(
            mac_vendor(mac("00:00:0c:00:00:00")).as_deref(),
            Some("Cisco Systems, Inc")
        );
        assert_eq!(
            mac_vendor(mac("00:1b:21:00:00:00")).as_deref(),
            Some("Intel Corporate")
        );
        assert_eq!(
            mac_vendor(mac("00:50:56:00:00:00")).as_deref(),
            Some("VMware, Inc.")
        );
    }

    /// The longer MA-M, MA-S and IAB blocks win over their "IEEE Registration Authority"
    /// parent, and an unlisted sub-block of such a parent has no vendor.
    #[test]
    fn longer_blocks_resolve_past_the_registration_authority() {
        // MA-S (36 bits) under 8C:1F:64.
        let mas = mac_vendor(mac("8c:1f:64:af:a1:23"));
        assert!(
            mas.as_deref()
                .is_some_and(|v| v.contains("DATA ELECTRONIC DEVICES")),
            "{mas:?}"
        );
        // MA-M (28 bits) under B8:4C:87.
        let mam = mac_vendor(mac("b8:4c:87:41:23:45"));
        assert!(
            mam.as_deref().is_some_and(|v| v.contains("Blum Novotest")),
            "{mam:?}"
        );
        // IAB (36 bits) under 40:D8:55.
        let iab = mac_vendor(mac("40:d8:55:0d:71:23"));
        assert!(
            iab.as_deref()
                .is_some_and(|v| v.contains("Avant Technologies")),
            "{iab:?}"
        );
        // The bare parent is in MA-L as "IEEE Registration Authority": not a vendor.
        assert_eq!(
            oui_data::lookup("8C1F64")
                .map(|r| r.organization())
                .unwrap_or_default(),
            "IEEE Registration Authority"
        );
        assert_eq!(tidy_organization("IEEE Registration Authority"), None);
    }

    #[test]
    fn local_and_multicast_addresses_have_no_vendor() {
        for address in [
            "52:54:00:12:34:56", // QEMU/libvirt (locally administered)
            "02:00:00:00:00:01", // locally administered
            "fe:ff:ff:ff:ff:ff", // Xen's host side, locally administered
            "ff:ff:ff:ff:ff:ff", // broadcast
            "01:00:5e:00:00:01", // IPv4 multicast, in IANA's 01:00:5E
            "33:33:00:00:00:01", // IPv6 multicast
            "01:00:0c:cc:cc:cc", // Cisco CDP multicast: group bit on Cisco's OUI
        ] {
            assert_eq!(mac_vendor(mac(address)), None, "{address}");
        }
        // The same OUI without the group/local bits does resolve.
        assert!(mac_vendor(mac("00:00:0c:cc:cc:cc")).is_some());
    }

    #[test]
    fn unassigned_oui_has_no_vendor() {
        // The first universal unicast OUI the data does not list (no fixed one: the IEEE
        // keeps assigning).
        let free = (0u32..1 << 24)
            .map(|p| p.to_be_bytes())
            .find(|b| {
                b[1] & 0x03 == 0
                    && oui_data::lookup(&format!("{:02X}{:02X}{:02X}", b[1], b[2], b[3])).is_none()
            })
            .expect("some OUI is unassigned");
        assert_eq!(
            mac_vendor(MacAddr([free[1], free[2], free[3], 0, 0, 1])),
            None
        );
    }

    #[test]
    fn organisation_names_are_tidied() {
        assert_eq!(
            tidy_organization("Nethesis\nsrl").as_deref(),
            Some("Nethesis srl")
        );
        assert_eq!(
            tidy_organization("  Phison Electronics Corp.   ").as_deref(),
            Some("Phison Electronics Corp.")
        );
        assert_eq!(tidy_organization("Private"), None);
        assert_eq!(tidy_organization(" \n "), None);
        // Real data: the IEEE lists "Nethesis  srl" (two spaces) for E0:E6:56.
        assert_eq!(
            mac_vendor(mac("e0:e6:56:00:00:01")).as_deref(),
            Some("Nethesis srl")
        );
    }

    #[test]
    fn every_listed_vendor_is_tidy() {
        for record in oui_data::OUI_ENTRIES.values() {
            if let Some(name) = tidy_organization(record.organization()) {
                assert!(
                    !name.chars().any(char::is_control) && name.trim() == name,
                    "{}: {name:?}",
                    record.oui()
                );
            }
        }
    }

    /// Lookup cost, for information only: `cargo test -p mr-provisioner-core --lib
    /// discovery::tests::lookup_cost -- --ignored --nocapture` (add `--release` for the
    /// optimised figure). Never asserts on time.
    #[test]
    #[ignore = "timing print, run by hand"]
    fn lookup_cost() {
        use std::hint::black_box;
        use std::time::Instant;
        let macs = [
            mac("00:1b:21:aa:bb:cc"), // MA-L hit
            mac("8c:1f:64:af:a1:23"), // MA-S hit (three probes)
            mac("fc:ff:ff:00:00:01"), // miss (three probes; unassigned in the 2026-10 data)
            mac("52:54:00:12:34:56"), // locally administered (no probe)
        ];
        let rounds = 250_000;
        let start = Instant::now();
        let mut found = 0usize;
        for _ in 0..rounds {
            for m in &macs {
                found += usize::from(mac_vendor(black_box(*m)).is_some());
            }
        }
        let elapsed = start.elapsed();
        let n = rounds * macs.len();
        println!(
            "mac_vendor: {n} lookups in {elapsed:?}, {:.0} ns each ({found} found)",
            elapsed.as_nanos() as f64 / n as f64
        );
        for m in &macs {
            let start = Instant::now();
            for _ in 0..rounds {
                black_box(mac_vendor(black_box(*m)));
            }
            println!(
                "  {m}: {:.0} ns",
                start.elapsed().as_nanos() as f64 / rounds as f64
            );
        }
    }

    /// Every assigned code, written out independently of `ARCHES`:
    /// (code, name, is_uefi, is_http_boot).
    const REGISTRY: [(u16, &str, bool, bool); 42] = [
        (0, "x86 BIOS", false, false),
        (1, "NEC/PC98 (DEPRECATED)", false, false),
        (2, "Itanium", true, false),
        (3, "DEC Alpha (DEPRECATED)", false, false),
        (4, "Arc x86 (DEPRECATED)", false, false),
        (5, "Intel Lean Client (DEPRECATED)", false, false),
        (6, "x86 UEFI", true, false),
        (7, "x64 UEFI", true, false),
        (8, "EFI Xscale (DEPRECATED)", true, false),
        (9, "EBC", true, false),
        (10, "ARM 32-bit UEFI", true, false),
        (11, "ARM 64-bit UEFI", true, false),
        (12, "PowerPC Open Firmware", false, false),
        (13, "PowerPC ePAPR", false, false),
        (14, "POWER OPAL v3", false, false),
        (15, "x86 uefi boot from http", true, true),
        (16, "x64 uefi boot from http", true, true),
        (17, "ebc boot from http", true, true),
        (18, "arm uefi 32 boot from http", true, true),
        (19, "arm uefi 64 boot from http", true, true),
        (20, "pc/at bios boot from http", false, true),
        (21, "arm 32 uboot", false, false),
        (22, "arm 64 uboot", false, false),
        (23, "arm uboot 32 boot from http", false, true),
        (24, "arm uboot 64 boot from http", false, true),
        (25, "RISC-V 32-bit UEFI", true, false),
        (26, "RISC-V 32-bit UEFI boot from http", true, true),
        (27, "RISC-V 64-bit UEFI", true, false),
        (28, "RISC-V 64-bit UEFI boot from http", true, true),
        (29, "RISC-V 128-bit UEFI", true, false),
        (30, "RISC-V 128-bit UEFI boot from http", true, true),
        (31, "s390 Basic", false, false),
        (32, "s390 Extended", false, false),
        (33, "MIPS 32-bit UEFI", true, false),
        (34, "MIPS 64-bit UEFI", true, false),
        (35, "Sunway 32-bit UEFI", true, false),
        (36, "Sunway 64-bit UEFI", true, false),
        (37, "LoongArch 32-bit UEFI", true, false),
        (38, "LoongArch 32-bit UEFI boot from http", true, true),
        (39, "LoongArch 64-bit UEFI", true, false),
        (40, "LoongArch 64-bit UEFI boot from http", true, true),
        (41, "arm rpiboot", false, false),
    ];

    #[test]
    fn every_assigned_arch_code() {
        for (code, name, uefi, http) in REGISTRY {
            assert_eq!(client_arch_name(code), name, "code {code}");
            assert_eq!(is_uefi(code), uefi, "is_uefi({code}) for {name}");
            assert_eq!(is_http_boot(code), http, "is_http_boot({code}) for {name}");
        }
    }

    #[test]
    fn unassigned_arch_codes() {
        for code in 42..=u16::MAX {
            assert_eq!(client_arch_name(code), "unknown", "code {code}");
            assert!(!is_uefi(code), "is_uefi({code})");
            assert!(!is_http_boot(code), "is_http_boot({code})");
        }
    }

    /// The flags agree with what the registry's own names say.
    #[test]
    fn arch_flags_match_the_names() {
        for (code, arch) in ARCHES.iter().enumerate() {
            let lower = arch.name.to_ascii_lowercase();
            assert_eq!(arch.http, lower.contains("http"), "code {code}");
            if lower.contains("uefi") || lower.contains("ebc") {
                assert!(arch.uefi, "code {code}");
            }
            if lower.contains("bios") || lower.contains("uboot") {
                assert!(!arch.uefi, "code {code}");
            }
        }
    }

    #[test]
    fn bootloader_relevant_codes() {
        assert!(!is_uefi(0) && !is_http_boot(0)); // legacy PXE: pxelinux / undionly
        assert!(is_uefi(7) && is_uefi(9)); // x64 UEFI, as registered and as deployed
        assert!(is_uefi(11) && !is_http_boot(11)); // arm64 UEFI over TFTP
        assert!(is_uefi(16) && is_http_boot(16)); // x64 UEFI HTTP Boot
        assert!(is_uefi(19) && is_http_boot(19)); // arm64 UEFI HTTP Boot
        assert!(!is_uefi(20) && is_http_boot(20)); // BIOS booting from a URL
    }

    #[test]
    fn hostname_examples() {
        for (raw, expected) in [
            ("node7", Some("node7")),
            ("node7\0", Some("node7")),
            ("\0\0node7\0\0\0", Some("node7")),
            ("  node7 \n", Some("node7")),
            ("my host", Some("my host")),
            ("no\x01de\x7f7", Some("node7")),
            ("no\u{85}de7", Some("node7")), // C1 control (NEL)
            ("\t\0 \0\r\n", None),
            ("", None),
            ("\0", None),
            ("\0 a \0", Some("a")),
            ("hôte-é", Some("hôte-é")),
        ] {
            assert_eq!(hostname_option(raw).as_deref(), expected, "{raw:?}");
        }
    }

    #[test]
    fn hostname_is_cut_to_255_characters() {
        let long = "a".repeat(300);
        assert_eq!(hostname_option(&long), Some("a".repeat(255)));
        // Characters, not bytes.
        let accented = "é".repeat(300);
        assert_eq!(hostname_option(&accented), Some("é".repeat(255)));
        // A cut that ends on a space leaves no trailing whitespace.
        let spaced = format!("{} {}", "a".repeat(254), "b".repeat(10));
        assert_eq!(hostname_option(&spaced), Some("a".repeat(254)));
        // Leading NULs and spaces do not count towards the 255.
        let padded = format!("\0\0  {}", "c".repeat(255));
        assert_eq!(hostname_option(&padded), Some("c".repeat(255)));
    }

    proptest! {
        #[test]
        fn hostname_invariants(raw in any::<String>()) {
            match hostname_option(&raw) {
                Some(name) => {
                    prop_assert!(!name.is_empty());
                    prop_assert!(name.chars().count() <= HOSTNAME_MAX_CHARS);
                    prop_assert!(!name.chars().any(char::is_control));
                    prop_assert_eq!(name.trim(), name.as_str());
                    // What is kept is a piece of the input with control characters removed.
                    let cleaned: String = raw.chars().filter(|c| !c.is_control()).collect();
                    prop_assert!(cleaned.contains(&name));
                }
                None => prop_assert!(
                    raw.chars().all(|c| c.is_control() || c.is_whitespace())
                ),
            }
        }

        #[test]
        fn vendor_never_for_group_or_local(octets in any::<[u8; 6]>()) {
            let vendor = mac_vendor(MacAddr(octets));
            if octets[0] & 0x03 != 0 {
                prop_assert_eq!(vendor, None);
            } else if let Some(v) = vendor {
                prop_assert!(!v.is_empty() && v.trim() == v);
            }
        }
    }
}

//! `examples/dnsmasq/dnsmasq.conf` works: real dnsmasq runs it on a test link (only the
//! example's network and interface replaced by the link's) and real busybox `udhcpc`
//! clients get an address, mr-provisioner as next-server and the bootloader of their
//! architecture.

use std::time::Duration;

use mr_provisioner_tests::dhcp_lab::{Daemon, DhcpLink, DhcpRequest, find_program, within};

/// The example, as shipped.
const EXAMPLE: &str = include_str!("../../../examples/dnsmasq/dnsmasq.conf");
/// The example's network (its first three octets); hosts keep their number on the link.
const EXAMPLE_PREFIX: &str = "192.168.10.";
/// The example's interface.
const EXAMPLE_INTERFACE: &str = "interface=eth1";

/// The example with the link's network and interface in place of its own; nothing else
/// changes.
fn for_link(link: &DhcpLink) -> String {
    assert!(
        EXAMPLE.contains(EXAMPLE_PREFIX) && EXAMPLE.contains(EXAMPLE_INTERFACE),
        "the example no longer uses {EXAMPLE_PREFIX}x or {EXAMPLE_INTERFACE}: update this test"
    );
    let conf = EXAMPLE
        .replace(EXAMPLE_PREFIX, &link.prefix())
        .replace(EXAMPLE_INTERFACE, &format!("interface={}", link.server_if));
    let boot_lines = conf.lines().filter(|l| l.starts_with("dhcp-boot=")).count();
    assert_eq!(boot_lines, 5, "{conf}");
    conf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_configuration_boots_each_architecture_from_our_tftp_server() {
    let Some(dnsmasq) = find_program("dnsmasq") else {
        return;
    };
    if find_program("busybox").is_none() {
        return;
    }
    let Some(link) = DhcpLink::create() else {
        return;
    };
    let conf = link.dir().join("dnsmasq.conf");
    std::fs::write(&conf, for_link(&link)).expect("write dnsmasq.conf");
    let check = link.run_in_server(
        dnsmasq.to_str().expect("path"),
        &["--test", &format!("--conf-file={}", conf.display())],
        Duration::from_secs(10),
    );
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let leases = link.dir().join("dnsmasq.leases");
    let mut cmd = link.server_command(&dnsmasq);
    cmd.arg("--keep-in-foreground")
        .arg(format!("--conf-file={}", conf.display()))
        // Where a test can read them, instead of syslog and /var/lib/misc.
        .arg("--log-facility=-")
        .arg(format!("--dhcp-leasefile={}", leases.display()))
        .arg(format!(
            "--pid-file={}",
            link.dir().join("dnsmasq.pid").display()
        ))
        // dnsmasq pings an address before its first offer and holds the offer back for
        // 3 s; on this private link nobody else can hold the address.
        .arg("--no-ping");
    let server = Daemon::start(
        "dnsmasq",
        &cmd,
        &link.dir().join("dnsmasq.log"),
        |log| log.contains("DHCP, IP range"),
        Duration::from_secs(10),
    )
    .await;

    let tftp = link.host(2);
    let x64_url = format!("http://{tftp}:5000/boot/grubx64.efi");
    let arm64_url = format!("http://{tftp}:5000/boot/grubaa64.efi");
    let http = Some("HTTPClient:Arch:00016:UNDI:003001");
    let cases = [
        ("00:1b:21:5a:00:01", Some(0), None, Some("pxelinux.0")),
        ("00:1b:21:5a:00:02", Some(7), None, Some("grubx64.efi")),
        ("00:1b:21:5a:00:03", Some(9), None, Some("grubx64.efi")),
        ("00:1b:21:5a:00:04", Some(11), None, Some("grubaa64.efi")),
        // No option 93: an address, but nothing to boot.
        ("00:1b:21:5a:00:05", None, None, None),
        // UEFI HTTP boot (OVMF's x64, and arm64): a URL.
        ("00:1b:21:5a:00:06", Some(16), http, Some(x64_url.as_str())),
        (
            "00:1b:21:5a:00:07",
            Some(19),
            Some("HTTPClient:Arch:00019:UNDI:003001"),
            Some(arm64_url.as_str()),
        ),
        // The same firmware PXE-booting: the TFTP name.
        (
            "00:1b:21:5a:00:08",
            Some(7),
            Some("PXEClient:Arch:00007:UNDI:003000"),
            Some("grubx64.efi"),
        ),
    ];
    within(Duration::from_secs(120), "the DHCP exchanges", async {
        for (mac, arch, vendor_class, boot_file) in cases {
            let mut req = DhcpRequest::new(mac).hostname(&format!("box-{}", &mac[15..]));
            if let Some(code) = arch {
                req = req.arch(code);
            }
            if let Some(class) = vendor_class {
                req = req.vendor_class(class);
            }
            let http_boot = boot_file.is_some_and(|f| f.starts_with("http://"));
            let answer = link
                .udhcpc(&req)
                .await
                .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
            let what = format!("{mac} (arch {arch:?}): {answer:?}");
            let last = answer.ip.octets()[3];
            assert!(
                answer.ip.to_string().starts_with(&link.prefix()) && (100..=199).contains(&last),
                "{what}"
            );
            assert_eq!(answer.server_id, Some(link.server_ip()), "{what}");
            assert_eq!(answer.router, Some(link.server_ip()), "{what}");
            assert_eq!(answer.lease_secs, Some(12 * 3600), "{what}");
            assert_eq!(answer.boot_file.as_deref(), boot_file, "{what}");
            // Vendor class HTTPClient (option 60, which udhcpc calls `vendor`) to HTTP
            // boot clients alone.
            let vendor = answer.env.get("vendor").map(String::as_str);
            assert_eq!(vendor, http_boot.then_some("HTTPClient"), "{what}");
            if http_boot {
                // The URL in the `file` field (dhcp-no-override), no option 67 beside it.
                assert_eq!(answer.env.get("bootfile"), None, "{what}");
            } else if boot_file.is_some() {
                assert_eq!(answer.next_server, Some(tftp), "{what}");
                assert_eq!(
                    answer.server_name.as_deref(),
                    Some("mr-provisioner"),
                    "{what}"
                );
            }
            // dnsmasq recorded the lease it acknowledged.
            let recorded = std::fs::read_to_string(&leases).unwrap_or_default();
            assert!(
                recorded
                    .lines()
                    .any(|l| l.contains(mac) && l.contains(&answer.ip.to_string())),
                "{what}: not in the lease file:\n{recorded}"
            );
        }
    })
    .await;
    drop(server);
}

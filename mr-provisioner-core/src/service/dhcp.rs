//! What the DHCP server asks (the original's Kea hook API): the answer for a MAC, the
//! sightings of DHCP requests (events for known machines, discovery of unknown ones), the
//! leases given, and the choice of a Kea subnet for reserved addresses.
//!
//! These calls sit in the DHCP hot path (the hook waits on each, several per packet): the
//! answer is one query, and events are queued behind it.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::json;

use super::{Provisioner, Settings};
use crate::discovery;
use crate::error::{Error, Result};
use crate::mac::MacAddr;
use crate::model::event::EventKind;
use crate::model::machine::BootTarget;
use crate::model::now;

/// The DHCP answer for a known MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpAnswer {
    /// The address to give: the interface's reserved address, only when it has no static
    /// one (static addresses are configured by the installer, never by DHCP).
    pub ipv4: Option<Ipv4Addr>,
    /// The TFTP server, when the machine netboots.
    pub next_server: Option<String>,
    /// The boot file (option 67), when the machine netboots: its subarch's bootloader, else
    /// the configured default (none when both are empty). For a UEFI HTTP boot client
    /// ([`DhcpAnswer::for_client`]), its URL.
    pub bootfile: Option<String>,
    /// The vendor class to send (option 60): [`HTTP_CLIENT_CLASS`] to a UEFI HTTP boot
    /// client given a boot URL (its firmware ignores an offer without it), else none.
    pub vendor_class: Option<&'static str>,
}

/// The vendor class (option 60) a UEFI HTTP boot client's request begins with
/// (`HTTPClient:Arch:00016:UNDI:003001`), and the one its firmware needs in the answer.
pub const HTTP_CLIENT_CLASS: &str = "HTTPClient";

/// The kind of network boot client a DHCP request comes from, which decides the form of its
/// boot file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpClientKind {
    /// PXE (BIOS or UEFI), iPXE, or a client that does not say: a file name on our TFTP
    /// server.
    Pxe,
    /// UEFI HTTP boot: a URL of our HTTP server, and the `HTTPClient` vendor class.
    Http,
}

impl DhcpClientKind {
    /// The kind of a request with client architecture `arch` (option 93) and vendor class
    /// `vendor_class` (option 60): HTTP boot when the vendor class begins with
    /// [`HTTP_CLIENT_CLASS`] or the architecture is one of IANA's "boot from http" codes
    /// (such as 16, x64 UEFI HTTP), else PXE (also when both are unknown, as in the
    /// original hook's requests).
    pub fn of_request(arch: Option<u16>, vendor_class: Option<&str>) -> DhcpClientKind {
        let http_class = vendor_class.is_some_and(|v| v.starts_with(HTTP_CLIENT_CLASS));
        if http_class || arch.is_some_and(discovery::is_http_boot) {
            DhcpClientKind::Http
        } else {
            DhcpClientKind::Pxe
        }
    }
}

/// Characters escaped in the boot URL's path: controls, space and those that would end
/// the path or start an escape (`/` separates directories of the TFTP tree and is kept).
const URL_PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The URL a UEFI HTTP boot client fetches the boot file `file` from: our HTTP server's
/// copy of the TFTP tree, `<http.public_url>/boot/<file>` (escaped as needed), or `file`
/// itself when it is already an `http://` or `https://` URL.
pub fn http_boot_url(file: &str, settings: &Settings) -> String {
    if file.starts_with("http://") || file.starts_with("https://") {
        return file.to_string();
    }
    let path = percent_encoding::utf8_percent_encode(file.trim_start_matches('/'), URL_PATH);
    format!("{}/{path}", settings.boot_url())
}

/// What a sighting of a DHCP request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sighted {
    /// The MAC is a known interface: a `DHCP_REQ` event was recorded.
    Known,
    /// The MAC is unknown: it was recorded as discovered.
    Discovered,
}

/// A subnet as Kea describes it to the hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeaSubnet {
    /// Kea's subnet id.
    pub id: i64,
    /// The subnet.
    pub prefix: Ipv4Net,
    /// The first address of each of its pools.
    pub pool_starts: Vec<Ipv4Addr>,
}

/// The subnet choice for a MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubnetChoice {
    /// Kea keeps its own choice (`{"subnetId": null}`): the interface has a static address
    /// or no reserved one.
    Default,
    /// Use this subnet (`{"subnetId": n}`).
    Subnet(i64),
    /// No subnet has a pool in the reserved range (`{}`).
    NoMatch,
}

impl DhcpAnswer {
    /// The answer for the interface of `target`: the same for the Kea hook and for the
    /// host reservations written into Kea's database.
    pub fn for_target(target: &BootTarget, settings: &Settings) -> DhcpAnswer {
        let ipv4 = match target.static_ipv4 {
            Some(_) => None,
            None => target.reserved_ipv4,
        };
        if !target.machine.netboot_enabled {
            return DhcpAnswer {
                ipv4,
                next_server: None,
                bootfile: None,
                vendor_class: None,
            };
        }
        let bootfile = target
            .bootloader
            .clone()
            .filter(|f| !f.is_empty())
            .or_else(|| Some(settings.default_bootfile.clone()).filter(|f| !f.is_empty()));
        DhcpAnswer {
            ipv4,
            next_server: Some(settings.next_server.clone()),
            bootfile,
            vendor_class: None,
        }
    }

    /// This answer (a [`for_target`](DhcpAnswer::for_target) one, the PXE form) as sent to
    /// a `client`: unchanged for PXE; for UEFI HTTP boot, the boot file as its URL
    /// ([`http_boot_url`]) with the vendor class [`HTTP_CLIENT_CLASS`], when there is a boot
    /// file (a machine that does not netboot gets the same answer either way).
    pub fn for_client(mut self, client: DhcpClientKind, settings: &Settings) -> DhcpAnswer {
        if client == DhcpClientKind::Http
            && let Some(file) = self.bootfile.take()
        {
            self.bootfile = Some(http_boot_url(&file, settings));
            self.vendor_class = Some(HTTP_CLIENT_CLASS);
        }
        self
    }
}

impl Provisioner {
    /// The answer for `mac`; [`Error::NotFound`] when no interface has it. Answered from
    /// [`DhcpCache`](super::DhcpCache) when it has a recent one.
    pub async fn dhcp_answer(&self, mac: MacAddr) -> Result<DhcpAnswer> {
        let not_found = || Error::NotFound {
            kind: "interface",
            key: mac.to_string(),
        };
        if let Some(kept) = self.dhcp_cache.get(mac) {
            return kept.ok_or_else(not_found);
        }
        let generation = self.dhcp_cache.generation();
        let answer = self
            .store
            .machine_boot_by_mac(mac)
            .await?
            .map(|target| DhcpAnswer::for_target(&target, &self.settings));
        self.dhcp_cache.put(generation, mac, answer.clone());
        answer.ok_or_else(not_found)
    }

    /// The answer for `mac` as sent to a `client` of that kind ([`DhcpAnswer::for_client`]);
    /// [`Error::NotFound`] when no interface has it.
    pub async fn dhcp_answer_for(
        &self,
        mac: MacAddr,
        client: DhcpClientKind,
    ) -> Result<DhcpAnswer> {
        Ok(self
            .dhcp_answer(mac)
            .await?
            .for_client(client, &self.settings))
    }

    /// Reports a change that may alter DHCP answers (machines, interfaces, subarchs,
    /// images): recent answers are forgotten at once.
    pub fn dhcp_changed(&self) {
        self.dhcp_cache.clear();
        // The machines' addresses too (served files are attributed by them).
        self.address_book.forget();
    }

    /// Records a DHCPDISCOVER (`discover`) or DHCPREQUEST from `mac`: a `DHCP_REQ` event of
    /// its machine, or, for a MAC no interface has, a discovered MAC with its vendor (from
    /// the OUI table), host name (option 12) and client architecture (option 93).
    pub async fn dhcp_seen(
        &self,
        mac: MacAddr,
        discover: bool,
        hostname: Option<&str>,
        arch_code: Option<u16>,
    ) -> Result<Sighted> {
        if let Some(iface) = self.store.interface_by_mac(mac).await? {
            self.event_later(
                iface.machine_id,
                EventKind::DhcpRequest,
                json!({"discover": discover}),
            )
            .await;
            return Ok(Sighted::Known);
        }
        self.store
            .discovered_mac_upsert(mac, &discovery::sighting(mac, hostname, arch_code), now())
            .await?;
        Ok(Sighted::Discovered)
    }

    /// Records the lease Kea gave `mac`.
    pub async fn dhcp_lease(&self, mac: MacAddr, ipv4: Ipv4Addr) -> Result<()> {
        self.store.lease_upsert(mac, Some(ipv4), now()).await?;
        Ok(())
    }

    /// Which of Kea's `subnets` the interface with `mac` should get: for a reserved address,
    /// the first subnet that overlaps the interface's network and has a pool starting inside
    /// the network's reserved range, so that Kea's lease can then be pinned to the reserved
    /// address. [`Error::NotFound`] when no interface has `mac` or it has no network.
    pub async fn dhcp_subnet(&self, mac: MacAddr, subnets: &[KeaSubnet]) -> Result<SubnetChoice> {
        let not_found = || Error::NotFound {
            kind: "interface",
            key: mac.to_string(),
        };
        let iface = self
            .store
            .interface_by_mac(mac)
            .await?
            .ok_or_else(not_found)?;
        let network_id = iface.network_id.ok_or_else(not_found)?;
        let network = self.store.network_get(network_id).await?;
        if iface.static_ipv4.is_some() || iface.reserved_ipv4.is_none() {
            return Ok(SubnetChoice::Default);
        }
        let Some(reserved) = network.reserved_pool else {
            return Ok(SubnetChoice::NoMatch);
        };
        let overlaps =
            |a: &Ipv4Net, b: &Ipv4Net| a.contains(&b.network()) || b.contains(&a.network());
        Ok(subnets
            .iter()
            .filter(|s| overlaps(&s.prefix, &network.subnet))
            .find(|s| s.pool_starts.iter().any(|start| reserved.contains(start)))
            .map_or(SubnetChoice::NoMatch, |s| SubnetChoice::Subnet(s.id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{ArchId, MachineId};
    use crate::model::machine::{Machine, MachineState};

    fn target(netboot: bool, bootloader: Option<&str>) -> BootTarget {
        BootTarget {
            machine: Machine {
                id: MachineId(3),
                name: "node-3".into(),
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
            subarch: Some("uefi".into()),
            efiboot: true,
            kernel: None,
            initrd: None,
            installer: None,
            bootloader: bootloader.map(str::to_string),
            static_ipv4: None,
            reserved_ipv4: Some(Ipv4Addr::new(10, 0, 0, 5)),
            network_id: None,
        }
    }

    fn settings(public_url: &str, default_bootfile: &str) -> Settings {
        Settings {
            public_url: public_url.into(),
            next_server: "10.0.0.2".into(),
            default_bootfile: default_bootfile.into(),
            ..Settings::default()
        }
    }

    #[test]
    fn the_client_kind_of_a_request() {
        use DhcpClientKind::{Http, Pxe};
        let cases: &[(Option<u16>, Option<&str>, DhcpClientKind)] = &[
            // The original hook's requests say neither.
            (None, None, Pxe),
            // OVMF's and iPXE's PXE, BIOS PXE, arm64 UEFI PXE.
            (Some(7), Some("PXEClient:Arch:00007:UNDI:003000"), Pxe),
            (Some(9), Some("PXEClient:Arch:00009:UNDI:003000"), Pxe),
            (Some(0), Some("PXEClient:Arch:00000:UNDI:002001"), Pxe),
            (Some(11), None, Pxe),
            // OVMF's HTTP boot: both say it, or either alone.
            (Some(16), Some("HTTPClient:Arch:00016:UNDI:003001"), Http),
            (Some(16), None, Http),
            (None, Some("HTTPClient:Arch:00016:UNDI:003001"), Http),
            (Some(7), Some("HTTPClient"), Http),
            // The other "boot from http" architectures (x86, arm64 UEFI, RISC-V 64).
            (Some(15), None, Http),
            (Some(19), None, Http),
            (Some(28), None, Http),
            // Neither: the vendor class must begin with it, and match its case.
            (None, Some("udhcp 1.35.0"), Pxe),
            (None, Some("PXEClient:HTTPClient"), Pxe),
            (None, Some("httpclient"), Pxe),
            (Some(0xffff), None, Pxe),
        ];
        for &(arch, class, want) in cases {
            assert_eq!(
                DhcpClientKind::of_request(arch, class),
                want,
                "arch {arch:?}, vendor class {class:?}"
            );
        }
    }

    #[test]
    fn the_answer_for_each_kind_of_client() {
        use DhcpClientKind::{Http, Pxe};
        let lab = settings("http://10.0.0.2:5000/", "");
        let with_default = settings("http://10.0.0.2:5000", "default/grubx64.efi");
        let loader = Some("admin/grubx64.efi.1a2b3c4d");
        let http = Some(HTTP_CLIENT_CLASS);
        // (netboot, bootloader, settings, client) -> (boot file, vendor class)
        type Case<'a> = (
            bool,
            Option<&'a str>,
            &'a Settings,
            DhcpClientKind,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: &[Case<'_>] = &[
            (true, loader, &lab, Pxe, loader, None),
            (
                true,
                loader,
                &lab,
                Http,
                Some("http://10.0.0.2:5000/boot/admin/grubx64.efi.1a2b3c4d"),
                http,
            ),
            // The default boot file, for a subarch without a bootloader.
            (
                true,
                None,
                &with_default,
                Pxe,
                Some("default/grubx64.efi"),
                None,
            ),
            (
                true,
                None,
                &with_default,
                Http,
                Some("http://10.0.0.2:5000/boot/default/grubx64.efi"),
                http,
            ),
            // No boot file at all: nothing to boot, no vendor class either.
            (true, None, &lab, Http, None, None),
            (true, Some(""), &lab, Http, None, None),
            // Netboot off: the same (empty) answer for both.
            (false, loader, &lab, Pxe, None, None),
            (false, loader, &lab, Http, None, None),
            // A leading slash, characters a URL path cannot carry, and a file that is
            // already a URL.
            (
                true,
                Some("/efi/grub x64#1.efi"),
                &lab,
                Http,
                Some("http://10.0.0.2:5000/boot/efi/grub%20x64%231.efi"),
                http,
            ),
            (
                true,
                Some("https://boot.lab/grubx64.efi"),
                &lab,
                Http,
                Some("https://boot.lab/grubx64.efi"),
                http,
            ),
        ];
        for &(netboot, bootloader, settings, client, file, class) in cases {
            let answer = DhcpAnswer::for_target(&target(netboot, bootloader), settings)
                .for_client(client, settings);
            let what = format!("netboot {netboot}, bootloader {bootloader:?}, {client:?}");
            assert_eq!(answer.bootfile.as_deref(), file, "{what}");
            assert_eq!(answer.vendor_class, class, "{what}");
            // Address and next-server do not depend on the client.
            assert_eq!(answer.ipv4, Some(Ipv4Addr::new(10, 0, 0, 5)), "{what}");
            let next_server = netboot.then(|| "10.0.0.2".to_string());
            assert_eq!(answer.next_server, next_server, "{what}");
        }
    }
}

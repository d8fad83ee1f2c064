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
    /// the configured default (none when both are empty).
    pub bootfile: Option<String>,
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
        }
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

    /// Reports a change that may alter DHCP answers (machines, interfaces, subarchs,
    /// images): recent answers are forgotten at once.
    pub fn dhcp_changed(&self) {
        self.dhcp_cache.clear();
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

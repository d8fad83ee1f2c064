//! Interfaces: reading them with their network and lease, changing their IPv4
//! configuration (assignees and admins), adding and removing them (admins).

use std::net::Ipv4Addr;

use serde_json::json;

use super::{Caller, Provisioner};
use crate::error::{Error, Result};
use crate::id::{InterfaceId, MachineId, NetworkId};
use crate::mac::MacAddr;
use crate::model::event::EventKind;
use crate::model::interface::{ConfigType, Interface, NewInterface};
use crate::model::lease::Lease;
use crate::model::network::{Network, Pool};
use crate::policy::Action;

/// How many addresses "auto" tries before giving up when others take them concurrently.
const AUTO_ATTEMPTS: usize = 32;

/// An address asked for: a literal one, or the first free one of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpChoice {
    /// The first free address of the pool.
    Auto,
    /// This address.
    Addr(Ipv4Addr),
}

/// A change to an interface (`PUT /machine/{id}/interface/{iid}`). `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct InterfaceChange {
    /// Name such as `eth0` (`Some(None)` clears it).
    pub identifier: Option<Option<String>>,
    /// The IPv4 configuration type.
    pub config_type: Option<ConfigType>,
    /// The address (`Some(None)` is an explicit null).
    pub configured_ipv4: Option<Option<IpChoice>>,
    /// A new MAC (administrators).
    pub mac: Option<MacAddr>,
    /// A new network (administrators; `Some(None)` removes it).
    pub network_id: Option<Option<NetworkId>>,
}

/// An interface with what the API shows next to it.
#[derive(Debug, Clone)]
pub struct InterfaceView {
    /// The interface.
    pub interface: Interface,
    /// Its network.
    pub network: Option<Network>,
    /// The latest DHCP lease of its MAC.
    pub lease: Option<Lease>,
}

/// The free addresses of `pool` on `network`, lowest first, at most `limit`: host addresses
/// (not the pool's network or broadcast address), never ending in .0 or .255 (as the
/// original), and not used by an interface of the network in that pool's column.
pub fn available_ipv4s(
    network: &Network,
    pool: Pool,
    used: &[Ipv4Addr],
    limit: usize,
) -> Vec<Ipv4Addr> {
    let Some(net) = network.pool(pool) else {
        return Vec::new();
    };
    net.hosts()
        .filter(|a| !matches!(a.octets()[3], 0 | 255))
        .filter(|a| !used.contains(a))
        .take(limit)
        .collect()
}

impl Provisioner {
    async fn view(&self, interface: Interface) -> Result<InterfaceView> {
        let network = match interface.network_id {
            Some(n) => Some(self.store.network_get(n).await?),
            None => None,
        };
        let lease = self.store.lease_by_mac(interface.mac).await?;
        Ok(InterfaceView {
            interface,
            network,
            lease,
        })
    }

    /// A machine's interfaces.
    pub async fn interfaces(&self, machine: MachineId) -> Result<Vec<InterfaceView>> {
        self.store.machine_get(machine).await?;
        let mut out = Vec::new();
        for i in self.store.interface_list_for_machine(machine).await? {
            out.push(self.view(i).await?);
        }
        Ok(out)
    }

    async fn interface_of(&self, machine: MachineId, id: InterfaceId) -> Result<Interface> {
        self.store.machine_get(machine).await?;
        match self.store.interface_get(id).await {
            Ok(i) if i.machine_id == machine => Ok(i),
            Ok(_) | Err(Error::NotFound { .. }) => Err(Error::not_found("interface", id)),
            Err(e) => Err(e),
        }
    }

    /// One interface of a machine.
    pub async fn interface(&self, machine: MachineId, id: InterfaceId) -> Result<InterfaceView> {
        let i = self.interface_of(machine, id).await?;
        self.view(i).await
    }

    /// The free addresses of a pool of a network.
    pub async fn network_available(
        &self,
        network: &Network,
        pool: Pool,
        limit: usize,
    ) -> Result<Vec<Ipv4Addr>> {
        let used: Vec<Ipv4Addr> = self
            .store
            .interface_list_for_network(network.id)
            .await?
            .iter()
            .filter_map(|i| match pool {
                Pool::Static => i.static_ipv4,
                Pool::Reserved => i.reserved_ipv4,
            })
            .collect();
        Ok(available_ipv4s(network, pool, &used, limit))
    }

    /// Changes an interface's IPv4 configuration and identifier, in the original's order of
    /// checks. Only assignees and admins may (the original let anyone); changing the MAC or
    /// the network is for admins.
    pub async fn update_interface(
        &self,
        caller: &Caller,
        machine: MachineId,
        id: InterfaceId,
        change: InterfaceChange,
    ) -> Result<InterfaceView> {
        let current = self.interface_of(machine, id).await?;
        if change.mac.is_some() || change.network_id.is_some() {
            caller.check(Action::ManageInventory, "Forbidden")?;
        } else {
            let assignee = self.is_assignee(caller, machine).await?;
            caller.check(Action::EditInterfaceAddress { assignee }, "Forbidden")?;
        }
        let mut new = NewInterface::from(&current);
        if let Some(mac) = change.mac {
            new.mac = mac;
        }
        if let Some(network) = change.network_id {
            new.network_id = network;
        }
        let network = match new.network_id {
            Some(n) => Some(self.store.network_get(n).await.map_err(|e| match e {
                Error::NotFound { .. } => {
                    Error::invalid("network", format!("no network with id {n}"))
                }
                e => e,
            })?),
            None => None,
        };
        let config_type = change.config_type.unwrap_or(current.config_type());
        let ip = match change.configured_ipv4 {
            Some(choice) => choice,
            None => current.configured_ipv4().map(IpChoice::Addr),
        };
        let pool = match config_type {
            ConfigType::Dynamic => None,
            ConfigType::DynamicReserved => Some(Pool::Reserved),
            ConfigType::Static => Some(Pool::Static),
        };
        let mut auto = None;
        match (pool, &network) {
            (None, _) => {
                new.static_ipv4 = None;
                new.reserved_ipv4 = None;
            }
            (Some(_), None) => {
                return Err(Error::invalid("config_type_v4", "interface has no network"));
            }
            (Some(pool), Some(net)) => {
                let label = match pool {
                    Pool::Static => "static",
                    Pool::Reserved => "dynamic-reserved",
                };
                let range = net.pool(pool).ok_or_else(|| {
                    Error::invalid(
                        "config_type_v4",
                        format!("network has no {} IPv4 range", pool.as_str()),
                    )
                })?;
                let addr = match ip {
                    None => {
                        return Err(Error::invalid(
                            "configured_ipv4",
                            format!("{label} configuration requires an IPv4"),
                        ));
                    }
                    Some(IpChoice::Auto) => {
                        auto = Some(pool);
                        None
                    }
                    Some(IpChoice::Addr(a)) if !range.contains(&a) => {
                        return Err(Error::invalid(
                            "configured_ipv4",
                            format!("{label} IP out of range"),
                        ));
                    }
                    Some(IpChoice::Addr(a)) => Some(a),
                };
                match pool {
                    Pool::Static => {
                        new.static_ipv4 = addr;
                        new.reserved_ipv4 = None;
                    }
                    Pool::Reserved => {
                        new.reserved_ipv4 = addr;
                        new.static_ipv4 = None;
                    }
                }
            }
        }
        if let Some(identifier) = change.identifier {
            new.identifier = identifier;
        }
        let updated = match (auto, &network) {
            (Some(pool), Some(net)) => self.allocate(id, new, net, pool).await?,
            _ => self.store.interface_update(id, &new).await?,
        };
        if updated != current {
            self.event(
                machine,
                Some(caller),
                EventKind::SettingsChange,
                json!({
                    "interface": updated.mac,
                    "config_type_v4": updated.config_type().as_str(),
                    "configured_ipv4": updated.configured_ipv4(),
                    "identifier": updated.identifier,
                }),
            )
            .await;
        }
        self.view(updated).await
    }

    /// Gives the interface the first free address of `pool`, moving on to the next when
    /// another request takes one at the same time.
    async fn allocate(
        &self,
        id: InterfaceId,
        mut new: NewInterface,
        network: &Network,
        pool: Pool,
    ) -> Result<Interface> {
        let candidates = self.network_available(network, pool, AUTO_ATTEMPTS).await?;
        for addr in candidates {
            match pool {
                Pool::Static => new.static_ipv4 = Some(addr),
                Pool::Reserved => new.reserved_ipv4 = Some(addr),
            }
            match self.store.interface_update(id, &new).await {
                Err(Error::AlreadyExists { .. }) => continue,
                other => return other,
            }
        }
        Err(Error::conflict("no more IPs available"))
    }

    /// Adds an interface to a machine (administrators).
    pub async fn create_interface(
        &self,
        caller: &Caller,
        new: NewInterface,
    ) -> Result<InterfaceView> {
        caller.check(Action::ManageInventory, "Forbidden")?;
        self.store.machine_get(new.machine_id).await?;
        let created = self.store.interface_create(&new).await?;
        let detail = json!({"interface": created.mac, "added": true});
        self.audit(
            caller,
            "interface.create",
            "interface",
            Some(created.id.0),
            detail.clone(),
        )
        .await;
        self.event(
            created.machine_id,
            Some(caller),
            EventKind::InventoryChange,
            detail,
        )
        .await;
        self.view(created).await
    }

    /// Removes an interface (administrators).
    pub async fn delete_interface(
        &self,
        caller: &Caller,
        machine: MachineId,
        id: InterfaceId,
    ) -> Result<()> {
        caller.check(Action::ManageInventory, "Forbidden")?;
        let intf = self.interface_of(machine, id).await?;
        self.store.interface_delete(id).await?;
        let detail = json!({"interface": intf.mac, "removed": true});
        self.audit(
            caller,
            "interface.delete",
            "interface",
            Some(id.0),
            detail.clone(),
        )
        .await;
        self.event(machine, Some(caller), EventKind::InventoryChange, detail)
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_addresses() {
        let n = Network {
            id: NetworkId(1),
            name: "lab".into(),
            subnet: "10.0.0.0/16".parse().unwrap(),
            reserved_pool: Some("10.0.0.248/29".parse().unwrap()),
            static_pool: Some("10.0.1.0/24".parse().unwrap()),
        };
        // .248 is the pool's network address, .255 its broadcast: hosts are .249-.254.
        let free = available_ipv4s(&n, Pool::Reserved, &["10.0.0.250".parse().unwrap()], 10);
        let want: Vec<Ipv4Addr> = [
            "10.0.0.249",
            "10.0.0.251",
            "10.0.0.252",
            "10.0.0.253",
            "10.0.0.254",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(free, want);
        let first = available_ipv4s(&n, Pool::Static, &[], 2);
        assert_eq!(
            first,
            vec![
                "10.0.1.1".parse::<Ipv4Addr>().unwrap(),
                "10.0.1.2".parse().unwrap()
            ]
        );
        let mut none = n.clone();
        none.static_pool = None;
        assert!(available_ipv4s(&none, Pool::Static, &[], 5).is_empty());
        // A /16 pool skips every x.y.z.0 and x.y.z.255.
        let mut wide = n;
        wide.static_pool = Some("10.0.0.0/16".parse().unwrap());
        let many = available_ipv4s(&wide, Pool::Static, &[], 600);
        assert!(many.iter().all(|a| !matches!(a.octets()[3], 0 | 255)));
        assert_eq!(many.len(), 600);
    }
}

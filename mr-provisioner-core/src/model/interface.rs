//! Network interfaces of machines: a MAC address, optionally on a network with a static or
//! DHCP-reserved IPv4 address.

use std::net::Ipv4Addr;

use crate::error::{Error, Result};
use crate::id::{InterfaceId, MachineId, NetworkId};
use crate::mac::MacAddr;
use crate::model::network::{Network, Pool};
use crate::validate;

/// How an interface gets its IPv4 address (derived, as the original did).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ConfigType {
    /// A static address from the network's static pool, configured by the installer.
    #[serde(rename = "static")]
    Static,
    /// An address reserved for the MAC in DHCP.
    #[serde(rename = "dynamic-reserved")]
    DynamicReserved,
    /// Whatever DHCP hands out.
    #[serde(rename = "dynamic")]
    Dynamic,
}

impl ConfigType {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigType::Static => "static",
            ConfigType::DynamicReserved => "dynamic-reserved",
            ConfigType::Dynamic => "dynamic",
        }
    }
}

/// An interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Interface {
    /// Identity.
    pub id: InterfaceId,
    /// The machine it belongs to.
    pub machine_id: MachineId,
    /// Unique MAC address.
    pub mac: MacAddr,
    /// Name such as `eth0`.
    pub identifier: Option<String>,
    /// Network.
    pub network_id: Option<NetworkId>,
    /// Static address (unique within the network).
    pub static_ipv4: Option<Ipv4Addr>,
    /// DHCP-reserved address (unique within the network).
    pub reserved_ipv4: Option<Ipv4Addr>,
}

impl Interface {
    /// `static` if it has a static address, else `dynamic-reserved` if it has a reserved one,
    /// else `dynamic`.
    pub fn config_type(&self) -> ConfigType {
        match (self.network_id, self.static_ipv4, self.reserved_ipv4) {
            (Some(_), Some(_), _) => ConfigType::Static,
            (Some(_), None, Some(_)) => ConfigType::DynamicReserved,
            _ => ConfigType::Dynamic,
        }
    }

    /// The address of the current configuration type, if any.
    pub fn configured_ipv4(&self) -> Option<Ipv4Addr> {
        match self.config_type() {
            ConfigType::Static => self.static_ipv4,
            ConfigType::DynamicReserved => self.reserved_ipv4,
            ConfigType::Dynamic => None,
        }
    }
}

/// An interface to create or the new state of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInterface {
    /// The machine.
    pub machine_id: MachineId,
    /// MAC address.
    pub mac: MacAddr,
    /// Name, at most 64 characters.
    pub identifier: Option<String>,
    /// Network.
    pub network_id: Option<NetworkId>,
    /// Static address, from the network's static pool.
    pub static_ipv4: Option<Ipv4Addr>,
    /// Reserved address, from the network's reserved pool.
    pub reserved_ipv4: Option<Ipv4Addr>,
}

impl NewInterface {
    /// An interface of `machine_id` with `mac` and nothing else (no name, network or
    /// address).
    pub fn bare(machine_id: MachineId, mac: MacAddr) -> Self {
        NewInterface {
            machine_id,
            mac,
            identifier: None,
            network_id: None,
            static_ipv4: None,
            reserved_ipv4: None,
        }
    }

    /// Checks the fields that need no other record.
    pub fn validate(&self) -> Result<()> {
        if let Some(id) = &self.identifier {
            validate::name("identifier", id, 1, 64)?;
        }
        if self.network_id.is_none() && (self.static_ipv4.is_some() || self.reserved_ipv4.is_some())
        {
            return Err(Error::invalid(
                "network",
                "an interface needs a network to have a static or reserved address",
            ));
        }
        Ok(())
    }

    /// Checks the addresses against the interface's network (which the caller loaded).
    pub fn validate_against(&self, network: &Network) -> Result<()> {
        if let Some(ip) = self.static_ipv4 {
            network.check_in_pool(Pool::Static, ip)?;
        }
        if let Some(ip) = self.reserved_ipv4 {
            network.check_in_pool(Pool::Reserved, ip)?;
        }
        Ok(())
    }
}

impl From<&Interface> for NewInterface {
    fn from(i: &Interface) -> Self {
        NewInterface {
            machine_id: i.machine_id,
            mac: i.mac,
            identifier: i.identifier.clone(),
            network_id: i.network_id,
            static_ipv4: i.static_ipv4,
            reserved_ipv4: i.reserved_ipv4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_types() {
        let mut i = Interface {
            id: InterfaceId(1),
            machine_id: MachineId(1),
            mac: "00:11:22:33:44:55".parse().unwrap(),
            identifier: None,
            network_id: None,
            static_ipv4: Some("10.0.0.5".parse().unwrap()),
            reserved_ipv4: Some("10.0.0.6".parse().unwrap()),
        };
        // Without a network, stored addresses do not count (as in the original).
        assert_eq!(i.config_type(), ConfigType::Dynamic);
        assert_eq!(i.configured_ipv4(), None);
        i.network_id = Some(NetworkId(1));
        assert_eq!(i.config_type(), ConfigType::Static);
        assert_eq!(i.configured_ipv4(), i.static_ipv4);
        i.static_ipv4 = None;
        assert_eq!(i.config_type(), ConfigType::DynamicReserved);
        assert_eq!(i.configured_ipv4(), i.reserved_ipv4);
    }

    #[test]
    fn address_needs_network() {
        let n = NewInterface {
            machine_id: MachineId(1),
            mac: "00:11:22:33:44:55".parse().unwrap(),
            identifier: Some("eth0".into()),
            network_id: None,
            static_ipv4: Some("10.0.0.5".parse().unwrap()),
            reserved_ipv4: None,
        };
        assert!(n.validate().is_err());
    }
}

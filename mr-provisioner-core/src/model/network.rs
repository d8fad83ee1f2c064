//! IPv4 networks with their static and DHCP-reserved address pools.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::error::{Error, Result};
use crate::id::NetworkId;
use crate::validate;

/// Which pool of a network an address comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Addresses configured statically by the installer (never handed out by DHCP).
    Static,
    /// Addresses reserved for a MAC in DHCP.
    Reserved,
}

impl Pool {
    /// The pool's name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Pool::Static => "static",
            Pool::Reserved => "reserved",
        }
    }
}

/// A network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Network {
    /// Identity.
    pub id: NetworkId,
    /// Unique name.
    pub name: String,
    /// The subnet (unique; no two networks overlap).
    pub subnet: Ipv4Net,
    /// Pool for DHCP-reserved addresses, inside the subnet.
    pub reserved_pool: Option<Ipv4Net>,
    /// Pool for static addresses, inside the subnet, not overlapping the reserved pool.
    pub static_pool: Option<Ipv4Net>,
}

impl Network {
    /// The pool of the given kind.
    pub fn pool(&self, pool: Pool) -> Option<Ipv4Net> {
        match pool {
            Pool::Static => self.static_pool,
            Pool::Reserved => self.reserved_pool,
        }
    }

    /// Checks that `ip` may be used from `pool` of this network.
    pub fn check_in_pool(&self, pool: Pool, ip: Ipv4Addr) -> Result<()> {
        let field = match pool {
            Pool::Static => "static_ipv4",
            Pool::Reserved => "reserved_ipv4",
        };
        match self.pool(pool) {
            None => Err(Error::invalid(
                field,
                format!("network {} has no {} IPv4 range", self.name, pool.as_str()),
            )),
            Some(net) if !net.contains(&ip) => Err(Error::invalid(
                field,
                format!(
                    "{} IP {ip} is out of range: network {} has the {} pool {net}",
                    pool.as_str(),
                    self.name,
                    pool.as_str()
                ),
            )),
            Some(_) => Ok(()),
        }
    }
}

/// A network to create or the new state of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNetwork {
    /// Unique name, 2..=256 characters.
    pub name: String,
    /// Subnet, with no host bits set.
    pub subnet: Ipv4Net,
    /// Reserved pool.
    pub reserved_pool: Option<Ipv4Net>,
    /// Static pool.
    pub static_pool: Option<Ipv4Net>,
}

fn check_canonical(field: &str, net: Ipv4Net) -> Result<()> {
    if net.trunc() != net {
        return Err(Error::invalid(
            field,
            format!(
                "{field} {net} has host bits set; did you mean {}?",
                net.trunc()
            ),
        ));
    }
    Ok(())
}

impl NewNetwork {
    /// Checks every field and the pools against the subnet and each other. Overlap with
    /// other networks is checked by the store.
    pub fn validate(&self) -> Result<()> {
        validate::name("name", &self.name, 2, 256)?;
        check_canonical("subnet", self.subnet)?;
        for (field, pool) in [
            ("reserved_pool", self.reserved_pool),
            ("static_pool", self.static_pool),
        ] {
            if let Some(pool) = pool {
                check_canonical(field, pool)?;
                if !self.subnet.contains(&pool) {
                    return Err(Error::invalid(
                        field,
                        format!("{field} {pool} is not inside the subnet {}", self.subnet),
                    ));
                }
            }
        }
        if let (Some(r), Some(s)) = (self.reserved_pool, self.static_pool)
            && (r.contains(&s) || s.contains(&r))
        {
            return Err(Error::invalid(
                "static_pool",
                format!("static_pool {s} overlaps reserved_pool {r}"),
            ));
        }
        Ok(())
    }
}

impl From<&Network> for NewNetwork {
    fn from(n: &Network) -> Self {
        NewNetwork {
            name: n.name.clone(),
            subnet: n.subnet,
            reserved_pool: n.reserved_pool,
            static_pool: n.static_pool,
        }
    }
}

/// Whether two subnets overlap (one contains the other; CIDR blocks never partly overlap).
pub fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b) || b.contains(&a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn new(subnet: &str, reserved: Option<&str>, stat: Option<&str>) -> NewNetwork {
        NewNetwork {
            name: "lab".into(),
            subnet: net(subnet),
            reserved_pool: reserved.map(net),
            static_pool: stat.map(net),
        }
    }

    #[test]
    fn validation_table() {
        let cases = [
            (
                new(
                    "10.99.0.0/24",
                    Some("10.99.0.128/25"),
                    Some("10.99.0.64/26"),
                ),
                None,
            ),
            (new("10.99.0.1/24", None, None), Some("host bits")),
            (
                new("10.99.0.0/24", Some("10.98.0.0/25"), None),
                Some("not inside"),
            ),
            (
                new("10.99.0.0/24", Some("10.99.0.0/25"), Some("10.99.0.64/26")),
                Some("overlaps"),
            ),
            (
                new("10.99.0.0/24", Some("10.99.0.129/25"), None),
                Some("host bits"),
            ),
        ];
        for (n, want) in cases {
            match (n.validate(), want) {
                (Ok(()), None) => {}
                (Err(e), Some(w)) => assert!(e.to_string().contains(w), "{e}"),
                (got, want) => panic!("{:?}: got {got:?}, want {want:?}", n.subnet),
            }
        }
    }

    #[test]
    fn pools() {
        let n = Network {
            id: NetworkId(1),
            name: "lab".into(),
            subnet: net("10.99.0.0/24"),
            reserved_pool: Some(net("10.99.0.128/25")),
            static_pool: None,
        };
        assert!(
            n.check_in_pool(Pool::Reserved, "10.99.0.130".parse().unwrap())
                .is_ok()
        );
        let e = n
            .check_in_pool(Pool::Reserved, "10.99.0.5".parse().unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = n
            .check_in_pool(Pool::Static, "10.99.0.5".parse().unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("no static IPv4 range"), "{e}");
        assert!(overlaps(net("10.0.0.0/8"), net("10.1.0.0/16")));
        assert!(!overlaps(net("10.0.0.0/16"), net("10.1.0.0/16")));
    }
}

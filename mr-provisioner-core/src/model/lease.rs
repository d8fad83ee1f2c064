//! DHCP leases as reported by the DHCP server (the Kea hook), keyed by MAC.

use std::net::Ipv4Addr;

use crate::id::LeaseId;
use crate::mac::MacAddr;
use crate::model::Timestamp;

/// The latest lease seen for a MAC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lease {
    /// Identity.
    pub id: LeaseId,
    /// Unique MAC address.
    pub mac: MacAddr,
    /// The leased address.
    pub ipv4: Option<Ipv4Addr>,
    /// When the DHCP server last reported it.
    pub last_seen: Timestamp,
}

//! MAC addresses seen by DHCP that belong to no interface: machines waiting to be added.

use crate::id::DiscoveredMacId;
use crate::mac::MacAddr;
use crate::model::Timestamp;

/// A MAC seen by DHCP and not (yet) known as an interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiscoveredMac {
    /// Identity.
    pub id: DiscoveredMacId,
    /// Unique MAC address.
    pub mac: MacAddr,
    /// Vendor from the OUI registry.
    pub vendor: Option<String>,
    /// Host name the client sent (DHCP option 12).
    pub hostname: Option<String>,
    /// Client system architecture code (DHCP option 93).
    pub arch_code: Option<u16>,
    /// Name of that architecture (RFC 4578 / IANA registry).
    pub arch: Option<String>,
    /// First sighting.
    pub first_seen: Timestamp,
    /// Latest sighting.
    pub last_seen: Timestamp,
}

/// What one DHCP sighting of an unknown MAC tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sighting {
    /// Vendor.
    pub vendor: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Architecture code.
    pub arch_code: Option<u16>,
    /// Architecture name.
    pub arch: Option<String>,
}

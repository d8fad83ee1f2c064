//! The JSON shapes of API v1: the original's keys, in its (sorted) key order, and its date
//! format (RFC 1123, `Wed, 06 Feb 2019 15:26:53 GMT`, now always real UTC).

use mr_provisioner_core::model::Timestamp;
use mr_provisioner_core::model::image::Image;
use mr_provisioner_core::model::machine::{MachineBrief, MachineSummary, hostname};
use mr_provisioner_core::model::preseed::Preseed;
use mr_provisioner_core::service::{AssignmentView, InterfaceView};
use serde::Serialize;

/// A date as the original wrote it: RFC 1123 in GMT, second precision.
pub(crate) fn http_date(t: Timestamp) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// A machine (the original's ten keys, sorted).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Machine)]
pub(crate) struct MachineJson {
    /// Architecture name.
    arch: String,
    /// `name` with every character outside `[A-Za-z0-9]` replaced by `-`.
    hostname: String,
    id: i64,
    initrd_id: Option<i64>,
    kernel_id: Option<i64>,
    kernel_opts: String,
    name: String,
    netboot_enabled: bool,
    preseed_id: Option<i64>,
    /// Subarch name.
    subarch: Option<String>,
}

impl From<MachineBrief> for MachineJson {
    fn from(m: MachineBrief) -> Self {
        MachineJson {
            arch: m.arch,
            hostname: hostname(&m.name),
            id: m.id.0,
            initrd_id: m.initrd_id.map(|i| i.0),
            kernel_id: m.kernel_id.map(|i| i.0),
            kernel_opts: m.kernel_opts,
            name: m.name,
            netboot_enabled: m.netboot_enabled,
            preseed_id: m.preseed_id.map(|i| i.0),
            subarch: m.subarch,
        }
    }
}

impl From<MachineSummary> for MachineJson {
    fn from(s: MachineSummary) -> Self {
        MachineBrief::from(s).into()
    }
}

/// An interface (the original's thirteen keys, sorted).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Interface)]
pub(crate) struct InterfaceJson {
    /// `static`, `dynamic-reserved` or `dynamic`.
    config_type_v4: &'static str,
    configured_ipv4: Option<String>,
    id: i64,
    identifier: Option<String>,
    /// When the DHCP server last reported the lease (RFC 1123).
    last_seen_date: Option<String>,
    lease_ipv4: Option<String>,
    mac: String,
    netmaskv4: Option<String>,
    network_name: Option<String>,
    prefixlenv4: Option<u8>,
    reserved_pool_v4: Option<String>,
    static_pool_v4: Option<String>,
    subnetv4: Option<String>,
}

impl From<InterfaceView> for InterfaceJson {
    fn from(v: InterfaceView) -> Self {
        let i = &v.interface;
        let net = v.network.as_ref();
        InterfaceJson {
            config_type_v4: i.config_type().as_str(),
            configured_ipv4: i.configured_ipv4().map(|a| a.to_string()),
            id: i.id.0,
            identifier: i.identifier.clone(),
            last_seen_date: v.lease.as_ref().map(|l| http_date(l.last_seen)),
            lease_ipv4: v.lease.as_ref().and_then(|l| l.ipv4).map(|a| a.to_string()),
            mac: i.mac.to_string(),
            netmaskv4: net.map(|n| n.subnet.netmask().to_string()),
            network_name: net.map(|n| n.name.clone()),
            prefixlenv4: net.map(|n| n.subnet.prefix_len()),
            reserved_pool_v4: net.and_then(|n| n.reserved_pool).map(|p| p.to_string()),
            static_pool_v4: net.and_then(|n| n.static_pool).map(|p| p.to_string()),
            subnetv4: net.map(|n| n.subnet.to_string()),
        }
    }
}

/// An assignment ("assignee"): `id`, `reason`, `user`, plus our `start` and `until`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Assignee)]
pub(crate) struct AssigneeJson {
    /// The assignment id (`/assignee/{id}`).
    id: i64,
    reason: String,
    /// When it started (RFC 3339). New.
    start: String,
    /// When it ends by itself (RFC 3339), or null. New.
    until: Option<String>,
    /// The username.
    user: String,
}

impl From<AssignmentView> for AssigneeJson {
    fn from(v: AssignmentView) -> Self {
        AssigneeJson {
            id: v.assignment.id.0,
            reason: v.assignment.reason,
            start: v.assignment.start.to_rfc3339(),
            until: v.assignment.end.map(|e| e.to_rfc3339()),
            user: v.username,
        }
    }
}

/// An image (the original's nine keys, sorted, plus `sha256` and `size`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Image)]
pub(crate) struct ImageJson {
    /// Architecture name.
    arch: Option<String>,
    description: Option<String>,
    id: i64,
    known_good: bool,
    /// Path under the TFTP root, `<user>/<file>.<8 hex>`.
    name: String,
    public: bool,
    /// SHA-256 of the file (lower-case hex). New.
    sha256: Option<String>,
    /// Size in bytes. New.
    size: Option<i64>,
    /// `Kernel`, `Initrd` or `bootloader`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// Upload time (RFC 1123, UTC).
    upload_date: String,
    /// Owner's username (null for system images).
    user: Option<String>,
}

impl ImageJson {
    pub(crate) fn new(i: Image, arch: Option<String>, user: Option<String>) -> Self {
        ImageJson {
            arch,
            description: i.description,
            id: i.id.0,
            known_good: i.known_good,
            name: i.filename,
            public: i.public,
            sha256: i.sha256,
            size: i.size,
            kind: i.kind.as_str(),
            upload_date: http_date(i.created_at),
            user,
        }
    }
}

/// An installer config (the original's eight keys, sorted).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Preseed)]
pub(crate) struct PreseedJson {
    content: Option<String>,
    description: Option<String>,
    id: i64,
    known_good: bool,
    name: String,
    public: bool,
    /// `preseed`, `kickstart` or `autoyast`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// Owner's username (null when imported without one; the original crashed on that).
    user: Option<String>,
}

impl PreseedJson {
    pub(crate) fn new(p: Preseed, user: Option<String>) -> Self {
        PreseedJson {
            content: p.content,
            description: p.description,
            id: p.id.0,
            known_good: p.known_good,
            name: p.name,
            public: p.public,
            kind: p.kind.as_str(),
            user,
        }
    }
}

/// `{"state": ...}`: power or provisioning state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StateJson {
    pub(crate) state: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_the_original() {
        let t = chrono::DateTime::parse_from_rfc3339("2019-02-06T15:26:53.123456Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(http_date(t), "Wed, 06 Feb 2019 15:26:53 GMT");
    }
}

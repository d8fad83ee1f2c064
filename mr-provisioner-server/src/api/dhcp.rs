//! The original's Kea hook API under `/dhcp`, unauthenticated as the hook sends no
//! credentials (restrict it to the DHCP server's address at the network level):
//!
//! - `GET /dhcp/ipv4?hwaddr=<mac>[&arch=<option 93>][&vendor_class=<option 60>]`: the
//!   answer for a MAC (reserved address, next-server, boot file; for a UEFI HTTP boot
//!   client, the boot file's URL and the `HTTPClient` vendor class);
//! - `POST /dhcp/ipv4/seen`: a DHCPDISCOVER or DHCPREQUEST seen (events, discovery);
//! - `POST /dhcp/ipv4/lease`: the lease Kea gave;
//! - `POST /dhcp/ipv4/subnet`: which Kea subnet a reserved address lives in.
//!
//! Bodies are JSON whatever the `Content-Type`; unknown keys are ignored; a body that does
//! not fit is 400 with a JSON `{"error": <message>}`, which the hook treats as "no change".

use std::net::Ipv4Addr;

use mr_provisioner_core::error::Error;
use mr_provisioner_core::mac::MacAddr;
use mr_provisioner_core::service::{DhcpClientKind, KeaSubnet, Sighted, SubnetChoice};
use poem::http::StatusCode;
use poem::web::{Data, Json, Query};
use poem::{IntoResponse, Response, Route, get, handler, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::body::JsonBody;
use crate::state::AppState;

/// Adds the routes to `route`.
pub(super) fn mount(route: Route) -> Route {
    route
        .at("/dhcp/ipv4", get(answer))
        .at("/dhcp/ipv4/seen", post(seen))
        .at("/dhcp/ipv4/lease", post(lease))
        .at("/dhcp/ipv4/subnet", post(subnet))
}

fn bad(message: impl Into<String>) -> Response {
    Json(json!({"error": message.into()}))
        .with_status(StatusCode::BAD_REQUEST)
        .into_response()
}

fn failure(e: Error) -> Response {
    match e {
        Error::NotFound { .. } => Json(json!({"error": "not found"}))
            .with_status(StatusCode::NOT_FOUND)
            .into_response(),
        Error::InvalidRequest { message, .. } => bad(message),
        e => {
            tracing::error!(error = %e, "DHCP hook request failed");
            Json(json!({"error": "internal error"}))
                .with_status(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response()
        }
    }
}

/// A MAC as the hook sends it: six colon-separated hex pairs (as the original's schema).
fn parse_mac(s: &str) -> Result<MacAddr, String> {
    let ok = s.len() == 17
        && s.split(':')
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    if !ok {
        return Err(format!("{s:?} is not a MAC address (aa:bb:cc:dd:ee:ff)"));
    }
    s.parse().map_err(|e| format!("{s:?}: {e}"))
}

/// Deserialises a body into `T`, naming the offending key on error.
fn typed<T: for<'de> Deserialize<'de>>(body: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })
}

/// The query of `GET /dhcp/ipv4`: the original's hook sends `hwaddr` alone; a newer one
/// may add what the client said of itself, which decides the form of the boot file.
#[derive(Deserialize)]
struct AnswerQuery {
    hwaddr: Option<String>,
    /// The client architecture (option 93), as a decimal number (16: x64 UEFI HTTP).
    arch: Option<String>,
    /// The vendor class (option 60), e.g. `HTTPClient:Arch:00016:UNDI:003001`.
    vendor_class: Option<String>,
}

/// An `arch` parameter: absent or empty is none; else a decimal 16-bit number.
fn parse_arch(arch: Option<&str>) -> Result<Option<u16>, String> {
    match arch.filter(|a| !a.is_empty()) {
        None => Ok(None),
        Some(a) => a.parse().map(Some).map_err(|_| {
            format!("arch {a:?} is not a client architecture (option 93, a number 0-65535)")
        }),
    }
}

/// `GET /dhcp/ipv4?hwaddr=<mac>[&arch=<n>][&vendor_class=<text>]`.
#[handler]
async fn answer(query: poem::Result<Query<AnswerQuery>>, Data(state): Data<&AppState>) -> Response {
    let Ok(Query(query)) = query else {
        return bad("the hwaddr parameter is required");
    };
    let Some(hwaddr) = query.hwaddr.filter(|h| !h.is_empty()) else {
        return bad("the hwaddr parameter is required");
    };
    let mac = match hwaddr.parse::<MacAddr>() {
        Ok(mac) => mac,
        Err(e) => return bad(format!("hwaddr {hwaddr:?}: {e}")),
    };
    let arch = match parse_arch(query.arch.as_deref()) {
        Ok(a) => a,
        Err(m) => return bad(m),
    };
    let client = DhcpClientKind::of_request(arch, query.vendor_class.as_deref());
    match state.provisioner.dhcp_answer_for(mac, client).await {
        Ok(a) => {
            let mut body = serde_json::Map::new();
            let options: Vec<Value> = a
                .bootfile
                .iter()
                .map(|f| json!({"option": 67, "value": f}))
                .chain(a.vendor_class.map(|v| json!({"option": 60, "value": v})))
                .collect();
            body.insert("options".into(), Value::Array(options));
            if let Some(ns) = a.next_server {
                body.insert("next-server".into(), Value::String(ns));
            }
            if let Some(ip) = a.ipv4 {
                body.insert("ipv4".into(), Value::String(ip.to_string()));
            }
            Json(Value::Object(body)).into_response()
        }
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct SeenBody {
    discover: bool,
    mac: String,
    options: Vec<DhcpOption>,
}

#[derive(Deserialize)]
struct DhcpOption {
    option: u8,
    value: OptionValue,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OptionValue {
    Int(u64),
    Text(String),
}

/// `POST /dhcp/ipv4/seen`: 200 for a known MAC, 202 for a discovered one.
#[handler]
async fn seen(Data(state): Data<&AppState>, JsonBody(body): JsonBody) -> Response {
    let body: SeenBody = match typed(body) {
        Ok(b) => b,
        Err(m) => return bad(m),
    };
    let mac = match parse_mac(&body.mac) {
        Ok(m) => m,
        Err(e) => return bad(format!("mac: {e}")),
    };
    let mut hostname = None;
    let mut arch = None;
    for o in &body.options {
        match (o.option, &o.value) {
            (12, OptionValue::Text(t)) => hostname = Some(t.as_str()),
            (93, OptionValue::Int(n)) => arch = u16::try_from(*n).ok(),
            _ => {}
        }
    }
    match state
        .provisioner
        .dhcp_seen(mac, body.discover, hostname, arch)
        .await
    {
        Ok(Sighted::Known) => Json(json!({})).into_response(),
        Ok(Sighted::Discovered) => Json(json!({}))
            .with_status(StatusCode::ACCEPTED)
            .into_response(),
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct LeaseBody {
    mac: String,
    ipv4: Ipv4Addr,
    /// Required as by the original's schema, and unused as there.
    #[serde(rename = "duration")]
    _duration: u32,
}

/// `POST /dhcp/ipv4/lease`: 201 with an empty body.
#[handler]
async fn lease(Data(state): Data<&AppState>, JsonBody(body): JsonBody) -> Response {
    let body: LeaseBody = match typed(body) {
        Ok(b) => b,
        Err(m) => return bad(m),
    };
    let mac = match parse_mac(&body.mac) {
        Ok(m) => m,
        Err(e) => return bad(format!("mac: {e}")),
    };
    match state.provisioner.dhcp_lease(mac, body.ipv4).await {
        Ok(()) => Response::builder().status(StatusCode::CREATED).finish(),
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct SubnetBody {
    mac: String,
    subnets: Vec<SubnetIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubnetIn {
    subnet_id: i64,
    prefix: Ipv4Addr,
    prefix_len: u8,
    #[serde(default)]
    pools: Vec<PoolIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoolIn {
    #[serde(rename = "firstIP")]
    first_ip: Ipv4Addr,
}

/// `POST /dhcp/ipv4/subnet`: `{"subnetId": n}`, `{"subnetId": null}` or `{}`.
#[handler]
async fn subnet(Data(state): Data<&AppState>, JsonBody(body): JsonBody) -> Response {
    let body: SubnetBody = match typed(body) {
        Ok(b) => b,
        Err(m) => return bad(m),
    };
    let mac = match parse_mac(&body.mac) {
        Ok(m) => m,
        Err(e) => return bad(format!("mac: {e}")),
    };
    let mut subnets = Vec::with_capacity(body.subnets.len());
    for s in body.subnets {
        let Ok(prefix) = ipnet::Ipv4Net::new(s.prefix, s.prefix_len) else {
            return bad(format!("subnets: prefixLen {} is over 32", s.prefix_len));
        };
        subnets.push(KeaSubnet {
            id: s.subnet_id,
            prefix: prefix.trunc(),
            pool_starts: s.pools.iter().map(|p| p.first_ip).collect(),
        });
    }
    match state.provisioner.dhcp_subnet(mac, &subnets).await {
        Ok(SubnetChoice::Default) => Json(json!({"subnetId": null})).into_response(),
        Ok(SubnetChoice::Subnet(id)) => Json(json!({"subnetId": id})).into_response(),
        Ok(SubnetChoice::NoMatch) => Json(json!({})).into_response(),
        Err(e) => failure(e),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_arch, parse_mac};

    #[test]
    fn hook_archs() {
        assert_eq!(parse_arch(None), Ok(None));
        assert_eq!(parse_arch(Some("")), Ok(None));
        assert_eq!(parse_arch(Some("16")), Ok(Some(16)));
        assert_eq!(parse_arch(Some("0")), Ok(Some(0)));
        for bad in ["0x10", "-1", "65536", "x64", " 16"] {
            assert!(parse_arch(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn hook_macs() {
        assert!(parse_mac("52:54:00:AB:cd:01").is_ok());
        for bad in [
            "52-54-00-ab-cd-01",
            "52:54:00:ab:cd",
            "525400abcd01",
            "",
            "zz:54:00:ab:cd:01",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
    }
}

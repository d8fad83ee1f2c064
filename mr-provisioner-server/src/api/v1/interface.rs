//! `/api/v1/machine/{id}/interface`: a machine's network interfaces.

use std::net::Ipv4Addr;

use mr_provisioner_core::Error;
use mr_provisioner_core::id::{InterfaceId, MachineId, NetworkId};
use mr_provisioner_core::model::interface::{ConfigType, NewInterface};
use mr_provisioner_core::service::{InterfaceChange, IpChoice};
use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{IntoResponse, Response, handler};

use super::json::InterfaceJson;
use super::path_id;
use crate::api::auth::Auth;
use crate::api::body::{JsonBody, Schema, Ty, opt, opt_null, req};
use crate::api::error::ApiResult;
use crate::state::AppState;

fn ids(machine: &str, interface: &str) -> ApiResult<(MachineId, InterfaceId)> {
    Ok((
        path_id("machine", machine, MachineId)?,
        path_id("interface", interface, InterfaceId)?,
    ))
}

/// `GET /api/v1/machine/{id}/interface`.
#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<InterfaceJson>>> {
    let id = path_id("machine", &id, MachineId)?;
    let items = state.provisioner.interfaces(id).await?;
    Ok(Json(items.into_iter().map(InterfaceJson::from).collect()))
}

/// `GET /api/v1/machine/{id}/interface/{iid}`.
#[handler]
pub(crate) async fn get_one(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path((id, iid)): Path<(String, String)>,
) -> ApiResult<Json<InterfaceJson>> {
    let (id, iid) = ids(&id, &iid)?;
    Ok(Json(state.provisioner.interface(id, iid).await?.into()))
}

async fn network_named(state: &AppState, name: &str) -> ApiResult<NetworkId> {
    Ok(state
        .store()
        .network_by_name(name)
        .await?
        .ok_or_else(|| Error::invalid("network", format!("no network named {name:?}")))?
        .id)
}

pub(crate) const UPDATE: Schema = Schema {
    fields: &[
        opt_null("identifier", Ty::Str(0, 64)),
        opt(
            "config_type_v4",
            Ty::OneOf(&["dynamic", "dynamic-reserved", "static"]),
        ),
        opt_null("configured_ipv4", Ty::Ipv4OrAuto),
        opt("mac", Ty::Mac),
        opt_null("network", Ty::Str(1, 256)),
    ],
    strict: false,
};

/// `PUT /api/v1/machine/{id}/interface/{iid}`: identifier and IPv4 configuration
/// (assignees and admins); `mac` and `network` (a network name) for admins.
#[handler]
pub(crate) async fn update(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path((id, iid)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<InterfaceJson>> {
    let (id, iid) = ids(&id, &iid)?;
    let b = UPDATE.check(body)?;
    let network_id = match b.str("network") {
        None => None,
        Some(None) => Some(None),
        Some(Some(name)) => Some(Some(network_named(state, &name).await?)),
    };
    let config_type = b.string("config_type_v4").map(|t| match t.as_str() {
        "static" => ConfigType::Static,
        "dynamic-reserved" => ConfigType::DynamicReserved,
        _ => ConfigType::Dynamic,
    });
    let configured_ipv4 = b.str("configured_ipv4").map(|v| {
        v.and_then(|s| match s.as_str() {
            "auto" => Some(IpChoice::Auto),
            addr => addr.parse::<Ipv4Addr>().ok().map(IpChoice::Addr),
        })
    });
    let change = InterfaceChange {
        identifier: b.str("identifier"),
        config_type,
        configured_ipv4,
        mac: b.mac("mac"),
        network_id,
    };
    Ok(Json(
        state
            .provisioner
            .update_interface(&caller, id, iid, change)
            .await?
            .into(),
    ))
}

pub(crate) const CREATE: Schema = Schema {
    fields: &[
        req("mac", Ty::Mac),
        opt_null("identifier", Ty::Str(1, 64)),
        opt_null("network", Ty::Str(1, 256)),
        opt_null("static_ipv4", Ty::Ipv4OrAuto),
        opt_null("reserved_ipv4", Ty::Ipv4OrAuto),
    ],
    strict: true,
};

/// `POST /api/v1/machine/{id}/interface` (admins): `{"mac", "identifier"?, "network"?,
/// "static_ipv4"?, "reserved_ipv4"?}`.
#[handler]
pub(crate) async fn create(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = path_id("machine", &id, MachineId)?;
    let b = CREATE.check(body)?;
    let network_id = match b.string("network") {
        Some(name) => Some(network_named(state, &name).await?),
        None => None,
    };
    let addr = |k: &str| -> ApiResult<Option<Ipv4Addr>> {
        match b.string(k) {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| Error::invalid(k, "give an address (\"auto\" is for PUT)").into()),
        }
    };
    let new = NewInterface {
        machine_id: id,
        mac: b
            .mac("mac")
            .ok_or_else(|| Error::invalid("mac", "a MAC address is required"))?,
        identifier: b.string("identifier"),
        network_id,
        static_ipv4: addr("static_ipv4")?,
        reserved_ipv4: addr("reserved_ipv4")?,
    };
    let created = state.provisioner.create_interface(&caller, new).await?;
    Ok(Json(InterfaceJson::from(created))
        .with_status(StatusCode::CREATED)
        .into_response())
}

/// `DELETE /api/v1/machine/{id}/interface/{iid}` (admins).
#[handler]
pub(crate) async fn remove(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path((id, iid)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (id, iid) = ids(&id, &iid)?;
    state.provisioner.delete_interface(&caller, id, iid).await?;
    Ok(StatusCode::NO_CONTENT)
}

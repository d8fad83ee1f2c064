//! Power, state (with the provision flow) and console of a machine.

use mr_provisioner_core::id::MachineId;
use mr_provisioner_core::model::machine::MachineState;
use mr_provisioner_core::service::PowerRequest;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{IntoResponse, Response, handler};

use super::json::StateJson;
use super::path_id;
use crate::api::auth::Auth;
use crate::api::body::{JsonBody, Schema, Ty, req};
use crate::api::error::{ApiError, ApiResult};
use crate::state::AppState;

fn accepted(state: &str) -> Response {
    Json(StateJson {
        state: Some(state.to_string()),
    })
    .with_status(StatusCode::ACCEPTED)
    .into_response()
}

/// `GET /api/v1/machine/{id}/power`: `{"state": "on"|"off"|"unknown"|"Unknown (BMC error)"}`.
#[handler]
pub(crate) async fn status(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<StateJson>> {
    let id = path_id("machine", &id, MachineId)?;
    let power = state.provisioner.power_status(id).await?;
    Ok(Json(StateJson {
        state: Some(power.as_str().to_string()),
    }))
}

pub(crate) const POWER: Schema = Schema {
    fields: &[req(
        "state",
        Ty::OneOf(&[
            "on",
            "off",
            "reboot",
            "pxe_reboot",
            "bios_reboot",
            "disk_reboot",
        ]),
    )],
    strict: true,
};

/// `POST /api/v1/machine/{id}/power` (assignees and admins): 202 with the power state read
/// after the action.
#[handler]
pub(crate) async fn change(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b = POWER.check(body)?;
    let id = path_id("machine", &id, MachineId)?;
    let req = b
        .string("state")
        .as_deref()
        .and_then(PowerRequest::parse)
        .ok_or_else(|| ApiError::value("unknown power state"))?;
    let power = state.provisioner.power(&caller, id, req).await?;
    Ok(accepted(power.as_str()))
}

/// `GET /api/v1/machine/{id}/state`.
#[handler]
pub(crate) async fn get_state(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<StateJson>> {
    let id = path_id("machine", &id, MachineId)?;
    let m = state.store().machine_get(id).await?;
    Ok(Json(StateJson {
        state: Some(m.state.as_str().to_string()),
    }))
}

pub(crate) const PROVISION: Schema = Schema {
    fields: &[req("state", Ty::OneOf(&["provision"]))],
    strict: true,
};

/// `POST /api/v1/machine/{id}/state` with `{"state": "provision"}` (assignees and admins):
/// 202 `{"state": "provisioning"}`. (The original accepted any substring of "provision".)
#[handler]
pub(crate) async fn provision(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    PROVISION.check(body)?;
    let id = path_id("machine", &id, MachineId)?;
    let s = state.provisioner.provision(&caller, id).await?;
    Ok(accepted(s.as_str()))
}

pub(crate) const SET_STATE: Schema = Schema {
    fields: &[req("state", Ty::OneOf(&["ready", "error", "unknown"]))],
    strict: true,
};

/// `PUT /api/v1/machine/{id}/state` with `{"state": "ready"|"error"|"unknown"}` (assignees
/// and admins).
#[handler]
pub(crate) async fn set_state(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<StateJson>> {
    let b = SET_STATE.check(body)?;
    let id = path_id("machine", &id, MachineId)?;
    let wanted: MachineState = b.string("state").unwrap_or_default().parse()?;
    let s = state.provisioner.set_state(&caller, id, wanted).await?;
    Ok(Json(StateJson {
        state: Some(s.as_str().to_string()),
    }))
}

/// `{"host", "port", "token"}` of `POST /console`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ConsoleJson {
    /// Host to connect to (null: the API's host).
    host: Option<String>,
    port: u16,
    /// Single-use, short-lived.
    token: String,
}

/// `POST /api/v1/machine/{id}/console` (assignees and admins): a single-use console token.
#[handler]
pub(crate) async fn console(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ConsoleJson>> {
    let id = path_id("machine", &id, MachineId)?;
    let t = state.provisioner.console(&caller, id).await?;
    Ok(Json(ConsoleJson {
        host: t.host,
        port: t.port,
        token: t.token,
    }))
}

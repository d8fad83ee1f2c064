//! `/api/v1/machine/{id}/assignee`: who holds a machine.

use mr_provisioner_core::id::MachineId;
use mr_provisioner_core::service::AssigneeRef;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{IntoResponse, Response, handler};

use super::json::AssigneeJson;
use super::path_id;
use crate::api::auth::Auth;
use crate::api::body::{JsonBody, Schema, Ty, opt_null, req, req_null};
use crate::api::error::ApiResult;
use crate::state::AppState;

fn refs(machine: &str, aid: &str) -> ApiResult<(MachineId, AssigneeRef)> {
    Ok((
        path_id("machine", machine, MachineId)?,
        AssigneeRef::parse(aid)?,
    ))
}

/// `GET /api/v1/machine/{id}/assignee`.
#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AssigneeJson>>> {
    let id = path_id("machine", &id, MachineId)?;
    let items = state.provisioner.assignees(id).await?;
    Ok(Json(items.into_iter().map(AssigneeJson::from).collect()))
}

pub(crate) const CREATE: Schema = Schema {
    fields: &[
        req("user", Ty::Str(1, 128)),
        opt_null("reason", Ty::Str(0, 140)),
        opt_null("until", Ty::Time),
    ],
    strict: false,
};

/// `POST /api/v1/machine/{id}/assignee` (admins): `{"user", "reason"?, "until"?}`.
#[handler]
pub(crate) async fn create(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let id = path_id("machine", &id, MachineId)?;
    let b = CREATE.check(body)?;
    let view = state
        .provisioner
        .assign(
            &caller,
            id,
            &b.string("user").unwrap_or_default(),
            &b.string("reason").unwrap_or_default(),
            b.time("until").flatten(),
        )
        .await?;
    Ok(Json(AssigneeJson::from(view))
        .with_status(StatusCode::CREATED)
        .into_response())
}

/// `GET /api/v1/machine/{id}/assignee/{aid|self}`.
#[handler]
pub(crate) async fn get_one(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path((id, aid)): Path<(String, String)>,
) -> ApiResult<Json<AssigneeJson>> {
    let (id, which) = refs(&id, &aid)?;
    Ok(Json(
        state.provisioner.assignee(&caller, id, which).await?.into(),
    ))
}

pub(crate) const UPDATE: Schema = Schema {
    fields: &[
        req_null("reason", Ty::Str(0, 140)),
        opt_null("until", Ty::Time),
    ],
    strict: false,
};

/// `PUT /api/v1/machine/{id}/assignee/{aid|self}`: `{"reason", "until"?}` (admins or the
/// holder). A null reason means an empty one (the original failed with 409).
#[handler]
pub(crate) async fn update(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path((id, aid)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<AssigneeJson>> {
    let b = UPDATE.check(body)?;
    let (id, which) = refs(&id, &aid)?;
    let reason = Some(b.string("reason").unwrap_or_default());
    let view = state
        .provisioner
        .update_assignment(&caller, id, which, reason, b.time("until"))
        .await?;
    Ok(Json(view.into()))
}

/// `DELETE /api/v1/machine/{id}/assignee/{aid|self}` (admins or the holder): releases the
/// machine.
#[handler]
pub(crate) async fn remove(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path((id, aid)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (id, which) = refs(&id, &aid)?;
    state.provisioner.unassign(&caller, id, which).await?;
    Ok(StatusCode::NO_CONTENT)
}

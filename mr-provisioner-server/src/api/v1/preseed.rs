//! `/api/v1/preseed`: installer configs (preseed, kickstart, autoyast).

use std::collections::HashMap;

use mr_provisioner_core::id::PreseedId;
use mr_provisioner_core::model::preseed::{InstallerKind, Preseed};
use mr_provisioner_core::service::PreseedChange;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{IntoResponse, Response, handler};

use super::json::PreseedJson;
use super::{ShowAll, path_id};
use crate::api::auth::Auth;
use crate::api::body::{Body, JsonBody, Schema, Ty, opt, opt_null, req};
use crate::api::error::ApiResult;
use crate::state::AppState;

const KINDS: &[&str] = &["preseed", "kickstart", "autoyast"];
/// Largest template (2 MiB, as the original).
const MAX_CONTENT: usize = 2 * 1024 * 1024;

async fn owner_name(state: &AppState, p: &Preseed) -> Option<String> {
    match p.owner_id {
        Some(o) => state.store().user_get(o).await.ok().map(|u| u.username),
        None => None,
    }
}

/// `GET /api/v1/preseed[?show_all=true]`: the caller's configs, or all they may see.
#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Query(params): Query<ShowAll>,
) -> ApiResult<Json<Vec<PreseedJson>>> {
    let items = state.provisioner.preseeds(&caller, params.on()).await?;
    let users: HashMap<_, _> = state
        .store()
        .user_list()
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    Ok(Json(
        items
            .into_iter()
            .map(|p| {
                let user = p.owner_id.and_then(|o| users.get(&o).cloned());
                PreseedJson::new(p, user)
            })
            .collect(),
    ))
}

fn change_of(b: &Body) -> ApiResult<PreseedChange> {
    Ok(PreseedChange {
        name: b.string("name"),
        kind: b
            .string("type")
            .map(|t| t.parse::<InstallerKind>())
            .transpose()
            .map_err(|e| mr_provisioner_core::Error::invalid("type", e.to_string()))?,
        description: b.str("description"),
        content: b.str("content"),
        known_good: b.bool("known_good"),
        public: b.bool("public"),
    })
}

pub(crate) const CREATE: Schema = Schema {
    fields: &[
        req("name", Ty::Str(2, 256)),
        req("type", Ty::OneOf(KINDS)),
        opt_null("description", Ty::Str(0, 256)),
        opt_null("content", Ty::Str(0, MAX_CONTENT)),
        opt("known_good", Ty::Bool),
        opt("public", Ty::Bool),
    ],
    strict: false,
};

/// `POST /api/v1/preseed`: creates an installer config owned by the caller.
#[handler]
pub(crate) async fn create(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b = CREATE.check(body)?;
    let p = state
        .provisioner
        .create_preseed(&caller, change_of(&b)?)
        .await?;
    let user = owner_name(state, &p).await;
    Ok(Json(PreseedJson::new(p, user))
        .with_status(StatusCode::CREATED)
        .into_response())
}

fn preseed_id(segment: &str) -> ApiResult<PreseedId> {
    path_id("preseed", segment, PreseedId)
}

/// `GET /api/v1/preseed/{id}`.
#[handler]
pub(crate) async fn get_one(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<PreseedJson>> {
    let p = state.provisioner.preseed(&caller, preseed_id(&id)?).await?;
    let user = owner_name(state, &p).await;
    Ok(Json(PreseedJson::new(p, user)))
}

pub(crate) const UPDATE: Schema = Schema {
    fields: &[
        opt("name", Ty::Str(2, 256)),
        opt("type", Ty::OneOf(KINDS)),
        opt_null("description", Ty::Str(0, 256)),
        opt_null("content", Ty::Str(0, MAX_CONTENT)),
        opt("known_good", Ty::Bool),
        opt("public", Ty::Bool),
    ],
    strict: false,
};

/// `PUT /api/v1/preseed/{id}` (owner or admin).
#[handler]
pub(crate) async fn update(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<PreseedJson>> {
    let id = preseed_id(&id)?;
    let b = UPDATE.check(body)?;
    let p = state
        .provisioner
        .update_preseed(&caller, id, change_of(&b)?)
        .await?;
    let user = owner_name(state, &p).await;
    Ok(Json(PreseedJson::new(p, user)))
}

/// `DELETE /api/v1/preseed/{id}` (owner or admin).
#[handler]
pub(crate) async fn remove(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .provisioner
        .delete_preseed(&caller, preseed_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

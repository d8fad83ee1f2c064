//! `/api/v1/arch` and `/api/v1/subarch`: architectures and sub-architectures (anyone reads,
//! admins write).

use mr_provisioner_core::Error;
use mr_provisioner_core::id::{ArchId, ImageId, SubarchId};
use mr_provisioner_core::model::arch::{Arch, NewArch, NewSubarch, Subarch};
use mr_provisioner_core::policy::Action;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{IntoResponse, Response, handler};
use serde::Serialize;
use serde_json::json;

use crate::api::auth::Auth;
use crate::api::body::{Body, JsonBody, Schema, Ty, opt, opt_null, req};
use crate::api::error::ApiResult;
use crate::api::v1::path_id;
use crate::state::AppState;

/// An architecture.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ArchJson {
    id: i64,
    name: String,
    description: Option<String>,
}

impl From<Arch> for ArchJson {
    fn from(a: Arch) -> Self {
        ArchJson {
            id: a.id.0,
            name: a.name,
            description: a.description,
        }
    }
}

/// A sub-architecture.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SubarchJson {
    id: i64,
    arch_id: i64,
    name: String,
    description: Option<String>,
    /// The bootloader image handed out by DHCP.
    bootloader_id: Option<i64>,
    /// Whether boot-device changes carry the EFI flag.
    efiboot: bool,
}

impl From<Subarch> for SubarchJson {
    fn from(s: Subarch) -> Self {
        SubarchJson {
            id: s.id.0,
            arch_id: s.arch_id.0,
            name: s.name,
            description: s.description,
            bootloader_id: s.bootloader_id.map(|i| i.0),
            efiboot: s.efiboot,
        }
    }
}

/// `GET /api/v1/arch`.
#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
) -> ApiResult<Json<Vec<ArchJson>>> {
    Ok(Json(
        state
            .store()
            .arch_list()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// `GET /api/v1/arch/{id}`.
#[handler]
pub(crate) async fn get_one(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ArchJson>> {
    let id = path_id("arch", &id, ArchId)?;
    Ok(Json(state.store().arch_get(id).await?.into()))
}

pub(crate) const ARCH: Schema = Schema {
    fields: &[
        req("name", Ty::Str(2, 256)),
        opt_null("description", Ty::Str(0, 256)),
    ],
    strict: true,
};
pub(crate) const ARCH_UPDATE: Schema = Schema {
    fields: &[
        opt("name", Ty::Str(2, 256)),
        opt_null("description", Ty::Str(0, 256)),
    ],
    strict: true,
};

/// `POST /api/v1/arch` (admins): `{"name", "description"?}`.
#[handler]
pub(crate) async fn create(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b = ARCH.check(body)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let arch = state
        .store()
        .arch_create(&NewArch {
            name: b.string("name").unwrap_or_default(),
            description: b.string("description"),
        })
        .await?;
    state
        .provisioner
        .audit(
            &caller,
            "arch.create",
            "arch",
            Some(arch.id.0),
            json!({"name": arch.name}),
        )
        .await;
    Ok(Json(ArchJson::from(arch))
        .with_status(StatusCode::CREATED)
        .into_response())
}

/// `PUT /api/v1/arch/{id}` (admins).
#[handler]
pub(crate) async fn update(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<ArchJson>> {
    let b = ARCH_UPDATE.check(body)?;
    let id = path_id("arch", &id, ArchId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let current = state.store().arch_get(id).await?;
    let new = NewArch {
        name: b.string("name").unwrap_or(current.name),
        description: b.str("description").unwrap_or(current.description),
    };
    let arch = state.store().arch_update(id, &new).await?;
    state
        .provisioner
        .audit(
            &caller,
            "arch.update",
            "arch",
            Some(id.0),
            json!({"name": arch.name}),
        )
        .await;
    Ok(Json(arch.into()))
}

/// `DELETE /api/v1/arch/{id}` (admins): with its subarchs. Conflict while used.
#[handler]
pub(crate) async fn remove(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id("arch", &id, ArchId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let arch = state.store().arch_get(id).await?;
    state.store().arch_delete(id).await?;
    state
        .provisioner
        .audit(
            &caller,
            "arch.delete",
            "arch",
            Some(id.0),
            json!({"name": arch.name}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/arch/{id}/subarch`.
#[handler]
pub(crate) async fn subarchs(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<SubarchJson>>> {
    let id = path_id("arch", &id, ArchId)?;
    state.store().arch_get(id).await?;
    Ok(Json(
        state
            .store()
            .subarch_list(Some(id))
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

const SUBARCH_FIELDS: &[crate::api::body::Field] = &[
    req("name", Ty::Str(2, 256)),
    opt_null("description", Ty::Str(0, 256)),
    opt_null("bootloader_id", Ty::Id),
    opt("efiboot", Ty::Bool),
];
pub(crate) const SUBARCH: Schema = Schema {
    fields: SUBARCH_FIELDS,
    strict: true,
};
pub(crate) const SUBARCH_UPDATE: Schema = Schema {
    fields: &[
        opt("name", Ty::Str(2, 256)),
        opt_null("description", Ty::Str(0, 256)),
        opt_null("bootloader_id", Ty::Id),
        opt("efiboot", Ty::Bool),
    ],
    strict: true,
};

fn apply_subarch(b: &Body, new: &mut NewSubarch) {
    if let Some(n) = b.string("name") {
        new.name = n;
    }
    if let Some(d) = b.str("description") {
        new.description = d;
    }
    if let Some(bl) = b.id("bootloader_id") {
        new.bootloader_id = bl.map(ImageId);
    }
    if let Some(e) = b.bool("efiboot") {
        new.efiboot = e;
    }
}

/// `POST /api/v1/arch/{id}/subarch` (admins): `{"name", "description"?, "bootloader_id"?,
/// "efiboot"?}`.
#[handler]
pub(crate) async fn create_subarch(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b = SUBARCH.check(body)?;
    let arch_id = path_id("arch", &id, ArchId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    state.store().arch_get(arch_id).await?;
    let mut new = NewSubarch {
        arch_id,
        name: String::new(),
        description: None,
        bootloader_id: None,
        efiboot: false,
    };
    apply_subarch(&b, &mut new);
    let sub = state.store().subarch_create(&new).await?;
    state
        .provisioner
        .audit(
            &caller,
            "subarch.create",
            "subarch",
            Some(sub.id.0),
            json!({"name": sub.name, "arch_id": arch_id}),
        )
        .await;
    Ok(Json(SubarchJson::from(sub))
        .with_status(StatusCode::CREATED)
        .into_response())
}

/// `GET /api/v1/subarch/{id}`.
#[handler]
pub(crate) async fn get_subarch(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<SubarchJson>> {
    let id = path_id("subarch", &id, SubarchId)?;
    Ok(Json(state.store().subarch_get(id).await?.into()))
}

/// `PUT /api/v1/subarch/{id}` (admins).
#[handler]
pub(crate) async fn update_subarch(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<SubarchJson>> {
    let b = SUBARCH_UPDATE.check(body)?;
    let id = path_id("subarch", &id, SubarchId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let current = state.store().subarch_get(id).await?;
    let mut new = NewSubarch::from(&current);
    apply_subarch(&b, &mut new);
    if current.bootloader_id.is_some() && new.bootloader_id.is_none() {
        // Machines netbooting on this subarch would get no bootloader any more.
        let users = state
            .store()
            .machine_list(&Default::default())
            .await?
            .into_iter()
            .filter(|m| m.machine.subarch_id == Some(id) && m.machine.netboot_enabled)
            .count();
        if users > 0 {
            return Err(Error::conflict(format!(
                "{users} machine(s) netboot with this subarch: turn their netboot off before removing its bootloader"
            ))
            .into());
        }
    }
    let sub = state.store().subarch_update(id, &new).await?;
    state
        .provisioner
        .audit(
            &caller,
            "subarch.update",
            "subarch",
            Some(id.0),
            json!({"name": sub.name}),
        )
        .await;
    Ok(Json(sub.into()))
}

/// `DELETE /api/v1/subarch/{id}` (admins). Conflict while machines use it.
#[handler]
pub(crate) async fn remove_subarch(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id("subarch", &id, SubarchId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let sub = state.store().subarch_get(id).await?;
    state.store().subarch_delete(id).await?;
    state
        .provisioner
        .audit(
            &caller,
            "subarch.delete",
            "subarch",
            Some(id.0),
            json!({"name": sub.name}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

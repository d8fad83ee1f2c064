//! `/api/v1/machine`: machines, reservation.

use mr_provisioner_core::Error;
use mr_provisioner_core::id::{ImageId, MachineId, PreseedId};
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::policy::Action;
use mr_provisioner_core::query;
use mr_provisioner_core::service::{
    MachineInventoryChange, ProvisioningChange, ReservationRequest,
};
use mr_provisioner_core::store::MachineListQuery;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{IntoResponse, Response, handler};

use super::json::MachineJson;
use super::{path_id, show_all};
use crate::api::auth::Auth;
use crate::api::body::{JsonBody, Schema, Ty, opt, opt_null, req, req_null};
use crate::api::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Query parameters of the machine list.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ListParams {
    /// `true` (any case) lists every machine; anything else only the caller's.
    show_all: Option<String>,
    /// A query-language filter.
    q: Option<String>,
}

/// `GET /api/v1/machine[?show_all=true][&q=...]`: the caller's assigned machines (admins
/// too), or all with `show_all`, filtered by the query language.
#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<Vec<MachineJson>>> {
    let filter = match params.q.as_deref() {
        None => None,
        Some(q) => query::parse(q).map_err(|e| Error::invalid("q", e.to_string()))?,
    };
    let list_query = MachineListQuery {
        assigned_to: (!show_all(params.show_all.as_deref())).then_some(caller.user.id),
        filter,
        ..Default::default()
    };
    let machines = state.store().machine_list_brief(&list_query).await?;
    Ok(Json(machines.into_iter().map(MachineJson::from).collect()))
}

fn machine_id(segment: &str) -> ApiResult<MachineId> {
    path_id("machine", segment, MachineId)
}

/// `GET /api/v1/machine/{id}`.
#[handler]
pub(crate) async fn get_one(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<MachineJson>> {
    let id = machine_id(&id)?;
    Ok(Json(state.provisioner.machine_summary(id).await?.into()))
}

pub(crate) const UPDATE: Schema = Schema {
    fields: &[
        opt("netboot_enabled", Ty::Bool),
        opt_null("subarch", Ty::Str(0, 256)),
        opt_null("preseed_id", Ty::Id),
        opt_null("kernel_id", Ty::Id),
        opt("kernel_opts", Ty::Str(0, 1024)),
        opt_null("initrd_id", Ty::Id),
    ],
    strict: false,
};

/// `PUT /api/v1/machine/{id}`: provisioning settings (assignees and admins).
#[handler]
pub(crate) async fn update(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<MachineJson>> {
    let id = machine_id(&id)?;
    let b = UPDATE.check(body)?;
    let change = ProvisioningChange {
        netboot_enabled: b.bool("netboot_enabled"),
        subarch: b.str("subarch"),
        preseed_id: b.id("preseed_id").map(|o| o.map(PreseedId)),
        kernel_id: b.id("kernel_id").map(|o| o.map(ImageId)),
        initrd_id: b.id("initrd_id").map(|o| o.map(ImageId)),
        kernel_opts: b.string("kernel_opts"),
    };
    Ok(Json(
        state
            .provisioner
            .update_provisioning(&caller, id, change)
            .await?
            .into(),
    ))
}

pub(crate) const CREATE: Schema = Schema {
    fields: &[
        req("name", Ty::Str(2, 256)),
        req("arch", Ty::Str(1, 256)),
        opt_null("subarch", Ty::Str(1, 256)),
        opt_null("bmc", Ty::Str(1, 256)),
        opt("bmc_info", Ty::Str(0, 256)),
    ],
    strict: true,
};

/// `POST /api/v1/machine` (admins): `{"name", "arch", "subarch"?, "bmc"? (a BMC name),
/// "bmc_info"?}`.
#[handler]
pub(crate) async fn create(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b = CREATE.check(body)?;
    // Before any name lookup: BMC names are for administrators only.
    caller.check(Action::ManageInventory, "Forbidden")?;
    let store = state.store();
    let arch_name = b.string("arch").unwrap_or_default();
    let arch = store
        .arch_by_name(&arch_name)
        .await?
        .ok_or_else(|| Error::invalid("arch", format!("no arch named {arch_name:?}")))?;
    let mut new = NewMachine::named(b.string("name").unwrap_or_default(), arch.id);
    if let Some(sub) = b.string("subarch") {
        new.subarch_id = Some(
            store
                .subarch_by_name(arch.id, &sub)
                .await?
                .ok_or_else(|| {
                    Error::invalid(
                        "subarch",
                        format!("no such subarch for architecture {}", arch.name),
                    )
                })?
                .id,
        );
    }
    if let Some(bmc) = b.string("bmc") {
        new.bmc_id = Some(bmc_named(state, &bmc).await?);
    }
    if let Some(info) = b.string("bmc_info") {
        new.bmc_info = info;
    }
    let created = state.provisioner.create_machine(&caller, new).await?;
    Ok(Json(MachineJson::from(created))
        .with_status(StatusCode::CREATED)
        .into_response())
}

async fn bmc_named(state: &AppState, name: &str) -> ApiResult<mr_provisioner_core::id::BmcId> {
    Ok(state
        .store()
        .bmc_by_name(name)
        .await?
        .ok_or_else(|| Error::invalid("bmc", format!("no BMC named {name:?}")))?
        .id)
}

pub(crate) const INVENTORY: Schema = Schema {
    fields: &[
        opt("name", Ty::Str(2, 256)),
        opt("arch", Ty::Str(1, 256)),
        opt_null("bmc", Ty::Str(1, 256)),
        opt("bmc_info", Ty::Str(0, 256)),
    ],
    strict: true,
};

/// `PATCH /api/v1/machine/{id}` (admins): name, arch, BMC (by name, or null), BMC info.
#[handler]
pub(crate) async fn update_inventory(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<MachineJson>> {
    let id = machine_id(&id)?;
    let b = INVENTORY.check(body)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let bmc_id = match b.str("bmc") {
        None => None,
        Some(None) => Some(None),
        Some(Some(name)) => Some(Some(bmc_named(state, &name).await?)),
    };
    let change = MachineInventoryChange {
        name: b.string("name"),
        arch: b.string("arch"),
        bmc_id,
        bmc_info: b.string("bmc_info"),
    };
    Ok(Json(
        state
            .provisioner
            .update_inventory(&caller, id, change)
            .await?
            .into(),
    ))
}

/// `DELETE /api/v1/machine/{id}` (admins).
#[handler]
pub(crate) async fn remove(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = machine_id(&id)?;
    state.provisioner.delete_machine(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) const RESERVE: Schema = Schema {
    fields: &[
        req_null("query", Ty::Str(0, 300)),
        opt_null("reason", Ty::Str(0, 140)),
        opt("duration", Ty::Seconds),
        opt_null("until", Ty::Time),
    ],
    strict: false,
};

/// `POST /api/v1/machine/reservation`: `{"query": <query or null>, "reason"?, "duration"?
/// (seconds) | "until"? (RFC 3339)}` reserves the first free matching machine for the caller.
#[handler]
pub(crate) async fn reserve(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<MachineJson>> {
    let b = RESERVE.check(body)?;
    let end = match (b.seconds("duration"), b.time("until").flatten()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::value("give `duration` or `until`, not both"));
        }
        (Some(secs), None) => {
            let too_long = || ApiError::value("`duration` is too long");
            let secs = i64::try_from(secs).map_err(|_| too_long())?;
            let delta = chrono::TimeDelta::try_seconds(secs).ok_or_else(too_long)?;
            Some(
                mr_provisioner_core::model::now()
                    .checked_add_signed(delta)
                    .ok_or_else(too_long)?,
            )
        }
        (None, until) => until,
    };
    let request = ReservationRequest {
        query: b.string("query"),
        reason: b.string("reason").unwrap_or_default(),
        end,
    };
    match state.provisioner.reserve(&caller, request).await {
        Ok(m) => Ok(Json(m.into())),
        Err(Error::NotFound { .. }) => Err(reservation_none()),
        Err(e) => Err(e.into()),
    }
}

/// The original's answer when nothing matches: 404 `["no matching machine"]`.
fn reservation_none() -> ApiError {
    ApiError::Custom(
        StatusCode::NOT_FOUND,
        "InvalidUsage",
        "no matching machine".into(),
    )
}

//! Discovered MACs, assignments across machines, machine events and the audit log.

use mr_provisioner_core::Error;
use mr_provisioner_core::id::{DiscoveredMacId, MachineId};
use mr_provisioner_core::model::audit::AuditEntry;
use mr_provisioner_core::model::discovered_mac::DiscoveredMac;
use mr_provisioner_core::model::event::MachineEvent;
use mr_provisioner_core::model::interface::NewInterface;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::policy::Action;
use mr_provisioner_core::store::MachineListQuery;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{IntoResponse, Response, handler};
use serde::Serialize;
use serde_json::{Value, json};

use super::PageParams;
use crate::api::auth::Auth;
use crate::api::body::{JsonBody, Schema, Ty, opt, opt_null, req};
use crate::api::error::ApiResult;
use crate::api::v1::json::MachineJson;
use crate::api::v1::path_id;
use crate::state::AppState;

/// A MAC seen by DHCP that belongs to no interface.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DiscoveredJson {
    id: i64,
    mac: String,
    vendor: Option<String>,
    hostname: Option<String>,
    arch_code: Option<u16>,
    arch: Option<String>,
    first_seen: String,
    last_seen: String,
}

impl From<DiscoveredMac> for DiscoveredJson {
    fn from(d: DiscoveredMac) -> Self {
        DiscoveredJson {
            id: d.id.0,
            mac: d.mac.to_string(),
            vendor: d.vendor,
            hostname: d.hostname,
            arch_code: d.arch_code,
            arch: d.arch,
            first_seen: d.first_seen.to_rfc3339(),
            last_seen: d.last_seen.to_rfc3339(),
        }
    }
}

/// `GET /api/v1/discovered` (admins): most recently seen first.
#[handler]
pub(crate) async fn discovered(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<Vec<DiscoveredJson>>> {
    caller.check(Action::ManageInventory, "Forbidden")?;
    Ok(Json(
        state
            .store()
            .discovered_mac_list()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// `DELETE /api/v1/discovered/{id}` (admins).
#[handler]
pub(crate) async fn forget_discovered(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id("discovered MAC", &id, DiscoveredMacId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    state.store().discovered_mac_delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) const ADOPT: Schema = Schema {
    fields: &[
        req("name", Ty::Str(2, 256)),
        req("arch", Ty::Str(1, 256)),
        opt_null("subarch", Ty::Str(1, 256)),
        opt_null("bmc", Ty::Str(1, 256)),
        opt("bmc_info", Ty::Str(0, 256)),
        opt_null("identifier", Ty::Str(1, 64)),
        opt_null("network", Ty::Str(1, 256)),
    ],
    strict: true,
};

/// `POST /api/v1/discovered/{id}/machine` (admins): turns a discovered MAC into a machine
/// with that MAC as its interface, in one transaction: `{"name", "arch", "subarch"?,
/// "bmc"?, "bmc_info"?, "identifier"?, "network"?}`.
#[handler]
pub(crate) async fn adopt_discovered(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b = ADOPT.check(body)?;
    let id = path_id("discovered MAC", &id, DiscoveredMacId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let found = state.store().discovered_mac_get(id).await?;
    let tx = state.store().begin().await?;
    let arch_name = b.string("arch").unwrap_or_default();
    let arch = tx
        .arch_by_name(&arch_name)
        .await?
        .ok_or_else(|| Error::invalid("arch", format!("no arch named {arch_name:?}")))?;
    let mut new = NewMachine::named(b.string("name").unwrap_or_default(), arch.id);
    if let Some(s) = b.string("subarch") {
        new.subarch_id = Some(
            tx.subarch_by_name(arch.id, &s)
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
    if let Some(name) = b.string("bmc") {
        new.bmc_id = Some(
            tx.bmc_by_name(&name)
                .await?
                .ok_or_else(|| Error::invalid("bmc", format!("no BMC named {name:?}")))?
                .id,
        );
    }
    new.bmc_info = b.string("bmc_info").unwrap_or_default();
    let network_id = match b.string("network") {
        Some(n) => Some(
            tx.network_by_name(&n)
                .await?
                .ok_or_else(|| Error::invalid("network", format!("no network named {n:?}")))?
                .id,
        ),
        None => None,
    };
    let machine = tx.machine_create(&new).await?;
    tx.interface_create(&NewInterface {
        machine_id: machine.id,
        mac: found.mac,
        identifier: b.string("identifier"),
        network_id,
        static_ipv4: None,
        reserved_ipv4: None,
    })
    .await?;
    tx.commit().await?;
    state
        .provisioner
        .audit(
            &caller,
            "machine.create",
            "machine",
            Some(machine.id.0),
            json!({"name": machine.name, "from_discovered_mac": found.mac}),
        )
        .await;
    let summary = state.provisioner.machine_summary(machine.id).await?;
    Ok(Json(MachineJson::from(summary))
        .with_status(StatusCode::CREATED)
        .into_response())
}

/// An assignment in the cross-machine listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AssignmentJson {
    id: i64,
    machine_id: i64,
    machine: String,
    user: String,
    reason: String,
    start: String,
    until: Option<String>,
}

/// `GET /api/v1/assignment`: every assignment (admins) or the caller's own.
#[handler]
pub(crate) async fn assignments(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<Vec<AssignmentJson>>> {
    let store = state.store();
    let machines = store.machine_list(&MachineListQuery::default()).await?;
    let mut out = Vec::new();
    for m in machines {
        for a in store.assignment_list_for_machine(m.machine.id).await? {
            if !caller.is_admin() && a.user_id != caller.user.id {
                continue;
            }
            let user = store.user_get(a.user_id).await?.username;
            out.push(AssignmentJson {
                id: a.id.0,
                machine_id: m.machine.id.0,
                machine: m.machine.name.clone(),
                user,
                reason: a.reason,
                start: a.start.to_rfc3339(),
                until: a.end.map(|e| e.to_rfc3339()),
            });
        }
    }
    Ok(Json(out))
}

/// A machine event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EventJson {
    id: i64,
    /// When (RFC 3339, UTC).
    date: String,
    /// The original's numeric code (1 to 8 are the original's kinds).
    code: i32,
    /// The kind's name, e.g. `POWER_CHANGE`.
    #[serde(rename = "type")]
    kind: &'static str,
    user: Option<String>,
    info: Value,
}

impl From<MachineEvent> for EventJson {
    fn from(e: MachineEvent) -> Self {
        EventJson {
            id: e.id.0,
            date: e.date.to_rfc3339(),
            code: e.kind.code(),
            kind: e.kind.name(),
            user: e.username,
            info: e.info,
        }
    }
}

/// `GET /api/v1/machine/{id}/event[?before=<id>][&limit=<n>]` (assignees and admins):
/// newest first.
#[handler]
pub(crate) async fn events(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> ApiResult<Json<Vec<EventJson>>> {
    let id = path_id("machine", &id, MachineId)?;
    state.store().machine_get(id).await?;
    let assignee = state.provisioner.is_assignee(&caller, id).await?;
    caller.check(Action::ViewEvents { assignee }, "Forbidden")?;
    let items = state.store().event_list(id, params.page()).await?;
    Ok(Json(items.into_iter().map(Into::into).collect()))
}

/// An audit record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AuditJson {
    id: i64,
    at: String,
    actor: String,
    action: String,
    target_kind: String,
    target_id: Option<i64>,
    detail: Value,
}

impl From<AuditEntry> for AuditJson {
    fn from(a: AuditEntry) -> Self {
        AuditJson {
            id: a.id.0,
            at: a.at.to_rfc3339(),
            actor: a.actor,
            action: a.action,
            target_kind: a.target_kind,
            target_id: a.target_id,
            detail: a.detail,
        }
    }
}

/// `GET /api/v1/audit[?before=<id>][&limit=<n>]` (admins): newest first.
#[handler]
pub(crate) async fn audit(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Query(params): Query<PageParams>,
) -> ApiResult<Json<Vec<AuditJson>>> {
    caller.check(Action::ManageUsers, "Forbidden")?;
    let items = state.store().audit_list(params.page()).await?;
    Ok(Json(items.into_iter().map(Into::into).collect()))
}

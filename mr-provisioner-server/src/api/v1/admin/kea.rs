//! Stock Kea's databases: what the Kea task did, and a pass on demand.

use mr_provisioner_core::Error;
use mr_provisioner_core::kea::KeaStatus;
use mr_provisioner_core::policy::Action;
use poem::handler;
use poem::web::{Data, Json};
use serde::Serialize;

use crate::api::auth::Auth;
use crate::api::error::ApiResult;
use crate::state::AppState;

/// What the last sync of Kea's host reservations did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct KeaSyncJson {
    added: usize,
    updated: usize,
    removed: usize,
    unchanged: usize,
    /// Interfaces not written, and why.
    conflicts: Vec<String>,
}

/// The Kea integration's state. Database URLs have their password replaced by `***`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct KeaStatusJson {
    /// Whether `[kea]` names a database.
    enabled: bool,
    hosts_database: Option<String>,
    leases_database: Option<String>,
    /// Kea's host database schema version.
    schema: Option<String>,
    /// When the reservations were last found or made right (RFC 3339).
    last_sync: Option<String>,
    /// When a pass last changed a reservation.
    last_change: Option<String>,
    /// Our reservations in Kea.
    reservations: usize,
    last_result: Option<KeaSyncJson>,
    last_lease_scan: Option<String>,
    /// Leases read since start.
    leases_seen: u64,
    /// The error of the last pass, if it failed.
    error: Option<String>,
}

impl KeaStatusJson {
    fn new(enabled: bool, s: KeaStatus) -> Self {
        let time = |t: Option<mr_provisioner_core::model::Timestamp>| t.map(|t| t.to_rfc3339());
        KeaStatusJson {
            enabled,
            hosts_database: s.hosts_database,
            leases_database: s.leases_database,
            schema: s.schema,
            last_sync: time(s.last_sync),
            last_change: time(s.last_change),
            reservations: s.reservations,
            last_result: s.last_result.map(|r| KeaSyncJson {
                added: r.added,
                updated: r.updated,
                removed: r.removed,
                unchanged: r.unchanged,
                conflicts: r.conflicts,
            }),
            last_lease_scan: time(s.last_lease_scan),
            leases_seen: s.leases_seen,
            error: s.error,
        }
    }
}

/// `GET /api/v1/dhcp/kea` (admins): the state of the Kea integration
/// (`{"enabled": false, ...}` when it is not configured).
#[handler]
pub(crate) async fn kea_status(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<KeaStatusJson>> {
    caller.check(Action::ManageInventory, "Forbidden")?;
    Ok(Json(match &state.kea {
        Some(kea) => KeaStatusJson::new(true, kea.status()),
        None => KeaStatusJson::new(false, KeaStatus::default()),
    }))
}

/// `POST /api/v1/dhcp/kea/sync` (admins): one pass now (reservations, then leases); 503
/// with the reason when a Kea database cannot be used.
#[handler]
pub(crate) async fn kea_sync(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<KeaStatusJson>> {
    caller.check(Action::ManageInventory, "Forbidden")?;
    let Some(kea) = &state.kea else {
        return Err(Error::invalid(
            "kea",
            "the Kea integration is not configured (kea.hosts_database_url, kea.leases_database_url)",
        )
        .into());
    };
    let status = kea.sync_now(&state.provisioner).await?;
    Ok(Json(KeaStatusJson::new(true, status)))
}

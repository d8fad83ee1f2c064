//! `/api/v1/machine`: machines.

use mr_provisioner_core::Error;
use mr_provisioner_core::model::machine::MachineSummary;
use mr_provisioner_core::query;
use mr_provisioner_core::store::MachineListQuery;
use poem::handler;
use poem::web::{Data, Json, Query};

use crate::api::auth::Caller;
use crate::api::error::ApiResult;
use crate::state::AppState;

/// A machine as the original's API shows it. Field order is alphabetical because clients
/// print the keys in the order received and the original sorted them.
#[derive(Debug, serde::Serialize)]
pub(crate) struct MachineJson {
    arch: String,
    hostname: String,
    id: i64,
    initrd_id: Option<i64>,
    kernel_id: Option<i64>,
    kernel_opts: String,
    name: String,
    netboot_enabled: bool,
    preseed_id: Option<i64>,
    subarch: Option<String>,
}

impl From<MachineSummary> for MachineJson {
    fn from(s: MachineSummary) -> Self {
        let m = s.machine;
        MachineJson {
            arch: s.arch,
            hostname: m.hostname(),
            id: m.id.0,
            initrd_id: m.initrd_id.map(|i| i.0),
            kernel_id: m.kernel_id.map(|i| i.0),
            kernel_opts: m.kernel_opts,
            name: m.name,
            netboot_enabled: m.netboot_enabled,
            preseed_id: m.preseed_id.map(|i| i.0),
            subarch: s.subarch,
        }
    }
}

/// Query parameters of the machine list.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ListParams {
    /// `true` (any case) lists every machine; anything else only the caller's.
    show_all: Option<String>,
    /// A query-language filter.
    q: Option<String>,
}

/// Whether a `show_all` value turns it on: exactly `true`, in any case, as the original.
pub(crate) fn show_all(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `GET /api/v1/machine[?show_all=true][&q=...]`.
#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<Vec<MachineJson>>> {
    let filter = match params.q.as_deref() {
        None => None,
        Some(q) => query::parse(q).map_err(|e| Error::invalid("q", e.to_string()))?,
    };
    let list_query = MachineListQuery {
        // Without show_all, only the caller's assigned machines (admins too, as the original).
        assigned_to: (!show_all(params.show_all.as_deref())).then_some(caller.user.id),
        filter,
        ..Default::default()
    };
    let machines = state.store.machine_list(&list_query).await?;
    Ok(Json(machines.into_iter().map(MachineJson::from).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_all_values() {
        for (v, want) in [
            (Some("true"), true),
            (Some("TRUE"), true),
            (Some("True"), true),
            (Some("1"), false),
            (Some("yes"), false),
            (Some(""), false),
            (None, false),
        ] {
            assert_eq!(show_all(v), want, "{v:?}");
        }
    }
}

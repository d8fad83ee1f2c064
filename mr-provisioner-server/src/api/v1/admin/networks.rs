//! `/api/v1/network`: networks and their pools (anyone reads, admins write).

use mr_provisioner_core::Error;
use mr_provisioner_core::id::NetworkId;
use mr_provisioner_core::model::network::{Network, NewNetwork, Pool};
use mr_provisioner_core::policy::Action;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{IntoResponse, Response, handler};
use serde::Serialize;
use serde_json::json;

use crate::api::auth::Auth;
use crate::api::body::{Body, JsonBody, Schema, Ty, opt, opt_null, req};
use crate::api::error::ApiResult;
use crate::api::v1::path_id;
use crate::state::AppState;

/// A network.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct NetworkJson {
    id: i64,
    name: String,
    /// CIDR.
    subnet: String,
    reserved_pool: Option<String>,
    static_pool: Option<String>,
}

impl From<Network> for NetworkJson {
    fn from(n: Network) -> Self {
        NetworkJson {
            id: n.id.0,
            name: n.name,
            subnet: n.subnet.to_string(),
            reserved_pool: n.reserved_pool.map(|p| p.to_string()),
            static_pool: n.static_pool.map(|p| p.to_string()),
        }
    }
}

fn cidr(b: &Body, key: &str) -> ApiResult<Option<Option<ipnet::Ipv4Net>>> {
    match b.str(key) {
        None => Ok(None),
        // Empty means none, as in the original UI.
        Some(None) => Ok(Some(None)),
        Some(Some(s)) if s.is_empty() => Ok(Some(None)),
        Some(Some(s)) => s.parse().map(|n| Some(Some(n))).map_err(|_| {
            Error::invalid(key, format!("{s:?} is not an IPv4 subnet in CIDR notation")).into()
        }),
    }
}

pub(crate) const CREATE: Schema = Schema {
    fields: &[
        req("name", Ty::Str(2, 256)),
        req("subnet", Ty::Str(1, 64)),
        opt_null("reserved_pool", Ty::Str(0, 64)),
        opt_null("static_pool", Ty::Str(0, 64)),
    ],
    strict: true,
};
pub(crate) const UPDATE: Schema = Schema {
    fields: &[
        opt("name", Ty::Str(2, 256)),
        opt("subnet", Ty::Str(1, 64)),
        opt_null("reserved_pool", Ty::Str(0, 64)),
        opt_null("static_pool", Ty::Str(0, 64)),
    ],
    strict: true,
};

/// `GET /api/v1/network`.
#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
) -> ApiResult<Json<Vec<NetworkJson>>> {
    Ok(Json(
        state
            .store()
            .network_list()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// `GET /api/v1/network/{id}`.
#[handler]
pub(crate) async fn get_one(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<NetworkJson>> {
    let id = path_id("network", &id, NetworkId)?;
    Ok(Json(state.store().network_get(id).await?.into()))
}

/// `POST /api/v1/network` (admins): `{"name", "subnet", "reserved_pool"?, "static_pool"?}`.
#[handler]
pub(crate) async fn create(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b = CREATE.check(body)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let new = NewNetwork {
        name: b.string("name").unwrap_or_default(),
        subnet: cidr(&b, "subnet")?
            .flatten()
            .ok_or_else(|| Error::invalid("subnet", "a subnet is required"))?,
        reserved_pool: cidr(&b, "reserved_pool")?.flatten(),
        static_pool: cidr(&b, "static_pool")?.flatten(),
    };
    let n = state.store().network_create(&new).await?;
    state
        .provisioner
        .audit(
            &caller,
            "network.create",
            "network",
            Some(n.id.0),
            json!({"name": n.name, "subnet": n.subnet}),
        )
        .await;
    Ok(Json(NetworkJson::from(n))
        .with_status(StatusCode::CREATED)
        .into_response())
}

/// `PUT /api/v1/network/{id}` (admins). Conflict if an interface's address would fall
/// outside the new pools.
#[handler]
pub(crate) async fn update(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<NetworkJson>> {
    let b = UPDATE.check(body)?;
    let id = path_id("network", &id, NetworkId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let mut new = NewNetwork::from(&state.store().network_get(id).await?);
    if let Some(n) = b.string("name") {
        new.name = n;
    }
    if let Some(s) = cidr(&b, "subnet")? {
        new.subnet = s.ok_or_else(|| Error::invalid("subnet", "a subnet is required"))?;
    }
    if let Some(p) = cidr(&b, "reserved_pool")? {
        new.reserved_pool = p;
    }
    if let Some(p) = cidr(&b, "static_pool")? {
        new.static_pool = p;
    }
    let n = state.store().network_update(id, &new).await?;
    state
        .provisioner
        .audit(
            &caller,
            "network.update",
            "network",
            Some(id.0),
            json!({"name": n.name}),
        )
        .await;
    Ok(Json(n.into()))
}

/// `DELETE /api/v1/network/{id}` (admins): its interfaces lose their addresses.
#[handler]
pub(crate) async fn remove(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id("network", &id, NetworkId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let n = state.store().network_get(id).await?;
    state.store().network_delete(id).await?;
    state
        .provisioner
        .audit(
            &caller,
            "network.delete",
            "network",
            Some(id.0),
            json!({"name": n.name}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `?pool=static|reserved&limit=N` of the free-address listing.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct AvailableParams {
    pool: Option<String>,
    limit: Option<usize>,
}

/// The free addresses of a network's pools.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AvailableJson {
    #[serde(rename = "static")]
    static_pool: Vec<String>,
    reserved: Vec<String>,
}

/// `GET /api/v1/network/{id}/available[?pool=static|reserved][&limit=N]`: the first free
/// addresses of each pool (limit 1..=100, default 25, as the original's UI).
#[handler]
pub(crate) async fn available(
    Data(state): Data<&AppState>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
    Query(params): Query<AvailableParams>,
) -> ApiResult<Json<AvailableJson>> {
    let id = path_id("network", &id, NetworkId)?;
    let network = state.store().network_get(id).await?;
    let limit = params.limit.unwrap_or(25).clamp(1, 100);
    if let Some(pool) = params.pool.as_deref()
        && pool != "static"
        && pool != "reserved"
    {
        return Err(Error::invalid(
            "pool",
            format!("pool must be static or reserved, not {pool:?}"),
        )
        .into());
    }
    let want = |p: &str| params.pool.as_deref().is_none_or(|x| x == p);
    let network = &network;
    let free = |pool| async move {
        state
            .provisioner
            .network_available(network, pool, limit)
            .await
            .map(|v| v.into_iter().map(|a| a.to_string()).collect::<Vec<_>>())
    };
    let static_pool = if want("static") {
        free(Pool::Static).await?
    } else {
        Vec::new()
    };
    let reserved = if want("reserved") {
        free(Pool::Reserved).await?
    } else {
        Vec::new()
    };
    Ok(Json(AvailableJson {
        static_pool,
        reserved,
    }))
}

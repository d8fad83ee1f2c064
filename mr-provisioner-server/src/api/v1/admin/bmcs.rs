//! `/api/v1/bmc` (admins): BMCs. The password is write-only: it is never returned.

use mr_provisioner_core::Error;
use mr_provisioner_core::id::BmcId;
use mr_provisioner_core::model::bmc::{Bmc, NewBmc};
use mr_provisioner_core::policy::Action;
use mr_provisioner_ipmi::{BmcKind, Privilege};
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

/// A BMC as the API shows it: everything but the password.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct BmcJson {
    id: i64,
    name: String,
    address: String,
    port: Option<u16>,
    username: String,
    /// Whether a password is stored (the password itself is never shown).
    password_set: bool,
    /// `plain`, `moonshot`, `redfish` or `sim`.
    #[serde(rename = "type")]
    kind: String,
    privilege: String,
    cipher_suite: Option<u8>,
    retries: Option<u8>,
    timeout_ms: Option<u32>,
}

impl From<Bmc> for BmcJson {
    fn from(b: Bmc) -> Self {
        use secrecy::ExposeSecret;
        BmcJson {
            id: b.id.0,
            password_set: !b.password.expose_secret().is_empty(),
            name: b.name,
            address: b.address,
            port: b.port,
            username: b.username,
            kind: b.kind.to_string(),
            privilege: b.privilege.to_string(),
            cipher_suite: b.cipher_suite,
            retries: b.retries,
            timeout_ms: b.timeout_ms,
        }
    }
}

const KINDS: &[&str] = &["plain", "moonshot", "redfish", "sim"];
const PRIVILEGES: &[&str] = &["callback", "user", "operator", "administrator", "admin"];

const FIELDS: &[crate::api::body::Field] = &[
    req("name", Ty::Str(2, 256)),
    req("address", Ty::Str(1, 253)),
    req("type", Ty::OneOf(KINDS)),
    opt_null("port", Ty::Id),
    opt("username", Ty::Str(0, 256)),
    opt("password", Ty::Str(0, 256)),
    opt("privilege", Ty::OneOf(PRIVILEGES)),
    opt_null("cipher_suite", Ty::Id),
    opt_null("retries", Ty::Id),
    opt_null("timeout_ms", Ty::Id),
];
pub(crate) const CREATE: Schema = Schema {
    fields: FIELDS,
    strict: true,
};

fn small<T: TryFrom<i64>>(b: &Body, key: &str) -> ApiResult<Option<T>> {
    match b.id(key).flatten() {
        None => Ok(None),
        Some(v) => T::try_from(v)
            .map(Some)
            .map_err(|_| Error::invalid(key, format!("{key} {v} is out of range")).into()),
    }
}

/// Applies the fields present in `b` to `new`.
fn apply(b: &Body, new: &mut NewBmc) -> ApiResult<()> {
    if let Some(n) = b.string("name") {
        new.name = n;
    }
    if let Some(a) = b.string("address") {
        new.address = a;
    }
    if let Some(k) = b.string("type") {
        new.kind = k
            .parse::<BmcKind>()
            .map_err(|e| Error::invalid("type", e.to_string()))?;
    }
    if b.has("port") {
        new.port = small(b, "port")?;
    }
    if let Some(u) = b.string("username") {
        new.username = u;
    }
    if let Some(p) = b.string("password") {
        new.password = p.into();
    }
    if let Some(p) = b.string("privilege") {
        new.privilege = p
            .parse::<Privilege>()
            .map_err(|e| Error::invalid("privilege", e.to_string()))?;
    }
    if b.has("cipher_suite") {
        new.cipher_suite = small(b, "cipher_suite")?;
    }
    if b.has("retries") {
        new.retries = small(b, "retries")?;
    }
    if b.has("timeout_ms") {
        new.timeout_ms = small(b, "timeout_ms")?;
    }
    Ok(())
}

/// `GET /api/v1/bmc` (admins).
#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<Vec<BmcJson>>> {
    caller.check(Action::ManageInventory, "Forbidden")?;
    Ok(Json(
        state
            .store()
            .bmc_list()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// `GET /api/v1/bmc/{id}` (admins).
#[handler]
pub(crate) async fn get_one(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<BmcJson>> {
    let id = path_id("BMC", &id, BmcId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    Ok(Json(state.store().bmc_get(id).await?.into()))
}

/// `POST /api/v1/bmc` (admins).
#[handler]
pub(crate) async fn create(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b = CREATE.check(body)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let mut new = NewBmc {
        name: String::new(),
        address: String::new(),
        port: None,
        username: String::new(),
        password: String::new().into(),
        kind: BmcKind::Plain,
        privilege: Privilege::default(),
        cipher_suite: None,
        retries: None,
        timeout_ms: None,
    };
    apply(&b, &mut new)?;
    let bmc = state.store().bmc_create(&new).await?;
    state
        .provisioner
        .audit(
            &caller,
            "bmc.create",
            "bmc",
            Some(bmc.id.0),
            json!({"name": bmc.name, "address": bmc.address}),
        )
        .await;
    Ok(Json(BmcJson::from(bmc))
        .with_status(StatusCode::CREATED)
        .into_response())
}

pub(crate) const UPDATE: Schema = Schema {
    fields: &[
        opt("name", Ty::Str(2, 256)),
        opt("address", Ty::Str(1, 253)),
        opt("type", Ty::OneOf(KINDS)),
        opt_null("port", Ty::Id),
        opt("username", Ty::Str(0, 256)),
        opt("password", Ty::Str(0, 256)),
        opt("privilege", Ty::OneOf(PRIVILEGES)),
        opt_null("cipher_suite", Ty::Id),
        opt_null("retries", Ty::Id),
        opt_null("timeout_ms", Ty::Id),
    ],
    strict: true,
};

/// `PUT /api/v1/bmc/{id}` (admins): the fields given change; an absent password stays.
#[handler]
pub(crate) async fn update(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<BmcJson>> {
    let b = UPDATE.check(body)?;
    let id = path_id("BMC", &id, BmcId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let current = state.store().bmc_get(id).await?;
    let mut new = NewBmc::from(&current);
    apply(&b, &mut new)?;
    let bmc = state.store().bmc_update(id, &new).await?;
    // Which fields changed, never their secret values.
    let fields: Vec<&str> = UPDATE
        .fields
        .iter()
        .map(|f| f.name)
        .filter(|k| b.has(k))
        .collect();
    state
        .provisioner
        .audit(
            &caller,
            "bmc.update",
            "bmc",
            Some(id.0),
            json!({"name": bmc.name, "fields": fields}),
        )
        .await;
    Ok(Json(bmc.into()))
}

/// `DELETE /api/v1/bmc/{id}` (admins). Conflict while a machine uses it.
#[handler]
pub(crate) async fn remove(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id("BMC", &id, BmcId)?;
    caller.check(Action::ManageInventory, "Forbidden")?;
    let bmc = state.store().bmc_get(id).await?;
    state.store().bmc_delete(id).await?;
    state
        .provisioner
        .audit(
            &caller,
            "bmc.delete",
            "bmc",
            Some(id.0),
            json!({"name": bmc.name}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

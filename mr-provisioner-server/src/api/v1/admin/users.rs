//! `/api/v1/user` and `/api/v1/token`: accounts and the caller's own API tokens.

use mr_provisioner_core::accounts::{self, UserRequest};
use mr_provisioner_core::id::{TokenId, UserId};
use mr_provisioner_core::model::token::ApiToken;
use mr_provisioner_core::model::user::{User, UserUpdate};
use mr_provisioner_core::policy::Action;
use mr_provisioner_core::service::Caller;
use mr_provisioner_core::{Error, auth};
use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{IntoResponse, Response, handler};
use serde::Serialize;
use serde_json::json;

use crate::api::auth::Auth;
use crate::api::body::{JsonBody, Schema, Ty, opt, opt_null, req};
use crate::api::error::ApiResult;
use crate::api::v1::path_id;
use crate::state::AppState;

/// A user as the API shows it (never the password hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct UserJson {
    id: i64,
    username: String,
    email: Option<String>,
    admin: bool,
    ssh_key: String,
    created_at: String,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        UserJson {
            id: u.id.0,
            username: u.username,
            email: u.email,
            admin: u.admin,
            ssh_key: u.ssh_key,
            created_at: u.created_at.to_rfc3339(),
        }
    }
}

/// `self` or a user id.
fn user_ref(caller: &Caller, segment: &str) -> ApiResult<UserId> {
    if segment == "self" {
        return Ok(caller.user.id);
    }
    path_id("user", segment, UserId)
}

/// `GET /api/v1/user`: every user for admins; only oneself for others.
#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<Vec<UserJson>>> {
    if !caller.is_admin() {
        return Ok(Json(vec![caller.user.into()]));
    }
    Ok(Json(
        state
            .store()
            .user_list()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// `GET /api/v1/user/{id|self}`: oneself, or anyone for admins.
#[handler]
pub(crate) async fn get_one(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<UserJson>> {
    let id = user_ref(&caller, &id)?;
    caller.check(
        Action::ViewUser {
            own: id == caller.user.id,
        },
        "Forbidden",
    )?;
    Ok(Json(state.store().user_get(id).await?.into()))
}

pub(crate) const CREATE: Schema = Schema {
    fields: &[
        req("username", Ty::Str(2, 128)),
        opt_null("email", Ty::Str(3, 1024)),
        opt("admin", Ty::Bool),
        opt("ssh_key", Ty::Str(0, 512 * 1024)),
        opt("password", Ty::Str(8, 1024)),
    ],
    strict: true,
};

/// `POST /api/v1/user` (admins): `{"username", "email"?, "admin"?, "ssh_key"?,
/// "password"?}`. Without a password one is generated and returned once as `password`.
#[handler]
pub(crate) async fn create(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b = CREATE.check(body)?;
    caller.check(Action::ManageUsers, "Forbidden")?;
    let (password, generated) = match b.string("password") {
        Some(p) => (p, false),
        None => (
            auth::generate_password()
                .map_err(|e| Error::internal("cannot generate a password", e))?,
            true,
        ),
    };
    let user = accounts::create_user(
        state.store(),
        UserRequest {
            username: b.string("username").unwrap_or_default(),
            email: b.string("email"),
            admin: b.bool("admin").unwrap_or(false),
            ssh_key: b.string("ssh_key").unwrap_or_default(),
            password: Some(password.clone()),
        },
    )
    .await?;
    state
        .provisioner
        .audit(
            &caller,
            "user.create",
            "user",
            Some(user.id.0),
            json!({"username": user.username, "admin": user.admin}),
        )
        .await;
    let mut out =
        serde_json::to_value(UserJson::from(user)).map_err(|e| Error::internal("serialise", e))?;
    if generated {
        out["password"] = json!(password);
    }
    Ok(Json(out).with_status(StatusCode::CREATED).into_response())
}

pub(crate) const UPDATE: Schema = Schema {
    fields: &[
        opt("username", Ty::Str(2, 128)),
        opt_null("email", Ty::Str(3, 1024)),
        opt("admin", Ty::Bool),
        opt("ssh_key", Ty::Str(0, 512 * 1024)),
    ],
    strict: true,
};

/// `PUT /api/v1/user/{id|self}`: email and SSH key (oneself or admins); username and admin
/// flag (admins).
#[handler]
pub(crate) async fn update(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<UserJson>> {
    let b = UPDATE.check(body)?;
    let id = user_ref(&caller, &id)?;
    let own = id == caller.user.id;
    caller.check(Action::ViewUser { own }, "Forbidden")?;
    if b.has("username") || b.has("admin") {
        caller.check(
            Action::ManageUsers,
            "only administrators change usernames and the admin flag",
        )?;
    }
    let update = UserUpdate {
        username: b.string("username"),
        email: b.str("email"),
        admin: b.bool("admin"),
        ssh_key: b.string("ssh_key"),
    };
    let user = state.store().user_update(id, &update).await?;
    state.auth_cache.forget_user(id);
    if caller.is_admin() && !own {
        state
            .provisioner
            .audit(
                &caller,
                "user.update",
                "user",
                Some(id.0),
                json!({"username": user.username, "admin": user.admin}),
            )
            .await;
    }
    Ok(Json(user.into()))
}

/// `DELETE /api/v1/user/{id}` (admins). Conflict while the user owns images or configs or
/// holds machines.
#[handler]
pub(crate) async fn remove(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = user_ref(&caller, &id)?;
    caller.check(Action::ManageUsers, "Forbidden")?;
    if id == caller.user.id {
        return Err(Error::conflict("administrators cannot delete themselves").into());
    }
    let user = state.store().user_get(id).await?;
    state.store().user_delete(id).await?;
    state.auth_cache.forget_user(id);
    state
        .provisioner
        .audit(
            &caller,
            "user.delete",
            "user",
            Some(id.0),
            json!({"username": user.username}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) const PASSWORD: Schema = Schema {
    fields: &[
        req("password", Ty::Str(1, 1024)),
        opt("current_password", Ty::Str(0, 1024)),
    ],
    strict: true,
};

/// `PUT /api/v1/user/{id|self}/password`: `{"password", "current_password"}`. Users change
/// their own with their current password; admins set anyone's.
#[handler]
pub(crate) async fn set_password(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<StatusCode> {
    let b = PASSWORD.check(body)?;
    let id = user_ref(&caller, &id)?;
    let own = id == caller.user.id;
    caller.check(Action::ViewUser { own }, "Forbidden")?;
    if own {
        let current = b.string("current_password").unwrap_or_default();
        accounts::login(state.store(), &caller.user.username, &current)
            .await
            .map_err(|_| Error::forbidden("the current password is wrong"))?;
    }
    accounts::set_password(state.store(), id, &b.string("password").unwrap_or_default()).await?;
    if !own {
        state
            .provisioner
            .audit(&caller, "user.passwd", "user", Some(id.0), json!({}))
            .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// An API token as listed (never the secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TokenJson {
    id: i64,
    description: String,
    /// The token's first characters.
    hint: String,
    created_at: String,
    last_used_at: Option<String>,
}

impl From<ApiToken> for TokenJson {
    fn from(t: ApiToken) -> Self {
        TokenJson {
            id: t.id.0,
            description: t.description,
            hint: t.hint,
            created_at: t.created_at.to_rfc3339(),
            last_used_at: t.last_used_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// `GET /api/v1/token`: the caller's tokens.
#[handler]
pub(crate) async fn tokens(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<Vec<TokenJson>>> {
    let mine = state.store().token_list(caller.user.id).await?;
    Ok(Json(mine.into_iter().map(Into::into).collect()))
}

pub(crate) const TOKEN: Schema = Schema {
    fields: &[opt("description", Ty::Str(0, 140))],
    strict: true,
};

/// `POST /api/v1/token`: `{"description"?}` creates a token for the caller; its secret is in
/// `token`, shown only in this answer.
#[handler]
pub(crate) async fn create_token(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let b = TOKEN.check(body)?;
    let (token, secret) = accounts::create_token(
        state.store(),
        caller.user.id,
        &b.string("description").unwrap_or_default(),
    )
    .await?;
    let mut out = serde_json::to_value(TokenJson::from(token))
        .map_err(|e| Error::internal("serialise", e))?;
    out["token"] = json!(secret);
    Ok(Json(out).with_status(StatusCode::CREATED).into_response())
}

/// `DELETE /api/v1/token/{id}`: revokes one of the caller's tokens (admins: anyone's).
#[handler]
pub(crate) async fn revoke_token(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id("token", &id, TokenId)?;
    let token = state.store().token_get(id).await?;
    let own = token.user_id == caller.user.id;
    if !own && !caller.is_admin() {
        // Someone else's token: as good as not there.
        return Err(Error::not_found("token", id).into());
    }
    state.store().token_delete(id).await?;
    state.auth_cache.forget_token(id);
    if !own {
        state
            .provisioner
            .audit(
                &caller,
                "token.revoke",
                "token",
                Some(id.0),
                json!({"user_id": token.user_id}),
            )
            .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

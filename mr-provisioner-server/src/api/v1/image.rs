//! `/api/v1/image`: kernels, initrds and bootloaders.

use std::collections::HashMap;

use mr_provisioner_core::Error;
use mr_provisioner_core::id::ImageId;
use mr_provisioner_core::model::image::{Image, ImageKind};
use mr_provisioner_core::service::{ImageChange, ImageUpload};
use poem::http::StatusCode;
use poem::web::{Data, Json, Multipart, Path, Query};
use poem::{IntoResponse, Response, handler};

use super::json::ImageJson;
use super::{ShowAll, path_id};
use crate::api::auth::Auth;
use crate::api::body::{JsonBody, Schema, Ty, opt, opt_null, req};
use crate::api::error::{ApiError, ApiResult};
use crate::state::AppState;

const KINDS: &[&str] = &["Kernel", "Initrd", "bootloader"];

/// Turns images into their JSON, with arch and owner names looked up once per request.
async fn to_json(state: &AppState, images: Vec<Image>) -> ApiResult<Vec<ImageJson>> {
    let store = state.store();
    let archs: HashMap<_, _> = store
        .arch_list()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let users: HashMap<_, _> = store
        .user_list()
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    Ok(images
        .into_iter()
        .map(|i| {
            let arch = archs.get(&i.arch_id).cloned();
            let user = i.owner_id.and_then(|o| users.get(&o).cloned());
            ImageJson::new(i, arch, user)
        })
        .collect())
}

async fn one_json(state: &AppState, image: Image) -> ApiResult<ImageJson> {
    let arch = state
        .store()
        .arch_get(image.arch_id)
        .await
        .ok()
        .map(|a| a.name);
    let user = match image.owner_id {
        Some(o) => state.store().user_get(o).await.ok().map(|u| u.username),
        None => None,
    };
    Ok(ImageJson::new(image, arch, user))
}

/// `GET /api/v1/image[?show_all=true]`: the caller's images, or all they may see.
#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Query(params): Query<ShowAll>,
) -> ApiResult<Json<Vec<ImageJson>>> {
    let images = state.provisioner.images(&caller, params.on()).await?;
    Ok(Json(to_json(state, images).await?))
}

pub(crate) const META: Schema = Schema {
    fields: &[
        req("type", Ty::OneOf(KINDS)),
        opt_null("description", Ty::Str(0, 256)),
        opt_null("arch", Ty::Str(0, 256)),
        opt("known_good", Ty::Bool),
        opt("public", Ty::Bool),
    ],
    strict: false,
};

/// `POST /api/v1/image`, `multipart/form-data` with a text field `q` (JSON metadata:
/// `type`, `arch`, `description`?, `known_good`?, `public`?) followed by the file part
/// `file`. The file is streamed to disk, never held in memory.
#[handler]
pub(crate) async fn upload(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    form: poem::Result<Multipart>,
) -> ApiResult<Response> {
    // The original crashed (500) on anything but a multipart form.
    let mut form = form.map_err(|e| {
        Error::bad_request(format!(
            "an image upload is a multipart/form-data body with the fields `q` and `file` ({e})"
        ))
    })?;
    let bad_form = |e: poem::error::ParseMultipartError| {
        ApiError::BadJson(format!("malformed multipart body: {e}"))
    };
    let mut meta: Option<ImageUpload> = None;
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        match field.name() {
            Some("q") => {
                let text = field.text().await.map_err(bad_form)?;
                let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    ApiError::BadJson(format!("the `q` field is not valid JSON: {e}"))
                })?;
                let b = META.check(value)?;
                meta = Some(ImageUpload {
                    kind: b.string("type").unwrap_or_default().parse()?,
                    description: b.string("description"),
                    arch: match b.str("arch") {
                        None => return Err(Error::invalid("arch", "arch is required").into()),
                        Some(a) => a.unwrap_or_default(),
                    },
                    known_good: b.bool("known_good").unwrap_or(false),
                    public: b.bool("public").unwrap_or(false),
                    client_filename: String::new(),
                });
            }
            Some("file") => {
                let Some(mut m) = meta.take() else {
                    return Err(Error::bad_request(
                        "the `q` field must come before the `file` part",
                    )
                    .into());
                };
                m.client_filename = field.file_name().unwrap_or_default().to_string();
                let reader = Box::pin(field.into_async_read());
                let image = state
                    .provisioner
                    .upload_image(&caller, m, reader)
                    .await
                    .map_err(|e| {
                        if mr_provisioner_core::files::is_too_large(&e) {
                            ApiError::TooLarge(state.provisioner.settings.max_upload_size)
                        } else {
                            ApiError::Domain(e)
                        }
                    })?;
                let json = one_json(state, image).await?;
                return Ok(Json(json).with_status(StatusCode::CREATED).into_response());
            }
            // Other fields are ignored, as the original did.
            _ => {}
        }
    }
    if meta.is_none() {
        return Err(Error::bad_request("multipart `q` is required").into());
    }
    Err(Error::bad_request("multipart `file` is required").into())
}

fn image_id(segment: &str) -> ApiResult<ImageId> {
    path_id("image", segment, ImageId)
}

/// `GET /api/v1/image/{id}`.
#[handler]
pub(crate) async fn get_one(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ImageJson>> {
    let image = state.provisioner.image(&caller, image_id(&id)?).await?;
    Ok(Json(one_json(state, image).await?))
}

pub(crate) const UPDATE: Schema = Schema {
    fields: &[
        opt("type", Ty::OneOf(KINDS)),
        opt_null("description", Ty::Str(0, 256)),
        opt_null("arch", Ty::Str(0, 256)),
        opt("known_good", Ty::Bool),
        opt("public", Ty::Bool),
    ],
    strict: false,
};

/// `PUT /api/v1/image/{id}`: metadata (owner or admin).
#[handler]
pub(crate) async fn update(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<ImageJson>> {
    let id = image_id(&id)?;
    let b = UPDATE.check(body)?;
    let change = ImageChange {
        kind: b
            .string("type")
            .map(|t| t.parse::<ImageKind>())
            .transpose()?,
        description: b.str("description"),
        arch: b.str("arch"),
        known_good: b.bool("known_good"),
        public: b.bool("public"),
    };
    let image = state.provisioner.update_image(&caller, id, change).await?;
    Ok(Json(one_json(state, image).await?))
}

/// `DELETE /api/v1/image/{id}` (owner or admin): the record and its file.
#[handler]
pub(crate) async fn remove(
    Data(state): Data<&AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .provisioner
        .delete_image(&caller, image_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

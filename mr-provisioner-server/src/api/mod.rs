//! The HTTP application: routes, error mapping and authentication.

mod auth;
pub(crate) mod auth_cache;
mod body;
mod dhcp;
mod error;
mod netboot;
mod v1;

use poem::middleware::Tracing;
use poem::web::{Data, Json};
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, get, handler, http::StatusCode};

use error::ApiError;

use crate::state::AppState;

/// The whole HTTP application, as served by `mr-provisioner serve` and used by every test.
pub fn app(state: AppState) -> impl Endpoint {
    dhcp::mount(netboot::mount(Route::new()))
        .at("/healthz", get(healthz))
        .nest(
            "/api/v1",
            v1::routes()
                .catch_all_error(json_error)
                .around(report_changes)
                // As the original: scripts in other origins may call the API with a token
                // (never with cookies: no credentials are allowed).
                .with(
                    poem::middleware::Cors::new()
                        .allow_credentials(false)
                        .allow_headers(["authorization", "content-type", "x-requested-with"])
                        .max_age(3600),
                ),
        )
        .data(state)
        .with(poem::middleware::CatchPanic::new().with_handler(panic_response))
        .with(Tracing)
}

/// After a successful change through the API (any method but GET, HEAD and OPTIONS),
/// tells the state, so that what follows from it (Kea's host reservations) is redone now.
async fn report_changes<E: Endpoint>(
    ep: std::sync::Arc<E>,
    req: poem::Request,
) -> poem::Result<Response> {
    use poem::http::Method;
    let state = match *req.method() {
        Method::GET | Method::HEAD | Method::OPTIONS => None,
        _ => req.data::<AppState>().cloned(),
    };
    let resp = ep.call(req).await?.into_response();
    if let Some(state) = state
        && resp.status().is_success()
    {
        state.changed();
    }
    Ok(resp)
}

/// A handler that panicked: 500 in the API's envelope, the connection kept.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    error::error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "internal error",
    )
}

/// Errors poem raises itself under `/api/v1` (no route, wrong method, bad path or query
/// parameters) in the API's JSON envelope.
async fn json_error(err: poem::Error) -> Response {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return poem::error::ResponseError::as_response(api);
    }
    let status = err.status();
    let error_type = match status {
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
        StatusCode::PAYLOAD_TOO_LARGE => "RequestEntityTooLarge",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
        s if s.is_server_error() => "InternalError",
        _ => "BadRequest",
    };
    let message = if status.is_server_error() {
        "internal error".to_string()
    } else {
        err.to_string()
    };
    error::error_response(status, error_type, &message)
}

/// Liveness and readiness: 200 when the database answers, 503 when it does not.
#[handler]
async fn healthz(Data(state): Data<&AppState>) -> Response {
    match state.store().ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ok", "database": "ok"})).into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: database unavailable");
            Json(serde_json::json!({"status": "unavailable", "database": "unavailable"}))
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .into_response()
        }
    }
}

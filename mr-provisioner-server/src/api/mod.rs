//! The HTTP application: routes, error mapping and authentication.

mod auth;
mod error;
mod v1;

use poem::middleware::Tracing;
use poem::web::{Data, Json};
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, get, handler, http::StatusCode};

use crate::state::AppState;

/// The whole HTTP application, as served by `mr-provisioner serve` and used by every test.
pub fn app(state: AppState) -> impl Endpoint {
    Route::new()
        .at("/healthz", get(healthz))
        .nest("/api/v1", v1::routes())
        .data(state)
        .with(Tracing)
}

/// Liveness and readiness: 200 when the database answers, 503 when it does not.
#[handler]
async fn healthz(Data(state): Data<&AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ok", "database": "ok"})).into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: database unavailable");
            Json(serde_json::json!({"status": "unavailable", "database": "unavailable"}))
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .into_response()
        }
    }
}

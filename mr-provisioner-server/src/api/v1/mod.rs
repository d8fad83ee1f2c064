//! REST API v1, wire-compatible with the original's, plus the administrative resources the
//! original only had in its GraphQL UI.

mod admin;
mod assignee;
mod catalog;
mod image;
mod interface;
pub(crate) mod json;
mod machine;
mod power;
mod preseed;

use mr_provisioner_core::Error;
use poem::{Route, get, handler};

use super::auth::Auth;
use super::error::{ApiError, ApiResult};

/// Parses an id from a path segment as the original's routing did: anything but digits is
/// no route at all (404 from the catch-all); digits beyond the id range name nothing of
/// `kind`.
pub(crate) fn path_id<T>(
    kind: &'static str,
    segment: &str,
    make: impl FnOnce(i64) -> T,
) -> ApiResult<T> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::NoRoute);
    }
    segment
        .parse::<i64>()
        .map(make)
        .map_err(|_| ApiError::Domain(Error::not_found(kind, segment)))
}

/// `show_all`: on only for exactly `true`, in any case (as the original).
pub(crate) fn show_all(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The `show_all` query parameter.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ShowAll {
    show_all: Option<String>,
}

impl ShowAll {
    pub(crate) fn on(&self) -> bool {
        show_all(self.show_all.as_deref())
    }
}

/// Any other GET under `/api/v1`: the API's root redirects to the documentation; anything
/// else is authenticated, then 404 (as the original's catch-all).
#[handler]
pub(crate) async fn catch_all(req: &poem::Request) -> poem::Result<poem::Response> {
    use poem::{FromRequest, IntoResponse};
    if req.original_uri().path().trim_end_matches('/') == "/api/v1" {
        return Ok(poem::web::Redirect::see_other("/api/v1/docs").into_response());
    }
    Auth::from_request_without_body(req).await?;
    Err(ApiError::NoRoute.into())
}

/// `GET /api/v1/openapi.json`: the OpenAPI document (no authentication).
#[handler]
fn openapi_json() -> poem::web::Json<serde_json::Value> {
    poem::web::Json(catalog::openapi())
}

/// `GET /api/v1/docs`: a page that renders the OpenAPI document (no authentication).
#[handler]
fn docs_page() -> poem::web::Html<&'static str> {
    poem::web::Html(include_str!("docs.html"))
}

/// The `/api/v1` routes: every operation of the catalog, then the catch-all.
pub(super) fn routes() -> Route {
    catalog::routes().at("/*path", get(catch_all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_paths() {
        assert_eq!(path_id("machine", "42", |i| i).unwrap(), 42);
        for no_route in ["", "x", "-1", "+1", "1.0", "4 2"] {
            assert!(
                matches!(path_id("machine", no_route, |i| i), Err(ApiError::NoRoute)),
                "{no_route}"
            );
        }
        let e = path_id("machine", "99999999999999999999", |i| i).unwrap_err();
        assert_eq!(e.to_string(), "machine not found");
    }

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

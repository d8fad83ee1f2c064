//! REST API v1, wire-compatible with the original's, plus the administrative resources the
//! original only had in its GraphQL UI.

mod admin;
mod assignee;
mod image;
mod interface;
pub(crate) mod json;
mod machine;
mod power;
mod preseed;

use mr_provisioner_core::Error;
use poem::web::Data;
use poem::{Route, get, handler, post};

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use crate::state::AppState;

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

/// Any other GET under `/api/v1`: authenticated, then 404 (as the original's catch-all).
#[handler]
async fn catch_all(_state: Data<&AppState>, _auth: Auth) -> ApiResult<()> {
    Err(ApiError::NoRoute)
}

/// `/api/v1` and `/api/v1/` lead to the browsable API documentation (no authentication).
#[handler]
fn index() -> poem::web::Redirect {
    poem::web::Redirect::see_other("/api/v1/docs")
}

/// The `/api/v1` routes.
pub(super) fn routes() -> Route {
    admin::routes(Route::new())
        .at("/", get(index))
        .at("/machine", get(machine::list).post(machine::create))
        .at(
            "/machine/reservation",
            post(machine::reserve).get(catch_all),
        )
        .at(
            "/machine/:id",
            get(machine::get_one)
                .put(machine::update)
                .patch(machine::update_inventory)
                .delete(machine::remove),
        )
        .at(
            "/machine/:id/interface",
            get(interface::list).post(interface::create),
        )
        .at(
            "/machine/:id/interface/:iid",
            get(interface::get_one)
                .put(interface::update)
                .delete(interface::remove),
        )
        .at(
            "/machine/:id/assignee",
            get(assignee::list).post(assignee::create),
        )
        .at(
            "/machine/:id/assignee/:aid",
            get(assignee::get_one)
                .put(assignee::update)
                .delete(assignee::remove),
        )
        .at("/machine/:id/power", get(power::status).post(power::change))
        .at(
            "/machine/:id/state",
            get(power::get_state)
                .post(power::provision)
                .put(power::set_state),
        )
        .at("/machine/:id/console", post(power::console))
        .at("/machine/:id/event", get(admin::events))
        .at("/image", get(image::list).post(image::upload))
        .at(
            "/image/:id",
            get(image::get_one).put(image::update).delete(image::remove),
        )
        .at("/preseed", get(preseed::list).post(preseed::create))
        .at(
            "/preseed/:id",
            get(preseed::get_one)
                .put(preseed::update)
                .delete(preseed::remove),
        )
        .at("/*path", get(catch_all))
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

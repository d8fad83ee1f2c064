//! Administrative resources under `/api/v1` that the original only had in its GraphQL UI:
//! users, tokens, BMCs, archs and subarchs, networks, discovered MACs, assignments, machine
//! events and the audit log. Same error model as the rest of the API.

mod archs;
mod bmcs;
mod logs;
mod networks;
mod users;

use poem::{Route, delete, get, post, put};

pub(crate) use logs::events;

/// Paging of newest-first listings: `?before=<id>&limit=<n>` (limit 1..=500, default 100).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct PageParams {
    before: Option<i64>,
    limit: Option<u64>,
}

impl PageParams {
    pub(crate) fn page(&self) -> mr_provisioner_core::store::Page {
        mr_provisioner_core::store::Page {
            before: self.before,
            limit: self.limit.unwrap_or(100).clamp(1, 500),
        }
    }
}

/// Adds the administrative routes to the `/api/v1` routes.
pub(super) fn routes(route: Route) -> Route {
    route
        .at("/user", get(users::list).post(users::create))
        .at(
            "/user/:id",
            get(users::get_one).put(users::update).delete(users::remove),
        )
        .at("/user/:id/password", put(users::set_password))
        .at("/token", get(users::tokens).post(users::create_token))
        .at("/token/:id", delete(users::revoke_token))
        .at("/bmc", get(bmcs::list).post(bmcs::create))
        .at(
            "/bmc/:id",
            get(bmcs::get_one).put(bmcs::update).delete(bmcs::remove),
        )
        .at("/arch", get(archs::list).post(archs::create))
        .at(
            "/arch/:id",
            get(archs::get_one).put(archs::update).delete(archs::remove),
        )
        .at(
            "/arch/:id/subarch",
            get(archs::subarchs).post(archs::create_subarch),
        )
        .at(
            "/subarch/:id",
            get(archs::get_subarch)
                .put(archs::update_subarch)
                .delete(archs::remove_subarch),
        )
        .at("/network", get(networks::list).post(networks::create))
        .at(
            "/network/:id",
            get(networks::get_one)
                .put(networks::update)
                .delete(networks::remove),
        )
        .at("/network/:id/available", get(networks::available))
        .at("/discovered", get(logs::discovered))
        .at("/discovered/:id", delete(logs::forget_discovered))
        .at("/discovered/:id/machine", post(logs::adopt_discovered))
        .at("/assignment", get(logs::assignments))
        .at("/audit", get(logs::audit))
}

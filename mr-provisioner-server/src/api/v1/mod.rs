//! REST API v1, wire-compatible with the original's.

mod machine;

use poem::{Route, get};

/// The `/api/v1` routes.
pub(super) fn routes() -> Route {
    Route::new().at("/machine", get(machine::list))
}

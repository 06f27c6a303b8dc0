//! The device-facing API: the router of the `register` function (API.md, "Device-facing").

use axum::Router;

use crate::{Shared, common, register};

pub fn register_router(registry: Shared) -> Router {
    common::finish(Router::new().merge(register::routes()), registry)
}

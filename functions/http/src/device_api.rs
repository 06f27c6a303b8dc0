//! The device-facing API: the router of the `register` function (API.md, "Device-facing").

use axum::Router;

use crate::served::{self, Route};
use crate::{
    Shared, bulk, common, deregistration, evidence, holds, owners, register, reports, virtual_ids,
};

pub(crate) fn routes() -> Vec<Route> {
    [
        register::routes(),
        virtual_ids::routes(),
        owners::routes(),
        reports::routes(),
        bulk::routes(),
        holds::routes(),
        deregistration::routes(),
        evidence::routes(),
    ]
    .concat()
}

pub fn register_router(registry: Shared) -> Router {
    common::finish(served::router(routes()), registry)
}

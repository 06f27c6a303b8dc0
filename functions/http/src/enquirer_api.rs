//! The enquirer-facing API: the router of the `interrogate` function (API.md, "Enquirer-facing").

use axum::Router;

use crate::served::{self, Route};
use crate::{
    Shared, common, enquirers, lookups, openapi, published, statistics, status_lists, subscriptions,
};

pub(crate) fn routes() -> Vec<Route> {
    [
        enquirers::routes(),
        lookups::routes(),
        published::routes(),
        subscriptions::routes(),
        status_lists::routes(),
        statistics::routes(),
        openapi::routes(),
    ]
    .concat()
}

pub fn interrogate_router(registry: Shared) -> Router {
    common::finish(served::router(routes()), registry)
}

//! The enquirer-facing API: the router of the `interrogate` function (API.md, "Enquirer-facing").

use axum::Router;

use crate::{Shared, common, published};

pub fn interrogate_router(registry: Shared) -> Router {
    common::finish(Router::new().merge(published::routes()), registry)
}

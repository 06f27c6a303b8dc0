//! The device-facing API: the router of the `register` function (API.md, "Device-facing").

use axum::Router;

use crate::{
    Shared, bulk, common, holds, owners, register, reports, trust_domains, virtual_ids,
    vulnerabilities,
};

pub fn register_router(registry: Shared) -> Router {
    common::finish(
        Router::new()
            .merge(register::routes())
            .merge(virtual_ids::routes())
            .merge(owners::routes())
            .merge(reports::routes())
            .merge(trust_domains::routes())
            .merge(bulk::routes())
            .merge(vulnerabilities::routes())
            .merge(holds::routes()),
        registry,
    )
}

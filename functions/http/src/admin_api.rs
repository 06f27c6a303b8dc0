//! Registry administration: the router of the `admin` function (API.md, "Administration").

use axum::Router;

use crate::served::{self, Route};
use crate::{
    Shared, audit, audit_log, common, enquirers, links, notifications, roots, trust_domains,
    vulnerabilities,
};

pub(crate) fn routes() -> Vec<Route> {
    [
        roots::routes(),
        trust_domains::routes(),
        enquirers::admin_routes(),
        vulnerabilities::routes(),
        audit::routes(),
        audit_log::routes(),
        notifications::routes(),
        links::routes(),
    ]
    .concat()
}

pub fn admin_router(registry: Shared) -> Router {
    common::finish(served::router(routes()), registry)
}

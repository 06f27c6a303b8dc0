//! The routes a module serves, each bound to its declaration in `ROUTES` by name (`Op`), so a
//! handler cannot be served on a path or method `ROUTES` does not declare.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{self, MethodRouter};

use crate::Shared;
use crate::routes::Op;

#[derive(Clone)]
pub(crate) struct Route {
    pub method: &'static str,
    pub path: &'static str,
    handler: MethodRouter<Shared>,
}

impl Route {
    /// Wraps this route's handler, e.g. with a body limit of its own.
    pub fn map(mut self, f: impl FnOnce(MethodRouter<Shared>) -> MethodRouter<Shared>) -> Self {
        self.handler = f(self.handler);
        self
    }
}

/// The handler of the route `op` declares (`ROUTES`): its method and path come from there.
pub(crate) fn serve<H, T>(op: Op, handler: H) -> Route
where
    H: Handler<T, Shared>,
    T: 'static,
{
    let spec = op.spec();
    // `ROUTES` declares only these four (routes::tests).
    let handler = match spec.method {
        "GET" => routing::get(handler),
        "PUT" => routing::put(handler),
        "DELETE" => routing::delete(handler),
        _ => routing::post(handler),
    };
    Route {
        method: spec.method,
        path: spec.path,
        handler,
    }
}

/// The axum router of these routes (a path served with several methods merges them).
pub(crate) fn router(routes: Vec<Route>) -> Router<Shared> {
    routes.into_iter().fold(Router::new(), |router, route| {
        router.route(route.path, route.handler)
    })
}

/// `(method, path)` of each route, in order.
pub(crate) fn listed(routes: &[Route]) -> Vec<(&'static str, &'static str)> {
    routes.iter().map(|r| (r.method, r.path)).collect()
}

//! The routes a module serves, each named by the method and path template it answers, so the
//! routers can be checked against `ROUTES` (an unlisted route cannot hide in a router).

use axum::Router;
use axum::handler::Handler;
use axum::routing::{self, MethodRouter};

use crate::Shared;

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

macro_rules! method {
    ($name:ident, $method:literal) => {
        pub(crate) fn $name<H, T>(path: &'static str, handler: H) -> Route
        where
            H: Handler<T, Shared>,
            T: 'static,
        {
            Route {
                method: $method,
                path,
                handler: routing::$name(handler),
            }
        }
    };
}

method!(get, "GET");
method!(post, "POST");
method!(put, "PUT");
method!(delete, "DELETE");

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

//! Each function's router serves exactly the routes `ROUTES` assigns to it.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::routes::{FUNCTIONS, ROUTES};
use crate::{PROBLEM_BASE, admin_router, interrogate_router, register_router, served_routes};
use trustreg_core::fakes::FakeRegistry;

/// The three functions' routers over one in-memory registry.
pub(crate) fn routers() -> Vec<(&'static str, Router)> {
    let registry = Arc::new(
        FakeRegistry::builder()
            .clock_at(1_800_000_000_000)
            .build()
            .registry,
    );
    vec![
        ("register", register_router(registry.clone())),
        ("interrogate", interrogate_router(registry.clone())),
        ("admin", admin_router(registry)),
    ]
}

/// A concrete path for a template: every parameter a plausible value.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// The problem code when the router's fallbacks answered: no handler for this method and path.
async fn fallback_code(router: &Router, method: &str, path: &str) -> Option<String> {
    let request = Request::builder()
        .method(method)
        .uri(concrete(path))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let code = body["type"].as_str()?.strip_prefix(PROBLEM_BASE)?;
    matches!(code, "not-found" | "method-not-allowed").then(|| code.to_owned())
}

// Y.3059 9.1 iv
// The routes each router is built from are the table's for its function, no more, no less.
#[test]
fn each_router_is_built_from_its_functions_routes() {
    let mut all = BTreeSet::new();
    for function in FUNCTIONS {
        let served = served_routes(function);
        let unique: BTreeSet<_> = served.iter().copied().collect();
        assert_eq!(
            unique.len(),
            served.len(),
            "{function} serves a route twice"
        );
        let listed: BTreeSet<_> = ROUTES
            .iter()
            .filter(|r| r.function == *function)
            .map(|r| (r.method, r.path))
            .collect();
        assert_eq!(unique, listed, "{function}");
        all.extend(unique);
    }
    assert_eq!(all.len(), ROUTES.len(), "a route of ROUTES has no function");
    assert!(served_routes("nobody").is_empty());
}

// Y.3059 9.1 iv
// Probed through HTTP: each route of the table reaches a handler of its function's router and
// only there; the other routers answer 404 or 405 problems.
#[tokio::test]
async fn each_route_is_answered_by_its_function_only() {
    let routers = routers();
    for route in ROUTES {
        for (function, router) in &routers {
            let fallback = fallback_code(router, route.method, route.path).await;
            if route.function == *function {
                assert_eq!(
                    fallback, None,
                    "{} {} on {function}",
                    route.method, route.path
                );
            } else {
                assert!(
                    fallback.is_some(),
                    "{} {} is also served by {function}",
                    route.method,
                    route.path
                );
            }
        }
    }
}

// Every router refuses a path whose segment would make an oversized store key, whatever the
// route, before its handler: 414, a problem. One just under the bound reaches the handler.
#[tokio::test]
async fn an_oversized_path_segment_is_refused_before_any_handler() {
    let long = "7".repeat(crate::common::MAX_PATH_SEGMENT + 1);
    for (function, router) in routers() {
        for route in ROUTES.iter().filter(|r| r.function == function) {
            let path = route
                .path
                .split('/')
                .map(|s| if s.starts_with('{') { long.as_str() } else { s })
                .collect::<Vec<_>>()
                .join("/");
            if path == route.path {
                continue;
            }
            let request = Request::builder()
                .method(route.method)
                .uri(&path)
                .body(Body::empty())
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), 414, "{} {}", route.method, route.path);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let problem: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(problem["type"], format!("{PROBLEM_BASE}uri-too-long"));
        }
    }
    let (_, interrogate) = routers().remove(1);
    let fits = "7".repeat(crate::common::MAX_PATH_SEGMENT);
    let request = Request::builder()
        .uri(format!("/v1/devices/{fits}"))
        .body(Body::empty())
        .unwrap();
    let response = interrogate.oneshot(request).await.unwrap();
    assert_eq!(
        response.status(),
        400,
        "an invalid identifier, not too long"
    );
}

//! API Gateway sends every route of `functions/http/src/routes.rs` to the function that serves
//! it: a route that reaches another function's router is a `not-found` or
//! `method-not-allowed` problem there, and a path API Gateway does not know is its own error.
// card C6
// card C7
#![allow(clippy::unwrap_used)]

use trustreg_http::ROUTES;
use trustreg_tests::{Stack, send};

/// A concrete path for a route template: placeholders become values no handler knows.
fn concrete(template: &str, path: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{regdevid}" | "{id}" => path.to_owned() + ":imei:356938035643809",
            s if s.starts_with('{') => "x".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_reaches_the_function_that_serves_it() {
    let stack = Stack::deployed();
    let api = stack.api_url();
    let registry_path = stack.output("RegistryPath");
    let mut misrouted = Vec::new();
    for route in ROUTES {
        let path = concrete(route.path, registry_path);
        let answer = send(
            route.method,
            format!("{api}{path}"),
            None,
            Some(("application/json", "{}".into())),
        )
        .await;
        let (status, content_type) = (answer.status, answer.content_type.as_str());
        let body = answer.body.to_string();
        // API Gateway's own refusals are JSON `{"message": ...}`; ours are problems.
        let ours = if status >= 400 {
            content_type.starts_with("application/problem+json")
        } else {
            content_type.starts_with("application/json")
                || content_type.starts_with("text/markdown")
        };
        let elsewhere =
            body.contains("problems/not-found\"") || body.contains("problems/method-not-allowed\"");
        if !ours || elsewhere || status >= 500 {
            misrouted.push(format!(
                "{} {} ({}): {status} {content_type} {body}",
                route.method, route.path, route.function
            ));
        }
    }
    assert!(misrouted.is_empty(), "misrouted:\n{}", misrouted.join("\n"));
}

//! CORS on every router: the portal, served from another origin, can preflight any route and
//! read every answer, problems included.
// card C5
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use crate::PROBLEM_JSON;
use crate::routers_tests::routers;
use crate::routes::ROUTES;

const PORTAL: &str = "http://127.0.0.1:8080";

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with('{') {
                "IN1.HLT.P07:imei:356938035643809"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn call(router: &Router, request: Request<Body>) -> Response<Body> {
    router.clone().oneshot(request).await.unwrap()
}

fn header_of(response: &Response<Body>, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} in {:?}", response.headers()))
}

// card C5
// Every route, on every function's router (API Gateway sends a path's OPTIONS to whichever
// function has its ANY), and a path no router serves: a 204 that allows the route's method
// with the bearer token and a JSON body, from any origin.
#[tokio::test]
async fn every_router_answers_preflights_on_any_path() {
    let routers = routers();
    let paths = ROUTES
        .iter()
        .map(|r| (r.method, concrete(r.path)))
        .chain([("GET", "/v1/no-such-thing".to_owned())]);
    for (method, path) in paths {
        for (function, router) in &routers {
            let request = Request::builder()
                .method("OPTIONS")
                .uri(&path)
                .header(header::ORIGIN, PORTAL)
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, method)
                .header(
                    header::ACCESS_CONTROL_REQUEST_HEADERS,
                    "authorization,content-type",
                )
                .body(Body::empty())
                .unwrap();
            let response = call(router, request).await;
            assert_eq!(
                response.status(),
                StatusCode::NO_CONTENT,
                "OPTIONS {path} on {function}"
            );
            assert_eq!(
                header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
                "*"
            );
            let methods = header_of(&response, header::ACCESS_CONTROL_ALLOW_METHODS);
            assert!(
                methods.split(", ").any(|m| m == method),
                "{method} not in {methods}"
            );
            assert_eq!(
                header_of(&response, header::ACCESS_CONTROL_ALLOW_HEADERS),
                "authorization, content-type"
            );
            let max_age: u32 = header_of(&response, header::ACCESS_CONTROL_MAX_AGE)
                .parse()
                .unwrap();
            assert!(max_age > 0);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert!(body.is_empty());
        }
    }
}

// card C5
// Answers and problems alike carry the origin header, so the portal can read why a request
// failed (and the bearer challenge of a 401) rather than see an opaque network error.
#[tokio::test]
async fn every_answer_allows_any_origin_problems_included() {
    let routers = routers();
    let interrogate = &routers[1].1;
    let cases = [
        ("GET", "/v1/registry", None, StatusCode::OK),
        ("GET", "/v1/devices", None, StatusCode::UNAUTHORIZED),
        (
            "GET",
            "/v1/devices/not-an-id",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/v1/devices",
            Some("Bearer forged"),
            StatusCode::UNAUTHORIZED,
        ),
        ("GET", "/v1/no-such-thing", None, StatusCode::NOT_FOUND),
        (
            "PATCH",
            "/v1/registry",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, path, authorization, status) in cases {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::ORIGIN, PORTAL);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = call(interrogate, request.body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), status, "{method} {path}");
        assert_eq!(
            header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "*",
            "{method} {path}"
        );
        let exposed = header_of(&response, header::ACCESS_CONTROL_EXPOSE_HEADERS);
        assert!(exposed.contains("www-authenticate"), "{exposed}");
        if status.is_client_error() {
            assert_eq!(header_of(&response, header::CONTENT_TYPE), PROBLEM_JSON);
        }
    }
    // The other routers too: their own problems.
    for (function, router) in &routers[..] {
        let request = Request::builder()
            .uri("/v1/nowhere")
            .header(header::ORIGIN, PORTAL)
            .body(Body::empty())
            .unwrap();
        let response = call(router, request).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{function}");
        assert_eq!(
            header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "*"
        );
    }
}

//! CORS for the enquirer portal (card C5), a client-side app served from another origin (the
//! stack's S3 bucket, or a loopback server) that calls the API with `Authorization: Bearer`.
//!
//! Any origin is allowed: the API uses no cookies, so a browser sends no ambient credential a
//! foreign page could abuse; access rests on the bearer token or the signed body alone. One
//! layer on every router, outside the routes and fallbacks, so no handler and no problem can
//! forget the headers. Preflights are answered here on any path: API Gateway sends a path's
//! `OPTIONS` to whichever function has its `ANY` (not always the one that serves its `GET`), and
//! what a preflight allows is the same for the whole API.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Every method some route of `ROUTES` answers to.
pub const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE, OPTIONS";
/// The non-safelisted request headers the API reads: the bearer token, and JSON or JOSE bodies.
pub const ALLOW_HEADERS: &str = "authorization, content-type";
/// How long a browser may reuse a preflight: Chromium caps this at two hours anyway.
pub const MAX_AGE_SECONDS: &str = "7200";
/// Answer headers the portal reads beyond the safelisted ones: the bearer challenge of a 401
/// (RFC 6750, 3) and where a registration or sign-up lives.
pub const EXPOSE_HEADERS: &str = "location, www-authenticate";

pub(crate) async fn cors(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        allow_any_origin(headers);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE_SECONDS),
        );
        headers.insert(header::ALLOW, HeaderValue::from_static(ALLOW_METHODS));
        return response;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    allow_any_origin(headers);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    response
}

fn allow_any_origin(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

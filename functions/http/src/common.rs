//! What every router of the API shares: the problem answers for unknown routes and methods,
//! the body limit, CORS, and the access log.

use std::time::Instant;
use trustreg_core::error::ErrorCode;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::body::BODY_LIMIT;
use crate::problem::Problem;

/// `routes` with the shared fallbacks and layers, bound to the registry.
pub(crate) fn finish(routes: Router<Shared>, registry: Shared) -> Router {
    let limiter = crate::rate::Limiter::new(registry.config().rate_limits);
    routes
        .route_layer(middleware::from_fn_with_state(
            registry.clone(),
            crate::access::enforce,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(bounded_path))
        .layer(middleware::from_fn_with_state(limiter, crate::rate::limit))
        .layer(middleware::from_fn(crate::cors::cors))
        .layer(middleware::from_fn(access_log))
        .with_state(registry)
}

/// The longest path segment, decoded: every identifier of the API fits (a RegDevID with a long
/// serial number), and a store key made from it stays far below DynamoDB's limits (partition
/// key 2,048 bytes, sort key 1,024:
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
pub const MAX_PATH_SEGMENT: usize = 256;

/// Refuses a path with an oversized segment before any handler (and so any store call) sees
/// it: 414, as an oversized id would otherwise become an oversized key.
async fn bounded_path(request: Request, next: Next) -> Response {
    let oversized = request.uri().path().split('/').any(|segment| {
        segment.len() > MAX_PATH_SEGMENT
            && percent_encoding::percent_decode_str(segment).count() > MAX_PATH_SEGMENT
    });
    if oversized {
        return Problem::new(
            ErrorCode::UriTooLong,
            format!("a path segment is longer than {MAX_PATH_SEGMENT} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

async fn not_found(request: Request) -> Problem {
    Problem::new(
        ErrorCode::NotFound,
        format!("no route {}", request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> Problem {
    Problem::new(
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed here", request.method()),
    )
}

/// One line per request: route template (not the raw path, which may name a device), status
/// and latency. Never bodies or headers.
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

//! The device-facing routes (function `register`): challenges, registration, acknowledgement.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use trustreg_core::Registry;
use trustreg_core::messages::ChallengeRequest;

use crate::body::{BODY_LIMIT, JsonBody, JwsBody};
use crate::problem::Problem;

type Shared = Arc<Registry>;

pub fn register_router(registry: Shared) -> Router {
    Router::new()
        .route("/v1/challenges", post(challenge))
        .route("/v1/registrations", post(register))
        .route("/v1/devices/{regdevid}/acknowledgement", post(acknowledge))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(access_log))
        .with_state(registry)
}

async fn challenge(
    State(registry): State<Shared>,
    JsonBody(request): JsonBody<ChallengeRequest>,
) -> Result<Response, Problem> {
    let answer = registry.challenge(request.purpose).await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn register(
    State(registry): State<Shared>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let done = registry.register(&jws).await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!("/v1/devices/{}", done.response.regdevid);
    let mut response = (status, Json(done.response)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

async fn acknowledge(
    State(registry): State<Shared>,
    Path(regdevid): Path<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.acknowledge(&regdevid, &jws).await?;
    Ok(Json(answer).into_response())
}

async fn not_found(request: Request) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("no route {}", request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
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

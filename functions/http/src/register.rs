//! Challenges, registration and acknowledgement (function `register`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use trustreg_core::messages::ChallengeRequest;

use crate::Shared;
use crate::body::{JsonBody, JwsBody};
use crate::path::PathParams;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        serve(Op::Challenge, challenge),
        serve(Op::Register, register),
        serve(Op::Acknowledge, acknowledge),
    ]
}

async fn challenge(
    State(registry): State<Shared>,
    JsonBody(request): JsonBody<ChallengeRequest>,
) -> Result<Response, Problem> {
    let answer = registry.challenge_for(request).await?;
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
    let location = Op::Lookup.path_with(&[("id", &path_segment(&done.response.regdevid))]);
    let mut response = (status, Json(done.response)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

async fn acknowledge(
    State(registry): State<Shared>,
    PathParams(regdevid): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.acknowledge(&regdevid, &jws).await?;
    Ok(Json(answer).into_response())
}

/// A RegDevID as one path segment: a serial one holds '/', which must not split the path.
/// Keeps RFC 3986 unreserved characters and ':', percent-encodes every other byte.
fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b':') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

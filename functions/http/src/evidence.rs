//! The registry interrogating a device (9.2 note) and the device's feed (9.4 i b).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::body::JwsBody;
use crate::path::PathParams;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        serve(Op::RequestEvidence, request_evidence),
        serve(Op::Feed, feed),
    ]
}

/// 202: the request is made, its answer (the device's report) is still to come.
async fn request_evidence(
    State(registry): State<Shared>,
    PathParams(regdevid): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.request_evidence(&regdevid, &jws).await?;
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

async fn feed(
    State(registry): State<Shared>,
    PathParams(regdevid): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.feed(&regdevid, &jws).await?;
    Ok(Json(answer).into_response())
}

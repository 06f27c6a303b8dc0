//! Holds on devices (stolen, compromised), by administrators or owners.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::body::JwsBody;
use crate::path::PathParams;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![serve(Op::PlaceHold, hold), serve(Op::ReleaseHold, release)]
}

async fn hold(
    State(registry): State<Shared>,
    PathParams(regdevid): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.place_hold(&regdevid, &jws).await?;
    Ok(Json(answer).into_response())
}

async fn release(
    State(registry): State<Shared>,
    PathParams((regdevid, kind)): PathParams<(String, String)>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.release_hold(&regdevid, &kind, &jws).await?;
    Ok(Json(answer).into_response())
}

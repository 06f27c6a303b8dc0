//! Holds on devices (stolen, compromised), by administrators or owners.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::body::JwsBody;
use crate::problem::Problem;
use crate::served::{Route, post};
use crate::vulnerabilities::path_problem;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        post("/v1/devices/{regdevid}/holds", hold),
        post("/v1/devices/{regdevid}/holds/{kind}/release", release),
    ]
}

async fn hold(
    State(registry): State<Shared>,
    regdevid: Result<Path<String>, PathRejection>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let Path(regdevid) = regdevid.map_err(path_problem)?;
    let answer = registry.place_hold(&regdevid, &jws).await?;
    Ok(Json(answer).into_response())
}

async fn release(
    State(registry): State<Shared>,
    path: Result<Path<(String, String)>, PathRejection>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let Path((regdevid, kind)) = path.map_err(path_problem)?;
    let answer = registry.release_hold(&regdevid, &kind, &jws).await?;
    Ok(Json(answer).into_response())
}

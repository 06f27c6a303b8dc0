//! Virtual RegDevIDs (function `register`): `POST /v1/devices/{regdevid}/virtual-ids`.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::body::JwsBody;
use crate::problem::Problem;
use crate::served::{Route, post};

pub(crate) fn routes() -> Vec<Route> {
    vec![post("/v1/devices/{regdevid}/virtual-ids", issue)]
}

async fn issue(
    State(registry): State<Shared>,
    regdevid: Result<Path<String>, PathRejection>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let Path(regdevid) = regdevid.map_err(path_problem)?;
    let answer = registry.issue_virtual_id(&regdevid, &jws).await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// e.g. percent-encoded bytes that are not UTF-8: answered as a problem like any other.
pub(crate) fn path_problem(rejection: PathRejection) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-identifier",
        rejection.body_text(),
    )
}

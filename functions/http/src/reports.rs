//! Security-parameter reports (function `register`): `POST /v1/devices/{regdevid}/reports`.

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
    vec![serve(Op::Report, report)]
}

async fn report(
    State(registry): State<Shared>,
    PathParams(regdevid): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.report(&regdevid, &jws).await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

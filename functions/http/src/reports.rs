//! Security-parameter reports (function `register`): `POST /v1/devices/{regdevid}/reports`.

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
    vec![post("/v1/devices/{regdevid}/reports", report)]
}

async fn report(
    State(registry): State<Shared>,
    regdevid: Result<Path<String>, PathRejection>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    // e.g. percent-encoded bytes that are not UTF-8: answered as a problem like any other.
    let Path(regdevid) = regdevid.map_err(|rejection| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-identifier",
            rejection.body_text(),
        )
    })?;
    let answer = registry.report(&regdevid, &jws).await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

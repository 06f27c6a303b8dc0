//! Deregistration of a device (6.3 e), by its owner or an administrator.

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
    vec![serve(Op::Deregister, deregister)]
}

async fn deregister(
    State(registry): State<Shared>,
    PathParams(regdevid): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.deregister(&regdevid, &jws).await?;
    Ok(Json(answer).into_response())
}

//! Status lists (Y.3059 7 iv d; function `interrogate`): the registry's trusted, unverified
//! or unreliable devices and those mirrored from below, signed and paged.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::Shared;
use crate::auth::Caller;
use crate::path::PathParams;
use crate::problem::Problem;
use crate::query::{QueryParams, non_empty};
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![serve(Op::StatusList, list)]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    cursor: Option<String>,
}

async fn list(
    State(registry): State<Shared>,
    caller: Caller,
    PathParams(status): PathParams<String>,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, Problem> {
    let answer = registry
        .status_list(caller.principal(), &status, non_empty(params.cursor))
        .await?;
    Ok(Json(answer).into_response())
}

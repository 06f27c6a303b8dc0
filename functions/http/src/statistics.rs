//! The enquirers' dashboard (card C5; function `interrogate`): device counts by status and
//! trust domain and the recent status changes, signed.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::auth::Caller;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![serve(Op::Statistics, statistics)]
}

async fn statistics(State(registry): State<Shared>, caller: Caller) -> Result<Response, Problem> {
    Ok(Json(registry.statistics(caller.principal()).await?).into_response())
}

//! Roots of trust (Y.3059 7 ii, 9.1 vi; function `admin`): an administrator adds or removes
//! the manufacturer CAs the registry accepts, each request a JWS over a `root` nonce.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::Shared;
use crate::body::JwsBody;
use crate::path::PathParams;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![serve(Op::PutRoot, accept), serve(Op::DeleteRoot, remove)]
}

async fn accept(
    State(registry): State<Shared>,
    PathParams(id): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    Ok(Json(registry.put_root_signed(&id, &jws).await?).into_response())
}

#[derive(Serialize)]
struct Removed {
    id: String,
    /// Devices that chained to the root, re-evaluated (now unreliable).
    reevaluated: u64,
}

async fn remove(
    State(registry): State<Shared>,
    PathParams(id): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let reevaluated = registry.remove_root_signed(&id, &jws).await?;
    Ok(Json(Removed { id, reevaluated }).into_response())
}

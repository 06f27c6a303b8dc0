//! Links to other registries of the hierarchy (Y.3059 9.1 v; function `admin`): an
//! administrator records a parent, child or peer with its key and inbox, a JWS over a `link`
//! nonce.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::body::JwsBody;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![serve(Op::Link, link)]
}

/// 201 with the stored link (linking the same registry again replaces it).
async fn link(State(registry): State<Shared>, JwsBody(jws): JwsBody) -> Result<Response, Problem> {
    let link = registry.link_registry(&jws).await?;
    Ok((StatusCode::CREATED, Json(link)).into_response())
}

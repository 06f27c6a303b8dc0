//! Owners and custodians (function `register`): registration, verification by an
//! administrator, transfer of a device, the end of an owner's custody. No route answers an
//! owner's PII yet; the core's `owner_details` serves the owner and admin reads of the
//! interrogation routes.

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
    vec![
        serve(Op::CreateOwner, register),
        serve(Op::VerifyOwner, verify),
        serve(Op::Transfer, transfer),
        serve(Op::AcceptTransfer, accept),
        serve(Op::RevokeOwner, revoke),
    ]
}

async fn register(
    State(registry): State<Shared>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.register_owner(&jws).await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn verify(
    State(registry): State<Shared>,
    PathParams(owner_id): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.verify_owner(&owner_id, &jws).await?;
    Ok(Json(answer).into_response())
}

async fn transfer(
    State(registry): State<Shared>,
    PathParams(regdevid): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.transfer(&regdevid, &jws).await?;
    // An owner's transfer is an offer: accepted, not done, until the receiving owner accepts.
    let status = if answer.offered_to.is_some() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(answer)).into_response())
}

async fn accept(
    State(registry): State<Shared>,
    PathParams(regdevid): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.accept_transfer(&regdevid, &jws).await?;
    Ok(Json(answer).into_response())
}

async fn revoke(
    State(registry): State<Shared>,
    PathParams(regdevid): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.revoke_owner(&regdevid, &jws).await?;
    Ok(Json(answer).into_response())
}

//! Trust-domain administration: `PUT /v1/admin/trust-domains/{name}` (6.1 f), signed by an
//! administrator: sets a hosted domain's policy, or adds a new domain with it.

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
    vec![serve(Op::PutTrustDomain, set_policy)]
}

async fn set_policy(
    State(registry): State<Shared>,
    PathParams(name): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let set = registry.set_domain_policy_signed(&name, &jws).await?;
    // 201 when the request added the domain (its topic made), 200 when it changed a policy.
    let status = if set.added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(set.record)).into_response())
}

//! Vulnerability reports and their follow-ups (Y.3059 9.3 ii b, 7 iv d).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use trustreg_core::messages::VulnerabilityProgress;
use trustreg_core::vulnerabilities::FIRST_BATCH;

use crate::Shared;
use crate::body::JwsBody;
use crate::path::PathParams;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        serve(Op::ReportVulnerability, report),
        serve(Op::ApplyVulnerability, apply),
        serve(Op::FixVulnerability, fixed),
    ]
}

/// 202 while devices remain to re-evaluate (the follow-up is `apply`), 200 once done.
fn progress(answer: VulnerabilityProgress) -> Response {
    let status = if answer.complete {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (status, Json(answer)).into_response()
}

async fn report(
    State(registry): State<Shared>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.report_vulnerability(&jws, FIRST_BATCH).await?;
    // Always 202: the report is stored; the body says whether all its devices are done.
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

async fn apply(
    State(registry): State<Shared>,
    PathParams(id): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry
        .apply_vulnerability_signed(&id, &jws, FIRST_BATCH)
        .await?;
    Ok(progress(answer))
}

async fn fixed(
    State(registry): State<Shared>,
    PathParams(id): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry
        .fix_vulnerability_signed(&id, &jws, FIRST_BATCH)
        .await?;
    Ok(progress(answer))
}

//! The audit log's routes (issue 14; Y.3059 7 i c, 9.1 iv; function `admin`): the latest
//! signed checkpoint and the tiles at the C2SP `tlog-tiles` paths under `/v1/audit`, so
//! tooling for that layout reads the log with the prefix `<api>/v1/audit`, and the inclusion
//! and consistency proofs. Enquirers and administrators may read.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::Shared;
use crate::auth::Caller;
use crate::path::PathParams;
use crate::problem::Problem;
use crate::query::QueryParams;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        serve(Op::AuditCheckpoint, checkpoint),
        serve(Op::AuditTile, tile),
        serve(Op::AuditInclusion, inclusion),
        serve(Op::AuditConsistency, consistency),
    ]
}

/// The media type of tlog-checkpoint notes as C2SP logs serve them.
const NOTE: &str = "text/plain; charset=utf-8";

async fn checkpoint(State(registry): State<Shared>, caller: Caller) -> Result<Response, Problem> {
    let note = registry.audit_checkpoint(caller.principal()).await?;
    let mut response = note.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(NOTE));
    // The next batch replaces it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

async fn tile(
    State(registry): State<Shared>,
    caller: Caller,
    PathParams(path): PathParams<String>,
) -> Result<Response, Problem> {
    let bytes = registry
        .audit_tile(caller.principal(), &format!("tile/{path}"))
        .await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    // Each path names one content for ever (a wider partial tile has another path), so any
    // cache may keep it; `private`: the caller authenticated.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionParams {
    record: String,
    size: Option<u64>,
}

async fn inclusion(
    State(registry): State<Shared>,
    caller: Caller,
    QueryParams(params): QueryParams<InclusionParams>,
) -> Result<Response, Problem> {
    let proof = registry
        .audit_inclusion(caller.principal(), &params.record, params.size)
        .await?;
    Ok(Json(proof).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyParams {
    from: u64,
    to: u64,
}

async fn consistency(
    State(registry): State<Shared>,
    caller: Caller,
    QueryParams(params): QueryParams<ConsistencyParams>,
) -> Result<Response, Problem> {
    let proof = registry
        .audit_consistency(caller.principal(), params.from, params.to)
        .await?;
    Ok(Json(proof).into_response())
}

//! Interrogation (Y.3059 9.3 ii c, 9.3 ii d, 8; function `interrogate`): lookups whose view
//! depends on the caller's token, search, a device's history and vulnerabilities, and bulk
//! lookups for administrators. The core decides who sees what.

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use trustreg_core::lookups::{BulkLookupRequest, SearchParams};

use crate::Shared;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::path::PathParams;
use crate::problem::Problem;
use crate::query::{QueryParams, non_empty};
use crate::routes::Op;
use crate::served::{Route, serve};

/// 1000 ids of up to a few hundred bytes each.
pub const BULK_LOOKUP_BODY_LIMIT: usize = 512 * 1024;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        serve(Op::Lookup, lookup),
        serve(Op::Search, search),
        serve(Op::History, history),
        serve(Op::DeviceVulnerabilities, vulnerabilities),
        serve(Op::BulkLookup, bulk_lookup)
            .map(|handler| handler.layer(DefaultBodyLimit::max(BULK_LOOKUP_BODY_LIMIT))),
    ]
}

async fn lookup(
    State(registry): State<Shared>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, Problem> {
    Ok(Json(registry.lookup(caller.principal(), &id).await?).into_response())
}

async fn search(
    State(registry): State<Shared>,
    caller: Caller,
    QueryParams(params): QueryParams<SearchParams>,
) -> Result<Response, Problem> {
    // `?make=&model=` as a form sends them: an empty filter is no filter.
    let params = SearchParams {
        make: non_empty(params.make),
        model: non_empty(params.model),
        status: non_empty(params.status),
        domain: non_empty(params.domain),
        capability: non_empty(params.capability),
        owner: non_empty(params.owner),
        cursor: non_empty(params.cursor),
        limit: params.limit,
    };
    Ok(Json(registry.search(caller.principal(), params).await?).into_response())
}

async fn history(
    State(registry): State<Shared>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, Problem> {
    Ok(Json(registry.history_for(caller.principal(), &id).await?).into_response())
}

async fn vulnerabilities(
    State(registry): State<Shared>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, Problem> {
    Ok(Json(
        registry
            .vulnerabilities_for(caller.principal(), &id)
            .await?,
    )
    .into_response())
}

async fn bulk_lookup(
    State(registry): State<Shared>,
    caller: Caller,
    JsonBody(request): JsonBody<BulkLookupRequest>,
) -> Result<Response, Problem> {
    Ok(Json(registry.bulk_lookup(caller.principal(), request).await?).into_response())
}

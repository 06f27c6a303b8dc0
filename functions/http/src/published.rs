//! The registry's published documents (function `interrogate`), for anyone.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::problem::Problem;
use crate::served::{Route, get};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        get("/v1/registry", registry_document),
        get("/v1/registry/practice-statement", practice_statement),
    ]
}

async fn registry_document(State(registry): State<Shared>) -> Result<Response, Problem> {
    Ok(axum::Json(registry.registry_document().await?).into_response())
}

async fn practice_statement(State(registry): State<Shared>) -> Response {
    let mut response = registry.practice_statement().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/markdown; charset=utf-8"),
    );
    response
}

//! The registry's published documents (function `interrogate`), for anyone.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::Shared;
use crate::problem::Problem;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/registry", get(registry_document))
        .route("/v1/registry/practice-statement", get(practice_statement))
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

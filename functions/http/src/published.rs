//! The registry's published documents (function `interrogate`), for anyone.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use trustreg_core::published::RegistryDocument;

use crate::Shared;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        serve(Op::RegistryDocument, registry_document),
        serve(Op::PracticeStatement, practice_statement),
    ]
}

/// The document with the links a client starts from, made from the routes' declarations.
#[derive(Serialize)]
struct Published {
    #[serde(flatten)]
    document: RegistryDocument,
    links: Links,
}

#[derive(Serialize)]
struct Links {
    practice_statement: &'static str,
    challenges: &'static str,
    registrations: &'static str,
}

async fn registry_document(State(registry): State<Shared>) -> Result<Response, Problem> {
    let published = Published {
        document: registry.registry_document().await?,
        links: Links {
            practice_statement: Op::PracticeStatement.spec().path,
            challenges: Op::Challenge.spec().path,
            registrations: Op::Register.spec().path,
        },
    };
    Ok(axum::Json(published).into_response())
}

async fn practice_statement(State(registry): State<Shared>) -> Response {
    let mut response = registry.practice_statement().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/markdown; charset=utf-8"),
    );
    response
}

//! Enquirers (Y.3059 9.3 i a, 9.3 iii): sign-up and challenge-response login (function
//! `interrogate`), and their approval by administrators (function `admin`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use trustreg_core::records::EnquirerState;
use trustreg_core::sessions::{EnquirerView, SignUpRequest};

use crate::Shared;
use crate::auth::Caller;
use crate::body::{JsonBody, JwsBody};
use crate::path::PathParams;
use crate::problem::Problem;
use crate::query::{QueryParams, non_empty};
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![serve(Op::SignUp, sign_up), serve(Op::Login, login)]
}

pub(crate) fn admin_routes() -> Vec<Route> {
    vec![
        serve(Op::ListEnquirers, list),
        serve(Op::DecideEnquirer, decide),
    ]
}

async fn sign_up(
    State(registry): State<Shared>,
    JsonBody(request): JsonBody<SignUpRequest>,
) -> Result<Response, Problem> {
    let answer = registry.sign_up(request).await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn login(State(registry): State<Shared>, JwsBody(jws): JwsBody) -> Result<Response, Problem> {
    let session = registry.login(&jws).await?;
    let mut response = Json(session).into_response();
    // A token response must not be cached on the way (RFC 6749, 5.1).
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /v1/admin/enquirers?state=&cursor=`: pending ones unless another state is asked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    state: Option<EnquirerState>,
    cursor: Option<String>,
}

#[derive(Serialize)]
struct EnquirerList {
    enquirers: Vec<EnquirerView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

async fn list(
    State(registry): State<Shared>,
    caller: Caller,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, Problem> {
    let cursor = non_empty(params.cursor);
    let page = registry
        .list_enquirers(
            caller.principal(),
            params.state.unwrap_or(EnquirerState::Pending),
            cursor.as_deref(),
        )
        .await?;
    Ok(Json(EnquirerList {
        enquirers: page.items,
        next: page.next,
    })
    .into_response())
}

async fn decide(
    State(registry): State<Shared>,
    PathParams(id): PathParams<String>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.decide_enquirer(&id, &jws).await?;
    Ok(Json(answer).into_response())
}

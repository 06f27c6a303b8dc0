//! Subscriptions (Y.3059 9.4 i a; card C8; function `interrogate`): an authenticated caller
//! subscribes an endpoint to a trust domain's notifications, lists and deletes its own. The
//! core checks the request before SNS is asked and decides whose subscription is whose.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use trustreg_core::subscriptions::SubscriptionRequest;

use crate::Shared;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::path::PathParams;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        serve(Op::Subscribe, subscribe),
        serve(Op::ListSubscriptions, list),
        serve(Op::Unsubscribe, unsubscribe),
    ]
}

/// 201 with the new subscription; 200 with the same one for a repeat of it.
async fn subscribe(
    State(registry): State<Shared>,
    caller: Caller,
    JsonBody(request): JsonBody<SubscriptionRequest>,
) -> Result<Response, Problem> {
    let done = registry.subscribe(caller.principal(), request).await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(done.subscription)).into_response())
}

async fn list(State(registry): State<Shared>, caller: Caller) -> Result<Response, Problem> {
    Ok(Json(registry.subscriptions(caller.principal()).await?).into_response())
}

async fn unsubscribe(
    State(registry): State<Shared>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, Problem> {
    registry.unsubscribe(caller.principal(), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

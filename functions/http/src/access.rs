//! Role enforcement from the route's declaration (`ROUTES`): a token route refuses a caller
//! without an access token (401) or of a role its declaration does not name (403) before its
//! handler runs, so before the query or the path is parsed and before any flow is reached.
//! The refusal is the registry's own (`Registry::require`: the same problem, the same audit
//! record, naming what the request acted on: the `id` of its path, `sessions::token_target`);
//! the flows check again, for any other way in.

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::auth::Caller;
use crate::problem::Problem;
use crate::routes::{Access, Op};
use trustreg_core::sessions::token_target;

/// The layer's function: admits the request, or answers the refusal.
pub(crate) async fn enforce(
    State(registry): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let op = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|path| Op::find(request.method().as_str(), path.as_str()));
    let Some(op) = op.filter(|op| matches!(op.spec().access, Access::Token(_))) else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &registry).await {
        Ok(caller) => caller,
        Err(problem) => return problem.into_response(),
    };
    // A parameter that is not UTF-8 names nothing; its handler refuses it as malformed.
    let target = RawPathParams::from_request_parts(&mut parts, &registry)
        .await
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(name, _)| *name == "id")
                .and_then(|(_, id)| token_target(op, id))
        });
    if let Err(error) = registry.require(caller.principal(), op, target).await {
        return Problem::from(error).into_response();
    }
    // The handler's own `Caller` is this one: the token is verified once.
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

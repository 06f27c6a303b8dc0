//! Bulk notifications: `POST /v1/admin/notifications` (Y.3059 9.4 ii), signed by an
//! administrator; the subscribers of each named device hear the message on its domains.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::body::JwsBody;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![serve(Op::Notify, notify)]
}

async fn notify(
    State(registry): State<Shared>,
    JwsBody(jws): JwsBody,
) -> Result<Response, Problem> {
    let answer = registry.notify_devices(&jws).await?;
    Ok(Json(answer).into_response())
}

//! `GET /v1/audit` (Y.3059 7 i c; function `admin`): administrators read the audit trail by
//! day or by target.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use trustreg_core::audit_reads::AuditParams;
use trustreg_core::records::AuditRecord;

use crate::Shared;
use crate::auth::Caller;
use crate::problem::Problem;
use crate::query::{QueryParams, non_empty};
use crate::routes::Op;
use crate::served::{Route, serve};

pub(crate) fn routes() -> Vec<Route> {
    vec![serve(Op::Audit, read)]
}

#[derive(Serialize)]
struct AuditPage {
    records: Vec<AuditRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

async fn read(
    State(registry): State<Shared>,
    caller: Caller,
    QueryParams(params): QueryParams<AuditParams>,
) -> Result<Response, Problem> {
    let params = AuditParams {
        day: non_empty(params.day),
        target: non_empty(params.target),
        cursor: non_empty(params.cursor),
        limit: params.limit,
    };
    let page = registry.read_audit(caller.principal(), params).await?;
    Ok(Json(AuditPage {
        records: page.items,
        next: page.next,
    })
    .into_response())
}

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
    records: Vec<Listed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// A record with its leaf index in the audit log, once the sequencer gave it one (issue 14).
#[derive(Serialize)]
struct Listed {
    #[serde(flatten)]
    record: AuditRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    leaf: Option<u64>,
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
    let ids: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
    let leaves = registry.audit_leaves(&ids).await?;
    let records = page
        .items
        .into_iter()
        .map(|record| Listed {
            leaf: leaves.get(&record.id).copied(),
            record,
        })
        .collect();
    Ok(Json(AuditPage {
        records,
        next: page.next,
    })
    .into_response())
}

//! `POST /v1/bulk/registrations` (function `register`): a JSON array or NDJSON of up to 1000
//! devices, signed by a manufacturer or an administrator in the `Authorization` header
//! (`TrustReg-JWS <compact JWS over the body's SHA-256>`). Answers 207 with one result per
//! item, in order.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use trustreg_core::RegistryError;
use trustreg_core::binding;
use trustreg_core::bulk::{BulkLine, MAX_BULK_ITEMS};
use trustreg_core::error::ErrorCode;
use trustreg_core::messages::BulkDevice;
use trustreg_core::status::TrustStatus;

use crate::Shared;
use crate::problem::Problem;
use crate::routes::Op;
use crate::served::{Route, serve};

/// 1000 devices with their certificate chains fit well within this.
pub const BULK_BODY_LIMIT: usize = 4 * 1024 * 1024;
pub const AUTH_SCHEME: &str = "TrustReg-JWS";

pub(crate) fn routes() -> Vec<Route> {
    vec![
        serve(Op::BulkRegister, register_bulk)
            .map(|handler| handler.layer(DefaultBodyLimit::max(BULK_BODY_LIMIT))),
    ]
}

#[derive(Serialize)]
struct ItemResult {
    index: usize,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    regdevid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_status: Option<TrustStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<Problem>,
}

#[derive(Serialize, Default)]
struct Summary {
    created: usize,
    existing: usize,
    failed: usize,
}

#[derive(Serialize)]
struct BulkAnswer {
    summary: Summary,
    results: Vec<ItemResult>,
}

async fn register_bulk(
    State(registry): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let signature = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix(AUTH_SCHEME))
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let Some(signature) = signature else {
        // Refused before the core sees it: audited here like the core's own refusals (7 i c).
        let refusal = RegistryError::Unauthenticated(format!(
            "sign the body: Authorization: {AUTH_SCHEME} <compact JWS>"
        ));
        registry
            .audit_refusal("public", "bulk-register", None, &refusal)
            .await;
        return Err(Problem::from(refusal).with_challenge(AUTH_SCHEME));
    };
    if let Err(error) = binding::check(signature, method.as_str(), uri.path()) {
        let actor = trustreg_core::actors::unverified_actor(signature);
        registry
            .audit_refusal(&actor, "bulk-register", None, &error)
            .await;
        return Err(Problem::from(error));
    }
    let lines = parse_lines(&headers, &body)?;
    let outcomes = registry.register_bulk(signature, &body, lines).await?;
    let mut summary = Summary::default();
    let results = outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| match outcome {
            Ok(done) => {
                if done.created {
                    summary.created += 1;
                } else {
                    summary.existing += 1;
                }
                ItemResult {
                    index,
                    status: if done.created { 201 } else { 200 },
                    regdevid: Some(done.response.regdevid),
                    trust_status: Some(done.response.status),
                    credential: Some(done.response.credential),
                    problem: None,
                }
            }
            Err(e) => {
                summary.failed += 1;
                let problem = Problem::from(e);
                ItemResult {
                    index,
                    status: problem.status,
                    regdevid: None,
                    trust_status: None,
                    credential: None,
                    problem: Some(problem),
                }
            }
        })
        .collect();
    Ok((
        StatusCode::MULTI_STATUS,
        axum::Json(BulkAnswer { summary, results }),
    )
        .into_response())
}

/// A JSON array, or one JSON object per line (NDJSON). An item that does not read as a
/// device is that item's failure, not the request's.
fn parse_lines(headers: &HeaderMap, body: &[u8]) -> Result<Vec<BulkLine>, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let values: Vec<Result<serde_json::Value, String>> = match content_type.as_str() {
        "application/json" => {
            let array: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|e| {
                Problem::new(
                    ErrorCode::MalformedRequest,
                    format!("the body is not a JSON array: {e}"),
                )
            })?;
            array.into_iter().map(Ok).collect()
        }
        "application/x-ndjson" | "application/ndjson" => body
            .split(|b| *b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .map(|line| serde_json::from_slice(line).map_err(|e| format!("line: {e}")))
            .collect(),
        other => {
            return Err(Problem::new(
                ErrorCode::UnsupportedMediaType,
                format!("expected application/json or application/x-ndjson, got {other:?}"),
            ));
        }
    };
    if values.len() > MAX_BULK_ITEMS {
        return Err(Problem::new(
            ErrorCode::TooManyItems,
            format!("a bulk request holds at most {MAX_BULK_ITEMS} devices"),
        ));
    }
    Ok(values
        .into_iter()
        .map(|v| v.and_then(|v| serde_json::from_value::<BulkDevice>(v).map_err(|e| e.to_string())))
        .collect())
}

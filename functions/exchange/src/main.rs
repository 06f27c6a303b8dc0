//! Lambda `exchange`: the registry's inbox in the hierarchy (Y.3059 7 iv d-f, 9.1 v, 9.4 i b).
//! Each SQS message is one signed message of another registry, received by the registry
//! (verified, deduplicated, mirrored, forwarded; a gap answered with a snapshot request).
//!
//! The batch is answered message by message (`ReportBatchItemFailures`): a message the
//! registry refuses (unknown or unlinked sender, bad signature, malformed) would be refused
//! again, so it leaves the queue, audited by the registry and logged here; one that failed on
//! the registry's side (storage, KMS, another inbox) is reported and delivered again, and
//! after the queue's receive limit goes to its dead-letter queue.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use trustreg_core::Registry;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    trustreg_aws::init_tracing();
    let registry = Arc::new(trustreg_aws::registry_from_env().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let registry = registry.clone();
        async move { handle(&registry, event.payload).await }
    }))
    .await
}

/// Why a batch cannot be answered message by message: Lambda then delivers it all again.
#[derive(Debug)]
struct NotAnSqsBatch(String);

impl std::fmt::Display for NotAnSqsBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not an SQS batch: {}", self.0)
    }
}

impl std::error::Error for NotAnSqsBatch {}

async fn handle(registry: &Registry, event: Value) -> Result<Value, lambda_runtime::Error> {
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| NotAnSqsBatch("no Records".into()))?;
    let mut failures = Vec::new();
    let mut refused = 0usize;
    for (position, record) in records.iter().enumerate() {
        let id = record
            .get("messageId")
            .and_then(Value::as_str)
            .ok_or_else(|| NotAnSqsBatch(format!("record {position} has no messageId")))?;
        let Some(body) = record.get("body").and_then(Value::as_str) else {
            // Nothing to receive, and nothing a retry would bring.
            tracing::warn!(message_id = id, "message without a body dropped");
            refused += 1;
            continue;
        };
        match registry.receive_exchange(body.trim()).await {
            Ok(received) => tracing::info!(message_id = id, ?received, "exchange message"),
            Err(e) if e.is_internal() => {
                tracing::warn!(message_id = id, error = %e, "exchange message to retry");
                failures.push(json!({ "itemIdentifier": id }));
            }
            Err(e) => {
                tracing::warn!(message_id = id, code = e.code(), error = %e, "exchange message refused");
                refused += 1;
            }
        }
    }
    tracing::info!(
        messages = records.len(),
        refused,
        retried = failures.len(),
        "exchange batch"
    );
    Ok(json!({ "batchItemFailures": failures }))
}

//! The registry's inbox (Lambda `exchange`) in the hierarchy (Y.3059 7 iv d-f, 9.1 v, 9.4 i b).
//! Each SQS message is one signed message of another registry, received by the registry
//! (verified, deduplicated, mirrored, forwarded; a gap answered with a snapshot request).
//!
//! The batch is answered message by message (`ReportBatchItemFailures`): a message the
//! registry refuses (unknown or unlinked sender, bad signature, malformed) would be refused
//! again on every delivery, so it is audited by the registry and set aside at once in the
//! inbox's dead-letter queue (`INBOX_DEAD_LETTERS_URL`), body intact and the refusal's code
//! attached, where the queue's alarm calls an operator and `trustreg admin redrive` brings it
//! back once the cause is fixed (a link not yet made, a key not yet known); one that failed on
//! the registry's side (storage, KMS, another inbox) is reported and delivered again, and
//! after the queue's receive limit goes to the same dead-letter queue. An update that came before
//! an earlier one of its origin is deferred: reported too, and made visible again after
//! `DEFER_SECONDS` rather than the queue's visibility timeout, by when the earlier one has
//! most likely been applied.

use serde_json::{Value, json};
use trustreg_core::Registry;
use trustreg_core::exchange::Received;

use crate::{DeadLetters, Redelivery};

/// How long a deferred update waits: reordering in the queue and concurrent senders are a
/// matter of a second or so.
const DEFER_SECONDS: i32 = 2;

/// Why a batch cannot be answered message by message: Lambda then delivers it all again.
#[derive(Debug, thiserror::Error)]
#[error("not an SQS batch: {0}")]
pub struct NotAnSqsBatch(String);

/// One SQS batch of the inbox, answered with the messages to deliver again
/// (`batchItemFailures`).
pub async fn handle_inbox_batch(
    registry: &Registry,
    redelivery: &Redelivery,
    dead_letters: Option<&DeadLetters>,
    event: Value,
) -> Result<Value, NotAnSqsBatch> {
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| NotAnSqsBatch("no Records".into()))?;
    let mut failures = Vec::new();
    let mut refused = 0usize;
    let mut deferred = 0usize;
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
        // A count that cannot be read counts as a late delivery: never deferred for ever.
        let attempt = record
            .pointer("/attributes/ApproximateReceiveCount")
            .and_then(Value::as_str)
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(u32::MAX);
        match registry
            .receive_exchange_delivery(body.trim(), attempt)
            .await
        {
            Ok(Received::Deferred { waiting_for }) => {
                deferred += 1;
                tracing::info!(
                    message_id = id,
                    waiting_for,
                    attempt,
                    "exchange message deferred"
                );
                soon(redelivery, record, id).await;
                failures.push(json!({ "itemIdentifier": id }));
            }
            Ok(received) => tracing::info!(message_id = id, ?received, "exchange message"),
            Err(e) if e.is_internal() => {
                tracing::warn!(message_id = id, error = %e, "exchange message to retry");
                failures.push(json!({ "itemIdentifier": id }));
            }
            Err(e) => {
                tracing::warn!(message_id = id, code = e.code().as_str(), error = %e, "exchange message refused");
                refused += 1;
                let Some(dead_letters) = dead_letters else {
                    continue;
                };
                if let Err(set_aside) = dead_letters.set_aside(body, e.code().as_str()).await {
                    // Kept in the inbox instead: delivered again, refused and set aside then
                    // (the registry's audit then holds the refusal twice).
                    tracing::warn!(message_id = id, error = %set_aside, "refused message not set aside");
                    failures.push(json!({ "itemIdentifier": id }));
                }
            }
        }
    }
    tracing::info!(
        messages = records.len(),
        refused,
        deferred,
        retried = failures.len() - deferred,
        "exchange batch"
    );
    Ok(json!({ "batchItemFailures": failures }))
}

/// The deferred message back after `DEFER_SECONDS`; if that fails it comes back after the
/// queue's visibility timeout, later but still handled.
async fn soon(redelivery: &Redelivery, record: &Value, id: &str) {
    let field = |name: &str| record.get(name).and_then(Value::as_str);
    let (Some(queue), Some(receipt)) = (field("eventSourceARN"), field("receiptHandle")) else {
        tracing::warn!(
            message_id = id,
            "deferred message without its queue or receipt"
        );
        return;
    };
    if let Err(e) = redelivery.after(queue, receipt, DEFER_SECONDS).await {
        tracing::warn!(message_id = id, error = %e, "deferred message not brought forward");
    }
}

//! The audit log's sequencer (issue 14): the same binary as notify, deployed as its own
//! function (`AUDIT_SEQUENCER` set, reserved concurrency 1) on its own mapping of the table's
//! stream, which passes only new audit records. The stream's second reader, as a DynamoDB
//! stream shard allows ("No more than two processes at most should be reading from the same
//! streams shard at the same time", DynamoDB Developer Guide, "Change data capture for
//! DynamoDB Streams").
//!
//! A batch is sequenced whole or not at all from Lambda's view: on any failure the function
//! fails and the batch is delivered again; records already given a leaf are then skipped.

use aws_lambda_events::dynamodb::EventRecord;
use serde_json::Value;
use trustreg_aws::DynamoStore;
use trustreg_core::Registry;
use trustreg_core::records::AuditRecord;

/// Set (to anything but empty) on the sequencer function.
pub const AUDIT_SEQUENCER: &str = "AUDIT_SEQUENCER";

pub fn enabled() -> bool {
    std::env::var(AUDIT_SEQUENCER).is_ok_and(|v| !v.trim().is_empty())
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A record the filter passed that is not an audit record the store can read: sequencing
    /// around it would leave it out of the log for good, so the batch fails.
    #[error("stream record {position} is not a readable audit record: {why}")]
    Unreadable { position: usize, why: String },
    #[error(transparent)]
    Sequence(#[from] trustreg_core::tlog::sequencer::SequenceError),
}

pub async fn handle_batch(registry: &Registry, records: &[Value]) -> Result<Value, BatchError> {
    let mut audit: Vec<AuditRecord> = Vec::with_capacity(records.len());
    for (position, raw) in records.iter().enumerate() {
        let unreadable = |why: String| BatchError::Unreadable { position, why };
        let event: EventRecord =
            serde_json::from_value(raw.clone()).map_err(|e| unreadable(e.to_string()))?;
        match DynamoStore::audit_record(event.change.new_image) {
            Ok(Some(record)) => audit.push(record),
            // Not an audit record (the filter is the mapping's; a redrive may pass others).
            Ok(None) => {}
            Err(e) => return Err(unreadable(e.to_string())),
        }
    }
    let done = registry.sequence(&audit).await?;
    tracing::info!(
        records = records.len(),
        appended = done.appended,
        already = done.already,
        size = done.size,
        signed = done.signed,
        "audit batch sequenced"
    );
    Ok(serde_json::to_value(done).unwrap_or(Value::Null))
}

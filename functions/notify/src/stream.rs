//! A batch of the table's stream records -> the registry's fan-out, and the exchange's updates
//! to the registries above (Y.3059 7 iv f), answered as a partial batch response: each record
//! that fails (an image that does not decode, a notification that could not be published, an
//! update that could not be sent) is reported by its sequence number, alone; the others are
//! done.

use aws_lambda_events::dynamodb::EventRecord;
use serde_json::{Value, json};
use trustreg_aws::DynamoStore;
use trustreg_core::Registry;
use trustreg_core::notifications::DeviceChange;

/// What one batch came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Sequence numbers of the records to deliver again, in batch order.
    pub failures: Vec<String>,
    /// Device changes fanned out (records of other items are skipped).
    pub changes: usize,
}

impl BatchOutcome {
    /// The answer Lambda reads with `ReportBatchItemFailures`.
    pub fn response(&self) -> Value {
        json!({
            "batchItemFailures": self
                .failures
                .iter()
                .map(|s| json!({"itemIdentifier": s}))
                .collect::<Vec<_>>()
        })
    }
}

/// Why a batch cannot be answered record by record: Lambda then retries it whole (split by
/// bisection), which is the only safe answer for a record that cannot be named.
#[derive(Debug, thiserror::Error)]
#[error("stream record {position} has no sequence number")]
pub struct UnnamedRecord {
    pub position: usize,
}

/// Whether the batch's changes are sent up the hierarchy too: only by functions given an
/// outbox (the stack's notify function).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    Off,
    SendUp,
}

pub async fn handle_batch(
    registry: &Registry,
    records: &[Value],
    exchange: Exchange,
) -> Result<BatchOutcome, UnnamedRecord> {
    let mut failed: Vec<(usize, String)> = Vec::new();
    let mut changes = Vec::new();
    let mut sequences = Vec::new();
    for (position, raw) in records.iter().enumerate() {
        let sequence = raw
            .pointer("/dynamodb/SequenceNumber")
            .and_then(Value::as_str)
            .ok_or(UnnamedRecord { position })?
            .to_owned();
        let decoded = serde_json::from_value::<EventRecord>(raw.clone())
            .map_err(|e| e.to_string())
            .and_then(|r| {
                DynamoStore::device_change(r.change.old_image, r.change.new_image)
                    .map_err(|e| e.to_string())
            });
        match decoded {
            Ok(Some(change)) => {
                changes.push(change);
                sequences.push((position, sequence));
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(sequence, error, "stream record does not decode");
                failed.push((position, sequence));
            }
        }
    }
    let outcomes = registry.fan_out(&changes).await;
    if exchange == Exchange::SendUp {
        // What the hierarchy holds of a device (its status, make, model and domains) is sent
        // when it changed; a report or a key rotation alone says nothing new above.
        let (positions, devices): (Vec<&(usize, String)>, Vec<_>) = sequences
            .iter()
            .zip(&changes)
            .filter(|(_, change)| mirrored_fields_changed(change))
            .map(|(at, change)| (at, change.new.clone()))
            .unzip();
        if !devices.is_empty() {
            match registry.send_updates(&devices).await {
                Ok(messages) => tracing::debug!(messages, "updates sent up"),
                Err(e) => {
                    // The whole batch's updates are sent again: the receivers drop what they
                    // hold already by sequence number, and mirrors are idempotent.
                    tracing::warn!(error = %e, devices = devices.len(), "updates not sent up");
                    failed.extend(positions.into_iter().cloned());
                }
            }
        }
    }
    for ((position, sequence), outcome) in sequences.into_iter().zip(outcomes) {
        match outcome {
            Ok(fan_out) => tracing::debug!(
                sequence,
                published = fan_out.published,
                duplicates = fan_out.duplicates,
                "change fanned out"
            ),
            Err(e) => {
                tracing::warn!(sequence, error = %e, "change not fanned out");
                failed.push((position, sequence));
            }
        }
    }
    failed.sort();
    failed.dedup();
    Ok(BatchOutcome {
        failures: failed.into_iter().map(|(_, s)| s).collect(),
        changes: changes.len(),
    })
}

fn mirrored_fields_changed(change: &DeviceChange) -> bool {
    let Some(old) = &change.old else {
        return true;
    };
    let new = &change.new;
    old.status != new.status
        || old.status_since_ms != new.status_since_ms
        || old.trust_domains != new.trust_domains
        || old.info.make != new.info.make
        || old.info.model != new.info.model
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

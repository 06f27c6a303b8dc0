//! What invokes `notify`, told apart: a stream batch (`Records`), the digest schedule (its
//! rule's constant input `{"task": "digest"}`), and the evaluation schedule (a scheduled event).

use serde_json::Value;
use trustreg_core::Registry;
use trustreg_core::ports::Clock;

use crate::{schedules, sequencer, stream};

pub(crate) async fn handle(
    registry: &Registry,
    event: Value,
) -> Result<Value, lambda_runtime::Error> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        if sequencer::enabled() {
            return Ok(sequencer::handle_batch(registry, records).await?);
        }
        let exchange =
            if std::env::var(trustreg_aws::EXCHANGE_ENABLED).is_ok_and(|v| !v.trim().is_empty()) {
                stream::Exchange::SendUp
            } else {
                stream::Exchange::Off
            };
        let outcome = stream::handle_batch(registry, records, exchange).await?;
        tracing::info!(
            records = records.len(),
            changes = outcome.changes,
            failed = outcome.failures.len(),
            "stream batch"
        );
        return Ok(outcome.response());
    }
    let now = trustreg_aws::SystemClock.now_ms();
    if event.get("task").and_then(Value::as_str) == Some("digest") {
        return Ok(schedules::digest(registry, now).await);
    }
    schedules::evaluate(registry, &event, now).await
}

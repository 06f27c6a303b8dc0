//! Lambda `notify` (card C1): the table's stream fanned out to the trust domains' topics
//! (Y.3059 7 iv e, card C4); on the stack's schedules, the evaluation of devices whose status
//! time alone changes (9.3 i c; 6.1 f) and the digest of each trust domain (9.4 i c).

mod sequencer;
mod stream;

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use trustreg_core::Registry;
use trustreg_core::ports::Clock;

/// Devices re-evaluated per run: a backlog is worked off over the next runs, each well within
/// the function's timeout.
const PER_RUN: usize = 200;

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

/// The three kinds of event: a stream batch (`Records`), the digest schedule (its rule's
/// constant input `{"task": "digest"}`), and the evaluation schedule (a scheduled event).
async fn handle(registry: &Registry, event: Value) -> Result<Value, lambda_runtime::Error> {
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
        return Ok(digest(registry, now).await);
    }
    evaluate(registry, &event, now).await
}

async fn digest(registry: &Registry, now: u64) -> Value {
    let mut published = Vec::new();
    let mut failed = Vec::new();
    for outcome in registry.digest(now).await {
        match outcome.result {
            Ok(digest) => {
                tracing::info!(domain = outcome.domain, changed = digest.changed, "digest");
                published.push(outcome.domain);
            }
            Err(e) => {
                // The domain keeps its previous digest time: the next run covers its window.
                tracing::warn!(domain = outcome.domain, error = %e, "digest not published");
                failed.push(outcome.domain);
            }
        }
    }
    json!({"published": published, "failed": failed})
}

async fn evaluate(
    registry: &Registry,
    event: &Value,
    now: u64,
) -> Result<Value, lambda_runtime::Error> {
    let run = registry.evaluate_due(now, PER_RUN).await?;
    tracing::info!(
        source = event.get("source").and_then(serde_json::Value::as_str),
        evaluated = run.evaluated,
        changed = run.changed.len(),
        failed = run.failed.len(),
        "scheduled evaluation"
    );
    for (regdevid, error) in &run.failed {
        tracing::warn!(regdevid, error, "device not re-evaluated");
    }
    Ok(serde_json::to_value(run)?)
}

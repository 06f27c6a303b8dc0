//! Lambda `notify`: on the stack's EventBridge schedule, re-evaluates the devices whose status
//! time alone changes (a report falls due, Y.3059 9.3 i c; 6.1 f).

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use trustreg_core::Registry;
use trustreg_core::evaluation::EvaluationRun;
use trustreg_core::ports::Clock;

/// Devices re-evaluated per run: a backlog is worked off over the next runs, each well within
/// the function's timeout.
const PER_RUN: usize = 200;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let registry = Arc::new(trustreg_aws::registry_from_env().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent>| {
        let registry = registry.clone();
        async move { evaluate(&registry, event).await }
    }))
    .await
}

async fn evaluate(
    registry: &Registry,
    event: LambdaEvent<EventBridgeEvent>,
) -> Result<EvaluationRun, lambda_runtime::Error> {
    let now = trustreg_aws::SystemClock.now_ms();
    let run = registry.evaluate_due(now, PER_RUN).await?;
    tracing::info!(
        source = event.payload.source,
        evaluated = run.evaluated,
        changed = run.changed.len(),
        failed = run.failed.len(),
        "scheduled evaluation"
    );
    for (regdevid, error) in &run.failed {
        tracing::warn!(regdevid, error, "device not re-evaluated");
    }
    Ok(run)
}

/// JSON lines for CloudWatch, like the HTTP functions.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .try_init();
}

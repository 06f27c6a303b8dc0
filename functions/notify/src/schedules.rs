//! The stack's two schedules: each trust domain's digest (9.4 i c) and the evaluation of the
//! devices whose status time alone changes (9.3 i c; 6.1 f), with the next batch of each
//! policy change still reaching its domain's devices (6.1 f).

use serde_json::{Value, json};
use trustreg_core::Registry;

/// Devices re-evaluated per run: a backlog is worked off over the next runs, each well within
/// the function's timeout.
const PER_RUN: usize = 200;

pub(crate) async fn digest(registry: &Registry, now: u64) -> Value {
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

pub(crate) async fn evaluate(
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
    // Policy changes not yet through their domains' devices: the next batch of each.
    let reevaluations = registry
        .continue_reevaluations(trustreg_core::domain_reevaluation::SCHEDULED_BUDGET)
        .await?;
    let mut answer = serde_json::to_value(run)?;
    answer["reevaluations"] = reevaluations
        .iter()
        .map(|(domain, progress)| {
            tracing::info!(
                domain,
                changed = progress.changed,
                complete = progress.complete,
                "policy re-evaluation"
            );
            json!({"domain": domain, "changed": progress.changed, "complete": progress.complete})
        })
        .collect();
    Ok(answer)
}

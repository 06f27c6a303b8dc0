//! The scheduled evaluation (Y.3059 6.1 f, 9.3 i c): devices whose status time alone changes
//! (a report falls due) are re-evaluated without anyone touching them.

use crate::error::RegistryError;
use crate::identifier::RegDevId;
use crate::service::Registry;
use crate::status::TrustStatus;

/// Who the transitions of the scheduled evaluation name.
pub const SCHEDULER: &str = "registry:scheduler";

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EvaluationRun {
    /// Devices re-evaluated.
    pub evaluated: usize,
    /// Those whose status changed, with the new status.
    pub changed: Vec<(String, TrustStatus)>,
    /// Devices that could not be re-evaluated this run, with the error code; they stay due, so
    /// the next run retries them.
    pub failed: Vec<(String, String)>,
}

impl Registry {
    /// Re-evaluates at most `limit` devices due at `now_ms` (the due index, never a scan), so
    /// one run stays within the function's time whatever the backlog. The evaluation itself
    /// uses the registry's clock, like every other change.
    pub async fn evaluate_due(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<EvaluationRun, RegistryError> {
        let due: Vec<RegDevId> = self.store.due_for_evaluation(now_ms, limit).await?;
        let mut run = EvaluationRun::default();
        for regdevid in due {
            let before = self.store.get_device(&regdevid).await?.map(|d| d.status);
            match self
                .change_device(&regdevid, SCHEDULER, "evaluate", Ok(()), |_| {})
                .await
            {
                Ok(device) => {
                    run.evaluated += 1;
                    if before != Some(device.status) {
                        run.changed.push((regdevid.to_string(), device.status));
                    }
                }
                Err(e) => run.failed.push((regdevid.to_string(), e.to_string())),
            }
        }
        Ok(run)
    }
}

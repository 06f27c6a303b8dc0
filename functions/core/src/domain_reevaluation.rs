//! A trust domain's policy change reaches the devices already registered in it (6.1 f) in
//! bounded batches, as a vulnerability reaches its devices: the request that changes the
//! policy re-evaluates a first batch, the scheduled evaluation the rest, each batch resuming
//! where the last stopped. A device is written only when its evaluation changes.

use crate::error::RegistryError;
use crate::policies::{policies_for, reevaluate};
use crate::ports::DeviceQuery;
use crate::records::{DomainPolicy, Reevaluation};
use crate::service::Registry;

/// Devices read by the request that changes a policy.
pub const FIRST_BATCH: usize = 25;
/// Devices read per domain by one scheduled run; reads are cheap, and only changed devices
/// are written.
pub const SCHEDULED_BATCH: usize = 500;

/// What the transitions and audit records of the re-evaluation call it.
const ACTION: &str = "policy-changed";

impl Registry {
    /// The batch the change of the policy makes itself (`set_domain_policy`).
    pub(crate) async fn reevaluate_first_batch(
        &self,
        record: &mut DomainPolicy,
    ) -> Result<(), RegistryError> {
        self.reevaluate_domain(record, FIRST_BATCH).await
    }

    /// Re-evaluates the next batch of `record`'s domain, reading at most `limit` devices,
    /// and stores the progress on `record` unless a newer policy took over meanwhile.
    pub(crate) async fn reevaluate_domain(
        &self,
        record: &mut DomainPolicy,
        limit: usize,
    ) -> Result<(), RegistryError> {
        let Some(progress) = record.reevaluation.as_mut().filter(|p| !p.complete) else {
            return Ok(());
        };
        let query = DeviceQuery {
            domain: Some(record.name.clone()),
            ..DeviceQuery::default()
        };
        let page = self
            .store
            .search_devices(&query, progress.cursor.as_deref(), limit)
            .await?;
        let stored = self.store.domain_policies().await?;
        let now = self.clock.now_ms();
        for device in page.items {
            let policies = policies_for(&stored, &self.config.policy, &device.trust_domains);
            // The evaluation the change would make, on a copy: an unchanged device is not
            // written.
            let mut probe = device.clone();
            reevaluate(&mut probe, &policies, now, &progress.by, ACTION);
            let unchanged = probe.status == device.status
                && probe.reasons == device.reasons
                && probe.next_evaluation_at_ms == device.next_evaluation_at_ms;
            if unchanged {
                continue;
            }
            match self
                .change_registered_device(&device.regdevid, &progress.by, ACTION, Ok(()), |_| {})
                .await
            {
                Ok(_) => progress.changed += 1,
                // A deregistered device keeps the status it ended with (6.3 e).
                Err(RegistryError::Deregistered(_)) => {}
                Err(e) => return Err(e),
            }
        }
        progress.complete = page.next.is_none();
        progress.cursor = page.next;
        self.store.put_reevaluation(record).await?;
        Ok(())
    }

    /// The scheduled evaluation's share: the next batch of every domain whose policy change
    /// has not reached all its devices yet. Answers each such domain's progress.
    pub async fn continue_reevaluations(
        &self,
        limit: usize,
    ) -> Result<Vec<(String, Reevaluation)>, RegistryError> {
        let mut progress = Vec::new();
        for mut record in self.store.domain_policies().await? {
            if record.reevaluation.as_ref().is_some_and(|p| !p.complete) {
                self.reevaluate_domain(&mut record, limit).await?;
                if let Some(done) = record.reevaluation {
                    progress.push((record.name, done));
                }
            }
        }
        Ok(progress)
    }
}

#[cfg(test)]
mod tests;

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
/// Devices read by one scheduled run, across every domain whose change is unfinished: however
/// many domains changed at once (up to 64 in one registry), a run reads this many at most, and
/// stays well within the notify function's timeout (120 s) with its other work. Reads are
/// cheap, and only changed devices are written.
pub const SCHEDULED_BUDGET: usize = 1000;
/// The least a domain reads in a run that reaches it: a page worth its query.
const MIN_SHARE: usize = FIRST_BATCH;

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

    /// The scheduled evaluation's share: the next batch of the domains whose policy change has
    /// not reached all their devices yet, reading at most `budget` devices in all, shared
    /// evenly (at least `MIN_SHARE` each). When the budget does not reach every domain, the
    /// oldest changes go first, so each run moves the same ones on and they finish in the
    /// order they were made. Answers the progress of each domain it reached.
    pub async fn continue_reevaluations(
        &self,
        budget: usize,
    ) -> Result<Vec<(String, Reevaluation)>, RegistryError> {
        let mut pending: Vec<_> = self
            .store
            .domain_policies()
            .await?
            .into_iter()
            .filter(|r| r.reevaluation.as_ref().is_some_and(|p| !p.complete))
            .collect();
        pending.sort_by(|a, b| (a.updated_at_ms, &a.name).cmp(&(b.updated_at_ms, &b.name)));
        let share = (budget / pending.len().max(1)).max(MIN_SHARE.min(budget));
        let mut left = budget;
        let mut progress = Vec::new();
        for mut record in pending {
            if left == 0 {
                break;
            }
            let limit = share.min(left);
            self.reevaluate_domain(&mut record, limit).await?;
            left -= limit;
            if let Some(done) = record.reevaluation {
                progress.push((record.name, done));
            }
        }
        Ok(progress)
    }
}

#[cfg(test)]
mod tests;

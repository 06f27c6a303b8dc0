//! The bounded re-evaluation of a vulnerability's devices, and the device-side changes it
//! makes: the fact, the link and the status, written together.

use crate::error::{RegistryError, StoreError};
use crate::identifier::RegDevId;
use crate::messages::{VulnerabilityProgress, VulnerabilityTarget};
use crate::ports::Updated;
use crate::records::{AffectedLink, DeviceRecord, VulnerabilityRecord, VulnerabilityState};
use crate::service::{Registry, UPDATE_ATTEMPTS};
use crate::status::OpenVulnerability;

use super::{MAX_BATCH, still_affected};

const MAX_ID: usize = 64;

/// One batch of a target: the devices to look at, and where the next batch starts.
struct Batch {
    devices: Vec<RegDevId>,
    next: Option<String>,
}

impl Registry {
    /// Re-evaluates at most `limit` (capped at `MAX_BATCH`) devices of the vulnerability,
    /// resuming from its stored cursor: an open one becomes a fact of each affected device, a
    /// fixed one is removed from each. Called again until `complete`; repeating a batch is
    /// harmless, as each device holds a vulnerability once. Changes are the source's.
    pub async fn apply_vulnerability(
        &self,
        id: &str,
        limit: usize,
    ) -> Result<VulnerabilityProgress, RegistryError> {
        let limit = limit.clamp(1, MAX_BATCH);
        // Ids are 22 characters; a longer one is no key the store should be asked about.
        if id.is_empty() || id.len() > MAX_ID {
            return Err(RegistryError::VulnerabilityNotFound(
                id.chars().take(32).collect(),
            ));
        }
        let mut record = self
            .store
            .get_vulnerability(id)
            .await?
            .ok_or_else(|| RegistryError::VulnerabilityNotFound(id.to_owned()))?;
        if record.complete {
            return Ok(progress(&record));
        }
        let batch = self.vulnerability_batch(&record, limit).await?;
        let mut changed = 0u64;
        for regdevid in &batch.devices {
            let done = match record.state {
                VulnerabilityState::Open => self.mark_affected(&record, regdevid).await?,
                VulnerabilityState::Fixed => {
                    let actor = record
                        .fixed_by
                        .clone()
                        .unwrap_or_else(|| record.source.actor());
                    self.clear_vulnerability(regdevid, &record.id, &actor, "vulnerability-fixed")
                        .await?
                }
            };
            changed += u64::from(done);
        }
        record.affected += changed;
        record.complete = batch.next.is_none();
        record.cursor = batch.next;
        record.version += 1;
        let audit = self.audit(
            &record.source.actor(),
            "apply-vulnerability",
            Some(format!("vulnerability:{}", record.id)),
            Ok(()),
        );
        match self.store.update_vulnerability(&record, &audit).await? {
            Updated::Updated => Ok(progress(&record)),
            // Another caller moved the cursor meanwhile: its progress is the one that counts.
            Updated::VersionConflict => self
                .store
                .get_vulnerability(id)
                .await?
                .map(|r| progress(&r))
                .ok_or_else(|| RegistryError::VulnerabilityNotFound(id.to_owned())),
        }
    }

    async fn vulnerability_batch(
        &self,
        record: &VulnerabilityRecord,
        limit: usize,
    ) -> Result<Batch, RegistryError> {
        match &record.target {
            VulnerabilityTarget::Devices { regdevids } => {
                let start = match &record.cursor {
                    Some(c) => c.parse::<usize>().map_err(|_| {
                        StoreError::Failed(format!("bad cursor {c:?} on {}", record.id))
                    })?,
                    None => 0,
                };
                let end = (start + limit).min(regdevids.len());
                let devices = regdevids
                    .get(start..end)
                    .unwrap_or_default()
                    .iter()
                    // Validated when reported; one that no longer parses is skipped.
                    .filter_map(|r| r.parse().ok())
                    .collect();
                let next = (end < regdevids.len()).then(|| end.to_string());
                Ok(Batch { devices, next })
            }
            VulnerabilityTarget::Range { make, model, .. } => {
                let page = self
                    .store
                    .devices_by_model(make, model, record.cursor.as_deref(), limit)
                    .await?;
                // Firmware is filtered here, as versions do not sort as text; a fixed
                // vulnerability looks at every device of the model, whatever its firmware now.
                let devices = page
                    .devices
                    .into_iter()
                    .filter(|d| {
                        record.state == VulnerabilityState::Fixed
                            || still_affected(record, &d.firmware)
                    })
                    .map(|d| d.regdevid)
                    .collect();
                Ok(Batch {
                    devices,
                    next: page.next,
                })
            }
        }
    }

    /// Adds the vulnerability to one device, if its firmware is affected and it does not
    /// hold it yet. True when the device changed.
    async fn mark_affected(
        &self,
        record: &VulnerabilityRecord,
        regdevid: &RegDevId,
    ) -> Result<bool, RegistryError> {
        let now = self.clock.now_ms();
        let changed = self
            .change_device_linked(
                regdevid,
                &record.source.actor(),
                "vulnerability",
                |device| {
                    let facts = &mut device.facts;
                    // A deregistered device keeps the facts it ended with (6.3 e).
                    if facts.deregistration.is_some()
                        || facts.open_vulnerabilities.iter().any(|v| v.id == record.id)
                        || !still_affected(record, &device.info.firmware_version)
                    {
                        return None;
                    }
                    facts.open_vulnerabilities.push(OpenVulnerability {
                        id: record.id.clone(),
                        severity: record.severity,
                    });
                    Some(AffectedLink {
                        regdevid: regdevid.clone(),
                        vulnerability_id: record.id.clone(),
                        severity: record.severity,
                        source: record.source.clone(),
                        reported_at_ms: record.reported_at_ms,
                        at_ms: now,
                        state: VulnerabilityState::Open,
                        fixed_at_ms: None,
                    })
                },
            )
            .await?;
        Ok(changed.is_some())
    }

    /// Removes the vulnerability from one device and marks its link fixed. True when the
    /// device held it.
    pub(crate) async fn clear_vulnerability(
        &self,
        regdevid: &RegDevId,
        id: &str,
        actor: &str,
        action: &str,
    ) -> Result<bool, RegistryError> {
        let Some(mut link) = self
            .store
            .links_of(regdevid)
            .await?
            .into_iter()
            .find(|l| l.vulnerability_id == id)
        else {
            return Ok(false);
        };
        let now = self.clock.now_ms();
        link.state = VulnerabilityState::Fixed;
        link.fixed_at_ms = Some(now);
        let changed = self
            .change_device_linked(regdevid, actor, action, |device| {
                if device.facts.deregistration.is_some() {
                    return None;
                }
                let open = &mut device.facts.open_vulnerabilities;
                let before = open.len();
                open.retain(|v| v.id != id);
                (open.len() != before).then(|| link.clone())
            })
            .await?;
        Ok(changed.is_some())
    }

    /// A device now runs `firmware`: each open vulnerability that no longer affects it is
    /// removed from its facts and its link marked fixed, so its status is re-derived (trusted
    /// again if nothing else holds it back). For the report flow, which knows the firmware a
    /// device reports; answers the ids cleared.
    pub async fn firmware_changed(
        &self,
        regdevid: &RegDevId,
        firmware: &str,
        actor: &str,
    ) -> Result<Vec<String>, RegistryError> {
        let mut cleared = Vec::new();
        for link in self.store.links_of(regdevid).await? {
            if link.state != VulnerabilityState::Open {
                continue;
            }
            let affected = match self.store.get_vulnerability(&link.vulnerability_id).await? {
                Some(v) => still_affected(&v, firmware),
                // A link without its report holds nothing up.
                None => false,
            };
            if !affected
                && self
                    .clear_vulnerability(
                        regdevid,
                        &link.vulnerability_id,
                        actor,
                        "firmware-fixes-vulnerability",
                    )
                    .await?
            {
                cleared.push(link.vulnerability_id);
            }
        }
        Ok(cleared)
    }

    /// `change_device` for a change that also writes the device's vulnerability link, in
    /// the same transaction. `change` answers `None` when there is nothing to change: then
    /// nothing is written. A device that is gone is skipped.
    async fn change_device_linked(
        &self,
        regdevid: &RegDevId,
        actor: &str,
        action: &str,
        change: impl Fn(&mut DeviceRecord) -> Option<AffectedLink>,
    ) -> Result<Option<DeviceRecord>, RegistryError> {
        for _ in 0..UPDATE_ATTEMPTS {
            let Some(mut device) = self.store.get_device(regdevid).await? else {
                return Ok(None);
            };
            let Some(link) = change(&mut device) else {
                return Ok(None);
            };
            let now = self.clock.now_ms();
            // As `change_device` does: under every domain's policy, the worst wins (6.1 f).
            let policies = self.policies_of(&device.trust_domains).await?;
            let transition =
                crate::policies::reevaluate(&mut device, &policies, now, actor, action);
            device.version += 1;
            let audit = self.audit(actor, action, Some(regdevid.to_string()), Ok(()));
            match self
                .store
                .update_device_linked(&device, &link, transition.as_ref(), &audit)
                .await?
            {
                Updated::Updated => return Ok(Some(device)),
                Updated::VersionConflict => continue,
            }
        }
        Err(RegistryError::Store(StoreError::Failed(format!(
            "{regdevid} kept changing under {action}"
        ))))
    }
}

fn progress(record: &VulnerabilityRecord) -> VulnerabilityProgress {
    VulnerabilityProgress {
        id: record.id.clone(),
        affected_so_far: record.affected,
        complete: record.complete,
    }
}

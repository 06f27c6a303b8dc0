//! Changing a device: the read-modify-write of its facts, with its status re-derived, the audit
//! record and any receipt in one transaction, retried when another writer got there first.

use crate::error::{RegistryError, StoreError};
use crate::identifier::RegDevId;
use crate::ports::Updated;
use crate::records::DeviceRecord;
use crate::service::{Registry, UPDATE_ATTEMPTS, UPDATE_BUDGET_MS};
use crate::status::Facts;

impl Registry {
    /// Read-modify-write of a device's facts with the status re-derived, retried on version
    /// conflicts; the audit record (accepted or not) goes in the same transaction.
    pub(crate) async fn change_device(
        &self,
        regdevid: &RegDevId,
        actor: &str,
        action: &str,
        outcome: Result<(), &RegistryError>,
        change: impl Fn(&mut Facts),
    ) -> Result<DeviceRecord, RegistryError> {
        self.change_device_guarded(regdevid, actor, action, outcome, change, Guard::Any)
            .await
    }

    /// `change_device` for a change that a deregistered device refuses (6.3 e): the refusal
    /// is decided on the read the write is conditioned on, so a deregistration that lands in
    /// between is not overwritten by a change made after it.
    pub(crate) async fn change_registered_device(
        &self,
        regdevid: &RegDevId,
        actor: &str,
        action: &str,
        outcome: Result<(), &RegistryError>,
        change: impl Fn(&mut Facts),
    ) -> Result<DeviceRecord, RegistryError> {
        self.change_device_guarded(regdevid, actor, action, outcome, change, Guard::Registered)
            .await
    }

    async fn change_device_guarded(
        &self,
        regdevid: &RegDevId,
        actor: &str,
        action: &str,
        outcome: Result<(), &RegistryError>,
        change: impl Fn(&mut Facts),
        guard: Guard,
    ) -> Result<DeviceRecord, RegistryError> {
        let named = Named::<()> {
            intent: None,
            answer: &|_| (),
            guard,
        };
        match self
            .change_device_named(regdevid, actor, action, outcome, change, &named)
            .await?
        {
            Changed::Device(device) => Ok(*device),
            Changed::Replayed(()) => Err(RegistryError::Store(StoreError::Failed(
                "a replay without an idempotency key".into(),
            ))),
        }
    }

    /// `change_device` for a change a client may have named with an idempotency key: its
    /// receipt, answered `named.answer` of the changed device, goes in the same transaction; a
    /// race lost to the same change made meanwhile is answered from that change's receipt.
    pub(crate) async fn change_device_named<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        regdevid: &RegDevId,
        actor: &str,
        action: &str,
        outcome: Result<(), &RegistryError>,
        change: impl Fn(&mut Facts),
        named: &Named<'_, T>,
    ) -> Result<Changed<T>, RegistryError> {
        let started = self.clock.now_ms();
        for attempt in 0..UPDATE_ATTEMPTS {
            if self.clock.now_ms().saturating_sub(started) > UPDATE_BUDGET_MS {
                break;
            }
            let mut device = self
                .store
                .get_device(regdevid)
                .await?
                .ok_or_else(|| RegistryError::DeviceNotFound(regdevid.to_string()))?;
            // As `deregistration::refuse_if_deregistered`, which uses this module.
            if named.guard == Guard::Registered && device.facts.deregistration.is_some() {
                return Err(RegistryError::Deregistered(regdevid.to_string()));
            }
            let now = self.clock.now_ms();
            change(&mut device.facts);
            if device.facts.acknowledged && device.acknowledged_at_ms.is_none() {
                device.acknowledged_at_ms = Some(now);
            }
            // Under the policies of every domain of the device: the worst wins (6.1 f).
            let policies = self.policies_of(&device.trust_domains).await?;
            let transition =
                crate::policies::reevaluate(&mut device, &policies, now, actor, action);
            device.version += 1;
            let audit = self.audit(actor, action, Some(regdevid.to_string()), outcome);
            let receipt = self.receipt(named.intent, &(named.answer)(&device))?;
            match self
                .store
                .update_device(&device, transition.as_ref(), &audit, receipt.as_ref())
                .await?
            {
                Updated::Updated => return Ok(Changed::Device(Box::new(device))),
                Updated::VersionConflict => {
                    if let Some(answer) = self.replay(named.intent).await? {
                        return Ok(Changed::Replayed(answer));
                    }
                    self.after_lost_race(attempt).await
                }
            }
        }
        Err(RegistryError::Store(StoreError::Failed(format!(
            "{regdevid} kept changing under {action}"
        ))))
    }

    /// Audits a refused signed request about a device: the signer it claims (unverified), and
    /// the device when the path names one.
    pub(crate) async fn audit_device_refusal<T>(
        &self,
        regdevid: &str,
        compact: &str,
        action: &str,
        result: &Result<T, RegistryError>,
    ) {
        if let Err(e) = result {
            let actor = crate::actors::unverified_actor(compact);
            let target = regdevid.parse::<RegDevId>().ok().map(|r| r.to_string());
            self.audit_rejection(&actor, action, target, e).await;
        }
    }
}

/// A change a client may have named (`crate::idempotency`): its intent, and the answer the
/// changed device gives, kept in the receipt.
pub(crate) struct Named<'a, T> {
    pub(crate) intent: Option<&'a crate::idempotency::Intent>,
    pub(crate) answer: &'a (dyn Fn(&DeviceRecord) -> T + Sync),
    /// Which devices the change applies to.
    pub(crate) guard: Guard,
}

/// Which devices a change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// Any device: the registry's own upkeep (the scheduled evaluation), and deregistration.
    Any,
    /// A registered device only: a deregistered one answers `device-deregistered`.
    Registered,
}

/// A named change: made now, or made before and answered from its receipt.
pub(crate) enum Changed<T> {
    Device(Box<DeviceRecord>),
    Replayed(T),
}

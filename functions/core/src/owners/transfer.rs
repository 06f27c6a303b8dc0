//! A device changing owner (Y.3059 9.2 i d). The current owner offers the device to another
//! owner and the transfer takes effect only when that owner accepts it, so nobody can push a
//! device (and what its status says) onto somebody else; an administrator moves a device at
//! once. Either way the device is re-evaluated under its trust domains' policies, and the
//! custody chain keeps every holder.

use crate::actors::{Actor, Role};
use crate::error::{RegistryError, StoreError};
use crate::idempotency::Intent;
use crate::identifier::RegDevId;
use crate::messages::{AcceptTransferClaims, Purpose, TransferClaims, TransferResponse};
use crate::policies::reevaluate;
use crate::ports::Updated;
use crate::records::{CustodyEntry, DeviceRecord, OwnerRecord, TransferOffer, VerificationState};
use crate::service::{Registry, UPDATE_ATTEMPTS, parse_regdevid};

/// How long an offered transfer waits for the receiving owner's acceptance.
pub const TRANSFER_OFFER_TTL_MS: u64 = 7 * 24 * 60 * 60 * 1000;

impl Registry {
    /// `POST /v1/devices/{regdevid}/transfer`, signed by the current owner (an offer to
    /// `new_owner_id`, which accepts it with `accept_transfer`) or by an administrator (the
    /// device passes at once). To the current owner it changes nothing.
    pub async fn transfer(
        &self,
        regdevid: &str,
        compact: &str,
    ) -> Result<TransferResponse, RegistryError> {
        let result = self.transfer_inner(regdevid, compact).await;
        self.audit_device_refusal(regdevid, compact, "transfer", &result)
            .await;
        result
    }

    /// `POST /v1/devices/{regdevid}/transfer/accept`, signed by the owner the device was
    /// offered to: the device passes to it.
    pub async fn accept_transfer(
        &self,
        regdevid: &str,
        compact: &str,
    ) -> Result<TransferResponse, RegistryError> {
        let result = self.accept_transfer_inner(regdevid, compact).await;
        self.audit_device_refusal(regdevid, compact, "accept-transfer", &result)
            .await;
        result
    }

    async fn transfer_inner(
        &self,
        regdevid_text: &str,
        compact: &str,
    ) -> Result<TransferResponse, RegistryError> {
        let regdevid = parse_regdevid(regdevid_text)?;
        let signed = self
            .verify_signed::<TransferClaims>(
                compact,
                &[Role::Owner, Role::Admin],
                Purpose::Transfer,
            )
            .await?;
        let actor = signed.actor.audit_name();
        if signed.claims.new_owner_id.len() > crate::actors::MAX_KID {
            return Err(RegistryError::Malformed(format!(
                "new_owner_id is at most {} bytes",
                crate::actors::MAX_KID
            )));
        }
        let intent = Intent::of(
            &actor,
            "transfer",
            &regdevid.to_string(),
            signed.claims.idempotency_key.as_deref(),
            &signed.claims,
        )?;
        // A retry of a transfer already made: its answer then, not a second offer or move.
        if let Some(answer) = self.replay(intent.as_ref()).await? {
            return Ok(answer);
        }
        let intent = intent.as_ref();
        let new_owner = self
            .store
            .get_owner(&signed.claims.new_owner_id)
            .await?
            .ok_or_else(|| RegistryError::OwnerNotFound(signed.claims.new_owner_id.clone()))?;
        match &signed.actor {
            Actor::Owner(owner) => {
                self.offer(
                    &regdevid,
                    &owner.owner_id,
                    &new_owner.owner_id,
                    &actor,
                    intent,
                )
                .await
            }
            _ => {
                self.pass(&regdevid, &new_owner, &actor, false, intent)
                    .await
            }
        }
    }

    async fn accept_transfer_inner(
        &self,
        regdevid_text: &str,
        compact: &str,
    ) -> Result<TransferResponse, RegistryError> {
        let regdevid = parse_regdevid(regdevid_text)?;
        let signed = self
            .verify_signed::<AcceptTransferClaims>(compact, &[Role::Owner], Purpose::Transfer)
            .await?;
        let Actor::Owner(owner) = &signed.actor else {
            return Err(RegistryError::Forbidden(
                "only an owner accepts a device".into(),
            ));
        };
        let actor = signed.actor.audit_name();
        self.pass(&regdevid, owner, &actor, true, None).await
    }

    /// Records the current owner's offer of the device to `to`; the device is unchanged.
    async fn offer(
        &self,
        regdevid: &RegDevId,
        from: &str,
        to: &str,
        actor: &str,
        intent: Option<&Intent>,
    ) -> Result<TransferResponse, RegistryError> {
        for attempt in 0..UPDATE_ATTEMPTS {
            let mut device = self.device(regdevid).await?;
            if device.owner_id.as_deref() != Some(from) {
                return Err(RegistryError::Forbidden(
                    "only the device's current owner may transfer it".into(),
                ));
            }
            if device.owner_id.as_deref() == Some(to) {
                return Ok(answer(&device));
            }
            device.transfer_offer = Some(TransferOffer {
                to: to.to_owned(),
                by: actor.to_owned(),
                at_ms: self.clock.now_ms(),
            });
            device.version += 1;
            let audit = self.audit(actor, "offer-transfer", Some(regdevid.to_string()), Ok(()));
            let receipt = self.receipt(intent, &answer(&device))?;
            match self
                .store
                .update_device(&device, None, &audit, receipt.as_ref())
                .await?
            {
                Updated::Updated => return Ok(answer(&device)),
                Updated::VersionConflict => {
                    if let Some(done) = self.replay(intent).await? {
                        return Ok(done);
                    }
                    self.after_lost_race(attempt).await
                }
            }
        }
        Err(kept_changing(regdevid))
    }

    /// Passes the device to `new_owner`: at once for an administrator, or as the acceptance of
    /// the offer made to it (`accepting`).
    async fn pass(
        &self,
        regdevid: &RegDevId,
        new_owner: &OwnerRecord,
        actor: &str,
        accepting: bool,
        intent: Option<&Intent>,
    ) -> Result<TransferResponse, RegistryError> {
        let verified = new_owner.verification.state == VerificationState::Verified;
        for attempt in 0..UPDATE_ATTEMPTS {
            let mut device = self.device(regdevid).await?;
            let now = self.clock.now_ms();
            if accepting {
                let offered = device.transfer_offer.as_ref().is_some_and(|offer| {
                    offer.to == new_owner.owner_id
                        && now.saturating_sub(offer.at_ms) <= TRANSFER_OFFER_TTL_MS
                });
                if !offered {
                    return Err(RegistryError::Forbidden(format!(
                        "no transfer of {regdevid} is offered to owner:{}",
                        new_owner.owner_id
                    )));
                }
            }
            // To the owner it already has: nothing changes, nothing is written.
            if device.owner_id.as_deref() == Some(new_owner.owner_id.as_str()) {
                return Ok(answer(&device));
            }
            let custody = CustodyEntry {
                regdevid: regdevid.clone(),
                at_ms: now,
                from: device.owner_id.clone(),
                to: Some(new_owner.owner_id.clone()),
                actor: actor.to_owned(),
            };
            device.owner_id = Some(new_owner.owner_id.clone());
            device.transfer_offer = None;
            device.facts.owner_verified = verified;
            // Under the policies of the device's trust domains, as every other change (the
            // worst wins, 6.1 f), and kept in the due-evaluation index.
            let policies = self.policies_of(&device.trust_domains).await?;
            let transition = reevaluate(&mut device, &policies, now, actor, "transfer");
            device.version += 1;
            let audit = self.audit(actor, "transfer", Some(regdevid.to_string()), Ok(()));
            let receipt = self.receipt(intent, &answer(&device))?;
            match self
                .store
                .change_custody(
                    &device,
                    &custody,
                    transition.as_ref(),
                    &audit,
                    receipt.as_ref(),
                )
                .await?
            {
                Updated::Updated => return Ok(answer(&device)),
                Updated::VersionConflict => {
                    if let Some(done) = self.replay(intent).await? {
                        return Ok(done);
                    }
                    self.after_lost_race(attempt).await
                }
            }
        }
        Err(kept_changing(regdevid))
    }

    /// The device to transfer: read in each attempt of the conditional write, so a device
    /// deregistered meanwhile is refused, not transferred.
    pub(super) async fn device(&self, regdevid: &RegDevId) -> Result<DeviceRecord, RegistryError> {
        let device = self
            .store
            .get_device(regdevid)
            .await?
            .ok_or_else(|| RegistryError::DeviceNotFound(regdevid.to_string()))?;
        crate::deregistration::refuse_if_deregistered(&device)?;
        Ok(device)
    }
}

/// The device's owner and status, and the transfer it waits for, if any.
fn answer(device: &DeviceRecord) -> TransferResponse {
    TransferResponse {
        regdevid: device.regdevid.to_string(),
        owner_id: device.owner_id.clone().unwrap_or_default(),
        status: device.status,
        offered_to: device.transfer_offer.as_ref().map(|offer| offer.to.clone()),
    }
}

fn kept_changing(regdevid: &RegDevId) -> RegistryError {
    RegistryError::Store(StoreError::Failed(format!(
        "{regdevid} kept changing under transfer"
    )))
}

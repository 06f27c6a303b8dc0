//! Revoking an owner (Y.3059 6.3 e): custody ends without passing to anyone. The
//! device keeps its registration and is re-evaluated as on any change; it has no owner
//! afterwards, so the former owner's link and authority are gone (its holds, transfers,
//! deregistration are refused as another's). An administrator may later give it an owner with
//! a transfer. The custody chain records the end (an entry without `to`).

use crate::actors::{Actor, Role};
use crate::error::RegistryError;
use crate::idempotency::Intent;
use crate::identifier::RegDevId;
use crate::messages::{
    OwnerRevocationClaims, OwnerRevocationResponse, Purpose, check_note, check_signed_device,
};
use crate::policies::reevaluate;
use crate::ports::Updated;
use crate::records::CustodyEntry;
use crate::service::{Registry, UPDATE_ATTEMPTS, parse_regdevid, rfc3339};

const ACTION: &str = "revoke-owner";

impl Registry {
    /// `POST /v1/devices/{regdevid}/owner/revocation`, signed by the device's current owner or
    /// an administrator over a `transfer` nonce.
    pub async fn revoke_owner(
        &self,
        regdevid: &str,
        compact: &str,
    ) -> Result<OwnerRevocationResponse, RegistryError> {
        let result = self.revoke_owner_inner(regdevid, compact).await;
        self.audit_device_refusal(regdevid, compact, ACTION, &result)
            .await;
        result
    }

    async fn revoke_owner_inner(
        &self,
        regdevid_text: &str,
        compact: &str,
    ) -> Result<OwnerRevocationResponse, RegistryError> {
        let regdevid = parse_regdevid(regdevid_text)?;
        let signed = self
            .verify_signed::<OwnerRevocationClaims>(
                compact,
                &[Role::Owner, Role::Admin],
                Purpose::Transfer,
            )
            .await?;
        let claims = signed.claims;
        let actor = signed.actor.audit_name();
        let intent = Intent::of(
            &actor,
            ACTION,
            &regdevid.to_string(),
            claims.idempotency_key.as_deref(),
            &claims,
        )?;
        check_signed_device(&claims.regdevid, &regdevid, regdevid_text)?;
        check_note(claims.note.as_deref())?;
        // A retry of a revocation already made: its answer then, though the signer (an owner)
        // no longer owns the device.
        if let Some(answer) = self.replay(intent.as_ref()).await? {
            return Ok(answer);
        }
        let owner = match &signed.actor {
            Actor::Owner(owner) => Some(owner.owner_id.as_str()),
            _ => None,
        };
        self.end_custody(&regdevid, owner, &actor, intent.as_ref())
            .await
    }

    /// Ends the custody of the device's owner (`signer`, when an owner signed: it must be
    /// that owner), under the write's version condition.
    async fn end_custody(
        &self,
        regdevid: &RegDevId,
        signer: Option<&str>,
        actor: &str,
        intent: Option<&Intent>,
    ) -> Result<OwnerRevocationResponse, RegistryError> {
        for attempt in 0..UPDATE_ATTEMPTS {
            // A deregistered device is refused (6.3 e), as every change of it.
            let mut device = self.device(regdevid).await?;
            if let Some(owner) = signer
                && device.owner_id.as_deref() != Some(owner)
            {
                return Err(RegistryError::Forbidden(format!(
                    "owner:{owner} does not own {regdevid}"
                )));
            }
            // An administrator's revocation of a device without an owner: nobody to revoke.
            let Some(former) = device.owner_id.take() else {
                return Err(RegistryError::OwnerNotFound(format!(
                    "{regdevid} has no owner"
                )));
            };
            let now = self.clock.now_ms();
            let custody = CustodyEntry {
                regdevid: regdevid.clone(),
                at_ms: now,
                from: Some(former.clone()),
                to: None,
                actor: actor.to_owned(),
            };
            device.transfer_offer = None;
            device.facts.owner_verified = false;
            // As every change: under its trust domains' policies, the worst wins (6.1 f).
            let policies = self.policies_of(&device.trust_domains).await?;
            let transition = reevaluate(&mut device, &policies, now, actor, ACTION);
            device.version += 1;
            let audit = self.audit(actor, ACTION, Some(regdevid.to_string()), Ok(()));
            let answer = OwnerRevocationResponse {
                regdevid: regdevid.to_string(),
                status: device.status,
                former_owner_id: former,
                revoked_at: rfc3339(now),
            };
            let receipt = self.receipt(intent, &answer)?;
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
                Updated::Updated => return Ok(answer),
                Updated::VersionConflict => {
                    if let Some(done) = self.replay(intent).await? {
                        return Ok(done);
                    }
                    self.after_lost_race(attempt).await
                }
            }
        }
        Err(crate::error::RegistryError::Store(
            crate::error::StoreError::Failed(format!("{regdevid} kept changing under {ACTION}")),
        ))
    }
}

//! Deregistration and decommissioning (Y.3059 6.3 e): the device's owner or an administrator
//! ends a device's registration, signed and audited. The record and its history stay; its
//! status becomes `deregistered` for good (`status::evaluate`), which its transition, the
//! notifications and the exchange carry like any status change. Nothing more is done to it
//! (reports, holds, transfers answer `device-deregistered`), and its inherent identifier does
//! not register again: the RegDevID is the RegID and that identifier (9.2 i b), so the same
//! identifier could only be given the very RegDevID that must never be issued again.

#[cfg(test)]
mod tests;

use crate::actors::{Actor, Role};
use crate::device_changes::{Changed, Guard, Named};
use crate::error::RegistryError;
use crate::idempotency::Intent;
use crate::messages::{DeregistrationClaims, DeregistrationResponse, Purpose};
use crate::messages::{check_note, check_signed_device};
use crate::records::DeviceRecord;
use crate::service::{Registry, parse_regdevid, rfc3339};
use crate::status::Deregistration;

const ACTION: &str = "deregister";

impl Registry {
    /// `POST /v1/devices/{regdevid}/deregistration`. A device already deregistered is answered
    /// as it was deregistered (when, why), and nothing changes.
    pub async fn deregister(
        &self,
        regdevid: &str,
        compact: &str,
    ) -> Result<DeregistrationResponse, RegistryError> {
        let result = self.deregister_inner(regdevid, compact).await;
        self.audit_device_refusal(regdevid, compact, ACTION, &result)
            .await;
        result
    }

    async fn deregister_inner(
        &self,
        regdevid_text: &str,
        compact: &str,
    ) -> Result<DeregistrationResponse, RegistryError> {
        let regdevid = parse_regdevid(regdevid_text)?;
        let signed = self
            .verify_signed::<DeregistrationClaims>(
                compact,
                &[Role::Admin, Role::Owner],
                Purpose::Deregister,
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
        if let Some(answer) = self.replay(intent.as_ref()).await? {
            return Ok(answer);
        }
        let device = self
            .store
            .get_device(&regdevid)
            .await?
            .ok_or_else(|| RegistryError::DeviceNotFound(regdevid.to_string()))?;
        // The owner it had when it was deregistered still may ask again (and is told it is).
        if let Actor::Owner(owner) = &signed.actor
            && device.owner_id.as_deref() != Some(owner.owner_id.as_str())
        {
            return Err(RegistryError::Forbidden(format!(
                "{actor} does not own {regdevid}"
            )));
        }
        if let Some(answer) = answer(&device) {
            // Changes nothing; audited as a repeat, so the trail shows who asked.
            let record = self.audit(
                &actor,
                "deregister-again",
                Some(regdevid.to_string()),
                Ok(()),
            );
            self.store.record_audit(&record).await?;
            return Ok(answer);
        }
        let deregistration = Deregistration {
            reason: claims.reason,
            by: actor.clone(),
        };
        let named = Named {
            intent: intent.as_ref(),
            answer: &|d: &DeviceRecord| answer(d).unwrap_or_else(|| unreachable_answer(d)),
            guard: Guard::Any,
        };
        let action = format!("{ACTION}:{}", claims.reason.as_str());
        let changed = self
            .change_device_named(
                &regdevid,
                &actor,
                &action,
                Ok(()),
                |facts| {
                    // Should another deregistration have won the race, it stands.
                    if facts.deregistration.is_none() {
                        facts.deregistration = Some(deregistration.clone());
                    }
                },
                &named,
            )
            .await?;
        Ok(match changed {
            Changed::Device(device) => (named.answer)(&device),
            Changed::Replayed(answer) => answer,
        })
    }
}

/// The answer for a deregistered device; `None` while it is registered. Its date is the
/// status's: the terminal status never changes again.
fn answer(device: &DeviceRecord) -> Option<DeregistrationResponse> {
    let d = device.facts.deregistration.as_ref()?;
    Some(DeregistrationResponse {
        regdevid: device.regdevid.to_string(),
        status: device.status,
        deregistered_at: rfc3339(device.status_since_ms),
        reason: d.reason,
    })
}

/// The change always leaves a deregistration; this only keeps the type total.
fn unreachable_answer(device: &DeviceRecord) -> DeregistrationResponse {
    DeregistrationResponse {
        regdevid: device.regdevid.to_string(),
        status: device.status,
        deregistered_at: rfc3339(device.status_since_ms),
        reason: crate::status::DeregistrationReason::Decommissioned,
    }
}

/// Refuses any further change of a deregistered device.
pub(crate) fn refuse_if_deregistered(device: &DeviceRecord) -> Result<(), RegistryError> {
    match device.facts.deregistration {
        Some(_) => Err(RegistryError::Deregistered(device.regdevid.to_string())),
        None => Ok(()),
    }
}

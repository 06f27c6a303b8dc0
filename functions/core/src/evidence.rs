//! The registry interrogating a device (Y.3059 9.2 note): an administrator asks a registered
//! device for fresh evidence; the device reads the request in its feed and answers with a
//! signed report carrying the request's challenge (`reports`); unanswered past the shortest
//! evidence window of its domains, the scheduled evaluation makes it `unverified`
//! (`evidence_not_provided`, `status::evaluate`).

use crate::actors::Role;
use crate::error::RegistryError;
use crate::messages::{Purpose, check_signed_device};
use crate::records::DeviceRecord;
use crate::service::{Registry, parse_regdevid, rfc3339};
use crate::status::{DEFAULT_EVIDENCE_WINDOW_SECONDS, EvidenceRequest, Facts, Policy};
pub use trustreg_model::evidence::*;

/// How audit records and transitions name the request.
pub const EVIDENCE_REQUESTED: &str = "evidence-requested";
/// How they name a report that answers it.
pub const EVIDENCE_PROVIDED: &str = "evidence-provided";

impl Registry {
    /// `POST /v1/devices/{regdevid}/evidence-requests`.
    pub async fn request_evidence(
        &self,
        regdevid: &str,
        compact: &str,
    ) -> Result<EvidenceRequestView, RegistryError> {
        let result = self.request_evidence_inner(regdevid, compact).await;
        self.audit_device_refusal(regdevid, compact, EVIDENCE_REQUESTED, &result)
            .await;
        result
    }

    async fn request_evidence_inner(
        &self,
        regdevid_text: &str,
        compact: &str,
    ) -> Result<EvidenceRequestView, RegistryError> {
        let regdevid = parse_regdevid(regdevid_text)?;
        let signed = self
            .verify_signed::<EvidenceRequestClaims>(
                compact,
                &[Role::Admin],
                Purpose::EvidenceRequest,
            )
            .await?;
        check_signed_device(&signed.claims.regdevid, &regdevid, regdevid_text)?;
        let device = self
            .store
            .get_device(&regdevid)
            .await?
            .ok_or_else(|| RegistryError::DeviceNotFound(regdevid.to_string()))?;
        crate::deregistration::refuse_if_deregistered(&device)?;
        // One request at a time: a second one would move the deadline of a device that let
        // the first one pass, and make it trusted again without any evidence.
        if device.facts.evidence_request.is_some() {
            return Err(RegistryError::InvalidTransition(format!(
                "{regdevid} has an evidence request pending"
            )));
        }
        let policies = self.policies_of(&device.trust_domains).await?;
        let now = self.clock.now_ms();
        let by = signed.actor.audit_name();
        let request = EvidenceRequest {
            challenge: self.random_token(),
            requested_at_ms: now,
            due_at_ms: now.saturating_add(evidence_window_ms(&policies)),
            by: by.clone(),
        };
        let device = self
            .change_registered_device(&regdevid, &by, EVIDENCE_REQUESTED, Ok(()), |facts| {
                // Another request that landed since the read above stays: its deadline is the
                // one the device may already have been told.
                facts
                    .evidence_request
                    .get_or_insert_with(|| request.clone());
            })
            .await?;
        view_of(&device).ok_or_else(|| {
            RegistryError::InvalidTransition(format!("{regdevid} has no evidence request"))
        })
    }
}

/// The shortest evidence window among the device's domains' policies, in milliseconds: the
/// strictest domain decides how long the device has, as the worst evaluation decides its status.
pub fn evidence_window_ms(policies: &[Policy]) -> u64 {
    policies
        .iter()
        .map(Policy::evidence_window_seconds)
        .min()
        .unwrap_or(DEFAULT_EVIDENCE_WINDOW_SECONDS)
        .saturating_mul(1000)
}

/// The device's pending evidence request as the registry shows it, if any.
pub fn view_of(device: &DeviceRecord) -> Option<EvidenceRequestView> {
    device
        .facts
        .evidence_request
        .as_ref()
        .map(|r| EvidenceRequestView {
            regdevid: device.regdevid.to_string(),
            challenge: r.challenge.clone(),
            requested_at: rfc3339(r.requested_at_ms),
            due_at: rfc3339(r.due_at_ms),
        })
}

/// Whether `challenge` answers the pending request of `facts`. A late answer still does: the
/// device was `unverified` while it was overdue (its history says so), and is no longer once it
/// proved itself.
pub(crate) fn answers(facts: &Facts, challenge: &str) -> bool {
    facts
        .evidence_request
        .as_ref()
        .is_some_and(|r| r.challenge == challenge)
}

#[cfg(test)]
mod tests;

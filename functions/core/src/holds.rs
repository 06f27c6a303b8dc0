//! Holds on a device (stolen, compromised): placed and released by an administrator, or by
//! the device's owner. A held device is `unreliable` until every hold is released. A hold
//! remembers whether an administrator placed it: then only an administrator releases it (an
//! owner cannot undo a `compromised` an administrator found), and an owner placing the same
//! kind again does not take it over.

use crate::actors::{Actor, Role};
use crate::device_changes::{Changed, Guard, Named};
use crate::error::RegistryError;
use crate::idempotency::Intent;
use crate::messages::{
    HoldClaims, HoldKind, HoldResponse, Purpose, check_note, check_signed_device,
};
use crate::service::{Registry, parse_regdevid};

impl Registry {
    /// `POST /v1/devices/{regdevid}/holds`.
    pub async fn place_hold(
        &self,
        regdevid: &str,
        compact: &str,
    ) -> Result<HoldResponse, RegistryError> {
        let result = self.hold_inner(regdevid, None, compact).await;
        self.audit_device_refusal(regdevid, compact, "hold", &result)
            .await;
        result
    }

    /// `POST /v1/devices/{regdevid}/holds/{kind}/release`.
    pub async fn release_hold(
        &self,
        regdevid: &str,
        kind: &str,
        compact: &str,
    ) -> Result<HoldResponse, RegistryError> {
        let result = self.hold_inner(regdevid, Some(kind), compact).await;
        self.audit_device_refusal(regdevid, compact, "release-hold", &result)
            .await;
        result
    }

    /// Places a hold, or releases the one of `release` (the path's kind).
    async fn hold_inner(
        &self,
        regdevid_text: &str,
        release: Option<&str>,
        compact: &str,
    ) -> Result<HoldResponse, RegistryError> {
        let regdevid = parse_regdevid(regdevid_text)?;
        let signed = self
            .verify_signed::<HoldClaims>(compact, &[Role::Admin, Role::Owner], Purpose::Hold)
            .await?;
        let claims = signed.claims;
        let action = hold_action(claims.kind, release.is_some());
        let intent = Intent::of(
            &signed.actor.audit_name(),
            &action,
            &regdevid.to_string(),
            claims.idempotency_key.as_deref(),
            &claims,
        )?;
        check_signed_device(&claims.regdevid, &regdevid, regdevid_text)?;
        if let Some(path_kind) = release
            && path_kind != claims.kind.as_str()
        {
            return Err(RegistryError::Malformed(
                "the signed hold kind differs from the path".into(),
            ));
        }
        check_note(claims.note.as_deref())?;
        // A retry of a change already made: its answer then, whatever holds now.
        if let Some(answer) = self.replay(intent.as_ref()).await? {
            return Ok(answer);
        }
        if let Actor::Owner(owner) = &signed.actor {
            let owned = self.store.devices_of_owner(&owner.owner_id).await?;
            if !owned.contains(&regdevid) {
                return Err(RegistryError::Forbidden(format!(
                    "{} does not own {regdevid}",
                    signed.actor.audit_name()
                )));
            }
        }
        let device = self
            .store
            .get_device(&regdevid)
            .await?
            .ok_or_else(|| RegistryError::DeviceNotFound(regdevid.to_string()))?;
        // Refused here for a clear answer, and again under the write's condition (`Guard`).
        crate::deregistration::refuse_if_deregistered(&device)?;
        let kind = claims.kind.as_str();
        let releasing = release.is_some();
        if releasing && !device.facts.holds.iter().any(|h| h == kind) {
            return Err(RegistryError::HoldNotFound(
                regdevid.to_string(),
                kind.to_owned(),
            ));
        }
        let by_admin = matches!(signed.actor, Actor::Admin(_));
        if releasing && !by_admin && device.facts.admin_holds.iter().any(|h| h == kind) {
            return Err(RegistryError::Forbidden(format!(
                "the {kind} hold on {regdevid} was placed by an administrator, who alone releases it"
            )));
        }
        let named = Named {
            intent: intent.as_ref(),
            answer: &answer,
            guard: Guard::Registered,
        };
        let device = match self
            .change_device_named(
                &regdevid,
                &signed.actor.audit_name(),
                &action,
                Ok(()),
                |facts| {
                    let admin_placed = facts.admin_holds.iter().any(|h| h == kind);
                    // Checked above on an earlier read; kept here under the write's condition,
                    // should an administrator have placed it in between.
                    if releasing && admin_placed && !by_admin {
                        return;
                    }
                    facts.holds.retain(|h| h != kind);
                    facts.admin_holds.retain(|h| h != kind);
                    if !releasing {
                        facts.holds.push(kind.to_owned());
                        if by_admin || admin_placed {
                            facts.admin_holds.push(kind.to_owned());
                        }
                    }
                },
                &named,
            )
            .await?
        {
            Changed::Device(device) => device,
            Changed::Replayed(answer) => return Ok(answer),
        };
        Ok(answer(&device))
    }
}

fn answer(device: &crate::records::DeviceRecord) -> HoldResponse {
    HoldResponse {
        regdevid: device.regdevid.to_string(),
        status: device.status,
        holds: device.facts.holds.clone(),
    }
}

/// How audit records and transitions name the change, e.g. `hold:stolen`.
fn hold_action(kind: HoldKind, releasing: bool) -> String {
    if releasing {
        format!("release-hold:{}", kind.as_str())
    } else {
        format!("hold:{}", kind.as_str())
    }
}

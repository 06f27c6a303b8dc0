//! Vulnerability reports (Y.3059 9.3 ii b, 7 iv d): stored with their time and source, open
//! or fixed, and applied to the devices they target in bounded batches, so a range of a
//! million devices is re-evaluated over many calls instead of one that times out.

mod apply;
mod firmware;
#[cfg(test)]
mod tests;

use crate::actors::{Actor, Role, unverified_actor};
use crate::error::RegistryError;
use crate::identifier::RegDevId;
use crate::messages::{
    Purpose, SourceKind, VulnerabilityActionClaims, VulnerabilityClaims, VulnerabilityProgress,
    VulnerabilityTarget,
};
use crate::records::{VulnerabilityRecord, VulnerabilitySource, VulnerabilityState};
use crate::service::Registry;

pub use firmware::{compare_firmware, in_range, still_affected};

/// Devices re-evaluated by the request that reports a vulnerability; the rest follow through
/// `apply_vulnerability` (the admin route, or the scheduled function).
pub const FIRST_BATCH: usize = 25;
/// The most devices one call re-evaluates.
pub const MAX_BATCH: usize = 100;
const MAX_TARGETS: usize = 100;
const MAX_SUMMARY: usize = 1024;
const MAX_TEXT: usize = 128;
/// Who signs `POST /v1/vulnerabilities` (API.md, the role table).
const REPORTERS: &[Role] = &[Role::Device, Role::Owner, Role::Agency, Role::Admin];

impl Registry {
    /// `POST /v1/vulnerabilities`: a signed report from an admin or an authorized agency (any
    /// target), from an owner about devices it owns, or from a device about itself (Y.3059
    /// 9.3 ii b). Stores it with its source and re-evaluates up to `first_batch` of its devices.
    pub async fn report_vulnerability(
        &self,
        compact: &str,
        first_batch: usize,
    ) -> Result<VulnerabilityProgress, RegistryError> {
        let result = self.report_vulnerability_inner(compact, first_batch).await;
        if let Err(e) = &result {
            let actor = unverified_actor(compact);
            self.audit_rejection(&actor, "report-vulnerability", None, e)
                .await;
        }
        result
    }

    async fn report_vulnerability_inner(
        &self,
        compact: &str,
        first_batch: usize,
    ) -> Result<VulnerabilityProgress, RegistryError> {
        // Other registries' reports arrive through the signed exchange, not this route.
        let signed = self
            .verify_signed::<VulnerabilityClaims>(compact, REPORTERS, Purpose::Vulnerability)
            .await?;
        let claims = signed.claims;
        let target = validate(&claims)?;
        let source = match &signed.actor {
            Actor::Device(device) => {
                let own = device.regdevid.to_string();
                let only_itself = matches!(&target, VulnerabilityTarget::Devices { regdevids }
                    if regdevids.iter().all(|r| *r == own));
                if !only_itself {
                    return Err(RegistryError::Forbidden(
                        "a device reports vulnerabilities of itself only".into(),
                    ));
                }
                VulnerabilitySource {
                    kind: SourceKind::Device,
                    name: own,
                }
            }
            Actor::Admin(name) => VulnerabilitySource {
                kind: SourceKind::Admin,
                name: name.clone(),
            },
            // An owner speaks for its own devices only: a range, or a device it does not own,
            // would let anyone who registers a key mark others' devices unreliable.
            Actor::Owner(owner) => {
                let VulnerabilityTarget::Devices { regdevids } = &target else {
                    return Err(RegistryError::Forbidden(
                        "an owner reports vulnerabilities of its own devices only, by RegDevID"
                            .into(),
                    ));
                };
                let owned = self.store.devices_of_owner(&owner.owner_id).await?;
                if let Some(other) = regdevids
                    .iter()
                    .find(|r| !owned.iter().any(|o| o.to_string() == **r))
                {
                    return Err(RegistryError::Forbidden(format!(
                        "owner:{} does not own {other}",
                        owner.owner_id
                    )));
                }
                VulnerabilitySource {
                    kind: SourceKind::Owner,
                    name: owner.owner_id.clone(),
                }
            }
            // An approved enquirer that an administrator gave the agency role.
            Actor::Enquirer(enquirer) if enquirer.role == Role::Agency => VulnerabilitySource {
                kind: SourceKind::Agency,
                name: enquirer.enquirer_id.clone(),
            },
            other => {
                return Err(RegistryError::Forbidden(format!(
                    "{} may not report vulnerabilities",
                    other.audit_name()
                )));
            }
        };
        self.refuse_deregistered_targets(&target).await?;
        let now = self.clock.now_ms();
        let record = VulnerabilityRecord {
            id: self.random_token(),
            source,
            reported_at_ms: now,
            severity: claims.severity,
            cve: claims.cve,
            summary: claims.summary,
            target,
            state: VulnerabilityState::Open,
            fixed_in_firmware: claims.fixed_in_firmware,
            fixed_at_ms: None,
            fixed_by: None,
            cursor: None,
            affected: 0,
            complete: false,
            version: 1,
        };
        let audit = self.audit(
            &record.source.actor(),
            "report-vulnerability",
            Some(format!("vulnerability:{}", record.id)),
            Ok(()),
        );
        self.store.create_vulnerability(&record, &audit).await?;
        let progress = self.apply_vulnerability(&record.id, first_batch).await?;
        // 7 iv d: entered at a sectoral or geographical registry, it goes down to the
        // primaries, which hold the devices.
        self.send_vulnerability_down(&record.id).await?;
        Ok(progress)
    }

    /// A report naming a deregistered device is refused as a whole, so nothing is stored
    /// about it (6.3 e). A range is a make and model, not a device: its deregistered devices
    /// are passed over when it is applied (`mark_affected`).
    async fn refuse_deregistered_targets(
        &self,
        target: &VulnerabilityTarget,
    ) -> Result<(), RegistryError> {
        let VulnerabilityTarget::Devices { regdevids } = target else {
            return Ok(());
        };
        for regdevid in regdevids.iter().filter_map(|r| r.parse::<RegDevId>().ok()) {
            if let Some(device) = self.store.get_device(&regdevid).await? {
                crate::deregistration::refuse_if_deregistered(&device)?;
            }
        }
        Ok(())
    }

    /// `POST /v1/vulnerabilities/{id}/apply`: an admin continues the re-evaluation.
    pub async fn apply_vulnerability_signed(
        &self,
        id: &str,
        compact: &str,
        limit: usize,
    ) -> Result<VulnerabilityProgress, RegistryError> {
        let result = async {
            self.verify_vulnerability_action(id, compact).await?;
            let progress = self.apply_vulnerability(id, limit).await?;
            // Also how an administrator sends it down again after a failed delivery: the
            // children drop what they hold already.
            self.send_vulnerability_down(id).await?;
            Ok(progress)
        }
        .await;
        self.audit_vulnerability_refusal(compact, "apply-vulnerability", id, &result)
            .await;
        result
    }

    /// `POST /v1/vulnerabilities/{id}/fixed`: an admin declares the vulnerability fixed; its
    /// devices are cleared in bounded batches, like its application.
    pub async fn fix_vulnerability_signed(
        &self,
        id: &str,
        compact: &str,
        limit: usize,
    ) -> Result<VulnerabilityProgress, RegistryError> {
        let result = async {
            let actor = self.verify_vulnerability_action(id, compact).await?;
            self.mark_vulnerability_fixed(id, &actor.audit_name())
                .await?;
            let progress = self.apply_vulnerability(id, limit).await?;
            self.send_vulnerability_down(id).await?;
            Ok(progress)
        }
        .await;
        self.audit_vulnerability_refusal(compact, "fix-vulnerability", id, &result)
            .await;
        result
    }

    async fn verify_vulnerability_action(
        &self,
        id: &str,
        compact: &str,
    ) -> Result<Actor, RegistryError> {
        let signed = self
            .verify_signed::<VulnerabilityActionClaims>(
                compact,
                &[Role::Admin],
                Purpose::Vulnerability,
            )
            .await?;
        if signed.claims.id != id {
            return Err(RegistryError::Malformed(
                "the signed vulnerability id differs from the path".into(),
            ));
        }
        Ok(signed.actor)
    }

    async fn audit_vulnerability_refusal<T>(
        &self,
        compact: &str,
        action: &str,
        id: &str,
        result: &Result<T, RegistryError>,
    ) {
        if let Err(e) = result {
            let actor = unverified_actor(compact);
            self.audit_rejection(&actor, action, Some(format!("vulnerability:{id}")), e)
                .await;
        }
    }

    /// Open -> fixed, restarting the pass over its devices to clear them. Fixing a fixed
    /// vulnerability changes nothing: the pass already under way continues.
    pub(crate) async fn mark_vulnerability_fixed(
        &self,
        id: &str,
        actor: &str,
    ) -> Result<(), RegistryError> {
        loop {
            let mut record = self
                .store
                .get_vulnerability(id)
                .await?
                .ok_or_else(|| RegistryError::VulnerabilityNotFound(id.to_owned()))?;
            if record.state == VulnerabilityState::Fixed {
                return Ok(());
            }
            record.state = VulnerabilityState::Fixed;
            record.fixed_at_ms = Some(self.clock.now_ms());
            record.fixed_by = Some(actor.to_owned());
            record.cursor = None;
            record.affected = 0;
            record.complete = false;
            record.version += 1;
            let audit = self.audit(
                actor,
                "fix-vulnerability",
                Some(format!("vulnerability:{id}")),
                Ok(()),
            );
            if self.store.update_vulnerability(&record, &audit).await?
                == crate::ports::Updated::Updated
            {
                return Ok(());
            }
        }
    }
}

/// Bounds and shapes of a report; the target's RegDevIDs normalized and deduplicated.
pub(crate) fn validate(claims: &VulnerabilityClaims) -> Result<VulnerabilityTarget, RegistryError> {
    if !claims.severity.is_finite() || !(0.0..=10.0).contains(&claims.severity) {
        return Err(RegistryError::Malformed(
            "severity must be between 0.0 and 10.0".into(),
        ));
    }
    if claims.summary.trim().is_empty() || claims.summary.len() > MAX_SUMMARY {
        return Err(RegistryError::Malformed(format!(
            "summary must be 1 to {MAX_SUMMARY} bytes"
        )));
    }
    let short = |field: &str, value: &Option<String>| match value {
        Some(v) if v.trim().is_empty() || v.len() > MAX_TEXT => Err(RegistryError::Malformed(
            format!("{field} must be 1 to {MAX_TEXT} characters"),
        )),
        _ => Ok(()),
    };
    short("cve", &claims.cve)?;
    short("fixed_in_firmware", &claims.fixed_in_firmware)?;
    match &claims.target {
        VulnerabilityTarget::Devices { regdevids } => {
            if regdevids.is_empty() || regdevids.len() > MAX_TARGETS {
                return Err(RegistryError::Malformed(format!(
                    "target.regdevids must hold 1 to {MAX_TARGETS} RegDevIDs"
                )));
            }
            let mut normalized: Vec<String> = Vec::with_capacity(regdevids.len());
            for text in regdevids {
                let id: RegDevId =
                    text.parse()
                        .map_err(|source| RegistryError::InvalidIdentifier {
                            field: "target.regdevids",
                            source,
                        })?;
                let id = id.to_string();
                if !normalized.contains(&id) {
                    normalized.push(id);
                }
            }
            Ok(VulnerabilityTarget::Devices {
                regdevids: normalized,
            })
        }
        VulnerabilityTarget::Range {
            make,
            model,
            firmware_from,
            firmware_below,
        } => {
            short("target.make", &Some(make.clone()))?;
            short("target.model", &Some(model.clone()))?;
            short("target.firmware_from", firmware_from)?;
            short("target.firmware_below", firmware_below)?;
            Ok(claims.target.clone())
        }
    }
}

//! Security-parameter reports (Y.3059 7 iv c; 9.3 i c, ii a, iv): signed by the registered
//! device key, stored with their time and what they changed; the device record follows.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::actors::{Actor, Role};
use crate::error::{RegistryError, StoreError};
use crate::free_json;
use crate::idempotency::Intent;
use crate::identifier::RegDevId;
use crate::jose;
use crate::messages::{DeviceInfo, Purpose, ReportClaims, ReportResponse};
use crate::policies::reevaluate;
use crate::ports::Updated;
use crate::records::{Change, DeviceRecord, HistoryEntry, ReportRecord};
use crate::rot::{self, AcceptedRoot};
use crate::service::{Registry, UPDATE_ATTEMPTS, hex, parse_regdevid, rfc3339};
pub use trustreg_model::answers::DeviceHistory;

/// Bounds of what a report may carry.
const MAX_TEXT: usize = 128;
const MAX_LIST: usize = 32;
const MAX_CONFIGURATION_BYTES: usize = 4096;
/// The longest `evidence_challenge` a report may carry (the OpenAPI claims say the same).
const MAX_CHALLENGE: usize = 64;

/// Time order; a report before the transition it caused.
pub fn sort_history(entries: &mut [HistoryEntry]) {
    entries.sort_by_key(|e| (e.at_ms(), matches!(e, HistoryEntry::Transition(_))));
}

impl Registry {
    /// `POST /v1/devices/{regdevid}/reports`.
    pub async fn report(
        &self,
        regdevid: &str,
        compact: &str,
    ) -> Result<ReportResponse, RegistryError> {
        let actor = format!("device:{regdevid}");
        let result = self.security_report_inner(regdevid, compact, &actor).await;
        match &result {
            Ok(_) => {}
            // Audited in the transaction that recorded the possible clone.
            Err(RegistryError::BadSignature) if self.clone_recorded(regdevid, compact).await => {}
            Err(e) => {
                let target = regdevid.parse::<RegDevId>().ok().map(|r| r.to_string());
                let actor = crate::actors::unverified_actor(compact);
                self.audit_rejection(&actor, "report", target, e).await;
            }
        }
        result
    }

    async fn security_report_inner(
        &self,
        regdevid_text: &str,
        compact: &str,
        actor: &str,
    ) -> Result<ReportResponse, RegistryError> {
        let regdevid = parse_regdevid(regdevid_text)?;
        let signed = self
            .verify_signed::<ReportClaims>(compact, &[Role::Device], Purpose::Report)
            .await?;
        match &signed.actor {
            Actor::Device(d) if d.regdevid == regdevid => {}
            other => {
                return Err(RegistryError::Forbidden(format!(
                    "{} may not report for {regdevid}",
                    other.audit_name()
                )));
            }
        }
        validate(&signed.claims)?;
        let intent = Intent::of(
            &signed.actor.audit_name(),
            "report",
            &regdevid.to_string(),
            signed.claims.idempotency_key.as_deref(),
            &signed.claims,
        )?;
        // A retry of a report already stored is answered as it was then; what follows the
        // write (below) runs again, should the first request have died before it.
        let replayed = self.replay(intent.as_ref()).await?;
        // Refused before anything is stored: the device answered a request it was not asked.
        if replayed.is_none()
            && let Some(challenge) = &signed.claims.evidence_challenge
            && !self
                .store
                .get_device(&regdevid)
                .await?
                .is_some_and(|d| crate::evidence::answers(&d.facts, challenge))
        {
            return Err(RegistryError::EvidenceChallengeMismatch(
                regdevid.to_string(),
            ));
        }
        let mut answer = match replayed {
            Some(answer) => answer,
            None => {
                self.store_report(&regdevid, &signed.claims, actor, intent.as_ref())
                    .await?
            }
        };
        // A firmware that fixes open vulnerabilities restores the device (9.3 ii b).
        let cleared = self
            .firmware_changed(&regdevid, &signed.claims.firmware_version, actor)
            .await?;
        if !cleared.is_empty()
            && let Some(device) = self.store.get_device(&regdevid).await?
        {
            answer.status = device.status;
        }
        Ok(answer)
    }

    /// Read-modify-write of the device with the report, retried on version conflicts.
    async fn store_report(
        &self,
        regdevid: &RegDevId,
        claims: &ReportClaims,
        actor: &str,
        intent: Option<&Intent>,
    ) -> Result<ReportResponse, RegistryError> {
        let previous_configuration = self
            .store
            .latest_report(regdevid)
            .await?
            .and_then(|r| r.configuration);
        for _ in 0..UPDATE_ATTEMPTS {
            let mut device = self
                .store
                .get_device(regdevid)
                .await?
                .ok_or_else(|| RegistryError::DeviceNotFound(regdevid.to_string()))?;
            // Read under the write's version condition: no report lands after a deregistration.
            crate::deregistration::refuse_if_deregistered(&device)?;
            let now = self.clock.now_ms();
            let changes = changes(&device.info, previous_configuration.as_ref(), claims);
            let mut salt = [0u8; 8];
            self.rng.fill(&mut salt);
            let report = ReportRecord {
                regdevid: regdevid.clone(),
                id: format!("{now:013}-{}", hex(&salt)),
                at_ms: now,
                firmware_version: claims.firmware_version.clone(),
                software_version: claims.software_version.clone(),
                communication: claims.communication.clone(),
                configuration: claims.configuration.clone(),
                changes,
            };
            device.info.firmware_version = claims.firmware_version.clone();
            device.info.software_version = claims.software_version.clone();
            device.info.communication = claims.communication.clone();
            device.facts.last_report_at_ms = Some(now);
            // A report that answers the registry's evidence request clears it (9.2 note); its
            // challenge was checked on an earlier read, and again here under the write's
            // condition.
            let action = match &claims.evidence_challenge {
                Some(challenge) if crate::evidence::answers(&device.facts, challenge) => {
                    device.facts.evidence_request = None;
                    crate::evidence::EVIDENCE_PROVIDED
                }
                Some(_) => {
                    return Err(RegistryError::EvidenceChallengeMismatch(
                        regdevid.to_string(),
                    ));
                }
                None => "report",
            };
            let policies = self.policies_of(&device.trust_domains).await?;
            let transition = reevaluate(&mut device, &policies, now, actor, action);
            device.version += 1;
            let audit = self.audit(actor, action, Some(regdevid.to_string()), Ok(()));
            let answer = ReportResponse {
                regdevid: regdevid.to_string(),
                status: device.status,
                received_at: rfc3339(now),
                changed: report.changes.iter().map(|c| c.field.clone()).collect(),
            };
            let receipt = self.receipt(intent, &answer)?;
            match self
                .store
                .record_report(
                    &device,
                    transition.as_ref(),
                    &report,
                    &audit,
                    receipt.as_ref(),
                )
                .await?
            {
                Updated::Updated => return Ok(answer),
                // Lost to another request: maybe the same report, retried meanwhile.
                Updated::VersionConflict => {
                    if let Some(answer) = self.replay(intent).await? {
                        return Ok(answer);
                    }
                }
            }
        }
        Err(RegistryError::Store(StoreError::Failed(format!(
            "{regdevid} kept changing under report"
        ))))
    }

    /// A report whose signature fails under the registered key, but that carries a chain to an
    /// accepted root binding the same identifier, signed by that chain's key: a second real
    /// device claims this identity. Recorded as a possible clone (facts.clone_reports), with
    /// the refusal audited in the same transaction. Garbage from anyone records nothing.
    async fn clone_recorded(&self, regdevid_text: &str, compact: &str) -> bool {
        let Ok(regdevid) = regdevid_text.parse::<RegDevId>() else {
            return false;
        };
        let Ok(jws) = jose::parse(compact) else {
            return false;
        };
        if jws.header().kid.as_deref() != Some(regdevid_text) {
            return false;
        }
        let Some(x5c) = jws.header().x5c.as_ref() else {
            return false;
        };
        let Ok(chain) = x5c
            .iter()
            .map(|c| STANDARD.decode(c))
            .collect::<Result<Vec<_>, _>>()
        else {
            return false;
        };
        let Ok(roots) = self.store.roots_of_trust().await else {
            return false;
        };
        let roots: Vec<AcceptedRoot> = roots.into_iter().filter_map(|r| r.accepted()).collect();
        let Ok(verified) = rot::verify_device_chain(&chain, &roots, self.clock.now_ms() / 1000)
        else {
            return false;
        };
        if !verified.identifiers.contains(&regdevid.identifier)
            || jws.verify(&verified.public_key).is_err()
        {
            return false;
        }
        // A fresh nonce, so a replay of the clone's report does not count it twice.
        let Ok(claims) = jws.claims::<ReportClaims>() else {
            return false;
        };
        if self
            .spend_nonce(&claims.nonce, Purpose::Report)
            .await
            .is_err()
        {
            return false;
        }
        let actor = format!("device:{regdevid_text}");
        let refusal = RegistryError::BadSignature;
        // Not on a deregistered device: nothing more is recorded of it (6.3 e).
        self.change_registered_device(&regdevid, &actor, "report", Err(&refusal), |facts| {
            facts.clone_reports = facts.clone_reports.saturating_add(1);
        })
        .await
        .is_ok()
    }

    /// The device's registered values, then its reports and transitions in time order.
    pub async fn history(&self, regdevid: &RegDevId) -> Result<DeviceHistory, RegistryError> {
        let device: DeviceRecord = self
            .store
            .get_device(regdevid)
            .await?
            .ok_or_else(|| RegistryError::DeviceNotFound(regdevid.to_string()))?;
        let entries = self.store.history_of(regdevid).await?;
        Ok(DeviceHistory {
            initial: initial_info(&device.info, &entries),
            entries,
        })
    }
}

fn validate(claims: &ReportClaims) -> Result<(), RegistryError> {
    for (field, value) in [
        ("firmware_version", &claims.firmware_version),
        ("software_version", &claims.software_version),
    ] {
        if value.trim().is_empty() || value.len() > MAX_TEXT {
            return Err(RegistryError::Malformed(format!(
                "{field} must be 1 to {MAX_TEXT} characters"
            )));
        }
    }
    if claims.communication.len() > MAX_LIST
        || claims
            .communication
            .iter()
            .any(|v| v.is_empty() || v.len() > MAX_TEXT)
    {
        return Err(RegistryError::Malformed(format!(
            "communication must hold at most {MAX_LIST} non-empty values"
        )));
    }
    // A challenge is 22 characters (`Registry::random_token`); the bound leaves room to change it.
    if claims
        .evidence_challenge
        .as_ref()
        .is_some_and(|c| c.is_empty() || c.len() > MAX_CHALLENGE)
    {
        return Err(RegistryError::Malformed(format!(
            "evidence_challenge must be 1 to {MAX_CHALLENGE} characters"
        )));
    }
    if let Some(configuration) = &claims.configuration {
        free_json::check("configuration", configuration, MAX_CONFIGURATION_BYTES)
            .map_err(|e| RegistryError::Malformed(e.to_string()))?;
    }
    Ok(())
}

/// What the report changes compared with what the registry holds.
fn changes(info: &DeviceInfo, configuration: Option<&Value>, claims: &ReportClaims) -> Vec<Change> {
    let pairs = [
        (
            "firmware_version",
            json!(info.firmware_version),
            json!(claims.firmware_version),
        ),
        (
            "software_version",
            json!(info.software_version),
            json!(claims.software_version),
        ),
        (
            "communication",
            json!(info.communication),
            json!(claims.communication),
        ),
        (
            "configuration",
            configuration.cloned().unwrap_or(Value::Null),
            claims.configuration.clone().unwrap_or(Value::Null),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, from, to)| from != to)
        .map(|(field, from, to)| Change {
            field: field.to_owned(),
            from,
            to,
        })
        .collect()
}

/// The registered values: today's, with every reported change undone, newest first.
fn initial_info(current: &DeviceInfo, entries: &[HistoryEntry]) -> DeviceInfo {
    let mut info = current.clone();
    for entry in entries.iter().rev() {
        let HistoryEntry::Report(report) = entry else {
            continue;
        };
        for change in &report.changes {
            match (change.field.as_str(), &change.from) {
                ("firmware_version", Value::String(v)) => info.firmware_version = v.clone(),
                ("software_version", Value::String(v)) => info.software_version = v.clone(),
                ("communication", from) => {
                    if let Ok(list) = serde_json::from_value(from.clone()) {
                        info.communication = list;
                    }
                }
                _ => {}
            }
        }
    }
    info
}

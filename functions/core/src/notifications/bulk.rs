//! Bulk notifications (Y.3059 9.4 ii): an administrator notifies the subscribers of up to
//! `MAX_BULK_DEVICES` devices at once, one message per device and trust domain, published in
//! batches and audited as one request.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{BULK, device_attributes, domains_of, no_notifier, publish_all};
use crate::actors::Role;
use crate::actors::unverified_actor;
use crate::error::RegistryError;
use crate::identifier::RegDevId;
use crate::messages::Purpose;
use crate::ports::Notification;
use crate::service::{Registry, parse_regdevid};

pub const MAX_BULK_DEVICES: usize = 1000;
const MAX_MESSAGE: usize = 2048;
/// Devices read per batched read.
const READ_CHUNK: usize = 100;

/// Payload of `POST /v1/admin/notifications`, signed by an administrator over a
/// `bulk-notification` nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkNotificationClaims {
    pub nonce: String,
    pub regdevids: Vec<String>,
    /// What the subscribers are told, as plain text.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkNotificationResponse {
    /// Names this request in the messages and in the audit trail.
    pub id: String,
    /// Devices notified (on every one of their domains).
    pub devices: usize,
    /// Messages published.
    pub published: usize,
    /// Devices of which some message could not be published.
    pub failed: Vec<String>,
    /// RegDevIDs this registry does not hold.
    pub unknown: Vec<String>,
}

impl Registry {
    /// `POST /v1/admin/notifications`.
    pub async fn notify_devices(
        &self,
        compact: &str,
    ) -> Result<BulkNotificationResponse, RegistryError> {
        let result = self.notify_devices_inner(compact).await;
        if let Err(e) = &result {
            self.audit_rejection(&unverified_actor(compact), "bulk-notification", None, e)
                .await;
        }
        result
    }

    async fn notify_devices_inner(
        &self,
        compact: &str,
    ) -> Result<BulkNotificationResponse, RegistryError> {
        let signed = self
            .verify_signed::<BulkNotificationClaims>(
                compact,
                &[Role::Admin],
                Purpose::BulkNotification,
            )
            .await?;
        let claims = signed.claims;
        if claims.regdevids.is_empty() {
            return Err(RegistryError::Malformed(
                "regdevids must not be empty".into(),
            ));
        }
        if claims.regdevids.len() > MAX_BULK_DEVICES {
            return Err(RegistryError::TooManyItems {
                max: MAX_BULK_DEVICES,
            });
        }
        let text = claims.message.trim();
        if text.is_empty() || claims.message.len() > MAX_MESSAGE {
            return Err(RegistryError::Malformed(format!(
                "message must be 1 to {MAX_MESSAGE} bytes"
            )));
        }
        let notifier = self
            .notifier
            .clone()
            .ok_or_else(|| RegistryError::Notify(no_notifier()))?;
        let wanted: BTreeSet<RegDevId> = claims
            .regdevids
            .iter()
            .map(|r| parse_regdevid(r))
            .collect::<Result<_, _>>()?;
        let wanted: Vec<RegDevId> = wanted.into_iter().collect();
        let mut devices = Vec::with_capacity(wanted.len());
        for chunk in wanted.chunks(READ_CHUNK) {
            devices.extend(self.store.get_devices(chunk).await?);
        }
        let known: BTreeSet<String> = devices.iter().map(|d| d.regdevid.to_string()).collect();
        let unknown: Vec<String> = wanted
            .iter()
            .map(ToString::to_string)
            .filter(|r| !known.contains(r))
            .collect();

        let id = format!("{BULK}-{}", self.random_token());
        let registry = self.config.path.to_string();
        let mut notes = Vec::new();
        for device in &devices {
            let regdevid = device.regdevid.to_string();
            for domain in domains_of(device) {
                let note_id = format!("{id}#{regdevid}#{domain}");
                notes.push(Notification {
                    domain: domain.to_owned(),
                    attributes: device_attributes(&registry, BULK, device),
                    message: json!({
                        "id": note_id,
                        "event": BULK,
                        "request": id,
                        "registry": registry,
                        "domain": domain,
                        "regdevid": regdevid,
                        "make": device.info.make,
                        "model": device.info.model,
                        "status": device.status,
                        "message": text,
                    }),
                    id: note_id,
                });
            }
        }
        let results = publish_all(notifier.as_ref(), &notes).await;
        let mut failed = BTreeSet::new();
        let mut published = 0;
        for (note, result) in notes.iter().zip(&results) {
            match result {
                Ok(()) => published += 1,
                Err(_) => {
                    if let Some(r) = note.attributes.get("regdevid") {
                        failed.insert(r.clone());
                    }
                }
            }
        }
        let audit = self.audit(
            &signed.actor.audit_name(),
            "bulk-notification",
            Some(format!("notification:{id}")),
            Ok(()),
        );
        self.store.record_audit(&audit).await?;
        Ok(BulkNotificationResponse {
            id,
            devices: devices.len(),
            published,
            failed: failed.into_iter().collect(),
            unknown,
        })
    }
}

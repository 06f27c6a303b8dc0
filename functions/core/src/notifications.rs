//! Notifications (Y.3059 7 iv e, 9.4 i c, 9.4 ii; card C4): the registry's own changes turned
//! into messages on the topic of each trust domain of the device, deduplicated so that a
//! change delivered twice (the table's stream delivers at least once) is published once.
//!
//! Order of the publication and the dedupe mark: a notification is published when no mark
//! of its id exists, and *marked once published*. A function that dies between the two (a
//! crash, a timeout) has its batch delivered again, and the notification is published again
//! with the same `id`: delivery is at least once, and subscribers drop a repeat by its `id`
//! (docs/API.md). Marking first would lose that notification instead: the redelivery would
//! find the mark of a message never sent. Two concurrent deliveries of one change (a retried
//! batch overlapping a slow one) may likewise both publish it, with the same `id`.

mod bulk;
mod digest;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::json;

pub use bulk::{BulkNotificationClaims, BulkNotificationResponse, MAX_BULK_DEVICES};
pub use digest::{DigestOutcome, DomainDigest};

use crate::error::{NotifyError, StoreError};
use crate::ports::{Notification, Notifier};
use crate::records::DeviceRecord;
use crate::service::{Registry, rfc3339};

/// The `event` attribute of each kind of notification.
pub const STATUS_CHANGED: &str = "status-changed";
pub const VULNERABILITY: &str = "vulnerability";
pub const HOLD: &str = "hold";
pub const DIGEST: &str = "digest";
pub const BULK: &str = "bulk";

/// How long a published change stays marked: a stream keeps a record 24 hours, so any
/// redelivery of it comes before its mark expires.
pub const DEDUPE_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// A device item as it changed in the table: `old` is `None` for a new item.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceChange {
    pub old: Option<DeviceRecord>,
    pub new: DeviceRecord,
}

/// What the fan-out of one change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FanOut {
    pub published: usize,
    /// Notifications already published by an earlier delivery of the same change.
    pub duplicates: usize,
}

/// Why the fan-out of one change failed; the change is to be delivered again.
#[derive(Debug, thiserror::Error)]
pub enum FanOutError {
    #[error("dedupe store: {0}")]
    Store(#[from] StoreError),
    #[error("publish: {0}")]
    Publish(#[from] NotifyError),
}

/// The notifications a change of a device yields, one per trust domain of the device for each
/// of: its status changed, an open vulnerability appeared, a hold was placed. A new device
/// yields none: it has no status to change from, and subscribers follow changes. Messages and
/// attributes carry no PII: no owner, no keys, no credential.
pub fn notifications_for(registry: &str, change: &DeviceChange) -> Vec<Notification> {
    let Some(old) = &change.old else {
        return Vec::new();
    };
    let new = &change.new;
    let mut events: Vec<Event> = Vec::new();
    if old.status != new.status {
        events.push(Event::StatusChanged);
    }
    for v in &new.facts.open_vulnerabilities {
        if !old.facts.open_vulnerabilities.iter().any(|o| o.id == v.id) {
            events.push(Event::Vulnerability {
                id: v.id.clone(),
                severity: v.severity,
            });
        }
    }
    for h in &new.facts.holds {
        if !old.facts.holds.contains(h) {
            events.push(Event::Hold { kind: h.clone() });
        }
    }
    let mut out = Vec::new();
    for domain in domains_of(new) {
        for event in &events {
            out.push(event.notification(registry, domain, old, new));
        }
    }
    out
}

/// The device's domains, each once, in their order.
pub(crate) fn domains_of(device: &DeviceRecord) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::new();
    for d in &device.trust_domains {
        if !seen.contains(&d.as_str()) {
            seen.push(d);
        }
    }
    seen
}

enum Event {
    StatusChanged,
    Vulnerability { id: String, severity: f32 },
    Hold { kind: String },
}

impl Event {
    fn notification(
        &self,
        registry: &str,
        domain: &str,
        old: &DeviceRecord,
        new: &DeviceRecord,
    ) -> Notification {
        let (event, detail) = match self {
            Self::StatusChanged => (STATUS_CHANGED, String::new()),
            Self::Vulnerability { id, .. } => (VULNERABILITY, format!("#{id}")),
            Self::Hold { kind } => (HOLD, format!("#{kind}")),
        };
        // The device's version numbers its changes: with the event, its detail and the domain
        // it names this notification and no other, however often the change is delivered.
        let id = format!("{}#{}#{event}{detail}#{domain}", new.regdevid, new.version);
        let severity = match self {
            Self::Vulnerability { severity, .. } => Some(*severity),
            _ => max_open_severity(new),
        };
        let mut attributes = device_attributes(registry, event, new);
        attributes.insert("previous_status".into(), old.status.as_str().into());
        if let Some(s) = severity {
            attributes.insert("severity".into(), severity_text(s));
        }
        let mut message = json!({
            "id": id,
            "event": event,
            "registry": registry,
            "domain": domain,
            "regdevid": new.regdevid.to_string(),
            "make": new.info.make,
            "model": new.info.model,
            "status": new.status,
            "previous_status": old.status,
            "reasons": new.reasons,
            "status_since": rfc3339(new.status_since_ms),
        });
        if let Some(s) = severity {
            message["severity"] = json!(s);
        }
        match self {
            Self::StatusChanged => {}
            Self::Vulnerability { id, severity } => {
                message["vulnerability"] = json!({"id": id, "severity": severity});
            }
            Self::Hold { kind } => message["hold"] = json!(kind),
        }
        Notification {
            domain: domain.to_owned(),
            id,
            attributes,
            message,
        }
    }
}

/// The attributes every notification about a device carries, for SNS filter policies.
pub(crate) fn device_attributes(
    registry: &str,
    event: &str,
    device: &DeviceRecord,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("event".to_owned(), event.to_owned()),
        ("status".to_owned(), device.status.as_str().to_owned()),
        ("make".to_owned(), device.info.make.clone()),
        ("model".to_owned(), device.info.model.clone()),
        ("regdevid".to_owned(), device.regdevid.to_string()),
        ("registry".to_owned(), registry.to_owned()),
    ])
}

fn max_open_severity(device: &DeviceRecord) -> Option<f32> {
    device
        .facts
        .open_vulnerabilities
        .iter()
        .map(|v| v.severity)
        .reduce(f32::max)
}

/// One decimal, as severities are given (a CVSS-like score).
fn severity_text(severity: f32) -> String {
    format!("{severity:.1}")
}

impl Registry {
    /// Publishes the notifications of each change once: one outcome per change, in order. A
    /// failed change is to be delivered again; what it had published already is then skipped.
    pub async fn fan_out(&self, changes: &[DeviceChange]) -> Vec<Result<FanOut, FanOutError>> {
        let Some(notifier) = self.notifier.clone() else {
            return changes
                .iter()
                .map(|_| Err(FanOutError::Publish(no_notifier())))
                .collect();
        };
        let registry = self.config.path.to_string();
        let expires_at_ms = self.clock.now_ms().saturating_add(DEDUPE_TTL_MS);
        let mut outcomes: Vec<Result<FanOut, FanOutError>> = Vec::with_capacity(changes.len());
        // What no mark says was published yet, with the index of its change.
        let mut pending: Vec<(usize, Notification)> = Vec::new();
        for (index, change) in changes.iter().enumerate() {
            let mut fan_out = FanOut::default();
            let mut unpublished = Vec::new();
            let mut failed = None;
            for note in notifications_for(&registry, change) {
                match self.store.is_published(&note.id).await {
                    Ok(true) => fan_out.duplicates += 1,
                    Ok(false) => unpublished.push((index, note)),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            // A change whose marks could not all be read is delivered again whole: nothing of
            // it is published now, so nothing of it twice.
            outcomes.push(match failed {
                Some(e) => Err(e.into()),
                None => {
                    pending.extend(unpublished);
                    Ok(fan_out)
                }
            });
        }
        let notes: Vec<Notification> = pending.iter().map(|(_, n)| n.clone()).collect();
        let results = publish_all(notifier.as_ref(), &notes).await;
        for ((index, note), result) in pending.iter().zip(results) {
            match result {
                Ok(()) => {
                    // Published: the mark only spares a redelivery the repeat. Without it (the
                    // write failed, or another delivery's came first) a redelivery publishes
                    // again, with the same id.
                    let _ = self.store.mark_published(&note.id, expires_at_ms).await;
                    if let Some(Ok(fan_out)) = outcomes.get_mut(*index) {
                        fan_out.published += 1;
                    }
                }
                Err(e) => {
                    // Unmarked, so the redelivery of the change publishes it.
                    if let Some(slot) = outcomes.get_mut(*index)
                        && slot.is_ok()
                    {
                        *slot = Err(FanOutError::Publish(e));
                    }
                }
            }
        }
        outcomes
    }
}

/// `notifier.publish`, with one result per notification whatever the adapter answers.
pub(crate) async fn publish_all(
    notifier: &dyn Notifier,
    notes: &[Notification],
) -> Vec<Result<(), NotifyError>> {
    if notes.is_empty() {
        return Vec::new();
    }
    let mut results = notifier.publish(notes).await;
    // An adapter that answers fewer results than notifications leaves the rest unconfirmed:
    // they count as failed, so they are retried rather than lost.
    results.resize_with(notes.len(), || {
        Err(NotifyError::Failed("no result from the notifier".into()))
    });
    results
}

pub(crate) fn no_notifier() -> NotifyError {
    NotifyError::Failed("this function has no notifier".into())
}

//! How much of a device each kind of caller sees (the `DeviceAnswer` doc).

use super::DeviceAnswer;
use crate::records::{DeviceRecord, MirrorRecord};
use crate::service::rfc3339;

/// What an answer shows beyond `id`, `status`, `status_since` and `registry`. Owner PII is
/// added by the caller, which audits reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct View {
    details: bool,
    regdevid: bool,
    owner_id: bool,
}

impl View {
    pub const PUBLIC: Self = Self {
        details: false,
        regdevid: false,
        owner_id: false,
    };
    /// The device's own owner and administrators: they know the RegDevID behind its virtual
    /// IDs, and who owns it.
    pub const FULL: Self = Self {
        details: true,
        regdevid: true,
        owner_id: true,
    };

    /// An enquirer sees details, and the RegDevID only when it already knew it.
    pub const fn enquirer(asked_by_regdevid: bool) -> Self {
        Self {
            details: true,
            regdevid: asked_by_regdevid,
            owner_id: false,
        }
    }

    pub fn answer(self, id: &str, device: &DeviceRecord, registry: &str) -> DeviceAnswer {
        let details = self.details;
        DeviceAnswer {
            id: id.to_owned(),
            regdevid: self.regdevid.then(|| device.regdevid.to_string()),
            status: device.status,
            status_since: rfc3339(device.status_since_ms),
            registry: registry.to_owned(),
            make: details.then(|| device.info.make.clone()),
            model: details.then(|| device.info.model.clone()),
            trust_domains: details.then(|| device.trust_domains.clone()),
            capabilities: details.then(|| capabilities(device)),
            device: details.then(|| device.info.clone()),
            reasons: details.then(|| device.reasons.clone()),
            registered_at: details.then(|| rfc3339(device.registered_at_ms)),
            owner_id: if self.owner_id {
                device.owner_id.clone()
            } else {
                None
            },
            owner: None,
            origin: None,
            as_of: None,
        }
    }

    /// A mirrored device: the details the exchange carries, where it is registered and as of
    /// when. No owner: a mirror holds none.
    pub fn mirrored(self, id: &str, mirror: &MirrorRecord, registry: &str) -> DeviceAnswer {
        let details = self.details;
        DeviceAnswer {
            id: id.to_owned(),
            regdevid: self.regdevid.then(|| mirror.regdevid.to_string()),
            status: mirror.status,
            status_since: rfc3339(mirror.status_since_ms),
            registry: registry.to_owned(),
            make: details.then(|| mirror.make.clone()),
            model: details.then(|| mirror.model.clone()),
            trust_domains: details.then(|| mirror.trust_domains.clone()),
            capabilities: None,
            device: None,
            reasons: None,
            registered_at: None,
            owner_id: None,
            owner: None,
            origin: Some(mirror.origin.clone()),
            as_of: Some(rfc3339(mirror.received_at_ms)),
        }
    }
}

/// Communication technologies then protocols, each once.
fn capabilities(device: &DeviceRecord) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for c in device
        .info
        .communication
        .iter()
        .chain(&device.info.protocols)
    {
        if !all.contains(c) {
            all.push(c.clone());
        }
    }
    all
}

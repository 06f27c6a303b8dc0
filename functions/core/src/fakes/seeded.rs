//! Devices stored directly, as registration and acknowledgement leave them: for the tests of
//! what happens to a registered device (vulnerabilities, holds, virtual IDs, owners), which are
//! not about registration. One shape for the domain's and the routers' tests.

use p256::ecdsa::VerifyingKey;

use super::MemoryStore;
use crate::identifier::RegDevId;
use crate::jose;
use crate::messages::{DeviceInfo, RotClaim};
use crate::ports::DeviceStore;
use crate::records::{AuditRecord, DeviceRecord, Outcome, Transition};
use crate::status::{Facts, TrustStatus};

/// What a test device says of itself: made by `Acme`, of `model` on `firmware`, on a secure
/// element, nothing more.
pub fn device_info(model: &str, firmware: &str) -> DeviceInfo {
    DeviceInfo {
        make: "Acme".into(),
        model: model.into(),
        firmware_version: firmware.into(),
        software_version: "1".into(),
        rot: RotClaim {
            kind: "secure-element".into(),
        },
        communication: vec![],
        power: Default::default(),
        protocols: vec![],
    }
}

/// A trusted, acknowledged device of make `Acme` on a secure element in the `health` domain,
/// registered at `at_ms` with `key`; its model, firmware and owner as a test sets them.
pub struct TrustedDevice {
    regdevid: RegDevId,
    key: VerifyingKey,
    at_ms: u64,
    model: String,
    firmware: String,
    owner_id: Option<String>,
}

impl TrustedDevice {
    pub fn new(regdevid: RegDevId, key: &VerifyingKey, at_ms: u64) -> Self {
        Self {
            regdevid,
            key: *key,
            at_ms,
            model: "Sensor-1".into(),
            firmware: "1.0".into(),
            owner_id: None,
        }
    }

    pub fn model(mut self, model: &str) -> Self {
        self.model = model.into();
        self
    }

    pub fn firmware(mut self, firmware: &str) -> Self {
        self.firmware = firmware.into();
        self
    }

    pub fn owner(mut self, owner_id: Option<&str>) -> Self {
        self.owner_id = owner_id.map(str::to_owned);
        self
    }

    /// Stores the device with its first transition and audit record (and the owner's link to
    /// it); its RegDevID.
    pub async fn store_in(self, store: &MemoryStore) -> RegDevId {
        let at = self.at_ms;
        let regdevid = self.regdevid;
        let public_key = jose::jwk_from_key(&self.key);
        let device = DeviceRecord {
            regdevid: regdevid.clone(),
            key_thumbprint: jose::jwk_thumbprint(&public_key),
            public_key,
            root_id: "root".into(),
            leaf_fingerprint: "leaf".into(),
            info: device_info(&self.model, &self.firmware),
            trust_domains: vec!["health".into()],
            owner_id: self.owner_id.clone(),
            facts: Facts {
                rot_verified: true,
                acknowledged: true,
                last_report_at_ms: Some(at),
                ..Facts::default()
            },
            status: TrustStatus::Trusted,
            reasons: vec![],
            status_since_ms: at,
            next_evaluation_at_ms: None,
            registered_at_ms: at,
            acknowledged_at_ms: Some(at),
            credential: "credential".into(),
            transfer_offer: None,
            version: 1,
        };
        let transition = Transition {
            regdevid: regdevid.clone(),
            at_ms: at,
            from: None,
            to: TrustStatus::Trusted,
            reasons: vec![],
            actor: "test".into(),
            cause: "register".into(),
        };
        let audit = AuditRecord {
            id: format!("{at}-{regdevid}"),
            at_ms: at,
            actor: "test".into(),
            action: "register".into(),
            target: Some(regdevid.to_string()),
            outcome: Outcome::Accepted,
            code: None,
        };
        store
            .create_device(&device, &transition, &audit)
            .await
            .expect("the memory store takes a new device");
        if let Some(owner) = self.owner_id {
            store
                .lock()
                .owner_links
                .entry(owner)
                .or_default()
                .insert(regdevid.to_string());
        }
        regdevid
    }
}

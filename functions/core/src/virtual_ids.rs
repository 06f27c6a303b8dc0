//! Virtual RegDevIDs (Y.3059 9.2 i f): a temporary name of a device, for a time or for one
//! transaction, so the RegDevID itself need not be disclosed.

use data_encoding::BASE32_NOPAD;

use crate::actors::{Actor, Role, unverified_actor};
use crate::error::RegistryError;
use crate::identifier::RegDevId;
use crate::messages::{Purpose, VirtualIdClaims, VirtualIdResponse};
use crate::records::VirtualIdRecord;
use crate::service::{Registry, parse_regdevid, rfc3339};

/// The longest a virtual ID lives.
pub const MAX_TTL_SECONDS: u64 = 30 * 24 * 3600;
/// 16 random bytes in unpadded base32.
const SUFFIX_LEN: usize = 26;

impl Registry {
    /// `POST /v1/devices/{regdevid}/virtual-ids`: signed by the device itself or its owner.
    pub async fn issue_virtual_id(
        &self,
        regdevid: &str,
        compact: &str,
    ) -> Result<VirtualIdResponse, RegistryError> {
        let result = self.issue_virtual_id_inner(regdevid, compact).await;
        if let Err(e) = &result {
            let actor = unverified_actor(compact);
            let target = regdevid.parse::<RegDevId>().ok().map(|r| r.to_string());
            self.audit_rejection(&actor, "issue-virtual-id", target, e)
                .await;
        }
        result
    }

    async fn issue_virtual_id_inner(
        &self,
        regdevid_text: &str,
        compact: &str,
    ) -> Result<VirtualIdResponse, RegistryError> {
        let regdevid = parse_regdevid(regdevid_text)?;
        let signed = self
            .verify_signed::<VirtualIdClaims>(
                compact,
                &[Role::Device, Role::Owner],
                Purpose::VirtualId,
            )
            .await?;
        match &signed.actor {
            // A deregistered device is given no new name (6.3 e).
            Actor::Device(d) if d.regdevid == regdevid => {
                crate::deregistration::refuse_if_deregistered(d)?;
            }
            Actor::Owner(o) => {
                let device = self
                    .store
                    .get_device(&regdevid)
                    .await?
                    .ok_or_else(|| RegistryError::DeviceNotFound(regdevid.to_string()))?;
                if device.owner_id.as_deref() != Some(o.owner_id.as_str()) {
                    return Err(RegistryError::Forbidden(
                        "only the device's owner may name it".into(),
                    ));
                }
                crate::deregistration::refuse_if_deregistered(&device)?;
            }
            other => {
                return Err(RegistryError::Forbidden(format!(
                    "{} may not name another device",
                    other.audit_name()
                )));
            }
        }
        let ttl = signed.claims.ttl_seconds;
        if !(1..=MAX_TTL_SECONDS).contains(&ttl) {
            return Err(RegistryError::Malformed(format!(
                "ttl_seconds must be 1 to {MAX_TTL_SECONDS}"
            )));
        }
        let mut random = [0u8; 16];
        self.rng.fill(&mut random);
        let now = self.clock.now_ms();
        let record = VirtualIdRecord {
            virtual_id: format!("{}:v:{}", self.config.path, BASE32_NOPAD.encode(&random)),
            regdevid: regdevid.clone(),
            issued_at_ms: now,
            expires_at_ms: now + ttl * 1000,
            single_use: signed.claims.single_use,
        };
        let audit = self.audit(
            &signed.actor.audit_name(),
            "issue-virtual-id",
            Some(regdevid.to_string()),
            Ok(()),
        );
        self.store.put_virtual_id(&record, &audit).await?;
        Ok(VirtualIdResponse {
            virtual_id: record.virtual_id,
            expires_at: rfc3339(record.expires_at_ms),
        })
    }

    /// The device an identifier names, for lookups: a RegDevID names itself, a virtual ID its
    /// device until it expires; a single-use one is consumed, by exactly one of any number of
    /// concurrent resolutions. An unknown, expired or used virtual ID is `VirtualIdNotFound`,
    /// which never names the device.
    pub async fn resolve(&self, id_text: &str) -> Result<RegDevId, RegistryError> {
        let prefix = format!("{}:v:", self.config.path);
        let Some(suffix) = id_text.strip_prefix(&prefix) else {
            if id_text.contains(":v:") {
                return Err(RegistryError::VirtualIdNotFound);
            }
            return id_text
                .parse()
                .map_err(|source| RegistryError::InvalidIdentifier {
                    field: "id",
                    source,
                });
        };
        if suffix.len() != SUFFIX_LEN || BASE32_NOPAD.decode(suffix.as_bytes()).is_err() {
            return Err(RegistryError::VirtualIdNotFound);
        }
        let record = self
            .store
            .get_virtual_id(id_text)
            .await?
            .ok_or(RegistryError::VirtualIdNotFound)?;
        let now = self.clock.now_ms();
        // The store deletes expired items lazily: the expiry is checked here.
        if record.expires_at_ms <= now {
            return Err(RegistryError::VirtualIdNotFound);
        }
        if record.single_use {
            let audit = self.audit(
                "resolver",
                "consume-virtual-id",
                Some(record.regdevid.to_string()),
                Ok(()),
            );
            if !self.store.consume_virtual_id(id_text, now, &audit).await? {
                return Err(RegistryError::VirtualIdNotFound);
            }
        }
        Ok(record.regdevid)
    }
}

#[cfg(test)]
pub(crate) mod tests;

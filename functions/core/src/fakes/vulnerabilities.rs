//! `VulnerabilityStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::identifier::RegDevId;
use crate::ports::{ModelEntry, ModelPage, Updated, VulnerabilityStore};
use crate::records::{AffectedLink, AuditRecord, DeviceRecord, Transition, VulnerabilityRecord};

/// The make/model index key of the DynamoDB adapter (gsi2 sort key): the same order here.
fn model_key(device: &DeviceRecord) -> String {
    format!("{}#{}", device.info.firmware_version, device.regdevid)
}

#[async_trait]
impl VulnerabilityStore for MemoryStore {
    async fn create_vulnerability(
        &self,
        vulnerability: &VulnerabilityRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        if s.vulnerabilities.contains_key(&vulnerability.id) {
            return Err(StoreError::Failed(format!(
                "vulnerability {} exists",
                vulnerability.id
            )));
        }
        s.vulnerabilities
            .insert(vulnerability.id.clone(), vulnerability.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn get_vulnerability(&self, id: &str) -> Result<Option<VulnerabilityRecord>, StoreError> {
        Ok(self.lock().vulnerabilities.get(id).cloned())
    }

    async fn update_vulnerability(
        &self,
        vulnerability: &VulnerabilityRecord,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let mut s = self.lock();
        match s.vulnerabilities.get(&vulnerability.id) {
            Some(stored) if stored.version + 1 == vulnerability.version => {}
            _ => return Ok(Updated::VersionConflict),
        }
        s.vulnerabilities
            .insert(vulnerability.id.clone(), vulnerability.clone());
        s.audit.push(audit.clone());
        Ok(Updated::Updated)
    }

    async fn devices_by_model(
        &self,
        make: &str,
        model: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ModelPage, StoreError> {
        let s = self.lock();
        let (make, model) = (make.to_lowercase(), model.to_lowercase());
        let mut entries: Vec<(String, ModelEntry)> = s
            .devices
            .values()
            .filter(|d| d.info.make.to_lowercase() == make && d.info.model.to_lowercase() == model)
            .map(|d| {
                (
                    model_key(d),
                    ModelEntry {
                        regdevid: d.regdevid.clone(),
                        firmware: d.info.firmware_version.clone(),
                    },
                )
            })
            .filter(|(key, _)| after.is_none_or(|a| key.as_str() > a))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let more = entries.len() > limit;
        entries.truncate(limit);
        let next = if more {
            entries.last().map(|(key, _)| key.clone())
        } else {
            None
        };
        Ok(ModelPage {
            devices: entries.into_iter().map(|(_, e)| e).collect(),
            next,
        })
    }

    async fn update_device_linked(
        &self,
        device: &DeviceRecord,
        link: &AffectedLink,
        transition: Option<&Transition>,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let mut s = self.lock();
        let key = device.regdevid.to_string();
        match s.devices.get(&key) {
            Some(stored) if stored.version + 1 == device.version => {}
            _ => return Ok(Updated::VersionConflict),
        }
        s.devices.insert(key.clone(), device.clone());
        s.vulnerability_links
            .insert((key, link.vulnerability_id.clone()), link.clone());
        if let Some(t) = transition {
            s.transitions.push(t.clone());
        }
        s.audit.push(audit.clone());
        Ok(Updated::Updated)
    }

    async fn links_of(&self, regdevid: &RegDevId) -> Result<Vec<AffectedLink>, StoreError> {
        let key = regdevid.to_string();
        Ok(self
            .lock()
            .vulnerability_links
            .iter()
            .filter(|((device, _), _)| *device == key)
            .map(|(_, link)| link.clone())
            .collect())
    }
}

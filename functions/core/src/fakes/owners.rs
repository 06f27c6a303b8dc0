//! `OwnerStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::identifier::RegDevId;
use crate::ports::{OwnerStore, Updated};
use crate::records::{AuditRecord, CustodyEntry, DeviceRecord, OwnerRecord, Receipt, Transition};

#[async_trait]
impl OwnerStore for MemoryStore {
    async fn create_owner(
        &self,
        owner: &OwnerRecord,
        device: Option<&RegDevId>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        if s.owners.contains_key(&owner.owner_id) {
            return Err(StoreError::Failed("owner id collision".into()));
        }
        s.owners.insert(owner.owner_id.clone(), owner.clone());
        if let Some(regdevid) = device {
            s.owner_links
                .entry(owner.owner_id.clone())
                .or_default()
                .insert(regdevid.to_string());
        }
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn get_owner(&self, owner_id: &str) -> Result<Option<OwnerRecord>, StoreError> {
        Ok(self.lock().owners.get(owner_id).cloned())
    }

    async fn update_owner(
        &self,
        owner: &OwnerRecord,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let mut s = self.lock();
        match s.owners.get(&owner.owner_id) {
            Some(stored) if stored.version + 1 == owner.version => {}
            _ => return Ok(Updated::VersionConflict),
        }
        s.owners.insert(owner.owner_id.clone(), owner.clone());
        s.audit.push(audit.clone());
        Ok(Updated::Updated)
    }

    async fn devices_of_owner(&self, owner_id: &str) -> Result<Vec<RegDevId>, StoreError> {
        let s = self.lock();
        let Some(links) = s.owner_links.get(owner_id) else {
            return Ok(Vec::new());
        };
        links
            .iter()
            .map(|t| {
                t.parse()
                    .map_err(|e| StoreError::Failed(format!("link {t}: {e}")))
            })
            .collect()
    }

    async fn change_custody(
        &self,
        device: &DeviceRecord,
        custody: &CustodyEntry,
        transition: Option<&Transition>,
        audit: &AuditRecord,
        receipt: Option<&Receipt>,
    ) -> Result<Updated, StoreError> {
        let mut s = self.lock();
        let key = device.regdevid.to_string();
        if !s.may_write(device, receipt) {
            return Ok(Updated::VersionConflict);
        }
        s.devices.insert(key.clone(), device.clone());
        if let Some(from) = &custody.from
            && let Some(links) = s.owner_links.get_mut(from)
        {
            links.remove(&key);
        }
        if let Some(to) = &custody.to {
            s.owner_links.entry(to.clone()).or_default().insert(key);
        }
        s.custody.push(custody.clone());
        if let Some(t) = transition {
            s.transitions.push(t.clone());
        }
        s.audit.push(audit.clone());
        Ok(Updated::Updated)
    }

    async fn custody_of(&self, regdevid: &RegDevId) -> Result<Vec<CustodyEntry>, StoreError> {
        Ok(self
            .lock()
            .custody
            .iter()
            .filter(|c| &c.regdevid == regdevid)
            .cloned()
            .collect())
    }
}

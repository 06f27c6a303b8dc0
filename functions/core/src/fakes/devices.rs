//! `DeviceStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::identifier::{Identifier, RegDevId};
use crate::ports::{Created, DeviceStore, Updated};
use crate::records::{AuditRecord, DeviceRecord, Nonce, Receipt, RootOfTrust, Transition};

pub(super) fn guard_key(identifier: &Identifier) -> String {
    format!("{}:{}", identifier.scheme().as_str(), identifier.value())
}

#[async_trait]
impl DeviceStore for MemoryStore {
    async fn put_nonce(&self, nonce: &Nonce) -> Result<(), StoreError> {
        self.lock()
            .nonces
            .insert(nonce.value.clone(), nonce.clone());
        Ok(())
    }

    async fn take_nonce(&self, value: &str) -> Result<Option<Nonce>, StoreError> {
        Ok(self.lock().nonces.remove(value))
    }

    async fn roots_of_trust(&self) -> Result<Vec<RootOfTrust>, StoreError> {
        Ok(self.lock().roots.values().cloned().collect())
    }

    async fn put_root_of_trust(
        &self,
        root: &RootOfTrust,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.roots.insert(root.id.clone(), root.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn get_device(&self, regdevid: &RegDevId) -> Result<Option<DeviceRecord>, StoreError> {
        Ok(self.lock().devices.get(&regdevid.to_string()).cloned())
    }

    async fn create_device(
        &self,
        device: &DeviceRecord,
        transition: &Transition,
        audit: &AuditRecord,
    ) -> Result<Created, StoreError> {
        let mut s = self.lock();
        let key = guard_key(&device.regdevid.identifier);
        if let Some(holder) = s.guards.get(&key) {
            return Ok(Created::IdentifierTaken(holder.clone()));
        }
        s.guards.insert(key, device.regdevid.clone());
        s.devices
            .insert(device.regdevid.to_string(), device.clone());
        s.transitions.push(transition.clone());
        s.audit.push(audit.clone());
        Ok(Created::Created)
    }

    async fn update_device(
        &self,
        device: &DeviceRecord,
        transition: Option<&Transition>,
        audit: &AuditRecord,
        receipt: Option<&Receipt>,
    ) -> Result<Updated, StoreError> {
        let mut s = self.lock();
        let key = device.regdevid.to_string();
        if !s.may_write(device, receipt) {
            return Ok(Updated::VersionConflict);
        }
        s.devices.insert(key, device.clone());
        if let Some(t) = transition {
            s.transitions.push(t.clone());
        }
        s.audit.push(audit.clone());
        Ok(Updated::Updated)
    }

    async fn receipt(&self, id: &str) -> Result<Option<Receipt>, StoreError> {
        Ok(self.lock().receipts.get(id).cloned())
    }

    async fn record_audit(&self, audit: &AuditRecord) -> Result<(), StoreError> {
        if self
            .fail_audit_writes
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StoreError::Failed("audit writes fail".into()));
        }
        self.lock().audit.push(audit.clone());
        Ok(())
    }

    async fn holder_of(&self, identifier: &Identifier) -> Result<Option<RegDevId>, StoreError> {
        Ok(self.lock().guards.get(&guard_key(identifier)).cloned())
    }
}

//! `VirtualIdStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::ports::VirtualIdStore;
use crate::records::{AuditRecord, VirtualIdRecord};

#[async_trait]
impl VirtualIdStore for MemoryStore {
    async fn put_virtual_id(
        &self,
        record: &VirtualIdRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        if s.virtual_ids.contains_key(&record.virtual_id) {
            return Err(StoreError::Failed("virtual ID collision".into()));
        }
        s.virtual_ids
            .insert(record.virtual_id.clone(), record.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn get_virtual_id(
        &self,
        virtual_id: &str,
    ) -> Result<Option<VirtualIdRecord>, StoreError> {
        Ok(self.lock().virtual_ids.get(virtual_id).cloned())
    }

    async fn consume_virtual_id(
        &self,
        virtual_id: &str,
        now_ms: u64,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock();
        match s.virtual_ids.get(virtual_id) {
            Some(r) if r.expires_at_ms > now_ms => {}
            _ => return Ok(false),
        }
        s.virtual_ids.remove(virtual_id);
        s.audit.push(audit.clone());
        Ok(true)
    }
}

//! `EnquirerStore` in memory.

use async_trait::async_trait;

use super::{MemoryStore, page_after};
use crate::error::StoreError;
use crate::ports::{EnquirerStore, Page, Updated};
use crate::records::{AuditRecord, EnquirerRecord, EnquirerState};

#[async_trait]
impl EnquirerStore for MemoryStore {
    async fn create_enquirer(
        &self,
        enquirer: &EnquirerRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        if s.enquirers.contains_key(&enquirer.enquirer_id) {
            return Err(StoreError::Failed("enquirer id collision".into()));
        }
        s.enquirers
            .insert(enquirer.enquirer_id.clone(), enquirer.clone());
        s.audit.push(audit.clone());
        Ok(())
    }

    async fn get_enquirer(&self, id: &str) -> Result<Option<EnquirerRecord>, StoreError> {
        Ok(self.lock().enquirers.get(id).cloned())
    }

    async fn update_enquirer(
        &self,
        enquirer: &EnquirerRecord,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        let mut s = self.lock();
        match s.enquirers.get(&enquirer.enquirer_id) {
            Some(stored) if stored.version + 1 == enquirer.version => {}
            _ => return Ok(Updated::VersionConflict),
        }
        s.enquirers
            .insert(enquirer.enquirer_id.clone(), enquirer.clone());
        s.audit.push(audit.clone());
        Ok(Updated::Updated)
    }

    async fn enquirers_in(
        &self,
        state: EnquirerState,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<EnquirerRecord>, StoreError> {
        let s = self.lock();
        let mut found: Vec<EnquirerRecord> = s
            .enquirers
            .values()
            .filter(|e| e.state == state)
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            (a.created_at_ms, &a.enquirer_id).cmp(&(b.created_at_ms, &b.enquirer_id))
        });
        // The cursor is the last id of a page: resume after that enquirer's place.
        let start = match cursor {
            Some(last) => found
                .iter()
                .position(|e| e.enquirer_id == last)
                .map_or(found.len(), |i| i + 1),
            None => 0,
        };
        Ok(page_after(
            found.split_off(start.min(found.len())),
            limit,
            |e| e.enquirer_id.clone(),
        ))
    }
}

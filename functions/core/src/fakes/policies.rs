//! `PolicyStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::ports::PolicyStore;
use crate::records::{AuditRecord, DomainPolicy};

#[async_trait]
impl PolicyStore for MemoryStore {
    async fn domain_policies(&self) -> Result<Vec<DomainPolicy>, StoreError> {
        Ok(self.lock().domain_policies.values().cloned().collect())
    }

    async fn put_domain_policy(
        &self,
        policy: &DomainPolicy,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.domain_policies
            .insert(policy.name.clone(), policy.clone());
        s.audit.push(audit.clone());
        Ok(())
    }
}

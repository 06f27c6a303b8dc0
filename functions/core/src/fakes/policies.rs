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

    async fn put_reevaluation(&self, policy: &DomainPolicy) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let current = s
            .domain_policies
            .get(&policy.name)
            .is_some_and(|p| p.updated_at_ms == policy.updated_at_ms);
        if current {
            s.domain_policies
                .insert(policy.name.clone(), policy.clone());
        }
        Ok(current)
    }
}

//! The status policies of the registry's trust domains (Y.3059 6.1 f).

use async_trait::async_trait;

use crate::error::StoreError;
use crate::records::{AuditRecord, DomainPolicy};

#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Every stored domain policy; domains without one follow the registry's default.
    async fn domain_policies(&self) -> Result<Vec<DomainPolicy>, StoreError>;
    /// Replaces the domain's policy, with its audit record, in one transaction.
    async fn put_domain_policy(
        &self,
        policy: &DomainPolicy,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
    /// Stores `policy` with its re-evaluation's progress, unless the domain's policy changed
    /// since (its stored `updated_at_ms` is not `policy`'s): false then, and the newer change's
    /// own re-evaluation goes on.
    async fn put_reevaluation(&self, policy: &DomainPolicy) -> Result<bool, StoreError>;
}

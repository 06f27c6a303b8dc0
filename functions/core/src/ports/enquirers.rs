//! Enquirers and beneficiaries (Y.3059 9.3 i a, 9.4 i a).

use async_trait::async_trait;

use super::{Page, Updated};
use crate::error::StoreError;
use crate::records::{AuditRecord, EnquirerRecord, EnquirerState};

#[async_trait]
pub trait EnquirerStore: Send + Sync {
    /// Writes a new enquirer (only if its id is free) with the audit record, in one transaction.
    async fn create_enquirer(
        &self,
        enquirer: &EnquirerRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
    async fn get_enquirer(&self, enquirer_id: &str) -> Result<Option<EnquirerRecord>, StoreError>;
    /// Replaces the enquirer if its stored version is `enquirer.version - 1`, with the audit
    /// record, in one transaction.
    async fn update_enquirer(
        &self,
        enquirer: &EnquirerRecord,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError>;
    /// Enquirers in one state, oldest first, `limit` at a time from `cursor`.
    async fn enquirers_in(
        &self,
        state: EnquirerState,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<EnquirerRecord>, StoreError>;
}

//! `EnquirerStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::ports::{EnquirerStore, Page, Updated};
use crate::records::{AuditRecord, EnquirerRecord, EnquirerState};

#[async_trait]
impl EnquirerStore for MemoryStore {
    async fn create_enquirer(
        &self,
        _enquirer: &EnquirerRecord,
        _audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn get_enquirer(&self, _id: &str) -> Result<Option<EnquirerRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn update_enquirer(
        &self,
        _enquirer: &EnquirerRecord,
        _audit: &AuditRecord,
    ) -> Result<Updated, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn enquirers_in(
        &self,
        _state: EnquirerState,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<Page<EnquirerRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
}

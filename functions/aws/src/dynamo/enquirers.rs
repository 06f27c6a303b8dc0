//! `EnquirerStore` on DynamoDB.

use async_trait::async_trait;

use super::DynamoStore;
use trustreg_core::error::StoreError;
use trustreg_core::ports::{EnquirerStore, Page, Updated};
use trustreg_core::records::{AuditRecord, EnquirerRecord, EnquirerState};

#[async_trait]
impl EnquirerStore for DynamoStore {
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

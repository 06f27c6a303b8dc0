//! `LookupStore` on DynamoDB.

use async_trait::async_trait;

use super::DynamoStore;
use trustreg_core::error::StoreError;
use trustreg_core::identifier::RegDevId;
use trustreg_core::ports::{AuditQuery, DeviceQuery, LookupStore, Page};
use trustreg_core::records::{AuditRecord, DeviceRecord};

#[async_trait]
impl LookupStore for DynamoStore {
    async fn search_devices(
        &self,
        _query: &DeviceQuery,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<Page<DeviceRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn get_devices(&self, _ids: &[RegDevId]) -> Result<Vec<DeviceRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn audit_records(
        &self,
        _query: &AuditQuery,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<Page<AuditRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn devices_of_root(
        &self,
        _root_id: &str,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<Page<RegDevId>, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn remove_root_of_trust(
        &self,
        _id: &str,
        _audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        Err(StoreError("not yet".into()))
    }
}

//! `SubscriptionStore` on DynamoDB.

use async_trait::async_trait;

use super::DynamoStore;
use trustreg_core::error::StoreError;
use trustreg_core::ports::SubscriptionStore;
use trustreg_core::records::{AuditRecord, SubscriptionRecord};

#[async_trait]
impl SubscriptionStore for DynamoStore {
    async fn put_subscription(
        &self,
        _subscription: &SubscriptionRecord,
        _audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn get_subscription(&self, _id: &str) -> Result<Option<SubscriptionRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn subscriptions_of(&self, _owner: &str) -> Result<Vec<SubscriptionRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn delete_subscription(&self, _id: &str, _audit: &AuditRecord) -> Result<(), StoreError> {
        Err(StoreError("not yet".into()))
    }
}

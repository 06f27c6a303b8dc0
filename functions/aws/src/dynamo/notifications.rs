//! `NotificationStore` on DynamoDB.

use async_trait::async_trait;

use super::DynamoStore;
use trustreg_core::error::StoreError;
use trustreg_core::ports::NotificationStore;

#[async_trait]
impl NotificationStore for DynamoStore {
    async fn mark_published(&self, _id: &str, _expires_at_ms: u64) -> Result<bool, StoreError> {
        Err(StoreError("not yet".into()))
    }
}

//! `NotificationStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::ports::NotificationStore;

#[async_trait]
impl NotificationStore for MemoryStore {
    async fn mark_published(&self, _id: &str, _expires_at_ms: u64) -> Result<bool, StoreError> {
        Err(StoreError("not yet".into()))
    }
}

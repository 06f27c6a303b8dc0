//! Virtual RegDevIDs (Y.3059 9.2 i f): temporary names of a device that do not disclose it.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::records::{AuditRecord, VirtualIdRecord};

#[async_trait]
pub trait VirtualIdStore: Send + Sync {
    /// Writes a new virtual ID with its audit record in one transaction.
    async fn put_virtual_id(
        &self,
        record: &VirtualIdRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
    /// The stored record, expired or not: expiry is the caller's check, as stores delete
    /// expired items lazily.
    async fn get_virtual_id(&self, virtual_id: &str)
    -> Result<Option<VirtualIdRecord>, StoreError>;
    /// Deletes the virtual ID if it is still there and unexpired at `now_ms`, with the audit
    /// record, atomically: of concurrent calls for one ID, at most one returns `true`.
    async fn consume_virtual_id(
        &self,
        virtual_id: &str,
        now_ms: u64,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError>;
}

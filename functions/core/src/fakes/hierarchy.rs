//! `HierarchyStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::identifier::RegDevId;
use crate::ports::{Applied, HierarchyStore, Page};
use crate::records::{AuditRecord, LinkRecord, MirrorRecord};
use crate::status::TrustStatus;

#[async_trait]
impl HierarchyStore for MemoryStore {
    async fn put_link(&self, _link: &LinkRecord, _audit: &AuditRecord) -> Result<(), StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn links(&self) -> Result<Vec<LinkRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn next_sequence(&self) -> Result<u64, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn apply_exchange(
        &self,
        _origin: &str,
        _seq: u64,
        _snapshot: bool,
        _mirrors: &[MirrorRecord],
        _audit: &AuditRecord,
    ) -> Result<Applied, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn last_sequence(&self, _origin: &str) -> Result<u64, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn get_mirror(&self, _regdevid: &RegDevId) -> Result<Option<MirrorRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn mirrors_with_status(
        &self,
        _status: TrustStatus,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<Page<MirrorRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
    async fn mirrors_of_origin(
        &self,
        _origin: &str,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<Page<MirrorRecord>, StoreError> {
        Err(StoreError("not yet".into()))
    }
}

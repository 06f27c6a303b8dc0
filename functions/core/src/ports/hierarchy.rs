//! The registry hierarchy (Y.3059 6.1, 7 iv d-f, 9.4 i b): links to other registries, the
//! mirrored status of the devices below, the sequence numbers of the exchange, and the inboxes
//! messages are sent to.

use async_trait::async_trait;

use super::Page;
use crate::error::{NotifyError, StoreError};
use crate::identifier::RegDevId;
use crate::records::{AuditRecord, LinkRecord, MirrorRecord};
use crate::status::TrustStatus;

/// What applying a message from one origin did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// Already applied (or older): nothing written.
    Duplicate {
        last: u64,
    },
    /// Messages between `last` and this one are missing: nothing written.
    Gap {
        last: u64,
    },
}

#[async_trait]
pub trait HierarchyStore: Send + Sync {
    /// Writes (or replaces) a link with its audit record, in one transaction.
    async fn put_link(&self, link: &LinkRecord, audit: &AuditRecord) -> Result<(), StoreError>;
    async fn links(&self) -> Result<Vec<LinkRecord>, StoreError>;
    /// The next sequence number of the messages this registry originates (1, 2, ...):
    /// atomic, so two senders never share one.
    async fn next_sequence(&self) -> Result<u64, StoreError>;
    /// The last number `next_sequence` gave (0 before the first): what a snapshot of this
    /// registry's own devices is as of.
    async fn current_sequence(&self) -> Result<u64, StoreError>;
    /// Writes `mirrors` and advances `origin`'s last applied sequence to `seq`, with the audit
    /// record, in one transaction, if `seq` is the next one (`last + 1`, or any for an origin
    /// never seen). With `snapshot`, any `seq` at or above the last is taken: a snapshot heals
    /// gaps, and comes in pages that all carry its `seq`.
    async fn apply_exchange(
        &self,
        origin: &str,
        seq: u64,
        snapshot: bool,
        mirrors: &[MirrorRecord],
        audit: &AuditRecord,
    ) -> Result<Applied, StoreError>;
    /// The last sequence applied from `origin` (0 when none).
    async fn last_sequence(&self, origin: &str) -> Result<u64, StoreError>;
    async fn get_mirror(&self, regdevid: &RegDevId) -> Result<Option<MirrorRecord>, StoreError>;
    /// Mirrored devices with `status`, ordered by RegDevID, paged.
    async fn mirrors_with_status(
        &self,
        status: TrustStatus,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<MirrorRecord>, StoreError>;
    /// Mirrored devices of one origin, paged (what a snapshot of that origin holds).
    async fn mirrors_of_origin(
        &self,
        origin: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<MirrorRecord>, StoreError>;
    /// The registries whose messages this registry applied (each origin's path, sorted):
    /// what a snapshot of everything it holds covers. Dedupe marks kept as sequences are not
    /// registries and not listed.
    async fn mirrored_origins(&self) -> Result<Vec<String>, StoreError>;
}

/// Delivery of exchange messages to another registry's inbox.
#[async_trait]
pub trait ExchangeOutbox: Send + Sync {
    async fn send(&self, inbox: &str, message: &str) -> Result<(), NotifyError>;
}

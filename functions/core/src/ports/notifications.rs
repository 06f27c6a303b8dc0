//! Notifications (Y.3059 7 iv e, 9.4 i c, ii; card C4): the registry's changes published to the
//! topic of each trust domain, and the dedupe marks that keep a redelivered change from being
//! published twice.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::error::{NotifyError, StoreError};

/// One message for the subscribers of one trust domain. `attributes` are what SNS filter
/// policies match (`event`, `status`, `previous_status`, `make`, `model`, `regdevid`,
/// `severity`, `registry`); the message never holds PII.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub domain: String,
    /// Stable for one change: a redelivered change yields the same id.
    pub id: String,
    pub attributes: BTreeMap<String, String>,
    pub message: serde_json::Value,
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Publishes each notification to its domain's topic (batched); one result per
    /// notification, in order, so a failure is retried alone.
    async fn publish(&self, notifications: &[Notification]) -> Vec<Result<(), NotifyError>>;
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Whether `id` is marked as published (a redelivered change's notification that went out).
    async fn is_published(&self, id: &str) -> Result<bool, StoreError>;
    /// Marks `id` as published until `expires_at_ms` (a TTL item), once it was: `false` when
    /// it was already marked.
    async fn mark_published(&self, id: &str, expires_at_ms: u64) -> Result<bool, StoreError>;
    /// When the last digest of `domain` was published, if ever.
    async fn last_digest(&self, domain: &str) -> Result<Option<u64>, StoreError>;
    async fn set_last_digest(&self, domain: &str, at_ms: u64) -> Result<(), StoreError>;
}

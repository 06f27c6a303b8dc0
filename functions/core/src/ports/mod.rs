//! The ports: every effect of the domain goes through these traits. Adapters live in
//! trustreg-aws; in-memory fakes for unit tests in `fakes`. Storage is one port per concern,
//! all served by the registry's one table; `Store` is all of them.

mod audit_log;
mod bulk;
mod devices;
mod enquirers;
mod hierarchy;
mod lookups;
mod notifications;
mod owners;
mod policies;
mod reports;
mod statistics;
mod subscriptions;
mod virtual_ids;
mod vulnerabilities;

use async_trait::async_trait;

use crate::error::KeyError;

pub use audit_log::{AuditLogStore, StoredCheckpoint};
pub use bulk::{BulkStore, NewDevice};
pub use devices::{Created, DeviceStore, Updated};
pub use enquirers::EnquirerStore;
pub use hierarchy::{Applied, ExchangeOutbox, HierarchyStore};
pub use lookups::{AuditQuery, DeviceQuery, LookupStore};
pub use notifications::{Notification, NotificationStore, Notifier};
pub use owners::OwnerStore;
pub use policies::PolicyStore;
pub use reports::ReportStore;
pub use statistics::{StatisticsStore, Tally};
pub use subscriptions::{SubscriptionBroker, SubscriptionStore};
pub use virtual_ids::VirtualIdStore;
pub use vulnerabilities::{ModelEntry, ModelPage, VulnerabilityStore};

/// Everything the registry stores. Each concern adds its port as a supertrait here.
pub trait Store:
    DeviceStore
    + BulkStore
    + VirtualIdStore
    + OwnerStore
    + ReportStore
    + PolicyStore
    + VulnerabilityStore
    + EnquirerStore
    + LookupStore
    + NotificationStore
    + SubscriptionStore
    + HierarchyStore
    + StatisticsStore
    + AuditLogStore
{
}

impl<
    T: DeviceStore
        + BulkStore
        + VirtualIdStore
        + OwnerStore
        + ReportStore
        + PolicyStore
        + VulnerabilityStore
        + EnquirerStore
        + LookupStore
        + NotificationStore
        + SubscriptionStore
        + HierarchyStore
        + StatisticsStore
        + AuditLogStore,
> Store for T
{
}

/// The registry's keys (KMS): signing, and sealing of PII.
#[async_trait]
pub trait RegistryKeys: Send + Sync {
    /// ES256 over `message`; the 64-byte `r || s` form.
    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError>;
    /// The public signing key, fetched once and cached.
    async fn public_key(&self) -> Result<p256::ecdsa::VerifyingKey, KeyError>;
    /// The `kid` the registry's signatures carry.
    fn key_id(&self) -> String;
    /// Encrypts PII bound to `context` (the RegDevID): it only opens with the same context.
    async fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError>;
    async fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError>;
}

/// One page of a paged read; `next` is the opaque cursor of the following page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
    /// Waits `ms` milliseconds: the backoff between retries of a write that lost a race.
    /// The fakes return at once.
    async fn pause(&self, _ms: u64) {}
}

pub trait Rng: Send + Sync {
    fn fill(&self, buf: &mut [u8]);
}

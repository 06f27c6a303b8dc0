//! Counts and recent changes for the enquirers' dashboard (card C5), read from indexes: device
//! counts by status and trust domain, and the latest status transitions.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::error::StoreError;
use crate::records::Transition;
use crate::status::TrustStatus;

/// How many devices of one status there are, in all and per trust domain (a device of several
/// domains counts in each, 6.1 f).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub devices: u64,
    pub by_domain: BTreeMap<String, u64>,
}

#[async_trait]
pub trait StatisticsStore: Send + Sync {
    /// This registry's own devices with `status`.
    async fn tally_devices(&self, status: TrustStatus) -> Result<Tally, StoreError>;
    /// The devices mirrored from the registries below (6.1 c) with `status`.
    async fn tally_mirrors(&self, status: TrustStatus) -> Result<Tally, StoreError>;
    /// Status changes of this registry's devices on UTC day `day` (`YYYY-MM-DD`), newest
    /// first, at most `limit`. Registrations (a first status, no `from`) are not among them.
    async fn transitions_on(&self, day: &str, limit: usize) -> Result<Vec<Transition>, StoreError>;
}

//! Vulnerability reports, the devices they affect, and the make/model index that finds a
//! range's devices without a scan (9.3 ii b).

use async_trait::async_trait;

use crate::error::StoreError;
use crate::identifier::RegDevId;
use crate::ports::Updated;
use crate::records::{AffectedLink, AuditRecord, DeviceRecord, Transition, VulnerabilityRecord};

/// A device as the make/model index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    pub regdevid: RegDevId,
    pub firmware: String,
}

/// One page of a make/model partition, in index order (firmware text, then RegDevID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPage {
    pub devices: Vec<ModelEntry>,
    /// Where the next page starts; `None` when the partition is exhausted.
    pub next: Option<String>,
}

#[async_trait]
pub trait VulnerabilityStore: Send + Sync {
    /// Writes a new vulnerability with its audit record in one transaction.
    async fn create_vulnerability(
        &self,
        vulnerability: &VulnerabilityRecord,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
    async fn get_vulnerability(&self, id: &str) -> Result<Option<VulnerabilityRecord>, StoreError>;
    /// Replaces the vulnerability if its stored version is `version - 1`, with the audit
    /// record in the same transaction.
    async fn update_vulnerability(
        &self,
        vulnerability: &VulnerabilityRecord,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError>;
    /// Up to `limit` devices of a make and model (compared case-insensitively), after the
    /// cursor `after` of an earlier page.
    async fn devices_by_model(
        &self,
        make: &str,
        model: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ModelPage, StoreError>;
    /// `DeviceStore::update_device` with the device's link to a vulnerability written in the
    /// same transaction.
    async fn update_device_linked(
        &self,
        device: &DeviceRecord,
        link: &AffectedLink,
        transition: Option<&Transition>,
        audit: &AuditRecord,
    ) -> Result<Updated, StoreError>;
    /// The vulnerabilities a device was found affected by, open or fixed.
    async fn links_of(&self, regdevid: &RegDevId) -> Result<Vec<AffectedLink>, StoreError>;
}
